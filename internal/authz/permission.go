package authz

import (
	"fmt"
	"slices"
	"strings"
)

// The kinds of object a permission names.
const (
	KindCluster             = "cluster"
	KindClusterProfile      = "clusterProfile"
	KindCloudAccount        = "cloudAccount"
	KindPrivateCloudGateway = "privateCloudGateway"
	KindUser                = "user"
	KindTeam                = "team"
	KindRole                = "role"
	KindFilter              = "filter"
	KindBinding             = "binding"
	KindAPIKey              = "apiKey"
	KindAudit               = "audit"
	KindMetrics             = "metrics"
)

// The verbs a permission names. Not every verb applies to every kind: see Verbs.
const (
	VerbGet             = "get"
	VerbList            = "list"
	VerbCreate          = "create"
	VerbUpdate          = "update"
	VerbDelete          = "delete"
	VerbKubeconfig      = "kubeconfig"       // a cluster's user kubeconfig
	VerbKubeconfigAdmin = "kubeconfig-admin" // a cluster's admin kubeconfig
	VerbUse             = "use"              // put a cloud account or cluster profile in a cluster
	VerbToken           = "token"            // mint a private cloud gateway's registration token
)

// Wildcard, as a whole permission, is every permission; as the verb of "<kind>.*", every verb of
// the kind.
const Wildcard = "*"

var (
	crud = []string{VerbGet, VerbList, VerbCreate, VerbUpdate, VerbDelete}

	// kindVerbs is the verbs of each kind, in the order Kinds and Verbs return them. Audit
	// records are written by the server only, so audit has no write verbs.
	kindVerbs = []struct {
		kind  string
		verbs []string
	}{
		{KindCluster, append(slices.Clone(crud), VerbKubeconfig, VerbKubeconfigAdmin)},
		{KindClusterProfile, append(slices.Clone(crud), VerbUse)},
		{KindCloudAccount, append(slices.Clone(crud), VerbUse)},
		{KindPrivateCloudGateway, append(slices.Clone(crud), VerbToken)},
		{KindUser, crud},
		{KindTeam, crud},
		{KindRole, crud},
		{KindFilter, crud},
		{KindBinding, crud},
		{KindAPIKey, crud},
		{KindAudit, []string{VerbGet, VerbList}},
		{KindMetrics, []string{VerbGet}},
	}

	// apiKinds maps the kinds of the strata API to permission kinds.
	apiKinds = map[string]string{
		"Cluster":             KindCluster,
		"ClusterProfile":      KindClusterProfile,
		"CloudAccount":        KindCloudAccount,
		"PrivateCloudGateway": KindPrivateCloudGateway,
		"Role":                KindRole,
		"TagFilter":           KindFilter,
		"User":                KindUser,
		"Team":                KindTeam,
		"RoleBinding":         KindBinding,
		"APIKey":              KindAPIKey,
	}

	// kindNouns names the objects of each kind in messages.
	kindNouns = map[string]string{
		KindCluster:             "clusters",
		KindClusterProfile:      "cluster profiles",
		KindCloudAccount:        "cloud accounts",
		KindPrivateCloudGateway: "private cloud gateways",
		KindUser:                "users",
		KindTeam:                "teams",
		KindRole:                "roles",
		KindFilter:              "filters",
		KindBinding:             "bindings",
		KindAPIKey:              "API keys",
		KindAudit:               "audit records",
		KindMetrics:             "the server's metrics",
	}
)

// Kinds returns every permission kind, clusters first.
func Kinds() []string {
	out := make([]string, len(kindVerbs))
	for i, kv := range kindVerbs {
		out[i] = kv.kind
	}
	return out
}

// Verbs returns the verbs that apply to kind, or nil when the kind is unknown.
func Verbs(kind string) []string {
	for _, kv := range kindVerbs {
		if kv.kind == kind {
			return slices.Clone(kv.verbs)
		}
	}
	return nil
}

// Perm returns the permission "<kind>.<verb>". It does not validate it.
func Perm(kind, verb string) string { return kind + "." + verb }

// KindForAPI returns the permission kind of an API kind: "Cluster" → "cluster", "ClusterProfile"
// → "clusterProfile", "CloudAccount" → "cloudAccount", "PrivateCloudGateway" →
// "privateCloudGateway". Any other API kind is an error naming it.
func KindForAPI(apiKind string) (string, error) {
	if k, ok := apiKinds[apiKind]; ok {
		return k, nil
	}
	return "", fmt.Errorf("no permission kind for the API kind %q", apiKind)
}

// ValidatePermission checks a permission of a role: "*", "<kind>.*" or "<kind>.<verb>" with a
// known kind and a verb of that kind. The error names what is unknown.
func ValidatePermission(p string) error {
	if p == Wildcard {
		return nil
	}
	kind, verb, ok := strings.Cut(p, ".")
	if !ok {
		return fmt.Errorf("permission %q: want <kind>.<verb>, e.g. cluster.get, or * for every permission", p)
	}
	verbs := Verbs(kind)
	if verbs == nil {
		return fmt.Errorf("permission %q: unknown kind %q (kinds: %s)", p, kind, strings.Join(Kinds(), ", "))
	}
	if verb != Wildcard && !slices.Contains(verbs, verb) {
		return fmt.Errorf("permission %q: unknown verb %q for kind %s (verbs: %s, or *)", p, verb, kind, strings.Join(verbs, ", "))
	}
	return nil
}

// parseRequested splits a permission asked about in a request, which must be valid and name
// one kind and one verb: no wildcard.
func parseRequested(p string) (kind, verb string, err error) {
	if err := ValidatePermission(p); err != nil {
		return "", "", err
	}
	kind, verb, _ = strings.Cut(p, ".")
	if p == Wildcard || verb == Wildcard {
		return "", "", fmt.Errorf("permission %q: a request names one kind and one verb, not a wildcard", p)
	}
	return kind, verb, nil
}

// grants reports whether the permission held of a role covers the requested permission,
// honouring "*" and "<kind>.*".
func grants(held, requested string) bool {
	if held == Wildcard || held == requested {
		return true
	}
	kind, verb, _ := strings.Cut(held, ".")
	return verb == Wildcard && strings.HasPrefix(requested, kind+".")
}

// verbPhrase is what "every filter that lets you ..." says of a permission: "update clusters".
func verbPhrase(kind, verb string) string {
	noun := kindNouns[kind]
	switch verb {
	case VerbKubeconfig:
		return "fetch the kubeconfig of " + noun
	case VerbKubeconfigAdmin:
		return "fetch the admin kubeconfig of " + noun
	case VerbToken:
		return "mint registration tokens for " + noun
	}
	return verb + " " + noun
}
