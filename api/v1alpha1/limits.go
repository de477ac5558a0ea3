package v1alpha1

import (
	"fmt"
	"net/netip"
)

// Bounds of lists and sizes. docs/resources.md names the source of each: Azure's and
// Kubernetes' documented limits where there is one, strata's own bound where there is none.
const (
	// MaxMachinePools is AKS's limit of node pools per cluster; IaaS clusters have the same.
	MaxMachinePools = 100
	// MaxProfilesPerCluster bounds the profiles a cluster pins (strata's bound).
	MaxProfilesPerCluster = 20
	// MaxLayersPerProfile bounds a profile's layers (strata's bound).
	MaxLayersPerProfile = 50
	// MaxManifestsPerLayer bounds a layer's manifests (strata's bound).
	MaxManifestsPerLayer = 100
	// MaxManifestBytes and MaxValuesBytes bound a manifest's content and a layer's values:
	// what they become in the cluster is kept in a Kubernetes object, and a ConfigMap or a
	// Secret (where Helm keeps a release and its values) holds at most 1 MiB.
	MaxManifestBytes = 1 << 20
	MaxValuesBytes   = 1 << 20
	// MaxNoProxyEntries bounds a proxy's noProxy list: joined, the entries (each at most 253
	// characters, a host name) stay within one environment variable (Linux: 128 KiB).
	MaxNoProxyEntries = 500
	// MaxVersionLength bounds a profile's and a layer's version (strata's bound).
	MaxVersionLength = 64
	// MaxLinuxVMNameLength is Azure's limit of a Linux VM's name, which strata also uses as
	// the VM's host name.
	MaxLinuxVMNameLength = 64
	// MaxVirtualNetworkNameLength is Azure's limit of a virtual network's name.
	MaxVirtualNetworkNameLength = 64
	// DynamicNetworkSuffix ends the name of the virtual network strata creates for a cluster
	// with dynamic placement: "<cluster>-vnet".
	DynamicNetworkSuffix = "-vnet"
	// DynamicWorkerSubnet and DynamicControlPlaneSubnet are the ranges of the subnets strata
	// creates with dynamic placement (internal/plan uses them).
	DynamicWorkerSubnet       = "10.0.16.0/20"
	DynamicControlPlaneSubnet = "10.0.0.0/24"
	// AzureReservedSubnetAddresses is how many addresses Azure keeps in every subnet.
	AzureReservedSubnetAddresses = 5
	// MaxFilterClauses and MaxClauseValues bound a TagFilter's clauses and the values of one
	// clause (strata's bounds).
	MaxFilterClauses = 50
	MaxClauseValues  = 100
	// MaxTeamMembers and MaxTeamEntraGroups bound a Team's members and Entra ID groups
	// (strata's bounds).
	MaxTeamMembers     = 1000
	MaxTeamEntraGroups = 100
	// MaxDisplayNameLength is Entra ID's limit of a user's display name, which a User's
	// displayName keeps.
	MaxDisplayNameLength = 256
	// MaxEmailLength is the longest address SMTP carries (RFC 5321: a path of 256 octets
	// with its angle brackets).
	MaxEmailLength = 254
	// MaxAPIKeyDescriptionLength bounds an APIKey's description (strata's bound).
	MaxAPIKeyDescriptionLength = 256
)

// checkMaxItems reports a list at p with more than max items.
func checkMaxItems(errs *ErrorList, p Path, n, max int, why string) bool {
	if n > max {
		errs.Add(p, RuleTooMany, "%d given: at most %d, %s", n, max, why)
		return false
	}
	return true
}

// checkMaxBytes reports a text at p longer than max bytes.
func checkMaxBytes(errs *ErrorList, p Path, text string, max int, why string) bool {
	if len(text) > max {
		errs.Add(p, RuleTooLong, "%d bytes: at most %d (%s)", len(text), max, why)
		return false
	}
	return true
}

// checkDynamicNetworkName reports a cluster name too long for the virtual network that strata
// names after the cluster under dynamic placement. Names already too long for metadata.name
// are reported there.
func checkDynamicNetworkName(errs *ErrorList, c *Cluster) {
	name := c.Metadata.Name
	limit := MaxVirtualNetworkNameLength - len(DynamicNetworkSuffix)
	if c.Spec.Azure.Placement != nil || len(name) <= limit || len(name) > 63 {
		return
	}
	errs.Add("metadata.name", RuleTooLong, "with dynamic placement strata creates the virtual network %s%s and Azure allows %d characters in its name: at most %d, got %d",
		name, DynamicNetworkSuffix, MaxVirtualNetworkNameLength, limit, len(name))
}

// checkVMNames reports the pools of an IaaS cluster whose VM names, <cluster>-<pool>-<index>,
// would be longer than Azure allows. The last index is that of the pool's largest size.
func checkVMNames(errs *ErrorList, p Path, cluster string, pools []MachinePool) {
	if len(cluster) > 63 {
		return // reported at metadata.name
	}
	for i := range pools {
		mp := &pools[i]
		last := poolSize(mp) - 1
		if mp.Name == "" || len(mp.Name) > 63 || last < 0 {
			continue
		}
		if vm := fmt.Sprintf("%s-%s-%d", cluster, mp.Name, last); len(vm) > MaxLinuxVMNameLength {
			errs.Add(p.Index(i).Child("name"), RuleTooLong, "the pool's VMs are named <cluster>-<pool>-<index>, up to %s (%d characters), and Azure allows %d in a Linux VM's name: shorten the pool's or the cluster's name",
				vm, len(vm), MaxLinuxVMNameLength)
		}
	}
}

// poolSize is the most machines a pool may have: its count, or its autoscaler maximum.
func poolSize(mp *MachinePool) int {
	if mp.Max != nil && *mp.Max > mp.Count {
		return *mp.Max
	}
	return mp.Count
}

// checkSubnetCapacity reports the pools of an IaaS cluster that need more addresses than their
// subnet has: one per machine, in the control-plane subnet for the control-plane pool and in
// the worker subnet for the others.
func checkSubnetCapacity(errs *ErrorList, c *Cluster) {
	var control, workers int
	for i := range c.Spec.MachinePools {
		if mp := &c.Spec.MachinePools[i]; mp.ControlPlane {
			control += poolSize(mp)
		} else {
			workers += poolSize(mp)
		}
	}
	if pl := c.Spec.Azure.Placement; pl != nil {
		if pl.ControlPlaneSubnet != nil {
			checkSubnetFits(errs, "spec.azure.placement.controlPlaneSubnet.cidr", pl.ControlPlaneSubnet.CIDR, control, "the control-plane pool", "the control-plane subnet")
		}
		if pl.WorkerSubnet != nil {
			checkSubnetFits(errs, "spec.azure.placement.workerSubnet.cidr", pl.WorkerSubnet.CIDR, workers, "the worker pools", "the worker subnet")
		}
		return
	}
	checkSubnetFits(errs, "spec.machinePools", DynamicControlPlaneSubnet, control, "the control-plane pool", "the control-plane subnet strata creates")
	checkSubnetFits(errs, "spec.machinePools", DynamicWorkerSubnet, workers, "the worker pools", "the worker subnet strata creates")
}

// checkSubnetFits reports at p a subnet with fewer usable addresses than machines. A range
// that is not a valid subnet is reported elsewhere.
func checkSubnetFits(errs *ErrorList, p Path, cidr string, machines int, what, subnet string) {
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx || pfx.Bits() > 29 {
		return
	}
	usable := 1<<(32-pfx.Bits()) - AzureReservedSubnetAddresses
	if machines > usable {
		errs.Add(p, RuleTooMany, "%s may grow to %s but %s, %s, has %d usable addresses (Azure keeps %d of every subnet): each machine takes one",
			what, plural(machines, "machine"), subnet, pfx, max(usable, 0), AzureReservedSubnetAddresses)
	}
}

// checkVersionLength reports a version longer than MaxVersionLength and returns false.
func checkVersionLength(errs *ErrorList, p Path, v string) bool {
	if len(v) > MaxVersionLength {
		errs.Add(p, RuleTooLong, "must be at most %d characters, got %d", MaxVersionLength, len(v))
		return false
	}
	return true
}
