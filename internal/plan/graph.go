// Package plan turns a Cluster, its profiles and its cloud account into the desired graph of
// Azure resources: pure data, no I/O, the same input always giving the same graph. Names, tags,
// zones, address ranges and bootstrap data are decided here.
//
// This file is the contract between plan, the Azure services (internal/azure) that make each
// node real, and the reconciler (internal/controller) that runs the graph with internal/flow.
package plan

// Kind is the kind of Azure resource a node stands for; internal/azure has one service per kind.
type Kind string

// The kinds of an IaaS cluster's graph.
const (
	KindResourceGroup        Kind = "ResourceGroup"        // always adopted: verified, never written
	KindVirtualNetwork       Kind = "VirtualNetwork"       // Spec: armnetwork.VirtualNetwork (no inline subnets)
	KindSubnet               Kind = "Subnet"               // Spec: armnetwork.Subnet
	KindNetworkSecurityGroup Kind = "NetworkSecurityGroup" // Spec: armnetwork.SecurityGroup (rules inline)
	KindPublicIPAddress      Kind = "PublicIPAddress"      // Spec: armnetwork.PublicIPAddress
	KindNatGateway           Kind = "NatGateway"           // Spec: armnetwork.NatGateway
	KindLoadBalancer         Kind = "LoadBalancer"         // Spec: armnetwork.LoadBalancer
	KindNetworkInterface     Kind = "NetworkInterface"     // Spec: armnetwork.Interface
	KindStorageAccount       Kind = "StorageAccount"       // Spec: armstorage.AccountCreateParameters
	KindBlobContainer        Kind = "BlobContainer"        // Spec: armstorage.BlobContainer
	KindBlobCopy             Kind = "BlobCopy"             // Spec: BlobCopy
	KindImage                Kind = "Image"                // Spec: armcompute.Image
	KindVirtualMachine       Kind = "VirtualMachine"       // Spec: armcompute.VirtualMachine
	// KindOSDisk is a VM's OS disk, which Azure makes with the VM from its storage profile
	// without the VM's tags; strata never creates it, only sets its tags (Spec: armcompute.Disk
	// with the tags only), and Azure deletes it with the VM.
	KindOSDisk Kind = "OSDisk"
)

// The kinds of an IaaS cluster's graph whose API server is behind an Internal load balancer:
// the private DNS zone of its name, the zone's links to virtual networks and its A record.
const (
	KindPrivateDNSZone   Kind = "PrivateDNSZone"   // Spec: armprivatedns.PrivateZone (location global)
	KindPrivateDNSLink   Kind = "PrivateDNSLink"   // Spec: armprivatedns.VirtualNetworkLink (…/privateDnsZones/{z}/virtualNetworkLinks/{l})
	KindPrivateDNSRecord Kind = "PrivateDNSRecord" // Spec: armprivatedns.RecordSet (…/privateDnsZones/{z}/A/{name}; no tags)
)

// The kinds of an AKS cluster's graph, besides the resource group and the network kinds.
const (
	KindManagedCluster Kind = "ManagedCluster" // Spec: armcontainerservice.ManagedCluster
	KindAgentPool      Kind = "AgentPool"      // Spec: armcontainerservice.AgentPool
)

// Node is one Azure resource of the desired graph.
type Node struct {
	// Key is the node's stable name within its cluster's graph, e.g. "vnet",
	// "subnet/control-plane", "vm/workers-2". Inventories and resume tokens are kept by key.
	Key  string
	Kind Kind
	// ID is the ARM resource ID. For a BlobCopy it is the destination blob's ARM-style path
	// .../storageAccounts/{a}/blobServices/default/containers/{c}/blobs/{b}, which nothing serves:
	// it only names the node in inventories.
	ID string
	// DependsOn are the keys of the nodes that must exist first.
	DependsOn []string
	// Managed: strata creates, updates and deletes the resource. Adopted resources (the resource
	// group, a static placement's network, custom storage) are only verified to exist as
	// described; they are never written and never deleted.
	Managed bool
	// Role is the value of strata's role tag (apiserver, control-plane, nodes, storage, ...).
	Role string
	// Spec is the desired state as the SDK model the service sends (see the kinds above), with
	// the tags set. Nil for adopted nodes.
	Spec any
	// Expect, for adopted nodes, is what must hold of the live resource (e.g. a subnet's
	// address prefix); the service reports a mismatch as an error naming the field.
	Expect map[string]string
	// Template is what a VM is built from (MachineTemplate), or the fingerprint of a node
	// image and its VHD copy (ImageFingerprint); empty on other nodes. The inventory keeps it.
	Template string
}

// BlobCopy is the desired copy of the OS layer's base VHD into the cluster's container.
type BlobCopy struct {
	// SourceURL is the public (or SAS) URL of the base VHD.
	SourceURL string
	// Account, Container and Blob name the destination.
	Account, Container, Blob string
}

// Graph is the desired state of one cluster, nodes in a topological order (every node after
// the nodes it depends on).
type Graph struct {
	Cluster string
	Nodes   []*Node
}

// Node returns the node with the key, or nil.
func (g *Graph) Node(key string) *Node {
	for _, n := range g.Nodes {
		if n.Key == key {
			return n
		}
	}
	return nil
}
