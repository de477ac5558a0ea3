package controller_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/controller"
)

// storedJSON is a resource as the emulator keeps it, body and write sequence, or "" when absent.
func (h *harness) storedJSON(t *testing.T, id string) string {
	t.Helper()
	for _, r := range h.env.Emulator.Engine().Snapshot().Resources {
		if strings.EqualFold(r.ID, id) {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	return ""
}

// TestNameConflictLeavesTheOwnersResource provisions a cluster whose VNet name (<cluster>-vnet)
// is taken by a VNet another cluster owns: the cluster shows ResourceNameConflict naming the
// VNet and its owner, never reaches Running, keeps retrying, writes nothing to the VNet nor
// records it; deleting the cluster deletes what strata made and leaves the VNet byte-identical.
func TestNameConflictLeavesTheOwnersResource(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	cl := h.cluster(t, "cluster-iaas-dynamic.yaml")
	rg, name := cl.Spec.Azure.ResourceGroup, cl.Key()

	vnets, err := armnetwork.NewVirtualNetworksClient(h.env.SubscriptionID, h.env.Cred, h.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	p, err := vnets.BeginCreateOrUpdate(ctx, rg, name+"-vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr(h.env.Location),
		Tags:     map[string]*string{v1alpha1.TagOwner: to.Ptr("another-clusters-uid"), "team": to.Ptr("network")},
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("172.16.0.0/16")}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	vnetID := *created.ID
	before := h.storedJSON(t, vnetID)

	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	conflict := func(c *v1alpha1.Cluster) *v1alpha1.Condition {
		i := slices.IndexFunc(c.Status.Conditions, func(c v1alpha1.Condition) bool { return c.Type == controller.ConditionResourceNameConflict })
		if i < 0 {
			return nil
		}
		return &c.Status.Conditions[i]
	}
	cl = h.waitFor(t, name, "in conflict", 60*time.Second, func(c *v1alpha1.Cluster) bool { return conflict(c) != nil })
	cond := conflict(cl)
	if cond.Status != "True" || cond.Reason != controller.ReasonResourceNameConflict ||
		!strings.Contains(cond.Message, vnetID) || !strings.Contains(cond.Message, `"another-clusters-uid"`) {
		t.Errorf("condition %+v, want True, reason %s, naming %s and its owner tag", cond, controller.ReasonResourceNameConflict, vnetID)
	}
	if cl.Status.Phase != controller.PhaseFailed {
		t.Errorf("phase %s, want %s", cl.Status.Phase, controller.PhaseFailed)
	}
	for _, it := range cl.Status.Inventory {
		if strings.EqualFold(it.ID, vnetID) {
			t.Errorf("the conflicting VNet is in the inventory: %+v", it)
		}
	}

	// The controller keeps retrying (with backoff) and never gets further.
	_, reads := h.env.Requests(t, http.MethodGet, "Microsoft.Network/virtualNetworks")
	h.waitFor(t, name, "retried", 30*time.Second, func(*v1alpha1.Cluster) bool {
		_, n := h.env.Requests(t, http.MethodGet, "Microsoft.Network/virtualNetworks")
		return n > reads
	})
	cl = h.get(t, name)
	if cl.Status.Phase == controller.PhaseRunning || conflict(cl) == nil {
		t.Errorf("after a retry: phase %s, conditions %+v", cl.Status.Phase, cl.Status.Conditions)
	}
	evs, err := h.st.ListEvents(ctx, v1alpha1.KindCluster, name, cl.Metadata.UID)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, ev := range evs {
		if ev.Reason == "Failed" {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d Failed events, want 1 (retries repeat no event)", failed)
	}
	if got := h.storedJSON(t, vnetID); got != before {
		t.Fatalf("the VNet changed while in conflict:\nbefore %s\nafter  %s", before, got)
	}

	h.requestDelete(t, name)
	h.waitGone(t, name)
	if got := h.storedJSON(t, vnetID); got != before {
		t.Errorf("the VNet changed with the cluster's deletion:\nbefore %s\nafter  %s", before, got)
	}
	res := h.resources()
	for _, typ := range strataTypes {
		for _, r := range inGroup(res[typ], rg) {
			if !strings.EqualFold(r.ID, vnetID) {
				t.Errorf("left behind: %s", r.ID)
			}
		}
	}
}

// TestNameConflictClearsWhenTheResourceGoes provisions a cluster whose NSG name is taken by one
// made by hand (no owner tag): the cluster is in conflict until the NSG's owner deletes it, then
// goes on by itself to Running, and the condition is gone.
func TestNameConflictClearsWhenTheResourceGoes(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	cl := h.cluster(t, "cluster-iaas-dynamic.yaml")
	rg, name := cl.Spec.Azure.ResourceGroup, cl.Key()
	nsgs, err := armnetwork.NewSecurityGroupsClient(h.env.SubscriptionID, h.env.Cred, h.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	poll := &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}
	p, err := nsgs.BeginCreateOrUpdate(ctx, rg, name+"-node-nsg", armnetwork.SecurityGroup{Location: to.Ptr(h.env.Location)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := p.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	inConflict := func(c *v1alpha1.Cluster) bool {
		return slices.ContainsFunc(c.Status.Conditions, func(c v1alpha1.Condition) bool {
			return c.Type == controller.ConditionResourceNameConflict && c.Status == "True" && strings.Contains(c.Message, "no "+v1alpha1.TagOwner+" tag")
		})
	}
	h.waitFor(t, name, "in conflict", 60*time.Second, inConflict)
	if got := h.storedJSON(t, *created.ID); got == "" {
		t.Fatal("the NSG is gone")
	}

	dp, err := nsgs.BeginDelete(ctx, rg, name+"-node-nsg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	cl = h.waitRunning(t, name)
	if slices.ContainsFunc(cl.Status.Conditions, func(c v1alpha1.Condition) bool { return c.Type == controller.ConditionResourceNameConflict }) {
		t.Errorf("conditions %+v still hold ResourceNameConflict", cl.Status.Conditions)
	}
}
