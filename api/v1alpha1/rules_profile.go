package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// AKS SKU tiers, upgrade channels and add-ons accepted in managedControlPlane.
var (
	AKSSKUs            = []string{"Free", "Standard"}
	AKSUpgradeChannels = []string{"none", "patch", "stable", "rapid", "node-image"}
	AKSAddons          = []string{addonAzurePolicy, addonKeyVaultSecretsProvider, addonOMSAgent}
)

// AKS add-on names and their config keys.
const (
	addonAzurePolicy             = "azurepolicy"
	addonKeyVaultSecretsProvider = "azureKeyvaultSecretsProvider"
	addonOMSAgent                = "omsagent"

	// configLogAnalyticsWorkspace is the Log Analytics workspace omsagent sends to.
	configLogAnalyticsWorkspace = "logAnalyticsWorkspaceResourceID"
	// configSecretRotation ("true" or "false") and configRotationPollInterval (a duration
	// such as 2m) configure the Key Vault secrets provider.
	configSecretRotation       = "enableSecretRotation"
	configRotationPollInterval = "rotationPollInterval"
)

// aksAddonConfig lists the config keys each add-on takes.
var aksAddonConfig = map[string][]string{
	addonAzurePolicy:             nil,
	addonKeyVaultSecretsProvider: {configSecretRotation, configRotationPollInterval},
	addonOMSAgent:                {configLogAnalyticsWorkspace},
}

// logAnalyticsWorkspaceID matches the ARM ID of a Log Analytics workspace; Azure compares
// resource IDs without regard to case.
var logAnalyticsWorkspaceID = regexp.MustCompile(`(?i)^/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/resourceGroups/[-\w.()]+/providers/Microsoft\.OperationalInsights/workspaces/[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// layerRank orders layer types: a profile lists its layers in this order.
var layerRank = map[string]int{LayerOS: 0, LayerKubernetes: 1, LayerNetwork: 2, LayerStorage: 3, LayerAddon: 4}

var manifestName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func validateProfile(o *ClusterProfile, errs *ErrorList) {
	s := o.Spec
	checkSemver(errs, "spec.version", s.Version)
	checkEnum(errs, "spec.cloud", s.Cloud, ProfileCloudAzure, ProfileCloudAKS, ProfileCloudAll)
	checkEnum(errs, "spec.type", s.Type, ProfileTypeInfra, ProfileTypeAddOn, ProfileTypeFull)
	if s.Cloud == ProfileCloudAll && s.Type != ProfileTypeAddOn {
		errs.Add("spec.type", RuleMismatch, "a profile for cloud all must be of type add-on: infrastructure layers are specific to azure or aks")
	}
	lp := Path("spec.layers")
	if len(s.Layers) == 0 {
		errs.Add(lp, RuleRequired, "a profile needs at least one layer")
		return
	}
	checkMaxItems(errs, lp, len(s.Layers), MaxLayersPerProfile, "strata's bound of layers per profile")
	names := map[string]bool{}
	count := map[string]int{}
	prevRank := -1
	for i, l := range s.Layers {
		p := lp.Index(i)
		checkName(errs, p.Child("name"), l.Name)
		if names[l.Name] && l.Name != "" {
			errs.Add(p.Child("name"), RuleDuplicate, "layer name %q is used twice in this profile", l.Name)
		}
		names[l.Name] = true
		rank, known := layerRank[l.Type]
		if !known {
			checkEnum(errs, p.Child("type"), l.Type, LayerOS, LayerKubernetes, LayerNetwork, LayerStorage, LayerAddon)
		} else {
			count[l.Type]++
			if rank < prevRank {
				errs.Add(p.Child("type"), RuleFormat, "layer %q (%s) is out of order: layers go os, kubernetes, network, storage, then addon", l.Name, l.Type)
			}
			prevRank = max(prevRank, rank)
		}
		checkLayerContent(errs, p, s.Cloud, l)
	}
	checkLayerMix(errs, lp, s, count)
}

// checkLayerContent checks a layer's version, values and manifests.
func checkLayerContent(errs *ErrorList, p Path, cloud string, l Layer) {
	if required(errs, p.Child("version"), l.Version) && (len(l.Version) > MaxVersionLength || !layerVersion.MatchString(l.Version)) {
		errs.Add(p.Child("version"), RuleFormat, "%q must be a version of at most %d letters, digits, '.', '_', '+' and '-'", l.Version, MaxVersionLength)
	}
	if values, ok := parseValues(errs, p.Child("values"), l.Values); ok {
		checkLayerValues(errs, p.Child("values"), cloud, l.Type, values)
	}
	mnames := map[string]bool{}
	checkMaxItems(errs, p.Child("manifests"), len(l.Manifests), MaxManifestsPerLayer, "strata's bound of manifests per layer")
	for j, m := range l.Manifests {
		mp := p.Child("manifests").Index(j)
		if required(errs, mp.Child("name"), m.Name) {
			if len(m.Name) > 253 || !manifestName.MatchString(m.Name) {
				errs.Add(mp.Child("name"), RuleFormat, "%q must be lowercase letters, digits, '-' and '.', at most 253 characters", m.Name)
			} else if mnames[m.Name] {
				errs.Add(mp.Child("name"), RuleDuplicate, "manifest name %q is used twice in layer %q", m.Name, l.Name)
			}
			mnames[m.Name] = true
		}
		if required(errs, mp.Child("content"), m.Content) && checkMaxBytes(errs, mp.Child("content"), m.Content, MaxManifestBytes, "a Kubernetes object holds at most 1 MiB") {
			checkManifestContent(errs, mp.Child("content"), m.Content)
		}
	}
	checkChart(errs, p.Child("chart"), l)
}

// chartName is a Helm chart's name: lowercase letters, digits, '-', '_' and '.'.
var chartName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$`)

// checkChart checks a layer's chart: network, storage and addon layers only, from an https://
// or oci:// repository, with a name and a version.
func checkChart(errs *ErrorList, p Path, l Layer) {
	c := l.Chart
	if c == nil {
		return
	}
	if l.Type == LayerOS || l.Type == LayerKubernetes {
		errs.Add(p, RuleForbidden, "a %s layer cannot name a chart: charts belong to network, storage and addon layers", l.Type)
	}
	if required(errs, p.Child("repository"), c.Repository) {
		u, err := url.Parse(c.Repository)
		if err != nil || (u.Scheme != "https" && u.Scheme != "oci") || u.Host == "" || u.User != nil {
			errs.Add(p.Child("repository"), RuleFormat, "%q must be an https:// chart repository or an oci:// registry URL, without credentials", c.Repository)
		}
	}
	if required(errs, p.Child("name"), c.Name) && (len(c.Name) > 253 || !chartName.MatchString(c.Name)) {
		errs.Add(p.Child("name"), RuleFormat, "%q must be lowercase letters, digits, '-', '_' and '.'", c.Name)
	}
	if required(errs, p.Child("version"), c.Version) && (len(c.Version) > MaxVersionLength || !layerVersion.MatchString(c.Version)) {
		errs.Add(p.Child("version"), RuleFormat, "%q must be a chart version of at most %d letters, digits, '.', '_', '+' and '-'", c.Version, MaxVersionLength)
	}
	if c.Namespace != "" {
		checkName(errs, p.Child("namespace"), c.Namespace)
	}
}

// checkLayerMix checks the layers a profile's type needs, given how many of each type it has.
func checkLayerMix(errs *ErrorList, lp Path, s ClusterProfileSpec, count map[string]int) {
	switch s.Type {
	case ProfileTypeAddOn:
		for i, l := range s.Layers {
			if l.Type != LayerAddon && l.Type != "" && layerRank[l.Type] < layerRank[LayerAddon] {
				errs.Add(lp.Index(i).Child("type"), RuleForbidden, "an add-on profile holds only addon layers; %s layers belong in an infra or full profile", l.Type)
			}
		}
	case ProfileTypeInfra, ProfileTypeFull:
		if count[LayerKubernetes] != 1 {
			errs.Add(lp, RuleCount, "an %s profile needs exactly one kubernetes layer, found %d", s.Type, count[LayerKubernetes])
		}
		if s.Cloud == ProfileCloudAzure && count[LayerOS] != 1 {
			errs.Add(lp, RuleCount, "an %s profile for cloud azure needs exactly one os layer (the base VHD image of the nodes), found %d", s.Type, count[LayerOS])
		}
		for _, t := range []string{LayerOS, LayerNetwork, LayerStorage} {
			if count[t] > 1 {
				errs.Add(lp, RuleCount, "a profile holds at most one %s layer, found %d", t, count[t])
			}
		}
		if s.Type == ProfileTypeInfra && count[LayerAddon] > 0 {
			errs.Add(lp, RuleForbidden, "an infra profile holds no addon layers; use type full, or put add-ons in an add-on profile")
		}
	}
}

// checkManifestContent checks a manifest's content at p: YAML documents that give no key twice.
func checkManifestContent(errs *ErrorList, p Path, content string) {
	if _, err := documentsJSON(content); err != nil {
		errs.Add(p, RuleSyntax, "is not valid YAML: %v", err)
		return
	}
	checkDuplicateKeys(errs, p, nil, []byte(content))
}

// Decodable checks that text is valid YAML (one or more documents) that gives no key twice,
// and returns the documents' JSON.
func Decodable(text string) ([][]byte, error) {
	out, err := documentsJSON(text)
	if err != nil {
		return nil, err
	}
	if err := duplicateKeysError([]byte(text)); err != nil {
		return nil, err
	}
	return out, nil
}

// documentsJSON returns the JSON of each YAML document of text.
func documentsJSON(text string) ([][]byte, error) {
	docs, err := splitDocuments([]byte(text))
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(docs))
	for _, d := range docs {
		j, err := yaml.YAMLToJSON(d)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// parseValues parses a layer's values: empty, or a YAML mapping that gives no key twice. Every
// key given twice is reported at its path below p.
func parseValues(errs *ErrorList, p Path, text string) (map[string]any, bool) {
	if !checkMaxBytes(errs, p, text, MaxValuesBytes, "a Kubernetes Secret, where Helm keeps a release and its values, holds at most 1 MiB") {
		return nil, false
	}
	before := len(*errs)
	if checkDuplicateKeys(errs, p, nil, []byte(text)); len(*errs) > before {
		return nil, false
	}
	values, err := ParseValues(text)
	if err != nil {
		errs.Add(p, RuleSyntax, "%v", err)
		return nil, false
	}
	return values, true
}

// ParseValues parses a layer's values YAML: empty text is an empty mapping, anything other than
// a mapping is an error, and so is a key given twice.
func ParseValues(text string) (map[string]any, error) {
	j, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("values are not valid YAML: %w", err)
	}
	if err := duplicateKeysError([]byte(text)); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	j = bytes.TrimSpace(j)
	if len(j) == 0 || bytes.Equal(j, []byte("null")) {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("values are not valid YAML: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("values must be a YAML mapping (key: value), not %s", jsonType(v))
	}
	return m, nil
}

// AKS network plugins, plugin modes and network policies a network layer may name.
var (
	AKSNetworkPlugins     = []string{"azure", "kubenet", "none"}
	AKSNetworkPluginModes = []string{"overlay"}
	AKSNetworkPolicies    = []string{"azure", "calico", "cilium", "none"}
)

// Defaults of a kubernetes layer's pod and service ranges (pack.podCIDR,
// pack.serviceClusterIpRange).
const (
	DefaultPodCIDR     = "192.168.0.0/16"
	DefaultServiceCIDR = "10.96.0.0/12"
)

// checkLayerValues checks the values strata itself reads from a layer of a profile for cloud:
// a kubernetes layer's managedControlPlane block (aks profiles only) and its pod and service
// ranges (pack.podCIDR, pack.serviceClusterIpRange), and the network plugin, plugin mode and
// policy of an aks profile's network layer. p is the path of the values.
func checkLayerValues(errs *ErrorList, p Path, cloud, layerType string, values map[string]any) {
	switch layerType {
	case LayerKubernetes:
		if _, present := values["managedControlPlane"]; present {
			if cloud != ProfileCloudAKS {
				errs.Add(p.Child("managedControlPlane"), RuleForbidden, "managedControlPlane applies only to profiles for cloud aks")
			} else {
				ParseManagedControlPlane(errs, p, values)
			}
		}
		pack, ok := values["pack"].(map[string]any)
		if !ok && values["pack"] != nil {
			errs.Add(p.Child("pack"), RuleType, "must be a mapping")
			return
		}
		pod, podOK := valueCIDR(errs, p.Child("pack"), pack, "podCIDR", DefaultPodCIDR)
		svc, svcOK := valueCIDR(errs, p.Child("pack"), pack, "serviceClusterIpRange", DefaultServiceCIDR)
		if podOK && svcOK && pod.Overlaps(svc) {
			errs.Add(p.Child("pack").Child("serviceClusterIpRange"), RuleOverlap, "the service range %s overlaps the pod range %s (pack.podCIDR)", svc, pod)
		}
	case LayerNetwork:
		if cloud != ProfileCloudAKS {
			return
		}
		plugin, _ := valueString(errs, p, values, "networkPlugin")
		if plugin != "" {
			checkEnum(errs, p.Child("networkPlugin"), plugin, AKSNetworkPlugins...)
		}
		if mode, _ := valueString(errs, p, values, "networkPluginMode"); mode != "" {
			checkEnum(errs, p.Child("networkPluginMode"), mode, AKSNetworkPluginModes...)
			if plugin != "" && plugin != "azure" {
				errs.Add(p.Child("networkPluginMode"), RuleForbidden, "networkPluginMode %s works only with networkPlugin azure, not %s", mode, plugin)
			}
		}
		if policy, _ := valueString(errs, p, values, "networkPolicy"); policy != "" {
			checkEnum(errs, p.Child("networkPolicy"), policy, AKSNetworkPolicies...)
		}
	}
}

// valueString returns the string values holds at key, "" when it holds none; anything other
// than a string is reported, and false.
func valueString(errs *ErrorList, p Path, values map[string]any, key string) (string, bool) {
	v := values[key]
	s, ok := v.(string)
	if !ok && v != nil {
		errs.Add(p.Child(key), RuleType, "must be a string")
		return "", false
	}
	return s, true
}

// valueCIDR returns the IPv4 CIDR values holds at key, or def when it holds none; false when
// what it holds is not one (which it reports).
func valueCIDR(errs *ErrorList, p Path, values map[string]any, key, def string) (netip.Prefix, bool) {
	s, ok := valueString(errs, p, values, key)
	if !ok {
		return netip.Prefix{}, false
	}
	if s == "" {
		s = def
	}
	prefix, err := netip.ParsePrefix(s)
	if err != nil || !prefix.Addr().Is4() {
		errs.Add(p.Child(key), RuleFormat, "%q must be an IPv4 CIDR such as %s", s, def)
		return netip.Prefix{}, false
	}
	return prefix.Masked(), true
}

// ParseManagedControlPlane decodes and validates the managedControlPlane block of parsed layer
// values, reporting errors below valuesPath. It returns nil when the block is absent or invalid.
func ParseManagedControlPlane(errs *ErrorList, valuesPath Path, values map[string]any) *ManagedControlPlane {
	before := len(*errs)
	mcp := decodeManagedControlPlane(errs, valuesPath, values)
	if mcp == nil {
		return nil
	}
	checkManagedControlPlane(errs, valuesPath.Child("managedControlPlane"), mcp)
	if len(*errs) > before {
		return nil
	}
	return mcp
}

// decodeManagedControlPlane decodes the managedControlPlane block of parsed layer values,
// reporting the fields of the wrong shape below valuesPath. It returns nil when the block is
// absent or does not decode; it does not check the values.
func decodeManagedControlPlane(errs *ErrorList, valuesPath Path, values map[string]any) *ManagedControlPlane {
	raw, ok := values["managedControlPlane"]
	if !ok || raw == nil {
		return nil
	}
	p := valuesPath.Child("managedControlPlane")
	before := len(*errs)
	checkShape(raw, reflect.TypeFor[ManagedControlPlane](), p, errs)
	if len(*errs) > before {
		return nil
	}
	j, err := json.Marshal(raw)
	if err != nil {
		errs.Add(p, RuleType, "cannot be read: %v", err)
		return nil
	}
	var mcp ManagedControlPlane
	if err := json.Unmarshal(j, &mcp); err != nil {
		errs.Add(p, RuleType, "cannot be read: %v", err)
		return nil
	}
	return &mcp
}

// checkManagedControlPlane checks the values of a decoded managedControlPlane block at p.
func checkManagedControlPlane(errs *ErrorList, p Path, mcp *ManagedControlPlane) {
	if mcp.SKU != "" {
		checkEnum(errs, p.Child("sku"), mcp.SKU, AKSSKUs...)
	}
	if aad := mcp.AADProfile; aad != nil {
		ap := p.Child("aadProfile").Child("adminGroupObjectIDs")
		if aad.Managed && len(aad.AdminGroupObjectIDs) == 0 {
			errs.Add(ap, RuleRequired, "required when aadProfile.managed is true: the Entra ID groups whose members administer the cluster")
		}
		seen := map[string]bool{}
		for i, id := range aad.AdminGroupObjectIDs {
			if !guidPattern.MatchString(id) {
				errs.Add(ap.Index(i), RuleFormat, "%q must be an Entra ID group object ID (a GUID)", id)
			} else if seen[id] {
				errs.Add(ap.Index(i), RuleDuplicate, "group %s is listed twice", id)
			}
			seen[id] = true
		}
		if aad.DisableLocalAccounts && !aad.Managed {
			errs.Add(p.Child("aadProfile").Child("disableLocalAccounts"), RuleForbidden, "DisableLocalAccounts can be set only for AAD enabled clusters: without Entra ID integration (aadProfile.managed: true) the local accounts are the only way in")
		}
	}
	if up := mcp.AutoUpgradeProfile; up != nil {
		cp := p.Child("autoUpgradeProfile").Child("upgradeChannel")
		if up.UpgradeChannel == "" {
			errs.Add(cp, RuleRequired, "required when autoUpgradeProfile is set: to disable auto upgrades set the channel to none")
		} else {
			checkEnum(errs, cp, up.UpgradeChannel, AKSUpgradeChannels...)
		}
	}
	if workloadIdentityEnabled(mcp) && !oidcIssuerEnabled(mcp) {
		errs.Add(p.Child("securityProfile").Child("workloadIdentity").Child("enabled"), RuleForbidden, "workload identity cannot be enabled when the OIDC issuer is disabled: set oidcIssuerProfile.enabled: true")
	}
	checkAddonProfiles(errs, p.Child("addonProfiles"), mcp.AddonProfiles)
}

func oidcIssuerEnabled(mcp *ManagedControlPlane) bool {
	return mcp.OIDCIssuerProfile != nil && mcp.OIDCIssuerProfile.Enabled
}

func workloadIdentityEnabled(mcp *ManagedControlPlane) bool {
	sp := mcp.SecurityProfile
	return sp != nil && sp.WorkloadIdentity != nil && sp.WorkloadIdentity.Enabled
}

// checkAddonProfiles checks AKS add-ons: known names, each once, with the config keys the add-on
// takes.
func checkAddonProfiles(errs *ErrorList, p Path, addons []AddonProfile) {
	seen := map[string]int{}
	for i, a := range addons {
		ap := p.Index(i)
		if !required(errs, ap.Child("name"), a.Name) {
			continue
		}
		keys, known := aksAddonConfig[a.Name]
		if !known {
			checkEnum(errs, ap.Child("name"), a.Name, AKSAddons...)
			continue
		}
		if j, dup := seen[a.Name]; dup {
			errs.Add(ap.Child("name"), RuleDuplicate, "add-on %s is already configured by addonProfiles[%d]", a.Name, j)
			continue
		}
		seen[a.Name] = i
		cp := ap.Child("config")
		for _, k := range sortedKeysOf(a.Config) {
			if !slices.Contains(keys, k) {
				if len(keys) == 0 {
					errs.Add(cp.Key(k), RuleUnknownField, "the %s add-on takes no config", a.Name)
				} else {
					errs.Add(cp.Key(k), RuleUnknownField, "unknown config key %q of the %s add-on: it takes %s", k, a.Name, strings.Join(keys, ", "))
				}
				continue
			}
			v := a.Config[k]
			switch k {
			case configLogAnalyticsWorkspace:
				if v != "" && !logAnalyticsWorkspaceID.MatchString(v) {
					errs.Add(cp.Key(k), RuleFormat, "%q must be the resource ID of a Log Analytics workspace: /subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.OperationalInsights/workspaces/{name}", v)
				}
			case configSecretRotation:
				checkEnum(errs, cp.Key(k), v, "true", "false")
			case configRotationPollInterval:
				if d, err := time.ParseDuration(v); err != nil || d <= 0 {
					errs.Add(cp.Key(k), RuleFormat, "%q must be a positive duration such as 2m or 30s", v)
				}
			}
		}
		if a.Name == addonOMSAgent && a.Enabled && a.Config[configLogAnalyticsWorkspace] == "" {
			errs.Add(cp.Key(configLogAnalyticsWorkspace), RuleRequired, "required when the omsagent add-on is enabled: the resource ID of the Log Analytics workspace that receives the cluster's logs and metrics")
		}
	}
}

// MergeValues returns base with override merged over it: mappings merge key by key, any other
// value in override replaces the one in base.
func MergeValues(base, override map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		bm, bok := out[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook {
			out[k] = MergeValues(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}
