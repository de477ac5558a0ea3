package plan

// Keys of Node.Expect: what an adopted resource must have.
const (
	// ExpectLocation is the resource's location (resource groups).
	ExpectLocation = "location"
	// ExpectAddressPrefix is a VNet's address space (one of its prefixes) or a subnet's address
	// prefix.
	ExpectAddressPrefix = "addressPrefix"
	// ExpectNetworkSecurityGroup is the ARM ID of the NSG attached to a subnet.
	ExpectNetworkSecurityGroup = "networkSecurityGroup"
	// ExpectExists, set to "true", only asks that the resource exist.
	ExpectExists = "exists"
)

// existsOnly is the Expect of an adopted resource of which nothing but existence is checked.
func existsOnly() map[string]string { return map[string]string{ExpectExists: "true"} }
