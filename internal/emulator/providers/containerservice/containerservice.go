// Package containerservice serves the emulator's Microsoft.ContainerService resource types:
// AKS managed clusters and their agent pools, the cluster credentials (kubeconfigs), the
// Kubernetes versions offered per location and a cluster's upgrade profile. VM sizes and
// zones are checked against the compute package's SKU catalogue.
package containerservice

import (
	"net/http"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// Types returns the Microsoft.ContainerService resource types.
func Types() []arm.ResourceType {
	return []arm.ResourceType{clusterType(), agentPoolType()}
}

// Routes returns the Microsoft.ContainerService endpoints that are not resources.
func Routes() []arm.Route {
	return []arm.Route{
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/locations/{location}/kubernetesVersions", Handle: listVersions},
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/upgradeProfiles/default", Handle: getUpgradeProfile},
	}
}
