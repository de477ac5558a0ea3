package gatewayserver

import (
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestGatewayStatus(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	base := observation{now: now, stale: 45 * time.Second, persist: time.Minute}
	with := func(o observation, replicas ...string) observation { o.replicas, o.version = replicas, "v1"; return o }
	tests := []struct {
		name      string
		prev      v1alpha1.GatewayStatus
		obs       observation
		phase     string
		connected string
		beatMoved bool
	}{
		{"never registered", v1alpha1.GatewayStatus{}, base, PhasePending, "False", false},
		{"a replica connects", v1alpha1.GatewayStatus{}, with(base, "a"), PhaseRunning, "True", true},
		{"connected, heartbeat recent: not rewritten", v1alpha1.GatewayStatus{Status: v1alpha1.Status{Phase: PhaseRunning}, LastHeartbeat: ago(10 * time.Second)},
			with(base, "a"), PhaseRunning, "True", false},
		{"connected, heartbeat old: rewritten", v1alpha1.GatewayStatus{Status: v1alpha1.Status{Phase: PhaseRunning}, LastHeartbeat: ago(2 * time.Minute)},
			with(base, "a", "b"), PhaseRunning, "True", true},
		{"no replica here, recent heartbeat (another server's)", v1alpha1.GatewayStatus{Status: v1alpha1.Status{Phase: PhaseRunning}, LastHeartbeat: ago(10 * time.Second)},
			base, PhaseRunning, "", false},
		{"no replica, heartbeat stale", v1alpha1.GatewayStatus{Status: v1alpha1.Status{Phase: PhaseRunning}, LastHeartbeat: ago(time.Minute)},
			base, PhaseDisconnected, "False", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gatewayStatus(tt.prev, 1, tt.obs)
			if got.Phase != tt.phase {
				t.Errorf("phase %q, want %q", got.Phase, tt.phase)
			}
			c := v1alpha1.FindCondition(&got.Status, ConditionConnected)
			if (c == nil && tt.connected != "") || (c != nil && c.Status != tt.connected) {
				t.Errorf("Connected %+v, want %q", c, tt.connected)
			}
			moved := got.LastHeartbeat != nil && (tt.prev.LastHeartbeat == nil || !got.LastHeartbeat.Equal(*tt.prev.LastHeartbeat))
			if moved != tt.beatMoved {
				t.Errorf("heartbeat moved %v, want %v", moved, tt.beatMoved)
			}
			if len(got.Replicas) != len(tt.obs.replicas) && tt.phase != PhaseRunning {
				t.Errorf("replicas %v", got.Replicas)
			}
		})
	}
}

func TestClusterCondition(t *testing.T) {
	for phase, want := range map[string]string{PhaseRunning: "True", PhaseDisconnected: "False", PhasePending: "False", "": "False"} {
		if got, _, msg := clusterCondition("corp", phase); got != want || msg == "" {
			t.Errorf("phase %q: %s (%q), want %s", phase, got, msg, want)
		}
	}
}
