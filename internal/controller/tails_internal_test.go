package controller

import (
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/plan"
)

// estimating is an Applier that knows how long creates of some kinds take; it applies nothing.
type estimating struct {
	azure.Applier
	took map[plan.Kind]time.Duration
}

func (e estimating) Estimate(kind plan.Kind) time.Duration { return e.took[kind] }

// applying is an Applier without estimates.
type applying struct{ azure.Applier }

func TestNodeCosts(t *testing.T) {
	g := &plan.Graph{Nodes: []*plan.Node{
		{Key: "vm/cp-0", Kind: plan.KindVirtualMachine},
		{Key: "nsg/workers", Kind: plan.KindNetworkSecurityGroup},
	}}
	tests := []struct {
		name    string
		applier azure.Applier
		key     string
		want    time.Duration
	}{
		{"a kind seen: its median create", estimating{took: map[plan.Kind]time.Duration{plan.KindVirtualMachine: 40 * time.Second}}, "vm/cp-0", 40 * time.Second},
		{"a kind not seen yet", estimating{took: map[plan.Kind]time.Duration{plan.KindVirtualMachine: 40 * time.Second}}, "nsg/workers", unknownCost},
		{"an applier without estimates", applying{}, "vm/cp-0", unknownCost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nodeCosts(g, tt.applier)(tt.key); got != tt.want {
				t.Errorf("cost of %s = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}
