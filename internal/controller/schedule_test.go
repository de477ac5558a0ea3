package controller

import (
	"slices"
	"testing"
	"time"
)

func TestAdmit(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cd := func(name, account string, at int) candidate {
		return candidate{key: objKey{kindCluster, name}, account: account, since: t0.Add(time.Duration(at) * time.Second)}
	}
	names := func(cs []candidate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.key.name)
		}
		return out
	}
	tests := []struct {
		name                string
		cands               []candidate
		running             int
		byAccount           map[string]int
		workers, perAccount int
		start, wait         []string
	}{
		{"all fit", []candidate{cd("a", "x", 0), cd("b", "y", 1)}, 0, nil, 4, 4, []string{"a", "b"}, nil},
		{"oldest first", []candidate{cd("late", "x", 5), cd("early", "y", 1)}, 0, nil, 1, 4, []string{"early"}, []string{"late"}},
		{"account cap leaves room for others",
			[]candidate{cd("p1", "pit", 0), cd("p2", "pit", 1), cd("p3", "pit", 2), cd("h", "ok", 3)}, 0, nil, 4, 2,
			[]string{"p1", "p2", "h"}, []string{"p3"}},
		{"account busy already", []candidate{cd("p3", "pit", 0), cd("h", "ok", 1)}, 2, map[string]int{"pit": 2}, 4, 2,
			[]string{"h"}, []string{"p3"}},
		{"no worker free", []candidate{cd("h", "ok", 0)}, 4, map[string]int{"pit": 4}, 4, 4, nil, []string{"h"}},
		{"waiting keep their order", []candidate{cd("c", "x", 3), cd("a", "x", 1), cd("b", "x", 2)}, 0, nil, 4, 1,
			[]string{"a"}, []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			byAccount := map[string]int{}
			for k, v := range tt.byAccount {
				byAccount[k] = v
			}
			start, wait := admit(tt.cands, tt.running, byAccount, tt.workers, tt.perAccount)
			if got := names(start); !slices.Equal(got, tt.start) {
				t.Errorf("start %v, want %v", got, tt.start)
			}
			if got := names(wait); !slices.Equal(got, tt.wait) {
				t.Errorf("wait %v, want %v", got, tt.wait)
			}
			for k, v := range tt.byAccount {
				if byAccount[k] != v {
					t.Errorf("byAccount changed: %v", byAccount)
				}
			}
		})
	}
}

func TestCurrent(t *testing.T) {
	listedAt := time.Date(2026, 12, 5, 0, 0, 10, 0, time.UTC)
	key := objKey{kindCluster, "a"}
	cands := []candidate{{key: key, account: "x"}}
	tests := []struct {
		name  string
		busy  bool
		state *objState
		keep  bool
	}{
		{"never passed", false, nil, true},
		{"last pass ended before the objects were read", false, &objState{ended: listedAt.Add(-time.Second)}, true},
		{"last pass ended while the objects were read", false, &objState{ended: listedAt.Add(time.Millisecond)}, false},
		{"in flight", true, &objState{ended: listedAt.Add(-time.Minute)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inFlight := map[objKey]string{}
			if tt.busy {
				inFlight[key] = "x"
			}
			states := map[objKey]*objState{}
			if tt.state != nil {
				states[key] = tt.state
			}
			got := current(cands, inFlight, states, listedAt)
			if (len(got) == 1) != tt.keep {
				t.Errorf("kept %v, want kept %v", got, tt.keep)
			}
		})
	}
}
