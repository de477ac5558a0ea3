package containerservice

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// minorVersion is one Kubernetes major.minor release AKS offers, with its patch versions in
// ascending order.
type minorVersion struct {
	Minor   string
	Patches []string
	Default bool
	LTS     bool
}

// versions are the Kubernetes versions the emulated AKS offers in every location; the latest
// is the default.
var versions = []minorVersion{
	{Minor: "1.29", Patches: []string{"1.29.9", "1.29.11", "1.29.14"}},
	{Minor: "1.30", Patches: []string{"1.30.6", "1.30.9", "1.30.12"}, LTS: true},
	{Minor: "1.31", Patches: []string{"1.31.3", "1.31.5", "1.31.8"}, Default: true},
}

// Versions returns the offered patch versions, oldest first.
func Versions() []string {
	var out []string
	for _, m := range versions {
		out = append(out, m.Patches...)
	}
	return out
}

// DefaultVersion returns the latest patch of the default minor version.
func DefaultVersion() string {
	for _, m := range versions {
		if m.Default {
			return m.Patches[len(m.Patches)-1]
		}
	}
	return Versions()[len(Versions())-1]
}

// ResolveVersion turns a requested version ("1.30" or "1.30.9") into the offered patch
// version it selects; "" selects the default.
func ResolveVersion(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultVersion(), true
	}
	for _, m := range versions {
		if v == m.Minor {
			return m.Patches[len(m.Patches)-1], true
		}
		if slices.Contains(m.Patches, v) {
			return v, true
		}
	}
	return "", false
}

// parseVersion splits "1.30.9" into numbers; missing parts are 0.
func parseVersion(v string) [3]int {
	var out [3]int
	for i, p := range strings.SplitN(v, ".", 3) {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}

// compareVersions orders two versions.
func compareVersions(a, b string) int {
	pa, pb := parseVersion(a), parseVersion(b)
	return slices.Compare(pa[:], pb[:])
}

// upgradesOf lists the versions a cluster on v may upgrade to: later patches of its minor
// and the patches of the next minor.
func upgradesOf(v string) []string {
	pv := parseVersion(v)
	var out []string
	for _, p := range Versions() {
		q := parseVersion(p)
		if q[0] == pv[0] && (q[1] == pv[1] && q[2] > pv[2] || q[1] == pv[1]+1) {
			out = append(out, p)
		}
	}
	return out
}

// versionNotSupported is AKS's answer for a version it does not offer.
func versionNotSupported(v string) *arm.Error {
	return arm.Errorf(http.StatusBadRequest, "AgentPoolK8sVersionNotSupported",
		"Version %s is not supported in this region. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list", v)
}

// listVersions answers GET /subscriptions/{s}/providers/Microsoft.ContainerService/locations/{location}/kubernetesVersions.
func listVersions(tx arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
	loc := req.Params["location"]
	if _, ok := tx.Location(loc); !ok {
		return 0, nil, arm.Errorf(http.StatusBadRequest, "LocationNotAvailableForResourceType",
			"The provided location '%s' is not available for resource type 'Microsoft.ContainerService/locations/kubernetesVersions'.", loc)
	}
	values := []any{}
	for _, m := range versions {
		patches := map[string]any{}
		for _, p := range m.Patches {
			patches[p] = map[string]any{"upgrades": jsonmap.AnyList(upgradesOf(p))}
		}
		plans := []any{"KubernetesOfficial"}
		if m.LTS {
			plans = append(plans, "AKSLongTermSupport")
		}
		v := map[string]any{
			"version":       m.Minor,
			"isPreview":     false,
			"capabilities":  map[string]any{"supportPlan": plans},
			"patchVersions": patches,
		}
		if m.Default {
			v["isDefault"] = true
		}
		values = append(values, v)
	}
	return http.StatusOK, map[string]any{"values": values}, nil
}
