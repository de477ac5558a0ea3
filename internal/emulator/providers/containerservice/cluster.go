package containerservice

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
	"github.com/strata-dev/strata/internal/emulator/providers/network"
)

// The resource types of this package.
const (
	TypeManagedCluster = "Microsoft.ContainerService/managedClusters"
	TypeAgentPool      = "Microsoft.ContainerService/managedClusters/agentPools"
)

// hiddenKey holds a cluster's minted credentials in its stored body; Render strips it.
const hiddenKey = "_emulator"

// clusterNameRule: 1–63 characters, alphanumerics, '_' and '-', starting and ending with an
// alphanumeric (resource-name-rules, Microsoft.ContainerService/managedClusters).
var clusterNameRule = arm.NameRule{
	Min: 1, Max: 63,
	Pattern:  regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$`),
	Describe: "The name can be up to 63 characters long. It must begin and end with an alphanumeric character and may contain alphanumerics, '_' and '-'.",
}

// dnsPrefixRe is AKS's DNS prefix rule.
var dnsPrefixRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{0,52}[a-zA-Z0-9]$`)

// guidRe matches a GUID.
var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// upgradeChannels are the values of autoUpgradeProfile.upgradeChannel.
var upgradeChannels = []string{"none", "patch", "stable", "rapid", "node-image"}

func clusterType(opts Options) arm.ResourceType {
	return arm.ResourceType{
		Type:        TypeManagedCluster,
		Name:        clusterNameRule,
		Located:     true,
		Create:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusCreated, Operation: "aks.create"},
		Update:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusOK, Operation: "aks.update"},
		Delete:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusAccepted, Operation: "aks.delete"},
		PatchTags:   true,
		Prepare:     prepareCluster,
		AfterDelete: afterDeleteCluster,
		Render:      renderCluster,
		Actions: map[string]arm.Action{
			"listClusterAdminCredential":          credentials(true, opts.ServeKubernetes),
			"listClusterUserCredential":           credentials(false, opts.ServeKubernetes),
			"listClusterMonitoringUserCredential": credentials(false, opts.ServeKubernetes),
		},
	}
}

func agentPoolType() arm.ResourceType {
	return arm.ResourceType{
		Type: TypeAgentPool,
		// AKS's own rule (InvalidParameter on agentPoolProfile.name) is applied by Prepare;
		// the engine only refuses what no name may hold.
		Name:        arm.NameRule{},
		Create:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusCreated, Operation: "aks.pool.create"},
		Update:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusOK, Operation: "aks.pool.update"},
		Delete:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusAccepted, Operation: "aks.pool.delete"},
		Prepare:     prepareAgentPool,
		CheckDelete: checkDeletePool,
	}
}

func noSystemPool() *arm.Error {
	return arm.Errorf(http.StatusBadRequest, "MustDefineAtLeastOneSystemPool", "Must define at least one system pool.")
}

// defaultDNSPrefix derives a DNS prefix the way the Azure CLI does: cluster name, resource
// group and the start of the subscription, sanitised.
func defaultDNSPrefix(id arm.ID) string {
	clean := func(s string, n int) string {
		var b strings.Builder
		for _, r := range s {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
				b.WriteRune(r)
			}
		}
		out := b.String()
		if len(out) > n {
			out = out[:n]
		}
		return strings.Trim(out, "-")
	}
	p := clean(id.Name, 10) + "-" + clean(id.ResourceGroup, 16) + "-" + clean(id.Subscription, 6)
	if p[0] == '-' {
		p = "a" + p
	}
	return strings.Trim(p, "-")
}

// fqdnHash is the 8 hexadecimal digits AKS adds to a cluster's DNS prefix.
func fqdnHash(clusterID string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(clusterID)))
	return fmt.Sprintf("%08x", h.Sum32())
}

// nodeResourceGroupName is MC_{rg}_{name}_{location}, cut to 80 characters as AKS does.
func nodeResourceGroupName(rg, name, location string) string {
	n := fmt.Sprintf("MC_%s_%s_%s", rg, name, location)
	if len(n) > 80 {
		n = n[:80]
	}
	return n
}

// checkSSHKeys accepts only RSA public keys, as AKS does.
func checkSSHKeys(lp map[string]any) *arm.Error {
	if lp == nil {
		return nil
	}
	if jsonmap.Str(lp, "adminUsername") == "" {
		return invalidValue("linuxProfile.adminUsername", "")
	}
	keys := jsonmap.List(jsonmap.Obj(lp, "ssh"), "publicKeys")
	if len(keys) == 0 {
		return invalidValue("linuxProfile.ssh.publicKeys", "At least one SSH public key is required.")
	}
	for _, k := range keys {
		data := jsonmap.Str(k.(map[string]any), "keyData")
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(data))
		if err != nil || pk.Type() != ssh.KeyAlgoRSA {
			return invalidValue("linuxProfile.ssh.publicKeys.keyData", "Only RSA SSH public keys are supported.")
		}
	}
	return nil
}

// completeNetwork checks and defaults the network profile.
func completeNetwork(props map[string]any) *arm.Error {
	np := jsonmap.Ensure(props, "networkProfile")
	plugin := jsonmap.Str(np, "networkPlugin")
	if plugin == "" {
		plugin = "azure"
		if _, ok := np["networkPluginMode"]; !ok {
			np["networkPluginMode"] = "overlay"
		}
	}
	np["networkPlugin"] = plugin
	overlay := plugin == "kubenet" || strings.EqualFold(jsonmap.Str(np, "networkPluginMode"), "overlay")
	defaults := map[string]any{
		"serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10", "loadBalancerSku": "standard",
		"outboundType": "loadBalancer", "ipFamilies": []any{"IPv4"},
	}
	if overlay {
		defaults["podCidr"] = "10.244.0.0/16"
	}
	for k, v := range defaults {
		if _, ok := np[k]; !ok {
			np[k] = v
		}
	}
	svc, err := netip.ParsePrefix(jsonmap.Str(np, "serviceCidr"))
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "CidrStringParseError", "The service CIDR %q is not a valid CIDR.", jsonmap.Str(np, "serviceCidr"))
	}
	dns, err := netip.ParseAddr(jsonmap.Str(np, "dnsServiceIP"))
	if err != nil || !svc.Contains(dns) {
		return arm.Errorf(http.StatusBadRequest, "DnsServiceIpOutOfServiceCidr",
			"DNS service IP %s is not within the service CIDR %s.", jsonmap.Str(np, "dnsServiceIP"), svc)
	}
	np["serviceCidrs"] = []any{jsonmap.Str(np, "serviceCidr")}
	if overlay {
		np["podCidrs"] = []any{jsonmap.Str(np, "podCidr")}
	}
	if strings.EqualFold(jsonmap.Str(np, "outboundType"), "loadBalancer") {
		lb := jsonmap.Ensure(np, "loadBalancerProfile")
		if _, ok := lb["managedOutboundIPs"]; !ok {
			lb["managedOutboundIPs"] = map[string]any{"count": 1}
		}
	}
	return nil
}

// prepareCluster validates and completes a managed cluster PUT. Inline agentPoolProfiles
// become (or update) agentPools child resources; Render lists them back.
func prepareCluster(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	body := req.Body
	rnd := arm.NewRand(tx.Seed(), 0x616b73)
	// The OIDC issuer and the add-on identities draw from a stream of their own, so that they
	// leave the values drawn from rnd as they were.
	frnd := arm.NewRand(tx.Seed(), 0x6f696463)
	tenant := callerTenant(req.Header)
	if err := normalizeAddons(jsonmap.Ensure(body, "properties")); err != nil {
		return err
	}
	var old map[string]any
	if req.Existing != nil {
		old = jsonmap.Obj(req.Existing.Body, "properties")
		if err := checkImmutableClusterProps(body, old); err != nil {
			return err
		}
		underlayExistingCluster(body, req.Existing.Body, old)
	}
	props := jsonmap.Ensure(body, "properties")
	loc, _ := tx.Location(jsonmap.Str(body, "location"))
	if err := completeClusterSKU(body, props); err != nil {
		return err
	}
	cur, err := completeClusterVersion(props, old)
	if err != nil {
		return err
	}
	if err := completeDNSPrefix(props, req.ID); err != nil {
		return err
	}
	if err := prepareClusterProfiles(props, old, frnd, loc.Name, tenant); err != nil {
		return err
	}
	pools, err := prepareInlinePools(tx, req, props, loc, cur)
	if err != nil {
		return err
	}
	if err := checkSystemPool(tx, req, pools); err != nil {
		return err
	}
	if req.Existing == nil {
		if err := completeNewCluster(tx, req.ID, body, props, rnd, loc.Name, tenant); err != nil {
			return err
		}
	}
	finishCluster(tx, req.ID, props, old, frnd, pools)
	return nil
}

// checkImmutableClusterProps refuses (PropertyChangeNotAllowed) a PUT on an existing cluster
// that sends a dnsPrefix or nodeResourceGroup other than the stored one (old), ignoring case.
func checkImmutableClusterProps(body, old map[string]any) *arm.Error {
	if p, ok := jsonmap.Obj(body, "properties")["dnsPrefix"].(string); ok && !strings.EqualFold(p, jsonmap.Str(old, "dnsPrefix")) {
		return arm.Errorf(http.StatusBadRequest, "PropertyChangeNotAllowed", "Changing property 'dnsPrefix' is not allowed.")
	}
	if n, ok := jsonmap.Obj(body, "properties")["nodeResourceGroup"].(string); ok && !strings.EqualFold(n, jsonmap.Str(old, "nodeResourceGroup")) {
		return arm.Errorf(http.StatusBadRequest, "PropertyChangeNotAllowed", "Changing property 'nodeResourceGroup' is not allowed.")
	}
	return nil
}

// underlayExistingCluster completes a PUT on an existing cluster with the stored body
// (existing; old is its properties): what the PUT leaves out is kept, except the tags, which
// a PUT replaces; an add-on the PUT names is taken as sent; the read-only properties and the
// identity's principalId a GET-modify-PUT sends back stay as they were.
func underlayExistingCluster(body, existing, old map[string]any) {
	// Underlay fills the request's objects in place: keep copies of those a PUT replaces.
	tags, sentTags := body["tags"]
	tags = jsonmap.DeepCopy(tags)
	sentAddons := jsonmap.CopyMap(jsonmap.Obj(body, "properties", "addonProfiles"))
	jsonmap.Underlay(body, existing)
	// A PUT replaces the tags: those it leaves out are gone (Underlay would keep them).
	if sentTags {
		if tags == nil {
			tags = map[string]any{}
		}
		body["tags"] = tags
	}
	// An add-on the PUT names is as the PUT says (its config is not merged with the stored
	// one); the add-ons it leaves out stay as they were.
	for name, prof := range sentAddons {
		jsonmap.Obj(body, "properties", "addonProfiles")[name] = prof
	}
	// Read-only properties a GET-modify-PUT sends back stay as they were.
	for _, k := range []string{"fqdn", "azurePortalFQDN", "privateFQDN", "identityProfile"} {
		if v, ok := old[k]; ok {
			jsonmap.Obj(body, "properties")[k] = jsonmap.DeepCopy(v)
		}
	}
	if stored := jsonmap.Obj(existing, "identity"); stored != nil && jsonmap.Obj(body, "identity") != nil {
		jsonmap.Obj(body, "identity")["principalId"] = stored["principalId"]
	}
}

// completeClusterSKU checks sku.name (Base or Automatic, default Base) and sku.tier (Free,
// Standard or Premium, default Free), fixing their case, and sets the support plan: always
// AKSLongTermSupport on Premium, else KubernetesOfficial when none is set.
func completeClusterSKU(body, props map[string]any) *arm.Error {
	sku := jsonmap.Ensure(body, "sku")
	switch name := jsonmap.Str(sku, "name"); {
	case name == "", strings.EqualFold(name, "Base"):
		sku["name"] = "Base"
	case strings.EqualFold(name, "Automatic"):
		sku["name"] = "Automatic"
	default:
		return invalidValue("sku.name", "Allowed values are 'Base' and 'Automatic'.")
	}
	switch tier := jsonmap.Str(sku, "tier"); {
	case tier == "", strings.EqualFold(tier, "Free"):
		sku["tier"] = "Free"
	case strings.EqualFold(tier, "Standard"):
		sku["tier"] = "Standard"
	case strings.EqualFold(tier, "Premium"):
		sku["tier"] = "Premium"
	default:
		return invalidValue("sku.tier", "Allowed values are 'Free', 'Standard' and 'Premium'.")
	}
	if jsonmap.Str(sku, "tier") == "Premium" {
		props["supportPlan"] = "AKSLongTermSupport"
	} else if jsonmap.Str(props, "supportPlan") == "" {
		props["supportPlan"] = "KubernetesOfficial"
	}
	return nil
}

// completeClusterVersion resolves kubernetesVersion (on update, the stored one when the PUT
// has none) to a supported version; on update it refuses a downgrade and an upgrade that
// skips a minor version. It sets kubernetesVersion (the resolved version when none was
// asked for) and currentKubernetesVersion, and returns the latter.
func completeClusterVersion(props, old map[string]any) (string, *arm.Error) {
	want := jsonmap.Str(props, "kubernetesVersion")
	if want == "" && old != nil {
		want = jsonmap.Str(old, "kubernetesVersion")
	}
	cur, ok := ResolveVersion(want)
	if !ok {
		return "", versionNotSupported(want)
	}
	if old != nil {
		prev := jsonmap.Str(old, "currentKubernetesVersion")
		if compareVersions(cur, prev) < 0 {
			return "", arm.Errorf(http.StatusBadRequest, "OperationNotAllowed",
				"Downgrading Kubernetes version %s to %s is not allowed. Available upgrades: %s. Please see https://aka.ms/aks-supported-k8s-ver for version details.",
				prev, cur, strings.Join(upgradesOf(prev), ","))
		}
		// A control plane upgrade cannot skip a minor version.
		if cur != prev && !slices.Contains(upgradesOf(prev), cur) {
			return "", arm.Errorf(http.StatusBadRequest, "OperationNotAllowed",
				"Upgrading Kubernetes version %s to %s is not allowed. Available upgrades: %s. Please see https://aka.ms/aks-supported-k8s-ver for version details.",
				prev, cur, strings.Join(upgradesOf(prev), ","))
		}
	}
	if want == "" {
		want = cur
	}
	props["kubernetesVersion"] = want
	props["currentKubernetesVersion"] = cur
	return cur, nil
}

// completeDNSPrefix defaults dnsPrefix from the cluster's ID when neither it nor
// fqdnSubdomain is set, and checks it against AKS's naming rule.
func completeDNSPrefix(props map[string]any, id arm.ID) *arm.Error {
	if jsonmap.Str(props, "dnsPrefix") == "" && jsonmap.Str(props, "fqdnSubdomain") == "" {
		props["dnsPrefix"] = defaultDNSPrefix(id)
	}
	if p := jsonmap.Str(props, "dnsPrefix"); p != "" && !dnsPrefixRe.MatchString(p) {
		return invalidValue("dnsPrefix", "Please see https://aka.ms/aks-naming-rules for more details.")
	}
	return nil
}

// prepareClusterProfiles checks and completes the cluster's profiles, in this order: the
// Linux SSH keys, AAD, the OIDC issuer (drawn from frnd, in the caller's tenant or else the
// AAD tenant), the security profile, the workload auto-scaler, the add-ons, the HTTP proxy,
// the auto-upgrade profile and the network profile.
func prepareClusterProfiles(props, old map[string]any, frnd *rand.Rand, location, tenant string) *arm.Error {
	if err := checkSSHKeys(jsonmap.Obj(props, "linuxProfile")); err != nil {
		return err
	}
	if err := prepareAAD(props, old, tenant); err != nil {
		return err
	}
	issuerTenant := tenant
	if issuerTenant == "" {
		issuerTenant = jsonmap.Str(jsonmap.Obj(props, "aadProfile"), "tenantID")
	}
	oidc, err := prepareOIDC(props, old, frnd, location, issuerTenant)
	if err != nil {
		return err
	}
	if err := checkSecurityProfile(props, oidc); err != nil {
		return err
	}
	if err := checkWorkloadAutoScaler(props); err != nil {
		return err
	}
	if err := checkAddons(props); err != nil {
		return err
	}
	if err := prepareHTTPProxy(props); err != nil {
		return err
	}
	if err := completeAutoUpgrade(props); err != nil {
		return err
	}
	return completeNetwork(props)
}

// completeAutoUpgrade checks autoUpgradeProfile.upgradeChannel against upgradeChannels,
// fixing its case, and defaults nodeOSUpgradeChannel to NodeImage.
func completeAutoUpgrade(props map[string]any) *arm.Error {
	up := jsonmap.Ensure(props, "autoUpgradeProfile")
	if ch, ok := up["upgradeChannel"].(string); ok {
		valid := false
		for _, c := range upgradeChannels {
			if strings.EqualFold(ch, c) {
				up["upgradeChannel"], valid = c, true
			}
		}
		if !valid {
			return invalidValue("autoUpgradeProfile.upgradeChannel", "Allowed values are 'none', 'patch', 'stable', 'rapid' and 'node-image'.")
		}
	}
	if _, ok := up["nodeOSUpgradeChannel"]; !ok {
		up["nodeOSUpgradeChannel"] = "NodeImage"
	}
	return nil
}

// pendingPool is an inline agent pool profile, checked and completed, that finishCluster
// stores as an agentPools child resource.
type pendingPool struct {
	name  string
	props map[string]any
}

// prepareInlinePools prepares each object in agentPoolProfiles as an agent pool (on update,
// against the stored pool of that name), on a copy without its name. It refuses a name used
// twice (ignoring case), and a new cluster without any pool.
func prepareInlinePools(tx arm.Tx, req *arm.PutRequest, props map[string]any, loc arm.LocationInfo, cur string) ([]pendingPool, *arm.Error) {
	pc := poolContext{tx: tx, location: loc, cpVersion: cur}
	var pools []pendingPool
	seen := map[string]bool{}
	for _, e := range jsonmap.List(props, "agentPoolProfiles") {
		prof, _ := e.(map[string]any)
		if prof == nil {
			continue
		}
		name := jsonmap.Str(prof, "name")
		if seen[strings.ToLower(name)] {
			return nil, invalidValue("agentPoolProfile.name", "Agent pool name "+name+" is used more than once.")
		}
		seen[strings.ToLower(name)] = true
		p := jsonmap.CopyMap(prof)
		delete(p, "name")
		var oldPool map[string]any
		if req.Existing != nil {
			if r := tx.Get(req.ID.Child("agentPools", name).String()); r != nil {
				oldPool = jsonmap.Obj(r.Body, "properties")
			}
		}
		if err := pc.preparePool(name, p, oldPool); err != nil {
			return nil, err
		}
		pools = append(pools, pendingPool{name, p})
	}
	if req.Existing == nil && len(pools) == 0 {
		return nil, invalidValue("agentPoolProfiles", "At least one agent pool is required.")
	}
	return pools, nil
}

// checkSystemPool refuses (MustDefineAtLeastOneSystemPool) a cluster that would have no
// System pool: the stored pools (on update) as the inline pools replace them.
func checkSystemPool(tx arm.Tx, req *arm.PutRequest, pools []pendingPool) *arm.Error {
	final := map[string]bool{}
	if req.Existing != nil {
		for _, r := range tx.List(req.ID.String(), TypeAgentPool) {
			final[strings.ToLower(r.Name())] = isSystem(jsonmap.Obj(r.Body, "properties"))
		}
	}
	for _, p := range pools {
		final[strings.ToLower(p.name)] = isSystem(p.props)
	}
	system := 0
	for _, s := range final {
		if s {
			system++
		}
	}
	if system == 0 {
		return noSystemPool()
	}
	return nil
}

// completeNewCluster sets what AKS computes on create — the FQDNs, the node resource group,
// the minted credentials and the identity, drawing from rnd in that order — and creates
// the node resource group, managed by the cluster.
func completeNewCluster(tx arm.Tx, id arm.ID, body, props map[string]any, rnd *rand.Rand, location, tenant string) *arm.Error {
	clusterID := id.String()
	setClusterFQDNs(props, clusterID, location, rnd)
	nodeRGID, err := completeNodeResourceGroup(tx, id, props, location)
	if err != nil {
		return err
	}
	if err := mintClusterCredentials(tx, body, clusterID, rnd); err != nil {
		return err
	}
	completeClusterIdentity(body, props, id, rnd, tenant)
	tx.Put(&arm.Resource{ID: nodeRGID, Type: arm.TypeResourceGroup, Body: map[string]any{
		"location":   location,
		"managedBy":  clusterID,
		"tags":       map[string]any{},
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}})
	return nil
}

// setClusterFQDNs sets fqdn and azurePortalFQDN from the DNS prefix (else fqdnSubdomain),
// the cluster ID's hash and the location; for a private cluster, also privateFQDN, with a
// GUID drawn from rnd.
func setClusterFQDNs(props map[string]any, clusterID, location string, rnd *rand.Rand) {
	hash := fqdnHash(clusterID)
	prefix := jsonmap.Str(props, "dnsPrefix")
	if prefix == "" {
		prefix = jsonmap.Str(props, "fqdnSubdomain")
	}
	props["fqdn"] = fmt.Sprintf("%s-%s.hcp.%s.azmk8s.io", prefix, hash, location)
	props["azurePortalFQDN"] = fmt.Sprintf("%s-%s.portal.hcp.%s.azmk8s.io", prefix, hash, location)
	if jsonmap.Bool(jsonmap.Obj(props, "apiServerAccessProfile"), "enablePrivateCluster", false) {
		props["privateFQDN"] = fmt.Sprintf("%s-%s.%s.privatelink.%s.azmk8s.io", prefix, hash, arm.RandomGUID(rnd), location)
	}
}

// completeNodeResourceGroup defaults nodeResourceGroup to MC_{rg}_{name}_{location} and
// refuses (NodeResourceGroupAlreadyExists) a group that exists and is not managed by this
// cluster. It returns the group's ID.
func completeNodeResourceGroup(tx arm.Tx, id arm.ID, props map[string]any, location string) (string, *arm.Error) {
	if jsonmap.Str(props, "nodeResourceGroup") == "" {
		props["nodeResourceGroup"] = nodeResourceGroupName(id.ResourceGroup, id.Name, location)
	}
	nodeRGID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", id.Subscription, jsonmap.Str(props, "nodeResourceGroup"))
	if rg := tx.Get(nodeRGID); rg != nil && !strings.EqualFold(jsonmap.Str(rg.Body, "managedBy"), id.String()) {
		return "", arm.Errorf(http.StatusBadRequest, "NodeResourceGroupAlreadyExists",
			"Node resource group %s already exists and is not managed by this cluster. Please use a different name.", jsonmap.Str(props, "nodeResourceGroup"))
	}
	return nodeRGID, nil
}

// mintClusterCredentials mints the cluster's credentials (tokens drawn from rnd) and keeps
// them under hiddenKey in the body, with the API server's loopback address.
func mintClusterCredentials(tx arm.Tx, body map[string]any, clusterID string, rnd *rand.Rand) *arm.Error {
	secrets, err := newClusterSecrets(func() string { return arm.RandomHex32(rnd) })
	if err != nil {
		return arm.Errorf(http.StatusInternalServerError, "KubeConfigError", "Minting the cluster credentials: %v", err)
	}
	body[hiddenKey] = map[string]any{"secrets": secrets.toMap(), "apiServerAddress": apiServerAddress(tx, clusterID).String()}
	return nil
}

// completeClusterIdentity gives a new cluster a SystemAssigned identity when it has neither
// an identity nor a service principal. With an identity, a SystemAssigned one gets a
// principalId drawn from rnd and its tenant (the caller's, else the AAD tenant), the service
// principal becomes "msi" and the kubelet identity is minted (IDs drawn from rnd).
func completeClusterIdentity(body, props map[string]any, id arm.ID, rnd *rand.Rand, tenant string) {
	identity := jsonmap.Obj(body, "identity")
	if identity == nil && jsonmap.Obj(props, "servicePrincipalProfile") == nil {
		identity = map[string]any{"type": "SystemAssigned"}
		body["identity"] = identity
	}
	if identity == nil {
		return
	}
	if strings.EqualFold(jsonmap.Str(identity, "type"), "SystemAssigned") {
		identity["principalId"] = arm.RandomGUID(rnd)
		// The identity lives in the subscription's tenant.
		t := tenant
		if t == "" {
			t = jsonmap.Str(jsonmap.Obj(props, "aadProfile"), "tenantID")
		}
		if t != "" {
			identity["tenantId"] = t
		}
	}
	props["servicePrincipalProfile"] = map[string]any{"clientId": "msi"}
	props["identityProfile"] = map[string]any{"kubeletidentity": map[string]any{
		"resourceId": fmt.Sprintf("/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s-agentpool",
			id.Subscription, jsonmap.Str(props, "nodeResourceGroup"), id.Name),
		"clientId": arm.RandomGUID(rnd),
		"objectId": arm.RandomGUID(rnd),
	}}
}

// finishCluster sets the remaining defaults (enableRBAC, maxAgentPools,
// disableLocalAccounts), the power state and the add-on identities (drawn from frnd), stores
// the inline pools as agentPools child resources and drops agentPoolProfiles from the body.
func finishCluster(tx arm.Tx, id arm.ID, props, old map[string]any, frnd *rand.Rand, pools []pendingPool) {
	defaults := map[string]any{"enableRBAC": true, "maxAgentPools": 100, "disableLocalAccounts": false}
	for k, v := range defaults {
		if _, ok := props[k]; !ok {
			props[k] = v
		}
	}
	props["powerState"] = map[string]any{"code": "Running"}
	addonIdentities(props, old, frnd, id)
	for _, p := range pools {
		tx.Put(&arm.Resource{ID: id.Child("agentPools", p.name).String(), Type: TypeAgentPool,
			Body: map[string]any{"properties": p.props}})
	}
	// The pools live as child resources; Render lists them in agentPoolProfiles.
	delete(props, "agentPoolProfiles")
}

// afterDeleteCluster deletes the node resource group the cluster created.
func afterDeleteCluster(tx arm.Tx, r *arm.Resource) {
	id := arm.ParseID(r.ID)
	rg := jsonmap.Str(jsonmap.Obj(r.Body, "properties"), "nodeResourceGroup")
	if rg == "" {
		return
	}
	rgID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", id.Subscription, rg)
	if node := tx.Get(rgID); node != nil && strings.EqualFold(jsonmap.Str(node.Body, "managedBy"), r.ID) {
		tx.Delete(rgID)
	}
}

// renderCluster hides the credentials, lists the cluster's agent pools inline and adds the
// proxy's effectiveNoProxy, computed from the pools and the network as they are now.
func renderCluster(tx arm.Tx, r *arm.Resource) map[string]any {
	b := jsonmap.CopyMap(r.Body)
	delete(b, hiddenKey)
	profiles := []any{}
	for _, p := range tx.List(r.ID, TypeAgentPool) {
		prof := jsonmap.CopyMap(jsonmap.Obj(p.Body, "properties"))
		prof["name"] = p.Name()
		profiles = append(profiles, prof)
	}
	props := jsonmap.Ensure(b, "properties")
	props["agentPoolProfiles"] = profiles
	if eff := effectiveNoProxy(tx, r.ID, props); eff != nil {
		jsonmap.Obj(props, "httpProxyConfig")["effectiveNoProxy"] = jsonmap.AnyList(eff)
	}
	return b
}

// apiServerAddress picks the loopback address of a new cluster's API server in
// APIServerRange: derived from the request's seed and the cluster's ID, not another
// cluster's.
func apiServerAddress(tx arm.Tx, clusterID string) netip.Addr {
	taken := map[netip.Addr]bool{}
	for _, c := range tx.List("", TypeManagedCluster) {
		if a, err := netip.ParseAddr(jsonmap.Str(jsonmap.Obj(c.Body, hiddenKey), "apiServerAddress")); err == nil {
			taken[a] = true
		}
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", tx.Seed(), strings.ToLower(clusterID))
	return network.LoopbackAddress(APIServerRange, h.Sum64(), func(a netip.Addr) bool { return taken[a] })
}

// credentials implements listClusterAdminCredential and listClusterUserCredential. With
// serve, the kubeconfig's server is the address where the emulator runs the API server.
func credentials(admin, serve bool) arm.Action {
	return func(_ arm.Tx, r *arm.Resource, _ map[string]any) (int, any, *arm.Error) {
		props := jsonmap.Obj(r.Body, "properties")
		if admin && jsonmap.Bool(props, "disableLocalAccounts", false) {
			return 0, nil, arm.Errorf(http.StatusBadRequest, "BadRequest",
				"Getting static credential is not allowed because this cluster is set to disable local accounts.")
		}
		id := arm.ParseID(r.ID)
		host := jsonmap.Str(props, "fqdn")
		if p := jsonmap.Str(props, "privateFQDN"); p != "" {
			host = p
		}
		sec := secretsFrom(jsonmap.Obj(r.Body, hiddenKey, "secrets"))
		server := "https://" + host + ":443"
		if addr := jsonmap.Str(jsonmap.Obj(r.Body, hiddenKey), "apiServerAddress"); serve && addr != "" {
			server = "https://" + net.JoinHostPort(addr, strconv.Itoa(APIServerPort))
		}
		spec := kubeconfigSpec{
			Cluster: id.Name,
			Server:  server,
			CA:      sec.CA,
		}
		name := "clusterUser"
		if admin {
			name = "clusterAdmin"
			spec.Context = id.Name + "-admin"
			spec.User = fmt.Sprintf("clusterAdmin_%s_%s", id.ResourceGroup, id.Name)
			spec.ClientCert, spec.ClientKey, spec.Token = sec.AdminCert, sec.AdminKey, sec.AdminToken
		} else {
			spec.Context = id.Name
			spec.User = fmt.Sprintf("clusterUser_%s_%s", id.ResourceGroup, id.Name)
			spec.ClientCert, spec.ClientKey, spec.Token = sec.UserCert, sec.UserKey, sec.UserToken
			if aad := jsonmap.Obj(props, "aadProfile"); aad != nil {
				spec.AAD, spec.TenantID = true, jsonmap.Str(aad, "tenantID")
			}
		}
		out, err := renderKubeconfig(spec)
		if err != nil {
			return 0, nil, arm.Errorf(http.StatusInternalServerError, "KubeConfigError", "Rendering the %s kubeconfig: %v", name, err)
		}
		return http.StatusOK, map[string]any{"kubeconfigs": []any{map[string]any{
			"name": name, "value": base64.StdEncoding.EncodeToString(out),
		}}}, nil
	}
}

// prepareAgentPool validates and completes a PUT of an agentPools child resource.
func prepareAgentPool(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	clusterID := req.ID.Parent()
	cluster := tx.Get(clusterID)
	if cluster == nil {
		return arm.Errorf(http.StatusNotFound, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource '%s' not found.", arm.ParseID(clusterID).Name)
	}
	loc, _ := tx.Location(jsonmap.Str(cluster.Body, "location"))
	pc := poolContext{tx: tx, location: loc, cpVersion: jsonmap.Str(jsonmap.Obj(cluster.Body, "properties"), "currentKubernetesVersion")}
	props := jsonmap.Ensure(req.Body, "properties")
	var old map[string]any
	if req.Existing != nil {
		old = jsonmap.Obj(req.Existing.Body, "properties")
	}
	if err := pc.preparePool(req.ID.Name, props, old); err != nil {
		return err
	}
	if old != nil && isSystem(old) && !isSystem(props) && !otherSystemPool(tx, clusterID, req.ID.Name) {
		return noSystemPool()
	}
	return nil
}

// livePools returns the cluster's agent pools that are not being deleted.
func livePools(tx arm.Tx, clusterID string) []*arm.Resource {
	var out []*arm.Resource
	for _, p := range tx.List(clusterID, TypeAgentPool) {
		if !strings.EqualFold(jsonmap.Str(jsonmap.Obj(p.Body, "properties"), "provisioningState"), "Deleting") {
			out = append(out, p)
		}
	}
	return out
}

// otherSystemPool reports whether the cluster has a System pool other than name.
func otherSystemPool(tx arm.Tx, clusterID, name string) bool {
	for _, p := range livePools(tx, clusterID) {
		if !strings.EqualFold(p.Name(), name) && isSystem(jsonmap.Obj(p.Body, "properties")) {
			return true
		}
	}
	return false
}

// checkDeletePool refuses deleting the last agent pool or the last System pool.
func checkDeletePool(tx arm.Tx, r *arm.Resource) *arm.Error {
	clusterID := arm.ParseID(r.ID).Parent()
	if len(livePools(tx, clusterID)) <= 1 {
		return arm.Errorf(http.StatusBadRequest, "OperationNotAllowed", "There has to be at least one agent pool.")
	}
	if isSystem(jsonmap.Obj(r.Body, "properties")) && !otherSystemPool(tx, clusterID, r.Name()) {
		return noSystemPool()
	}
	return nil
}

// getUpgradeProfile answers GET .../managedClusters/{c}/upgradeProfiles/default.
func getUpgradeProfile(tx arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
	p := req.Params
	rgID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", p["subscriptionId"], p["resourceGroupName"])
	if tx.Get(rgID) == nil {
		return 0, nil, arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", p["resourceGroupName"])
	}
	c := tx.Get(rgID + "/providers/Microsoft.ContainerService/managedClusters/" + p["resourceName"])
	if c == nil {
		return 0, nil, arm.Errorf(http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.ContainerService/managedClusters/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
			p["resourceName"], p["resourceGroupName"])
	}
	ups := func(v string) []any {
		out := []any{}
		for _, u := range upgradesOf(v) {
			out = append(out, map[string]any{"kubernetesVersion": u, "isPreview": false})
		}
		return out
	}
	cur := jsonmap.Str(jsonmap.Obj(c.Body, "properties"), "currentKubernetesVersion")
	pools := []any{}
	for _, ap := range tx.List(c.ID, TypeAgentPool) {
		pv := jsonmap.Str(jsonmap.Obj(ap.Body, "properties"), "currentOrchestratorVersion")
		pools = append(pools, map[string]any{"name": ap.Name(), "kubernetesVersion": pv, "osType": "Linux", "upgrades": ups(pv)})
	}
	return http.StatusOK, map[string]any{
		"id":   c.ID + "/upgradeprofiles/default",
		"name": "default",
		"type": "Microsoft.ContainerService/managedClusters/upgradeprofiles",
		"properties": map[string]any{
			"controlPlaneProfile": map[string]any{"kubernetesVersion": cur, "osType": "Linux", "upgrades": ups(cur)},
			"agentPoolProfiles":   pools,
		},
	}, nil
}
