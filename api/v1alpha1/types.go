package v1alpha1

import (
	"slices"
	"time"
)

// Azure cloud environments.
const (
	EnvironmentPublic       = "AzurePublicCloud"
	EnvironmentUSGovernment = "AzureUSGovernmentCloud"
	EnvironmentChina        = "AzureChinaCloud"
	EnvironmentCustom       = "Custom"
)

// CloudAccount holds the credentials of an Entra ID service principal and the Azure cloud it
// signs in to.
type CloudAccount struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta         `json:"metadata"`
	Spec     CloudAccountSpec   `json:"spec"`
	Status   CloudAccountStatus `json:"status,omitzero"`
}

// CloudAccountSpec is the desired state of a CloudAccount.
type CloudAccountSpec struct {
	Azure AzureCredentials `json:"azure"`
	// Gateway names the PrivateCloudGateway through which this account's clusters are reached
	// and whose proxy settings they inherit.
	Gateway string `json:"gateway,omitempty"`
}

// AzureCredentials is a service principal and the cloud it belongs to.
type AzureCredentials struct {
	TenantID string `json:"tenantID"`
	ClientID string `json:"clientID"`
	// ClientSecret is write-only: it is sealed in the store and never returned.
	ClientSecret Secret `json:"clientSecret,omitzero"`
	// ClientSecretSet is reported by the server: true when a client secret is stored. It is
	// ignored on input.
	ClientSecretSet bool `json:"clientSecretSet,omitempty"`
	// Environment is one of AzurePublicCloud (default), AzureUSGovernmentCloud,
	// AzureChinaCloud or Custom.
	Environment string `json:"environment,omitempty"`
	// Endpoints are required for the Custom environment (Azure Stack, the strata emulator) and
	// forbidden otherwise.
	Endpoints *CloudEndpoints `json:"endpoints,omitempty"`
}

// CloudEndpoints are the endpoints of a Custom Azure cloud.
type CloudEndpoints struct {
	ResourceManager string `json:"resourceManager"`
	ActiveDirectory string `json:"activeDirectory"`
	StorageSuffix   string `json:"storageSuffix"`
	// CABundle is PEM text trusted in addition to the system roots when talking to this cloud.
	CABundle string `json:"caBundle,omitempty"`
}

// Key returns the object's name.
func (o *CloudAccount) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *CloudAccount) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's status.
func (o *CloudAccount) GetStatus() *Status { return &o.Status.Status }

// PrivateCloudGateway is a gateway running inside the user's network, with the proxy settings
// that the clusters of the accounts bound to it inherit.
type PrivateCloudGateway struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta              `json:"metadata"`
	Spec     PrivateCloudGatewaySpec `json:"spec"`
	Status   GatewayStatus           `json:"status,omitzero"`
}

// GatewayStatus is what the server observes of a gateway: phase Pending (never registered),
// Running (a replica holds its stream) or Disconnected, and condition Connected.
type GatewayStatus struct {
	Status
	// Version is the strata version of the gateway's replicas, as the last one said.
	Version string `json:"version,omitempty"`
	// LastHeartbeat is when the server last heard from a replica.
	LastHeartbeat *time.Time `json:"lastHeartbeat,omitempty"`
	// Replicas are the gateway's replicas connected now, by name (host name and pid).
	Replicas []string `json:"replicas,omitempty"`
}

// PrivateCloudGatewaySpec is the desired state of a PrivateCloudGateway.
type PrivateCloudGatewaySpec struct {
	Proxy   *ProxySettings  `json:"proxy,omitempty"`
	Network *GatewayNetwork `json:"network,omitempty"`
}

// ProxySettings are the outbound proxy settings of a gateway's network.
//
// A proxy URL may carry a user and a password (http://user:password@host:port). The password
// is write-only, like a client secret: decoding moves it out of the URL into HTTPProxyPassword
// or HTTPSProxyPassword, the store seals it apart from the rest of the object, and the URLs are
// encoded without it, beside a flag saying that one is set. HTTPProxyURL and HTTPSProxyURL
// give the URLs with their passwords, for the code that uses the proxy.
type ProxySettings struct {
	HTTPProxy string `json:"httpProxy,omitempty"`
	// HTTPProxyPasswordSet is reported by the server: true when a password of the HTTP proxy
	// is stored. It is ignored on input.
	HTTPProxyPasswordSet bool   `json:"httpProxyPasswordSet,omitempty"`
	HTTPSProxy           string `json:"httpsProxy,omitempty"`
	// HTTPSProxyPasswordSet is HTTPProxyPasswordSet for the HTTPS proxy.
	HTTPSProxyPasswordSet bool     `json:"httpsProxyPasswordSet,omitempty"`
	NoProxy               []string `json:"noProxy,omitempty"`
	// CACertificate is the PEM certificate of a TLS-inspecting proxy.
	CACertificate string `json:"caCertificate,omitempty"`
	// HTTPProxyPassword and HTTPSProxyPassword are the proxies' passwords, taken out of their
	// URLs. They are never encoded.
	HTTPProxyPassword  Secret `json:"-"`
	HTTPSProxyPassword Secret `json:"-"`
}

// GatewayNetwork is where the gateway runs.
type GatewayNetwork struct {
	ResourceGroup  string `json:"resourceGroup"`
	VirtualNetwork string `json:"virtualNetwork"`
}

// Key returns the object's name.
func (o *PrivateCloudGateway) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *PrivateCloudGateway) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's status.
func (o *PrivateCloudGateway) GetStatus() *Status { return &o.Status.Status }

// Profile clouds.
const (
	ProfileCloudAzure = "azure" // IaaS clusters
	ProfileCloudAKS   = "aks"
	ProfileCloudAll   = "all" // add-on profiles usable on any cluster
)

// Profile types.
const (
	ProfileTypeInfra = "infra"
	ProfileTypeAddOn = "add-on"
	ProfileTypeFull  = "full"
)

// Layer types, in the order layers must appear in a profile.
const (
	LayerOS         = "os"
	LayerKubernetes = "kubernetes"
	LayerNetwork    = "network"
	LayerStorage    = "storage"
	LayerAddon      = "addon"
)

// ClusterProfile is one version of a reusable, layered cluster definition. Several versions of
// one name coexist; a cluster pins one.
type ClusterProfile struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta         `json:"metadata"`
	Spec     ClusterProfileSpec `json:"spec"`
	Status   Status             `json:"status,omitzero"`
}

// ClusterProfileSpec is the content of one profile version.
type ClusterProfileSpec struct {
	// Version is a semantic version (default 1.0.0).
	Version string  `json:"version"`
	Cloud   string  `json:"cloud"`
	Type    string  `json:"type"`
	Layers  []Layer `json:"layers"`
}

// Layer is one pack of a profile: the OS image, Kubernetes, the network and storage plugins, or
// an add-on.
type Layer struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Version string `json:"version"`
	// Values is YAML text; for the kubernetes layer of an aks profile its managedControlPlane
	// block is parsed and validated as ManagedControlPlane.
	Values    string     `json:"values,omitempty"`
	Manifests []Manifest `json:"manifests,omitempty"`
	// Chart names a Helm chart that the server renders with the layer's values (merged with
	// the cluster's override) and the cluster's agent applies after the layer's manifests.
	// Network, storage and addon layers only.
	Chart *Chart `json:"chart,omitempty"`
}

// Chart is a Helm chart in a repository: an https:// chart repository (with an index.yaml)
// or an oci:// registry.
type Chart struct {
	Repository string `json:"repository"`
	Name       string `json:"name"`
	Version    string `json:"version"`
	// Namespace is where the chart's namespaced objects go; default the layer's name.
	Namespace string `json:"namespace,omitempty"`
}

// Manifest is a named Kubernetes manifest shipped with a layer.
type Manifest struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// Key returns "name@version".
func (o *ClusterProfile) Key() string { return ProfileKey(o.Metadata.Name, o.Spec.Version) }

// ProfileKey is the store key of a profile version.
func ProfileKey(name, version string) string { return name + "@" + version }

// GetMetadata returns the object's metadata.
func (o *ClusterProfile) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's status.
func (o *ClusterProfile) GetStatus() *Status { return &o.Status }

// ManagedControlPlane is the managedControlPlane block of an AKS profile's kubernetes layer:
// the options of the control plane that Azure runs. docs/aks.md documents every key and how
// strata maps it to the managedCluster.
type ManagedControlPlane struct {
	// SKU is Free or Standard (the SLA-backed tier).
	SKU                string              `json:"sku,omitempty"`
	AADProfile         *AADProfile         `json:"aadProfile,omitempty"`
	AutoUpgradeProfile *AutoUpgradeProfile `json:"autoUpgradeProfile,omitempty"`
	// OIDCIssuerProfile publishes the cluster's service-account issuer; it cannot be turned
	// off once on.
	OIDCIssuerProfile *Toggle `json:"oidcIssuerProfile,omitempty"`
	// SecurityProfile holds Entra Workload ID, which needs the OIDC issuer.
	SecurityProfile *ManagedSecurityProfile `json:"securityProfile,omitempty"`
	// WorkloadAutoScalerProfile holds the KEDA add-on (event-driven autoscaling).
	WorkloadAutoScalerProfile *WorkloadAutoScalerProfile `json:"workloadAutoScalerProfile,omitempty"`
	// AddonProfiles are AKS add-ons by name, e.g. azurepolicy (Azure Policy enforcement).
	AddonProfiles []AddonProfile `json:"addonProfiles,omitempty"`
}

// AADProfile enables Entra ID integration of an AKS cluster.
type AADProfile struct {
	// Managed turns on AKS-managed Entra ID integration with Azure RBAC; false leaves the
	// cluster on local accounts and Kubernetes RBAC (Azure no longer offers the legacy,
	// unmanaged integration).
	Managed             bool     `json:"managed"`
	AdminGroupObjectIDs []string `json:"adminGroupObjectIDs,omitempty"`
	// DisableLocalAccounts removes the static admin credentials: only Entra ID users get in.
	DisableLocalAccounts bool `json:"disableLocalAccounts,omitempty"`
}

// AutoUpgradeProfile selects an AKS upgrade channel.
type AutoUpgradeProfile struct {
	UpgradeChannel string `json:"upgradeChannel,omitempty"`
}

// Toggle is an option that is on or off.
type Toggle struct {
	Enabled bool `json:"enabled"`
}

// ManagedSecurityProfile is the security profile of an AKS cluster.
type ManagedSecurityProfile struct {
	// WorkloadIdentity lets pods use Entra Workload ID; disable it with enabled: false, never
	// by removing the block.
	WorkloadIdentity *Toggle `json:"workloadIdentity,omitempty"`
}

// WorkloadAutoScalerProfile is the event-driven autoscaling of an AKS cluster.
type WorkloadAutoScalerProfile struct {
	KEDA *Toggle `json:"keda,omitempty"`
}

// AddonProfile turns an AKS add-on on or off, with its configuration.
type AddonProfile struct {
	Name    string            `json:"name"`
	Enabled bool              `json:"enabled"`
	Config  map[string]string `json:"config,omitempty"`
}

// Cluster types.
const (
	ClusterTypeIaaS = "iaas"
	ClusterTypeAKS  = "aks"
)

// Cluster is a Kubernetes cluster on Azure built from pinned profile versions.
type Cluster struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta    `json:"metadata"`
	Spec     ClusterSpec   `json:"spec"`
	Status   ClusterStatus `json:"status,omitzero"`
}

// ClusterStatus is what strata observed of a cluster, beyond the common status.
type ClusterStatus struct {
	Status
	// Inventory lists the Azure resources of the cluster's graph that exist or are being
	// made, by graph key: what deletion walks, and where long-running operations resume.
	Inventory []InventoryItem `json:"inventory,omitempty"`
	// Progress counts the graph's resources done.
	Progress *Progress `json:"progress,omitempty"`
	// ControlPlaneEndpoint is the API server's address (the load balancer's DNS name and port).
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint,omitempty"`
	// ControlPlaneAddress is the IP address Azure assigned to an IaaS cluster's API server
	// load balancer frontend (its public IP): where strata, and the kubeconfigs it serves,
	// reach the API server, with controlPlaneEndpoint's host as the TLS server name, so that
	// they work where that DNS name does not resolve. Empty until strata has read it.
	ControlPlaneAddress string `json:"controlPlaneAddress,omitempty"`
	// Kubernetes is what strata last read from the cluster's own API server: absent until the
	// API answered, when the API does not answer, and on a server that does not check
	// Kubernetes (strata server --check-kubernetes=false). The KubernetesReady condition says
	// why.
	Kubernetes *KubernetesStatus `json:"kubernetes,omitempty"`
	// ManagedControlPlane is what Azure reports of an AKS cluster's control plane.
	ManagedControlPlane *ManagedControlPlaneStatus `json:"managedControlPlane,omitempty"`
	// Agent is the cluster's strata agent as the server last saw it; absent until it first
	// connected.
	Agent *AgentStatus `json:"agent,omitempty"`
	// Layers are the network, storage and addon layers of the cluster's profiles, in the
	// order the agent applies them, as it last reported them.
	Layers []LayerStatus `json:"layers,omitempty"`
	// Upgrade is the rolling replacement of an IaaS cluster's machines under way (a new
	// Kubernetes version or OS image), absent when none is.
	Upgrade *UpgradeStatus `json:"upgrade,omitempty"`
	// Repairing are the inventory keys of the VMs being replaced because their node stayed
	// NotReady longer than their pool's repairAfter.
	Repairing []string `json:"repairing,omitempty"`
	// MachineTemplate is the fingerprint of what the IaaS cluster's machines are built from
	// (the Kubernetes version and the OS image) once every machine is: a spec whose
	// fingerprint differs starts a rolling replacement.
	MachineTemplate string `json:"machineTemplate,omitempty"`
	// Scale is what strata's autoscaler chose for the IaaS worker pools that autoscale
	// (min < max), one entry per pool: their count is this, not the spec's.
	Scale []PoolScale `json:"scale,omitempty"`
}

// PoolScale is the autoscaler's state of one IaaS worker pool.
type PoolScale struct {
	Pool string `json:"pool"`
	// Count is the pool's machine count now, within [min, max].
	Count int `json:"count"`
	// SpecCount is the spec's count when the autoscaler took the pool over: a spec that
	// gives another count sets the pool to it again, and the autoscaler goes on from there.
	SpecCount int `json:"specCount"`
	// UnneededSince is when the pool's last node became unneeded; absent while it is needed.
	UnneededSince *time.Time `json:"unneededSince,omitempty"`
	// Draining is the node being drained before Count drops by one.
	Draining string `json:"draining,omitempty"`
	// Reason says why the count last changed.
	Reason string `json:"reason,omitempty"`
}

// Clone returns a copy of u that shares no slice with it; nil for nil.
func (u *UpgradeStatus) Clone() *UpgradeStatus {
	if u == nil {
		return nil
	}
	c := *u
	c.Removing = slices.Clone(u.Removing)
	return &c
}

// UpgradeStatus is the progress of a rolling replacement of an IaaS cluster's machines.
type UpgradeStatus struct {
	// From and To say what the machines are built from before and after, e.g.
	// "kubernetes 1.30.4, os ubuntu 22.04.5".
	From string `json:"from"`
	To   string `json:"to"`
	// Template is the fingerprint of To (see ClusterStatus.MachineTemplate).
	Template string `json:"template"`
	// Done counts the machines replaced, of Total.
	Done  int `json:"done"`
	Total int `json:"total"`
	// Current is what is being done now, e.g. "draining workers-1".
	Current string `json:"current,omitempty"`
	// Removing are the slots (a pool's i-th machine, "workers-1") whose old machine is
	// drained and deleted before its replacement is made (the pool's maxUnavailable).
	Removing []string `json:"removing,omitempty"`
}

// AgentStatus is a cluster's agent as the server sees it.
type AgentStatus struct {
	// Connected is true while the agent holds its stream to a server.
	Connected bool `json:"connected"`
	// Version is the agent's version, KubernetesVersion the cluster's API server's.
	Version           string `json:"version,omitempty"`
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// LastHeartbeat is when the server last heard from the agent (written at connect,
	// disconnect and at most every few minutes between).
	LastHeartbeat *time.Time `json:"lastHeartbeat,omitempty"`
	// Server is the server holding the agent's stream.
	Server string `json:"server,omitempty"`
	// Revision is the desired state the agent last reported on.
	Revision string `json:"revision,omitempty"`
	// Installed is true once strata put the agent's manifest into the cluster (for AKS,
	// through the cluster's admin credential, once).
	Installed bool `json:"installed,omitempty"`
}

// LayerStatus is one layer as the cluster's agent applied it.
type LayerStatus struct {
	Profile string `json:"profile,omitempty"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Phase is Pending (waiting for an earlier layer or the agent), Applying (applied, its
	// workloads not available yet), Ready or Failed.
	Phase   string `json:"phase"`
	Message string `json:"message,omitempty"`
	// Objects counts the layer's Kubernetes objects, Available those available.
	Objects   int `json:"objects"`
	Available int `json:"available"`
}

// ManagedControlPlaneStatus is an AKS control plane as Azure reports it: the effective values,
// which may differ from the profile's (an auto-upgraded version).
type ManagedControlPlaneStatus struct {
	// KubernetesVersion is the version the control plane runs (currentKubernetesVersion).
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// PowerState is Running or Stopped.
	PowerState string `json:"powerState,omitempty"`
	// ProvisioningState is Azure's state of the last operation (Succeeded, Updating, ...).
	ProvisioningState string `json:"provisioningState,omitempty"`
	// FQDN is the API server's public DNS name.
	FQDN           string `json:"fqdn,omitempty"`
	SKUTier        string `json:"skuTier,omitempty"`
	UpgradeChannel string `json:"upgradeChannel,omitempty"`
}

// KubernetesStatus is a cluster's Kubernetes as its API server reports it.
type KubernetesStatus struct {
	// Version is the API server's version (its /version gitVersion, e.g. v1.37.2).
	Version string `json:"version,omitempty"`
	// NodesReady counts the nodes whose Ready condition is True, of NodesTotal registered.
	NodesReady int `json:"nodesReady"`
	NodesTotal int `json:"nodesTotal"`
}

// InventoryItem is one Azure resource of a cluster.
type InventoryItem struct {
	Key  string `json:"key"`
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Managed resources were created by strata and are deleted with the cluster; the others
	// are the user's, adopted and never deleted.
	Managed bool `json:"managed"`
	// ResumeToken is the SDK poller's token of a long-running operation in flight, so that a
	// restarted server resumes polling instead of sending the request again.
	ResumeToken string `json:"resumeToken,omitempty"`
	// Ready is true once the resource exists as planned.
	Ready bool `json:"ready,omitempty"`
	// Template is, for a VM, the fingerprint of what it was built from (see
	// ClusterStatus.MachineTemplate); empty on VMs made before strata recorded it, which were
	// built from the cluster's machine template of their time.
	Template string `json:"template,omitempty"`
}

// Progress counts a cluster's resources.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
	// Step says what is being done now.
	Step string `json:"step,omitempty"`
}

// ClusterSpec is the desired state of a Cluster.
type ClusterSpec struct {
	CloudAccount string       `json:"cloudAccount"`
	Profiles     []ProfileRef `json:"profiles"`
	// Tags are "key:value" strings put on every Azure resource of the cluster.
	Tags         []string      `json:"tags,omitempty"`
	Azure        ClusterAzure  `json:"azure"`
	MachinePools []MachinePool `json:"machinePools"`
}

// ProfileRef pins a profile version and overrides some of its layers' values.
type ProfileRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Values maps a layer name of the profile to YAML merged over that layer's values.
	Values map[string]string `json:"values,omitempty"`
}

// ClusterAzure says where and how the cluster runs on Azure.
type ClusterAzure struct {
	Type           string `json:"type"`
	SubscriptionID string `json:"subscriptionID"`
	// ResourceGroup must exist; strata never creates or deletes it.
	ResourceGroup string `json:"resourceGroup"`
	Location      string `json:"location"`
	SSHPublicKey  string `json:"sshPublicKey"`
	// Placement is absent for dynamic placement (strata creates the network) and set for static
	// placement in the user's network.
	Placement *StaticPlacement `json:"placement,omitempty"`
	// Storage is absent for generated storage names and set to use the user's own account or
	// container (IaaS only).
	Storage *CustomStorage `json:"storage,omitempty"`
	// APIServerLB is the API server's load balancer (IaaS only): absent for a public one,
	// set with type Internal for a private API server, reachable only inside the virtual
	// network (static placement) through a private DNS name.
	APIServerLB *APIServerLB `json:"apiServerLB,omitempty"`
}

// APIServerLB is the load balancer in front of an IaaS cluster's API server (Palette's
// infraLBConfig.apiServerLB). An Internal one has a static private IP in the control-plane
// subnet and a name in a private DNS zone that strata creates and links to the cluster's
// virtual network; no public IP is made for the API server. See apiserverlb.go for the
// defaults and rules.
type APIServerLB struct {
	// Type is Public (the default) or Internal.
	Type string `json:"type,omitempty"`
	// IPAllocationMethod is Static (the default for Internal); Dynamic is refused.
	IPAllocationMethod string `json:"ipAllocationMethod,omitempty"`
	// StaticIP is the Internal load balancer's frontend address: an unused address of the
	// control-plane subnet. Required for Internal.
	StaticIP string `json:"staticIP,omitempty"`
	// PrivateDNSName is the API server's name: its first label is the A record, the rest the
	// private DNS zone (default apiserver.{cluster}.strata.internal).
	PrivateDNSName string `json:"privateDNSName,omitempty"`
	// PrivateDNSZoneResourceGroup is where the private DNS zone goes (default the cluster's
	// resource group).
	PrivateDNSZoneResourceGroup string `json:"privateDNSZoneResourceGroup,omitempty"`
}

// StaticPlacement is the user's network; all of its fields are required.
type StaticPlacement struct {
	ResourceGroup      string  `json:"resourceGroup"`
	VirtualNetwork     string  `json:"virtualNetwork"`
	CIDR               string  `json:"cidr"`
	ControlPlaneSubnet *Subnet `json:"controlPlaneSubnet"`
	WorkerSubnet       *Subnet `json:"workerSubnet"`
}

// Subnet is a subnet of the user's VNet and the network security group attached to it.
type Subnet struct {
	Name          string `json:"name"`
	CIDR          string `json:"cidr"`
	SecurityGroup string `json:"securityGroup"`
}

// CustomStorage names the user's storage account and, optionally, its container.
type CustomStorage struct {
	Account   string `json:"account"`
	Container string `json:"container,omitempty"`
}

// MachinePool is a group of identical nodes.
type MachinePool struct {
	Name string `json:"name"`
	// ControlPlane marks the IaaS control-plane pool.
	ControlPlane bool `json:"controlPlane,omitempty"`
	// System marks an AKS system node pool.
	System bool `json:"system,omitempty"`
	Count  int  `json:"count"`
	// Min and Max bound the autoscaler; both default to Count (no autoscaling).
	Min          *int   `json:"min,omitempty"`
	Max          *int   `json:"max,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
	// Zones are the availability zones of the pool's nodes; when empty, every zone the region
	// offers the VM size in.
	Zones []string `json:"zones,omitempty"`
	// MaxPods is the most pods a node of an AKS pool runs (10-250); Azure's default for the
	// network plugin when unset.
	MaxPods *int              `json:"maxPods,omitempty"`
	OSDisk  OSDisk            `json:"osDisk,omitzero"`
	Taints  []Taint           `json:"taints,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// MaxSurge is how many new machines a rolling replacement of an IaaS pool's machines may
	// make beyond its count at once, MaxUnavailable how many of its machines it may take away
	// before their replacements are Ready; they default to 1 and 0 (one new machine, then the
	// old one drained and deleted), and cannot both be 0. The control-plane pool is replaced
	// one machine at a time, new member first, whatever they say (a warning says so). These
	// and DrainTimeout apply to IaaS pools only: an AKS cluster's pools refuse them, AKS
	// upgrades its node pools itself.
	MaxSurge       *int `json:"maxSurge,omitempty"`
	MaxUnavailable *int `json:"maxUnavailable,omitempty"`
	// DrainTimeout bounds the drain of a replaced node of an IaaS pool (a Go duration such as
	// "10m"; default 10m): evictions a PodDisruptionBudget refuses are retried until then,
	// and the machine is deleted when it has passed.
	DrainTimeout string `json:"drainTimeout,omitempty"`
	// RepairAfter is how long a node of an IaaS pool may stay NotReady (its VM stopped,
	// deallocated or broken) before strata replaces its machine (a Go duration; default 10m;
	// "0" turns repair off). At most one machine of a pool is repaired at a time, and none
	// while more than a third of the pool is NotReady (an outage, which new machines would not
	// mend).
	RepairAfter string `json:"repairAfter,omitempty"`
	// ScaleDownAfter is how long the last node of an IaaS worker pool that autoscales (min <
	// max) stays unneeded (its pods' requests under half its allocatable, and they fit on
	// the other nodes) before strata drains it and removes its machine (a Go duration;
	// default 10m, as the cluster autoscaler's scale-down-unneeded-time). AKS pools refuse
	// it: AKS's own autoscaler scales them.
	ScaleDownAfter string `json:"scaleDownAfter,omitempty"`
}

// Defaults of an IaaS pool's rolling replacement.
const (
	DefaultMaxSurge       = 1
	DefaultMaxUnavailable = 0
	DefaultDrainTimeout   = 10 * time.Minute
	DefaultRepairAfter    = 10 * time.Minute
	// DefaultScaleDownAfter is how long a node of an autoscaled IaaS pool stays unneeded
	// before it is removed.
	DefaultScaleDownAfter = 10 * time.Minute
)

// Autoscales reports whether the pool's count moves between min and max.
func (mp *MachinePool) Autoscales() bool {
	return derefOr(mp.Min, mp.Count) < derefOr(mp.Max, mp.Count)
}

// Bounds are the pool's min and max, count where unset.
func (mp *MachinePool) Bounds() (lo, hi int) {
	return derefOr(mp.Min, mp.Count), derefOr(mp.Max, mp.Count)
}

// ScaleDown is the pool's scaleDownAfter, its default when unset or invalid (validation
// refuses an invalid one).
func (mp *MachinePool) ScaleDown() time.Duration {
	if d, err := time.ParseDuration(mp.ScaleDownAfter); err == nil && d > 0 {
		return d
	}
	return DefaultScaleDownAfter
}

// Repair is the pool's repairAfter, its default when unset or invalid (validation refuses an
// invalid one); 0 is no repair.
func (mp *MachinePool) Repair() time.Duration {
	if d, err := time.ParseDuration(mp.RepairAfter); err == nil && d >= 0 {
		return d
	}
	return DefaultRepairAfter
}

// Surge is the pool's maxSurge, or its default.
func (mp *MachinePool) Surge() int { return derefOr(mp.MaxSurge, DefaultMaxSurge) }

// Unavailable is the pool's maxUnavailable, or its default.
func (mp *MachinePool) Unavailable() int { return derefOr(mp.MaxUnavailable, DefaultMaxUnavailable) }

// Drain is the pool's drainTimeout, or its default when unset or invalid (validation refuses
// an invalid one).
func (mp *MachinePool) Drain() time.Duration {
	if d, err := time.ParseDuration(mp.DrainTimeout); err == nil && d > 0 {
		return d
	}
	return DefaultDrainTimeout
}

func derefOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// OSDisk is a node's OS disk. Its type is a managed disk type on iaas clusters and Managed or
// Ephemeral on aks clusters (AKS picks the disk SKU from the VM size).
type OSDisk struct {
	SizeGB int    `json:"sizeGB,omitempty"`
	Type   string `json:"type,omitempty"`
}

// Taint is a Kubernetes node taint.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// Key returns the object's name.
func (o *Cluster) Key() string { return o.Metadata.Name }

// GetMetadata returns the object's metadata.
func (o *Cluster) GetMetadata() *ObjectMeta { return &o.Metadata }

// GetStatus returns the object's common status.
func (o *Cluster) GetStatus() *Status { return &o.Status.Status }

// Clone returns a copy of s that shares no slice or struct pointer with it, so that a status
// writer can change one without changing the other.
func (s ClusterStatus) Clone() ClusterStatus {
	out := s
	out.Conditions = append([]Condition(nil), s.Conditions...)
	out.Inventory = append([]InventoryItem(nil), s.Inventory...)
	out.Layers = append([]LayerStatus(nil), s.Layers...)
	out.Progress = clonePtr(s.Progress)
	out.Kubernetes = clonePtr(s.Kubernetes)
	out.ManagedControlPlane = clonePtr(s.ManagedControlPlane)
	out.Agent = clonePtr(s.Agent)
	out.Upgrade = s.Upgrade.Clone()
	out.Repairing = append([]string(nil), s.Repairing...)
	out.Scale = append([]PoolScale(nil), s.Scale...)
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
