package emulatortest_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

func TestProductOf(t *testing.T) {
	for _, c := range []struct{ ua, want string }{
		{"strata-gateway/corp-gateway azsdk-go-armnetwork/v11.0.0 (go1.25; linux)", "strata-gateway/corp-gateway"},
		{"azsdk-go-armresources/v4.0.0 (go1.25; linux)", "azsdk-go-armresources/v4.0.0"},
		{"  curl/8.5.0", "curl/8.5.0"},
		{"", ""},
		{strings.Repeat("x", 300), strings.Repeat("x", 128)},
	} {
		if got := emulator.ProductOf(c.ua); got != c.want {
			t.Errorf("ProductOf(%q) = %q, want %q", c.ua, got, c.want)
		}
	}
	for _, c := range []struct {
		product, want string
		match         bool
	}{
		{"strata-gateway/corp-gateway", "strata-gateway/corp-gateway", true},
		{"strata-gateway/corp-gateway", "strata-gateway", true},
		{"strata-gatewayx", "strata-gateway", false},
		{"azsdk-go-armresources/v4.0.0", "strata-gateway", false},
	} {
		if got := emulator.MatchesProduct(c.product, c.want); got != c.match {
			t.Errorf("MatchesProduct(%q, %q) = %v", c.product, c.want, got)
		}
	}
}

// TestCallers checks the per-caller counters: a gateway's requests (its User-Agent first)
// are counted apart from the SDK's default ones, per kind and scope.
func TestCallers(t *testing.T) {
	e := emulatortest.Start(t)
	ctx := context.Background()
	gw := e.HTTPClientFrom(netip.MustParseAddr("127.0.0.1"), "strata-gateway/corp-gateway")
	cred, err := e.CredentialFor(gw)
	if err != nil {
		t.Fatal(err)
	}
	rgs, err := armresources.NewResourceGroupsClient(e.SubscriptionID, cred, e.ClientOptionsFor(gw))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rgs.CreateOrUpdate(ctx, "rg-gw", armresources.ResourceGroup{Location: to.Ptr(e.Location)}, nil); err != nil {
		t.Fatal(err)
	}
	bc, err := azblob.NewClientWithNoCredential(e.URL+"/strataimages/", &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: gw}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bc.ServiceClient().NewContainerClient("vhds").GetProperties(ctx, nil); err != nil {
		t.Fatal(err)
	}

	for _, kind := range []string{emulator.CallerARM, emulator.CallerToken, emulator.CallerBlob, ""} {
		if n := e.RequestsNotFrom(t, "strata-gateway", kind, ""); n != 0 {
			t.Errorf("%d %q requests from others than the gateway before the server's: %+v", n, kind, e.Callers(t))
		}
	}
	want := map[string]string{emulator.CallerARM: e.SubscriptionID, emulator.CallerToken: e.TenantID, emulator.CallerBlob: "strataimages"}
	for _, c := range e.Callers(t) {
		if c.Product != "strata-gateway/corp-gateway" || !strings.EqualFold(want[c.Kind], c.Scope) || c.Count < 1 {
			t.Errorf("counter %+v", c)
		}
		delete(want, c.Kind)
	}
	if len(want) > 0 {
		t.Errorf("no counters of %v", want)
	}

	e.ResourceGroup(t, "rg-server") // the SDK's own User-Agent
	if n := e.RequestsNotFrom(t, "strata-gateway", emulator.CallerARM, e.SubscriptionID); n != 1 {
		t.Errorf("%d ARM requests from others than the gateway, want 1: %+v", n, e.Callers(t))
	}
	if n := e.RequestsNotFrom(t, "strata-gateway", emulator.CallerBlob, "strataimages"); n != 0 {
		t.Errorf("%d blob requests from others than the gateway", n)
	}
	found := false
	for _, c := range e.Emulator.Callers() {
		found = found || c.Kind == emulator.CallerARM && strings.HasPrefix(c.Product, "azsdk-go-armresources/")
	}
	if !found {
		t.Errorf("no counter of the SDK's default product: %+v", e.Emulator.Callers())
	}
	if code := e.Admin(t, http.MethodPost, "/_emulator/reset", nil, nil); code != http.StatusNoContent {
		t.Fatalf("reset: %d", code)
	}
	if got := e.Callers(t); len(got) != 0 {
		t.Errorf("counters after a reset: %+v", got)
	}
}

// TestNetworksAdmin checks /_emulator/networks: bindings are validated, replaced, added, kept
// across a restart and removed.
func TestNetworksAdmin(t *testing.T) {
	vnet := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/corp"
	e := emulatortest.Start(t, func(o *emulator.Options) {
		o.Networks = []emulator.NetworkBinding{{Source: "127.0.9.1", Network: vnet}}
	})
	type list struct{ Networks []emulator.NetworkBinding }
	for _, c := range []struct {
		name   string
		method string
		in     any
		status int
		want   int // bindings after
	}{
		{"replace", http.MethodPut, map[string]any{"networks": []emulator.NetworkBinding{{Source: "127.0.5.0/24", Network: vnet + "/subnets/gw"}}}, http.StatusOK, 1},
		{"add one", http.MethodPost, emulator.NetworkBinding{Source: "127.0.6.0/24", Network: vnet}, http.StatusOK, 2},
		{"add the same source again", http.MethodPost, []emulator.NetworkBinding{{Source: "127.0.6.0/24", Network: vnet + "/subnets/x"}}, http.StatusOK, 2},
		{"cover 127.0.0.1", http.MethodPost, emulator.NetworkBinding{Source: "127.0.0.0/8", Network: vnet}, http.StatusBadRequest, 2},
		{"not an address", http.MethodPost, emulator.NetworkBinding{Source: "corp", Network: vnet}, http.StatusBadRequest, 2},
		{"not a VNet", http.MethodPost, emulator.NetworkBinding{Source: "127.0.7.0/24", Network: vnet + "/subnets/gw/ipConfigurations/x"}, http.StatusBadRequest, 2},
		{"a list with one bad binding", http.MethodPut, []emulator.NetworkBinding{{Source: "127.0.7.0/24", Network: vnet}, {Source: "::1", Network: vnet}}, http.StatusBadRequest, 2},
	} {
		var out list
		if status := e.Admin(t, c.method, "/_emulator/networks", c.in, &out); status != c.status {
			t.Errorf("%s: %d, want %d", c.name, status, c.status)
		}
		if got := e.Emulator.Networks(); len(got) != c.want {
			t.Errorf("%s: %d bindings, want %d: %+v", c.name, len(got), c.want, got)
		}
	}
	if got := e.Emulator.CallerNetwork(netip.MustParseAddr("127.0.6.20")); got != vnet+"/subnets/x" {
		t.Errorf("CallerNetwork = %q", got)
	}
	if got := e.Emulator.CallerNetwork(netip.MustParseAddr("127.0.0.1")); got != "" {
		t.Errorf("127.0.0.1 is in %q, want the internet", got)
	}
	e.Restart(t)
	var out list
	if e.Admin(t, http.MethodGet, "/_emulator/networks", nil, &out); len(out.Networks) != 3 {
		// the kept two, and the option's again
		t.Errorf("after a restart: %+v", out.Networks)
	}
	if code := e.Admin(t, http.MethodDelete, "/_emulator/networks", nil, nil); code != http.StatusNoContent || len(e.Emulator.Networks()) != 0 {
		t.Errorf("DELETE: %d, %+v", code, e.Emulator.Networks())
	}
}
