// Package fromarm derives, from the emulated cloud's stored resources, the Kubernetes
// clusters the emulator runs (kube.Cluster). It is pure: it reads the resources as the
// providers store them (bodies with their hidden "_emulator" keys) and never changes them.
//
// AKS (kube.KindAKS): one cluster per Microsoft.ContainerService/managedClusters, keyed by its
// lower-case ID. Its CA, tokens and API server address come from the cluster's hidden state;
// each agent pool contributes `count` nodes named as AKS names VMSS instances
// (aks-<pool>-<8 digits>-vmss<6 base-36 digits>) with AKS's labels, the pool's labels and
// taints, a VMSS instance provider ID and an address in AKS's default node subnet,
// 10.224.0.0/16: 10.224.<pool ordinal>.<index+4> (pools in name order; a pool's 253rd node and
// later continue in 10.225.<ordinal>.x, 10.226... so that addresses never collide).
//
// IaaS (kube.KindIaaS): the VMs whose customData is the #cloud-config strata writes (a kubeadm
// configuration at /run/kubeadm/kubeadm.yaml and a kubeadm init or join command) are grouped
// by their API server endpoint (kubeadm's controlPlaneEndpoint for the init machine, the
// discovery apiServerEndpoint for joiners), compared case-insensitively. A cluster's Key is
// "iaas/" + the lower-case endpoint ("iaas/name-1a2b3c4d.westeurope.cloudapp.azure.com:6443"):
// the endpoint outlives any one VM, whereas the init VM may be deleted and replaced. A cluster
// is emitted while at least one of its VMs exists. Its name, version, CA and service range come
// from the init VM's cloud-init; while the init VM does not exist (a rolling replacement
// replaced it by a control-plane join) they are empty, and the caller (the process manager)
// keeps the values it saw before, but for the version: the lowest that the control-plane
// machines declare (see below) when they all declare one, else empty too. Its address is the ipAddress of
// the public IP whose dnsSettings.fqdn is the endpoint's host; none gives the zero address
// (not served). Every VM is one node. The init VM's cloud-init may also apply manifests with
// kubectl after kubeadm init (strata's agent: a file it writes, then `kubectl ... apply -f`
// that file): the cluster's Manifests are those files, in the order runcmd applies them;
// nothing else of runcmd is read.
//
// Machine state: an AKS node runs unless its pool or its cluster is stopped (powerState.code
// Stopped) or being deleted; its Shutdown is always false (AKS removes the nodes of a stopped
// pool). A VM's node runs when the compute provider's hidden powerState is running and the VM
// is not being deleted; it is Shutdown when the VM is stopped or deallocated.
//
// Versions: Cluster.Version is without a leading "v" for both kinds (1.30.4), as AKS writes
// it; nodes report KubeletVersion with it (v1.30.4), as kubelets do. A VM's node reports the
// version its cloud-init writes to /etc/strata/kubernetes-version (its kubelet's: "1.31.2" or
// "v1.31.2"), or the cluster's when it writes none (a machine of an older strata).
//
// CPU and memory come from the compute provider's size catalogue (compute.LookupSize); an
// unknown size gets 2 CPUs and 8 GiB.
package fromarm

import (
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/providers/compute"
)

// The resource types Clusters reads.
const (
	typeManagedCluster   = "Microsoft.ContainerService/managedClusters"
	typeAgentPool        = typeManagedCluster + "/agentPools"
	typeVirtualMachine   = compute.TypeVirtualMachine
	typeNetworkInterface = compute.TypeNetworkInterface
	typePublicIP         = "Microsoft.Network/publicIPAddresses"
)

// Types are the resource types Clusters reads: pass it every stored resource of these types
// (other resources are ignored).
var Types = []string{typeManagedCluster, typeAgentPool, typeVirtualMachine, typeNetworkInterface, typePublicIP}

// hiddenKey is where the providers keep emulator state in a stored body (a VM's customData and
// power state, a managed cluster's secrets and API server address).
const hiddenKey = "_emulator"

// Clusters returns the clusters that the resources describe, sorted by Key. Resource types and
// IDs are compared case-insensitively.
func Clusters(resources []*arm.Resource) []kube.Cluster {
	x := newIndex(resources)
	var out []kube.Cluster
	for _, mc := range x.clusters {
		out = append(out, aksCluster(mc, x.pools[arm.Key(mc.ID)]))
	}
	out = append(out, iaasClusters(x)...)
	slices.SortFunc(out, func(a, b kube.Cluster) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// index is the resources by what Clusters looks them up by, each list sorted by ID.
type index struct {
	clusters []*arm.Resource
	pools    map[string][]*arm.Resource // by the lower-case ID of their managed cluster
	vms      []*arm.Resource
	nics     map[string]*arm.Resource // by lower-case ID
	pips     []*arm.Resource
}

func newIndex(resources []*arm.Resource) *index {
	sorted := slices.Clone(resources)
	sorted = slices.DeleteFunc(sorted, func(r *arm.Resource) bool { return r == nil || r.Body == nil })
	slices.SortFunc(sorted, func(a, b *arm.Resource) int { return strings.Compare(arm.Key(a.ID), arm.Key(b.ID)) })
	x := &index{pools: map[string][]*arm.Resource{}, nics: map[string]*arm.Resource{}}
	for _, r := range sorted {
		switch typ := resourceType(r); {
		case strings.EqualFold(typ, typeManagedCluster):
			x.clusters = append(x.clusters, r)
		case strings.EqualFold(typ, typeAgentPool):
			parent := arm.Key(arm.ParseID(r.ID).Parent())
			x.pools[parent] = append(x.pools[parent], r)
		case strings.EqualFold(typ, typeVirtualMachine):
			x.vms = append(x.vms, r)
		case strings.EqualFold(typ, typeNetworkInterface):
			x.nics[arm.Key(r.ID)] = r
		case strings.EqualFold(typ, typePublicIP):
			x.pips = append(x.pips, r)
		}
	}
	return x
}

// resourceType is r's full type, from its ID when Type is empty.
func resourceType(r *arm.Resource) string {
	if r.Type != "" {
		return r.Type
	}
	return arm.ParseID(r.ID).FullType()
}
