package plan

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/proxyenv"
)

// Graph keys of an AKS cluster's own nodes.
const (
	keyManagedCluster = "managed-cluster"
	keyAgentPoolPfx   = "pool/"
)

// AKS settings strata fixes.
const (
	// AKSAdminUsername is the Linux admin user of the nodes, who holds the SSH key.
	AKSAdminUsername = "azureuser"
	// aksDNSPrefixMax is the longest DNS prefix AKS accepts.
	aksDNSPrefixMax = 54
)

// aksLayers is what an AKS graph needs of the cluster's profiles.
type aksLayers struct {
	kubernetesVersion string // "1.30.9", as AKS takes it (no "v")
	podCIDR           string
	serviceCIDR       string
	mcp               *v1alpha1.ManagedControlPlane // nil: no managedControlPlane block
	// From the network layer (all optional): networkPlugin, networkPluginMode, networkPolicy.
	networkPlugin, networkPluginMode, networkPolicy string
}

// readAKSLayers reads the kubernetes layer (version, pod and service ranges, the
// managedControlPlane block) and the network layer of an AKS cluster's profiles.
func readAKSLayers(c *v1alpha1.Cluster, profiles []*v1alpha1.ClusterProfile) (aksLayers, error) {
	var out aksLayers
	k8s, err := findLayer(c, profiles, v1alpha1.LayerKubernetes)
	if err != nil {
		return out, err
	}
	if k8s == nil {
		return out, errors.New("no pinned profile has a kubernetes layer")
	}
	out.kubernetesVersion = strings.TrimPrefix(k8s.version, "v")
	out.podCIDR = orDefault(stringAt(k8s.values, "pack", "podCIDR"), v1alpha1.DefaultPodCIDR)
	out.serviceCIDR = orDefault(stringAt(k8s.values, "pack", "serviceClusterIpRange"), v1alpha1.DefaultServiceCIDR)
	var errs v1alpha1.ErrorList
	out.mcp = v1alpha1.ParseManagedControlPlane(&errs, v1alpha1.Path("values"), k8s.values)
	if len(errs) > 0 {
		return out, fmt.Errorf("profile %s, layer %s: %w", k8s.profile, k8s.name, errs)
	}
	net, err := findLayer(c, profiles, v1alpha1.LayerNetwork)
	if err != nil {
		return out, err
	}
	if net != nil {
		out.networkPlugin = stringAt(net.values, "networkPlugin")
		out.networkPluginMode = stringAt(net.values, "networkPluginMode")
		out.networkPolicy = stringAt(net.values, "networkPolicy")
	}
	return out, nil
}

// buildAKS returns the desired graph of an AKS cluster: the adopted resource group, the node
// subnet (with its VNet and NSG, created with dynamic placement and adopted with static
// placement), the managed cluster and one agent pool per machine pool.
func buildAKS(in Input) (*Graph, error) {
	c := in.Cluster
	al, err := readAKSLayers(c, in.Profiles)
	if err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	c = withPoolDefaults(c, v1alpha1.DefaultAKSOSDiskType)
	b := &builder{in: in, c: c, az: &c.Spec.Azure, graph: &Graph{Cluster: c.Metadata.Name},
		layers: layers{podCIDR: al.podCIDR, serviceCIDR: al.serviceCIDR}}
	if err := b.checkRanges(); err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	np, err := aksNetworkProfile(al)
	if err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	proxy, err := b.aksHTTPProxy()
	if err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	b.resourceGroup()
	b.aksNetwork()
	b.managedCluster(al, np, proxy)
	return b.graph, nil
}

// aksNetwork adds the subnet the node pools live in: the user's worker subnet (adopted, with
// its VNet and NSG) under static placement; under dynamic placement a VNet, an NSG and a
// subnet strata creates. AKS makes its own load balancer and outbound IP, so there is no NAT
// gateway.
func (b *builder) aksNetwork() {
	np := b.netPlan()
	if b.az.Placement != nil {
		b.adoptedVNet(np)
		b.adoptedNSG(np, np.workers)
		b.adoptedSubnet(np, np.workers)
		return
	}
	b.createdVNet(np)
	b.createdNSG(np, np.workers)
	b.createdSubnet(np, np.workers, "")
}

// ManagedClusterID is the ARM ID of an AKS cluster's managed cluster.
func ManagedClusterID(c *v1alpha1.Cluster) string {
	az := &c.Spec.Azure
	return resourceID(az.SubscriptionID, az.ResourceGroup, "Microsoft.ContainerService", "managedClusters", c.Metadata.Name)
}

// AKSDNSPrefix is the DNS prefix of a cluster's API server name: the cluster's name, cut to
// the 54 characters AKS allows (AKS adds a hash and the region to make the FQDN unique).
func AKSDNSPrefix(name string) string {
	p := strings.TrimRight(name[:min(len(name), aksDNSPrefixMax)], "-")
	if len(p) < 2 { // AKS wants at least two characters
		p += "-aks"
	}
	return p
}

// managedCluster adds the managed cluster, created with every pool inline (AKS needs its
// system pool at creation), and one AgentPool node per pool, through which later changes of a
// pool (count, autoscaler bounds, labels) are made and pools are added and removed.
func (b *builder) managedCluster(al aksLayers, np *armcontainerservice.NetworkProfile, proxy *armcontainerservice.ManagedClusterHTTPProxyConfig) {
	c, az := b.c, b.az
	mcID := ManagedClusterID(c)
	subnet := b.graph.Node(keySubnetWorkers).ID
	props := &armcontainerservice.ManagedClusterProperties{
		KubernetesVersion: new(al.kubernetesVersion),
		DNSPrefix:         new(AKSDNSPrefix(c.Metadata.Name)),
		EnableRBAC:        new(true),
		LinuxProfile: &armcontainerservice.LinuxProfile{
			AdminUsername: new(AKSAdminUsername),
			SSH: &armcontainerservice.SSHConfiguration{
				PublicKeys: []*armcontainerservice.SSHPublicKey{{KeyData: new(strings.TrimSpace(az.SSHPublicKey))}},
			},
		},
		NetworkProfile:       np,
		DisableLocalAccounts: new(false),
		HTTPProxyConfig:      proxy,
	}
	sku := &armcontainerservice.ManagedClusterSKU{
		Name: new(armcontainerservice.ManagedClusterSKUNameBase),
		Tier: new(armcontainerservice.ManagedClusterSKUTierFree),
	}
	if m := al.mcp; m != nil {
		controlPlaneOptions(m, props, sku)
	}
	pools := make([]*armcontainerservice.ManagedClusterAgentPoolProfileProperties, len(c.Spec.MachinePools))
	for i := range c.Spec.MachinePools {
		pools[i] = b.agentPool(&c.Spec.MachinePools[i], al.kubernetesVersion, subnet)
		props.AgentPoolProfiles = append(props.AgentPoolProfiles, inlinePool(c.Spec.MachinePools[i].Name, pools[i]))
	}
	b.add(&Node{Key: keyManagedCluster, Kind: KindManagedCluster, ID: mcID,
		DependsOn: []string{keyResourceGroup, keySubnetWorkers}, Managed: true, Role: RoleControlPlane,
		Spec: armcontainerservice.ManagedCluster{
			Location:   new(az.Location),
			Tags:       b.tags(RoleControlPlane),
			SKU:        sku,
			Identity:   &armcontainerservice.ManagedClusterIdentity{Type: new(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
			Properties: props,
		}})
	for i, mp := range c.Spec.MachinePools {
		b.add(&Node{Key: keyAgentPoolPfx + mp.Name, Kind: KindAgentPool, ID: mcID + "/agentPools/" + mp.Name,
			DependsOn: []string{keyManagedCluster}, Managed: true, Role: RoleNodes,
			Spec: armcontainerservice.AgentPool{Properties: pools[i]}})
	}
}

// controlPlaneOptions sets what the managedControlPlane block asks for on the managed
// cluster's properties and SKU.
func controlPlaneOptions(m *v1alpha1.ManagedControlPlane, props *armcontainerservice.ManagedClusterProperties, sku *armcontainerservice.ManagedClusterSKU) {
	if m.SKU != "" {
		sku.Tier = new(armcontainerservice.ManagedClusterSKUTier(m.SKU))
	}
	if aad := m.AADProfile; aad != nil && aad.Managed {
		props.AADProfile = &armcontainerservice.ManagedClusterAADProfile{
			Managed:             new(true),
			EnableAzureRBAC:     new(true),
			AdminGroupObjectIDs: ptrs(aad.AdminGroupObjectIDs),
		}
		props.DisableLocalAccounts = new(aad.DisableLocalAccounts)
	}
	if up := m.AutoUpgradeProfile; up != nil {
		props.AutoUpgradeProfile = &armcontainerservice.ManagedClusterAutoUpgradeProfile{
			UpgradeChannel: new(armcontainerservice.UpgradeChannel(up.UpgradeChannel)),
		}
	}
	if o := m.OIDCIssuerProfile; o != nil {
		props.OidcIssuerProfile = &armcontainerservice.ManagedClusterOIDCIssuerProfile{Enabled: new(o.Enabled)}
	}
	if s := m.SecurityProfile; s != nil && s.WorkloadIdentity != nil {
		props.SecurityProfile = &armcontainerservice.ManagedClusterSecurityProfile{
			WorkloadIdentity: &armcontainerservice.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: new(s.WorkloadIdentity.Enabled)},
		}
	}
	if w := m.WorkloadAutoScalerProfile; w != nil && w.KEDA != nil {
		props.WorkloadAutoScalerProfile = &armcontainerservice.ManagedClusterWorkloadAutoScalerProfile{
			Keda: &armcontainerservice.ManagedClusterWorkloadAutoScalerProfileKeda{Enabled: new(w.KEDA.Enabled)},
		}
	}
	props.AddonProfiles = addonProfiles(m.AddonProfiles)
}

// addonProfiles is the managed cluster's addonProfiles map, nil for no add-on.
func addonProfiles(addons []v1alpha1.AddonProfile) map[string]*armcontainerservice.ManagedClusterAddonProfile {
	if len(addons) == 0 {
		return nil
	}
	out := map[string]*armcontainerservice.ManagedClusterAddonProfile{}
	for _, a := range addons {
		ap := &armcontainerservice.ManagedClusterAddonProfile{Enabled: new(a.Enabled)}
		if len(a.Config) > 0 {
			ap.Config = map[string]*string{}
			for k, v := range a.Config {
				ap.Config[k] = new(v)
			}
		}
		out[a.Name] = ap
	}
	return out
}

// aksHTTPProxy is the managed cluster's httpProxyConfig for the proxy the cluster inherits
// from its gateway, nil without one: the proxies (httpsProxy defaults to httpProxy, as AKS
// does), noProxy and the proxy's CA as base64 of its PEM (trustedCa). noProxy is
// proxyenv.NoProxy of the cluster's network (ProxyNetwork) without the entries AKS refuses
// (see aksNoProxy); AKS adds the node, pod and service ranges, its own addresses and the API
// server to what it applies (effectiveNoProxy). AKS supports no proxy authentication, and the
// managed cluster's properties are readable by anyone who may read the cluster: a proxy URL
// with a user (and password) is refused rather than sent.
func (b *builder) aksHTTPProxy() (*armcontainerservice.ManagedClusterHTTPProxyConfig, error) {
	px := b.in.Proxy
	if px == nil || !px.Enabled() {
		return nil, nil
	}
	httpProxy, httpsProxy := strings.TrimSpace(px.HTTPProxy), strings.TrimSpace(px.HTTPSProxy)
	for _, u := range []struct{ field, url string }{{"httpProxy", httpProxy}, {"httpsProxy", httpsProxy}} {
		// Never repeat the URL: it may hold the password.
		if parsed, err := url.Parse(u.url); err != nil || parsed.User != nil {
			return nil, fmt.Errorf("the gateway's proxy: AKS supports no proxy authentication, and its %s is not a URL without a user and password", u.field)
		}
	}
	if httpsProxy == "" {
		httpsProxy = httpProxy
	}
	network, err := ProxyNetwork(b.c, b.in.Profiles)
	if err != nil {
		return nil, fmt.Errorf("the proxy's noProxy: %w", err)
	}
	cfg := &armcontainerservice.ManagedClusterHTTPProxyConfig{
		Enabled:    new(true),
		HTTPSProxy: new(httpsProxy),
		NoProxy:    ptrs(aksNoProxy(proxyenv.NoProxy(*px, network))),
	}
	if httpProxy != "" {
		cfg.HTTPProxy = new(httpProxy)
	}
	if px.CACertificate != "" {
		cfg.TrustedCa = new(base64.StdEncoding.EncodeToString([]byte(px.CACertificate)))
	}
	return cfg, nil
}

// aksNoProxy drops the noProxy entries AKS refuses: those with a "*" wildcard. CIDRs, IP
// addresses, host names and domains with a leading dot are kept.
func aksNoProxy(entries []string) []string {
	return slices.DeleteFunc(slices.Clone(entries), func(e string) bool { return strings.Contains(e, "*") })
}

// agentPool is the desired agent pool of a machine pool.
func (b *builder) agentPool(mp *v1alpha1.MachinePool, version, subnet string) *armcontainerservice.ManagedClusterAgentPoolProfileProperties {
	mode := armcontainerservice.AgentPoolModeUser
	if mp.System {
		mode = armcontainerservice.AgentPoolModeSystem
	}
	p := &armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Mode:                new(mode),
		Type:                new(armcontainerservice.AgentPoolTypeVirtualMachineScaleSets),
		OSType:              new(armcontainerservice.OSTypeLinux),
		VMSize:              new(mp.InstanceType),
		Count:               new(int32(mp.Count)),
		EnableAutoScaling:   new(false),
		AvailabilityZones:   ptrs(b.poolZones(mp)),
		OSDiskSizeGB:        new(int32(mp.OSDisk.SizeGB)),
		OSDiskType:          new(armcontainerservice.OSDiskType(mp.OSDisk.Type)),
		OrchestratorVersion: new(version),
		VnetSubnetID:        new(subnet),
		EnableNodePublicIP:  new(false),
		NodeLabels:          map[string]*string{},
		NodeTaints:          []*string{},
		Tags:                b.tags(RoleNodes),
	}
	if mp.MaxPods != nil {
		p.MaxPods = new(int32(*mp.MaxPods))
	}
	if lo, hi := poolBound(mp.Min, mp.Count), poolBound(mp.Max, mp.Count); lo != hi {
		p.EnableAutoScaling = new(true)
		p.MinCount, p.MaxCount = new(int32(lo)), new(int32(hi))
	}
	for k, v := range mp.Labels {
		p.NodeLabels[k] = new(v)
	}
	for _, t := range mp.Taints {
		p.NodeTaints = append(p.NodeTaints, new(fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect)))
	}
	return p
}

// poolBound is an autoscaler bound, count when unset.
func poolBound(v *int, count int) int {
	if v == nil {
		return count
	}
	return *v
}

// poolZones are the pool's zones, or every zone the region offers its VM size in.
func (b *builder) poolZones(mp *v1alpha1.MachinePool) []string {
	if len(mp.Zones) > 0 {
		return mp.Zones
	}
	z := slices.Clone(b.in.Env.Zones[mp.InstanceType])
	slices.Sort(z)
	return z
}

// inlinePool is a pool as the managed cluster's agentPoolProfiles list holds it: the same
// fields as the agent pool's properties, with the pool's name.
func inlinePool(name string, p *armcontainerservice.ManagedClusterAgentPoolProfileProperties) *armcontainerservice.ManagedClusterAgentPoolProfile {
	data, err := json.Marshal(p)
	if err != nil {
		panic("plan: agent pool: " + err.Error()) // SDK models always marshal
	}
	var out armcontainerservice.ManagedClusterAgentPoolProfile
	if err := json.Unmarshal(data, &out); err != nil {
		panic("plan: agent pool: " + err.Error())
	}
	out.Name = new(name)
	return &out
}

// aksNetworkProfile is the cluster's network profile: the network layer's plugin (Azure CNI
// by default, in overlay mode so that pods do not take the subnet's addresses), its policy,
// the kubernetes layer's pod and service ranges, and AKS's standard load balancer for egress.
// The values were validated with the profile and the cluster (v1alpha1's layer value rules).
func aksNetworkProfile(al aksLayers) (*armcontainerservice.NetworkProfile, error) {
	svc, err := netip.ParsePrefix(al.serviceCIDR)
	if err != nil {
		return nil, fmt.Errorf("the service range %q is not a CIDR: %w", al.serviceCIDR, err)
	}
	plugin := orDefault(al.networkPlugin, string(armcontainerservice.NetworkPluginAzure))
	np := &armcontainerservice.NetworkProfile{
		NetworkPlugin:   new(armcontainerservice.NetworkPlugin(plugin)),
		ServiceCidr:     new(svc.Masked().String()),
		DNSServiceIP:    new(dnsServiceIP(svc)),
		LoadBalancerSKU: new(armcontainerservice.LoadBalancerSKUStandard),
		OutboundType:    new(armcontainerservice.OutboundTypeLoadBalancer),
	}
	mode := al.networkPluginMode
	if mode == "" && plugin == "azure" {
		mode = string(armcontainerservice.NetworkPluginModeOverlay)
	}
	if mode != "" {
		np.NetworkPluginMode = new(armcontainerservice.NetworkPluginMode(mode))
	}
	if mode == "overlay" || plugin == "kubenet" {
		np.PodCidr = new(al.podCIDR)
	}
	if p := al.networkPolicy; p != "" {
		np.NetworkPolicy = new(armcontainerservice.NetworkPolicy(p))
	}
	return np, nil
}

// dnsServiceIP is the cluster DNS service's address: the tenth of the service range, as AKS
// and kubeadm choose it.
func dnsServiceIP(svc netip.Prefix) string {
	a := svc.Masked().Addr()
	for range 10 {
		a = a.Next()
	}
	return a.String()
}

// ptrs turns strings into the SDK's pointer lists.
func ptrs(s []string) []*string {
	out := make([]*string, len(s))
	for i := range s {
		out[i] = new(s[i])
	}
	return out
}
