package arm

import (
	"strings"
	"time"
)

// change is one committed write of a resource: when it happened and the version it replaced
// (nil when the write created the resource).
type change struct {
	at   time.Time
	prev *entry
}

// history keeps the versions the resources had within the last keep, so that readers can see
// the cloud as it was a little while ago (Resource Graph's lag). Entries are never changed in
// place (writes replace them), so keeping their pointers is enough.
type history struct {
	keep    time.Duration
	changes map[string][]change // by key, oldest first
}

// record notes that key changed at now from prev (nil: created) and forgets what is older
// than the window.
func (h *history) record(now time.Time, key string, prev *entry) {
	if h.keep <= 0 {
		return
	}
	if h.changes == nil {
		h.changes = map[string][]change{}
	}
	h.changes[key] = append(h.changes[key], change{at: now, prev: prev})
	h.prune(now)
}

// prune drops the changes older than the window.
func (h *history) prune(now time.Time) {
	cut := now.Add(-h.keep)
	for k, cs := range h.changes {
		i := 0
		for i < len(cs) && cs[i].at.Before(cut) {
			i++
		}
		switch {
		case i == len(cs):
			delete(h.changes, k)
		case i > 0:
			h.changes[k] = append([]change(nil), cs[i:]...)
		}
	}
}

// reset forgets every change.
func (h *history) reset() { h.changes = nil }

// asOf returns the entries of st as they were at at, in creation order: a resource changed
// since shows the version it had then, one created since is absent and one deleted since is
// still there. Changes older than the window are forgotten, so at is at most keep ago.
func (h *history) asOf(st *store, at time.Time) []*entry {
	byKey := make(map[string]*entry, len(st.m))
	for k, en := range st.m {
		byKey[k] = en
	}
	for k, cs := range h.changes {
		for _, c := range cs {
			if c.at.After(at) { // the first change after at: its previous version was current then
				if c.prev == nil {
					delete(byKey, k)
				} else {
					byKey[k] = c.prev
				}
				break
			}
		}
	}
	out := make([]*entry, 0, len(byKey))
	for _, en := range byKey {
		out = append(out, en)
	}
	sortEntries(out)
	return out
}

// KeepHistory makes the engine keep the versions of the resources written within the last d,
// for ResourcesAsOf; 0 (the default) keeps none.
func (e *Engine) KeepHistory(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hist.keep = max(d, 0)
	e.hist.prune(e.now())
}

// ResourcesAsOf returns, for a route, the resources as GET rendered them ago before now (at
// most the engine's KeepHistory; 0 is the live state), in creation order. tx must be the Tx the
// route was given. The bodies are the types' Render of the past versions (computed parts, such
// as a VNet's inline subnets, come from the live state).
func ResourcesAsOf(tx Tx, ago time.Duration) []*Resource {
	t, ok := tx.(*txn)
	if !ok {
		return nil
	}
	e := t.e
	var es []*entry
	if ago <= 0 {
		es = e.st.all()
	} else {
		es = e.hist.asOf(e.st, e.now().Add(-ago))
	}
	out := make([]*Resource, 0, len(es))
	memo := &listMemo{txn: t, lists: map[string][]*Resource{}, memos: map[string]any{}}
	for _, en := range es {
		out = append(out, &Resource{ID: en.res.ID, Type: en.res.Type, Body: deepCopyMap(e.render(memo, en))})
	}
	return out
}

// listMemo is a read-only Tx that copies each list once: rendering every resource lists the
// same ones again and again (each subnet's and public IP's users are found among all the
// subscription's NICs and load balancers), which would copy the whole cloud once per resource.
// The lists it returns are shared by the renders of one ResourcesAsOf.
type listMemo struct {
	*txn
	lists map[string][]*Resource
	memos map[string]any
}

// Memo implements Memoizer.
func (m *listMemo) Memo(key string, compute func() any) any {
	if v, ok := m.memos[key]; ok {
		return v
	}
	v := compute()
	m.memos[key] = v
	return v
}

// List implements Tx.
func (m *listMemo) List(scopeID, typ string) []*Resource {
	key := Key(scopeID) + "\x00" + strings.ToLower(typ)
	if l, ok := m.lists[key]; ok {
		return l
	}
	l := m.txn.List(scopeID, typ)
	m.lists[key] = l
	return l
}
