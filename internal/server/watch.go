package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/store"
)

// watchWriteTimeout bounds each write of a watch response: a client that stops reading is
// dropped instead of holding the connection.
const watchWriteTimeout = 10 * time.Second

// The types of a watch event: the store's change types, and an error that ends the watch.
const (
	WatchAdded    = store.ChangeAdded
	WatchModified = store.ChangeModified
	WatchDeleted  = store.ChangeDeleted
	WatchError    = "ERROR"
)

// WatchEvent is one line of a watch response: an object added, modified or deleted (as it last
// was, with the resourceVersion of its deletion), or an ERROR whose object is a Status.
type WatchEvent struct {
	Type   string `json:"type"`
	Object any    `json:"object"`
}

// watchParam reads the watch query parameter.
func watchParam(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("watch")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("invalid watch %q: use true or false", v)
	}
	return b, nil
}

// watchFrom reads the resourceVersion query parameter of a watch: the watch streams the
// changes after it. Without one (or "0") it starts with the objects as they are now.
func (s *Server) watchFrom(ctx context.Context, r *http.Request) (after int64, list bool, err error) {
	v := r.URL.Query().Get("resourceVersion")
	if v == "" || v == "0" {
		return 0, true, nil
	}
	after, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || after < 0 {
		return 0, false, badRequest("invalid resourceVersion %q: use the resourceVersion of a list or of an object", v)
	}
	current, err := s.store.ResourceVersion(ctx)
	if err != nil {
		return 0, false, internal(err, "read the resourceVersion")
	}
	if after > current {
		return 0, false, badRequest("resourceVersion %d is newer than the last write (%d)", after, current)
	}
	return after, false, nil
}

// watch streams the changes of the objects of kind (named name=, if given) as JSON lines of
// WatchEvent, until the client goes, the server stops, or the client falls behind (the
// stream then ends and the client watches again from the last resourceVersion it got).
func (s *Server) watch(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	g := guardOf(ctx)
	if err := g.allowList(kind); err != nil {
		return err
	}
	filter := feed.Filter{Kind: kind, Name: r.URL.Query().Get("name")}
	after, list, err := s.watchFrom(ctx, r)
	if err != nil {
		return err
	}
	var initial []v1alpha1.Object
	if list {
		if initial, after, err = s.listAll(ctx, kind, filter.Name); err != nil {
			return err
		}
	}
	watcher, err := s.feed.Watch(ctx, filter, after)
	if err != nil {
		return watchRefused(err, after)
	}
	defer watcher.Stop()
	out := newEventWriter(w)
	if err := out.start(); err != nil {
		return nil // the client is gone
	}
	sent := map[string]int64{}
	for _, obj := range g.visible(initial) {
		rv, _ := strconv.ParseInt(obj.GetMetadata().ResourceVersion, 10, 64)
		sent[obj.Key()] = rv
		if out.write(WatchEvent{Type: WatchAdded, Object: obj}) != nil {
			return nil
		}
	}
	s.stream(ctx, watcher, out, sent, g)
	return nil
}

// stream writes the watcher's changes that g lets the caller see until it ends. sent holds the
// resourceVersion of each object the initial list showed, whose older changes are not sent
// again. An object shown that leaves the caller's sight (its tags changed) is sent as deleted.
func (s *Server) stream(ctx context.Context, watcher *feed.Watcher, out *eventWriter, sent map[string]int64, g *guard) {
	for {
		c, err := watcher.Next(ctx)
		var expired *store.ExpiredError
		switch {
		case err == nil:
		case errors.As(err, &expired):
			_ = out.write(WatchEvent{Type: WatchError, Object: statusOf(expiredError(expired.After))})
			return
		case errors.Is(err, feed.ErrDropped), errors.Is(err, feed.ErrClosed), ctx.Err() != nil:
			return
		default:
			s.log.ErrorContext(ctx, "watch: read changes", "error", err)
			_ = out.write(WatchEvent{Type: WatchError, Object: statusOf(internal(err, "read changes"))})
			return
		}
		if rv, ok := sent[c.Key]; ok && c.ResourceVersion <= rv {
			continue
		}
		typ, ok := visibleChange(g, c, sent)
		if !ok {
			continue
		}
		if out.write(WatchEvent{Type: typ, Object: c.Object}) != nil {
			return
		}
	}
}

// visibleChange returns the type of event a change is for a caller that g guards, and false
// when it is not to be sent: a change of an object it may not see is sent only as the
// deletion of one it was shown. shown marks (in sent) the objects the caller was shown.
func visibleChange(g *guard, c store.Change, shown map[string]int64) (string, bool) {
	if g == nil {
		return c.Type, true
	}
	if g.sees(c.Object) {
		if c.Type == WatchDeleted {
			delete(shown, c.Key)
		} else if _, ok := shown[c.Key]; !ok {
			shown[c.Key] = 0 // shown from now on; no older change is skipped
		}
		return c.Type, true
	}
	if _, ok := shown[c.Key]; ok {
		delete(shown, c.Key)
		return WatchDeleted, true
	}
	return "", false
}

// listAll lists every object of kind (named name, if given), page by page, and returns them
// with the resourceVersion of the first page: the watch goes on from there.
func (s *Server) listAll(ctx context.Context, kind, name string) ([]v1alpha1.Object, int64, error) {
	opts := store.ListOptions{Name: name, Limit: MaxListLimit}
	var objs []v1alpha1.Object
	var rv int64
	for first := true; ; first = false {
		page, err := s.store.List(ctx, kind, opts)
		if err != nil {
			return nil, 0, internal(err, "list %s", v1alpha1.Plural(kind))
		}
		if first {
			rv = page.ResourceVersion
		}
		objs = append(objs, page.Items...)
		if page.Continue == "" {
			return objs, rv, nil
		}
		opts.Continue = page.Continue
	}
}

// watchRefused is the answer to a watch the feed refused.
func watchRefused(err error, after int64) error {
	switch {
	case errors.Is(err, store.ErrExpired):
		return expiredError(after)
	case errors.Is(err, feed.ErrTooManyWatchers):
		return &apiError{code: http.StatusTooManyRequests, reason: ReasonTooManyRequests,
			message: "too many watches on this server: try again later"}
	case errors.Is(err, feed.ErrClosed):
		return &apiError{code: http.StatusServiceUnavailable, reason: ReasonServiceUnavailable, message: "the server is stopping"}
	}
	return internal(err, "watch")
}

func expiredError(after int64) *apiError {
	return &apiError{code: http.StatusGone, reason: ReasonExpired,
		message: fmt.Sprintf("the changes after resourceVersion %d are no longer kept: list again and watch from the list's resourceVersion", after)}
}

// statusOf is the Status body of an error, as writeError sends it (without its cause).
func statusOf(e *apiError) Status {
	msg := e.message
	if e.code >= 500 {
		msg = "internal error: see the server's log"
	}
	return Status{APIVersion: v1alpha1.GroupVersion, Kind: "Status", Code: e.code, Reason: e.reason, Message: msg}
}

// eventWriter writes a watch response, one JSON line per event, each flushed at once and
// bounded by watchWriteTimeout.
type eventWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newEventWriter(w http.ResponseWriter) *eventWriter {
	return &eventWriter{w: w, rc: http.NewResponseController(w)}
}

// start sends the headers. The watch outlives the server's read timeout, which would end it.
func (e *eventWriter) start() error {
	_ = e.rc.SetReadDeadline(time.Time{})
	h := e.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	e.w.WriteHeader(http.StatusOK)
	return e.flush()
}

func (e *eventWriter) write(ev WatchEvent) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode watch event: %w", err)
	}
	_ = e.rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
	if _, err := e.w.Write(append(data, '\n')); err != nil {
		return err
	}
	return e.flush()
}

func (e *eventWriter) flush() error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(watchWriteTimeout))
	return e.rc.Flush()
}
