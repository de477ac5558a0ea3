package controller_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// harness is an emulator, a SQLite store and a running controller.
type harness struct {
	env *emulatortest.Env
	st  store.Store
	// dbPath is the store's SQLite file.
	dbPath string

	mu      sync.Mutex
	clients []*azure.Clients
}

// start starts the emulator, opens a store, stores the emulator's account and the IaaS
// profile, and runs a controller until the test ends.
func start(t *testing.T, opts ...func(*emulator.Options)) *harness {
	t.Helper()
	h := newHarness(t, opts...)
	h.runController(t, "test")
	return h
}

// newHarness is start without a controller.
func newHarness(t *testing.T, opts ...func(*emulator.Options)) *harness {
	t.Helper()
	env := emulatortest.Start(t, opts...)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "strata.db")
	st, err := sqlite.Open(ctx, dbPath, sealer)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{env: env, st: st, dbPath: dbPath}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})

	acct := env.CloudAccount(t, "emulator")
	if err := st.Create(ctx, acct); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"profile-iaas.yaml", "profile-aks.yaml", "profile-proxy-demo.yaml"} {
		for _, o := range decodeExample(t, file) {
			if err := st.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}

	return h
}

// runController runs a controller with the holder until the test ends; opts change its
// configuration.
func (h *harness) runController(t *testing.T, holder string, opts ...func(*controller.Config)) (stop func()) {
	t.Helper()
	runCtx, cancel := context.WithCancel(context.Background())
	cfg := controller.Config{
		Store:        h.st,
		Holder:       holder,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError})),
		Resync:       500 * time.Millisecond,
		PollInterval: 50 * time.Millisecond,
		BackoffBase:  200 * time.Millisecond,
		BackoffMax:   2 * time.Second,
		LeaseTTL:     3 * time.Second,
		NewClients: func(ctx context.Context, acct *v1alpha1.CloudAccount, sub string) (controller.Clients, error) {
			cl, err := azure.NewClients(ctx, acct, sub, azure.Options{PollFrequency: 20 * time.Millisecond})
			if err != nil {
				return nil, err
			}
			h.mu.Lock()
			h.clients = append(h.clients, cl)
			h.mu.Unlock()
			return cl, nil
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	c := controller.New(cfg)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("controller: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// decodeExample decodes and defaults an embedded example file.
func decodeExample(t *testing.T, name string) []v1alpha1.Object {
	t.Helper()
	b, err := fs.ReadFile(examples.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := v1alpha1.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, o := range objs {
		v1alpha1.Default(o)
	}
	return objs
}

// cluster returns an example cluster pointed at the emulator, in a new resource group.
func (h *harness) cluster(t *testing.T, file string) *v1alpha1.Cluster {
	t.Helper()
	cl := decodeExample(t, file)[0].(*v1alpha1.Cluster)
	cl.Spec.CloudAccount = "emulator"
	cl.Spec.Azure.SubscriptionID = h.env.SubscriptionID
	cl.Spec.Azure.Location = h.env.Location
	h.env.ResourceGroup(t, cl.Spec.Azure.ResourceGroup)
	return cl
}

// get reads a cluster.
func (h *harness) get(t *testing.T, name string) *v1alpha1.Cluster {
	t.Helper()
	obj, err := h.st.Get(context.Background(), v1alpha1.KindCluster, name)
	if err != nil {
		t.Fatalf("get cluster %s: %v", name, err)
	}
	return obj.(*v1alpha1.Cluster)
}

// waitFor polls the cluster until cond holds.
func (h *harness) waitFor(t *testing.T, name, what string, timeout time.Duration, cond func(*v1alpha1.Cluster) bool) *v1alpha1.Cluster {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		cl := h.get(t, name)
		if cond(cl) {
			return cl
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s: not %s after %s; status: %+v", name, what, timeout, cl.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRunning waits for phase Running at the cluster's current generation.
func (h *harness) waitRunning(t *testing.T, name string) *v1alpha1.Cluster {
	t.Helper()
	return h.waitFor(t, name, "Running", 60*time.Second, func(cl *v1alpha1.Cluster) bool {
		return cl.Status.Phase == controller.PhaseRunning && cl.Status.ObservedGeneration == cl.Metadata.Generation
	})
}

// waitGone waits until the cluster object is deleted.
func (h *harness) waitGone(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := h.st.Get(context.Background(), v1alpha1.KindCluster, name)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s still stored after 60s: %v %+v", name, err, h.get(t, name).Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requestDelete marks the cluster deleted as the server's DELETE does.
func (h *harness) requestDelete(t *testing.T, name string) {
	t.Helper()
	for {
		cl := h.get(t, name)
		now := time.Now().UTC()
		cl.Metadata.DeletionTimestamp = &now
		err := h.st.Update(context.Background(), cl)
		if err == nil {
			return
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
	}
}

// writes is the number of ARM writes sent by every client so far.
func (h *harness) writes() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.clients {
		n += c.Writes()
	}
	return n
}

// resources returns the emulator's resources by lower-cased type.
func (h *harness) resources() map[string][]arm.StoredResource {
	out := map[string][]arm.StoredResource{}
	for _, r := range h.env.Emulator.Engine().Snapshot().Resources {
		out[strings.ToLower(r.Type)] = append(out[strings.ToLower(r.Type)], r)
	}
	return out
}

// groupExists reports whether the resource group rg exists.
func (h *harness) groupExists(rg string) bool {
	for _, r := range h.resources()["microsoft.resources/resourcegroups"] {
		if strings.HasSuffix(strings.ToLower(r.ID), "/resourcegroups/"+strings.ToLower(rg)) {
			return true
		}
	}
	return false
}

// inGroup keeps the resources whose ID is in the resource group.
func inGroup(rs []arm.StoredResource, rg string) []arm.StoredResource {
	var out []arm.StoredResource
	for _, r := range rs {
		if strings.Contains(strings.ToLower(r.ID), "/resourcegroups/"+strings.ToLower(rg)+"/providers/") {
			out = append(out, r)
		}
	}
	return out
}

// path reads a nested field of a JSON body.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// list reads a nested array of a JSON body.
func list(v any, keys ...string) []any {
	a, _ := path(v, keys...).([]any)
	return a
}

const (
	typeVNet      = "microsoft.network/virtualnetworks"
	typeSubnet    = "microsoft.network/virtualnetworks/subnets"
	typeNSG       = "microsoft.network/networksecuritygroups"
	typeNATGW     = "microsoft.network/natgateways"
	typePIP       = "microsoft.network/publicipaddresses"
	typeLB        = "microsoft.network/loadbalancers"
	typeNIC       = "microsoft.network/networkinterfaces"
	typeVM        = "microsoft.compute/virtualmachines"
	typeImage     = "microsoft.compute/images"
	typeStorage   = "microsoft.storage/storageaccounts"
	typeContainer = "microsoft.storage/storageaccounts/blobservices/containers"
	typeDisk      = "microsoft.compute/disks"
)

// strataTypes are the types strata creates.
var strataTypes = []string{typeVNet, typeSubnet, typeNSG, typeNATGW, typePIP, typeLB, typeNIC, typeVM, typeDisk, typeImage, typeStorage, typeContainer}

func TestDynamicPlacementLifecycle(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	cl := h.cluster(t, "cluster-iaas-dynamic.yaml")
	rg := cl.Spec.Azure.ResourceGroup
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	cl = h.waitRunning(t, cl.Key())

	// Status.
	if !slices.Contains(cl.Metadata.Finalizers, controller.Finalizer) {
		t.Errorf("finalizers %v lack %s", cl.Metadata.Finalizers, controller.Finalizer)
	}
	for _, typ := range []string{controller.ConditionAccountValid, controller.ConditionNetworkReady, controller.ConditionStorageReady, controller.ConditionControlPlaneReady, controller.ConditionNodePoolsReady, controller.ConditionReady} {
		var found bool
		for _, c := range cl.Status.Conditions {
			if c.Type == typ {
				found = true
				if c.Status != "True" {
					t.Errorf("condition %s = %s (%s: %s)", typ, c.Status, c.Reason, c.Message)
				}
			}
		}
		if !found {
			t.Errorf("no condition %s", typ)
		}
	}
	if p := cl.Status.Progress; p == nil || p.Done != p.Total || p.Total == 0 {
		t.Errorf("progress %+v", p)
	}
	if !strings.HasSuffix(cl.Status.ControlPlaneEndpoint, ":6443") {
		t.Errorf("controlPlaneEndpoint %q", cl.Status.ControlPlaneEndpoint)
	}
	for _, it := range cl.Status.Inventory {
		if !it.Ready || it.ID == "" || it.ResumeToken != "" {
			t.Errorf("inventory item %+v", it)
		}
	}

	// The resources of the seed's architecture.
	res := h.resources()
	count := func(typ string) int { return len(inGroup(res[typ], rg)) }
	want := map[string]int{typeVNet: 1, typeSubnet: 2, typeNSG: 2, typeNATGW: 1, typePIP: 2, typeLB: 1, typeNIC: 6, typeVM: 6, typeDisk: 6, typeImage: 1, typeStorage: 1, typeContainer: 1}
	for typ, n := range want {
		if got := count(typ); got != n {
			t.Errorf("%d resources of type %s, want %d", got, typ, n)
		}
	}
	for _, r := range inGroup(res[typeSubnet], rg) {
		if path(r.Body, "properties", "networkSecurityGroup", "id") == nil {
			t.Errorf("subnet %s has no NSG", r.ID)
		}
		if path(r.Body, "properties", "natGateway", "id") == nil {
			t.Errorf("subnet %s has no NAT gateway", r.ID)
		}
	}
	if a, b := path(inGroup(res[typeSubnet], rg)[0].Body, "properties", "networkSecurityGroup", "id"), path(inGroup(res[typeSubnet], rg)[1].Body, "properties", "networkSecurityGroup", "id"); fmt.Sprint(a) == fmt.Sprint(b) {
		t.Errorf("both subnets share NSG %v", a)
	}
	// The emulator keeps an NSG's rules as its securityRules child resources, as Azure does.
	var apiRule bool
	for _, r := range inGroup(res["microsoft.network/networksecuritygroups/securityrules"], rg) {
		if fmt.Sprint(path(r.Body, "properties", "destinationPortRange")) == "6443" && fmt.Sprint(path(r.Body, "properties", "access")) == "Allow" {
			apiRule = strings.Contains(r.ID, "controlplane") || strings.Contains(r.ID, "control-plane")
		} else {
			t.Errorf("unexpected NSG rule %s: %v", r.ID, r.Body)
		}
	}
	if !apiRule {
		t.Error("the control-plane NSG does not allow 6443")
	}
	var lbRule bool
	for _, r := range inGroup(res[typeLB], rg) {
		for _, rule := range list(r.Body, "properties", "loadBalancingRules") {
			if fmt.Sprint(path(rule, "properties", "frontendPort")) == "6443" {
				lbRule = true
			}
		}
	}
	if !lbRule {
		t.Error("no load balancer rule on 6443")
	}
	for _, r := range inGroup(res[typeNIC], rg) {
		for _, ipc := range list(r.Body, "properties", "ipConfigurations") {
			if path(ipc, "properties", "publicIPAddress") != nil {
				t.Errorf("NIC %s has a public IP", r.ID)
			}
		}
	}
	zones := map[string]bool{}
	for _, r := range inGroup(res[typeVM], rg) {
		for _, z := range list(r.Body, "zones") {
			zones[fmt.Sprint(z)] = true
		}
	}
	if len(zones) < 2 {
		t.Errorf("VMs in zones %v, want them spread", zones)
	}
	if len(inGroup(res[typeImage], rg)) == 1 {
		blob := fmt.Sprint(path(inGroup(res[typeImage], rg)[0].Body, "properties", "storageProfile", "osDisk", "blobUri"))
		if !strings.Contains(blob, ".vhd") {
			t.Errorf("image made from %q, want the copied VHD", blob)
		}
	}
	var copied bool
	for _, it := range cl.Status.Inventory {
		if it.Kind == "BlobCopy" && it.Ready {
			copied = true
		}
	}
	if !copied {
		t.Error("no copied VHD in the inventory")
	}
	h.checkTags(t, cl, res)

	// An idle resync sends no write.
	before, rv := h.writes(), h.get(t, cl.Key()).Metadata.ResourceVersion
	time.Sleep(1500 * time.Millisecond) // three resyncs
	if after := h.writes(); after != before {
		t.Errorf("idle resync sent %d write(s)", after-before)
	}
	if now := h.get(t, cl.Key()).Metadata.ResourceVersion; now != rv {
		t.Errorf("idle resync wrote the cluster: resourceVersion %s -> %s", rv, now)
	}

	// Drift: a deleted VM is created again.
	vms, err := armcompute.NewVirtualMachinesClient(h.env.SubscriptionID, h.env.Cred, h.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	vmName := "unknown"
	for _, it := range cl.Status.Inventory {
		if it.Kind == "VirtualMachine" {
			vmName = it.ID[strings.LastIndex(it.ID, "/")+1:]
			break
		}
	}
	poller, err := vms.BeginDelete(ctx, rg, vmName, nil)
	if err != nil {
		t.Fatalf("delete VM %s: %v", vmName, err)
	}
	if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}); err != nil {
		t.Fatalf("delete VM %s: %v", vmName, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(inGroup(h.resources()[typeVM], rg)) != 6 {
		if time.Now().After(deadline) {
			t.Fatal("a deleted VM was not recreated by the resync")
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.waitRunning(t, cl.Key())

	// Scale the workers down to 1: two VMs and their NICs go. The pass after the repair may
	// still write (it clears the repair's resume token): the change is retried over it.
	h.update(t, cl.Key(), func(cl *v1alpha1.Cluster) {
		for i := range cl.Spec.MachinePools {
			if cl.Spec.MachinePools[i].Name == "workers" {
				cl.Spec.MachinePools[i].Count = 1
				cl.Spec.MachinePools[i].Min, cl.Spec.MachinePools[i].Max = nil, nil
			}
		}
	})
	h.waitRunning(t, cl.Key())
	res = h.resources()
	if n := len(inGroup(res[typeVM], rg)); n != 4 {
		t.Errorf("%d VMs after scaling down, want 4", n)
	}
	if n := len(inGroup(res[typeNIC], rg)); n != 4 {
		t.Errorf("%d NICs after scaling down, want 4", n)
	}
	if n := len(inGroup(res[typeDisk], rg)); n != 4 {
		t.Errorf("%d disks after scaling down, want 4", n)
	}
	// The recreated VM's new OS disk carries the tags too.
	h.checkTags(t, cl, res)

	// Deletion removes everything strata created and keeps the resource group.
	h.requestDelete(t, cl.Key())
	h.waitGone(t, cl.Key())
	res = h.resources()
	for _, typ := range strataTypes {
		for _, r := range inGroup(res[typ], rg) {
			t.Errorf("left behind: %s", r.ID)
		}
	}
	if !h.groupExists(rg) {
		t.Error("the resource group was deleted")
	}
	if _, err := h.st.GetSecret(ctx, "cluster/"+cl.Metadata.UID+"/bootstrap"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bootstrap secret after deletion: %v", err)
	}
	evs, err := h.st.ListEvents(ctx, v1alpha1.KindCluster, cl.Key(), cl.Metadata.UID)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason)
		if strings.Contains(e.Message, "BEGIN") || strings.Contains(e.Message, h.env.ClientSecret) {
			t.Errorf("event %s carries a secret", e.Reason)
		}
	}
	for _, r := range []string{"Provisioning", "Running", "Deleting", "Deleted", "DriftRepaired", "MachineRemoved", "Updating"} {
		if !slices.Contains(reasons, r) {
			t.Errorf("events %v lack %s", reasons, r)
		}
	}
}

// checkTags checks that every resource of the cluster's resource group that Azure keeps tags on
// (all strata makes, OS disks included, but subnets and containers) carries the cluster's tags,
// owner and role.
func (h *harness) checkTags(t *testing.T, cl *v1alpha1.Cluster, res map[string][]arm.StoredResource) {
	t.Helper()
	for _, typ := range strataTypes {
		if typ == typeSubnet || typ == typeContainer {
			continue // Azure keeps no tags on subnets and containers
		}
		for _, r := range inGroup(res[typ], cl.Spec.Azure.ResourceGroup) {
			tags, _ := path(r.Body, "tags").(map[string]any)
			if tags[v1alpha1.TagOwner] != cl.Metadata.UID || tags[v1alpha1.TagRole] == nil || tags["department"] != "finance" {
				t.Errorf("%s tags %v", r.ID, tags)
			}
		}
	}
}

// userResources makes the static example's network and storage, as a user would have them.
func (h *harness) userResources(t *testing.T, cl *v1alpha1.Cluster) []string {
	t.Helper()
	ctx := context.Background()
	pl, cs := cl.Spec.Azure.Placement, cl.Spec.Azure.Storage
	h.env.ResourceGroup(t, pl.ResourceGroup)
	nf, err := armnetwork.NewClientFactory(h.env.SubscriptionID, h.env.Cred, h.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := armstorage.NewClientFactory(h.env.SubscriptionID, h.env.Cred, h.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	poll := &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}
	loc := to.Ptr(h.env.Location)
	userTags := map[string]*string{"owner": to.Ptr("network-team")}
	var ids []string
	nsgs := map[string]string{}
	for _, name := range []string{pl.ControlPlaneSubnet.SecurityGroup, pl.WorkerSubnet.SecurityGroup} {
		p, err := nf.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, pl.ResourceGroup, name, armnetwork.SecurityGroup{Location: loc, Tags: userTags}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatal(err)
		}
		nsgs[name] = *r.ID
		ids = append(ids, *r.ID)
	}
	vp, err := nf.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, pl.ResourceGroup, pl.VirtualNetwork, armnetwork.VirtualNetwork{
		Location: loc, Tags: userTags,
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr(pl.CIDR)}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	vnet, err := vp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, *vnet.ID)
	for _, s := range []*v1alpha1.Subnet{pl.ControlPlaneSubnet, pl.WorkerSubnet} {
		p, err := nf.NewSubnetsClient().BeginCreateOrUpdate(ctx, pl.ResourceGroup, pl.VirtualNetwork, s.Name, armnetwork.Subnet{
			Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr(s.CIDR), NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: to.Ptr(nsgs[s.SecurityGroup])}},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *r.ID)
	}
	sp, err := sf.NewAccountsClient().BeginCreate(ctx, cl.Spec.Azure.ResourceGroup, cs.Account, armstorage.AccountCreateParameters{
		Location: loc, Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}, Tags: userTags,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := sp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, *acct.ID)
	c, err := sf.NewBlobContainersClient().Create(ctx, cl.Spec.Azure.ResourceGroup, cs.Account, cs.Container, armstorage.BlobContainer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, *c.ID)
	return ids
}

// bodies returns the emulator's bodies of the resources.
func (h *harness) bodies(ids []string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range h.env.Emulator.Engine().Snapshot().Resources {
		for _, id := range ids {
			if strings.EqualFold(r.ID, id) {
				out[id] = r.Body
			}
		}
	}
	return out
}

func TestStaticPlacementDeleteSafety(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	cl := h.cluster(t, "cluster-iaas-static.yaml")
	// Storage account names are global: make this one the test's own.
	cl.Spec.Azure.Storage.Account = fmt.Sprintf("corpimg%d", time.Now().UnixNano()%1_000_000_000)
	ids := h.userResources(t, cl)
	before := h.bodies(ids)
	if len(before) != len(ids) {
		t.Fatalf("found %d of the %d user resources", len(before), len(ids))
	}
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	cl = h.waitRunning(t, cl.Key())
	rg := cl.Spec.Azure.ResourceGroup
	res := h.resources()
	want := map[string]int{typePIP: 1, typeLB: 1, typeNIC: 3, typeVM: 3, typeImage: 1}
	for typ, n := range want {
		if got := len(inGroup(res[typ], rg)); got != n {
			t.Errorf("%d resources of type %s, want %d", got, typ, n)
		}
	}
	for _, typ := range []string{typeVNet, typeNSG, typeNATGW} {
		if got := len(inGroup(res[typ], rg)); got != 0 {
			t.Errorf("static placement created %d resource(s) of type %s", got, typ)
		}
	}
	for _, it := range cl.Status.Inventory {
		if it.Managed && slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, it.ID) }) {
			t.Errorf("user resource %s inventoried as managed", it.ID)
		}
	}

	h.requestDelete(t, cl.Key())
	h.waitGone(t, cl.Key())
	after := h.bodies(ids)
	for _, id := range ids {
		if !reflect.DeepEqual(before[id], after[id]) {
			t.Errorf("user resource %s changed:\nbefore %v\nafter  %v", id, before[id], after[id])
		}
	}
	res = h.resources()
	for _, typ := range strataTypes {
		for _, r := range inGroup(res[typ], rg) {
			if !slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, r.ID) }) {
				t.Errorf("left behind: %s", r.ID)
			}
		}
	}
}

// faults parses fault rules for the emulator.
func faults(t *testing.T, specs ...string) func(*emulator.Options) {
	var rules []arm.FaultRule
	for _, s := range specs {
		f, err := arm.ParseFault(s)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, f)
	}
	return func(o *emulator.Options) { o.Faults = rules }
}

func TestTransientFaultsConverge(t *testing.T) {
	for _, file := range []string{"cluster-iaas-dynamic.yaml", "cluster-aks.yaml"} {
		t.Run(file, func(t *testing.T) {
			h := start(t, faults(t,
				"method=PUT,status=500,rate=0.1",
				"method=GET,status=429,rate=0.1,retry-after=0",
				"method=PUT,kind=lro-failed,rate=0.05",
			))
			cl := h.cluster(t, file)
			if err := h.st.Create(context.Background(), cl); err != nil {
				t.Fatal(err)
			}
			h.waitRunning(t, cl.Key())
		})
	}
}

func TestPermanentErrorShowsAndBacksOff(t *testing.T) {
	tests := []struct {
		file, typ, condition string
	}{
		{"cluster-iaas-dynamic.yaml", "Microsoft.Network/virtualNetworks", controller.ConditionNetworkReady},
		{"cluster-aks.yaml", "Microsoft.ContainerService/managedClusters", controller.ConditionControlPlaneReady},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h := start(t, faults(t, "method=PUT,type="+tt.typ+",status=409,code=QuotaExceeded,message=too many of them,rate=1"))
			ctx := context.Background()
			cl := h.cluster(t, tt.file)
			if err := h.st.Create(ctx, cl); err != nil {
				t.Fatal(err)
			}
			cl = h.waitFor(t, cl.Key(), "Failed with QuotaExceeded", 30*time.Second, func(cl *v1alpha1.Cluster) bool {
				for _, c := range cl.Status.Conditions {
					if c.Type == tt.condition && c.Status == "False" && c.Reason == "QuotaExceeded" {
						return cl.Status.Phase == controller.PhaseFailed
					}
				}
				return false
			})
			for _, c := range cl.Status.Conditions {
				if c.Type == tt.condition && !strings.Contains(c.Message, "too many of them") {
					t.Errorf("%s message %q lacks Azure's message", tt.condition, c.Message)
				}
			}
			// Backoff (200 ms doubling to 2 s here): a few attempts in 4 s, not a hot loop.
			counter := func() int {
				n := 0
				h.mu.Lock()
				defer h.mu.Unlock()
				for _, c := range h.clients {
					n += c.Requests()["PUT "+tt.typ]
				}
				return n
			}
			before := counter()
			time.Sleep(4 * time.Second)
			if tries := counter() - before; tries > 6 {
				t.Errorf("%d PUTs in 4 s: not backing off", tries)
			}
			evs, err := h.st.ListEvents(ctx, v1alpha1.KindCluster, cl.Key(), cl.Metadata.UID)
			if err != nil {
				t.Fatal(err)
			}
			var failed bool
			for _, e := range evs {
				if e.Reason == "Failed" && strings.Contains(e.Message, "QuotaExceeded") {
					failed = true
				}
			}
			if !failed {
				t.Errorf("no Failed event with the code: %+v", evs)
			}
			// Once Azure accepts, the cluster recovers.
			h.env.Admin(t, "DELETE", "/_emulator/faults", nil, nil)
			h.waitRunning(t, cl.Key())
		})
	}
}

func TestTwoControllersNoDuplicateWrite(t *testing.T) {
	h := start(t)
	h.runController(t, "second")
	ctx := context.Background()
	var names []string
	for i, file := range []string{"cluster-iaas-dynamic.yaml", "cluster-aks.yaml", "cluster-iaas-dynamic.yaml", "cluster-aks.yaml"} {
		cl := h.cluster(t, file)
		cl.Metadata.Name = fmt.Sprintf("c%d", i)
		cl.Spec.Azure.ResourceGroup = fmt.Sprintf("rg-%d", i)
		h.env.ResourceGroup(t, cl.Spec.Azure.ResourceGroup)
		if err := h.st.Create(ctx, cl); err != nil {
			t.Fatal(err)
		}
		names = append(names, cl.Key())
	}
	written := 0
	for _, n := range names {
		cl := h.waitRunning(t, n)
		written += ownWrites(cl)
	}
	if w := h.writes(); w != written {
		h.mu.Lock()
		for _, c := range h.clients {
			t.Logf("requests: %v", c.Requests())
		}
		h.mu.Unlock()
		t.Errorf("%d ARM writes for %d created resources", w, written)
	}
}

// ownWrites is how many of a cluster's resources strata created with a write of their own:
// every managed one but the agent pools, which AKS creates inline with the managed cluster.
func ownWrites(cl *v1alpha1.Cluster) int {
	n := 0
	for _, it := range cl.Status.Inventory {
		if it.Managed && it.Kind != "AgentPool" {
			n++
		}
	}
	return n
}

// TestRestartsConverge stops the controller at several points of provisioning and of deletion
// and starts a new one each time: every resource ends up created once and, after deletion,
// nothing strata created is left.
func TestRestartsConverge(t *testing.T) {
	tests := []struct {
		file string
		// stops are the counts of done resources at which provisioning is interrupted.
		stops []int
		// deleteStep is how many inventory items each interrupted deletion pass waits for.
		deleteStep int
		want       map[string]int
	}{
		{"cluster-iaas-dynamic.yaml", []int{3, 10, 18}, 5, map[string]int{typeVNet: 1, typeSubnet: 2, typeNSG: 2, typeNATGW: 1,
			typePIP: 2, typeLB: 1, typeNIC: 6, typeVM: 6, typeImage: 1, typeStorage: 1, typeContainer: 1}},
		{"cluster-aks.yaml", []int{1, 3, 4}, 1, map[string]int{typeVNet: 1, typeSubnet: 1, typeNSG: 1,
			typeManagedCluster: 1, typeAgentPool: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h := newHarness(t, func(o *emulator.Options) { o.Latency = arm.LatencyFast; o.LatencyScale = 0.5 })
			ctx := context.Background()
			cl := h.cluster(t, tt.file)
			rg := cl.Spec.Azure.ResourceGroup
			if err := h.st.Create(ctx, cl); err != nil {
				t.Fatal(err)
			}
			midOperation := 0
			for i, done := range tt.stops {
				stop := h.runController(t, fmt.Sprintf("provision-%d", i))
				// The last stop also waits for an operation in flight at Azure, so that on a
				// slow machine (where the next PUT may not be out yet when the count is
				// reached) one stop at least interrupts an operation.
				last := i == len(tt.stops)-1
				h.waitFor(t, cl.Key(), fmt.Sprintf("%d resources done", done), 60*time.Second, func(cl *v1alpha1.Cluster) bool {
					reached := cl.Status.Progress != nil && cl.Status.Progress.Done >= done
					inFlight := !last || midOperation > 0 || h.env.OperationsInFlight() > 0
					return reached && inFlight || cl.Status.Phase == controller.PhaseRunning
				})
				stop()
				if h.env.OperationsInFlight() > 0 {
					midOperation++
				}
			}
			if midOperation == 0 {
				t.Error("no stop left an Azure operation in flight: the test proves nothing")
			}
			stop := h.runController(t, "provision-last")
			cl = h.waitRunning(t, cl.Key())
			stop()
			res := h.resources()
			for typ, n := range tt.want {
				if got := len(inGroup(res[typ], rg)); got != n {
					t.Errorf("%d resources of type %s after restarts, want %d", got, typ, n)
				}
			}
			t.Logf("%d ARM writes for %d created resources across restarts", h.writes(), ownWrites(cl))

			// Deletion with restarts too.
			h.requestDelete(t, cl.Key())
			for i := range 2 {
				stop := h.runController(t, fmt.Sprintf("delete-%d", i))
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) {
					obj, err := h.st.Get(ctx, v1alpha1.KindCluster, cl.Key())
					if err != nil || len(obj.(*v1alpha1.Cluster).Status.Inventory) <= len(cl.Status.Inventory)-tt.deleteStep*(i+1) {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				stop()
			}
			h.runController(t, "delete-last")
			h.waitGone(t, cl.Key())
			res = h.resources()
			for typ := range tt.want {
				for _, r := range inGroup(res[typ], rg) {
					t.Errorf("orphaned: %s", r.ID)
				}
			}
			if !h.groupExists(rg) {
				t.Errorf("the user's resource group %s is gone", rg)
			}
			for _, r := range res["microsoft.resources/resourcegroups"] {
				if by, _ := path(r.Body, "managedBy").(string); by != "" {
					t.Errorf("AKS's node resource group %s is left", r.ID)
				}
			}
		})
	}
}

// Without its profile the plan cannot be rebuilt: deletion falls back on the kind order and
// still removes everything.
func TestDeleteInKindOrderWithoutPlan(t *testing.T) {
	tests := []struct {
		file  string
		types []string
	}{
		{"cluster-iaas-dynamic.yaml", strataTypes},
		{"cluster-aks.yaml", []string{typeManagedCluster, typeAgentPool, typeVNet, typeSubnet, typeNSG}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h := start(t)
			ctx := context.Background()
			cl := h.cluster(t, tt.file)
			rg := cl.Spec.Azure.ResourceGroup
			if err := h.st.Create(ctx, cl); err != nil {
				t.Fatal(err)
			}
			cl = h.waitRunning(t, cl.Key())
			// The store refuses to delete a profile in use; a database written before it kept
			// references may still lack one. Remove the profile's row behind its back.
			ref := cl.Spec.Profiles[0]
			// Wait for the controller's writes as the store does, rather than fail on SQLITE_BUSY.
			db, err := sql.Open("sqlite", h.dbPath+"?_busy_timeout=10000")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(ctx, `DELETE FROM objects WHERE kind = ? AND key = ?`,
				v1alpha1.KindClusterProfile, v1alpha1.ProfileKey(ref.Name, ref.Version)); err != nil {
				t.Fatal(err)
			}
			h.requestDelete(t, cl.Key())
			h.waitGone(t, cl.Key())
			res := h.resources()
			for _, typ := range tt.types {
				for _, r := range inGroup(res[typ], rg) {
					t.Errorf("left behind: %s", r.ID)
				}
			}
			if !h.groupExists(rg) {
				t.Errorf("the user's resource group %s is gone", rg)
			}
		})
	}
}
