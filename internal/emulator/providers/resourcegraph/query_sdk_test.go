package resourcegraph_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"

	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
)

// nic creates a network interface in a subnet.
func (g *graphEnv) nic(t *testing.T, rg, name, subnetID string) {
	t.Helper()
	ctx := context.Background()
	p, err := g.nics.BeginCreateOrUpdate(ctx, rg, name, armnetwork.Interface{
		Location: to.Ptr(loc), Tags: map[string]*string{"env": to.Ptr("prod")},
		Properties: &armnetwork.InterfacePropertiesFormat{IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{
			Name: to.Ptr("ipconfig1"),
			Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
				Subnet:                    &armnetwork.Subnet{ID: to.Ptr(subnetID)},
				PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodDynamic),
			},
		}}},
	}, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, pollOpts)
	}
	if err != nil {
		t.Fatalf("creating NIC %s: %v", name, err)
	}
}

func TestQueryThroughTheSDK(t *testing.T) {
	g := start(t, resourcegraph.Options{Lag: -1, Quota: 1000})
	g.ResourceGroup(t, "RG-Graph")
	subnet := g.vnet(t, "RG-Graph", "vnet-prod", map[string]string{"env": "prod"})
	g.vnet(t, "RG-Graph", "vnet-dev", map[string]string{"env": "dev"})
	g.nic(t, "RG-Graph", "nic-1", subnet)

	// Subnets and the resource group are not in the Resources table.
	if got := namesOf(g.rows(t, "Resources")); !slices.Equal(got, []string{"nic-1", "vnet-dev", "vnet-prod"}) {
		t.Fatalf("Resources: %v", got)
	}
	tests := []struct{ query, want string }{
		{"Resources | where tags['env'] == 'prod'", "[nic-1 vnet-prod]"},
		{"Resources | where type =~ 'Microsoft.Network/virtualNetworks' and tags.env == 'dev'", "[vnet-dev]"},
		{"Resources | where type == 'microsoft.network/networkinterfaces'", "[nic-1]"},
		{"Resources | where resourceGroup == 'rg-graph' | where name startswith 'VNET'", "[vnet-dev vnet-prod]"},
		{"Resources | where type contains 'subnets'", "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(namesOf(g.rows(t, tt.query))); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.query, got, tt.want)
		}
	}

	rows := g.rows(t, "Resources | where name == 'vnet-prod'")
	r := rows[0]
	if r["type"] != "microsoft.network/virtualnetworks" || r["resourceGroup"] != "rg-graph" || r["tenantId"] != g.TenantID ||
		r["subscriptionId"] != g.SubscriptionID || r["location"] != loc || r["kind"] != "" {
		t.Errorf("row %v", r)
	}
	props, _ := r["properties"].(map[string]any)
	if props["provisioningState"] != "Succeeded" || props["addressSpace"] == nil {
		t.Errorf("properties %v", props)
	}
	for _, col := range []string{"managedBy", "sku", "plan", "identity", "zones", "extendedLocation", "tags"} {
		if _, ok := r[col]; !ok {
			t.Errorf("column %s missing", col)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	g := start(t, resourcegraph.Options{Lag: -1, Quota: 1000})
	_, _, err := g.query(t, "Resources | summarize count() by type", nil)
	wantQueryError(t, err, "InvalidQuery")
	_, _, err = g.query(t, "Resources | where name = 'x'", nil)
	wantQueryError(t, err, "InvalidQuery")
	_, _, err = g.query(t, "Resources", &armresourcegraph.QueryRequestOptions{Top: to.Ptr[int32](1001)})
	wantQueryError(t, err, "")
}

func TestTableFormat(t *testing.T) {
	g := start(t, resourcegraph.Options{Lag: -1, Quota: 1000})
	g.ResourceGroup(t, "rg")
	g.vnet(t, "rg", "vnet", nil)
	resp, _, err := g.query(t, "Resources | project name, type", &armresourcegraph.QueryRequestOptions{
		ResultFormat: to.Ptr(armresourcegraph.ResultFormatTable)})
	if err != nil {
		t.Fatal(err)
	}
	tbl, _ := resp.Data.(map[string]any)
	cols, _ := tbl["columns"].([]any)
	rows, _ := tbl["rows"].([]any)
	if len(cols) != 2 || len(rows) != 1 || fmt.Sprint(rows[0]) != "[vnet microsoft.network/virtualnetworks]" {
		t.Errorf("table %v", tbl)
	}
}

func TestPaging(t *testing.T) {
	g := start(t, resourcegraph.Options{Lag: -1, Quota: 1000})
	g.ResourceGroup(t, "rg")
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("vnet-%d", i)
		g.vnet(t, "rg", name, nil)
		want = append(want, name)
	}
	const q = "Resources | where type =~ 'microsoft.network/virtualnetworks' | project id, name"
	opts := &armresourcegraph.QueryRequestOptions{Top: to.Ptr[int32](3)}
	var got []string
	var pages int
	for {
		resp, _, err := g.query(t, q, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		rows := dataRows(t, resp)
		if *resp.TotalRecords != 7 || *resp.Count != int64(len(rows)) || *resp.ResultTruncated != armresourcegraph.ResultTruncatedFalse {
			t.Fatalf("page %d: total %d count %d for %d rows", pages, *resp.TotalRecords, *resp.Count, len(rows))
		}
		for _, r := range rows {
			got = append(got, r["name"].(string))
		}
		if resp.SkipToken == nil {
			break
		}
		opts = &armresourcegraph.QueryRequestOptions{Top: to.Ptr[int32](3), SkipToken: resp.SkipToken}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	slices.Sort(got)
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages, rows %v", pages, got)
	}

	// A token is refused with another query.
	first, _, err := g.query(t, q, &armresourcegraph.QueryRequestOptions{Top: to.Ptr[int32](3)})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = g.query(t, "Resources", &armresourcegraph.QueryRequestOptions{SkipToken: first.SkipToken})
	wantQueryError(t, err, "InvalidSkipToken")
	// The default page is 100 rows, and $skip skips.
	resp, _, err := g.query(t, q, &armresourcegraph.QueryRequestOptions{Skip: to.Ptr[int32](5)})
	if err != nil || *resp.Count != 2 || resp.SkipToken != nil {
		t.Fatalf("$skip 5: %v %v", err, resp)
	}
}

func TestQuota(t *testing.T) {
	g := start(t, resourcegraph.Options{Lag: -1, Quota: 3})
	for i, want := range []string{"2", "1", "0"} {
		_, h, err := g.query(t, "Resources", nil)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if got := h.Get("x-ms-user-quota-remaining"); got != want {
			t.Errorf("query %d: remaining %q, want %s", i, got, want)
		}
		if got := h.Get("x-ms-user-quota-resets-after"); got < "00:00:00" || got > "00:00:05" || len(got) != 8 {
			t.Errorf("query %d: resets after %q", i, got)
		}
	}
	_, h, err := g.query(t, "Resources", nil)
	if err == nil {
		t.Fatal("the fourth query in the window succeeded")
	}
	status, body := errorBody(t, err)
	if status != http.StatusTooManyRequests || body.Error.Code != "RateLimiting" {
		t.Fatalf("answer %d %+v", status, body)
	}
	if h.Get("x-ms-user-quota-remaining") != "0" || h.Get("x-ms-user-quota-resets-after") == "" || h.Get("Retry-After") == "" {
		t.Errorf("429 header %v", h)
	}
}
