package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// pluralList returns the plural path segments in the order of v1alpha1.Kinds, "|"-separated.
func pluralList() string {
	out := make([]string, 0, len(v1alpha1.Kinds))
	for _, k := range v1alpha1.Kinds {
		out = append(out, v1alpha1.Plural(k))
	}
	return strings.Join(out, "|")
}

// kindList describes every kind and its path, for the message of an unknown path.
func kindList() string {
	out := make([]string, 0, len(v1alpha1.Kinds))
	for _, k := range v1alpha1.Kinds {
		out = append(out, fmt.Sprintf("%s (%s)", v1alpha1.Plural(k), k))
	}
	return strings.Join(out, ", ")
}

// handlerFunc serves one API request for a known kind; a returned error is written as a Status.
type handlerFunc func(w http.ResponseWriter, r *http.Request, kind string) error

// api serves a route of the API: it resolves the plural path segment to a kind, authenticates
// the request when access control is on, writes the handler's error, and records the request in
// the audit trail when it is audited (audited). verb is what the route does, for the trail;
// empty, the method in lower case.
func (s *Server) api(verb string, h handlerFunc) http.HandlerFunc {
	return s.audited(verb, func(w http.ResponseWriter, r *http.Request) {
		plural := r.PathValue("plural")
		kind, ok := v1alpha1.KindOfPlural(plural)
		if !ok {
			s.writeError(w, r, &apiError{code: http.StatusNotFound, reason: ReasonNotFound,
				message: fmt.Sprintf("unknown resource type %q: the resource types are %s", plural, kindList())})
			return
		}
		noteOf(r.Context()).kind = kind
		if err := checkRequestText(r.PathValue("key"), r.URL.Query()); err != nil {
			s.writeError(w, r, err)
			return
		}
		r, ok = s.authenticated(w, r)
		if !ok {
			return
		}
		r = withWarnings(r)
		if err := h(w, r, kind); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticated returns r carrying its guard when access control is on and r has valid
// credentials, and r as it is when access control is off. Otherwise it answers 401 itself and
// returns false.
func (s *Server) authenticated(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if !s.access {
		return r, true
	}
	g, err := s.authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="strata"`)
		s.writeError(w, r, err)
		return r, false
	}
	noteOf(r.Context()).user = g.who.Name
	return r.WithContext(withGuard(r.Context(), g)), true
}

// checkRequestText refuses a key, or a value of a query parameter, that is not UTF-8 or holds a
// control character: no name, key or parameter of the API can, and the store need not hold
// such bytes (PostgreSQL's text cannot). The 400 names each one and the rule.
func checkRequestText(key string, query url.Values) *apiError {
	const rule = "%q is not text: use UTF-8 without control characters"
	var errs v1alpha1.ErrorList
	var msgs []string
	if !isText(key) {
		errs.Add("key", v1alpha1.RuleFormat, rule, key)
		msgs = append(msgs, "the key in the path: "+errs[len(errs)-1].Message)
	}
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if i := slices.IndexFunc(query[name], func(v string) bool { return !isText(v) }); i >= 0 {
			errs.Add(v1alpha1.Path(name), v1alpha1.RuleFormat, rule, query[name][i])
			msgs = append(msgs, "query parameter "+errs[len(errs)-1].Error())
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &apiError{code: http.StatusBadRequest, reason: ReasonBadRequest, message: strings.Join(msgs, "; "), errors: errs}
}

func isText(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// readObject reads and strictly decodes the request body as one object of kind. The body is JSON,
// or YAML when the Content-Type says so; without a Content-Type either is accepted.
func (s *Server) readObject(w http.ResponseWriter, r *http.Request, kind string) (v1alpha1.Object, error) {
	format, err := bodyFormat(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &apiError{code: http.StatusRequestEntityTooLarge, reason: ReasonTooLarge,
				message: fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)}
		}
		return nil, badRequest("cannot read the request body: %v", err)
	}
	switch format {
	case formatJSON:
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, &apiError{code: http.StatusBadRequest, reason: ReasonBadRequest,
				message: "the request body is not valid JSON",
				errors:  v1alpha1.ErrorList{{Rule: v1alpha1.RuleSyntax, Message: err.Error()}}}
		}
	default:
		objs, err := v1alpha1.Decode(body)
		var derrs v1alpha1.DecodeErrors
		errors.As(err, &derrs)
		if n := len(objs) + len(derrs); n > 1 {
			return nil, badRequest("the request body holds %d documents: send one object per request", n)
		}
	}
	obj, errs := v1alpha1.DecodeObject(body)
	if len(errs) > 0 {
		return nil, &apiError{code: http.StatusBadRequest, reason: ReasonBadRequest,
			message: fmt.Sprintf("cannot decode the request body as a %s: %s", kind, countErrors(len(errs))),
			errors:  errs}
	}
	if got := obj.GetTypeMeta().Kind; got != kind {
		return nil, &apiError{code: http.StatusBadRequest, reason: ReasonBadRequest,
			message: fmt.Sprintf("the request body holds a %s but %s takes a %s", got, r.URL.Path, kind),
			errors:  v1alpha1.ErrorList{{Field: "kind", Rule: v1alpha1.RuleMismatch, Message: fmt.Sprintf("must be %s, not %s", kind, got)}}}
	}
	return obj, nil
}

type bodyFormatKind int

const (
	formatAny bodyFormatKind = iota
	formatJSON
	formatYAML
)

func bodyFormat(contentType string) (bodyFormatKind, error) {
	if contentType == "" {
		return formatAny, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, &apiError{code: http.StatusUnsupportedMediaType, reason: ReasonUnsupportedMedia,
			message: fmt.Sprintf("invalid Content-Type %q: %v", contentType, err)}
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return formatJSON, nil
	case mt == "application/yaml" || mt == "application/x-yaml" || mt == "text/yaml" || mt == "text/x-yaml" ||
		strings.HasSuffix(mt, "+yaml"):
		return formatYAML, nil
	}
	return 0, &apiError{code: http.StatusUnsupportedMediaType, reason: ReasonUnsupportedMedia,
		message: fmt.Sprintf("unsupported Content-Type %q: send application/json or application/yaml", mt)}
}

// dryRunParam reads the dryRun query parameter.
func dryRunParam(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("dryRun")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("invalid dryRun %q: use true or false", v)
	}
	return b, nil
}

func countErrors(n int) string {
	if n == 1 {
		return "1 error"
	}
	return strconv.Itoa(n) + " errors"
}

// clearServerFields drops what only the server may set: on input they are ignored.
func clearServerFields(obj v1alpha1.Object) {
	m := obj.GetMetadata()
	m.UID, m.Generation, m.ResourceVersion = "", 0, ""
	m.CreationTimestamp, m.DeletionTimestamp, m.Finalizers = nil, nil, nil
	v1alpha1.ClearStatus(obj)
	if sc, ok := obj.(v1alpha1.SecretCarrier); ok {
		sc.SetSecretPresent(sc.SecretText() != "")
	}
}

// storeResolver answers validation's look-ups from the store. A store failure is not a missing
// object: it is reported as unresolvable, so validation skips the check, and kept in err so that
// the request fails with 500.
type storeResolver struct {
	store store.Store
	err   error
}

// Lookup returns the stored object, or v1alpha1.ErrNotFound.
func (r *storeResolver) Lookup(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	obj, err := r.store.Get(ctx, kind, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, v1alpha1.ErrNotFound
	case err != nil:
		if r.err == nil {
			r.err = fmt.Errorf("look up %s %q: %w", kind, key, err)
		}
		return nil, fmt.Errorf("%w: %w", v1alpha1.ErrUnresolvable, err)
	}
	return obj, nil
}

// validate runs Validate (old == nil) or ValidateUpdate with references resolved in the store,
// and keeps the warnings for the response.
func (s *Server) validate(ctx context.Context, old, obj v1alpha1.Object) error {
	res := &storeResolver{store: s.store}
	errs, warnings := v1alpha1.Check(ctx, old, obj, res)
	warningsOf(ctx).set(obj, warnings)
	if res.err != nil {
		return internal(res.err, "validate %s %q", obj.GetTypeMeta().Kind, obj.Key())
	}
	if len(errs) > 0 {
		return &apiError{code: http.StatusUnprocessableEntity, reason: ReasonInvalid,
			message: fmt.Sprintf("%s %q is invalid: %s", obj.GetTypeMeta().Kind, obj.Key(), countErrors(len(errs))),
			errors:  slices.Clone(errs)}
	}
	return nil
}
