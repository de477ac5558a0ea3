package network_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
)

// The conformance tests drive the emulator with the official armnetwork/v11 clients over
// HTTPS, as a real program would.

const (
	rgName    = "rg-net"
	zonalLoc  = "westeurope"    // zones 1-3
	noZoneLoc = "westcentralus" // no availability zones
)

// fixture is a running emulator with a resource group and armnetwork clients.
type fixture struct {
	t   *testing.T
	env *emulatortest.Env
	ctx context.Context
	f   *armnetwork.ClientFactory
	sub string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	// Resource Graph without lag: checkGraphMatchesGets compares it with GETs.
	env := emulatortest.Start(t, func(o *emulator.Options) { o.ResourceGraph = resourcegraph.Options{Lag: -1, Quota: 1000} })
	env.ResourceGroup(t, rgName)
	f, err := armnetwork.NewClientFactory(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatalf("armnetwork client factory: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return &fixture{t: t, env: env, ctx: ctx, f: f, sub: env.SubscriptionID}
}

// id returns the ID of a Microsoft.Network resource of the fixture's resource group, e.g.
// id("virtualNetworks", "v", "subnets", "s").
func (fx *fixture) id(typeAndNames ...string) string {
	return "/subscriptions/" + fx.sub + "/resourceGroups/" + rgName + "/providers/Microsoft.Network/" + strings.Join(typeAndNames, "/")
}

var pollFast = &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

// done waits for a long-running operation that must succeed:
// done(client.BeginX(...))(t, "what").
func done[T any](p *runtime.Poller[T], err error) func(t *testing.T, what string) T {
	return func(t *testing.T, what string) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		res, err := p.PollUntilDone(context.Background(), pollFast)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res
	}
}

// outcome returns the error of a long-running operation: of its first request or of its
// polling.
func outcome[T any](p *runtime.Poller[T], err error) error {
	if err != nil {
		return err
	}
	_, err = p.PollUntilDone(context.Background(), pollFast)
	return err
}

// wantError checks that err is an ARM error with the status and code.
func wantError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Errorf("%s: error = %v, want %d %s", what, err, status, code)
		return
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Errorf("%s: %d %s, want %d %s\n%v", what, re.StatusCode, re.ErrorCode, status, code, err)
	}
}

// wantNotFound checks that a GET answers 404 ResourceNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	wantError(t, what, err, http.StatusNotFound, "ResourceNotFound")
}

// raw sends a request with the fixture's credential and returns the status and JSON body.
func (fx *fixture) raw(method, id string, body any, header http.Header) (int, map[string]any) {
	fx.t.Helper()
	tok, err := fx.env.Cred.GetToken(fx.ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		fx.t.Fatalf("token: %v", err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			fx.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(fx.ctx, method, fx.env.URL+id+"?api-version=2025-09-01", rd)
	if err != nil {
		fx.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := fx.env.HTTPClient.Do(req)
	if err != nil {
		fx.t.Fatalf("%s %s: %v", method, id, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(b)) > 0 {
		_ = json.Unmarshal(b, &out)
	}
	return resp.StatusCode, out
}

// checkStaleETag checks that a PUT with a stale If-Match is refused with 412 and that the
// current etag is accepted (none of the network clients exposes If-Match).
func (fx *fixture) checkStaleETag(id string) {
	fx.t.Helper()
	status, cur := fx.raw(http.MethodGet, id, nil, nil)
	etag, _ := cur["etag"].(string)
	if status != http.StatusOK || etag == "" {
		fx.t.Fatalf("GET %s: %d, etag %q", id, status, etag)
	}
	delete(cur, "etag")
	status, body := fx.raw(http.MethodPut, id, cur, http.Header{"If-Match": {`W/"00000000-stale"`}})
	if code, _ := errorCode(body); status != http.StatusPreconditionFailed || code != "PreconditionFailed" {
		fx.t.Errorf("PUT %s with a stale If-Match: %d %s, want 412 PreconditionFailed", id, status, code)
	}
	if status, body := fx.raw(http.MethodPut, id, cur, http.Header{"If-Match": {etag}}); status != http.StatusOK {
		fx.t.Errorf("PUT %s with the current If-Match: %d %v", id, status, body)
	}
}

func errorCode(body map[string]any) (string, bool) {
	e, ok := body["error"].(map[string]any)
	if !ok {
		return "", false
	}
	c, ok := e["code"].(string)
	return c, ok
}

// Model builders.

func vnet(loc string, space []string, subnets ...*armnetwork.Subnet) armnetwork.VirtualNetwork {
	return armnetwork.VirtualNetwork{
		Location: to.Ptr(loc),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs(space...)},
			Subnets:      subnets,
		},
	}
}

func subnet(name, prefix string) *armnetwork.Subnet {
	return &armnetwork.Subnet{Name: to.Ptr(name), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr(prefix)}}
}

func subRef(id string) *armnetwork.SubResource { return &armnetwork.SubResource{ID: to.Ptr(id)} }

func standardPIP(loc string, zones ...string) armnetwork.PublicIPAddress {
	return armnetwork.PublicIPAddress{
		Location: to.Ptr(loc),
		SKU:      &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
		Zones:    to.SliceOfPtrs(zones...),
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{
			PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
		},
	}
}

func nic(loc, subnetID string) armnetwork.Interface {
	return armnetwork.Interface{
		Location: to.Ptr(loc),
		Properties: &armnetwork.InterfacePropertiesFormat{
			IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{
				Name: to.Ptr("ipconfig1"),
				Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
					Subnet: &armnetwork.Subnet{ID: to.Ptr(subnetID)},
				},
			}},
		},
	}
}

func rule(name string, priority int32, direction armnetwork.SecurityRuleDirection) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: ruleProps(priority, direction)}
}

func ruleProps(priority int32, direction armnetwork.SecurityRuleDirection) *armnetwork.SecurityRulePropertiesFormat {
	return &armnetwork.SecurityRulePropertiesFormat{
		Priority:                 to.Ptr(priority),
		Direction:                to.Ptr(direction),
		Access:                   to.Ptr(armnetwork.SecurityRuleAccessAllow),
		Protocol:                 to.Ptr(armnetwork.SecurityRuleProtocolTCP),
		SourceAddressPrefix:      to.Ptr("*"),
		SourcePortRange:          to.Ptr("*"),
		DestinationAddressPrefix: to.Ptr("*"),
		DestinationPortRange:     to.Ptr("22"),
	}
}

// listNames returns the names of the resources a pager lists.
func listNames[T any](t *testing.T, pager *runtime.Pager[T]) []string {
	t.Helper()
	var out []string
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		b, err := json.Marshal(page)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Value []struct{ Name string } `json:"value"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		for _, item := range v.Value {
			out = append(out, item.Name)
		}
	}
	return out
}

func tags(kv ...string) map[string]*string {
	m := map[string]*string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = to.Ptr(kv[i+1])
	}
	return m
}

// outcomeOf returns the result and the error of a long-running operation: of its first
// request or of its polling.
func outcomeOf[T any](p *runtime.Poller[T], err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	return p.PollUntilDone(context.Background(), pollFast)
}
