package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// mirrorPage is how many changes one read of the change feed takes.
const mirrorPage = 500

// mirror keeps the stored objects of some kinds in memory, brought up to date at each scan from
// the store's change feed: a scan reads only what was written since the last one, where
// listing would decode every cluster each time (at 1,000 clusters, most of an idle server's
// CPU). It lists again when the feed no longer holds the changes it needs, and at every sync
// on a store without a feed (a gateway's, which is the server's API). Its objects come
// from the feed and are shared: they are read, never modified, and their secrets are not
// opened. Not safe for concurrent use: the scan loop owns it.
type mirror struct {
	st     Store
	feed   changeFeed // nil: the store has none
	kinds  map[string]bool
	objs   map[string]map[string]v1alpha1.Object // kind → key → object
	cursor int64                                 // the feed is applied up to this resourceVersion
	synced bool
}

// changeFeed is the change feed of a store.Store.
type changeFeed interface {
	ResourceVersion(ctx context.Context) (int64, error)
	Changes(ctx context.Context, after int64, limit int) ([]store.Change, error)
}

func newMirror(st Store, kinds ...string) *mirror {
	feed, _ := st.(changeFeed)
	m := &mirror{st: st, feed: feed, kinds: map[string]bool{}, objs: map[string]map[string]v1alpha1.Object{}}
	for _, k := range kinds {
		m.kinds[k] = true
		m.objs[k] = map[string]v1alpha1.Object{}
	}
	return m
}

// sync brings the mirror up to date: the changes since the last sync, or a new list.
func (m *mirror) sync(ctx context.Context) error {
	if !m.synced || m.feed == nil {
		return m.relist(ctx)
	}
	for {
		cs, err := m.feed.Changes(ctx, m.cursor, mirrorPage)
		if errors.Is(err, store.ErrExpired) {
			return m.relist(ctx)
		}
		if err != nil {
			return fmt.Errorf("read the change feed: %w", err)
		}
		for _, c := range cs {
			m.apply(c)
			m.cursor = c.ResourceVersion
		}
		if len(cs) < mirrorPage {
			return nil
		}
	}
}

// relist lists every object of the kinds. The feed's position is read first: a write made while
// the list is read is in the list or in the changes after it, and applying it again is harmless.
func (m *mirror) relist(ctx context.Context) error {
	var rv int64
	if m.feed != nil {
		v, err := m.feed.ResourceVersion(ctx)
		if err != nil {
			return fmt.Errorf("read the resourceVersion: %w", err)
		}
		rv = v
	}
	objs := map[string]map[string]v1alpha1.Object{}
	for kind := range m.kinds {
		objs[kind] = map[string]v1alpha1.Object{}
		var opts store.ListOptions
		for {
			page, err := m.st.List(ctx, kind, opts)
			if err != nil {
				return fmt.Errorf("list %s: %w", kind, err)
			}
			for _, obj := range page.Items {
				objs[kind][obj.Key()] = obj
			}
			if page.Continue == "" {
				break
			}
			opts.Continue = page.Continue
		}
	}
	m.objs, m.cursor, m.synced = objs, rv, true
	return nil
}

// apply applies one change, unless the mirror holds a later version of its object already
// (read by the list that the change predates).
func (m *mirror) apply(c store.Change) {
	if !m.kinds[c.Kind] {
		return
	}
	if have, ok := m.objs[c.Kind][c.Key]; ok && versionOf(have) >= c.ResourceVersion {
		return
	}
	if c.Type == store.ChangeDeleted {
		delete(m.objs[c.Kind], c.Key)
		return
	}
	m.objs[c.Kind][c.Key] = c.Object
}

// each calls f with every object of a kind, in the order of their keys (as a list gives them).
func (m *mirror) each(kind string, f func(v1alpha1.Object)) {
	for _, key := range slices.Sorted(maps.Keys(m.objs[kind])) {
		f(m.objs[kind][key])
	}
}

// versionOf is an object's resourceVersion as a number (0 when it has none).
func versionOf(obj v1alpha1.Object) int64 {
	v, _ := strconv.ParseInt(obj.GetMetadata().ResourceVersion, 10, 64)
	return v
}
