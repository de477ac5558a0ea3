package azure

import (
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

func TestDrift(t *testing.T) {
	rule := func(name, proto string, prio int32) *armnetwork.SecurityRule {
		return &armnetwork.SecurityRule{Name: &name, Properties: &armnetwork.SecurityRulePropertiesFormat{
			Protocol: to.Ptr(armnetwork.SecurityRuleProtocol(proto)), Priority: &prio}}
	}
	desired := &armnetwork.SecurityGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a": to.Ptr("1")},
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{rule("r1", "Tcp", 100), rule("r2", "Udp", 200)}}}
	for _, tc := range []struct {
		name string
		live any
		want []string
	}{
		{"same, server-filled fields and other casing ignored", &armnetwork.SecurityGroup{Location: to.Ptr("West Europe"), ID: to.Ptr("/x"), Etag: to.Ptr("e"),
			Tags: map[string]*string{"a": to.Ptr("1")},
			Properties: &armnetwork.SecurityGroupPropertiesFormat{ProvisioningState: to.Ptr(armnetwork.ProvisioningStateSucceeded),
				SecurityRules:        []*armnetwork.SecurityRule{rule("r2", "UDP", 200), rule("R1", "TCP", 100)},
				DefaultSecurityRules: []*armnetwork.SecurityRule{rule("AllowVnetInBound", "*", 65000)}}}, nil},
		{"tag value", &armnetwork.SecurityGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a": to.Ptr("2")},
			Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{rule("r1", "Tcp", 100), rule("r2", "Udp", 200)}}}, []string{"tags"}},
		{"extra tag", &armnetwork.SecurityGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a": to.Ptr("1"), "b": to.Ptr("")},
			Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{rule("r1", "Tcp", 100), rule("r2", "Udp", 200)}}}, []string{"tags"}},
		{"rule changed", &armnetwork.SecurityGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a": to.Ptr("1")},
			Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{rule("r1", "Tcp", 101), rule("r2", "Udp", 200)}}}, []string{"properties.securityRules"}},
		{"rule missing", &armnetwork.SecurityGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a": to.Ptr("1")},
			Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{rule("r1", "Tcp", 100)}}}, []string{"properties.securityRules"}},
	} {
		if got := drift(desired, tc.live); !slices.Equal(got, tc.want) {
			t.Errorf("%s: drift = %v, want %v", tc.name, got, tc.want)
		}
	}

	// customData and adminPassword are never returned: no drift.
	vm := &armcompute.VirtualMachine{Location: to.Ptr("westeurope"), Properties: &armcompute.VirtualMachineProperties{
		OSProfile: &armcompute.OSProfile{ComputerName: to.Ptr("vm0"), CustomData: to.Ptr("I2Nsb3VkLWNvbmZpZw=="), AdminPassword: to.Ptr("x")}}}
	live := &armcompute.VirtualMachine{Location: to.Ptr("westeurope"), Properties: &armcompute.VirtualMachineProperties{
		VMID: to.Ptr("id"), OSProfile: &armcompute.OSProfile{ComputerName: to.Ptr("vm0"), AllowExtensionOperations: to.Ptr(true)}}}
	if got := drift(vm, live); len(got) != 0 {
		t.Errorf("VM drift = %v", got)
	}
}
