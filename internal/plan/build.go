package plan

import (
	"errors"
	"fmt"
	"slices"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Roles are the values of strata's role tag (v1alpha1.TagRole), one per part of the cluster.
const (
	RoleResourceGroup = "resource-group"
	RoleNetwork       = "network"
	RoleControlPlane  = "control-plane"
	RoleNodes         = "nodes"
	RoleNodeOutbound  = "node-outbound"
	RoleAPIServer     = "apiserver"
	RoleStorage       = "storage"
	RoleImage         = "image"
)

// Build returns the desired graph of a cluster. For an IaaS cluster: the adopted resource
// group, the network (created with dynamic placement, adopted with static placement), the API
// server's public load balancer, the storage holding the node image, and one NIC and VM per
// machine of each pool. For an AKS cluster: the resource group, the node subnet, the managed
// cluster and its agent pools (see buildAKS). It does no I/O and is deterministic: the same
// input always gives the same graph.
func Build(in Input) (*Graph, error) {
	c := in.Cluster
	if c == nil {
		return nil, errors.New("plan: no cluster")
	}
	switch c.Spec.Azure.Type {
	case v1alpha1.ClusterTypeIaaS:
	case v1alpha1.ClusterTypeAKS:
		return buildAKS(in)
	default:
		return nil, fmt.Errorf("plan: cluster %s has unknown type %q", c.Metadata.Name, c.Spec.Azure.Type)
	}
	if in.Env.BlobEndpoint == nil {
		return nil, errors.New("plan: the environment has no blob endpoint")
	}
	layers, err := readLayers(c, in.Profiles)
	if err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	c = withPoolDefaults(c, v1alpha1.DefaultOSDiskType)
	b := &builder{in: in, c: c, az: &c.Spec.Azure, layers: layers, graph: &Graph{Cluster: c.Metadata.Name}}
	if err := b.checkRanges(); err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	b.resourceGroup()
	b.network()
	b.apiServer()
	if err := b.storage(); err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	if err := b.bootstrap(); err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	if err := b.machines(); err != nil {
		return nil, fmt.Errorf("plan: cluster %s: %w", c.Metadata.Name, err)
	}
	return b.graph, nil
}

// builder accumulates the nodes of one graph. Nodes are added after their dependencies, so
// the order of addition is a topological order.
type builder struct {
	in     Input
	c      *v1alpha1.Cluster
	az     *v1alpha1.ClusterAzure
	layers layers
	graph  *Graph
	// kubeadmAPI and caHash are what every machine's cloud-init needs of the Kubernetes
	// version and the bootstrap secrets (see bootstrap).
	kubeadmAPI, caHash string
}

// add appends a node, panicking on a programming error (a duplicate key or a dependency not
// added before), which the tests catch.
func (b *builder) add(n *Node) *Node {
	if b.graph.Node(n.Key) != nil {
		panic("plan: duplicate node " + n.Key)
	}
	for _, d := range n.DependsOn {
		if b.graph.Node(d) == nil {
			panic("plan: node " + n.Key + " depends on " + d + ", not added before it")
		}
	}
	b.graph.Nodes = append(b.graph.Nodes, n)
	return n
}

// resourceGroup adds the cluster's existing resource group, only verified.
func (b *builder) resourceGroup() {
	b.add(&Node{
		Key:    keyResourceGroup,
		Kind:   KindResourceGroup,
		ID:     resourceGroupID(b.az.SubscriptionID, b.az.ResourceGroup),
		Role:   RoleResourceGroup,
		Expect: map[string]string{ExpectLocation: b.az.Location},
	})
}

// name is the cluster's name, which prefixes the names of its resources.
func (b *builder) name() string { return b.c.Metadata.Name }

// Graph keys of the fixed nodes.
const (
	keyResourceGroup     = "resource-group"
	keyVNet              = "vnet"
	keySubnetControl     = "subnet/control-plane"
	keySubnetWorkers     = "subnet/workers"
	keyNSGControl        = "nsg/control-plane"
	keyNSGWorkers        = "nsg/workers"
	keyNATGateway        = "natgw"
	keyNATGatewayIP      = "pip/natgw"
	keyAPIServerIP       = "pip/apiserver"
	keyAPIServerLB       = "lb/apiserver"
	keyStorageAccount    = "storage-account"
	keyStorageContainer  = "storage-container"
	keyVHDCopy           = "vhd-copy"
	keyImage             = "image"
	keyNICPrefix         = "nic/"
	keyVirtualMachinePfx = "vm/"
	keyOSDiskPfx         = "osdisk/"
)

// deps returns the keys without the empty ones, in order.
func deps(keys ...string) []string {
	return slices.DeleteFunc(keys, func(k string) bool { return k == "" })
}

// withPoolDefaults returns a copy of the cluster whose pools have the default instance type,
// OS disk size and the given OS disk type (IaaS and AKS differ) where they leave them out
// (v1alpha1.Default does the same when objects are stored).
func withPoolDefaults(c *v1alpha1.Cluster, diskType string) *v1alpha1.Cluster {
	cc := *c
	cc.Spec.MachinePools = slices.Clone(c.Spec.MachinePools)
	for i := range cc.Spec.MachinePools {
		mp := &cc.Spec.MachinePools[i]
		mp.InstanceType = orDefault(mp.InstanceType, v1alpha1.DefaultInstanceType)
		mp.OSDisk.Type = orDefault(mp.OSDisk.Type, diskType)
		if mp.OSDisk.SizeGB == 0 {
			mp.OSDisk.SizeGB = v1alpha1.DefaultOSDiskSizeGB
		}
	}
	return &cc
}
