package azure

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/blob"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

func vnetNode(rgID, name, prefix string) *plan.Node {
	return &plan.Node{Key: "vnet/" + name, Kind: plan.KindVirtualNetwork, Managed: true,
		ID: rgID + "/providers/Microsoft.Network/virtualNetworks/" + name,
		Spec: &armnetwork.VirtualNetwork{Location: to.Ptr("westeurope"), Tags: map[string]*string{"strata-cluster": to.Ptr("c1")},
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{&prefix}}}}}
}

func TestClientFactory(t *testing.T) {
	env := emulatortest.Start(t)
	env.ResourceGroup(t, "rg1")
	ctx := testCtx(t)
	c := newClients(t, env)
	rgs, err := c.ResourceGroups(ctx)
	if err != nil || !slices.Contains(rgs, "rg1") {
		t.Fatalf("ResourceGroups = %v, %v", rgs, err)
	}
	if got, want := c.BlobEndpoint("acct"), env.URL+"/acct/"; got != want {
		t.Errorf("BlobEndpoint before the account exists = %s, want %s", got, want)
	}
	if c.Requests()["GET Microsoft.Resources/resourceGroups"] != 1 {
		t.Errorf("requests = %v", c.Requests())
	}

	t.Run("wrong secret", func(t *testing.T) {
		acct := env.CloudAccount(t, "emulator")
		acct.Spec.Azure.ClientSecret = secretOf("nope")
		c, err := NewClients(ctx, acct, env.SubscriptionID, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ResourceGroups(ctx); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Errorf("want AADSTS7000215, got %v", err)
		}
	})
	t.Run("CA not trusted", func(t *testing.T) {
		acct := env.CloudAccount(t, "emulator")
		acct.Spec.Azure.Endpoints.CABundle = ""
		c, err := NewClients(ctx, acct, env.SubscriptionID, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// The SDK retries TLS failures: look at one request of the clients' transport.
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.URL+"/_emulator/healthz", nil)
		if _, err := c.armOpts.Transport.Do(req); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("want a certificate error, got %v", err)
		}
		good := newClients(t, env)
		resp, err := good.armOpts.Transport.Do(req)
		if err != nil {
			t.Fatalf("with the CA bundle: %v", err)
		}
		resp.Body.Close()
	})
	t.Run("bad CA bundle", func(t *testing.T) {
		acct := env.CloudAccount(t, "emulator")
		acct.Spec.Azure.Endpoints.CABundle = "not PEM"
		if _, err := NewClients(ctx, acct, env.SubscriptionID, Options{}); err == nil {
			t.Error("want an error")
		}
	})
}

func TestAdopted(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	vnet := vnetNode(rgID, "net", "10.1.0.0/16")
	if _, err := ap.Apply(ctx, vnet, &memInventory{}); err != nil {
		t.Fatal(err)
	}
	subnets := c.Network.NewSubnetsClient()
	p, err := subnets.BeginCreateOrUpdate(ctx, "rg", "net", "static", armnetwork.Subnet{
		Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.1.2.0/24")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	subnetID := vnet.ID + "/subnets/static"

	for _, tc := range []struct {
		name string
		node *plan.Node
		want string // "" = no error
	}{
		{"rg ok", &plan.Node{Key: "rg", Kind: plan.KindResourceGroup, ID: rgID, Expect: map[string]string{"location": "West Europe"}}, ""},
		{"rg managed is still only verified", &plan.Node{Key: "rg", Kind: plan.KindResourceGroup, ID: rgID, Managed: true}, ""},
		{"rg location", &plan.Node{Key: "rg", Kind: plan.KindResourceGroup, ID: rgID, Expect: map[string]string{"location": "eastus"}}, `location is "westeurope", expected "eastus"`},
		{"rg missing", &plan.Node{Key: "rg", Kind: plan.KindResourceGroup, ID: strings.Replace(rgID, "/rg", "/nope", 1)}, "does not exist"},
		{"subnet ok", &plan.Node{Key: "subnet", Kind: plan.KindSubnet, ID: subnetID, Expect: map[string]string{"addressPrefix": "10.1.2.0/24"}}, ""},
		{"subnet prefix", &plan.Node{Key: "subnet", Kind: plan.KindSubnet, ID: subnetID, Expect: map[string]string{"addressPrefix": "10.1.3.0/24"}}, `addressPrefix is "10.1.2.0/24", expected "10.1.3.0/24"`},
		{"subnet missing", &plan.Node{Key: "subnet", Kind: plan.KindSubnet, ID: vnet.ID + "/subnets/gone"}, "subnets/gone does not exist"},
		{"vnet space", &plan.Node{Key: "vnet", Kind: plan.KindVirtualNetwork, ID: vnet.ID, Expect: map[string]string{"addressSpace.addressPrefixes": "10.9.0.0/16"}}, `addressSpace.addressPrefixes is "10.1.0.0/16"`},
		// The plan's own vocabulary (plan.Expect*).
		{"vnet exists, prefix among its address space", &plan.Node{Key: "vnet", Kind: plan.KindVirtualNetwork, ID: vnet.ID, Expect: map[string]string{plan.ExpectExists: "true", plan.ExpectAddressPrefix: "10.1.0.0/16"}}, ""},
		{"vnet prefix not in its address space", &plan.Node{Key: "vnet", Kind: plan.KindVirtualNetwork, ID: vnet.ID, Expect: map[string]string{plan.ExpectAddressPrefix: "10.2.0.0/16"}}, `addressSpace.addressPrefixes is "10.1.0.0/16", expected "10.2.0.0/16"`},
		{"subnet without the expected NSG", &plan.Node{Key: "subnet", Kind: plan.KindSubnet, ID: subnetID, Expect: map[string]string{plan.ExpectAddressPrefix: "10.1.2.0/24", plan.ExpectNetworkSecurityGroup: rgID + "/providers/Microsoft.Network/networkSecurityGroups/cp-nsg"}}, "networkSecurityGroup.id is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.Writes()
			r, err := ap.Apply(ctx, tc.node, nil)
			if r.Wrote || c.Writes() != before {
				t.Errorf("an adopted node was written: %v", c.Requests())
			}
			o, oerr := ap.Observe(ctx, tc.node)
			if oerr != nil {
				t.Fatal(oerr)
			}
			if tc.want == "" {
				if err != nil || !o.Exists || !o.UpToDate {
					t.Fatalf("Apply = %v, Observe = %+v", err, o)
				}
				return
			}
			var ae *AdoptedError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ae) || !IsPermanent(err) {
				t.Fatalf("Apply = %v, want an AdoptedError with %q", err, tc.want)
			}
			if o.UpToDate {
				t.Errorf("Observe = %+v", o)
			}
			if err := ap.Delete(ctx, tc.node, nil); err == nil || !strings.Contains(err.Error(), "adopted") {
				t.Errorf("Delete of an adopted node = %v", err)
			}
		})
	}
}

// TestResume starts a slow VNet creation, gives up waiting, then applies again with the saved
// token: the operation is resumed, not sent again.
func TestResume(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	tokens := &memInventory{}
	env.Emulator.Engine().Latency().SetProfile(arm.LatencyRealistic, 0.2) // a VNet takes ~1 s
	defer env.Emulator.Engine().Latency().SetProfile(arm.LatencyZero, 1)
	n := vnetNode(rgID, "slow", "10.2.0.0/16")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := ap.Apply(ctx, n, tokens)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first apply = %v, want a deadline", err)
	}
	if tokens.Token(n.Key) == "" {
		t.Fatal("no resume token saved")
	}
	puts := c.Requests()["PUT Microsoft.Network/virtualNetworks"]
	if puts != 1 {
		t.Fatalf("PUTs = %d", puts)
	}
	r, err := ap.Apply(testCtx(t), n, tokens)
	if err != nil || !r.Wrote {
		t.Fatalf("resumed apply = %+v, %v", r, err)
	}
	if got := c.Requests()["PUT Microsoft.Network/virtualNetworks"]; got != 1 {
		t.Errorf("the resumed apply sent the PUT again: %v", c.Requests())
	}
	if tokens.Token(n.Key) != "" {
		t.Error("token not cleared")
	}
	if o, err := ap.Observe(testCtx(t), n); err != nil || !o.UpToDate {
		t.Errorf("observe = %+v, %v", o, err)
	}

	// A token that resumes nothing is dropped, and the node applied as usual.
	_ = tokens.SaveToken(context.Background(), n.Key, "garbage")
	if r, err := ap.Apply(testCtx(t), n, tokens); err != nil || r.Wrote || tokens.Token(n.Key) != "" {
		t.Errorf("apply with a bad token = %+v, %v, token %q", r, err, tokens.Token(n.Key))
	}

	// The same for a delete.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = ap.Delete(ctx, n, tokens)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || tokens.Token(n.Key) == "" {
		t.Fatalf("first delete = %v, token %q", err, tokens.Token(n.Key))
	}
	if err := ap.Delete(testCtx(t), n, tokens); err != nil {
		t.Fatal(err)
	}
	if got := c.Requests()["DELETE Microsoft.Network/virtualNetworks"]; got != 1 {
		t.Errorf("DELETEs = %d", got)
	}
	if o, err := ap.Observe(testCtx(t), n); err != nil || o.Exists {
		t.Errorf("observe = %+v, %v", o, err)
	}
}

func TestErrors(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)

	bad := &plan.Node{Key: "sa", Kind: plan.KindStorageAccount, Managed: true, ID: rgID + "/providers/Microsoft.Storage/storageAccounts/Bad_Name",
		Spec: &armstorage.AccountCreateParameters{Location: to.Ptr("westeurope"), Kind: to.Ptr(armstorage.KindStorageV2),
			SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}}
	_, err := ap.Apply(ctx, bad, &memInventory{})
	code, msg, ok := ErrorCode(err)
	if !ok || code != "AccountNameInvalid" || !strings.Contains(msg, "Bad_Name") || !IsPermanent(err) {
		t.Errorf("ErrorCode = %q %q %v (%v)", code, msg, ok, err)
	}
	emulatortest.WantCode(t, err, "AccountNameInvalid")

	// A storage account name used elsewhere surfaces Azure's error.
	env.ResourceGroup(t, "rg2")
	sa := func(rg string) *plan.Node {
		return &plan.Node{Key: "sa", Kind: plan.KindStorageAccount, Managed: true,
			ID: strings.Replace(rgID, "/rg", "/"+rg, 1) + "/providers/Microsoft.Storage/storageAccounts/stratadup",
			Spec: &armstorage.AccountCreateParameters{Location: to.Ptr("westeurope"), Kind: to.Ptr(armstorage.KindStorageV2),
				SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}}
	}
	if _, err := ap.Apply(ctx, sa("rg"), &memInventory{}); err != nil {
		t.Fatal(err)
	}
	_, err = ap.Apply(ctx, sa("rg2"), &memInventory{})
	emulatortest.WantCode(t, err, "StorageAccountInAnotherResourceGroup")

	// A 429 with Retry-After is retried by the SDK.
	env.Admin(t, http.MethodPost, "/_emulator/faults", map[string]any{"method": "PUT", "type": "Microsoft.Network/virtualNetworks",
		"status": 429, "rate": 1, "count": 1, "retryAfter": 1}, nil)
	if _, err := ap.Apply(ctx, vnetNode(rgID, "throttled", "10.3.0.0/16"), &memInventory{}); err != nil {
		t.Fatalf("apply through a 429: %v", err)
	}
	env.Admin(t, http.MethodDelete, "/_emulator/faults", nil, nil)

	// An unknown kind and a wrong spec type are errors.
	if _, err := ap.Apply(ctx, &plan.Node{Key: "x", Kind: "Nope", ID: rgID}, nil); err == nil {
		t.Error("unknown kind: want an error")
	}
	if _, err := ap.Apply(ctx, &plan.Node{Key: "x", Kind: plan.KindVirtualNetwork, Managed: true, ID: rgID + "/providers/Microsoft.Network/virtualNetworks/v", Spec: "x"}, &memInventory{}); err == nil {
		t.Error("wrong spec: want an error")
	}
}

func TestLookups(t *testing.T) {
	env := emulatortest.Start(t)
	c := newClients(t, env)
	ctx := testCtx(t)
	locs, err := c.Locations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(locs, func(l Location) bool { return l.Name == "westeurope" })
	if i < 0 || !slices.Equal(locs[i].Zones, []string{"1", "2", "3"}) || locs[i].DisplayName == "" {
		t.Errorf("Locations = %+v", locs)
	}
	sizes, err := c.VMSizes(ctx, "westeurope")
	if err != nil {
		t.Fatal(err)
	}
	j := slices.IndexFunc(sizes, func(s VMSize) bool { return s.Name == "Standard_D4s_v3" })
	if j < 0 || sizes[j].VCPUs != 4 || sizes[j].MemoryGB != 16 || len(sizes[j].Zones) != 3 {
		t.Errorf("VMSizes = %+v", sizes)
	}
	zones, err := c.ZonesBySize(ctx, "westeurope")
	if err != nil {
		t.Fatal(err)
	}
	if got := zones["Standard_NC6s_v3"]; !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("NC6s_v3 zones = %v", got)
	}
	// The SKU list is kept: a second look-up reads nothing, and what a caller changes in its
	// answer does not change the next one.
	skus := c.Requests()["GET Microsoft.Compute/skus"]
	if skus == 0 {
		t.Fatalf("no SKU list read counted: %v", c.Requests())
	}
	zones["Standard_NC6s_v3"][0] = "9"
	again, err := c.ZonesBySize(ctx, "westeurope")
	if err != nil || !slices.Equal(again["Standard_NC6s_v3"], []string{"1", "2"}) {
		t.Errorf("second look-up = %v, %v", again["Standard_NC6s_v3"], err)
	}
	if n := c.Requests()["GET Microsoft.Compute/skus"]; n != skus {
		t.Errorf("the second look-up read the SKU list again (%d reads, then %d)", skus, n)
	}
	if z, err := c.ZonesBySize(ctx, "westcentralus"); err != nil || len(z["Standard_B2s"]) != 0 {
		t.Errorf("westcentralus zones = %v, %v", z, err)
	}
}

// TestBlobCopyPending copies with the emulator's copy latency on: the copy is pending for a
// while and Apply waits for it.
func TestBlobCopyPending(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	saID := rgID + "/providers/Microsoft.Storage/storageAccounts/stratacopy"
	inv := &memInventory{}
	for _, n := range []*plan.Node{
		{Key: "sa", Kind: plan.KindStorageAccount, Managed: true, ID: saID, Spec: armstorage.AccountCreateParameters{Location: to.Ptr("westeurope"),
			Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}}},
		{Key: "ctr", Kind: plan.KindBlobContainer, Managed: true, ID: saID + "/blobServices/default/containers/vhds", Spec: armstorage.BlobContainer{}},
	} {
		if _, err := ap.Apply(ctx, n, inv); err != nil {
			t.Fatal(err)
		}
	}
	env.Emulator.Engine().Latency().SetProfile(arm.LatencyRealistic, 0.05)
	defer env.Emulator.Engine().Latency().SetProfile(arm.LatencyZero, 1)
	n := &plan.Node{Key: "copy", Kind: plan.KindBlobCopy, Managed: true, ID: saID + "/blobServices/default/containers/vhds/blobs/base.vhd",
		Spec: plan.BlobCopy{SourceURL: env.URL + "/" + blob.SourceAccount + "/" + blob.SourceContainer + "/" + blob.BaseImageBlob,
			Account: "stratacopy", Container: "vhds", Blob: "base.vhd"}}
	r, err := ap.Apply(ctx, n, inv)
	if err != nil || !r.Wrote {
		t.Fatalf("copy = %+v, %v", r, err)
	}
	if o, err := ap.Observe(ctx, n); err != nil || !o.UpToDate {
		t.Fatalf("observe = %+v, %v", o, err)
	}
	if r, err := ap.Apply(ctx, n, inv); err != nil || r.Wrote {
		t.Fatalf("second copy = %+v, %v", r, err)
	}
	if heads := c.Requests()["HEAD blob"]; heads < 3 {
		t.Errorf("the copy was not polled while pending: %v", c.Requests())
	}
	// A missing source fails with Azure's error.
	n2 := *n
	n2.Spec = plan.BlobCopy{SourceURL: env.URL + "/" + blob.SourceAccount + "/" + blob.SourceContainer + "/missing.vhd",
		Account: "stratacopy", Container: "vhds", Blob: "other.vhd"}
	if _, err := ap.Apply(ctx, &n2, inv); err == nil {
		t.Error("copy of a missing source: want an error")
	} else if code, _, _ := ErrorCode(err); code != "CannotVerifyCopySource" {
		t.Errorf("code = %q (%v)", code, err)
	}
}

func secretOf(s string) v1alpha1.Secret { return v1alpha1.NewSecret(s) }

// TestLocationsEscapesSubscription lists locations with a subscription ID that climbs out of
// its path segment: it is sent escaped, as one segment, so it names no subscription, instead of
// reaching the locations of the subscription it climbs to.
func TestLocationsEscapesSubscription(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := testCtx(t)
	sub := "00000000-0000-0000-0000-000000000000/../" + env.SubscriptionID
	c, err := NewClients(ctx, env.CloudAccount(t, "emulator"), sub, Options{PollFrequency: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	locs, err := c.Locations(ctx)
	if err == nil {
		t.Fatalf("Locations of subscription %q = %d regions of another subscription, want an error", sub, len(locs))
	}
	if re := emulatortest.ResponseError(t, err); re.StatusCode != http.StatusNotFound {
		t.Errorf("Locations = %v, want a 404", err)
	}
}

// TestBlobEndpointEscapesAccount: a path-style blob endpoint (Custom clouds) holds the account
// name as one escaped path segment.
func TestBlobEndpointEscapesAccount(t *testing.T) {
	env := emulatortest.Start(t)
	c := newClients(t, env)
	if got, want := c.BlobEndpoint("../acct"), env.URL+"/..%2Facct/"; got != want {
		t.Errorf("BlobEndpoint = %s, want %s", got, want)
	}
}

func TestSKUFilterQuotes(t *testing.T) {
	for in, want := range map[string]string{
		"westeurope":              "location eq 'westeurope'",
		"west' or location ne 'x": "location eq 'west'' or location ne ''x'",
		"''":                      "location eq ''''''",
	} {
		if got := skuFilter(in); got != want {
			t.Errorf("skuFilter(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestDotSegmentsRefused: a node ID with a "." or ".." segment (which the SDK's escaping keeps,
// and which a server may resolve to another path) is refused before any request.
func TestDotSegmentsRefused(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	_, before := env.Requests(t, "", "")
	for _, id := range []string{
		rgID + "/providers/Microsoft.Network/virtualNetworks/..",
		rgID + "/providers/Microsoft.Network/virtualNetworks/v/subnets/.",
		strings.Replace(rgID, "/rg", "/..", 1) + "/providers/Microsoft.Network/virtualNetworks/v",
	} {
		n := vnetNode(rgID, "v", "10.0.0.0/16")
		n.ID = id
		if _, err := ap.Apply(ctx, n, &memInventory{}); err == nil || !strings.Contains(err.Error(), "segment") {
			t.Errorf("Apply %s = %v, want a refused segment", id, err)
		}
		if _, err := ap.Observe(ctx, n); err == nil {
			t.Errorf("Observe %s: want an error", id)
		}
		if err := ap.Delete(ctx, n, &memInventory{}); err == nil {
			t.Errorf("Delete %s: want an error", id)
		}
	}
	copyNode := &plan.Node{Key: "copy", Kind: plan.KindBlobCopy, Managed: true,
		ID:   rgID + "/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/vhds/blobs/..",
		Spec: plan.BlobCopy{SourceURL: env.URL + "/x/y/z.vhd", Account: "acct", Container: "vhds", Blob: ".."}}
	if _, err := ap.Apply(ctx, copyNode, &memInventory{}); err == nil || !strings.Contains(err.Error(), "segment") {
		t.Errorf("Apply of a blob copy to %q = %v, want a refused segment", copyNode.ID, err)
	}
	if _, after := env.Requests(t, "", ""); after != before {
		t.Errorf("%d request(s) reached the emulator", after-before)
	}
	if n := c.Requests()["GET blob"] + c.Requests()["HEAD blob"] + c.Requests()["PUT blob"]; n != 0 {
		t.Errorf("%d blob request(s) sent", n)
	}
}
