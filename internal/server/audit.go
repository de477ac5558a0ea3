package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/apikey"
	"github.com/strata-dev/strata/internal/store"
)

// The audit trail (docs/access.md, "Audit") records, after the handler ran, every write
// request of the API (any method but GET, HEAD and OPTIONS, dry runs marked), every
// kubeconfig fetched, and every request refused with 401 or 403, whatever the outcome: who,
// what, when, from where, the status and the result. It never records a body, a query string,
// a token or a secret, and a failure to record is logged without failing the request.

// auditNote is what the handlers of one request tell the audit trail beyond what the request
// says: the kind resolved, the user authenticated, the key of an object made by a POST, the
// verb an apply turned out to be, a dry run, and why a request failed.
type auditNote struct {
	verb, kind, key, user, reason string
	dryRun                        bool
}

// auditKey keys a request's *auditNote in its context.
type auditKey struct{}

// noteOf returns the request's note, or a note that goes nowhere when the request is not
// audited.
func noteOf(ctx context.Context) *auditNote {
	if n, ok := ctx.Value(auditKey{}).(*auditNote); ok {
		return n
	}
	return &auditNote{}
}

// noteKey records the key of the object a request is about when the path does not name it (a
// create).
func noteKey(ctx context.Context, key string) { noteOf(ctx).key = key }

// noteVerb records what a request turned out to be (an apply that creates, an admin
// kubeconfig).
func noteVerb(ctx context.Context, verb string) { noteOf(ctx).verb = verb }

// noteDryRun marks a write that is validated and not stored.
func noteDryRun(ctx context.Context, dryRun bool) { noteOf(ctx).dryRun = dryRun }

// noteReason records why a request failed, unless a reason was recorded already.
func noteReason(ctx context.Context, reason string) {
	if n := noteOf(ctx); n.reason == "" {
		n.reason = reason
	}
}

// noteError records the reason of an error answer: a 403's message, which says what was
// refused and why in the server's own words; for any other code only the reason word
// (Invalid, Conflict, ...), since other messages may quote the request.
func noteError(ctx context.Context, ae *apiError) {
	if ae.code == http.StatusForbidden {
		noteReason(ctx, ae.message)
		return
	}
	noteReason(ctx, ae.reason)
}

// refusedKeyReason is the reason the audit trail records for a 401: the kind of refusal,
// without the key's id or user.
func refusedKeyReason(err error) string {
	for _, e := range []error{apikey.ErrMalformed, apikey.ErrMismatch, apikey.ErrExpired, apikey.ErrRevoked, ErrUserDisabled} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "no credentials"
}

// audited serves next and then records the request in the audit trail when it is audited
// (auditedRequest). verb is what the route does; empty, the method in lower case.
func (s *Server) audited(verb string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		note := &auditNote{verb: verb}
		if note.verb == "" {
			note.verb = strings.ToLower(r.Method)
		}
		rec := &statusRecorder{ResponseWriter: w}
		next(rec, r.WithContext(context.WithValue(r.Context(), auditKey{}, note)))
		code := rec.status
		if code == 0 {
			code = http.StatusOK
		}
		if !auditedRequest(r.Method, note.verb, code) {
			return
		}
		if note.reason == "" && r.Method == http.MethodPut && code/100 == 2 {
			note.reason = w.Header().Get(ApplyResultHeader) // created, configured or unchanged
		}
		key := note.key
		if key == "" {
			key = r.PathValue("key")
		}
		s.recordAudit(r.Context(), store.AuditRecord{Time: start, User: note.user, Verb: note.verb, Kind: note.kind,
			Key: key, Method: r.Method, Path: r.URL.Path, SourceIP: sourceIP(r.RemoteAddr), Code: code,
			Result: auditResult(code), Reason: note.reason, DryRun: note.dryRun})
	}
}

// auditedRequest reports whether a request is recorded: a write, a kubeconfig, or a refusal
// for credentials or permissions. Other reads are not.
func auditedRequest(method, verb string, code int) bool {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return true
	case verb == "kubeconfig" || verb == "kubeconfig-admin":
		return true
	}
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// auditResult is the result of a request answered with code.
func auditResult(code int) string {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return store.AuditDenied
	case code/100 == 2:
		return store.AuditAllowed
	}
	return store.AuditFailed
}

// sourceIP is the address of the connection, without its port. X-Forwarded-For is not read:
// any client can send it.
func sourceIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// recordAudit appends rec to the audit trail. It runs even when the client has gone; a
// failure is logged, not returned: the request has been answered.
func (s *Server) recordAudit(ctx context.Context, rec store.AuditRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.RecordAudit(ctx, rec); err != nil {
		s.log.ErrorContext(ctx, "record the request in the audit trail", "method", rec.Method, "path", rec.Path,
			"code", rec.Code, "error", err)
	}
}
