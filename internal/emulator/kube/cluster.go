package kube

import (
	"net/netip"

	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// Kind tells how a cluster's control plane came to be.
type Kind string

// Kinds of emulated clusters.
const (
	// KindAKS is a managed cluster: Microsoft.ContainerService/managedClusters.
	KindAKS Kind = "aks"
	// KindIaaS is a self-managed cluster whose first control-plane VM's cloud-init runs
	// kubeadm init.
	KindIaaS Kind = "iaas"
)

// Cluster is one emulated cluster's desired Kubernetes control plane and nodes.
type Cluster struct {
	// Key identifies the cluster for as long as it lives: the lower-case ARM ID of the
	// managed cluster (AKS), or "iaas/" and the lower-case API server endpoint that its VMs'
	// kubeadm configurations name (IaaS). Its data lives under an etcd prefix derived from Key.
	Key  string
	Kind Kind
	// Name is the cluster's name (the managed cluster's, or kubeadm's clusterName). Name,
	// Version and ServiceCIDR, when empty, are those the manager saw last for Key (an IaaS
	// cluster whose init VM was replaced no longer says them), as the CA is.
	Name string
	// Version is the Kubernetes version the cluster asked for (reported by its nodes; the
	// API server is the one built).
	Version string
	// CACertPEM and CAKeyPEM are the cluster CA: the API server's serving certificate and the
	// client certificates are signed by it, and it is the --client-ca-file.
	CACertPEM, CAKeyPEM []byte
	// Address and Port are where the API server listens (a loopback address).
	Address netip.Addr
	Port    int
	// DNSNames are the serving certificate's names besides Address (the AKS fqdn, the IaaS
	// controlPlaneEndpoint's host).
	DNSNames []string
	// Tokens are static bearer tokens the API server accepts (AKS's admin and user tokens).
	Tokens []Token
	// ServiceCIDR is the service cluster IP range; empty means 10.96.0.0/12 (kubeadm's default).
	ServiceCIDR string
	// Nodes are the cluster's machines; one without a KubeletVersion reports Version.
	Nodes []nodesim.Node
	// Manifests are what the cluster's cloud-init applies with kubectl once kubeadm init is
	// done (an IaaS cluster's init VM installs strata's agent so): the manager server-side
	// applies them (field manager strata) once the API server serves, once in the cluster's
	// life. They may hold secrets (a registration token): never logged.
	Manifests [][]byte
}

// Token is one static bearer token and the user it authenticates.
type Token struct {
	Token, User string
	Groups      []string
}
