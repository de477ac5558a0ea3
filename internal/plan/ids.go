package plan

import "fmt"

// resourceGroupID is the ARM ID of a resource group.
func resourceGroupID(sub, rg string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", sub, rg)
}

// resourceID is the ARM ID of a top-level resource of a provider namespace and type, e.g.
// ("Microsoft.Network", "virtualNetworks").
func resourceID(sub, rg, provider, typ, name string) string {
	return fmt.Sprintf("%s/providers/%s/%s/%s", resourceGroupID(sub, rg), provider, typ, name)
}

// networkID is the ARM ID of a Microsoft.Network resource.
func networkID(sub, rg, typ, name string) string {
	return resourceID(sub, rg, "Microsoft.Network", typ, name)
}

// subnetID is the ARM ID of a subnet.
func subnetID(sub, rg, vnet, subnet string) string {
	return networkID(sub, rg, "virtualNetworks", vnet) + "/subnets/" + subnet
}

// containerID is the ARM ID of a blob container.
func containerID(sub, rg, account, container string) string {
	return resourceID(sub, rg, "Microsoft.Storage", "storageAccounts", account) +
		"/blobServices/default/containers/" + container
}
