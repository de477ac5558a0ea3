package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/store"
)

// AuditPath lists the audit trail, newest first:
// GET ?user=&kind=&key=&verb=&result=&since=&until=&limit=&continue=.
const AuditPath = APIPath + "/audit"

// auditParams are the query parameters of AuditPath.
var auditParams = []string{"user", "kind", "key", "verb", "result", "since", "until", "limit", "continue"}

// AuditList is the answer of AuditPath: a page of records, newest first.
type AuditList struct {
	Items []store.AuditRecord `json:"items"`
	// Continue is set when older records follow: pass it as the continue query parameter.
	Continue string `json:"continue,omitempty"`
}

// auditTrail serves GET AuditPath. With access control it needs audit.list from a binding
// without a filter: the trail is about every object.
func (s *Server) auditTrail(w http.ResponseWriter, r *http.Request) {
	s.audited(authz.VerbList, func(w http.ResponseWriter, r *http.Request) {
		if err := checkRequestText("", r.URL.Query()); err != nil {
			s.writeError(w, r, err)
			return
		}
		r, ok := s.authenticated(w, r)
		if !ok {
			return
		}
		if err := s.listAudit(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})(w, r)
}

// listAudit checks the caller's permission, reads the query and answers the page.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	if err := guardOf(r.Context()).allowAudit(); err != nil {
		return err
	}
	q, err := auditQuery(r)
	if err != nil {
		return err
	}
	page, err := s.store.ListAudit(r.Context(), q)
	if err != nil {
		return internal(err, "list the audit trail")
	}
	s.writeJSON(w, r, http.StatusOK, AuditList{Items: page.Items, Continue: page.Continue})
	return nil
}

// allowAudit checks that a binding without a filter grants audit.list: the trail is about
// every object, whatever its tags.
func (g *guard) allowAudit() error {
	if g == nil || g.policy.Unscoped(g.who, authz.Perm(authz.KindAudit, authz.VerbList)) {
		return nil
	}
	return forbidden("no binding lets %s read the audit trail (audit.list, without a filter)", g.who.Name)
}

// auditQuery reads the query parameters of AuditPath, each at most once: kind is a plural or a
// kind's name; since and until are RFC 3339 times; limit defaults to DefaultListLimit and is
// capped at MaxListLimit.
func auditQuery(r *http.Request) (store.AuditQuery, error) {
	v := r.URL.Query()
	for name, vals := range v {
		if !slices.Contains(auditParams, name) || len(vals) != 1 {
			return store.AuditQuery{}, badRequest("query parameter %q: the audit trail takes %s, each once", name, strings.Join(auditParams, ", "))
		}
	}
	q := store.AuditQuery{User: v.Get("user"), Key: v.Get("key"), Verb: v.Get("verb"), Result: v.Get("result"),
		Continue: v.Get("continue"), Limit: DefaultListLimit}
	if k := v.Get("kind"); k != "" {
		kind, ok := v1alpha1.KindOfPlural(k)
		if !ok && !slices.Contains(v1alpha1.Kinds, k) {
			return store.AuditQuery{}, badRequest("unknown kind %q: the kinds are %s", k, kindList())
		}
		if !ok {
			kind = k
		}
		q.Kind = kind
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(t.name); s != "" {
			at, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return store.AuditQuery{}, badRequest("invalid %s %q: use an RFC 3339 time such as 2026-05-01T12:00:00Z", t.name, s)
			}
			*t.to = at
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return store.AuditQuery{}, badRequest("invalid limit %q: use a positive number", s)
		}
		if n > 0 {
			q.Limit = min(n, MaxListLimit)
		}
	}
	if err := q.Validate(); err != nil {
		return store.AuditQuery{}, badRequest("%v", err)
	}
	return q, nil
}
