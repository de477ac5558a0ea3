package v1alpha1

import "testing"

func TestValidateAzureName(t *testing.T) {
	const sub = "8f0b6a4e-3c1d-4e2f-9a7b-5c6d7e8f9a0b"
	tests := []struct {
		kind AzureName
		v    string
		rule Rule // "" = valid
	}{
		{AzureSubscriptionID, sub, ""},
		{AzureSubscriptionID, "", RuleRequired},
		{AzureSubscriptionID, "../" + sub, RuleFormat},
		{AzureSubscriptionID, sub + "/resourceGroups/x", RuleFormat},
		{AzureLocation, "westeurope", ""},
		{AzureLocation, "westeurope' or location ne '", RuleFormat},
		{AzureLocation, "West Europe", RuleFormat},
		{AzureResourceGroup, "my-rg_1.(a)", ""},
		{AzureResourceGroup, "..", RuleFormat},
		{AzureResourceGroup, ".", RuleFormat},
		{AzureResourceGroup, "rg/../x", RuleFormat},
		{AzureResourceGroup, "rg?api-version=1", RuleFormat},
		{AzureStorageAccount, "strata0123", ""},
		{AzureStorageAccount, "..", RuleFormat},
		{AzureStorageAccount, "a/b", RuleFormat},
		{"vnet", "x", RuleEnum},
	}
	for _, tt := range tests {
		errs := ValidateAzureName(tt.kind, "q", tt.v)
		switch {
		case tt.rule == "" && len(errs) > 0:
			t.Errorf("%s %q: %v, want valid", tt.kind, tt.v, errs)
		case tt.rule != "" && (len(errs) != 1 || errs[0].Rule != tt.rule || errs[0].Field != "q"):
			t.Errorf("%s %q: %v, want one %s error of field q", tt.kind, tt.v, errs, tt.rule)
		}
	}
}
