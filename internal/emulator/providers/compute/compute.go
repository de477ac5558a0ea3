// Package compute serves the emulator's Microsoft.Compute resource types: virtual machines
// (with their instance view and power actions), managed disks, images, and the resource SKU
// list the other types validate sizes and zones against. It plugs into the ARM engine
// (internal/emulator/arm) through Types and Routes.
package compute

import (
	"net/http"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// Types returns the Microsoft.Compute resource types.
func Types() []arm.ResourceType {
	return []arm.ResourceType{vmType(), diskType(), imageType()}
}

// Routes returns the Microsoft.Compute endpoints that are not resources: the resource SKU
// list and a VM's instance view.
func Routes() []arm.Route {
	return []arm.Route{
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/skus", Handle: listSKUs},
		{Method: http.MethodGet, Pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}/instanceView", Handle: getInstanceView},
	}
}
