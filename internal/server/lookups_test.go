package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// seedAzure creates a resource group with a virtual network, and a storage account with a
// container, in the emulator through the SDK.
func seedAzure(t *testing.T, env *emulatortest.Env, rg, vnet, account, container string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	poll := &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}
	env.ResourceGroup(t, rg)

	vnets, err := armnetwork.NewVirtualNetworksClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	vp, err := vnets.BeginCreateOrUpdate(ctx, rg, vnet, armnetwork.VirtualNetwork{
		Location: to.Ptr(env.Location),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.42.0.0/16")}},
			Subnets: []*armnetwork.Subnet{{Name: to.Ptr("nodes"),
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.42.1.0/24")}}},
		},
	}, nil)
	if err != nil {
		t.Fatalf("create virtual network: %v", err)
	}
	if _, err := vp.PollUntilDone(ctx, poll); err != nil {
		t.Fatalf("create virtual network: %v", err)
	}

	accts, err := armstorage.NewAccountsClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := accts.BeginCreate(ctx, rg, account, armstorage.AccountCreateParameters{
		Location: to.Ptr(env.Location),
		Kind:     to.Ptr(armstorage.KindStorageV2),
		SKU:      &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
	}, nil)
	if err != nil {
		t.Fatalf("create storage account: %v", err)
	}
	if _, err := sp.PollUntilDone(ctx, poll); err != nil {
		t.Fatalf("create storage account: %v", err)
	}
	containers, err := armstorage.NewBlobContainersClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := containers.Create(ctx, rg, account, container, armstorage.BlobContainer{}, nil); err != nil {
		t.Fatalf("create container: %v", err)
	}
}

// lookupNames GETs a lookup, fails the test unless it answers 200, and returns the names of
// its items.
func (ts *testServer) lookupNames(t *testing.T, account, what string, q url.Values) []string {
	t.Helper()
	r := ts.do(http.MethodGet, lookupPath(account, what, q), nil, "")
	if r.code != http.StatusOK {
		t.Fatalf("lookup %s: got %d %s", what, r.code, r.body)
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatalf("lookup %s: decode %q: %v", what, r.body, err)
	}
	if list.Items == nil {
		t.Fatalf("lookup %s: no items array in %s", what, r.body)
	}
	var names []string
	for _, it := range list.Items {
		n, _ := it["name"].(string)
		names = append(names, n)
	}
	return names
}

func lookupPath(account, what string, q url.Values) string {
	p := kindPath(v1alpha1.KindCloudAccount) + "/" + account + "/lookups/" + what
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

func TestLookups(t *testing.T) {
	env := emulatortest.Start(t)
	ts := newTestServer(t)
	ts.create(env.CloudAccount(t, "emu"))
	wrong := env.CloudAccount(t, "wrong-secret")
	wrong.Spec.Azure.ClientSecret = v1alpha1.NewSecret("not-the-secret")
	ts.create(wrong)
	gw := v1alpha1.New(v1alpha1.KindPrivateCloudGateway)
	gw.GetMetadata().Name = "corp"
	ts.create(gw)
	bound := env.CloudAccount(t, "bound")
	bound.Spec.Gateway = "corp"
	ts.create(bound)
	seedAzure(t, env, "lookup-rg", "lookup-vnet", "strlookup1", "backups")
	sub := env.SubscriptionID

	tests := []struct {
		what string
		q    url.Values
		want string
	}{
		{"locations", url.Values{"subscriptionID": {sub}}, env.Location},
		{"vmsizes", url.Values{"subscriptionID": {sub}, "location": {env.Location}}, "Standard_D2_v3"},
		{"resourcegroups", url.Values{"subscriptionID": {sub}}, "lookup-rg"},
		{"virtualnetworks", url.Values{"subscriptionID": {sub}, "resourceGroup": {"lookup-rg"}}, "lookup-vnet"},
		{"storageaccounts", url.Values{"subscriptionID": {sub}, "resourceGroup": {"lookup-rg"}}, "strlookup1"},
		{"containers", url.Values{"subscriptionID": {sub}, "resourceGroup": {"lookup-rg"}, "storageAccount": {"strlookup1"}}, "backups"},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			names := ts.lookupNames(t, "emu", tt.what, tt.q)
			if !slices.Contains(names, tt.want) {
				t.Errorf("lookup %s = %v, want it to contain %q", tt.what, names, tt.want)
			}
		})
	}

	errorTests := []struct {
		name, path string
		code       int
		reason     string
		message    string // a part of the message
	}{
		{"no subscription", lookupPath("emu", "locations", nil), 400, ReasonBadRequest, "subscriptionID"},
		{"vmsizes without location", lookupPath("emu", "vmsizes", url.Values{"subscriptionID": {sub}}), 400, ReasonBadRequest, "location"},
		{"containers without account", lookupPath("emu", "containers", url.Values{"subscriptionID": {sub}, "resourceGroup": {"lookup-rg"}}), 400, ReasonBadRequest, "storageAccount"},
		{"unknown parameter", lookupPath("emu", "locations", url.Values{"subscriptionID": {sub}, "resourcegroup": {"x"}}), 400, ReasonBadRequest, `"resourcegroup"`},
		{"unknown lookup", lookupPath("emu", "disks", url.Values{"subscriptionID": {sub}}), 404, ReasonNotFound, "vmsizes"},
		{"unknown account", lookupPath("nope", "locations", url.Values{"subscriptionID": {sub}}), 404, ReasonNotFound, `"nope"`},
		{"not an account", kindPath(v1alpha1.KindCluster) + "/x/lookups/locations?subscriptionID=" + sub, 404, ReasonNotFound, "cloudaccounts"},
		{"unknown subscription", lookupPath("emu", "resourcegroups", url.Values{"subscriptionID": {"00000000-0000-0000-0000-000000000000"}}), 502, ReasonAzureError, "Subscription"},
		{"wrong secret", lookupPath("wrong-secret", "resourcegroups", url.Values{"subscriptionID": {sub}}), 502, ReasonAzureError, "AuthenticationFailed"},
		{"bound to a gateway, no agent endpoint", lookupPath("bound", "resourcegroups", url.Values{"subscriptionID": {sub}}), 409, ReasonGatewayBound, `gateway "corp"`},
		{"missing resource group", lookupPath("emu", "virtualnetworks", url.Values{"subscriptionID": {sub}, "resourceGroup": {"no-such-rg"}}), 502, ReasonAzureError, "ResourceGroupNotFound"},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(http.MethodGet, tt.path, nil, "")
			if r.code != tt.code {
				t.Fatalf("got %d %s, want %d", r.code, r.body, tt.code)
			}
			st := r.status(t)
			if st.Reason != tt.reason || !strings.Contains(st.Message, tt.message) {
				t.Errorf("Status %+v, want reason %s and a message containing %q", st, tt.reason, tt.message)
			}
		})
	}
	if r := ts.do(http.MethodPost, lookupPath("emu", "locations", nil), nil, ""); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST on a lookup: got %d %s", r.code, r.body)
	}
	for _, body := range ts.bodies {
		if strings.Contains(body, env.ClientSecret) {
			t.Fatalf("a response holds the client secret: %s", body)
		}
	}
}
