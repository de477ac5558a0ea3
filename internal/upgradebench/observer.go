package upgradebench

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/store"
)

// observer is the controller's store, watched: it records when the cluster is first Running,
// when each inventory entry first appears, is first ready and disappears, and when the
// upgrade ends (status.upgrade gone with the cluster Running, after it was seen).
type observer struct {
	store.Store

	mu       sync.Mutex
	running  bool
	upgrade  time.Time // when the spec was changed; zero before
	seen     bool      // status.upgrade was seen since
	from, to string    // status.upgrade's from and to
	upgraded time.Time
	// present are the inventory keys of the last write; first, ready and gone when each key
	// first appeared, was first ready, and last disappeared.
	present            map[string]bool
	first, ready, gone map[string]time.Time
	// events counts the cluster's events by reason, from the spec change on.
	events map[string]int
}

func newObserver(st store.Store) *observer {
	return &observer{Store: st, present: map[string]bool{},
		first: map[string]time.Time{}, ready: map[string]time.Time{}, gone: map[string]time.Time{}, events: map[string]int{}}
}

// Update records what a write of the cluster's status shows.
func (o *observer) Update(ctx context.Context, obj v1alpha1.Object) error {
	err := o.Store.Update(ctx, obj)
	if cl, ok := obj.(*v1alpha1.Cluster); ok && err == nil {
		o.record(cl, time.Now())
	}
	return err
}

// RecordEvent counts the events recorded since the spec change, by reason.
func (o *observer) RecordEvent(ctx context.Context, ev store.Event) error {
	err := o.Store.RecordEvent(ctx, ev)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err == nil && !o.upgrade.IsZero() {
		o.events[ev.Reason]++
	}
	return err
}

// eventCounts returns the events recorded since the spec change, by reason.
func (o *observer) eventCounts() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.events)
}

// record notes a cluster's status written at now.
func (o *observer) record(cl *v1alpha1.Cluster, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := &cl.Status
	o.running = o.running || s.Phase == controller.PhaseRunning
	if up := s.Upgrade; up != nil && !o.upgrade.IsZero() {
		o.seen, o.from, o.to = true, up.From, up.To
	}
	if o.seen && o.upgraded.IsZero() && s.Upgrade == nil && s.Phase == controller.PhaseRunning {
		o.upgraded = now
	}
	keys := make(map[string]bool, len(s.Inventory))
	for _, it := range s.Inventory {
		keys[it.Key] = true
		if _, ok := o.first[it.Key]; !ok {
			o.first[it.Key] = now
		}
		if _, ok := o.ready[it.Key]; it.Ready && !ok {
			o.ready[it.Key] = now
		}
	}
	for k := range o.present {
		if !keys[k] {
			o.gone[k] = now
		}
	}
	o.present = keys
}

// startUpgrade notes when the spec is changed.
func (o *observer) startUpgrade(t time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.upgrade = t
}

func (o *observer) isRunning() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.running
}

func (o *observer) isUpgraded() bool { return !o.upgradedAt().IsZero() }

func (o *observer) upgradedAt() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.upgraded
}

// times returns when key first appeared, was first ready and disappeared (zero when not).
func (o *observer) times(key string) (first, ready, gone time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.first[key], o.ready[key], o.gone[key]
}

// fromTo returns status.upgrade's from and to as last seen.
func (o *observer) fromTo() (from, to string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.from, o.to
}
