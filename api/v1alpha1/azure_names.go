package v1alpha1

// AzureName is a kind of Azure value that strata's specs hold and that becomes a segment of
// an Azure Resource Manager path (or, for a location, an OData filter value).
type AzureName string

// The kinds of Azure names ValidateAzureName checks.
const (
	AzureSubscriptionID AzureName = "subscription ID"
	AzureLocation       AzureName = "location"
	AzureResourceGroup  AzureName = "resource group"
	AzureStorageAccount AzureName = "storage account"
)

// ValidateAzureName checks v, the value of field p, by the rule the spec's fields of that kind
// obey (spec.azure.subscriptionID, spec.azure.location, spec.azure.resourceGroup,
// spec.azure.storage.account), for values that arrive elsewhere than in a spec, such as the
// query parameters of the server's lookups. A value it accepts is a single path segment: it
// holds no '/', and is not "." or "..". An empty value breaks RuleRequired.
func ValidateAzureName(kind AzureName, p Path, v string) ErrorList {
	var errs ErrorList
	switch kind {
	case AzureSubscriptionID:
		checkGUID(&errs, p, v)
	case AzureLocation:
		checkLocation(&errs, p, v)
	case AzureResourceGroup:
		checkResourceGroup(&errs, p, v)
	case AzureStorageAccount:
		checkStorageAccountName(&errs, p, v)
	default:
		errs.Add(p, RuleEnum, "unknown kind of Azure name %q", string(kind))
	}
	return errs
}

// checkLocation checks a required Azure region name: lowercase letters and digits, starting
// with a letter, at most 64 characters.
func checkLocation(errs *ErrorList, p Path, v string) {
	if required(errs, p, v) && (len(v) > 64 || !locationName.MatchString(v)) {
		errs.Add(p, RuleFormat, "%q must be an Azure region name such as westeurope or eastus2 (lowercase, no spaces)", v)
	}
}

// checkStorageAccountName checks a required storage account name: 3-24 lowercase letters and
// digits.
func checkStorageAccountName(errs *ErrorList, p Path, v string) {
	if required(errs, p, v) && !storageAccount.MatchString(v) {
		errs.Add(p, RuleFormat, "%q must be 3-24 lowercase letters and digits", v)
	}
}
