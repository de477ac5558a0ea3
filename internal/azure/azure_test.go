package azure

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"golang.org/x/crypto/ssh"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/blob"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

// memInventory is an Inventory in memory, as the reconciler keeps one: resume tokens by node
// key, and the IDs of the nodes claimed.
type memInventory struct {
	mu      sync.Mutex
	m       map[string]string
	owner   string
	claimed map[string]string // lower-case ID → node key
}

func (m *memInventory) Token(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[key]
}

func (m *memInventory) SaveToken(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	if token == "" {
		delete(m.m, key)
	} else {
		m.m[key] = token
	}
	return nil
}

func (m *memInventory) Owner() string { return m.owner }

func (m *memInventory) Manages(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.claimed[strings.ToLower(id)]
	return ok
}

func (m *memInventory) Claim(_ context.Context, n *plan.Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.claimed == nil {
		m.claimed = map[string]string{}
	}
	m.claimed[strings.ToLower(n.ID)] = n.Key
	return nil
}

func newClients(t *testing.T, env *emulatortest.Env) *Clients {
	t.Helper()
	c, err := NewClients(context.Background(), env.CloudAccount(t, "emulator"), env.SubscriptionID,
		Options{PollFrequency: 20 * time.Millisecond, Writes: 1000, Reads: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNewClientsValidation(t *testing.T) {
	acct := &v1alpha1.CloudAccount{Spec: v1alpha1.CloudAccountSpec{Azure: v1alpha1.AzureCredentials{
		TenantID: "t", ClientID: "c", ClientSecret: v1alpha1.NewSecret("s"), Environment: v1alpha1.EnvironmentCustom}}}
	if _, err := NewClients(context.Background(), acct, "sub", Options{}); err == nil {
		t.Error("Custom without endpoints: want an error")
	}
	acct.Spec.Azure.Environment = "Mars"
	if _, err := NewClients(context.Background(), acct, "sub", Options{}); err == nil {
		t.Error("unknown environment: want an error")
	}
	for _, tt := range []struct{ env, blob string }{
		{"", "https://acct.blob.core.windows.net/"},
		{v1alpha1.EnvironmentPublic, "https://acct.blob.core.windows.net/"},
		{v1alpha1.EnvironmentUSGovernment, "https://acct.blob.core.usgovcloudapi.net/"},
		{v1alpha1.EnvironmentChina, "https://acct.blob.core.chinacloudapi.cn/"},
	} {
		acct.Spec.Azure.Environment = tt.env
		c, err := NewClients(context.Background(), acct, "sub", Options{})
		if err != nil {
			t.Fatalf("%q: %v", tt.env, err)
		}
		if got := c.BlobEndpoint("acct"); got != tt.blob {
			t.Errorf("%q: BlobEndpoint = %s, want %s", tt.env, got, tt.blob)
		}
	}
}

func TestResourceType(t *testing.T) {
	for path, want := range map[string]string{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v":           "Microsoft.Network/virtualNetworks",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/x": "Microsoft.Network/virtualNetworks/subnets",
		"/subscriptions/s/resourcegroups/rg":                                                         "Microsoft.Resources/resourceGroups",
		"/subscriptions/s/resourceGroups/rg/resources":                                               "Microsoft.Resources/resources",
		"/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operations/1":             "Microsoft.Network/locations/operations",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/listKeys":  "Microsoft.Storage/storageAccounts/listKeys",
		"/acct/container/blob": "blob",
	} {
		if got := resourceType(path); got != want {
			t.Errorf("resourceType(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestBucket(t *testing.T) {
	b := newBucket(100, 2)
	start := time.Now()
	for range 4 {
		if err := b.take(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Errorf("4 tokens from a bucket of 2 at 100/s took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b2 := newBucket(0.001, 1)
	_ = b2.take(ctx)
	if err := b2.take(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait on a cancelled context = %v", err)
	}
}

// answerWith is a transport that answers every request with a status and headers.
type answerWith struct {
	status int
	header http.Header
}

func (a answerWith) Do(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Header: a.header, Body: http.NoBody, Request: req}, nil
}

// TestLimitFollowsAzureBudget checks that the limiter keeps no more tokens than Azure reports
// left of its own bucket of the request's class, and waits out a 429's Retry-After.
func TestLimitFollowsAzureBudget(t *testing.T) {
	tests := []struct {
		name, method string
		status       int
		header       http.Header
		// wantReads and wantWrites bound the buckets' tokens after the request.
		wantReads, wantWrites float64
	}{
		{"reads left", http.MethodGet, http.StatusOK, http.Header{"X-Ms-Ratelimit-Remaining-Subscription-Reads": {"3"}}, 3, 100},
		{"more left than the bucket holds", http.MethodGet, http.StatusOK, http.Header{"X-Ms-Ratelimit-Remaining-Subscription-Reads": {"5000"}}, 99, 100},
		{"writes left", http.MethodPut, http.StatusCreated, http.Header{"X-Ms-Ratelimit-Remaining-Subscription-Writes": {"7"}}, 100, 7},
		{"deletes left", http.MethodDelete, http.StatusAccepted, http.Header{"X-Ms-Ratelimit-Remaining-Subscription-Deletes": {"2"}}, 100, 2},
		{"another class's header", http.MethodGet, http.StatusOK, http.Header{"X-Ms-Ratelimit-Remaining-Subscription-Writes": {"1"}}, 99, 100},
		{"throttled for 2 s", http.MethodGet, http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}, "X-Ms-Ratelimit-Remaining-Subscription-Reads": {"0"}}, -20, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &limiter{reads: newBucket(10, 100), writes: newBucket(10, 100)}
			pl := runtime.NewPipeline("strata-test", "v0", runtime.PipelineOptions{PerCall: []policy.Policy{&limitPolicy{l: l}}},
				&policy.ClientOptions{Transport: answerWith{tt.status, tt.header}, Retry: policy.RetryOptions{MaxRetries: -1}})
			req, err := runtime.NewRequest(context.Background(), tt.method, "https://management.azure.com/subscriptions/s/resourceGroups/rg")
			if err != nil {
				t.Fatal(err)
			}
			resp, err := pl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for _, b := range []struct {
				name string
				b    *bucket
				want float64
			}{{"reads", l.reads, tt.wantReads}, {"writes", l.writes, tt.wantWrites}} {
				b.b.mu.Lock()
				got := b.b.tokens
				b.b.mu.Unlock()
				// Refill while the test runs adds a little; 0.5 token is 50 ms at 10/s.
				if got > b.want+0.5 || got < b.want-1.5 {
					t.Errorf("%s bucket holds %.2f tokens, want about %g", b.name, got, b.want)
				}
			}
		})
	}
}

// blockSlow answers /slow only once release is closed, and everything else at once with
// remaining reads.
type blockSlow struct {
	release   chan struct{}
	remaining string
}

func (b blockSlow) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/slow") {
		<-b.release
	}
	h := http.Header{"X-Ms-Ratelimit-Remaining-Subscription-Reads": {b.remaining}}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: http.NoBody, Request: req}, nil
}

// TestLimitCountsRequestsInFlight checks that what Azure reports left is shared with the
// requests still on their way: with one in flight, 10 left leaves at most 9 tokens.
func TestLimitCountsRequestsInFlight(t *testing.T) {
	l := &limiter{reads: newBucket(10, 100), writes: newBucket(10, 100)}
	tr := blockSlow{release: make(chan struct{}), remaining: "10"}
	pl := runtime.NewPipeline("strata-test", "v0", runtime.PipelineOptions{PerCall: []policy.Policy{&limitPolicy{l: l}}},
		&policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}})
	do := func(path string) error {
		req, err := runtime.NewRequest(context.Background(), http.MethodGet, "https://management.azure.com/subscriptions/s"+path)
		if err != nil {
			return err
		}
		resp, err := pl.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	slow := make(chan error, 1)
	go func() { slow <- do("/slow") }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		l.reads.mu.Lock()
		n := l.reads.inFlight
		l.reads.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow request never went out")
		}
	}
	if err := do("/fast"); err != nil {
		t.Fatal(err)
	}
	l.reads.mu.Lock()
	got := l.reads.tokens
	l.reads.mu.Unlock()
	if got > 9.5 {
		t.Errorf("%.2f read tokens with Azure reporting 10 left and 1 request in flight, want at most 9", got)
	}
	close(tr.release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	l.reads.mu.Lock()
	defer l.reads.mu.Unlock()
	if l.reads.inFlight != 0 {
		t.Errorf("%d requests in flight after both were answered", l.reads.inFlight)
	}
}

func TestIsPermanent(t *testing.T) {
	if IsPermanent(context.Canceled) || IsPermanent(errors.New("x")) || IsPermanent(nil) {
		t.Error("non-Azure errors are transient")
	}
	if !IsPermanent(&AdoptedError{Kind: plan.KindSubnet, ID: "x"}) {
		t.Error("adopted errors are permanent")
	}
	for _, tc := range []struct {
		status    int
		code      string
		permanent bool
	}{
		{400, "InvalidParameter", true},
		{404, "ResourceNotFound", true},
		{409, "StorageAccountAlreadyTaken", true},
		{409, "AnotherOperationInProgress", false},
		{429, "RetryableErrorDueToAnotherOperation", false},
		{408, "RequestTimeout", false},
		{429, "TooManyRequests", false},
		{500, "InternalServerError", false},
		{503, "ServiceUnavailable", false},
		{200, "AllocationFailed", false},
		{200, "NetcfgSubnetRangesOverlap", true},
	} {
		err := fmt.Errorf("wrapped: %w", &azcore.ResponseError{StatusCode: tc.status, ErrorCode: tc.code})
		if got := IsPermanent(err); got != tc.permanent {
			t.Errorf("IsPermanent(%d %s) = %v", tc.status, tc.code, got)
		}
		if code, _, ok := ErrorCode(err); !ok || code != tc.code {
			t.Errorf("ErrorCode(%d %s) = %q %v", tc.status, tc.code, code, ok)
		}
	}
}

// writes counts the PUT, PATCH and DELETE requests of a resource type.
func writes(c *Clients, typ string) int {
	n := 0
	for k, v := range c.Requests() {
		m, ty, _ := strings.Cut(k, " ")
		if (m == "PUT" || m == "PATCH" || m == "DELETE") && strings.EqualFold(ty, typ) {
			n += v
		}
	}
	return n
}

// TestServices creates a whole cluster's resources in order, each with: create, a second
// Apply sending no write, a change behind strata's back repaired with exactly one write; then
// deletes them in reverse order, each Observe'd absent.
func TestServices(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	tokens := &memInventory{}
	ctx := testCtx(t)
	net, comp, stor := c.Network, c.Compute, c.Storage
	loc := env.Location
	tags := func(role string) map[string]*string {
		return map[string]*string{"strata-cluster": to.Ptr("c1"), "strata-role": to.Ptr(role)}
	}
	id := func(typ, name string) string { return rgID + "/providers/" + typ + "/" + name }
	retag := map[string]*string{"strata-cluster": to.Ptr("tampered")}

	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	nsgID, natID := id("Microsoft.Network/networkSecurityGroups", "nsg"), id("Microsoft.Network/natGateways", "nat")
	vnetID := id("Microsoft.Network/virtualNetworks", "vnet")
	subnetID := vnetID + "/subnets/nodes"
	pipID, pipLBID := id("Microsoft.Network/publicIPAddresses", "pip-nat"), id("Microsoft.Network/publicIPAddresses", "pip-lb")
	lbID := id("Microsoft.Network/loadBalancers", "lb")
	nicID := id("Microsoft.Network/networkInterfaces", "nic")
	saID := id("Microsoft.Storage/storageAccounts", "stratac1images")
	ctrID := saID + "/blobServices/default/containers/vhds"
	imgID := id("Microsoft.Compute/images", "ubuntu")
	vmID := id("Microsoft.Compute/virtualMachines", "vm0")
	var blobURI string

	steps := []struct {
		node   *plan.Node
		typ    string
		tamper func(t *testing.T)
	}{
		{node: &plan.Node{Key: "vnet", Kind: plan.KindVirtualNetwork, ID: vnetID, Managed: true, Spec: &armnetwork.VirtualNetwork{
			Location: &loc, Tags: tags("network"),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}}}}},
			typ: "Microsoft.Network/virtualNetworks",
			tamper: func(t *testing.T) {
				emulatortest.Must[armnetwork.VirtualNetworksClientUpdateTagsResponse](t)(net.NewVirtualNetworksClient().UpdateTags(ctx, "rg", "vnet", armnetwork.TagsObject{Tags: retag}, nil))
			}},
		{node: &plan.Node{Key: "nsg", Kind: plan.KindNetworkSecurityGroup, ID: nsgID, Managed: true, Spec: &armnetwork.SecurityGroup{
			Location: &loc, Tags: tags("network"),
			Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{{
				Name: to.Ptr("allow-https"),
				Properties: &armnetwork.SecurityRulePropertiesFormat{Priority: to.Ptr[int32](100), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow),
					Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
					SourceAddressPrefix: to.Ptr("*"), SourcePortRange: to.Ptr("*"), DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("6443")}}}}}},
			typ: "Microsoft.Network/networkSecurityGroups",
			tamper: func(t *testing.T) {
				emulatortest.Must[armnetwork.SecurityGroupsClientUpdateTagsResponse](t)(net.NewSecurityGroupsClient().UpdateTags(ctx, "rg", "nsg", armnetwork.TagsObject{Tags: retag}, nil))
			}},
		{node: &plan.Node{Key: "pip/nat", Kind: plan.KindPublicIPAddress, ID: pipID, Managed: true, Spec: &armnetwork.PublicIPAddress{
			Location: &loc, Tags: tags("network"), SKU: &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic)}}},
			typ: "Microsoft.Network/publicIPAddresses",
			tamper: func(t *testing.T) {
				emulatortest.Must[armnetwork.PublicIPAddressesClientUpdateTagsResponse](t)(net.NewPublicIPAddressesClient().UpdateTags(ctx, "rg", "pip-nat", armnetwork.TagsObject{Tags: retag}, nil))
			}},
		{node: &plan.Node{Key: "nat", Kind: plan.KindNatGateway, ID: natID, Managed: true, Spec: &armnetwork.NatGateway{
			Location: &loc, Tags: tags("network"), SKU: &armnetwork.NatGatewaySKU{Name: to.Ptr(armnetwork.NatGatewaySKUNameStandard)},
			Properties: &armnetwork.NatGatewayPropertiesFormat{PublicIPAddresses: []*armnetwork.SubResource{{ID: &pipID}}}}},
			typ: "Microsoft.Network/natGateways",
			tamper: func(t *testing.T) {
				emulatortest.Must[armnetwork.NatGatewaysClientUpdateTagsResponse](t)(net.NewNatGatewaysClient().UpdateTags(ctx, "rg", "nat", armnetwork.TagsObject{Tags: retag}, nil))
			}},
		{node: &plan.Node{Key: "subnet/nodes", Kind: plan.KindSubnet, ID: subnetID, Managed: true, Spec: &armnetwork.Subnet{
			Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.1.0/24"),
				NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: &nsgID}, NatGateway: &armnetwork.SubResource{ID: &natID}}}},
			typ: "Microsoft.Network/virtualNetworks/subnets",
			tamper: func(t *testing.T) {
				p := emulatortest.Must[*runtimePoller[armnetwork.SubnetsClientCreateOrUpdateResponse]](t)(wrapPoller(net.NewSubnetsClient().BeginCreateOrUpdate(ctx, "rg", "vnet", "nodes",
					armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.1.0/24")}}, nil)))
				p.wait(t, ctx)
			}},
		{node: &plan.Node{Key: "pip/lb", Kind: plan.KindPublicIPAddress, ID: pipLBID, Managed: true, Spec: &armnetwork.PublicIPAddress{
			Location: &loc, Tags: tags("apiserver"), SKU: &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
				DNSSettings: &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: to.Ptr("c1-api")}}}},
			typ: "Microsoft.Network/publicIPAddresses"},
		{node: &plan.Node{Key: "lb", Kind: plan.KindLoadBalancer, ID: lbID, Managed: true, Spec: &armnetwork.LoadBalancer{
			Location: &loc, Tags: tags("apiserver"), SKU: &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard)},
			Properties: &armnetwork.LoadBalancerPropertiesFormat{
				FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{Name: to.Ptr("fe"), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{PublicIPAddress: &armnetwork.PublicIPAddress{ID: &pipLBID}}}},
				BackendAddressPools:      []*armnetwork.BackendAddressPool{{Name: to.Ptr("cp")}},
				Probes:                   []*armnetwork.Probe{{Name: to.Ptr("api"), Properties: &armnetwork.ProbePropertiesFormat{Protocol: to.Ptr(armnetwork.ProbeProtocolTCP), Port: to.Ptr[int32](6443)}}},
				LoadBalancingRules: []*armnetwork.LoadBalancingRule{{Name: to.Ptr("api"), Properties: &armnetwork.LoadBalancingRulePropertiesFormat{
					Protocol: to.Ptr(armnetwork.TransportProtocolTCP), FrontendPort: to.Ptr[int32](6443), BackendPort: to.Ptr[int32](6443),
					FrontendIPConfiguration: &armnetwork.SubResource{ID: to.Ptr(lbID + "/frontendIPConfigurations/fe")},
					BackendAddressPool:      &armnetwork.SubResource{ID: to.Ptr(lbID + "/backendAddressPools/cp")},
					Probe:                   &armnetwork.SubResource{ID: to.Ptr(lbID + "/probes/api")}}}},
			}}},
			typ: "Microsoft.Network/loadBalancers",
			tamper: func(t *testing.T) {
				emulatortest.Must[armnetwork.LoadBalancersClientUpdateTagsResponse](t)(net.NewLoadBalancersClient().UpdateTags(ctx, "rg", "lb", armnetwork.TagsObject{Tags: retag}, nil))
			}},
		{node: &plan.Node{Key: "nic/vm0", Kind: plan.KindNetworkInterface, ID: nicID, Managed: true, Spec: &armnetwork.Interface{
			Location: &loc, Tags: tags("nodes"),
			Properties: &armnetwork.InterfacePropertiesFormat{IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{Name: to.Ptr("ipconfig1"),
				Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{Primary: to.Ptr(true), Subnet: &armnetwork.Subnet{ID: &subnetID},
					PrivateIPAllocationMethod:       to.Ptr(armnetwork.IPAllocationMethodDynamic),
					LoadBalancerBackendAddressPools: []*armnetwork.BackendAddressPool{{ID: to.Ptr(lbID + "/backendAddressPools/cp")}}}}}}}},
			typ: "Microsoft.Network/networkInterfaces",
			tamper: func(t *testing.T) {
				emulatortest.Must[armnetwork.InterfacesClientUpdateTagsResponse](t)(net.NewInterfacesClient().UpdateTags(ctx, "rg", "nic", armnetwork.TagsObject{Tags: retag}, nil))
			}},
		{node: &plan.Node{Key: "storage", Kind: plan.KindStorageAccount, ID: saID, Managed: true, Spec: &armstorage.AccountCreateParameters{
			Location: &loc, Tags: tags("storage"), Kind: to.Ptr(armstorage.KindStorageV2),
			SKU:        &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
			Properties: &armstorage.AccountPropertiesCreateParameters{MinimumTLSVersion: to.Ptr(armstorage.MinimumTLSVersionTLS12), AllowBlobPublicAccess: to.Ptr(false)}}},
			typ: "Microsoft.Storage/storageAccounts",
			tamper: func(t *testing.T) {
				emulatortest.Must[armstorage.AccountsClientUpdateResponse](t)(stor.NewAccountsClient().Update(ctx, "rg", "stratac1images", armstorage.AccountUpdateParameters{Tags: retag}, nil))
			}},
		{node: &plan.Node{Key: "container", Kind: plan.KindBlobContainer, ID: ctrID, Managed: true, Spec: &armstorage.BlobContainer{
			ContainerProperties: &armstorage.ContainerProperties{Metadata: map[string]*string{"role": to.Ptr("images")}}}},
			typ: "Microsoft.Storage/storageAccounts/blobServices/containers",
			tamper: func(t *testing.T) {
				emulatortest.Must[armstorage.BlobContainersClientUpdateResponse](t)(stor.NewBlobContainersClient().Update(ctx, "rg", "stratac1images", "vhds",
					armstorage.BlobContainer{ContainerProperties: &armstorage.ContainerProperties{Metadata: map[string]*string{"role": to.Ptr("other")}}}, nil))
			}},
		{node: &plan.Node{Key: "blobcopy", Kind: plan.KindBlobCopy, ID: ctrID + "/blobs/ubuntu.vhd", Managed: true, Spec: &plan.BlobCopy{
			SourceURL: env.URL + "/" + blob.SourceAccount + "/" + blob.SourceContainer + "/" + blob.BaseImageBlob,
			Account:   "stratac1images", Container: "vhds", Blob: "ubuntu.vhd"}},
			typ: "blob",
			tamper: func(t *testing.T) {
				// The copy is deleted behind strata's back: Apply copies again.
				if err := (&blobCopyService{c: c}).delete(ctx, &plan.Node{Kind: plan.KindBlobCopy, ID: ctrID + "/blobs/ubuntu.vhd",
					Spec: &plan.BlobCopy{Account: "stratac1images", Container: "vhds", Blob: "ubuntu.vhd"}}, nil); err != nil {
					t.Fatal(err)
				}
			}},
		{node: &plan.Node{Key: "image", Kind: plan.KindImage, ID: imgID, Managed: true},
			typ: "Microsoft.Compute/images",
			tamper: func(t *testing.T) {
				p := emulatortest.Must[*runtimePoller[armcompute.ImagesClientUpdateResponse]](t)(wrapPoller(comp.NewImagesClient().BeginUpdate(ctx, "rg", "ubuntu", armcompute.ImageUpdate{Tags: retag}, nil)))
				p.wait(t, ctx)
			}},
		{node: &plan.Node{Key: "vm/vm0", Kind: plan.KindVirtualMachine, ID: vmID, Managed: true, Spec: &armcompute.VirtualMachine{
			Location: &loc, Tags: tags("nodes"),
			Properties: &armcompute.VirtualMachineProperties{
				HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes("Standard_B2s"))},
				StorageProfile: &armcompute.StorageProfile{ImageReference: &armcompute.ImageReference{ID: &imgID},
					OSDisk: &armcompute.OSDisk{Name: to.Ptr("vm0_OSDisk"), DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDelete),
						CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesFromImage), DiskSizeGB: to.Ptr[int32](30),
						ManagedDisk: &armcompute.ManagedDiskParameters{StorageAccountType: to.Ptr(armcompute.StorageAccountTypesStandardLRS)}}},
				OSProfile: &armcompute.OSProfile{ComputerName: to.Ptr("vm0"), AdminUsername: to.Ptr("strata"),
					CustomData: to.Ptr(base64.StdEncoding.EncodeToString([]byte("#cloud-config\n"))),
					LinuxConfiguration: &armcompute.LinuxConfiguration{DisablePasswordAuthentication: to.Ptr(true),
						SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{Path: to.Ptr("/home/strata/.ssh/authorized_keys"),
							KeyData: to.Ptr(string(ssh.MarshalAuthorizedKey(sshPub)))}}}}},
				NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{ID: &nicID,
					Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: to.Ptr(true)}}}},
			}}},
			typ: "Microsoft.Compute/virtualMachines",
			tamper: func(t *testing.T) {
				p := emulatortest.Must[*runtimePoller[armcompute.VirtualMachinesClientUpdateResponse]](t)(wrapPoller(comp.NewVirtualMachinesClient().BeginUpdate(ctx, "rg", "vm0", armcompute.VirtualMachineUpdate{Tags: retag}, nil)))
				p.wait(t, ctx)
			}},
		// Azure made the OS disk with the VM, without tags: its create is the PATCH of its tags.
		{node: &plan.Node{Key: "osdisk/vm0", Kind: plan.KindOSDisk, ID: plan.OSDiskID(vmID), Managed: true, Spec: &armcompute.Disk{Tags: tags("nodes")}},
			typ: "Microsoft.Compute/disks",
			tamper: func(t *testing.T) {
				p := emulatortest.Must[*runtimePoller[armcompute.DisksClientUpdateResponse]](t)(wrapPoller(comp.NewDisksClient().BeginUpdate(ctx, "rg", "vm0_OSDisk", armcompute.DiskUpdate{Tags: retag}, nil)))
				p.wait(t, ctx)
			}},
	}

	for _, st := range steps {
		n := st.node
		if n.Kind == plan.KindImage {
			blobURI = c.BlobEndpoint("stratac1images") + "vhds/ubuntu.vhd"
			n.Spec = &armcompute.Image{Location: &loc, Tags: tags("image"), Properties: &armcompute.ImageProperties{
				HyperVGeneration: to.Ptr(armcompute.HyperVGenerationTypesV2),
				StorageProfile: &armcompute.ImageStorageProfile{OSDisk: &armcompute.ImageOSDisk{OSType: to.Ptr(armcompute.OperatingSystemTypesLinux),
					OSState: to.Ptr(armcompute.OperatingSystemStateTypesGeneralized), BlobURI: &blobURI}}}}
		}
		if !t.Run("apply/"+n.Key, func(t *testing.T) {
			before := writes(c, st.typ)
			r, err := ap.Apply(ctx, n, tokens)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if !r.Wrote || writes(c, st.typ) == before {
				t.Fatalf("create wrote nothing: %+v %v", r, c.Requests())
			}
			if tokens.Token(n.Key) != "" {
				t.Error("resume token left after completion")
			}
			o, err := ap.Observe(ctx, n)
			if err != nil || !o.Exists || !o.UpToDate {
				t.Fatalf("observe after create = %+v, %v", o, err)
			}
			if n.Kind == plan.KindVirtualMachine && !o.Running {
				t.Error("VM not running")
			}
			total := c.Writes()
			r, err = ap.Apply(ctx, n, tokens)
			if err != nil || r.Wrote || c.Writes() != total {
				t.Fatalf("second apply = %+v, %v; writes %d → %d: %v", r, err, total, c.Writes(), c.Requests())
			}
			if st.tamper == nil {
				return
			}
			st.tamper(t)
			if o, err := ap.Observe(ctx, n); err != nil || o.UpToDate {
				t.Fatalf("observe after tampering = %+v, %v", o, err)
			}
			total = c.Writes()
			if r, err = ap.Apply(ctx, n, tokens); err != nil || !r.Wrote {
				t.Fatalf("repair = %+v, %v", r, err)
			}
			if got := c.Writes() - total; got != 1 {
				t.Errorf("repair sent %d writes, want 1: %v", got, c.Requests())
			}
			if o, err := ap.Observe(ctx, n); err != nil || !o.UpToDate {
				t.Fatalf("observe after repair = %+v, %v", o, err)
			}
		}) {
			t.FailNow()
		}
	}

	t.Run("lookups", func(t *testing.T) {
		vnets, err := c.VirtualNetworks(ctx, "rg")
		if err != nil || len(vnets) != 1 || len(vnets[0].Subnets) != 1 || vnets[0].Subnets[0].CIDR != "10.0.1.0/24" ||
			!strings.EqualFold(vnets[0].Subnets[0].NSG, nsgID) || vnets[0].AddressSpaces[0] != "10.0.0.0/16" {
			t.Errorf("VirtualNetworks = %+v, %v", vnets, err)
		}
		sas, err := c.StorageAccounts(ctx, "rg")
		if err != nil || len(sas) != 1 || sas[0].Name != "stratac1images" || sas[0].BlobEndpoint == "" {
			t.Errorf("StorageAccounts = %+v, %v", sas, err)
		}
		ctrs, err := c.Containers(ctx, "rg", "stratac1images")
		if err != nil || len(ctrs) != 1 || ctrs[0] != "vhds" {
			t.Errorf("Containers = %v, %v", ctrs, err)
		}
	})

	for i := len(steps) - 1; i >= 0; i-- {
		n := steps[i].node
		if !t.Run("delete/"+n.Key, func(t *testing.T) {
			if err := ap.Delete(ctx, n, tokens); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if n.Kind == plan.KindOSDisk {
				// Attached: Azure deletes it with its VM, next.
				if o, err := ap.Observe(ctx, n); err != nil || !o.Exists {
					t.Fatalf("observe the attached OS disk after its delete = %+v, %v", o, err)
				}
				return
			}
			o, err := ap.Observe(ctx, n)
			if err != nil || o.Exists {
				t.Fatalf("observe after delete = %+v, %v", o, err)
			}
			if n.Kind == plan.KindVirtualMachine {
				if o, err := ap.Observe(ctx, steps[i+1].node); err != nil || o.Exists {
					t.Fatalf("observe the OS disk after its VM's delete = %+v, %v", o, err)
				}
			}
			if err := ap.Delete(ctx, n, tokens); err != nil {
				t.Fatalf("second delete: %v", err)
			}
		}) {
			t.FailNow()
		}
	}
}

// runtimePoller adapts an SDK poller for the tests' raw calls.
type runtimePoller[R any] struct{ l lro }

func wrapPoller[R any](p *runtime.Poller[R], err error) (*runtimePoller[R], error) {
	if err != nil {
		return nil, err
	}
	return &runtimePoller[R]{l: pollerLRO[R]{p}}, nil
}

func (p *runtimePoller[R]) wait(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := p.l.wait(ctx, pollSchedule{}, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
