package arm

import (
	"strings"
)

// txn is the Tx of one request or one completed operation. It writes straight into the store
// and remembers what it overwrote, so that a refused request can be rolled back.
type txn struct {
	e    *Engine
	host string
	seed uint64
	undo map[string]*entry
}

var (
	_ Tx     = (*txn)(nil)
	_ Viewer = (*txn)(nil)
)

func (e *Engine) newTx(host string) *txn {
	e.reqSeq++
	if host == "" {
		host = e.host
	}
	return &txn{e: e, host: host, seed: hashOf(e.seed, "tx", e.reqSeq), undo: map[string]*entry{}}
}

// Get returns a copy of the resource: change it and Put it back to store changes.
func (t *txn) Get(id string) *Resource {
	en := t.e.st.get(Key(id))
	if en == nil {
		return nil
	}
	return copyResource(en.res)
}

// List returns copies of the resources of type typ directly under scopeID (a resource group
// or a parent resource), or anywhere in the subscription when scopeID is a subscription's ID
// (/subscriptions/{s}), or anywhere in the cloud when scopeID is empty.
func (t *txn) List(scopeID, typ string) []*Resource {
	es := t.e.st.inScope(scopeID, typ)
	out := make([]*Resource, len(es))
	for i, en := range es {
		out[i] = copyResource(en.res)
	}
	return out
}

// View implements Viewer: the stored resources themselves, unsorted.
func (t *txn) View(scopeID, typ string, fn func(*Resource)) {
	t.e.st.eachInScope(scopeID, typ, func(en *entry) { fn(en.res) })
}

// Put stores a copy of r.
func (t *txn) Put(r *Resource) {
	id := ParseID(r.ID)
	if id.Subscription == "" {
		t.e.log.Warn("Tx.Put of a resource without a valid ID ignored", "id", r.ID)
		return
	}
	key := Key(r.ID)
	old := t.e.st.get(key)
	typ := r.Type
	if typ == "" {
		typ = id.FullType()
	}
	rt := t.e.types[strings.ToLower(typ)]
	if rt != nil {
		typ = rt.Type
	}
	res := &Resource{ID: r.ID, Type: typ, Body: normalizeJSON(r.Body)}
	if old != nil {
		res.ID = old.res.ID
	}
	res.Body["id"], res.Body["name"], res.Body["type"] = res.ID, ParseID(res.ID).Name, typ
	if _, ok := res.Properties()["provisioningState"]; !ok {
		res.Properties()["provisioningState"] = "Succeeded"
	}
	if rt != nil && rt.ETag {
		res.Body["etag"] = t.e.newETag()
	}
	en := &entry{res: res, parent: parentKey(id)}
	if old != nil {
		en.seq, en.op = old.seq, old.op
	} else {
		t.e.st.seq++
		en.seq = t.e.st.seq
	}
	t.save(key)
	t.e.st.put(key, en)
}

// put stores an entry built by the engine itself.
func (t *txn) put(key string, en *entry) {
	t.save(key)
	t.e.st.put(key, en)
}

// Delete removes a resource and everything under it, with no checks and no hooks.
func (t *txn) Delete(id string) {
	t.remove(Key(id))
}

// remove removes a subtree and returns the removed resources, deepest first.
func (t *txn) remove(key string) []*Resource {
	var out []*Resource
	for _, k := range t.e.st.subtree(key) {
		t.save(k)
		if en := t.e.st.remove(k); en != nil {
			out = append(out, en.res)
		}
	}
	return out
}

func (t *txn) save(key string) {
	if _, ok := t.undo[key]; !ok {
		t.undo[key] = t.e.st.get(key)
	}
}

func (t *txn) Location(name string) (LocationInfo, bool) { return t.e.location(name) }

func (t *txn) BlobEndpoint(account string) string {
	return "https://" + t.host + "/" + account + "/"
}

func (t *txn) Seed() uint64 { return t.seed }

// rollback undoes every write of the transaction.
func (t *txn) rollback() {
	for k, old := range t.undo {
		if old == nil {
			t.e.st.remove(k)
		} else {
			t.e.st.put(k, old)
		}
	}
	t.undo = map[string]*entry{}
}

// commit ends the transaction: operations in flight on removed resources end, and it reports
// whether anything changed.
func (t *txn) commit() bool {
	now := t.e.now()
	for k, old := range t.undo {
		cur := t.e.st.get(k)
		if old != nil && old.op != "" && cur == nil {
			t.e.endRemoved(old.op)
		}
		if cur != old {
			t.e.hist.record(now, k, old)
		}
	}
	changed := len(t.undo) > 0
	t.undo = map[string]*entry{}
	return changed
}

// location finds an offered region by name or display name, in any casing and spacing.
func (e *Engine) location(name string) (LocationInfo, bool) {
	n := normLocation(name)
	for _, l := range e.locations {
		if l.Name == n || normLocation(l.DisplayName) == n {
			return l, true
		}
	}
	return LocationInfo{}, false
}

func normLocation(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", ""))
}
