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

		// subscriptions needs no subscription; one given obeys its rule.
		{"subscriptions", Call{Op: "subscriptions"}, "", ""},
		{"subscriptions with a subscription", Call{SubscriptionID: sub, Op: "subscriptions"}, "", ""},
		{"subscriptions with a bad subscription", Call{SubscriptionID: "../x", Op: "subscriptions"}, "subscriptionID", v1alpha1.RuleFormat},
		{"subscriptions with a parameter", Call{Op: "subscriptions", Params: map[string]string{"resourceGroup": "rg"}}, "resourceGroup", v1alpha1.RuleEnum},
		{"another lookup without a subscription", Call{Op: "resourcegroups"}, "subscriptionID", v1alpha1.RuleRequired},
		{"virtual networks without a subscription", Call{Op: "virtualnetworks"}, "subscriptionID", v1alpha1.RuleRequired},

		// The resource group is optional where a list may cover the subscription; given, even
		// empty, it obeys its rule.
		{"virtual networks of the subscription", Call{SubscriptionID: sub, Op: "virtualnetworks"}, "", ""},
		{"storage accounts of the subscription", Call{SubscriptionID: sub, Op: "storageaccounts"}, "", ""},
		{"NSGs of the subscription", Call{SubscriptionID: sub, Op: "networksecuritygroups"}, "", ""},
		{"NSGs of a group", Call{SubscriptionID: sub, Op: "networksecuritygroups", Params: map[string]string{"resourceGroup": "rg"}}, "", ""},
		{"NSGs of a traversal", Call{SubscriptionID: sub, Op: "networksecuritygroups", Params: map[string]string{"resourceGroup": "../.."}}, "resourceGroup", v1alpha1.RuleFormat},
		{"storage accounts of a slash", Call{SubscriptionID: sub, Op: "storageaccounts", Params: map[string]string{"resourceGroup": "rg/x"}}, "resourceGroup", v1alpha1.RuleFormat},
		{"virtual networks of an empty group", Call{SubscriptionID: sub, Op: "virtualnetworks", Params: map[string]string{"resourceGroup": ""}}, "resourceGroup", v1alpha1.RuleRequired},
		{"NSGs with a storage account", Call{SubscriptionID: sub, Op: "networksecuritygroups", Params: map[string]string{"storageAccount": "acct1"}}, "storageAccount", v1alpha1.RuleEnum},
		{"containers keep needing the group", Call{SubscriptionID: sub, Op: "containers", Params: map[string]string{"storageAccount": "acct1"}}, "resourceGroup", v1alpha1.RuleRequired},
		{"kubeconfig keeps needing the group", Call{SubscriptionID: sub, Op: OpKubeconfig, Params: map[string]string{"name": "aks-1"}}, "resourceGroup", v1alpha1.RuleRequired},
		{"kubeconfig with an empty admin", Call{SubscriptionID: sub, Op: OpKubeconfig, Params: map[string]string{"resourceGroup": "rg", "name": "aks-1", "admin": ""}}, "admin", v1alpha1.RuleEnum},
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
	if got != "containers,locations,networksecuritygroups,resourcegroups,storageaccounts,subscriptions,virtualnetworks,vmsizes" {
		t.Fatalf("Lookups() = %s", got)
	}
}

func TestParameters(t *testing.T) {
	tests := []struct {
		op                   string
		required, optional   string
		subscriptionOptional bool
	}{
		{"subscriptions", "", "", true},
		{"locations", "", "", false},
		{"virtualnetworks", "", "resourceGroup", false},
		{"networksecuritygroups", "", "resourceGroup", false},
		{"storageaccounts", "", "resourceGroup", false},
		{"containers", "resourceGroup,storageAccount", "", false},
		{OpKubeconfig, "resourceGroup,name", "admin", false},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			req, ok := Params(tt.op)
			if !ok || strings.Join(req, ",") != tt.required || strings.Join(Optional(tt.op), ",") != tt.optional ||
				SubscriptionOptional(tt.op) != tt.subscriptionOptional {
				t.Errorf("Params = %v, %v; Optional = %v; SubscriptionOptional = %v; want %q, %q, %v",
					req, ok, Optional(tt.op), SubscriptionOptional(tt.op), tt.required, tt.optional, tt.subscriptionOptional)
			}
		})
	}
}
