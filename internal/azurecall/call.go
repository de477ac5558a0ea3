// Package azurecall holds the read-only Azure requests a user makes through the API — the
// lookups that fill the console's dropdowns and `strata lookup`, and an AKS cluster's
// kubeconfig — as values that can travel: the server runs a Call with a cloud account's
// clients, or relays it to the private cloud gateway the account is bound to, which runs the
// same Call inside its network. One implementation serves both.
package azurecall

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
)

// Timeout bounds the Azure requests of one Call.
const Timeout = 45 * time.Second

// OpKubeconfig is the operation of an AKS cluster's kubeconfig; the other operations are the
// lookups (Lookups).
const OpKubeconfig = "kubeconfig"

// Parameters of Calls, beside the subscription.
const (
	ParamLocation       = "location"
	ParamResourceGroup  = "resourceGroup"
	ParamStorageAccount = "storageAccount"
	// ParamName is the AKS cluster's name (kubeconfig).
	ParamName = "name"
	// ParamAdmin is "true" for an admin kubeconfig.
	ParamAdmin = "admin"
)

// Call is one request: an operation with a cloud account in a subscription.
type Call struct {
	// Account is the cloud account's name.
	Account string
	// SubscriptionID is the subscription the clients are made for; it may be empty for an
	// operation made at the tenant's level (SubscriptionOptional).
	SubscriptionID string
	// Op is a lookup's name (Lookups) or OpKubeconfig.
	Op string
	// Params are the operation's parameters (Params).
	Params map[string]string
}

// op is an operation: the parameters it requires, those it may take, and what runs it. Its
// result is JSON (a lookup's items) or the kubeconfig's bytes. A tenant operation is made at
// the level of the account's tenant: it needs no subscription (one given is checked, and
// changes nothing), and runs with the clients of NewTenantClients.
type op struct {
	params, optional []string
	tenant           bool
	run              func(ctx context.Context, c *azure.Clients, p map[string]string) ([]byte, error)
}

// paramRules are the rules of the parameters that become segments of ARM paths (the
// location a value of an OData filter), those of the spec fields that hold the same values:
// "../.." as a resource group would otherwise reach other ARM paths with the account's token.
var paramRules = map[string]v1alpha1.AzureName{
	ParamLocation:       v1alpha1.AzureLocation,
	ParamResourceGroup:  v1alpha1.AzureResourceGroup,
	ParamStorageAccount: v1alpha1.AzureStorageAccount,
}

// aksName is the rule of a managed cluster's name: 1-63 letters, digits, '_' and '-',
// starting and ending with a letter or digit.
var aksName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$`)

// Params returns the parameters operation op requires besides the subscription, and whether
// op exists.
func Params(op string) ([]string, bool) {
	o, ok := ops[op]
	return slices.Clone(o.params), ok
}

// Optional returns the parameters operation op may take and does not require.
func Optional(op string) []string { return slices.Clone(ops[op].optional) }

// SubscriptionOptional reports whether operation op may be called without a subscription:
// it lists what the account's tenant holds (subscriptions).
func SubscriptionOptional(op string) bool { return ops[op].tenant }

// Lookups lists the lookups' names, sorted.
func Lookups() []string {
	var names []string
	for n := range ops {
		if n != OpKubeconfig {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Validate checks a Call: a known operation, its parameters and no other, each obeying its
// rule. The errors name the parameter (as a field path) and the rule.
func Validate(c Call) v1alpha1.ErrorList {
	o, ok := ops[c.Op]
	if !ok {
		var errs v1alpha1.ErrorList
		errs.Add("op", v1alpha1.RuleEnum, "unknown operation %q: the lookups are %s", c.Op, strings.Join(Lookups(), ", "))
		return errs
	}
	var errs v1alpha1.ErrorList
	if !o.tenant || c.SubscriptionID != "" {
		errs = v1alpha1.ValidateAzureName(v1alpha1.AzureSubscriptionID, "subscriptionID", c.SubscriptionID)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Params)) {
		switch {
		case slices.Contains(o.optional, name):
			errs = append(errs, checkParam(name, c.Params[name])...)
		case !slices.Contains(o.params, name):
			errs.Add(v1alpha1.Path(name), v1alpha1.RuleEnum, "unknown parameter: %s takes %s", c.Op, takes(o))
		}
	}
	for _, name := range o.params {
		errs = append(errs, checkParam(name, c.Params[name])...)
	}
	return errs
}

// takes lists the parameters of an operation, for errors: "nothing" when it takes none.
func takes(o op) string {
	if len(o.params)+len(o.optional) == 0 {
		return "nothing"
	}
	return strings.Join(append(slices.Clone(o.params), o.optional...), ", ")
}

// checkParam checks a parameter by its rule: a required one, or an optional one given (empty
// or not).
func checkParam(name, v string) v1alpha1.ErrorList {
	if rule, ok := paramRules[name]; ok {
		return v1alpha1.ValidateAzureName(rule, v1alpha1.Path(name), v)
	}
	var errs v1alpha1.ErrorList
	switch {
	case name == ParamName && !aksName.MatchString(v):
		errs.Add(ParamName, v1alpha1.RuleFormat, "%q must be an AKS cluster name: 1-63 letters, digits, '_' and '-', starting and ending with a letter or digit", v)
	case name == ParamAdmin && v != "true" && v != "false":
		errs.Add(ParamAdmin, v1alpha1.RuleEnum, "%q must be true or false", v)
	}
	return errs
}

// NewClients makes the clients a Call runs with: the account's clients of the Call's
// subscription, or of its tenant (azure.NewTenantClients) for an operation made at the
// tenant's level, whether or not a subscription is given.
func NewClients(ctx context.Context, acct *v1alpha1.CloudAccount, c Call, opts azure.Options) (*azure.Clients, error) {
	if ops[c.Op].tenant {
		return azure.NewTenantClients(ctx, acct, opts)
	}
	return azure.NewClients(ctx, acct, c.SubscriptionID, opts)
}

// Run validates the Call and runs it with clients made for its account and subscription
// (NewClients), within Timeout. Azure's failures come back as they are: Describe turns them
// into a code and a message.
func Run(ctx context.Context, clients *azure.Clients, c Call) ([]byte, error) {
	if errs := Validate(c); len(errs) > 0 {
		return nil, fmt.Errorf("azurecall: %w", errors.Join(errsOf(errs)...))
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return ops[c.Op].run(ctx, clients, c.Params)
}

func errsOf(list v1alpha1.ErrorList) []error {
	out := make([]error, len(list))
	for i := range list {
		out[i] = list[i]
	}
	return out
}
