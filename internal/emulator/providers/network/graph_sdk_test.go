package network_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
)

// checkGraphMatchesGets checks that Resource Graph shows every network resource of the
// fixture's subscription with the properties its GET answers: a query renders the whole cloud
// from indexes kept for the query (the users of subnets, public IPs, NSGs, route tables, NAT
// gateways and backend pools), a GET finds them by scanning.
func (fx *fixture) checkGraphMatchesGets(t *testing.T) {
	t.Helper()
	graph, err := armresourcegraph.NewClient(fx.env.Cred, fx.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	generic, err := armresources.NewClient(fx.sub, fx.env.Cred, fx.env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := graph.Resources(fx.ctx, armresourcegraph.QueryRequest{
		Query:         to.Ptr("Resources | where type startswith 'microsoft.network/'"),
		Subscriptions: []*string{to.Ptr(fx.sub)},
	}, nil)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	rows, _ := resp.Data.([]any)
	if len(rows) == 0 {
		t.Fatal("Resource Graph shows no network resource")
	}
	for _, r := range rows {
		row, _ := r.(map[string]any)
		id, _ := row["id"].(string)
		got, err := generic.GetByID(fx.ctx, id, "2024-05-01", nil)
		if err != nil {
			t.Errorf("GET %s: %v", id, err)
			continue
		}
		if want, have := normalized(t, got.Properties), normalized(t, row["properties"]); !reflect.DeepEqual(want, have) {
			t.Errorf("%s: Resource Graph shows properties\n%v\nits GET\n%v", id[strings.LastIndex(id, "/providers/"):], have, want)
		}
	}
}

// normalized is v through JSON, as a generic value.
func normalized(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
