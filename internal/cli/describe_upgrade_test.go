package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestDescribeClusterUpgrade checks that describe shows a rolling replacement of a cluster's
// machines under way in a section of its own, escaped, and not again in the status; and no
// section without one.
func TestDescribeClusterUpgrade(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		upgrade *v1alpha1.UpgradeStatus
		want    string // "" for no section
	}{
		{"none", nil, ""},
		{"draining", &v1alpha1.UpgradeStatus{From: "kubernetes 1.30.4", To: "kubernetes 1.31.2", Template: "9f2c", Done: 2, Total: 6,
			Current: "draining workers-1", Removing: []string{"workers-1", "workers-2"}},
			"Status:\n  phase: Updating\n  observedGeneration: 0\n  machineTemplate: 4ab1\n" +
				"Upgrade:  kubernetes 1.30.4 -> kubernetes 1.31.2, 2/6 machines replaced\n" +
				"  Current:          draining workers-1\n" +
				"  Removing First:   workers-1, workers-2\n" +
				"Conditions:  <none>\n"},
		{"started", &v1alpha1.UpgradeStatus{From: "kubernetes 1.30.4, os ubuntu 22.04", To: "kubernetes 1.30.4, os ubuntu\n\x1b[2J24.04", Total: 4},
			"  machineTemplate: 4ab1\n" +
				"Upgrade:  kubernetes 1.30.4, os ubuntu 22.04 -> kubernetes 1.30.4, os ubuntu \\x1b[2J24.04, 0/4 machines replaced\n" +
				"Conditions:  <none>\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := testObjects(t, readExample(t, "cluster-iaas-static.yaml"), now.Add(-10*time.Minute))
			c := objs[0].(*v1alpha1.Cluster)
			c.Status.Phase = "Updating"
			c.Status.MachineTemplate = "4ab1"
			c.Status.Upgrade = tc.upgrade
			var b bytes.Buffer
			if err := describe(&b, c, nil, nil, now); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if tc.want == "" {
				if strings.Contains(out, "Upgrade:") || strings.Contains(out, "upgrade") {
					t.Errorf("describe of a cluster without an upgrade shows one:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("describe lacks\n%s\ngot:\n%s", tc.want, out)
			}
			if strings.Contains(out, "upgrade:") || strings.Contains(out, "removing:") || strings.Contains(out, "\x1b") {
				t.Errorf("describe shows the upgrade twice or an escape sequence:\n%s", out)
			}
		})
	}
}

// TestDescribeClusterAutoscaling checks that describe shows the autoscaler's counts in a
// section of their own, with the pool's bounds and what it does, and not again in the status.
func TestDescribeClusterAutoscaling(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	since := now.Add(-90 * time.Second)
	tests := []struct {
		name  string
		scale []v1alpha1.PoolScale
		want  string // "" for no section
	}{
		{"none", nil, ""},
		{"scaled up", []v1alpha1.PoolScale{{Pool: "workers", Count: 4, SpecCount: 2, Reason: "scaled up for unschedulable pods"}},
			"Autoscaling:\n  workers:   4 machine(s) (min 1, max 5), scaled up for unschedulable pods\n"},
		{"unneeded", []v1alpha1.PoolScale{{Pool: "workers", Count: 3, UnneededSince: &since}},
			"  workers:   3 machine(s) (min 1, max 5), last node unneeded for 90s\n"},
		{"draining", []v1alpha1.PoolScale{{Pool: "workers", Count: 3, Draining: "c-workers-2\x1b[2J"}},
			"  workers:   3 machine(s) (min 1, max 5), draining c-workers-2\\x1b[2J\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := testObjects(t, readExample(t, "cluster-iaas-static.yaml"), now.Add(-10*time.Minute))
			c := objs[0].(*v1alpha1.Cluster)
			for i := range c.Spec.MachinePools {
				if !c.Spec.MachinePools[i].ControlPlane {
					c.Spec.MachinePools[i].Count, c.Spec.MachinePools[i].Min, c.Spec.MachinePools[i].Max = 2, new(1), new(5)
				}
			}
			c.Status.Scale = tc.scale
			var b bytes.Buffer
			if err := describe(&b, c, nil, nil, now); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if tc.want == "" {
				if strings.Contains(out, "Autoscaling:") {
					t.Errorf("describe of a cluster without autoscaling shows it:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("describe lacks\n%s\ngot:\n%s", tc.want, out)
			}
			if strings.Contains(out, "scale:") || strings.Contains(out, "specCount") {
				t.Errorf("describe shows the scale twice:\n%s", out)
			}
		})
	}
}
