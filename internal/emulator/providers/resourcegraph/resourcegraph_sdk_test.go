package resourcegraph_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
)

const loc = "westeurope"

var pollOpts = &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}

// graphEnv is an emulator with the Resource Graph options and the clients a test needs.
type graphEnv struct {
	*emulatortest.Env
	graph *armresourcegraph.Client
	vnets *armnetwork.VirtualNetworksClient
	nics  *armnetwork.InterfacesClient
}

// start starts an emulator with Resource Graph options; its graph client does not retry, so
// that a 429 reaches the test.
func start(t *testing.T, o resourcegraph.Options) *graphEnv {
	t.Helper()
	env := emulatortest.Start(t, func(opts *emulator.Options) { opts.ResourceGraph = o })
	g := &graphEnv{Env: env}
	var err error
	if g.graph, err = armresourcegraph.NewClient(env.Cred, env.NewClientOptions(policy.RetryOptions{MaxRetries: -1})); err != nil {
		t.Fatal(err)
	}
	if g.vnets, err = armnetwork.NewVirtualNetworksClient(env.SubscriptionID, env.Cred, env.ClientOptions); err != nil {
		t.Fatal(err)
	}
	if g.nics, err = armnetwork.NewInterfacesClient(env.SubscriptionID, env.Cred, env.ClientOptions); err != nil {
		t.Fatal(err)
	}
	return g
}

// vnet creates a VNet with a subnet and tags and returns the subnet's ID.
func (g *graphEnv) vnet(t *testing.T, rg, name string, tags map[string]string) string {
	t.Helper()
	ctx := context.Background()
	tg := map[string]*string{}
	for k, v := range tags {
		tg[k] = to.Ptr(v)
	}
	p, err := g.vnets.BeginCreateOrUpdate(ctx, rg, name, armnetwork.VirtualNetwork{
		Location: to.Ptr(loc), Tags: tg,
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}},
			Subnets:      []*armnetwork.Subnet{{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.1.0/24")}}},
		},
	}, nil)
	if err != nil {
		t.Fatalf("creating VNet %s: %v", name, err)
	}
	v, err := p.PollUntilDone(ctx, pollOpts)
	if err != nil {
		t.Fatalf("creating VNet %s: %v", name, err)
	}
	return *v.Properties.Subnets[0].ID
}

// query runs a query over the emulator's subscription and returns the answer and its header.
func (g *graphEnv) query(t *testing.T, q string, opts *armresourcegraph.QueryRequestOptions) (armresourcegraph.QueryResponse, http.Header, error) {
	t.Helper()
	var raw *http.Response
	ctx := policy.WithCaptureResponse(context.Background(), &raw)
	resp, err := g.graph.Resources(ctx, armresourcegraph.QueryRequest{
		Query: to.Ptr(q), Subscriptions: []*string{to.Ptr(g.SubscriptionID)}, Options: opts,
	}, nil)
	if err != nil {
		if re := emulatortest.ResponseError(t, err); re.RawResponse != nil {
			return resp.QueryResponse, re.RawResponse.Header, err
		}
		return resp.QueryResponse, nil, err
	}
	return resp.QueryResponse, raw.Header, nil
}

// rows runs a query that must succeed and returns its rows.
func (g *graphEnv) rows(t *testing.T, q string) []map[string]any {
	t.Helper()
	resp, _, err := g.query(t, q, nil)
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	return dataRows(t, resp)
}

// dataRows decodes the objectArray data of an answer.
func dataRows(t *testing.T, resp armresourcegraph.QueryResponse) []map[string]any {
	t.Helper()
	list, ok := resp.Data.([]any)
	if !ok {
		t.Fatalf("data is %T, want an array", resp.Data)
	}
	out := make([]map[string]any, len(list))
	for i, r := range list {
		out[i] = r.(map[string]any)
	}
	return out
}

func namesOf(rows []map[string]any) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r["name"].(string))
	}
	slices.Sort(out)
	return out
}

// errorBody reads the ARM error answer of a failed call.
func errorBody(t *testing.T, err error) (status int, body struct {
	Error struct {
		Code    string
		Details []struct{ Code, Message string }
	}
}) {
	t.Helper()
	re := emulatortest.ResponseError(t, err)
	b, rerr := io.ReadAll(re.RawResponse.Body)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if jerr := json.Unmarshal(b, &body); jerr != nil {
		t.Fatalf("error body %s: %v", b, jerr)
	}
	return re.StatusCode, body
}

// wantQueryError checks that err is Resource Graph's 400 for a bad query or option, with
// detail as the code of its first detail ("" for none).
func wantQueryError(t *testing.T, err error, detail string) {
	t.Helper()
	if err == nil {
		t.Fatal("the query succeeded")
	}
	status, body := errorBody(t, err)
	first := ""
	if len(body.Error.Details) > 0 {
		first = body.Error.Details[0].Code
	}
	if status != http.StatusBadRequest || body.Error.Code != "BadRequest" || first != detail {
		t.Fatalf("answer %d %+v, want 400 BadRequest with detail %s", status, body, detail)
	}
}
