package azurecall

import (
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestValidate(t *testing.T) {
	const sub = "0b4e7f2a-4c11-4d6f-9d2e-5a3c8e1f0b7d"
	tests := []struct {
		name  string
		call  Call
		field string // "" when valid
		rule  v1alpha1.Rule
	}{
		{"locations", Call{SubscriptionID: sub, Op: "locations"}, "", ""},
		{"containers", Call{SubscriptionID: sub, Op: "containers", Params: map[string]string{"resourceGroup": "rg", "storageAccount": "acct1"}}, "", ""},
		{"kubeconfig", Call{SubscriptionID: sub, Op: OpKubeconfig, Params: map[string]string{"resourceGroup": "rg", "name": "aks-1"}}, "", ""},
		{"admin kubeconfig", Call{SubscriptionID: sub, Op: OpKubeconfig, Params: map[string]string{"resourceGroup": "rg", "name": "aks-1", "admin": "true"}}, "", ""},
		{"unknown operation", Call{SubscriptionID: sub, Op: "disks"}, "op", v1alpha1.RuleEnum},
		{"bad subscription", Call{SubscriptionID: "../x", Op: "locations"}, "subscriptionID", v1alpha1.RuleFormat},
		{"unknown parameter", Call{SubscriptionID: sub, Op: "locations", Params: map[string]string{"resourceGroup": "rg"}}, "resourceGroup", v1alpha1.RuleEnum},
		{"missing parameter", Call{SubscriptionID: sub, Op: "vmsizes"}, "location", v1alpha1.RuleRequired},
		{"traversal", Call{SubscriptionID: sub, Op: "virtualnetworks", Params: map[string]string{"resourceGroup": ".."}}, "resourceGroup", v1alpha1.RuleFormat},
		{"AKS name with a slash", Call{SubscriptionID: sub, Op: OpKubeconfig, Params: map[string]string{"resourceGroup": "rg", "name": "a/b"}}, "name", v1alpha1.RuleFormat},
		{"AKS name ending in a hyphen", Call{SubscriptionID: sub, Op: OpKubeconfig, Params: map[string]string{"resourceGroup": "rg", "name": "aks-"}}, "name", v1alpha1.RuleFormat},
		{"admin neither true nor false", Call{SubscriptionID: sub, Op: OpKubeconfig, Params: map[string]string{"resourceGroup": "rg", "name": "aks", "admin": "yes"}}, "admin", v1alpha1.RuleEnum},
		{"admin on a lookup", Call{SubscriptionID: sub, Op: "locations", Params: map[string]string{"admin": "true"}}, "admin", v1alpha1.RuleEnum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := Validate(tt.call)
			if tt.field == "" {
				if len(errs) > 0 {
					t.Fatalf("valid call refused: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Rule != tt.rule {
				t.Fatalf("errors %v, want one %s error at %s", errs, tt.rule, tt.field)
			}
		})
	}
}

func TestLookupsExcludeTheKubeconfig(t *testing.T) {
	got := strings.Join(Lookups(), ",")
	if got != "containers,locations,resourcegroups,storageaccounts,virtualnetworks,vmsizes" {
		t.Fatalf("Lookups() = %s", got)
	}
}
