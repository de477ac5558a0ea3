package arm

// DefaultLocations are the regions the emulator offers unless told otherwise: five with
// availability zones 1-3 and one without zones.
func DefaultLocations() []LocationInfo {
	z := func() []string { return []string{"1", "2", "3"} }
	return []LocationInfo{
		{Name: "westeurope", DisplayName: "West Europe", Zones: z()},
		{Name: "northeurope", DisplayName: "North Europe", Zones: z()},
		{Name: "eastus", DisplayName: "East US", Zones: z()},
		{Name: "eastus2", DisplayName: "East US 2", Zones: z()},
		{Name: "westus2", DisplayName: "West US 2", Zones: z()},
		{Name: "westcentralus", DisplayName: "West Central US"},
	}
}
