// Package feed streams the store's change feed to watchers: the API's watch requests today, the
// web console's live updates later. One reader per process follows the store (woken by the
// store's Changed signal, and polling it in case a signal is missed) and hands each change to
// every watcher it concerns. The watchers are bounded in number, each with a bounded buffer: a
// watcher that falls behind is dropped, never a growing backlog. A watcher that starts from an
// earlier resourceVersion first reads the changes it missed from the store itself.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-dev/strata/internal/store"
)

// Errors of Watch and Next.
var (
	// ErrTooManyWatchers: the feed has Config.MaxWatchers watchers already.
	ErrTooManyWatchers = errors.New("too many watchers")
	// ErrDropped: the watcher did not take its changes as fast as they came and was dropped;
	// it may watch again from the last resourceVersion it got.
	ErrDropped = errors.New("the watcher fell behind and was dropped")
	// ErrClosed: the feed stopped (the server is shutting down).
	ErrClosed = errors.New("the change feed stopped")
	// ErrRunning: Run was called on a feed that runs, or ran, already.
	ErrRunning = errors.New("the change feed runs already")
)

// Defaults of Config.
const (
	DefaultMaxWatchers  = 1000
	DefaultBuffer       = 256
	DefaultPollInterval = time.Second
	// pageSize is how many changes one read of the store takes.
	pageSize = 500
)

// Config configures a Feed.
type Config struct {
	// MaxWatchers bounds the watchers at once (default DefaultMaxWatchers).
	MaxWatchers int
	// Buffer is how many changes a watcher may have waiting (default DefaultBuffer); one
	// more drops it.
	Buffer int
	// PollInterval is how often the store is read when no signal came (default
	// DefaultPollInterval): the writes of other processes on a SQLite file, a PostgreSQL
	// notification lost with its connection.
	PollInterval time.Duration
	// Logger receives the failures to read the store; nil discards them.
	Logger *slog.Logger
}

// Filter selects the changes a watcher gets.
type Filter struct {
	// Kind keeps the changes of objects of this kind; empty keeps every kind.
	Kind string
	// Name keeps the changes of objects with this metadata.name (every version of a
	// ClusterProfile); empty keeps every name.
	Name string
}

func (f Filter) matches(c store.Change) bool {
	return (f.Kind == "" || c.Kind == f.Kind) && (f.Name == "" || c.Object.GetMetadata().Name == f.Name)
}

// Feed hands the store's changes to watchers. Create it with New and run it with Run.
type Feed struct {
	st  store.Store
	cfg Config
	log *slog.Logger

	// ready is closed once cursor is set.
	ready chan struct{}
	// running is set by the first Run.
	running atomic.Bool

	mu sync.Mutex
	// cursor is the resourceVersion up to which every change was handed out.
	cursor   int64
	watchers map[*Watcher]struct{}
	closed   bool
}

// New returns a feed of st's changes.
func New(st store.Store, cfg Config) *Feed {
	if cfg.MaxWatchers <= 0 {
		cfg.MaxWatchers = DefaultMaxWatchers
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Feed{st: st, cfg: cfg, log: log, ready: make(chan struct{}), watchers: map[*Watcher]struct{}{}}
}

// Run follows the store and hands its changes out until ctx ends; then every watcher ends
// with ErrClosed. It returns ctx's error, or ErrRunning when the feed runs already.
func (f *Feed) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer f.close()
	if err := f.start(ctx); err != nil {
		return err
	}
	poll := time.NewTicker(f.cfg.PollInterval)
	defer poll.Stop()
	for {
		changed := f.st.Changed()
		f.dispatch(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-poll.C:
		}
	}
}

// start sets the cursor to the store's resourceVersion, trying again until the store answers.
func (f *Feed) start(ctx context.Context) error {
	for {
		rv, err := f.st.ResourceVersion(ctx)
		if err == nil {
			f.mu.Lock()
			f.cursor = rv
			f.mu.Unlock()
			close(f.ready)
			return nil
		}
		f.log.ErrorContext(ctx, "change feed: read the resourceVersion", "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.cfg.PollInterval):
		}
	}
}

// dispatch reads the changes after the cursor and hands them to the watchers, page by page,
// until none is left.
func (f *Feed) dispatch(ctx context.Context) {
	for {
		f.mu.Lock()
		cursor := f.cursor
		f.mu.Unlock()
		cs, err := f.st.Changes(ctx, cursor, pageSize)
		var expired *store.ExpiredError
		switch {
		case errors.As(err, &expired):
			// The feed fell further behind than the store keeps: its watchers missed changes.
			f.log.WarnContext(ctx, "change feed: changes were pruned before they were read; the watchers must list again",
				"after", cursor, "horizon", expired.Horizon)
			f.expire(expired)
			continue
		case err != nil:
			if ctx.Err() == nil {
				f.log.ErrorContext(ctx, "change feed: read changes", "after", cursor, "error", err)
			}
			return
		case len(cs) == 0:
			return
		}
		f.hand(cs)
	}
}

// hand gives each change to the watchers it concerns, and moves the cursor past them.
func (f *Feed) hand(cs []store.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		for w := range f.watchers {
			if !w.filter.matches(c) {
				continue
			}
			select {
			case w.live <- c:
			default:
				f.drop(w, ErrDropped)
			}
		}
		f.cursor = c.ResourceVersion
	}
}

// expire ends every watcher with the expiry and moves the cursor to the horizon.
func (f *Feed) expire(e *store.ExpiredError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.watchers {
		f.drop(w, fmt.Errorf("watch from resourceVersion %d: %w", f.cursor, e))
	}
	f.cursor = e.Horizon
}

// drop ends w with err; f.mu is held.
func (f *Feed) drop(w *Watcher, err error) {
	if _, ok := f.watchers[w]; !ok {
		return
	}
	delete(f.watchers, w)
	w.err = err
	close(w.done)
}

// close ends every watcher with ErrClosed and refuses new ones.
func (f *Feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for w := range f.watchers {
		f.drop(w, ErrClosed)
	}
}

// Watchers returns how many watchers the feed has.
func (f *Feed) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers)
}

// Watch starts a watcher of the changes that filter selects after resourceVersion after. It
// fails with a *store.ExpiredError when the changes after after are no longer kept (the caller
// must list again), with ErrTooManyWatchers, or with ErrClosed. Stop the watcher when done.
func (f *Feed) Watch(ctx context.Context, filter Filter, after int64) (*Watcher, error) {
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
		return nil, ErrClosed
	case len(f.watchers) >= f.cfg.MaxWatchers:
		f.mu.Unlock()
		return nil, ErrTooManyWatchers
	}
	w := &Watcher{f: f, filter: filter, cursor: after, handedFrom: f.cursor,
		live: make(chan store.Change, f.cfg.Buffer), done: make(chan struct{})}
	f.watchers[w] = struct{}{}
	f.mu.Unlock()
	// Read the first page of what the feed handed out before: an expiry shows now, before
	// the caller answers.
	if err := w.readMissed(ctx); err != nil {
		w.Stop()
		return nil, err
	}
	return w, nil
}

// Watcher is one watch of the feed.
type Watcher struct {
	f      *Feed
	filter Filter
	// cursor is the resourceVersion of the last change returned or passed over.
	cursor int64
	// handedFrom is the feed's cursor when the watcher started: the changes up to it are read
	// from the store, the later ones come through live.
	handedFrom int64
	missed     []store.Change
	live       chan store.Change
	// done is closed, and err set, when the feed drops the watcher.
	done chan struct{}
	err  error
}

// readMissed reads the next page of the changes after the cursor that the feed handed out
// before the watcher started, keeping those the filter selects.
func (w *Watcher) readMissed(ctx context.Context) error {
	for len(w.missed) == 0 && w.cursor < w.handedFrom {
		cs, err := w.f.st.Changes(ctx, w.cursor, pageSize)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.ResourceVersion > w.handedFrom {
				break // it comes through live
			}
			w.cursor = c.ResourceVersion
			if w.filter.matches(c) {
				w.missed = append(w.missed, c)
			}
		}
		if len(cs) < pageSize || cs[len(cs)-1].ResourceVersion > w.handedFrom {
			// Read up to the feed's cursor: the feed read those changes after they were
			// committed, and the commits are in resourceVersion order.
			w.cursor = w.handedFrom
		}
	}
	return nil
}

// Next returns the next change, waiting for one. It fails with ErrDropped or ErrClosed when
// the feed ended the watcher, with a *store.ExpiredError when the changes it needs were
// pruned, or with ctx's error.
func (w *Watcher) Next(ctx context.Context) (store.Change, error) {
	if err := w.readMissed(ctx); err != nil {
		return store.Change{}, err
	}
	if len(w.missed) > 0 {
		c := w.missed[0]
		w.missed = w.missed[1:]
		return c, nil
	}
	for {
		select {
		case c := <-w.live:
			if c.ResourceVersion <= w.cursor {
				continue // the watcher started after it
			}
			w.cursor = c.ResourceVersion
			return c, nil
		case <-w.done:
			return store.Change{}, w.err
		case <-ctx.Done():
			return store.Change{}, ctx.Err()
		}
	}
}

// Stop ends the watcher.
func (w *Watcher) Stop() {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.f.drop(w, ErrClosed)
}
