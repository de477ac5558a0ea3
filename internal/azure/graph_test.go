package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
	"github.com/strata-dev/strata/internal/plan"
)

func TestQuotaOf(t *testing.T) {
	tests := []struct {
		remaining, resets string
		want              graphQuota
	}{
		{"", "", graphQuota{}},
		{"x", "00:00:03", graphQuota{}},
		{"4", "00:00:03", graphQuota{known: true, remaining: 4, resetsAfter: 3 * time.Second}},
		{"0", "01:02:03", graphQuota{known: true, remaining: 0, resetsAfter: time.Hour + 2*time.Minute + 3*time.Second}},
		{"0", "3s", graphQuota{known: true}},
		{"0", "00:-1:00", graphQuota{known: true}},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.remaining != "" {
			h.Set("x-ms-user-quota-remaining", tt.remaining)
		}
		h.Set("x-ms-user-quota-resets-after", tt.resets)
		if got := quotaOf(&http.Response{Header: h}); got != tt.want {
			t.Errorf("quotaOf(%q, %q) = %+v, want %+v", tt.remaining, tt.resets, got, tt.want)
		}
	}
	if got := quotaOf(nil); got.known {
		t.Errorf("quotaOf(nil) = %+v", got)
	}
}

func TestRetryAfterRefusal(t *testing.T) {
	const maxAge = 5 * time.Minute
	tests := []struct {
		name string
		err  error
		q    graphQuota
		want time.Duration
	}{
		{"429 waits for the quota", &azcore.ResponseError{StatusCode: 429}, graphQuota{known: true, resetsAfter: 4 * time.Second}, 4 * time.Second},
		{"429 without headers waits a second", &azcore.ResponseError{StatusCode: 429}, graphQuota{}, time.Second},
		{"403 waits a snapshot's life", &azcore.ResponseError{StatusCode: 403}, graphQuota{known: true, resetsAfter: time.Second}, maxAge},
		{"no answer waits a snapshot's life", errors.New("dial tcp: refused"), graphQuota{}, maxAge},
	}
	for _, tt := range tests {
		if got := retryAfterRefusal(tt.err, tt.q, maxAge); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestUsesWrite(t *testing.T) {
	taken := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		wrote time.Time
		want  bool
	}{
		{taken.Add(-2 * time.Minute), false}, // long before: the snapshot shows it
		{taken.Add(-30 * time.Second), true}, // within Recent before it
		{taken.Add(3 * time.Minute), true},   // after it
		{taken.Add(-time.Minute - 1), false}, // just out of Recent
		{taken.Add(-time.Minute + time.Nanosecond), true},
	}
	for _, tt := range tests {
		if got := usesWrite(taken, tt.wrote, time.Minute); got != tt.want {
			t.Errorf("usesWrite(wrote %s) = %v, want %v", tt.wrote.Sub(taken), got, tt.want)
		}
	}
}

func TestAsGET(t *testing.T) {
	vm := map[string]any{
		"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", "type": "microsoft.compute/virtualmachines",
		"tenantId": "t", "resourceGroup": "rg", "subscriptionId": "s", "managedBy": "", "plan": nil, "extendedLocation": nil,
		"properties": map[string]any{
			"hardwareProfile": map[string]any{"vmSize": "Standard_D4s_v5"},
			"instanceView":    map[string]any{"statuses": []any{map[string]any{"code": "PowerState/running"}}},
			"extended":        map[string]any{"instanceView": map[string]any{"powerState": map[string]any{"code": "PowerState/deallocated"}}},
		},
	}
	got := asGET(vm)
	for _, col := range []string{"tenantId", "resourceGroup", "subscriptionId", "managedBy", "plan", "extendedLocation"} {
		if _, ok := got[col]; ok {
			t.Errorf("column %s kept", col)
		}
	}
	props := got["properties"].(map[string]any)
	if _, ok := props["extended"]; ok {
		t.Error("properties.extended kept")
	}
	// The power state comes from extended (Resource Graph's), not from an instance view.
	st := props["instanceView"].(map[string]any)["statuses"].([]any)
	if len(st) != 1 || st[0].(map[string]any)["code"] != "PowerState/deallocated" {
		t.Errorf("statuses %v", st)
	}
	noState := asGET(map[string]any{"type": "microsoft.compute/virtualmachines", "properties": map[string]any{
		"instanceView": map[string]any{"statuses": []any{}}}})
	if _, ok := noState["properties"].(map[string]any)["instanceView"]; ok {
		t.Error("a VM row without a power state kept an instance view")
	}
	vnet := asGET(map[string]any{"type": "microsoft.network/virtualnetworks", "properties": map[string]any{"extended": 1}})
	if _, ok := vnet["properties"].(map[string]any)["extended"]; !ok {
		t.Error("a VNet's properties were changed")
	}
}

func TestInlineChildren(t *testing.T) {
	const vnet = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
	row := map[string]any{"id": vnet, "type": "microsoft.network/virtualnetworks", "properties": map[string]any{"subnets": []any{
		map[string]any{"id": vnet + "/subnets/a", "name": "a", "etag": "e1", "properties": map[string]any{"addressPrefix": "10.0.0.0/24"}},
		map[string]any{"name": "no-id", "properties": map[string]any{}},
		map[string]any{"id": vnet + "/subnets/no-props", "name": "no-props"},
	}}}
	got := inlineChildren(row)
	if len(got) != 1 {
		t.Fatalf("children %v, want subnet a only", got)
	}
	a := got[vnet+"/subnets/a"]
	if a["name"] != "a" || a["etag"] != "e1" || a["type"] != "Microsoft.Network/virtualNetworks/subnets" ||
		a["properties"].(map[string]any)["addressPrefix"] != "10.0.0.0/24" {
		t.Errorf("subnet a as %v", a)
	}
	if got := inlineChildren(map[string]any{"type": "microsoft.network/networkinterfaces", "properties": row["properties"]}); len(got) != 0 {
		t.Errorf("a NIC's children %v", got)
	}
}

// graphClients are clients whose Resource Graph snapshots last maxAge and distrust a write
// for recent.
func graphClients(t *testing.T, env *emulatortest.Env, maxAge, recent time.Duration) *Clients {
	t.Helper()
	c, err := NewClients(context.Background(), env.CloudAccount(t, "emulator"), env.SubscriptionID,
		Options{PollFrequency: 20 * time.Millisecond, Writes: 1000, Reads: 1000,
			ResourceGraph: GraphOptions{MaxAge: maxAge, Recent: recent}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gets counts the GETs of a resource type a Clients sent.
func gets(c *Clients, typ string) int {
	n := 0
	for k, v := range c.Requests() {
		if m, ty, _ := strings.Cut(k, " "); m == "GET" && strings.EqualFold(ty, typ) {
			n += v
		}
	}
	return n
}

// applyIdle applies every node of g again and checks nothing was written; it returns the
// observations by key.
func applyIdle(t *testing.T, c *Clients, g *plan.Graph, inv Inventory) map[string]*Observation {
	t.Helper()
	ctx := testCtx(t)
	out := map[string]*Observation{}
	for _, n := range g.Nodes {
		r, err := c.Applier().Apply(ctx, n, inv)
		if err != nil {
			t.Fatalf("apply %s: %v", n.Key, err)
		}
		if r.Wrote {
			t.Errorf("%s: written at an idle pass", n.Key)
		}
		out[n.Key] = r.Observed
	}
	return out
}

// TestDriftFromResourceGraph checks drift detection by Resource Graph on a whole IaaS
// cluster: an idle pass reads the resources the Resources table holds from one query and GETs
// only the others; a VM changed behind strata's back is found once Resource Graph shows the
// change, and repaired; a stale row (Resource Graph lagging strata's repair) never causes a
// write.
func TestDriftFromResourceGraph(t *testing.T) {
	const lag = 400 * time.Millisecond
	env := emulatortest.Start(t, func(o *emulator.Options) { o.ResourceGraph.Lag = lag })
	rg := "rg-graph"
	env.ResourceGroup(t, rg)
	first := graphClients(t, env, time.Hour, 200*time.Millisecond)
	g := exampleGraph(t, env, first, "cluster-iaas-dynamic.yaml", rg, "uid-graph")
	inv := &memInventory{owner: "uid-graph"}
	applyAll(t, first.Applier(), g, inv)
	time.Sleep(lag + 300*time.Millisecond)

	// An idle pass: one query, no GET of what the table holds, every VM running.
	idle := graphClients(t, env, time.Hour, 200*time.Millisecond)
	observed := applyIdle(t, idle, g, inv)
	if q := idle.ResourceGraphQueries(); q != 1 {
		t.Errorf("%d Resource Graph queries, want 1", q)
	}
	inTable := []string{"Microsoft.Network/virtualNetworks", "Microsoft.Network/networkSecurityGroups", "Microsoft.Network/networkInterfaces",
		"Microsoft.Network/loadBalancers", "Microsoft.Network/publicIPAddresses", "Microsoft.Compute/virtualMachines", "Microsoft.Storage/storageAccounts"}
	for _, typ := range inTable {
		if n := gets(idle, typ); n != 0 {
			t.Errorf("%d GETs of %s at an idle pass, want 0 (Resource Graph has them)", n, typ)
		}
	}
	if n := gets(idle, "Microsoft.Network/virtualNetworks/subnets"); n != 0 {
		t.Errorf("%d GETs of subnets at an idle pass, want 0 (their VNet's row has them)", n)
	}
	if n := gets(idle, "Microsoft.Storage/storageAccounts/blobServices/containers"); n == 0 {
		t.Error("no GET of the blob container, which Resource Graph does not hold")
	}
	vm := nodeOfKind(t, g, plan.KindVirtualMachine)
	if ob := observed[vm.Key]; ob == nil || !ob.Running || !ob.UpToDate {
		t.Errorf("VM observed %+v, want running and up to date", ob)
	}

	// A pass with something under way reads the VM anew.
	if r, err := idle.Applier().Apply(FreshReads(testCtx(t)), vm, inv); err != nil || r.Wrote {
		t.Fatalf("fresh reads: wrote %v, %v", r.Wrote, err)
	}
	if n := gets(idle, "Microsoft.Compute/virtualMachines"); n != 1 {
		t.Errorf("fresh reads: %d GETs of the VM, want 1", n)
	}

	// A kind decoded only as JSON from its row (no describe): a security rule opened by hand
	// is found from the row and repaired with one write.
	nsg := nodeOfKind(t, g, plan.KindNetworkSecurityGroup)
	openRuleByHand(t, first, arm.ParseID(nsg.ID))
	time.Sleep(lag + 300*time.Millisecond)
	rule := graphClients(t, env, time.Hour, 200*time.Millisecond)
	if r, err := rule.Applier().Apply(testCtx(t), nsg, inv); err != nil || !r.Wrote {
		t.Fatalf("rule opened by hand: wrote %v, %v; want a repair", r.Wrote, err)
	}
	if n := gets(rule, "Microsoft.Network/networkSecurityGroups"); n != 1 {
		t.Errorf("rule opened by hand: %d GETs of the NSG, want 1", n)
	}

	// A VM changed behind strata's back: found once Resource Graph shows it, repaired with
	// one write. A tag added leaves the VM in the query's answer (its row differs); all tags
	// replaced takes it out (no owner tag): both are read with one GET and repaired.
	id := arm.ParseID(vm.ID)
	vms := first.Compute.NewVirtualMachinesClient()
	ctx := testCtx(t)
	var pass *Clients
	for _, change := range []struct {
		name string
		tags func(live map[string]*string) map[string]*string
	}{
		{"tag added", func(live map[string]*string) map[string]*string { live["by-hand"] = to.Ptr("yes"); return live }},
		{"tags replaced", func(map[string]*string) map[string]*string { return map[string]*string{"by-hand": to.Ptr("yes")} }},
	} {
		live, err := vms.Get(ctx, id.ResourceGroup, id.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := vms.BeginUpdate(ctx, id.ResourceGroup, id.Name, armcompute.VirtualMachineUpdate{Tags: change.tags(live.Tags)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(lag + 300*time.Millisecond)
		pass = graphClients(t, env, time.Hour, 200*time.Millisecond)
		r, err := pass.Applier().Apply(ctx, vm, inv)
		if err != nil || !r.Wrote {
			t.Fatalf("%s: wrote %v, %v; want a repair", change.name, r.Wrote, err)
		}
		if n := gets(pass, "Microsoft.Compute/virtualMachines"); n != 1 {
			t.Errorf("%s: %d GETs of the VM, want 1", change.name, n)
		}
		if q := pass.ResourceGraphQueries(); q != 1 {
			t.Errorf("%s: %d Resource Graph queries, want 1", change.name, q)
		}
	}

	// Right after the repair Resource Graph still shows the VM as changed by hand: a new
	// pass does not trust that row, reads the VM and writes nothing.
	stale := graphClients(t, env, time.Hour, 200*time.Millisecond)
	if r, err := stale.Applier().Apply(ctx, vm, inv); err != nil || r.Wrote {
		t.Fatalf("stale row: wrote %v, %v; want nothing written", r.Wrote, err)
	}
	if n := gets(stale, "Microsoft.Compute/virtualMachines"); n != 1 {
		t.Errorf("stale row: %d GETs of the VM, want 1", n)
	}
	// The same pass's clients, which made the repair, read it directly too (a write they
	// made is newer than any snapshot).
	if r, err := pass.Applier().Apply(ctx, vm, inv); err != nil || r.Wrote {
		t.Fatalf("after the repair: wrote %v, %v", r.Wrote, err)
	}
	if n := gets(pass, "Microsoft.Compute/virtualMachines"); n != 2 {
		t.Errorf("after the repair: %d GETs of the VM, want 2", n)
	}
}

// openRuleByHand changes the first security rule of an NSG to allow every port, as someone
// with access to the subscription might.
func openRuleByHand(t *testing.T, c *Clients, id arm.ID) {
	t.Helper()
	ctx := testCtx(t)
	nsg, err := c.Network.NewSecurityGroupsClient().Get(ctx, id.ResourceGroup, id.Name, nil)
	if err != nil || len(nsg.Properties.SecurityRules) == 0 {
		t.Fatalf("NSG %s: %v, want its rules", id.Name, err)
	}
	r := nsg.Properties.SecurityRules[0]
	r.Properties.DestinationPortRange, r.Properties.DestinationPortRanges = to.Ptr("*"), nil
	p, err := c.Network.NewSecurityRulesClient().BeginCreateOrUpdate(ctx, id.ResourceGroup, id.Name, *r.Name, *r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

// nodeOfKind returns g's first node of kind k.
func nodeOfKind(t *testing.T, g *plan.Graph, k plan.Kind) *plan.Node {
	t.Helper()
	for _, n := range g.Nodes {
		if n.Kind == k {
			return n
		}
	}
	t.Fatalf("no %s node", k)
	return nil
}

// TestResourceGraphRefused checks the fall back to GETs: a cloud whose Resource Graph refuses
// is asked once per snapshot life, and every check is a GET meanwhile.
func TestResourceGraphRefused(t *testing.T) {
	env := emulatortest.Start(t, func(o *emulator.Options) {
		o.ResourceGraph.Lag = -1
		o.Faults = []arm.FaultRule{{Method: "POST", Type: "Microsoft.ResourceGraph/resources", Status: 404, Code: "NoRegisteredProviderFound", Rate: 1}}
	})
	rg := "rg-refused"
	env.ResourceGroup(t, rg)
	c := graphClients(t, env, time.Hour, time.Millisecond)
	g := exampleGraph(t, env, c, "cluster-iaas-dynamic.yaml", rg, "uid-refused")
	inv := &memInventory{owner: "uid-refused"}
	applyAll(t, c.Applier(), g, inv)
	time.Sleep(10 * time.Millisecond)
	idle := graphClients(t, env, time.Hour, time.Millisecond)
	applyIdle(t, idle, g, inv)
	applyIdle(t, idle, g, inv)
	if q := idle.ResourceGraphQueries(); q != 1 {
		t.Errorf("%d Resource Graph queries, want 1 (refused: not asked again within the snapshot's life)", q)
	}
	if n := gets(idle, "Microsoft.Compute/virtualMachines"); n != 4 {
		t.Errorf("%d GETs of the two VMs in two passes, want 4", n)
	}
}

// provisionedCluster starts an emulator with opts, provisions the example IaaS cluster (one
// machine per pool) in resource group rg for owner uid, and returns the emulator and its plan.
func provisionedCluster(t *testing.T, opts func(*emulator.Options), rg, uid string) (*emulatortest.Env, *plan.Graph) {
	t.Helper()
	env := emulatortest.Start(t, opts)
	env.ResourceGroup(t, rg)
	c := graphClients(t, env, time.Hour, time.Millisecond)
	g := exampleGraph(t, env, c, "cluster-iaas-dynamic.yaml", rg, uid)
	applyAll(t, c.Applier(), g, &memInventory{owner: uid})
	return env, g
}

// TestGraphSnapshotShared checks that the passes that need a snapshot at once share one
// query, and that a snapshot of several pages follows the quota: with one query left it waits
// for the reset before the next page.
func TestGraphSnapshotShared(t *testing.T) {
	env, g := provisionedCluster(t, func(o *emulator.Options) {
		o.ResourceGraph = resourcegraph.Options{Lag: -1, Quota: 2, Window: 700 * time.Millisecond}
	}, "rg-pages", "uid-pages")

	idle := graphClients(t, env, time.Hour, time.Millisecond)
	idle.graph.pageSize = 6 // the cluster's 15 resources in the table: three pages, one over the quota
	var ids []string
	for _, n := range g.Nodes {
		if n.Kind == plan.KindVirtualMachine || n.Kind == plan.KindNetworkInterface || n.Kind == plan.KindOSDisk {
			ids = append(ids, n.ID)
		}
	}
	start := time.Now()
	found := make(chan bool, len(ids))
	for _, id := range ids {
		go func() { found <- idle.graph.row(testCtx(t), id) != nil }()
	}
	for range ids {
		if !<-found {
			t.Error("a resource of the cluster is not in the snapshot")
		}
	}
	if q := idle.ResourceGraphQueries(); q != 3 {
		t.Errorf("%d Resource Graph requests, want 3 (one snapshot of three pages for %d passes)", q, len(ids))
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("the snapshot took %s: it did not wait for the quota to reset before its third page", took)
	}
}

// TestGraphThrottled checks that a 429 makes the checks fall back to GETs until the quota
// resets, and that Resource Graph is asked again after it.
func TestGraphThrottled(t *testing.T) {
	env, g := provisionedCluster(t, func(o *emulator.Options) {
		o.ResourceGraph = resourcegraph.Options{Lag: -1, Quota: 1, Window: time.Second}
	}, "rg-throttled", "uid-throttled")
	vm := nodeOfKind(t, g, plan.KindVirtualMachine)

	// Another tool of the same principal spends the quota.
	other := graphClients(t, env, time.Hour, time.Millisecond)
	if other.graph.row(testCtx(t), vm.ID) == nil {
		t.Fatal("the first snapshot does not hold the VM")
	}
	throttled := graphClients(t, env, 0, time.Millisecond)
	throttled.graph.opts.MaxAge = time.Millisecond // a new snapshot at every check
	if throttled.graph.row(testCtx(t), vm.ID) != nil {
		t.Fatal("a throttled query gave a row")
	}
	if throttled.graph.row(testCtx(t), vm.ID) != nil || throttled.ResourceGraphQueries() != 1 {
		t.Fatalf("asked %d times within the quota's window, want once", throttled.ResourceGraphQueries())
	}
	deadline := time.Now().Add(5 * time.Second)
	for throttled.graph.row(testCtx(t), vm.ID) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Resource Graph was not asked again once the quota reset")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGraphForgetsOldWrites checks that the record of writes does not grow without end: a
// write older than any snapshot could be is forgotten, a recent one kept.
func TestGraphForgetsOldWrites(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	g := newGraph(&armresourcegraph.Client{}, "sub", GraphOptions{MaxAge: time.Minute, Recent: time.Minute}, nil)
	g.now = func() time.Time { return now }
	for i := range 200 {
		g.wrote(fmt.Sprintf("/old/%d", i))
	}
	now = now.Add(3 * time.Minute) // past MaxAge + Recent
	for i := range 56 {
		g.wrote(fmt.Sprintf("/new/%d", i)) // the 256th write forgets the old ones
	}
	if len(g.written) != 56 {
		t.Errorf("%d writes remembered, want the 56 recent ones", len(g.written))
	}
	if _, ok := g.written["/new/0"]; !ok {
		t.Error("a recent write was forgotten")
	}
}

// TestGraphRefreshesInBackground checks that a snapshot past half its life is still used
// while the next one is taken in the background, and replaced once that one is in.
func TestGraphRefreshesInBackground(t *testing.T) {
	env, g := provisionedCluster(t, func(o *emulator.Options) { o.ResourceGraph.Lag = -1 }, "rg-refresh", "uid-refresh")
	vm := nodeOfKind(t, g, plan.KindVirtualMachine)

	idle := graphClients(t, env, time.Hour, time.Millisecond)
	ctx := testCtx(t)
	if idle.graph.row(ctx, vm.ID) == nil {
		t.Fatal("the VM is not in the first snapshot")
	}
	first := idle.graph.snap
	now := time.Now().Add(40 * time.Minute) // past half the hour
	idle.graph.mu.Lock()
	idle.graph.now = func() time.Time { return now }
	idle.graph.mu.Unlock()
	if idle.graph.row(ctx, vm.ID) == nil {
		t.Fatal("the VM is not in the snapshot past half its life")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		idle.graph.mu.Lock()
		snap, loading := idle.graph.snap, idle.graph.loading
		idle.graph.mu.Unlock()
		if snap != first && loading == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new snapshot was taken in the background")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if q := idle.ResourceGraphQueries(); q != 2 {
		t.Errorf("%d Resource Graph queries, want 2", q)
	}
}
