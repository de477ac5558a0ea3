package upgradebench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/emulator/kube"
)

// TestUpgrade upgrades a 1+2 cluster at a tiny latency scale, without Kubernetes and (when
// `make k8s` built its binaries) with it, and checks that the upgrade ended with every machine
// of generation 1 and that the measured time is no less than a positive lower bound.
func TestUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("provisions and upgrades a cluster in an emulator")
	}
	for _, withKube := range []bool{false, true} {
		name := map[bool]string{false: "without-kubernetes", true: "with-kubernetes"}[withKube]
		t.Run(name, func(t *testing.T) {
			if withKube && kube.CheckBinaries(kube.DefaultBinDir()) != nil {
				t.Skip("no Kubernetes binaries: make k8s")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			res, err := Run(ctx, Options{ControlPlane: 1, Workers: 2, MaxSurge: 2, LatencyScale: 0.01,
				WithoutKubernetes: !withKube, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, res)
			if res.KubernetesReady != withKube {
				t.Errorf("condition KubernetesReady %t after the upgrade, want %t", res.KubernetesReady, withKube)
			}
		})
	}
}

func checkResult(t *testing.T, res *Result) {
	t.Helper()
	if res.Upgrade <= 0 || !strings.Contains(res.To, "kubernetes 1.31.1") || !strings.Contains(res.From, "kubernetes 1.30.4") {
		t.Errorf("upgrade of %s from %q to %q", res.Upgrade, res.From, res.To)
	}
	// The old image leaves the plan with the upgrade: deleted once every machine is replaced.
	if res.Events["UpgradeStarted"] != 1 || res.Events["MachineReplaced"] != 3 || res.Events["Upgraded"] != 1 || res.Events["ResourcesRemoved"] != 1 {
		t.Errorf("events %v, want UpgradeStarted 1, MachineReplaced 3, Upgraded 1, ResourcesRemoved 1", res.Events)
	}
	if len(res.VMs) != 3 {
		t.Errorf("VMs after the upgrade: %v, want 3", res.VMs)
	}
	for _, vm := range res.VMs {
		if !strings.HasSuffix(vm, "-g1") {
			t.Errorf("VM %s after the upgrade is not of generation 1", vm)
		}
	}
	if res.LowerBound <= 0 || res.Image <= 0 || res.ControlPlaneBound <= 0 || res.WorkersBound <= 0 {
		t.Errorf("lower bound %s (image %s, control plane %s, workers %s)", res.LowerBound, res.Image, res.ControlPlaneBound, res.WorkersBound)
	}
	if res.Ratio() < 1 {
		t.Errorf("upgrade %s below its lower bound %s", res.Upgrade, res.LowerBound)
	}
	if res.Waves != 1 || len(res.Slots) != 3 {
		t.Errorf("%d worker waves (want 1: 2 workers, maxSurge 2), slots %+v", res.Waves, res.Slots)
	}
	for _, s := range res.Slots {
		if s.Azure <= 0 || s.Start > s.Ready || s.Ready > s.Removed {
			t.Errorf("slot %+v: want 0 < Azure, started <= ready <= gone", s)
		}
	}
}
