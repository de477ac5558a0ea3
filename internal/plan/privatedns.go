package plan

import (
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"
	"github.com/strata-dev/strata/api/v1alpha1"
)

// Graph keys of an Internal API server's private DNS.
const (
	keyPrivateDNSZone        = "dns/zone"
	keyPrivateDNSLink        = "dns/link/cluster-vnet"
	keyPrivateDNSGatewayLink = "dns/link/gateway-vnet"
	keyPrivateDNSRecord      = "dns/record/apiserver"
)

// Names and values of the private DNS resources.
const (
	// privateDNSLocation is where Azure keeps every private DNS zone and link.
	privateDNSLocation = "global"
	// privateDNSRecordTTL is the TTL of the API server's A record, in seconds.
	privateDNSRecordTTL = 300
	// The names of the zone's links to the cluster's virtual network and to the gateway's.
	clusterVNetLinkName = "cluster-vnet"
	gatewayVNetLinkName = "gateway-vnet"
)

// privateDNS adds what resolves an Internal API server's private DNS name inside the virtual
// network: the private DNS zone (the name but its first label, in the zone's resource group,
// created and owned by the cluster), its link to the cluster's virtual network and, when the
// input names the gateway's virtual network and it is another one, to that one too (so that
// the gateway reaches the API server by name), and the A record of the first label to the
// static IP. Links do not register the VMs' names.
func (b *builder) privateDNS(lb *v1alpha1.APIServerLB) {
	record, zone := v1alpha1.SplitPrivateDNSName(lb.PrivateDNSName)
	zoneID := networkID(b.az.SubscriptionID, lb.PrivateDNSZoneResourceGroup, "privateDnsZones", zone)
	b.add(&Node{Key: keyPrivateDNSZone, Kind: KindPrivateDNSZone, ID: zoneID,
		DependsOn: []string{keyResourceGroup}, Managed: true, Role: RoleAPIServer,
		Spec: armprivatedns.PrivateZone{Location: new(privateDNSLocation), Tags: b.tags(RoleAPIServer)}})
	vnetID := b.graph.Node(keyVNet).ID
	b.privateDNSLink(keyPrivateDNSLink, zoneID, clusterVNetLinkName, vnetID, keyVNet)
	if gw := b.in.GatewayNetwork; gw != nil && gw.ResourceGroup != "" && gw.VirtualNetwork != "" {
		if gwID := networkID(b.az.SubscriptionID, gw.ResourceGroup, "virtualNetworks", gw.VirtualNetwork); !strings.EqualFold(gwID, vnetID) {
			b.privateDNSLink(keyPrivateDNSGatewayLink, zoneID, gatewayVNetLinkName, gwID, "")
		}
	}
	b.add(&Node{Key: keyPrivateDNSRecord, Kind: KindPrivateDNSRecord, ID: zoneID + "/A/" + record,
		DependsOn: []string{keyPrivateDNSZone}, Managed: true, Role: RoleAPIServer,
		// Record sets have no tags: the record is the cluster's as part of its zone.
		Spec: armprivatedns.RecordSet{Properties: &armprivatedns.RecordSetProperties{
			TTL:      new(int64(privateDNSRecordTTL)),
			ARecords: []*armprivatedns.ARecord{{IPv4Address: new(lb.StaticIP)}},
		}}})
}

// privateDNSLink adds the link named name of the zone to the virtual network vnetID, after the
// zone and the node vnetKey (if any).
func (b *builder) privateDNSLink(key, zoneID, name, vnetID, vnetKey string) {
	b.add(&Node{Key: key, Kind: KindPrivateDNSLink, ID: zoneID + "/virtualNetworkLinks/" + name,
		DependsOn: deps(keyPrivateDNSZone, vnetKey), Managed: true, Role: RoleAPIServer,
		Spec: armprivatedns.VirtualNetworkLink{
			Location: new(privateDNSLocation), Tags: b.tags(RoleAPIServer),
			Properties: &armprivatedns.VirtualNetworkLinkProperties{
				VirtualNetwork:      &armprivatedns.SubResource{ID: new(vnetID)},
				RegistrationEnabled: new(false),
			},
		}})
}

// privateDNSDeps are the keys of the private DNS nodes a machine's name resolution needs
// before it boots (none without an Internal load balancer).
func (b *builder) privateDNSDeps() []string {
	var out []string
	for _, k := range []string{keyPrivateDNSLink, keyPrivateDNSGatewayLink, keyPrivateDNSRecord} {
		if b.graph.Node(k) != nil {
			out = append(out, k)
		}
	}
	return out
}
