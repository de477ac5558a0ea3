package server

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// EventValidationWarning is the reason of the Warning event recorded on a cluster for each
// warning of validation, when the cluster is created or changes its profiles.
const EventValidationWarning = "ValidationWarning"

// warningsKey is the context key of a request's warnings.
type warningsKey struct{}

// requestWarnings holds what validation warned of while one request was served: the response
// carries them as Warning headers, a cluster written as Warning events.
type requestWarnings struct {
	mu        sync.Mutex
	kind, key string
	list      v1alpha1.ErrorList
}

// withWarnings gives the request a place for its warnings.
func withWarnings(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), warningsKey{}, &requestWarnings{}))
}

// warningsOf returns the request's warnings, nil outside a request.
func warningsOf(ctx context.Context) *requestWarnings {
	w, _ := ctx.Value(warningsKey{}).(*requestWarnings)
	return w
}

// set replaces the warnings: a write that is retried validates again.
func (w *requestWarnings) set(obj v1alpha1.Object, list v1alpha1.ErrorList) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.kind, w.key, w.list = obj.GetTypeMeta().Kind, obj.Key(), list
}

// texts returns each warning as the text of a Warning header: the object, the field and the
// message.
func (w *requestWarnings) texts() []string {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, len(w.list))
	for i, fe := range w.list {
		out[i] = fmt.Sprintf("%s %q: %s", w.kind, w.key, fe.Error())
	}
	return out
}

// addWarningHeaders adds a Warning header for each warning of the request.
func addWarningHeaders(h http.Header, ctx context.Context) {
	for _, text := range warningsOf(ctx).texts() {
		h.Add("Warning", warningHeaderValue(text))
	}
}

// warningHeaderValue formats text as the value of a Warning header the way Kubernetes sends its
// warnings: code 299 (a persistent warning), no agent ("-"), the text as a quoted string (RFC
// 9110 5.6.4) with control characters replaced by spaces.
func warningHeaderValue(text string) string {
	var b strings.Builder
	b.WriteString(`299 - "`)
	for _, r := range text {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// collectWarnings sets the request's warnings to those of obj, for a write that does not
// validate (an apply that changes nothing).
func (s *Server) collectWarnings(ctx context.Context, obj v1alpha1.Object) {
	warningsOf(ctx).set(obj, v1alpha1.Warnings(ctx, obj, &storeResolver{store: s.store}))
}

// recordWarnings records a Warning event on a cluster that was just written, for each warning of
// the request, when warningEventsDue says they are news.
func (s *Server) recordWarnings(ctx context.Context, old, obj v1alpha1.Object) {
	if !warningEventsDue(old, obj) {
		return
	}
	w := warningsOf(ctx)
	if w == nil {
		return
	}
	w.mu.Lock()
	list := w.list
	w.mu.Unlock()
	for _, fe := range list {
		s.recordEventType(ctx, obj, store.EventWarning, EventValidationWarning, fe.Error())
	}
}

// warningEventsDue reports whether the warnings of a write of obj (an update of old, or a
// create when old is nil) are recorded as events: for a cluster that is created or changes
// the profiles it pins or their overrides, which is what its warnings are about. A cluster's
// other changes leave them as they were recorded.
func warningEventsDue(old, obj v1alpha1.Object) bool {
	c, ok := obj.(*v1alpha1.Cluster)
	if !ok {
		return false
	}
	prev, ok := old.(*v1alpha1.Cluster)
	return !ok || !reflect.DeepEqual(prev.Spec.Profiles, c.Spec.Profiles)
}
