package storetest

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// sameEvents fails the test unless got are the events of want, in order, times in UTC.
func sameEvents(t *testing.T, what string, got, want []store.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d: %+v", what, len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].Time.Location() != time.UTC {
			t.Errorf("%s: event %d time %v, want %v in UTC", what, i, got[i].Time, want[i].Time)
		}
		g, w := got[i], want[i]
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("%s: event %d = %+v, want %+v", what, i, g, w)
		}
	}
}

func mustListEvents(t *testing.T, s store.Store, kind, key, uid string) []store.Event {
	t.Helper()
	evs, err := s.ListEvents(ctx(t), kind, key, uid)
	if err != nil {
		t.Fatalf("list events of %s %s uid %q: %v", kind, key, uid, err)
	}
	return evs
}

func mustRecord(t *testing.T, s store.Store, ev store.Event) {
	t.Helper()
	if err := s.RecordEvent(ctx(t), ev); err != nil {
		t.Fatalf("record event %+v: %v", ev, err)
	}
}

// testEvents records events and reads them back: in recording order, with their fields and
// times as given, each object's own, kept after the object is deleted.
func testEvents(t *testing.T, s store.Store) {
	obj := NewObject(v1alpha1.KindPrivateCloudGateway, "evented")
	mustCreate(t, s, obj)
	uid := obj.GetMetadata().UID
	base := time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)
	want := []store.Event{
		{Type: store.EventNormal, Reason: "Created", Message: "gateway created", Time: base},
		{Type: store.EventWarning, Reason: "QuotaExceeded", Message: "not enough cores in westeurope: 24 > 20", Time: base.Add(time.Second)},
		// Older time, recorded later: events are kept in recording order.
		{Type: store.EventNormal, Reason: "Retry", Message: "ünïcödé ✓", Time: base.Add(-time.Hour)},
	}
	for i := range want {
		want[i].Kind, want[i].Key, want[i].UID = v1alpha1.KindPrivateCloudGateway, "evented", uid
		mustRecord(t, s, want[i])
	}
	// An event of another object, and one of another kind with the same key.
	other := store.Event{Kind: v1alpha1.KindPrivateCloudGateway, Key: "other", UID: uuid.NewString(), Type: store.EventNormal, Reason: "X", Message: "x", Time: base}
	mustRecord(t, s, other)
	other.Kind, other.Key = v1alpha1.KindCloudAccount, "evented"
	mustRecord(t, s, other)

	sameEvents(t, "recorded", mustListEvents(t, s, v1alpha1.KindPrivateCloudGateway, "evented", uid), want)
	sameEvents(t, "recorded, every uid", mustListEvents(t, s, v1alpha1.KindPrivateCloudGateway, "evented", ""), want)

	// An event without a time is stamped when it is recorded.
	before := time.Now().Add(-time.Millisecond)
	mustRecord(t, s, store.Event{Kind: v1alpha1.KindCluster, Key: "stamped", UID: uid, Type: store.EventNormal, Reason: "R"})
	after := time.Now().Add(time.Millisecond)
	stamped := mustListEvents(t, s, v1alpha1.KindCluster, "stamped", uid)
	if len(stamped) != 1 {
		t.Fatalf("stamped events: %+v", stamped)
	}
	if tm := stamped[0].Time; tm.Before(before) || tm.After(after) || tm.Location() != time.UTC {
		t.Errorf("event without time stamped %v, want between %v and %v, in UTC", tm, before, after)
	}

	// Events outlive their object.
	if err := s.Delete(ctx(t), v1alpha1.KindPrivateCloudGateway, "evented", ""); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "after delete", mustListEvents(t, s, v1alpha1.KindPrivateCloudGateway, "evented", uid), want)

	if none := mustListEvents(t, s, v1alpha1.KindCluster, "never", ""); len(none) != 0 {
		t.Errorf("events of an unknown object: %+v", none)
	}
}

// testEventsOfOneObject checks that events belong to an object's UID: an object created with
// the name of a deleted one starts with no history, while the deleted one's stays readable.
func testEventsOfOneObject(t *testing.T, s store.Store) {
	const kind, key = v1alpha1.KindClusterProfile, "reused@1.0.0"
	first := NewObject(kind, "reused")
	mustCreate(t, s, first)
	firstUID := first.GetMetadata().UID
	ev := func(uid, reason string) store.Event {
		return store.Event{Kind: kind, Key: key, UID: uid, Type: store.EventNormal, Reason: reason, Message: reason,
			Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	old := []store.Event{ev(firstUID, "Created"), ev(firstUID, "Deleted")}
	for _, e := range old {
		mustRecord(t, s, e)
	}
	if err := s.Delete(ctx(t), kind, key, ""); err != nil {
		t.Fatal(err)
	}

	second := NewObject(kind, "reused")
	mustCreate(t, s, second)
	secondUID := second.GetMetadata().UID
	if none := mustListEvents(t, s, kind, key, secondUID); len(none) != 0 {
		t.Fatalf("a new object with a deleted one's name has events %+v", none)
	}
	mine := []store.Event{ev(secondUID, "Created")}
	mustRecord(t, s, mine[0])
	sameEvents(t, "the new object's", mustListEvents(t, s, kind, key, secondUID), mine)
	sameEvents(t, "the deleted object's", mustListEvents(t, s, kind, key, firstUID), old)
	sameEvents(t, "every object's", mustListEvents(t, s, kind, key, ""), append(old, mine...))
	if none := mustListEvents(t, s, kind, key, uuid.NewString()); len(none) != 0 {
		t.Errorf("events of a uid never used: %+v", none)
	}
}

// testEventsNeedUID checks that an event without the UID of its object is refused.
func testEventsNeedUID(t *testing.T, s store.Store) {
	obj := NewObject(v1alpha1.KindPrivateCloudGateway, "anonymous")
	mustCreate(t, s, obj)
	err := s.RecordEvent(ctx(t), store.Event{Kind: v1alpha1.KindPrivateCloudGateway, Key: "anonymous", Type: store.EventNormal, Reason: "R"})
	if err == nil {
		t.Fatal("an event without uid was recorded")
	}
	if evs := mustListEvents(t, s, v1alpha1.KindPrivateCloudGateway, "anonymous", ""); len(evs) != 0 {
		t.Errorf("a refused event was stored: %+v", evs)
	}
}

func testEventsPruned(t *testing.T, s store.Store) {
	const extra = 15
	busyUID, neighbourUID := uuid.NewString(), uuid.NewString()
	record := func(key, uid string, i int) {
		t.Helper()
		mustRecord(t, s, store.Event{Kind: v1alpha1.KindCloudAccount, Key: key, UID: uid, Type: store.EventNormal,
			Reason: "Step", Message: strconv.Itoa(i), Time: time.Unix(int64(1_700_000_000+i), 0).UTC()})
	}
	record("neighbour", neighbourUID, -1)
	// The first events belong to an earlier object of the key: the bound is per key, and the
	// oldest go first whatever object they belong to.
	earlierUID := uuid.NewString()
	for i := range store.MaxEventsPerObject + extra {
		uid := busyUID
		if i < extra {
			uid = earlierUID
		}
		record("busy", uid, i)
	}
	if old := mustListEvents(t, s, v1alpha1.KindCloudAccount, "busy", earlierUID); len(old) != 0 {
		t.Errorf("%d events of the earlier object kept, want them pruned first", len(old))
	}
	got := mustListEvents(t, s, v1alpha1.KindCloudAccount, "busy", busyUID)
	if len(got) != store.MaxEventsPerObject {
		t.Fatalf("%d events kept, want %d", len(got), store.MaxEventsPerObject)
	}
	for i, ev := range got {
		if want := strconv.Itoa(extra + i); ev.Message != want {
			t.Fatalf("event %d is %q, want %q: the newest must be kept, oldest first", i, ev.Message, want)
		}
	}
	if n := mustListEvents(t, s, v1alpha1.KindCloudAccount, "neighbour", neighbourUID); len(n) != 1 {
		t.Errorf("pruning touched another object's events: %+v", n)
	}

	// Writers recording at once still leave at most the bound.
	var wg sync.WaitGroup
	c := ctx(t)
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				ev := store.Event{Kind: v1alpha1.KindCloudAccount, Key: "busy", UID: busyUID, Type: store.EventNormal,
					Reason: "Parallel", Message: fmt.Sprintf("%d/%d", w, i)}
				if err := s.RecordEvent(c, ev); err != nil {
					t.Errorf("record event: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := mustListEvents(t, s, v1alpha1.KindCloudAccount, "busy", ""); len(got) != store.MaxEventsPerObject {
		t.Errorf("%d events kept after parallel recording, want %d", len(got), store.MaxEventsPerObject)
	}
}
