// Package nodesim is the emulator's node simulator, in the manner of kwok: it keeps one Node
// object per emulated machine in a cluster's real API server (labels, taints, providerID,
// capacity, a Ready condition and a renewed lease), and plays the kubelet's part for the pods
// bound to those nodes: it marks them Running and Ready with container statuses, without
// running any container, and finishes their deletion. Pods whose image a Runner claims are
// run as local processes instead (the seam for strata's own agent). A Node deleted through
// the API while its machine runs is not registered again until the machine stops and runs
// anew, as a kubelet registers once, when it starts: a drained node that is deleted before
// its VM's deletion reaches the simulator does not come back.
package nodesim

import corev1 "k8s.io/api/core/v1"

// Node is one emulated machine as the simulator keeps it.
type Node struct {
	// Name is the Node's name (the VM's computer name, or the AKS VMSS instance name).
	Name string
	// Labels are the Node's labels: kubernetes.io/hostname, os and arch, the Azure labels
	// (topology.kubernetes.io/zone and region, node.kubernetes.io/instance-type,
	// kubernetes.azure.com/agentpool...) and the pool's own.
	Labels map[string]string
	// Taints are the Node's taints (the control-plane taint, the pool's).
	Taints []corev1.Taint
	// ProviderID is azure:///subscriptions/.../virtualMachines/<name> (or the VMSS instance).
	ProviderID string
	// InternalIP is the machine's private address, reported in status.addresses.
	InternalIP string
	// CPU (cores) and MemoryMiB are the machine's capacity.
	CPU       int64
	MemoryMiB int64
	// KubeletVersion is reported in status.nodeInfo (e.g. v1.37.2).
	KubeletVersion string
	// Running is false when the machine is stopped, deallocated or deleted in Azure: the Node
	// turns NotReady, its lease is no longer renewed, and it is deleted after the simulator's
	// grace period unless Shutdown keeps it.
	Running bool
	// Shutdown keeps a stopped machine's Node (NotReady, with the
	// node.cloudprovider.kubernetes.io/shutdown taint) instead of deleting it, as the cloud
	// controller manager does for a stopped VM.
	Shutdown bool
}
