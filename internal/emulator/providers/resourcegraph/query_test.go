package resourcegraph

import (
	"errors"
	"slices"
	"testing"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

const sub = "00000000-0000-0000-0000-000000000001"

// sampleRows are three resources: two VNets and a NIC in two resource groups.
func sampleRows() []row {
	res := []*arm.Resource{
		{ID: "/subscriptions/" + sub + "/resourceGroups/RG-A/providers/Microsoft.Network/virtualNetworks/vnet-a", Type: "Microsoft.Network/virtualNetworks",
			Body: map[string]any{"location": "westeurope", "tags": map[string]any{"env": "prod", "owner": "Ann"}}},
		{ID: "/subscriptions/" + sub + "/resourceGroups/rg-b/providers/Microsoft.Network/virtualNetworks/vnet-b", Type: "Microsoft.Network/virtualNetworks",
			Body: map[string]any{"location": "northeurope", "tags": map[string]any{"env": "dev"}}},
		{ID: "/subscriptions/" + sub + "/resourceGroups/rg-b/providers/Microsoft.Network/networkInterfaces/nic-1", Type: "Microsoft.Network/networkInterfaces",
			Body: map[string]any{"location": "westeurope"}},
	}
	out := make([]row, len(res))
	for i, r := range res {
		out[i] = rowOf(r, "tenant")
	}
	return out
}

func names(rows []row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r["name"].(string))
	}
	return out
}

func TestQueries(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"Resources", []string{"vnet-a", "vnet-b", "nic-1"}},
		{"resources", []string{"vnet-a", "vnet-b", "nic-1"}},
		{"where location == 'westeurope'", []string{"vnet-a", "nic-1"}},
		{"Resources | where type == 'microsoft.network/virtualnetworks'", []string{"vnet-a", "vnet-b"}},
		{"Resources | where type == 'Microsoft.Network/virtualNetworks'", nil}, // == is case-sensitive
		{"Resources | where type =~ 'Microsoft.Network/virtualNetworks'", []string{"vnet-a", "vnet-b"}},
		{"Resources | where name != 'vnet-a'", []string{"vnet-b", "nic-1"}},
		{"Resources | where name != 'VNET-A'", []string{"vnet-a", "vnet-b", "nic-1"}},
		{"Resources | where name !~ 'VNET-A'", []string{"vnet-b", "nic-1"}},
		{"Resources | where name in ('nic-1', 'vnet-b', 'VNET-A')", []string{"vnet-b", "nic-1"}},
		{"Resources | where name in~ ('NIC-1', 'VNET-A')", []string{"vnet-a", "nic-1"}},
		{"Resources | where id contains 'VIRTUALNETWORKS/VNET'", []string{"vnet-a", "vnet-b"}},
		{"Resources | where name startswith 'VNET'", []string{"vnet-a", "vnet-b"}},
		{"Resources | where name startswith 'net'", nil},
		{"Resources | where resourceGroup == 'rg-a'", []string{"vnet-a"}}, // lower-cased
		{"Resources | where subscriptionId == '" + sub + "' and name == 'nic-1'", []string{"nic-1"}},
		{"Resources | where tags['env'] == 'prod'", []string{"vnet-a"}},
		{"Resources | where isnotempty(tags['owner'])", []string{"vnet-a"}},
		{"Resources | where isempty(tags.owner) and isnotempty(tags['env'])", []string{"vnet-b"}},
		{"Resources | where isnotempty(tags['owner']) or name == 'nic-1'", []string{"vnet-a", "nic-1"}},
		{"Resources | where tags.env == 'dev' or tags.owner =~ 'ann'", []string{"vnet-a", "vnet-b"}},
		{"Resources | where tags.env == ''", []string{"nic-1"}},
		{"Resources | where location == 'westeurope' and (name == 'nic-1' or name == 'vnet-b')", []string{"nic-1"}},
		{"Resources | where name == 'nic-1' or name == 'vnet-a' and location == 'northeurope'", []string{"nic-1"}}, // and binds tighter
		{"Resources | where (name == 'nic-1' or name == 'vnet-a') and location == 'westeurope'", []string{"vnet-a", "nic-1"}},
		{"Resources | order by name asc", []string{"nic-1", "vnet-a", "vnet-b"}},
		{"Resources | order by name", []string{"vnet-b", "vnet-a", "nic-1"}}, // KQL: desc by default
		{"Resources | sort by location asc, name desc", []string{"vnet-b", "vnet-a", "nic-1"}},
		{"Resources | order by name asc | limit 2", []string{"nic-1", "vnet-a"}},
		{"Resources | take 1", []string{"vnet-a"}},
		{"Resources | project name, location | where location == 'northeurope'", []string{"vnet-b"}},
		{"Resources | where type contains 'virtualnetworks' | project name, tags.env | where tags_env == 'dev'", []string{"vnet-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := parse(tt.query)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := names(q.run(sampleRows())); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProjectColumns(t *testing.T) {
	q, err := parse("Resources | where name == 'vnet-a' | project name, tags['owner'], type")
	if err != nil {
		t.Fatal(err)
	}
	rows := q.run(sampleRows())
	if len(rows) != 1 || len(rows[0]) != 3 || rows[0]["tags_owner"] != "Ann" || rows[0]["type"] != "microsoft.network/virtualnetworks" {
		t.Fatalf("rows %v", rows)
	}
	if got := q.columnsOf(); !slices.Equal(got, []string{"name", "tags_owner", "type"}) {
		t.Errorf("columns %v", got)
	}
}

func TestBadQueries(t *testing.T) {
	tests := []struct{ query, code string }{
		{"", codeParser},
		{"ResourceContainers", codeTable},
		{"Resources | summarize count() by type", codeUnsupported},
		{"Resources | extend x = 1", codeUnsupported},
		{"Resources | where", codeParser},
		{"Resources | where name > 'a'", codeParser},
		{"Resources | where name", codeParser},
		{"Resources | where name == ", codeParser},
		{"Resources | where name == 'a", codeParser},
		{"Resources | where name matches regex 'a'", codeUnsupported},
		{"Resources | where name == 1", codeParser},
		{"Resources | where Name == 'a'", codeColumn}, // column names are case-sensitive
		{"Resources | where foo == 'a'", codeColumn},
		{"Resources | where (name == 'a'", codeParser},
		{"Resources | where name in 'a'", codeParser},
		{"Resources | where name in ('a' 'b')", codeParser},
		{"Resources | where tags[env] == 'a'", codeParser},
		{"Resources | project name | where location == 'x'", codeColumn},
		{"Resources | project name | where tags.env == 'x'", codeColumn},
		{"Resources | order name", codeParser},
		{"Resources | limit x", codeParser},
		{"Resources | take", codeParser},
		{"Resources where name == 'a'", codeParser},
		{"Resources | where name == 'a' ;", codeParser},
		{"| where name == 'a'", codeParser},
		{"Resources | where isnotempty tags.env", codeParser},
		{"Resources | where isnotempty(tags.env", codeParser},
		{"Resources | where isempty(foo)", codeColumn},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := parse(tt.query)
			var qe *queryError
			if !errors.As(err, &qe) {
				t.Fatalf("err %v, want a query error", err)
			}
			if qe.code != tt.code {
				t.Errorf("code %s (%s), want %s", qe.code, qe.msg, tt.code)
			}
			ae := invalidQuery(err)
			if ae.Status != 400 || ae.Code != "BadRequest" || len(ae.Details) != 2 || ae.Details[0].Code != "InvalidQuery" || ae.Details[1].Code != tt.code {
				t.Errorf("answer %+v", ae)
			}
		})
	}
}
