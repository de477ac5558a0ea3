package arm

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Counter is the number of ARM requests of one method, resource type and status.
type Counter struct {
	Method string `json:"method"`
	Type   string `json:"type"`
	// Status is the HTTP status answered; 0 for a dropped connection.
	Status int   `json:"status"`
	Count  int64 `json:"count"`
}

type counterKey struct {
	method, typ string
	status      int
}

func (e *Engine) count(method, typ string, status int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counters[counterKey{method, typ, status}]++
}

// Counters returns the request counters, sorted by type, method and status.
func (e *Engine) Counters() []Counter {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Counter, 0, len(e.counters))
	for k, n := range e.counters {
		out = append(out, Counter{Method: k.method, Type: k.typ, Status: k.status, Count: n})
	}
	slices.SortFunc(out, func(a, b Counter) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.Method, b.Method), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// StoredResource is one resource of a State.
type StoredResource struct {
	ID   string         `json:"id"`
	Type string         `json:"type"`
	Body map[string]any `json:"body"`
	Seq  uint64         `json:"seq"`
	// Operation is the ID of the operation in flight on it.
	Operation string `json:"operation,omitempty"`
}

// State is the engine's whole cloud: what Snapshot saves, Restore reloads and the inventory
// shows.
type State struct {
	Version    int              `json:"version"`
	Seq        uint64           `json:"seq"`
	ReqSeq     uint64           `json:"reqSeq"`
	ETagSeq    uint64           `json:"etagSeq"`
	Resources  []StoredResource `json:"resources"`
	Operations []*Operation     `json:"operations"`
}

// stateVersion is the format version of State.
const stateVersion = 1

// Snapshot returns a deep copy of the stored resources and operations.
func (e *Engine) Snapshot() *State {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &State{Version: stateVersion, Seq: e.st.seq, ReqSeq: e.reqSeq, ETagSeq: e.etagSeq}
	for _, en := range e.st.all() {
		s.Resources = append(s.Resources, StoredResource{ID: en.res.ID, Type: en.res.Type, Body: deepCopyMap(en.res.Body), Seq: en.seq, Operation: en.op})
	}
	ops := make([]*Operation, 0, len(e.ops))
	for _, op := range e.ops {
		c := *op
		ops = append(ops, &c)
	}
	slices.SortFunc(ops, func(a, b *Operation) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.ID, b.ID))
	})
	s.Operations = ops
	return s
}

// Restore replaces the stored resources and operations with a saved state. Operations that
// were in flight go on, and those whose time has passed complete at once.
func (e *Engine) Restore(s *State) error {
	if s == nil {
		return nil
	}
	if s.Version != stateVersion {
		return fmt.Errorf("restore: state version %d, want %d", s.Version, stateVersion)
	}
	e.mu.Lock()
	st := newStore()
	for _, r := range s.Resources {
		id := ParseID(r.ID)
		if id.Subscription == "" {
			e.mu.Unlock()
			return fmt.Errorf("restore: %q is not a resource ID", r.ID)
		}
		st.put(Key(r.ID), &entry{res: &Resource{ID: r.ID, Type: r.Type, Body: normalizeJSON(r.Body)}, seq: r.Seq, parent: parentKey(id), op: r.Operation})
	}
	st.seq = s.Seq
	e.st = st
	e.hist.reset()
	e.ops = map[string]*Operation{}
	for _, op := range s.Operations {
		c := *op
		e.ops[op.ID] = &c
	}
	e.reqSeq, e.etagSeq = s.ReqSeq, s.ETagSeq
	e.completeDue()
	e.scheduleLocked()
	e.mu.Unlock()
	return nil
}

// Reset forgets every resource, operation, counter and throttling bucket, and restarts the
// fault rules' sequences; subscriptions, types, routes and rules stay.
func (e *Engine) Reset() {
	e.mu.Lock()
	e.st = newStore()
	e.hist.reset()
	e.ops = map[string]*Operation{}
	e.counters = map[counterKey]int64{}
	e.throttle.reset()
	e.faults.resetCounts()
	e.reqSeq, e.etagSeq = 0, 0
	e.mu.Unlock()
	if e.onChange != nil {
		e.onChange()
	}
}

// Faults returns the fault rules.
func (e *Engine) Faults() []FaultRule {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults.list()
}

// SetFaults replaces the fault rules.
func (e *Engine) SetFaults(rules []FaultRule) error {
	fs := &faultSet{}
	for _, r := range rules {
		if err := r.normalize(); err != nil {
			return err
		}
		fs.add(r)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = fs
	return nil
}

// AddFaults adds fault rules: all of them, or none when one is not valid.
func (e *Engine) AddFaults(rules ...FaultRule) error {
	for i := range rules {
		if err := rules[i].normalize(); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rules {
		e.faults.add(r)
	}
	return nil
}

// Throttle returns the throttling options.
func (e *Engine) Throttle() ThrottleOptions {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.throttle.opts
}

// SetThrottle changes the throttling options and refills every bucket.
func (e *Engine) SetThrottle(o ThrottleOptions) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttle = newThrottler(o)
}

// Latency returns the latency model, which may be changed at run time.
func (e *Engine) Latency() *LatencyModel { return e.latency }

// Close stops the engine's timer; operations still in flight stay in the state.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.timer != nil {
		e.timer.Stop()
	}
}

// scheduleLocked arms the timer for the next operation deadline, so that operations complete
// (and their side effects happen) even when nobody polls.
func (e *Engine) scheduleLocked() {
	if e.closed {
		return
	}
	next, ok := e.nextDeadline()
	if !ok {
		return
	}
	if e.timer != nil && !e.timerAt.IsZero() && !next.Before(e.timerAt) {
		return
	}
	d := max(next.Sub(e.now()), 0) + time.Millisecond
	e.timerAt = next
	if e.timer == nil {
		e.timer = time.AfterFunc(d, e.tick)
	} else {
		e.timer.Reset(d)
	}
}

func (e *Engine) tick() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.timerAt = time.Time{}
	changed := e.completeDue()
	e.scheduleLocked()
	e.mu.Unlock()
	if changed && e.onChange != nil {
		e.onChange()
	}
}

// ResourcesOfTypes returns copies of the stored resources of the given full types (any
// casing), hidden state included: for the parts of the emulator that act on what the cloud
// holds (the Kubernetes control planes of its clusters).
func (e *Engine) ResourcesOfTypes(types ...string) []*Resource {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*Resource
	for _, t := range types {
		for _, en := range e.st.ofType(t, "") {
			out = append(out, copyResource(en.res))
		}
	}
	return out
}

// Resource returns a copy of the stored resource with an ID (any casing), hidden state
// included, or nil: for the parts of the emulator, and the benchmarks, that watch one resource
// without the cost of a request or of copying the whole cloud.
func (e *Engine) Resource(id string) *Resource {
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.st.get(Key(id))
	if en == nil {
		return nil
	}
	return copyResource(en.res)
}
