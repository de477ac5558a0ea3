package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/store"
)

// CanIPath answers whether the caller may do something: GET ?verb=V&kind=PLURAL[&name=N].
const CanIPath = APIPath + "/can-i"

// CanI is the answer of CanIPath.
type CanI struct {
	Allowed bool `json:"allowed"`
	// Binding is the role binding that allowed it, when one did.
	Binding string `json:"binding,omitempty"`
	// Reason says why, in plain words.
	Reason string `json:"reason"`
}

// canI answers GET /api/v1alpha1/can-i: whether the caller may do verb on the object of kind
// named name or, without a name, on some object of the kind (list and create are asked so).
// An object the caller may not get is answered as absent: "no", it is not found.
func (s *Server) canI(w http.ResponseWriter, r *http.Request) {
	verb, plural, name, err := canIParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	r.SetPathValue("plural", plural) // s.api resolves it, and answers an unknown one
	s.api("can-i", func(w http.ResponseWriter, r *http.Request, kind string) error {
		ans, err := s.decideCanI(r, kind, verb, name)
		if err != nil {
			return err
		}
		s.writeJSON(w, r, http.StatusOK, ans)
		return nil
	})(w, r)
}

// canIParams reads the query: verb and kind required, name optional, nothing else.
func canIParams(r *http.Request) (verb, plural, name string, err error) {
	q := r.URL.Query()
	for k, v := range q {
		if !slices.Contains([]string{"verb", "kind", "name"}, k) || len(v) != 1 {
			return "", "", "", badRequest("query parameter %q: can-i takes verb, kind and name, each once", k)
		}
	}
	verb, plural, name = q.Get("verb"), q.Get("kind"), q.Get("name")
	if verb == "" || plural == "" {
		return "", "", "", badRequest("can-i needs the query parameters verb and kind (a plural, e.g. clusters)")
	}
	return verb, plural, name, nil
}

// decideCanI decides for the request's guard.
func (s *Server) decideCanI(r *http.Request, kind, verb, name string) (CanI, error) {
	g := guardOf(r.Context())
	p, err := permission(kind, verb)
	if err == nil {
		err = authz.ValidatePermission(p)
	}
	if err != nil {
		return CanI{}, badRequest("%v", err)
	}
	if g == nil {
		return CanI{Allowed: true, Reason: "access control is off on this server: anyone who reaches it may do anything"}, nil
	}
	if name == "" {
		d := g.policy.Decide(g.who, authz.Request{Permission: p, KindWide: true})
		return CanI{Allowed: d.Allowed, Binding: d.Binding, Reason: d.Reason + " (on some objects, by their tags)"}, nil
	}
	obj, err := s.store.Get(r.Context(), kind, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !g.sees(obj)) {
		return CanI{Reason: fmt.Sprintf("%s %q is not found (or you may not see it)", kind, name)}, nil
	}
	if err != nil {
		return CanI{}, internal(err, "get %s %q", kind, name)
	}
	if err := g.allow(verb, obj); err != nil {
		return CanI{Reason: err.Error()}, nil
	}
	if g.ownKey(obj) {
		return CanI{Allowed: true, Reason: "the API key is yours"}, nil
	}
	d := g.policy.Decide(g.who, authz.Request{Permission: p, Tags: tagsOf(obj)})
	return CanI{Allowed: true, Binding: d.Binding, Reason: d.Reason}, nil
}
