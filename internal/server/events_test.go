package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// eventsOf returns the reasons and UIDs of the events GET path answers with.
func (ts *testServer) eventsOf(path string) (reasons, uids []string, code int) {
	ts.t.Helper()
	r := ts.do(http.MethodGet, path, nil, "")
	if r.code != http.StatusOK {
		return nil, nil, r.code
	}
	var list struct {
		Items []struct {
			UID    string `json:"uid"`
			Reason string `json:"reason"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		ts.t.Fatal(err)
	}
	for _, e := range list.Items {
		reasons = append(reasons, e.Reason)
		uids = append(uids, e.UID)
	}
	return reasons, uids, r.code
}

// TestEventsBelongToUID checks that an object's events are those of its UID: a new object with
// the name of a deleted one starts with no history, and the deleted one's events stay readable
// by its UID.
func TestEventsBelongToUID(t *testing.T) {
	ts := newTestServer(t)
	p := profile("edge", "0.1.0")
	first := ts.create(p)
	p.Spec.Layers[2].Version = "3.29.0"
	if r := ts.apply(p, ""); r.code != http.StatusOK {
		t.Fatalf("update: %d %s", r.code, r.body)
	}
	if r := ts.do(http.MethodDelete, objPath(p), nil, ""); r.code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	firstEvents := []string{EventCreated, EventUpdated, EventDeletionRequested, EventDeleted}
	path := objPath(p) + "/events"

	// Deleted and not created again: the last object's events.
	if got, _, code := ts.eventsOf(path); !slices.Equal(got, firstEvents) {
		t.Errorf("events after delete = %v (HTTP %d), want %v", got, code, firstEvents)
	}

	second := ts.create(profile("edge", "0.1.0"))
	got, uids, code := ts.eventsOf(path)
	if !slices.Equal(got, []string{EventCreated}) {
		t.Errorf("events of the new object = %v (HTTP %d), want only its own %s", got, code, EventCreated)
	}
	for _, u := range uids {
		if u != second.GetMetadata().UID {
			t.Errorf("event of uid %q in the new object's events (uid %q)", u, second.GetMetadata().UID)
		}
	}
	got, uids, code = ts.eventsOf(path + "?uid=" + first.GetMetadata().UID)
	if !slices.Equal(got, firstEvents) {
		t.Errorf("events of the deleted object by uid = %v (HTTP %d), want %v", got, code, firstEvents)
	}
	for _, u := range uids {
		if u != first.GetMetadata().UID {
			t.Errorf("event of uid %q among the deleted object's (uid %q)", u, first.GetMetadata().UID)
		}
	}

	if _, _, code := ts.eventsOf(path + "?uid=not-a-uid"); code != http.StatusBadRequest {
		t.Errorf("events with a malformed uid: HTTP %d, want 400", code)
	}
	if _, _, code := ts.eventsOf(kindPath(v1alpha1.KindClusterProfile) + "/never@1.0.0/events"); code != http.StatusNotFound {
		t.Errorf("events of a key never used: HTTP %d, want 404", code)
	}
}

func TestLastObjectEvents(t *testing.T) {
	ev := func(uid, reason string) store.Event { return store.Event{UID: uid, Reason: reason} }
	tests := []struct {
		name string
		in   []store.Event
		want []string
	}{
		{"none", nil, nil},
		{"one object", []store.Event{ev("a", "Created"), ev("a", "Deleted")}, []string{"a Created", "a Deleted"}},
		{"the newest event's object", []store.Event{ev("a", "Created"), ev("b", "Created"), ev("a", "Deleted"), ev("b", "Deleted")}, []string{"b Created", "b Deleted"}},
		{"an earlier object's events come last", []store.Event{ev("b", "Created"), ev("a", "Late")}, []string{"a Late"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range lastObjectEvents(tc.in) {
				got = append(got, e.UID+" "+e.Reason)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("lastObjectEvents = %v, want %v", got, tc.want)
			}
		})
	}
}
