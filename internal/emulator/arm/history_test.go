package arm

import (
	"testing"
	"time"
)

// TestHistoryAsOf checks the past versions a reader sees, and that the history keeps only its
// window.
func TestHistoryAsOf(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := newStore()
	h := &history{keep: 10 * time.Second}
	ver := func(name, v string, seq uint64) *entry {
		id := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/" + name
		return &entry{res: &Resource{ID: id, Type: "Microsoft.Network/virtualNetworks", Body: map[string]any{"v": v}}, seq: seq}
	}
	write := func(at time.Duration, key string, en *entry) {
		old := st.get(key)
		if en == nil {
			st.remove(key)
		} else {
			st.put(key, en)
		}
		h.record(t0.Add(at), key, old)
	}
	a1, a2, b1 := ver("a", "1", 1), ver("a", "2", 1), ver("b", "1", 2)
	write(0, "a", a1)
	write(2*time.Second, "b", b1)
	write(4*time.Second, "a", a2)
	write(6*time.Second, "b", nil)

	tests := []struct {
		at   time.Duration
		want string
	}{
		{-time.Second, ""},
		{time.Second, "a=1"},
		{3 * time.Second, "a=1 b=1"},
		{5 * time.Second, "a=2 b=1"},
		{7 * time.Second, "a=2"},
	}
	for _, tt := range tests {
		if got := describe(h.asOf(st, t0.Add(tt.at))); got != tt.want {
			t.Errorf("as of %v: %q, want %q", tt.at, got, tt.want)
		}
	}
	h.prune(t0.Add(13 * time.Second)) // forgets the writes at 0 and 2 s
	if len(h.changes["a"]) != 1 || len(h.changes["b"]) != 1 {
		t.Errorf("after pruning: %v", h.changes)
	}
	h.prune(t0.Add(time.Minute))
	if len(h.changes) != 0 {
		t.Errorf("after the window: %v", h.changes)
	}
}

func describe(es []*entry) string {
	out := ""
	for _, en := range es {
		if out != "" {
			out += " "
		}
		out += en.res.Name() + "=" + en.res.Body["v"].(string)
	}
	return out
}
