package plan

import (
	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/proxyenv"
)

// Input is everything Build needs: the objects, what was looked up in Azure beforehand, and the
// cluster's bootstrap secrets. Build does no I/O.
type Input struct {
	Cluster *v1alpha1.Cluster
	// Profiles are the pinned profile versions, in the order of Cluster.Spec.Profiles.
	Profiles []*v1alpha1.ClusterProfile
	Env      Environment
	Secrets  BootstrapSecrets
	// Proxy is the outbound proxy the cluster inherits from its cloud account's private cloud
	// gateway, nil for none. Its URLs may carry a password (a secret): Build puts them in the
	// VMs' custom data of an IaaS cluster, never in logs or errors; an AKS cluster gets them in
	// its httpProxyConfig, and Build refuses a URL with a user there (AKS has no proxy
	// authentication).
	Proxy *proxyenv.Settings
	// AgentManifest, when set, is the manifest of strata's agent (internal/agentmanifest): an
	// IaaS cluster's first control-plane machine writes it to a root-only file and applies it
	// with kubectl once kubeadm init is done, then removes the file (see cloudInit); no other
	// machine gets it. It carries the cluster's registration token, a secret like Secrets:
	// it goes only into that VM's custom data, never into logs or errors. AKS clusters ignore
	// it (strata applies the manifest through the cluster's API).
	AgentManifest []byte
	// GatewayNetwork is the virtual network of the private cloud gateway of the cluster's
	// cloud account, nil for none. The private DNS zone of an Internal API server is linked
	// to it too when it is not the cluster's own, so that the gateway resolves the API
	// server's name.
	GatewayNetwork *v1alpha1.GatewayNetwork
	// Machines gives, by Slot, the generation of the machine each slot of an IaaS cluster's
	// pools has in the graph (see MachineKeys), or SkipMachine to leave the slot's machine out
	// of the graph; a slot absent is generation 0. A machine of a generation above 0 joins a
	// running cluster, even in the control-plane pool's first slot. The controller decides it
	// (a rolling replacement); nil is every machine of generation 0.
	Machines map[string]int
	// ImageGeneration is the generation of the node image (its VHD copy and image resource)
	// the graph holds: a new OS image is a new generation, made beside the old one.
	ImageGeneration int
}

// Environment is what the graph depends on in the target cloud, looked up before planning.
type Environment struct {
	// Zones maps a VM size to the availability zones the cluster's region offers it in (from
	// the resource SKU list); a size absent or with no zones is placed without a zone.
	Zones map[string][]string
	// ImageBaseURL is where the OS layer's `image.vhd` blob names are found, ending with "/"
	// (an absolute `image.vhdURL` in the layer's values wins).
	ImageBaseURL string
	// BlobEndpointSuffix builds a storage account's blob endpoint when it must be known before
	// the account exists: "https://{account}.blob.{suffix}/", or path-style for the emulator.
	BlobEndpoint func(account string) string
}

// BootstrapSecrets are generated once per cluster and kept sealed by strata. Build puts them in
// the VMs' custom data; they never appear in logs, events or the API.
type BootstrapSecrets struct {
	// CACertPEM and CAKeyPEM are the cluster's Kubernetes CA.
	CACertPEM, CAKeyPEM []byte
	// Token is the kubeadm bootstrap token ("abcdef.0123456789abcdef").
	Token string
	// CertificateKey is kubeadm's key for uploading control-plane certificates (64 hex digits).
	CertificateKey string
}
