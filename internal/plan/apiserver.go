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

// apiServerNames are the names of the API server's public IP and load balancer.
type apiServerNames struct {
	frontend, pool      string
	pipID, lbID, poolID string
	dnsLabel, fqdn      string
}

func (b *builder) apiServerNames() apiServerNames {
	sub, rg, n := b.az.SubscriptionID, b.az.ResourceGroup, b.name()
	lb := n + "-public-lb"
	lbID := networkID(sub, rg, "loadBalancers", lb)
	pool := lb + "-backendPool"
	return apiServerNames{
		pipID:    networkID(sub, rg, "publicIPAddresses", "pip-"+n+"-apiserver"),
		lbID:     lbID,
		frontend: lb + "-frontEnd",
		pool:     pool,
		poolID:   lbID + "/backendAddressPools/" + pool,
		dnsLabel: DNSLabel(sub, rg, n),
		fqdn:     APIServerFQDN(b.c),
	}
}

// endpoint is the API server's address, "fqdn:6443": kubeadm's controlPlaneEndpoint.
func (b *builder) endpoint() string { return APIServerEndpoint(b.c) }

// APIServerEndpoint is the address of an IaaS cluster's API server, "{fqdn}:6443", where fqdn
// is the DNS name of its load balancer's public IP: the status's controlPlaneEndpoint.
func APIServerEndpoint(c *v1alpha1.Cluster) string {
	return fmt.Sprintf("%s:%d", APIServerFQDN(c), APIServerPort)
}

// apiServerFQDN is the DNS name of an IaaS cluster's API server public IP: the endpoint and
// the API server certificate's SAN.
func APIServerFQDN(c *v1alpha1.Cluster) string {
	az := &c.Spec.Azure
	return DNSLabel(az.SubscriptionID, az.ResourceGroup, c.Metadata.Name) + "." + az.Location + ".cloudapp.azure.com"
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

// apiServer adds the API server's public IP and its Standard public load balancer. The public
// IP is zone-redundant over the zones the control-plane size has in the region; the frontend
// of a public load balancer never carries zones.
func (b *builder) apiServer() {
	names := b.apiServerNames()
	loc := new(b.az.Location)
	var zones []*string
	if cp := b.controlPlanePool(); cp != nil {
		for _, z := range b.sizeZones(cp.InstanceType) {
			zones = append(zones, new(z))
		}
	}
	b.add(&Node{Key: keyAPIServerIP, Kind: KindPublicIPAddress, ID: names.pipID,
		DependsOn: []string{keyResourceGroup}, Managed: true, Role: RoleAPIServer,
		Spec: armnetwork.PublicIPAddress{
			Location: loc, Tags: b.tags(RoleAPIServer), Zones: zones,
			SKU: &armnetwork.PublicIPAddressSKU{Name: new(armnetwork.PublicIPAddressSKUNameStandard), Tier: new(armnetwork.PublicIPAddressSKUTierRegional)},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{
				PublicIPAllocationMethod: new(armnetwork.IPAllocationMethodStatic),
				PublicIPAddressVersion:   new(armnetwork.IPVersionIPv4),
				DNSSettings: &armnetwork.PublicIPAddressDNSSettings{
					DomainNameLabel: new(names.dnsLabel),
				},
			},
		}})

	frontendID := names.lbID + "/frontendIPConfigurations/" + names.frontend
	probeID := names.lbID + "/probes/" + lbProbeName
	b.add(&Node{Key: keyAPIServerLB, Kind: KindLoadBalancer, ID: names.lbID,
		DependsOn: []string{keyAPIServerIP}, Managed: true, Role: RoleAPIServer,
		Spec: armnetwork.LoadBalancer{
			Location: loc, Tags: b.tags(RoleAPIServer),
			SKU: &armnetwork.LoadBalancerSKU{Name: new(armnetwork.LoadBalancerSKUNameStandard), Tier: new(armnetwork.LoadBalancerSKUTierRegional)},
			Properties: &armnetwork.LoadBalancerPropertiesFormat{
				FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{
					Name: new(names.frontend),
					Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
						PublicIPAddress: &armnetwork.PublicIPAddress{ID: new(names.pipID)},
					},
				}},
				BackendAddressPools: []*armnetwork.BackendAddressPool{{Name: new(names.pool)}},
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
						DisableOutboundSnat:     new(true),
						LoadDistribution:        new(armnetwork.LoadDistributionDefault),
						FrontendIPConfiguration: &armnetwork.SubResource{ID: new(frontendID)},
						BackendAddressPool:      &armnetwork.SubResource{ID: new(names.poolID)},
						Probe:                   &armnetwork.SubResource{ID: new(probeID)},
					},
				}},
			},
		}})
}

// sizeZones returns the region's zones of a VM size, sorted, or none.
func (b *builder) sizeZones(size string) []string {
	return slices.Sorted(slices.Values(b.in.Env.Zones[size]))
}
