package network_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestLongRunningOperationsConvergeUnderFaults drives creates, reads and deletes of VNets and
// NSGs, each a long-running operation polled by the SDK, while a fifth of all requests to those
// types (operation polls included) fail with 500 or 503 or lose their connection. The SDK's
// retries must carry every operation through, with the faults really injected.
func TestLongRunningOperationsConvergeUnderFaults(t *testing.T) {
	var faults []arm.FaultRule
	for _, typ := range []string{"Microsoft.Network/virtualNetworks", "Microsoft.Network/networkSecurityGroups"} {
		faults = append(faults,
			arm.FaultRule{Method: "*", Type: typ, Status: 503, Rate: 0.1},
			arm.FaultRule{Method: "*", Type: typ, Status: 500, Rate: 0.05},
			arm.FaultRule{Method: "*", Type: typ, Kind: arm.FaultDrop, Rate: 0.05},
		)
	}
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Faults = faults; o.Seed = 11 })
	env.ResourceGroup(t, rgName)
	f, err := armnetwork.NewClientFactory(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vnets, nsgs := f.NewVirtualNetworksClient(), f.NewSecurityGroupsClient()
	const n = 8
	for i := range n {
		nsg := fmt.Sprintf("nsg-%d", i)
		p, err := nsgs.BeginCreateOrUpdate(ctx, rgName, nsg, armnetwork.SecurityGroup{Location: to.Ptr(zonalLoc)}, nil)
		done(p, err)(t, "create "+nsg)
		name := fmt.Sprintf("vnet-%d", i)
		cidr := fmt.Sprintf("10.%d.0.0/16", i)
		sn := subnet("nodes", fmt.Sprintf("10.%d.1.0/24", i))
		sn.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr("/subscriptions/" + env.SubscriptionID + "/resourceGroups/" + rgName + "/providers/Microsoft.Network/networkSecurityGroups/" + nsg)}
		pv, err := vnets.BeginCreateOrUpdate(ctx, rgName, name, vnet(zonalLoc, []string{cidr}, sn), nil)
		done(pv, err)(t, "create "+name)
	}
	for i := range n {
		got, err := vnets.Get(ctx, rgName, fmt.Sprintf("vnet-%d", i), nil)
		if err != nil {
			t.Fatalf("get vnet-%d: %v", i, err)
		}
		if s := got.Properties.Subnets; len(s) != 1 || s[0].Properties.NetworkSecurityGroup == nil {
			t.Fatalf("vnet-%d came back without its subnet and NSG: %+v", i, s)
		}
	}
	for i := range n {
		p, err := vnets.BeginDelete(ctx, rgName, fmt.Sprintf("vnet-%d", i), nil)
		done(p, err)(t, fmt.Sprintf("delete vnet-%d", i))
		pn, err := nsgs.BeginDelete(ctx, rgName, fmt.Sprintf("nsg-%d", i), nil)
		done(pn, err)(t, fmt.Sprintf("delete nsg-%d", i))
	}
	injected := map[int]int64{}
	for _, c := range env.Counters(t) {
		injected[c.Status] += c.Count
	}
	if injected[503] == 0 || injected[500] == 0 || injected[0] == 0 {
		t.Fatalf("faults were not all injected (status counts %v)", injected)
	}
	if _, err := vnets.Get(ctx, rgName, "vnet-0", nil); err == nil {
		t.Fatal("vnet-0 still exists after its delete succeeded")
	}
}
