package server

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/google/uuid"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// seedAzure creates a resource group with a virtual network, a network security group, and a
// storage account with a container, in the emulator through the SDK.
func seedAzure(t *testing.T, env *emulatortest.Env, rg, vnet, nsg, account, container string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
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
	awaitAzure(ctx, t, "create virtual network", vp, err)
	nsgs, err := armnetwork.NewSecurityGroupsClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	np, err := nsgs.BeginCreateOrUpdate(ctx, rg, nsg, armnetwork.SecurityGroup{Location: to.Ptr(env.Location)}, nil)
	awaitAzure(ctx, t, "create network security group", np, err)

	accts, err := armstorage.NewAccountsClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := accts.BeginCreate(ctx, rg, account, armstorage.AccountCreateParameters{
		Location: to.Ptr(env.Location),
		Kind:     to.Ptr(armstorage.KindStorageV2),
		SKU:      &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
	}, nil)
	awaitAzure(ctx, t, "create storage account", sp, err)
	containers, err := armstorage.NewBlobContainersClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := containers.Create(ctx, rg, account, container, armstorage.BlobContainer{}, nil); err != nil {
		t.Fatalf("create container: %v", err)
	}
}

// awaitAzure fails the test unless an operation the SDK began (p, err) ends well.
func awaitAzure[T any](ctx context.Context, t *testing.T, what string, p *runtime.Poller[T], err error) {
	t.Helper()
	if err == nil {
		_, err = p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// lookupItems GETs a lookup, fails the test unless it answers 200 with an items array, and
// returns the items.
func (ts *testServer) lookupItems(t *testing.T, account, what string, q url.Values) []map[string]any {
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
	return list.Items
}

// lookupNames GETs a lookup, fails the test unless it answers 200, and returns the names of
// its items.
func (ts *testServer) lookupNames(t *testing.T, account, what string, q url.Values) []string {
	t.Helper()
	var names []string
	for _, it := range ts.lookupItems(t, account, what, q) {
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
	second := uuid.NewString()
	env.Emulator.Engine().AddSubscription(arm.Subscription{ID: second, TenantID: env.TenantID, DisplayName: "Second"})
	env.Emulator.Engine().AddSubscription(arm.Subscription{ID: uuid.NewString(), TenantID: uuid.NewString(), DisplayName: "Another tenant's"})
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
	seedAzure(t, env, "lookup-rg", "lookup-vnet", "lookup-nsg", "strlookup1", "backups")
	seedAzure(t, env, "lookup-rg2", "lookup-vnet2", "lookup-nsg2", "strlookup2", "archive")
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
		{"networksecuritygroups", url.Values{"subscriptionID": {sub}, "resourceGroup": {"lookup-rg"}}, "lookup-nsg"},
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

	t.Run("subscriptions", func(t *testing.T) {
		want := []map[string]any{
			{"subscriptionID": sub, "displayName": "Strata emulator subscription", "state": "Enabled"},
			{"subscriptionID": second, "displayName": "Second", "state": "Enabled"},
		}
		// The subscription is not needed; given, it changes nothing.
		for _, q := range []url.Values{nil, {"subscriptionID": {sub}}} {
			if items := ts.lookupItems(t, "emu", "subscriptions", q); !reflect.DeepEqual(items, want) {
				t.Errorf("subscriptions (query %v) = %v, want the tenant's %v", q, items, want)
			}
		}
	})

	// Without a resource group, the lists cover the subscription; every item names its group.
	scopeTests := []struct {
		what, rg string
		want     map[string]string // name → resource group
	}{
		{"virtualnetworks", "", map[string]string{"lookup-vnet": "lookup-rg", "lookup-vnet2": "lookup-rg2"}},
		{"virtualnetworks", "lookup-rg2", map[string]string{"lookup-vnet2": "lookup-rg2"}},
		{"storageaccounts", "", map[string]string{"strlookup1": "lookup-rg", "strlookup2": "lookup-rg2"}},
		{"storageaccounts", "lookup-rg", map[string]string{"strlookup1": "lookup-rg"}},
		{"networksecuritygroups", "", map[string]string{"lookup-nsg": "lookup-rg", "lookup-nsg2": "lookup-rg2"}},
		{"networksecuritygroups", "lookup-rg2", map[string]string{"lookup-nsg2": "lookup-rg2"}},
	}
	for _, tt := range scopeTests {
		t.Run(tt.what+" of "+cmp.Or(tt.rg, "the subscription"), func(t *testing.T) {
			q := url.Values{"subscriptionID": {sub}}
			if tt.rg != "" {
				q.Set("resourceGroup", tt.rg)
			}
			got := map[string]string{}
			for _, it := range ts.lookupItems(t, "emu", tt.what, q) {
				name, _ := it["name"].(string)
				got[name], _ = it["resourceGroup"].(string)
				id, _ := it["id"].(string)
				if it["location"] != env.Location || !strings.HasPrefix(id, "/subscriptions/"+sub+"/resourceGroups/"+got[name]+"/providers/") {
					t.Errorf("item %v: want location %s and an ID in its resource group", it, env.Location)
				}
				if tt.what == "networksecuritygroups" && len(it) != 4 {
					t.Errorf("NSG %v: want name, id, location and resourceGroup only", it)
				}
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("lookup %s = %v, want %v", tt.what, got, tt.want)
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
		{"NSGs of a missing resource group", lookupPath("emu", "networksecuritygroups", url.Values{"subscriptionID": {sub}, "resourceGroup": {"no-such-rg"}}), 502, ReasonAzureError, "ResourceGroupNotFound"},
		{"NSGs without a subscription", lookupPath("emu", "networksecuritygroups", url.Values{"resourceGroup": {"lookup-rg"}}), 400, ReasonBadRequest, "subscriptionID"},
		{"an empty optional resource group", lookupPath("emu", "storageaccounts", url.Values{"subscriptionID": {sub}, "resourceGroup": {""}}), 400, ReasonBadRequest, "resourceGroup"},
		{"containers without a resource group", lookupPath("emu", "containers", url.Values{"subscriptionID": {sub}, "storageAccount": {"strlookup1"}}), 400, ReasonBadRequest, "resourceGroup"},
		{"subscriptions with a resource group", lookupPath("emu", "subscriptions", url.Values{"resourceGroup": {"lookup-rg"}}), 400, ReasonBadRequest, `"resourceGroup"`},
		{"subscriptions with a bad subscription", lookupPath("emu", "subscriptions", url.Values{"subscriptionID": {"../x"}}), 400, ReasonBadRequest, "subscriptionID"},
		{"subscriptions with an empty subscription", lookupPath("emu", "subscriptions", url.Values{"subscriptionID": {""}}), 400, ReasonBadRequest, "subscriptionID"},
		{"subscriptions with a wrong secret", lookupPath("wrong-secret", "subscriptions", nil), 502, ReasonAzureError, "AuthenticationFailed"},
		{"subscriptions bound to a gateway, no agent endpoint", lookupPath("bound", "subscriptions", nil), 409, ReasonGatewayBound, `gateway "corp"`},
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
