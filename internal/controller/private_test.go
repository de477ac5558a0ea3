package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestPrivateAPIServer provisions an IaaS cluster whose API server is private: an internal
// load balancer with the static IP in the control-plane subnet, a private DNS zone with the
// API server's A record linked to the VNet, no public IP; the status's address is the private
// one; and deletion removes the record, the link and the zone with the rest.
func TestPrivateAPIServer(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	cl := h.cluster(t, "cluster-iaas-static.yaml")
	cl.Metadata.Name = "private"
	cl.Spec.Azure.Storage.Account = fmt.Sprintf("corpimg%d", time.Now().UnixNano()%1_000_000_000)
	cl.Spec.Azure.APIServerLB = &v1alpha1.APIServerLB{Type: "Internal", StaticIP: "10.10.0.10"}
	v1alpha1.Default(cl)
	h.userResources(t, cl)
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	cl = h.waitRunning(t, cl.Key())
	rg := cl.Spec.Azure.ResourceGroup
	res := h.resources()
	if got := inGroup(res[typePIP], rg); len(got) != 0 {
		t.Errorf("a private cluster has public IPs: %v", got)
	}
	lbs := inGroup(res[typeLB], rg)
	if len(lbs) != 1 {
		t.Fatalf("%d load balancers", len(lbs))
	}
	fe := list(path(lbs[0].Body, "properties"), "frontendIPConfigurations")
	if len(fe) != 1 || path(fe[0], "properties", "privateIPAddress") != "10.10.0.10" ||
		path(fe[0], "properties", "privateIPAllocationMethod") != "Static" || path(fe[0], "properties", "publicIPAddress") != nil {
		t.Errorf("frontend %v, want the static private IP 10.10.0.10 and no public IP", fe)
	}
	zones := inGroup(res["microsoft.network/privatednszones"], rg)
	links := inGroup(res["microsoft.network/privatednszones/virtualnetworklinks"], rg)
	records := inGroup(res["microsoft.network/privatednszones/a"], rg)
	if len(zones) != 1 || !strings.EqualFold(zones[0].ID[strings.LastIndex(zones[0].ID, "/")+1:], "private.strata.internal") {
		t.Errorf("zones %v, want private.strata.internal", zones)
	}
	if len(links) != 1 || len(records) != 1 {
		t.Errorf("%d links, %d records, want 1 each", len(links), len(records))
	} else if recs := list(path(records[0].Body, "properties"), "aRecords"); len(recs) != 1 || path(recs[0], "ipv4Address") != "10.10.0.10" {
		t.Errorf("A record %v, want 10.10.0.10", recs)
	}
	if cl.Status.ControlPlaneAddress != "10.10.0.10" || !strings.HasPrefix(cl.Status.ControlPlaneEndpoint, "apiserver.private.strata.internal") {
		t.Errorf("status address %q, endpoint %q", cl.Status.ControlPlaneAddress, cl.Status.ControlPlaneEndpoint)
	}

	h.requestDelete(t, cl.Key())
	h.waitGone(t, cl.Key())
	res = h.resources()
	for _, typ := range []string{typeLB, "microsoft.network/privatednszones", "microsoft.network/privatednszones/virtualnetworklinks", "microsoft.network/privatednszones/a"} {
		if left := inGroup(res[typ], rg); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	}
}
