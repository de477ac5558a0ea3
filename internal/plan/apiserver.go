package plan

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/strata-dev/strata/api/v1alpha1"
)

// The API server's endpoint.
const (
	// APIServerPort is the API server's port, on the load balancer and on the nodes.
	APIServerPort = 6443
	// APIServerRulePriority is the priority of the control-plane NSG's inbound rule, as CAPZ.
	APIServerRulePriority = 2201
	// lbIdleTimeoutMinutes is the idle timeout of the API server's load-balancing rule.
	lbIdleTimeoutMinutes = 4
	// maxDNSLabel is the longest DNS label Azure accepts for a public IP.
	maxDNSLabel = 63
)

// Names of the API server load balancer's parts.
const (
	lbProbeName = "HTTPSProbe"
	lbRuleName  = "LBRuleHTTPS"
)

// apiServerNames are the names of the API server's public IP (none for an Internal load
// balancer) and load balancer.
type apiServerNames struct {
	frontend, pool      string
	pipID, lbID, poolID string
	dnsLabel, fqdn      string
}

func (b *builder) apiServerNames() apiServerNames {
	sub, rg, n := b.az.SubscriptionID, b.az.ResourceGroup, b.name()
	lb := n + "-public-lb"
	if b.internalLB() != nil {
		lb = n + "-internal-lb"
	}
	lbID := networkID(sub, rg, "loadBalancers", lb)
	pool := lb + "-backendPool"
	names := apiServerNames{
		lbID:     lbID,
		frontend: lb + "-frontEnd",
		pool:     pool,
		poolID:   lbID + "/backendAddressPools/" + pool,
		fqdn:     APIServerFQDN(b.c),
	}
	if b.internalLB() == nil {
		names.pipID = networkID(sub, rg, "publicIPAddresses", "pip-"+n+"-apiserver")
		names.dnsLabel = DNSLabel(sub, rg, n)
	}
	return names
}

// internalLB is the cluster's Internal API server load balancer, defaulted, or nil for a
// public one.
func (b *builder) internalLB() *v1alpha1.APIServerLB { return v1alpha1.InternalAPIServer(b.c) }

// endpoint is the API server's address, "fqdn:6443": kubeadm's controlPlaneEndpoint.
func (b *builder) endpoint() string { return APIServerEndpoint(b.c) }

// APIServerEndpoint is the address of an IaaS cluster's API server, "{fqdn}:6443" (see
// APIServerFQDN): the status's controlPlaneEndpoint.
func APIServerEndpoint(c *v1alpha1.Cluster) string {
	return fmt.Sprintf("%s:%d", APIServerFQDN(c), APIServerPort)
}

// APIServerFQDN is the DNS name of an IaaS cluster's API server: the DNS name of its load
// balancer's public IP, or for an Internal load balancer its private DNS name (resolved by
// the private DNS zone linked to the cluster's virtual network). It is the endpoint's host,
// the API server certificate's SAN and the TLS server name of its clients.
func APIServerFQDN(c *v1alpha1.Cluster) string {
	if lb := v1alpha1.InternalAPIServer(c); lb != nil {
		return lb.PrivateDNSName
	}
	az := &c.Spec.Azure
	return DNSLabel(az.SubscriptionID, az.ResourceGroup, c.Metadata.Name) + "." + az.Location + ".cloudapp.azure.com"
}

// APIServerAddress is the IP address of an IaaS cluster's API server when the cluster's spec
// fixes it: the static IP of an Internal load balancer. It is "" for a public load balancer,
// whose address Azure assigns to its public IP.
func APIServerAddress(c *v1alpha1.Cluster) string {
	if lb := v1alpha1.InternalAPIServer(c); lb != nil {
		return lb.StaticIP
	}
	return ""
}

// DNSLabel is the API server public IP's domain name label: the cluster's name and a short
// hash of the subscription, resource group and cluster, so that two clusters of the same name
// in one region get different names. It has at most 63 characters.
func DNSLabel(subscription, resourceGroup, cluster string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(subscription) + "/" + strings.ToLower(resourceGroup) + "/" + cluster))
	suffix := fmt.Sprintf("-%08x", h.Sum32())
	name := strings.ToLower(cluster)
	if len(name) > maxDNSLabel-len(suffix) {
		name = strings.TrimRight(name[:maxDNSLabel-len(suffix)], "-")
	}
	return name + suffix
}

// apiServer adds the API server's load balancer: public by default, with its public IP;
// Internal, in the control-plane subnet, with its private DNS zone and record (see
// privateDNS), when the cluster asks for one.
func (b *builder) apiServer() {
	if lb := b.internalLB(); lb != nil {
		b.internalAPIServer(lb)
		return
	}
	b.publicAPIServer()
}

// apiServerZones are the zones of the control-plane pool's VM size in the region, which the
// API server's frontend spans (zone-redundant), or none.
func (b *builder) apiServerZones() []*string {
	var zones []*string
	if cp := b.controlPlanePool(); cp != nil {
		for _, z := range b.sizeZones(cp.InstanceType) {
			zones = append(zones, new(z))
		}
	}
	return zones
}

// publicAPIServer adds the API server's public IP and its Standard public load balancer. The
// public IP is zone-redundant over the zones the control-plane size has in the region; the
// frontend of a public load balancer never carries zones.
func (b *builder) publicAPIServer() {
	names := b.apiServerNames()
	b.add(&Node{Key: keyAPIServerIP, Kind: KindPublicIPAddress, ID: names.pipID,
		DependsOn: []string{keyResourceGroup}, Managed: true, Role: RoleAPIServer,
		Spec: armnetwork.PublicIPAddress{
			Location: new(b.az.Location), Tags: b.tags(RoleAPIServer), Zones: b.apiServerZones(),
			SKU: &armnetwork.PublicIPAddressSKU{Name: new(armnetwork.PublicIPAddressSKUNameStandard), Tier: new(armnetwork.PublicIPAddressSKUTierRegional)},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{
				PublicIPAllocationMethod: new(armnetwork.IPAllocationMethodStatic),
				PublicIPAddressVersion:   new(armnetwork.IPVersionIPv4),
				DNSSettings: &armnetwork.PublicIPAddressDNSSettings{
					DomainNameLabel: new(names.dnsLabel),
				},
			},
		}})
	frontend := &armnetwork.FrontendIPConfiguration{
		Name: new(names.frontend),
		Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
			PublicIPAddress: &armnetwork.PublicIPAddress{ID: new(names.pipID)},
		},
	}
	b.add(&Node{Key: keyAPIServerLB, Kind: KindLoadBalancer, ID: names.lbID,
		DependsOn: []string{keyAPIServerIP}, Managed: true, Role: RoleAPIServer,
		Spec: b.apiServerLB(names, frontend, true)})
}

// internalAPIServer adds the API server's Standard internal load balancer, whose frontend has
// the static IP in the control-plane subnet (zone-redundant over the control-plane size's
// zones, as an internal frontend may be), then the private DNS zone, its links and the
// record of the API server's name. No public IP is made.
func (b *builder) internalAPIServer(lb *v1alpha1.APIServerLB) {
	names := b.apiServerNames()
	frontend := &armnetwork.FrontendIPConfiguration{
		Name:  new(names.frontend),
		Zones: b.apiServerZones(),
		Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
			Subnet:                    &armnetwork.Subnet{ID: new(b.graph.Node(keySubnetControl).ID)},
			PrivateIPAllocationMethod: new(armnetwork.IPAllocationMethodStatic),
			PrivateIPAddress:          new(lb.StaticIP),
			PrivateIPAddressVersion:   new(armnetwork.IPVersionIPv4),
		},
	}
	// An internal load balancer does no outbound SNAT: there is nothing to disable.
	b.add(&Node{Key: keyAPIServerLB, Kind: KindLoadBalancer, ID: names.lbID,
		DependsOn: []string{keyResourceGroup, keySubnetControl}, Managed: true, Role: RoleAPIServer,
		Spec: b.apiServerLB(names, frontend, false)})
	b.privateDNS(lb)
}

// apiServerLB is the Standard load balancer of the API server with the frontend: one backend
// pool (the control-plane NICs), an HTTPS probe of /readyz and a rule from 6443 to 6443;
// disableSNAT turns off the rule's outbound SNAT (public load balancers).
func (b *builder) apiServerLB(names apiServerNames, frontend *armnetwork.FrontendIPConfiguration, disableSNAT bool) armnetwork.LoadBalancer {
	frontendID := names.lbID + "/frontendIPConfigurations/" + names.frontend
	probeID := names.lbID + "/probes/" + lbProbeName
	return armnetwork.LoadBalancer{
		Location: new(b.az.Location), Tags: b.tags(RoleAPIServer),
		SKU: &armnetwork.LoadBalancerSKU{Name: new(armnetwork.LoadBalancerSKUNameStandard), Tier: new(armnetwork.LoadBalancerSKUTierRegional)},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{
			FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{frontend},
			BackendAddressPools:      []*armnetwork.BackendAddressPool{{Name: new(names.pool)}},
			Probes: []*armnetwork.Probe{{
				Name: new(lbProbeName),
				Properties: &armnetwork.ProbePropertiesFormat{
					Protocol:          new(armnetwork.ProbeProtocolHTTPS),
					Port:              new(int32(APIServerPort)),
					RequestPath:       new("/readyz"),
					IntervalInSeconds: new(int32(15)),
					NumberOfProbes:    new(int32(1)),
					ProbeThreshold:    new(int32(1)),
				},
			}},
			LoadBalancingRules: []*armnetwork.LoadBalancingRule{{
				Name: new(lbRuleName),
				Properties: &armnetwork.LoadBalancingRulePropertiesFormat{
					Protocol:                new(armnetwork.TransportProtocolTCP),
					FrontendPort:            new(int32(APIServerPort)),
					BackendPort:             new(int32(APIServerPort)),
					IdleTimeoutInMinutes:    new(int32(lbIdleTimeoutMinutes)),
					EnableFloatingIP:        new(false),
					EnableTCPReset:          new(false),
					DisableOutboundSnat:     new(disableSNAT),
					LoadDistribution:        new(armnetwork.LoadDistributionDefault),
					FrontendIPConfiguration: &armnetwork.SubResource{ID: new(frontendID)},
					BackendAddressPool:      &armnetwork.SubResource{ID: new(names.poolID)},
					Probe:                   &armnetwork.SubResource{ID: new(probeID)},
				},
			}},
		},
	}
}

// sizeZones returns the region's zones of a VM size, sorted, or none.
func (b *builder) sizeZones(size string) []string {
	return slices.Sorted(slices.Values(b.in.Env.Zones[size]))
}
