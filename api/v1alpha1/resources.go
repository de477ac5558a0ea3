package v1alpha1

// Resource names a kind the ways clients do: the plural of its REST path and the short names the
// CLI accepts, like kubectl's.
type Resource struct {
	Kind       string
	Singular   string
	Plural     string
	ShortNames []string
}

// Resources lists every kind, in the dependency order of Kinds.
var Resources = []Resource{
	{KindRole, "role", "roles", nil},
	{KindTagFilter, "tagfilter", "tagfilters", []string{"filter", "filters"}},
	{KindUser, "user", "users", nil},
	{KindTeam, "team", "teams", nil},
	{KindRoleBinding, "rolebinding", "rolebindings", []string{"binding", "bindings"}},
	{KindAPIKey, "apikey", "apikeys", []string{"key", "keys"}},
	{KindPrivateCloudGateway, "privatecloudgateway", "privatecloudgateways", []string{"gateway", "gateways", "pcg", "pcgs"}},
	{KindCloudAccount, "cloudaccount", "cloudaccounts", []string{"account", "accounts", "ca"}},
	{KindClusterProfile, "clusterprofile", "clusterprofiles", []string{"profile", "profiles", "cp"}},
	{KindCluster, "cluster", "clusters", []string{"cl"}},
}

// Plural returns the REST path segment of a kind ("clusters" for Cluster), or "" for an unknown
// kind.
func Plural(kind string) string {
	for _, r := range Resources {
		if r.Kind == kind {
			return r.Plural
		}
	}
	return ""
}

// KindOfPlural returns the kind whose REST path segment is plural.
func KindOfPlural(plural string) (string, bool) {
	for _, r := range Resources {
		if r.Plural == plural {
			return r.Kind, true
		}
	}
	return "", false
}
