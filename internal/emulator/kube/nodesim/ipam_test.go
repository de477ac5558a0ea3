package nodesim

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

func TestCIDRAllocator(t *testing.T) {
	a := newCIDRAllocator()
	for _, tc := range []struct {
		name, want string
	}{
		{"node-a", "10.244.0.0/24"},
		{"node-b", "10.244.1.0/24"},
		{"node-a", "10.244.0.0/24"}, // stable
		{"node-c", "10.244.2.0/24"},
	} {
		got, err := a.get(tc.name)
		if err != nil || got.String() != tc.want {
			t.Errorf("get(%s) = %v, %v; want %s", tc.name, got, err, tc.want)
		}
	}
	// A Node that already has a pod CIDR keeps it, and its /24 is not handed out again.
	a.adopt("node-d", netip.MustParsePrefix("10.244.3.0/24"))
	if got, _ := a.get("node-e"); got.String() != "10.244.4.0/24" {
		t.Errorf("get(node-e) = %v; want 10.244.4.0/24", got)
	}
	// Adopting another CIDR for a name frees its old one.
	a.adopt("node-a", netip.MustParsePrefix("10.244.200.0/24"))
	if got, _ := a.get("node-f"); got.String() != "10.244.0.0/24" {
		t.Errorf("get(node-f) = %v; want the freed 10.244.0.0/24", got)
	}
}

func TestCIDRAllocatorExhausted(t *testing.T) {
	a := newCIDRAllocator()
	for i := range 256 {
		if _, err := a.get(fmt.Sprint("n", i)); err != nil {
			t.Fatalf("get #%d: %v", i, err)
		}
	}
	if _, err := a.get("one-too-many"); !errors.Is(err, errPoolExhausted) {
		t.Errorf("get beyond 256 nodes: err = %v; want errPoolExhausted", err)
	}
}

// ipPoolCases are the cases of TestIPPool.
var ipPoolCases = []struct {
	name   string
	prefix string
	skip   int
	steps  []poolStep
}{{
	name: "node pool skips network and gateway", prefix: "10.244.3.0/24", skip: 2,
	steps: []poolStep{
		{op: "alloc", owner: "a", want: "10.244.3.2"},
		{op: "alloc", owner: "b", want: "10.244.3.3"},
		{op: "alloc", owner: "c", ask: "10.244.3.3", want: "10.244.3.4"},   // taken by b
		{op: "alloc", owner: "b", ask: "10.244.3.3", want: "10.244.3.3"},   // b's own
		{op: "alloc", owner: "d", ask: "10.244.3.1", want: "10.244.3.5"},   // the gateway
		{op: "alloc", owner: "e", ask: "10.244.3.255", want: "10.244.3.6"}, // broadcast
		{op: "alloc", owner: "f", ask: "10.244.9.9", want: "10.244.3.7"},   // elsewhere
		{op: "alloc", owner: "g", ask: "10.244.3.100", want: "10.244.3.100"},
		{op: "release", owner: "x", ask: "10.244.3.2"}, // not x's: stays a's
		{op: "alloc", owner: "h", ask: "10.244.3.2", want: "10.244.3.8"},
		{op: "release", owner: "a", ask: "10.244.3.2"},
		{op: "alloc", owner: "i", ask: "10.244.3.2", want: "10.244.3.2"},
	},
}, {
	name: "loopback pool", prefix: "127.79.0.0/16", skip: 1,
	steps: []poolStep{
		{op: "alloc", owner: "a", want: "127.79.0.1"},
		{op: "alloc", owner: "b", want: "127.79.0.2"},
		{op: "alloc", owner: "c", ask: "127.79.255.255", want: "127.79.0.3"},
		{op: "alloc", owner: "d", ask: "127.79.255.254", want: "127.79.255.254"},
	},
}, {
	name: "wraps around, freed addresses are reused last", prefix: "10.0.0.0/29", skip: 1, // .1 to .6
	steps: []poolStep{
		{op: "alloc", owner: "a", want: "10.0.0.1"},
		{op: "alloc", owner: "b", want: "10.0.0.2"},
		{op: "release", owner: "a", ask: "10.0.0.1"},
		{op: "alloc", owner: "c", want: "10.0.0.3"},
		{op: "alloc", owner: "d", want: "10.0.0.4"},
		{op: "alloc", owner: "e", want: "10.0.0.5"},
		{op: "alloc", owner: "f", want: "10.0.0.6"},
		{op: "alloc", owner: "g", want: "10.0.0.1"},
		{op: "alloc", owner: "h", want: ""}, // full
	},
}, {
	name: "too small to hold any", prefix: "10.0.0.0/31", skip: 1,
	steps: []poolStep{
		{op: "alloc", owner: "a", want: ""},
		{op: "alloc", owner: "a", ask: "10.0.0.1", want: ""},
	},
}}

func TestIPPool(t *testing.T) {
	for _, tc := range ipPoolCases {
		t.Run(tc.name, func(t *testing.T) {
			p := newIPPool(netip.MustParsePrefix(tc.prefix), tc.skip)
			for i, s := range tc.steps {
				ask := netip.Addr{}
				if s.ask != "" {
					ask = netip.MustParseAddr(s.ask)
				}
				if s.op == "release" {
					p.release(s.owner, ask)
					continue
				}
				got, err := p.allocate(s.owner, ask)
				if s.want == "" {
					if !errors.Is(err, errPoolExhausted) {
						t.Errorf("step %d: allocate = %v, %v; want errPoolExhausted", i, got, err)
					}
					continue
				}
				if err != nil || got.String() != s.want {
					t.Errorf("step %d: allocate(%s, %s) = %v, %v; want %s", i, s.owner, s.ask, got, err, s.want)
				}
			}
		})
	}
}

// poolStep is one step of TestIPPool: allocate (ask is the preferred address) or release.
type poolStep struct {
	op, owner, ask, want string
}
