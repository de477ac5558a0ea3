// Package containerservice serves the emulator's Microsoft.ContainerService resource types:
// AKS managed clusters and their agent pools, the cluster credentials (kubeconfigs), the
// Kubernetes versions offered per location and a cluster's upgrade profile. VM sizes and
// zones are checked against the compute package's SKU catalogue.
package containerservice

import (
	"net/http"
	"net/netip"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// Options configure the provider.
type Options struct {
	// ServeKubernetes says that the emulator runs each cluster's API server at the loopback
	// address it gave the cluster (APIServerRange): the kubeconfigs point there instead of at
	// the fqdn, which does not resolve here.
	ServeKubernetes bool
}

// APIServerRange is where the emulator's AKS API servers listen, one loopback address a
// cluster, port APIServerPort.
var APIServerRange = netip.MustParsePrefix("127.78.0.0/16")

// APIServerPort is the port of an emulated AKS cluster's API server (AKS's is 443).
const APIServerPort = 6443

// Types returns the Microsoft.ContainerService resource types.
func Types(opts Options) []arm.ResourceType {
	return []arm.ResourceType{clusterType(opts), agentPoolType()}
}

// Routes returns the Microsoft.ContainerService endpoints that are not resources.
func Routes() []arm.Route {
	return []arm.Route{
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/locations/{location}/kubernetesVersions", Handle: listVersions},
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/upgradeProfiles/default", Handle: getUpgradeProfile},
	}
}
