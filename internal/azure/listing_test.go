package azure

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

// TestCreateWithoutAGetFirst checks that a resource its group's list did not show is created
// without a GET before its PUT, one list serving every create of the group until it is
// ListMaxAge old; that a resource the list showed is read and its owner checked (someone
// else's is a ConflictError, nothing written); that a resource strata wrote since the list is
// read too (another inventory's create of it is refused); and that a child resource, which a
// group's list does not show, is always read.
func TestCreateWithoutAGetFirst(t *testing.T) {
	env := emulatortest.Start(t)
	rgID := env.ResourceGroup(t, "rg")
	ctx := testCtx(t)
	const maxAge = time.Minute
	c, err := NewClients(context.Background(), env.CloudAccount(t, "emulator"), env.SubscriptionID,
		Options{PollFrequency: 20 * time.Millisecond, Writes: 1000, Reads: 1000, ListMaxAge: maxAge})
	if err != nil {
		t.Fatal(err)
	}
	var clock sync.Mutex
	now := time.Now()
	c.lists.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	nsg := func(name, owner string) *plan.Node {
		return &plan.Node{Key: "nsg/" + name, Kind: plan.KindNetworkSecurityGroup, Managed: true,
			ID:   rgID + "/providers/Microsoft.Network/networkSecurityGroups/" + name,
			Spec: &armnetwork.SecurityGroup{Location: to.Ptr("westeurope"), Tags: ownerTags(owner)}}
	}
	// Someone else's NSG, made before strata lists the group.
	if _, err := newClients(t, env).Applier().Apply(ctx, nsg("theirs", "uid-theirs"), &memInventory{owner: "uid-theirs"}); err != nil {
		t.Fatal(err)
	}
	const (
		lists = "GET Microsoft.Resources/resources"
		gets  = "GET Microsoft.Network/networkSecurityGroups"
		puts  = "PUT Microsoft.Network/networkSecurityGroups"
	)
	mine := &memInventory{owner: "uid-mine"}
	steps := []struct {
		name              string
		node              *plan.Node
		inv               *memInventory
		conflict          bool
		lists, gets, puts int
	}{
		{"absent: listed, created without a GET", nsg("a", "uid-mine"), mine, false, 1, 0, 1},
		{"absent: the same list serves", nsg("b", "uid-mine"), mine, false, 0, 0, 1},
		{"listed and someone else's: read, refused", nsg("theirs", "uid-mine"), mine, true, 0, 1, 0},
		{"written by strata since the list: read, refused to another owner", nsg("a", "uid-other"), &memInventory{owner: "uid-other"}, true, 0, 1, 0},
	}
	for _, s := range steps {
		before := c.Requests()
		_, err := c.Applier().Apply(ctx, s.node, s.inv)
		var ce *ConflictError
		if got := errors.As(err, &ce); got != s.conflict || !s.conflict && err != nil {
			t.Fatalf("%s: Apply = %v, want a conflict %v", s.name, err, s.conflict)
		}
		after := c.Requests()
		for _, k := range []struct {
			key  string
			want int
		}{{lists, s.lists}, {gets, s.gets}, {puts, s.puts}} {
			if got := after[k.key] - before[k.key]; got != k.want {
				t.Errorf("%s: %d × %s, want %d", s.name, got, k.key, k.want)
			}
		}
	}

	// A child resource (a subnet) is read before its create, whatever the list says.
	vnet := &plan.Node{Key: "vnet", Kind: plan.KindVirtualNetwork, Managed: true,
		ID: rgID + "/providers/Microsoft.Network/virtualNetworks/vnet",
		Spec: &armnetwork.VirtualNetwork{Location: to.Ptr("westeurope"), Tags: ownerTags("uid-mine"),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}}}}}
	subnet := &plan.Node{Key: "subnet", Kind: plan.KindSubnet, Managed: true, ID: vnet.ID + "/subnets/s",
		Spec: &armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.1.0/24")}}}
	before := c.Requests()
	applyAll(t, c.Applier(), &plan.Graph{Nodes: []*plan.Node{vnet, subnet}}, mine)
	if got := c.Requests()["GET Microsoft.Network/virtualNetworks/subnets"] - before["GET Microsoft.Network/virtualNetworks/subnets"]; got != 1 {
		t.Errorf("%d GETs of the subnet before its create, want 1", got)
	}

	// Past ListMaxAge the group is listed again.
	clock.Lock()
	now = now.Add(maxAge)
	clock.Unlock()
	before = c.Requests()
	if _, err := c.Applier().Apply(ctx, nsg("c", "uid-mine"), mine); err != nil {
		t.Fatal(err)
	}
	if got := c.Requests()[lists] - before[lists]; got != 1 {
		t.Errorf("%d lists of the group after ListMaxAge, want 1", got)
	}
	if got := c.Requests()[gets] - before[gets]; got != 0 {
		t.Errorf("%d GETs of an NSG the new list did not show, want 0", got)
	}
}

// ownerTags are the tags of a resource owned by the cluster whose UID is uid.
func ownerTags(uid string) map[string]*string {
	return map[string]*string{v1alpha1.TagOwner: to.Ptr(uid)}
}
