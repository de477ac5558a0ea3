package agent

import (
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/agent/layers"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

func TestNextSync(t *testing.T) {
	const resync = time.Minute
	phases := func(ps ...layers.Phase) []*agentv1.LayerStatus {
		var out []*agentv1.LayerStatus
		for _, p := range ps {
			out = append(out, &agentv1.LayerStatus{Phase: string(p)})
		}
		return out
	}
	cases := []struct {
		name     string
		reported []*agentv1.LayerStatus
		resync   time.Duration
		want     time.Duration
	}{
		{"no layer", nil, resync, resync},
		{"all ready", phases(layers.PhaseReady, layers.PhaseReady), resync, resync},
		{"workloads not available yet", phases(layers.PhaseReady, layers.PhaseApplying, layers.PhasePending), resync, settleInterval},
		{"waiting behind an earlier layer", phases(layers.PhasePending), resync, settleInterval},
		{"a failure waits for the resync", phases(layers.PhaseReady, layers.PhaseFailed, layers.PhasePending), resync, resync},
		{"a resync shorter than the settle interval", phases(layers.PhaseApplying), time.Second, time.Second},
	}
	for _, c := range cases {
		if got := nextSync(c.reported, c.resync); got != c.want {
			t.Errorf("%s: nextSync = %v, want %v", c.name, got, c.want)
		}
	}
}
