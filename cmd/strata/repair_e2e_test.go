package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestNodeRepair runs a 1+3 IaaS cluster whose workers' repairAfter is 15s with real
// Kubernetes in the emulator, and checks that: a worker VM stopped in Azure (its Node
// NotReady) is replaced by a new machine once repairAfter has passed, the old one deleted; a
// worker VM deleted by hand comes back; and two of the three workers stopped together are
// not replaced, with a RepairHeld event and condition saying why.
func TestNodeRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = "fast" }, emulatortest.Kubernetes(t))
	env.ResourceGroup(t, "repair-rg")
	cluster := strings.Replace(iaasClusterYAML(t, "rep", env.SubscriptionID, "repair-rg", 1, 3),
		"      count: 3\n", "      count: 3\n      repairAfter: 15s\n", 1)
	dir := writeManifests(t, env, map[string]string{"rep": cluster})
	srv := newRestartableServer(t, "server", []string{"--data-dir", t.TempDir(), "--check-kubernetes=true", "--resync", "3s"}, nil)
	if r := strata(t, srv.URL, "", "apply", "-f", dir); r.Code != 0 {
		t.Fatalf("apply: %s", r)
	}
	waitRunning(t, srv.URL, []string{"rep"}, 5*time.Minute, srv.logs)
	kc := kubeClient(t, srv.URL, "rep")
	vms, err := armcompute.NewVirtualMachinesClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a stopped VM is replaced after repairAfter", func(t *testing.T) {
		powerOff(t, vms, "rep-workers-1")
		waitNodes(t, kc, 3*time.Minute, "rep-workers-0", "rep-workers-1-g1", "rep-workers-2")
		if !hasEvent(strata(t, srv.URL, "", "describe", "cluster", "rep").Stdout, "Warning", "RepairStarted") {
			t.Error("no RepairStarted event")
		}
		if vmExists(t, vms, "rep-workers-1") {
			t.Error("the stopped VM rep-workers-1 was not deleted")
		}
	})
	t.Run("a VM deleted by hand comes back", func(t *testing.T) {
		poller, err := vms.BeginDelete(context.Background(), "repair-rg", "rep-workers-0", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := poller.PollUntilDone(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "node rep-workers-0 NotReady or gone", func() error {
			n, err := kc.CoreV1().Nodes().Get(context.Background(), "rep-workers-0", metav1.GetOptions{})
			if err == nil && ready(*n) {
				return fmt.Errorf("still Ready")
			}
			return nil
		})
		eventually(t, 3*time.Minute, "VM rep-workers-0 made again", func() error {
			vm, err := vms.Get(context.Background(), "repair-rg", "rep-workers-0", nil)
			if err != nil {
				return err
			}
			if st := vm.Properties.ProvisioningState; st == nil || *st != "Succeeded" {
				return fmt.Errorf("provisioning state %v", st)
			}
			return nil
		})
		waitNodes(t, kc, 3*time.Minute, "rep-workers-0", "rep-workers-1-g1", "rep-workers-2")
	})
	t.Run("two of three NotReady together are not replaced", func(t *testing.T) {
		powerOff(t, vms, "rep-workers-0")
		powerOff(t, vms, "rep-workers-2")
		eventually(t, 2*time.Minute, "a RepairHeld condition", func() error {
			c := clusterPhases(srv.URL)["rep"]
			cond := v1alpha1.FindCondition(&c.Status.Status, "MachinesHealthy")
			if cond == nil || cond.Reason != "RepairHeld" {
				return fmt.Errorf("MachinesHealthy %+v", cond)
			}
			if !strings.Contains(cond.Message, "2 of 3 nodes NotReady") || !strings.Contains(cond.Message, "outage") {
				t.Errorf("RepairHeld says %q", cond.Message)
			}
			return nil
		})
		time.Sleep(20 * time.Second) // past repairAfter
		c := clusterPhases(srv.URL)["rep"]
		if len(c.Status.Repairing) > 0 {
			t.Errorf("repairs started while two of three workers are NotReady: %v", c.Status.Repairing)
		}
		for _, name := range []string{"rep-workers-0", "rep-workers-2"} {
			if !vmExists(t, vms, name) {
				t.Errorf("%s was replaced", name)
			}
		}
		if !hasEvent(strata(t, srv.URL, "", "describe", "cluster", "rep").Stdout, "Warning", "RepairHeld") {
			t.Error("no RepairHeld event")
		}
	})
}

// powerOff stops a VM of repair-rg in Azure.
func powerOff(t *testing.T, vms *armcompute.VirtualMachinesClient, name string) {
	t.Helper()
	poller, err := vms.BeginPowerOff(context.Background(), "repair-rg", name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// vmExists reports whether a VM of repair-rg exists in Azure.
func vmExists(t *testing.T, vms *armcompute.VirtualMachinesClient, name string) bool {
	t.Helper()
	_, err := vms.Get(context.Background(), "repair-rg", name, nil)
	if err != nil && !strings.Contains(err.Error(), "NotFound") {
		t.Fatal(err)
	}
	return err == nil
}

// waitNodes waits until the workers are exactly the named nodes, all Ready.
func waitNodes(t *testing.T, kc kubernetes.Interface, limit time.Duration, want ...string) {
	t.Helper()
	eventually(t, limit, "workers "+strings.Join(want, ", ")+" Ready", func() error {
		nodes, err := kc.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		var got []string
		for _, n := range nodes.Items {
			if strings.Contains(n.Name, "-workers-") {
				if !ready(n) {
					return fmt.Errorf("node %s is not Ready", n.Name)
				}
				got = append(got, n.Name)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Errorf("workers %v", got)
		}
		return nil
	})
}
