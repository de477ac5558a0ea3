package compute_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"golang.org/x/crypto/ssh"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

const loc = "westeurope"

var pollOpts = &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}

var (
	sshKeyOnce sync.Once
	sshKey     string
)

// rsaPublicKey returns an OpenSSH RSA public key.
func rsaPublicKey(t *testing.T) string {
	sshKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		pk, err := ssh.NewPublicKey(&k.PublicKey)
		if err != nil {
			panic(err)
		}
		sshKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	})
	return sshKey
}

type clients struct {
	vms    *armcompute.VirtualMachinesClient
	disks  *armcompute.DisksClient
	images *armcompute.ImagesClient
	skus   *armcompute.ResourceSKUsClient
	vnets  *armnetwork.VirtualNetworksClient
	nics   *armnetwork.InterfacesClient
	accts  *armstorage.AccountsClient
}

func newClients(t *testing.T, e *emulatortest.Env) clients {
	var c clients
	var err error
	check := func() {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.vms, err = armcompute.NewVirtualMachinesClient(e.SubscriptionID, e.Cred, e.ClientOptions)
	check()
	c.disks, err = armcompute.NewDisksClient(e.SubscriptionID, e.Cred, e.ClientOptions)
	check()
	c.images, err = armcompute.NewImagesClient(e.SubscriptionID, e.Cred, e.ClientOptions)
	check()
	c.skus, err = armcompute.NewResourceSKUsClient(e.SubscriptionID, e.Cred, e.ClientOptions)
	check()
	c.vnets, err = armnetwork.NewVirtualNetworksClient(e.SubscriptionID, e.Cred, e.ClientOptions)
	check()
	c.nics, err = armnetwork.NewInterfacesClient(e.SubscriptionID, e.Cred, e.ClientOptions)
	check()
	c.accts, err = armstorage.NewAccountsClient(e.SubscriptionID, e.Cred, e.ClientOptions)
	check()
	return c
}

// network creates a VNet with one subnet and returns the subnet's ID.
func (c clients) network(t *testing.T, rg string) string {
	ctx := context.Background()
	p := emulatortest.Must[*runtime.Poller[armnetwork.VirtualNetworksClientCreateOrUpdateResponse]](t)(c.vnets.BeginCreateOrUpdate(ctx, rg, "vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr(loc),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}},
			Subnets:      []*armnetwork.Subnet{{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.1.0/24")}}},
		},
	}, nil))
	v := emulatortest.Must[armnetwork.VirtualNetworksClientCreateOrUpdateResponse](t)(p.PollUntilDone(ctx, pollOpts))
	return *v.Properties.Subnets[0].ID
}

// nic creates a network interface in the subnet and returns its ID.
func (c clients) nic(t *testing.T, rg, name, subnetID string) string {
	ctx := context.Background()
	p := emulatortest.Must[*runtime.Poller[armnetwork.InterfacesClientCreateOrUpdateResponse]](t)(c.nics.BeginCreateOrUpdate(ctx, rg, name, armnetwork.Interface{
		Location: to.Ptr(loc),
		Properties: &armnetwork.InterfacePropertiesFormat{IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{
			Name: to.Ptr("ipconfig1"),
			Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
				Subnet:                    &armnetwork.Subnet{ID: to.Ptr(subnetID)},
				PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodDynamic),
			},
		}}},
	}, nil))
	n := emulatortest.Must[armnetwork.InterfacesClientCreateOrUpdateResponse](t)(p.PollUntilDone(ctx, pollOpts))
	return *n.ID
}

// vmSpec is a Linux VM from a marketplace image on one NIC.
func vmSpec(t *testing.T, size, zone, nicID string) armcompute.VirtualMachine {
	vm := armcompute.VirtualMachine{
		Location: to.Ptr(loc),
		Tags:     map[string]*string{"owner": to.Ptr("strata")},
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes(size))},
			StorageProfile: &armcompute.StorageProfile{
				ImageReference: &armcompute.ImageReference{Publisher: to.Ptr("Canonical"), Offer: to.Ptr("ubuntu-24_04-lts"), SKU: to.Ptr("server"), Version: to.Ptr("latest")},
				OSDisk: &armcompute.OSDisk{
					CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesFromImage),
					DiskSizeGB:   to.Ptr[int32](64),
					ManagedDisk:  &armcompute.ManagedDiskParameters{StorageAccountType: to.Ptr(armcompute.StorageAccountTypesPremiumLRS)},
					DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDelete),
				},
			},
			OSProfile: &armcompute.OSProfile{
				AdminUsername: to.Ptr("azureuser"),
				CustomData:    to.Ptr(base64.StdEncoding.EncodeToString([]byte("#cloud-config\n"))),
				LinuxConfiguration: &armcompute.LinuxConfiguration{
					DisablePasswordAuthentication: to.Ptr(true),
					SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{
						Path: to.Ptr("/home/azureuser/.ssh/authorized_keys"), KeyData: to.Ptr(rsaPublicKey(t)),
					}}},
				},
			},
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{
				ID: to.Ptr(nicID), Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: to.Ptr(true)},
			}}},
		},
	}
	if zone != "" {
		vm.Zones = []*string{to.Ptr(zone)}
	}
	return vm
}

func (c clients) createVM(ctx context.Context, rg, name string, vm armcompute.VirtualMachine) (armcompute.VirtualMachine, error) {
	p, err := c.vms.BeginCreateOrUpdate(ctx, rg, name, vm, nil)
	if err != nil {
		return armcompute.VirtualMachine{}, err
	}
	r, err := p.PollUntilDone(ctx, pollOpts)
	return r.VirtualMachine, err
}

func powerState(statuses []*armcompute.InstanceViewStatus) string {
	for _, s := range statuses {
		if strings.HasPrefix(*s.Code, "PowerState/") {
			return *s.Code
		}
	}
	return ""
}

func TestResourceSKUs(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	ctx := context.Background()
	type key struct{ typ, name, loc string }
	got := map[key]*armcompute.ResourceSKU{}
	pager := c.skus.NewListPager(nil)
	for pager.More() {
		page := emulatortest.Must[armcompute.ResourceSKUsClientListResponse](t)(pager.NextPage(ctx))
		for _, s := range page.Value {
			got[key{*s.ResourceType, *s.Name, *s.Locations[0]}] = s
		}
	}
	d2 := got[key{"virtualMachines", "Standard_D2s_v3", "westeurope"}]
	if d2 == nil {
		t.Fatal("Standard_D2s_v3 not listed in westeurope")
	}
	caps := map[string]string{}
	for _, cp := range d2.Capabilities {
		caps[*cp.Name] = *cp.Value
	}
	if caps["vCPUs"] != "2" || caps["MemoryGB"] != "8" || caps["PremiumIO"] != "True" || caps["MaxDataDiskCount"] != "4" {
		t.Errorf("Standard_D2s_v3 capabilities: %v", caps)
	}
	if z := d2.LocationInfo[0].Zones; len(z) != 3 || len(d2.Restrictions) != 0 {
		t.Errorf("Standard_D2s_v3 zones %v restrictions %v", z, d2.Restrictions)
	}
	nc := got[key{"virtualMachines", "Standard_NC6s_v3", "westeurope"}]
	if nc == nil || len(nc.Restrictions) != 1 || *nc.Restrictions[0].Type != armcompute.ResourceSKURestrictionsTypeZone ||
		*nc.Restrictions[0].RestrictionInfo.Zones[0] != "3" || *nc.Restrictions[0].ReasonCode != armcompute.ResourceSKURestrictionsReasonCodeNotAvailableForSubscription {
		t.Errorf("Standard_NC6s_v3 in westeurope should be restricted in zone 3: %+v", nc)
	}
	if nc := got[key{"virtualMachines", "Standard_NC6s_v3", "northeurope"}]; nc == nil || len(nc.Restrictions) != 0 {
		t.Errorf("Standard_NC6s_v3 in northeurope should be unrestricted")
	}
	if got[key{"disks", "Premium_LRS", "westeurope"}] == nil {
		t.Error("Premium_LRS disks not listed")
	}
	if wc := got[key{"virtualMachines", "Standard_B2s", "westcentralus"}]; wc == nil || len(wc.LocationInfo[0].Zones) != 0 {
		t.Errorf("westcentralus has no zones: %+v", wc)
	}

	// $filter=location eq '...'
	pager = c.skus.NewListPager(&armcompute.ResourceSKUsClientListOptions{Filter: to.Ptr("location eq 'eastus'")})
	n := 0
	for pager.More() {
		page := emulatortest.Must[armcompute.ResourceSKUsClientListResponse](t)(pager.NextPage(ctx))
		for _, s := range page.Value {
			n++
			if *s.Locations[0] != "eastus" {
				t.Errorf("filtered list has %s in %s", *s.Name, *s.Locations[0])
			}
		}
	}
	if n == 0 {
		t.Error("filtered list is empty")
	}
}

func TestVirtualMachineLifecycle(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-vm")
	subnet := c.network(t, "rg-vm")
	nic1 := c.nic(t, "rg-vm", "vm1-nic", subnet)

	vm, err := c.createVM(ctx, "rg-vm", "vm1", vmSpec(t, "Standard_D2s_v3", "1", nic1))
	if err != nil {
		t.Fatal(err)
	}
	p := vm.Properties
	if *p.ProvisioningState != "Succeeded" || p.VMID == nil || !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(*p.VMID) {
		t.Errorf("state %v vmId %v", *p.ProvisioningState, p.VMID)
	}
	osDisk := p.StorageProfile.OSDisk
	if !regexp.MustCompile(`^vm1_OsDisk_1_[0-9a-f]{32}$`).MatchString(*osDisk.Name) {
		t.Errorf("OS disk name %s", *osDisk.Name)
	}
	if p.OSProfile.CustomData != nil {
		t.Error("customData must not be returned")
	}
	if *p.OSProfile.ComputerName != "vm1" {
		t.Errorf("computerName %v", *p.OSProfile.ComputerName)
	}

	// The OS disk exists, attached to the VM.
	diskID := *osDisk.ManagedDisk.ID
	d := emulatortest.Must[armcompute.DisksClientGetResponse](t)(c.disks.Get(ctx, "rg-vm", *osDisk.Name, nil))
	if !strings.EqualFold(*d.ManagedBy, *vm.ID) || *d.Properties.DiskSizeGB != 64 || *d.SKU.Name != armcompute.DiskStorageAccountTypesPremiumLRS ||
		*d.Properties.DiskState != armcompute.DiskStateAttached || *d.Zones[0] != "1" || !strings.EqualFold(*d.ID, diskID) {
		t.Errorf("OS disk %+v", d.Disk)
	}
	// The NIC knows its VM.
	n := emulatortest.Must[armnetwork.InterfacesClientGetResponse](t)(c.nics.Get(ctx, "rg-vm", "vm1-nic", nil))
	if n.Properties.VirtualMachine == nil || !strings.EqualFold(*n.Properties.VirtualMachine.ID, *vm.ID) {
		t.Errorf("NIC virtualMachine %+v", n.Properties.VirtualMachine)
	}

	// Instance view, both ways.
	g := emulatortest.Must[armcompute.VirtualMachinesClientGetResponse](t)(c.vms.Get(ctx, "rg-vm", "vm1", &armcompute.VirtualMachinesClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)}))
	if ps := powerState(g.Properties.InstanceView.Statuses); ps != "PowerState/running" {
		t.Errorf("power state %s", ps)
	}
	iv := emulatortest.Must[armcompute.VirtualMachinesClientInstanceViewResponse](t)(c.vms.InstanceView(ctx, "rg-vm", "vm1", nil))
	if *iv.Statuses[0].Code != "ProvisioningState/succeeded" || powerState(iv.Statuses) != "PowerState/running" {
		t.Errorf("instance view statuses %v %v", *iv.Statuses[0].Code, powerState(iv.Statuses))
	}

	// Power actions.
	for _, step := range []struct {
		do   func() error
		want string
	}{
		{func() error {
			p, err := c.vms.BeginPowerOff(ctx, "rg-vm", "vm1", nil)
			if err == nil {
				_, err = p.PollUntilDone(ctx, pollOpts)
			}
			return err
		}, "PowerState/stopped"},
		{func() error {
			p, err := c.vms.BeginStart(ctx, "rg-vm", "vm1", nil)
			if err == nil {
				_, err = p.PollUntilDone(ctx, pollOpts)
			}
			return err
		}, "PowerState/running"},
		{func() error {
			p, err := c.vms.BeginDeallocate(ctx, "rg-vm", "vm1", nil)
			if err == nil {
				_, err = p.PollUntilDone(ctx, pollOpts)
			}
			return err
		}, "PowerState/deallocated"},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		iv := emulatortest.Must[armcompute.VirtualMachinesClientInstanceViewResponse](t)(c.vms.InstanceView(ctx, "rg-vm", "vm1", nil))
		if got := powerState(iv.Statuses); got != step.want {
			t.Errorf("after power action: %s, want %s", got, step.want)
		}
	}
	_, err = c.vms.BeginRestart(ctx, "rg-vm", "vm1", nil)
	emulatortest.WantCode(t, err, "OperationNotAllowed")

	// List, in the resource group and the subscription.
	var names []string
	pager := c.vms.NewListPager("rg-vm", nil)
	for pager.More() {
		for _, v := range emulatortest.Must[armcompute.VirtualMachinesClientListResponse](t)(pager.NextPage(ctx)).Value {
			names = append(names, *v.Name)
		}
	}
	all := c.vms.NewListAllPager(nil)
	for all.More() {
		for _, v := range emulatortest.Must[armcompute.VirtualMachinesClientListAllResponse](t)(all.NextPage(ctx)).Value {
			names = append(names, *v.Name)
		}
	}
	if fmt.Sprint(names) != "[vm1 vm1]" {
		t.Errorf("listed %v", names)
	}

	// Update: tags by PATCH, size by PUT (PATCH semantics keep the rest).
	up := emulatortest.Must[*runtime.Poller[armcompute.VirtualMachinesClientUpdateResponse]](t)(c.vms.BeginUpdate(ctx, "rg-vm", "vm1",
		armcompute.VirtualMachineUpdate{Tags: map[string]*string{"owner": to.Ptr("strata"), "env": to.Ptr("test")}}, nil))
	u := emulatortest.Must[armcompute.VirtualMachinesClientUpdateResponse](t)(up.PollUntilDone(ctx, pollOpts))
	if *u.Tags["env"] != "test" {
		t.Errorf("tags %v", u.Tags)
	}
	resize := armcompute.VirtualMachine{Location: to.Ptr(loc), Properties: &armcompute.VirtualMachineProperties{
		HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypesStandardD4SV3)}}}
	r, err := c.createVM(ctx, "rg-vm", "vm1", resize)
	if err != nil {
		t.Fatal(err)
	}
	if *r.Properties.HardwareProfile.VMSize != armcompute.VirtualMachineSizeTypesStandardD4SV3 || *r.Properties.OSProfile.AdminUsername != "azureuser" || *r.Tags["env"] != "test" {
		t.Errorf("after resize: %+v", r.Properties.HardwareProfile)
	}
	changed := vmSpec(t, "Standard_D4s_v3", "1", nic1)
	changed.Properties.OSProfile.CustomData = to.Ptr(base64.StdEncoding.EncodeToString([]byte("#cloud-config\nother\n")))
	_, err = c.createVM(ctx, "rg-vm", "vm1", changed)
	emulatortest.WantCode(t, err, "PropertyChangeNotAllowed")
	same := vmSpec(t, "Standard_D4s_v3", "1", nic1)
	if _, err := c.createVM(ctx, "rg-vm", "vm1", same); err != nil {
		t.Fatalf("re-sending the same customData: %v", err)
	}
	// GET, change, PUT back (read-only properties included) works and keeps the VM's identity.
	cur := emulatortest.Must[armcompute.VirtualMachinesClientGetResponse](t)(c.vms.Get(ctx, "rg-vm", "vm1", nil)).VirtualMachine
	cur.Tags["round"] = to.Ptr("trip")
	rt, err := c.createVM(ctx, "rg-vm", "vm1", cur)
	if err != nil {
		t.Fatalf("GET-modify-PUT: %v", err)
	}
	if *rt.Properties.VMID != *p.VMID || *rt.Tags["round"] != "trip" || rt.Properties.OSProfile.CustomData != nil {
		t.Errorf("after GET-modify-PUT: %+v", rt.Properties)
	}
	moved := vmSpec(t, "Standard_D4s_v3", "2", nic1)
	_, err = c.createVM(ctx, "rg-vm", "vm1", moved)
	emulatortest.WantCode(t, err, "PropertyChangeNotAllowed")

	// Delete: the NIC is detached, the OS disk (deleteOption Delete) deleted.
	dp := emulatortest.Must[*runtime.Poller[armcompute.VirtualMachinesClientDeleteResponse]](t)(c.vms.BeginDelete(ctx, "rg-vm", "vm1", nil))
	emulatortest.Must[armcompute.VirtualMachinesClientDeleteResponse](t)(dp.PollUntilDone(ctx, pollOpts))
	_, err = c.vms.Get(ctx, "rg-vm", "vm1", nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")
	n = emulatortest.Must[armnetwork.InterfacesClientGetResponse](t)(c.nics.Get(ctx, "rg-vm", "vm1-nic", nil))
	if n.Properties.VirtualMachine != nil {
		t.Errorf("NIC still attached to %v", *n.Properties.VirtualMachine.ID)
	}
	_, err = c.disks.Get(ctx, "rg-vm", *osDisk.Name, nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")
}

func TestVirtualMachineErrors(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-err")
	subnet := c.network(t, "rg-err")
	nic := c.nic(t, "rg-err", "nic", subnet)
	nic2 := c.nic(t, "rg-err", "nic2", subnet)

	_, err := c.createVM(ctx, "rg-err", "bad-size", vmSpec(t, "Standard_Nope", "", nic))
	emulatortest.WantCode(t, err, "InvalidParameter")
	_, err = c.createVM(ctx, "rg-err", "gpu", vmSpec(t, "Standard_NC6s_v3", "3", nic))
	emulatortest.WantCode(t, err, "SkuNotAvailable")
	_, err = c.createVM(ctx, "rg-err", "zone4", vmSpec(t, "Standard_D2s_v3", "4", nic))
	emulatortest.WantCode(t, err, "InvalidParameter")
	missing := strings.Replace(nic, "/nic", "/absent", 1)
	_, err = c.createVM(ctx, "rg-err", "nonic", vmSpec(t, "Standard_D2s_v3", "1", missing))
	emulatortest.WantCode(t, err, "NotFound")
	bad := vmSpec(t, "Standard_D2s_v3", "1", nic)
	bad.Properties.OSProfile.CustomData = to.Ptr("not base64!")
	_, err = c.createVM(ctx, "rg-err", "badcd", bad)
	emulatortest.WantCode(t, err, "InvalidParameter")
	bad = vmSpec(t, "Standard_D2s_v3", "1", nic)
	bad.Properties.OSProfile.LinuxConfiguration.SSH.PublicKeys[0].Path = to.Ptr("/root/.ssh/authorized_keys")
	_, err = c.createVM(ctx, "rg-err", "badpath", bad)
	emulatortest.WantCode(t, err, "InvalidParameter")
	bad = vmSpec(t, "Standard_B2s", "1", nic)
	bad.Properties.OSProfile.AdminUsername = nil
	_, err = c.createVM(ctx, "rg-err", "nouser", bad)
	emulatortest.WantCode(t, err, "InvalidParameter")
	_, err = c.createVM(ctx, "rg-err", "bad_name", vmSpec(t, "Standard_D2s_v3", "1", nic))
	emulatortest.WantCode(t, err, "InvalidResourceName")

	// The GPU size works in zone 1, and its NIC cannot serve a second VM.
	if _, err := c.createVM(ctx, "rg-err", "gpu", vmSpec(t, "Standard_NC6s_v3", "1", nic)); err != nil {
		t.Fatal(err)
	}
	_, err = c.createVM(ctx, "rg-err", "second", vmSpec(t, "Standard_D2s_v3", "1", nic))
	emulatortest.WantCode(t, err, "NicInUse")
	// Deleting the NIC of a VM is refused by the network provider.
	_, err = c.nics.BeginDelete(ctx, "rg-err", "nic", nil)
	emulatortest.WantCode(t, err, "NicInUse")
	// Two NICs need one primary.
	two := vmSpec(t, "Standard_D2s_v3", "1", nic2)
	two.Properties.NetworkProfile.NetworkInterfaces = append(two.Properties.NetworkProfile.NetworkInterfaces,
		&armcompute.NetworkInterfaceReference{ID: to.Ptr(nic2), Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: to.Ptr(true)}})
	_, err = c.createVM(ctx, "rg-err", "twonics", two)
	emulatortest.WantCode(t, err, "InvalidParameter")
	// A failed create changed nothing: nic2 is free.
	n := emulatortest.Must[armnetwork.InterfacesClientGetResponse](t)(c.nics.Get(ctx, "rg-err", "nic2", nil))
	if n.Properties.VirtualMachine != nil {
		t.Error("a refused VM attached its NIC")
	}
	// Premium storage on a size without PremiumIO is refused.
	_, err = c.createVM(ctx, "rg-err", "nopremium", vmSpec(t, "Standard_D2_v3", "1", nic2))
	emulatortest.WantCode(t, err, "InvalidParameter")
	if _, err := c.createVM(ctx, "rg-err", "b2s", vmSpec(t, "Standard_B2s", "1", nic2)); err != nil {
		t.Fatalf("Standard_B2s supports premium storage: %v", err)
	}
}

func TestDisks(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-disk")
	create := func(name string, d armcompute.Disk) (armcompute.Disk, error) {
		p, err := c.disks.BeginCreateOrUpdate(ctx, "rg-disk", name, d, nil)
		if err != nil {
			return armcompute.Disk{}, err
		}
		r, err := p.PollUntilDone(ctx, pollOpts)
		return r.Disk, err
	}
	data := armcompute.Disk{
		Location: to.Ptr(loc),
		Zones:    []*string{to.Ptr("2")},
		SKU:      &armcompute.DiskSKU{Name: to.Ptr(armcompute.DiskStorageAccountTypesPremiumLRS)},
		Properties: &armcompute.DiskProperties{
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)},
			DiskSizeGB:   to.Ptr[int32](100),
		},
	}
	d, err := create("etcd", data)
	if err != nil {
		t.Fatal(err)
	}
	if *d.Properties.DiskState != armcompute.DiskStateUnattached || *d.Properties.DiskSizeBytes != 100<<30 || *d.Properties.Tier != "P10" || d.Properties.UniqueID == nil {
		t.Errorf("disk %+v", d.Properties)
	}
	pager := c.disks.NewListByResourceGroupPager("rg-disk", nil)
	count := 0
	for pager.More() {
		count += len(emulatortest.Must[armcompute.DisksClientListByResourceGroupResponse](t)(pager.NextPage(ctx)).Value)
	}
	if count != 1 {
		t.Errorf("listed %d disks", count)
	}

	// Update: tags and a larger size (PATCH), then a smaller size is refused.
	up := emulatortest.Must[*runtime.Poller[armcompute.DisksClientUpdateResponse]](t)(c.disks.BeginUpdate(ctx, "rg-disk", "etcd", armcompute.DiskUpdate{
		Tags: map[string]*string{"role": to.Ptr("etcd")}, Properties: &armcompute.DiskUpdateProperties{DiskSizeGB: to.Ptr[int32](128)}}, nil))
	u := emulatortest.Must[armcompute.DisksClientUpdateResponse](t)(up.PollUntilDone(ctx, pollOpts))
	if *u.Properties.DiskSizeGB != 128 || *u.Tags["role"] != "etcd" || *u.Properties.DiskSizeBytes != 128<<30 {
		t.Errorf("updated disk %+v", u.Disk)
	}
	_, err = c.disks.BeginUpdate(ctx, "rg-disk", "etcd", armcompute.DiskUpdate{Properties: &armcompute.DiskUpdateProperties{DiskSizeGB: to.Ptr[int32](10)}}, nil)
	emulatortest.WantCode(t, err, "InvalidParameter")

	// Rules.
	noSize := data
	noSize.Properties = &armcompute.DiskProperties{CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)}}
	_, err = create("nosize", noSize)
	emulatortest.WantCode(t, err, "InvalidParameter")
	zrs := data
	zrs.SKU = &armcompute.DiskSKU{Name: to.Ptr(armcompute.DiskStorageAccountTypesPremiumZRS)}
	_, err = create("zrs", zrs)
	emulatortest.WantCode(t, err, "InvalidParameter")

	// An attached disk cannot be deleted; detached, it can.
	subnet := c.network(t, "rg-disk")
	nic := c.nic(t, "rg-disk", "nic", subnet)
	spec := vmSpec(t, "Standard_D2s_v3", "2", nic)
	spec.Properties.StorageProfile.DataDisks = []*armcompute.DataDisk{{
		Lun: to.Ptr[int32](0), CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesAttach),
		ManagedDisk: &armcompute.ManagedDiskParameters{ID: d.ID},
	}}
	spec.Properties.StorageProfile.OSDisk.DeleteOption = nil // Azure's default: Detach
	vm, err := c.createVM(ctx, "rg-disk", "vm", spec)
	if err != nil {
		t.Fatal(err)
	}
	if *vm.Properties.StorageProfile.OSDisk.DeleteOption != armcompute.DiskDeleteOptionTypesDetach {
		t.Errorf("OS disk deleteOption %v", *vm.Properties.StorageProfile.OSDisk.DeleteOption)
	}
	_, err = c.disks.BeginDelete(ctx, "rg-disk", "etcd", nil)
	emulatortest.WantCode(t, err, "OperationNotAllowed")
	vp := emulatortest.Must[*runtime.Poller[armcompute.VirtualMachinesClientDeleteResponse]](t)(c.vms.BeginDelete(ctx, "rg-disk", "vm", nil))
	emulatortest.Must[armcompute.VirtualMachinesClientDeleteResponse](t)(vp.PollUntilDone(ctx, pollOpts))
	osd := emulatortest.Must[armcompute.DisksClientGetResponse](t)(c.disks.Get(ctx, "rg-disk", *vm.Properties.StorageProfile.OSDisk.Name, nil))
	if osd.ManagedBy != nil || *osd.Properties.DiskState != armcompute.DiskStateUnattached {
		t.Errorf("the detached OS disk: managedBy %v state %v", osd.ManagedBy, *osd.Properties.DiskState)
	}
	dp := emulatortest.Must[*runtime.Poller[armcompute.DisksClientDeleteResponse]](t)(c.disks.BeginDelete(ctx, "rg-disk", "etcd", nil))
	emulatortest.Must[armcompute.DisksClientDeleteResponse](t)(dp.PollUntilDone(ctx, pollOpts))
	_, err = c.disks.Get(ctx, "rg-disk", "etcd", nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")
}

func TestImages(t *testing.T) {
	e := emulatortest.Start(t)
	c := newClients(t, e)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-img")
	ap := emulatortest.Must[*runtime.Poller[armstorage.AccountsClientCreateResponse]](t)(c.accts.BeginCreate(ctx, "rg-img", "imagesrc1", armstorage.AccountCreateParameters{
		Location: to.Ptr(loc), Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
	}, nil))
	acct := emulatortest.Must[armstorage.AccountsClientCreateResponse](t)(ap.PollUntilDone(ctx, pollOpts))
	blobURI := *acct.Properties.PrimaryEndpoints.Blob + "vhds/base.vhd"

	create := func(name, uri string) (armcompute.Image, error) {
		p, err := c.images.BeginCreateOrUpdate(ctx, "rg-img", name, armcompute.Image{
			Location: to.Ptr(loc),
			Properties: &armcompute.ImageProperties{StorageProfile: &armcompute.ImageStorageProfile{OSDisk: &armcompute.ImageOSDisk{
				OSType: to.Ptr(armcompute.OperatingSystemTypesLinux), OSState: to.Ptr(armcompute.OperatingSystemStateTypesGeneralized),
				BlobURI: to.Ptr(uri),
			}}},
		}, nil)
		if err != nil {
			return armcompute.Image{}, err
		}
		r, err := p.PollUntilDone(ctx, pollOpts)
		return r.Image, err
	}
	img, err := create("base", blobURI)
	if err != nil {
		t.Fatal(err)
	}
	if *img.Properties.ProvisioningState != "Succeeded" || *img.Properties.StorageProfile.OSDisk.BlobURI != blobURI {
		t.Errorf("image %+v", img.Properties)
	}
	_, err = create("nowhere", "https://elsewhere.example/vhds/base.vhd")
	emulatortest.WantCode(t, err, "InvalidParameter")
	_, err = create("httpblob", strings.Replace(blobURI, "https://", "http://", 1))
	emulatortest.WantCode(t, err, "InvalidParameter")

	// A VM from the image.
	subnet := c.network(t, "rg-img")
	nic := c.nic(t, "rg-img", "nic", subnet)
	spec := vmSpec(t, "Standard_D2s_v3", "", nic)
	spec.Properties.StorageProfile.ImageReference = &armcompute.ImageReference{ID: img.ID}
	vm, err := c.createVM(ctx, "rg-img", "fromimage", spec)
	if err != nil {
		t.Fatal(err)
	}
	d := emulatortest.Must[armcompute.DisksClientGetResponse](t)(c.disks.Get(ctx, "rg-img", *vm.Properties.StorageProfile.OSDisk.Name, nil))
	if !strings.EqualFold(*d.Properties.CreationData.ImageReference.ID, *img.ID) {
		t.Errorf("OS disk created from %v", d.Properties.CreationData.ImageReference)
	}
	spec.Properties.StorageProfile.ImageReference = &armcompute.ImageReference{ID: to.Ptr(*img.ID + "x")}
	_, err = c.createVM(ctx, "rg-img", "noimage", spec)
	emulatortest.WantCode(t, err, "InvalidParameter")
	small := vmSpec(t, "Standard_D2s_v3", "", nic)
	small.Properties.StorageProfile.OSDisk.DiskSizeGB = to.Ptr[int32](10)
	_, err = c.createVM(ctx, "rg-img", "small", small)
	emulatortest.WantCode(t, err, "InvalidParameter")

	// Tags, list, delete.
	up := emulatortest.Must[*runtime.Poller[armcompute.ImagesClientUpdateResponse]](t)(c.images.BeginUpdate(ctx, "rg-img", "base", armcompute.ImageUpdate{Tags: map[string]*string{"v": to.Ptr("1")}}, nil))
	if u := emulatortest.Must[armcompute.ImagesClientUpdateResponse](t)(up.PollUntilDone(ctx, pollOpts)); *u.Tags["v"] != "1" {
		t.Errorf("tags %v", u.Tags)
	}
	pager := c.images.NewListByResourceGroupPager("rg-img", nil)
	var names []string
	for pager.More() {
		for _, i := range emulatortest.Must[armcompute.ImagesClientListByResourceGroupResponse](t)(pager.NextPage(ctx)).Value {
			names = append(names, *i.Name)
		}
	}
	if fmt.Sprint(names) != "[base]" {
		t.Errorf("images %v", names)
	}
	dp := emulatortest.Must[*runtime.Poller[armcompute.ImagesClientDeleteResponse]](t)(c.images.BeginDelete(ctx, "rg-img", "base", nil))
	emulatortest.Must[armcompute.ImagesClientDeleteResponse](t)(dp.PollUntilDone(ctx, pollOpts))
	_, err = c.images.Get(ctx, "rg-img", "base", nil)
	emulatortest.WantCode(t, err, "ResourceNotFound")
}

// TestVirtualMachineWithLatency follows a VM create that takes time: while it runs the VM is
// Creating, starting, and refuses power actions.
func TestVirtualMachineWithLatency(t *testing.T) {
	e := emulatortest.Start(t, func(o *emulator.Options) { o.Latency, o.LatencyScale = "realistic", 0.01 })
	c := newClients(t, e)
	ctx := context.Background()
	e.ResourceGroup(t, "rg-slow")
	subnet := c.network(t, "rg-slow")
	nic := c.nic(t, "rg-slow", "nic", subnet)
	p := emulatortest.Must[*runtime.Poller[armcompute.VirtualMachinesClientCreateOrUpdateResponse]](t)(c.vms.BeginCreateOrUpdate(ctx, "rg-slow", "slow", vmSpec(t, "Standard_D2s_v3", "2", nic), nil))
	g := emulatortest.Must[armcompute.VirtualMachinesClientGetResponse](t)(c.vms.Get(ctx, "rg-slow", "slow", nil))
	if *g.Properties.ProvisioningState != "Creating" || powerState(g.Properties.InstanceView.Statuses) != "PowerState/starting" {
		t.Errorf("while creating: %s %s", *g.Properties.ProvisioningState, powerState(g.Properties.InstanceView.Statuses))
	}
	_, err := c.vms.BeginPowerOff(ctx, "rg-slow", "slow", nil)
	emulatortest.WantCode(t, err, "OperationNotAllowed")
	vm := emulatortest.Must[armcompute.VirtualMachinesClientCreateOrUpdateResponse](t)(p.PollUntilDone(ctx, pollOpts))
	if *vm.Properties.ProvisioningState != "Succeeded" {
		t.Errorf("after create: %s", *vm.Properties.ProvisioningState)
	}
	dp := emulatortest.Must[*runtime.Poller[armcompute.VirtualMachinesClientDeleteResponse]](t)(c.vms.BeginDelete(ctx, "rg-slow", "slow", nil))
	n := emulatortest.Must[armnetwork.InterfacesClientGetResponse](t)(c.nics.Get(ctx, "rg-slow", "nic", nil))
	if n.Properties.VirtualMachine == nil {
		t.Error("the NIC was detached before the delete completed")
	}
	emulatortest.Must[armcompute.VirtualMachinesClientDeleteResponse](t)(dp.PollUntilDone(ctx, pollOpts))
	n = emulatortest.Must[armnetwork.InterfacesClientGetResponse](t)(c.nics.Get(ctx, "rg-slow", "nic", nil))
	if n.Properties.VirtualMachine != nil {
		t.Error("the NIC is still attached after the delete")
	}
}
