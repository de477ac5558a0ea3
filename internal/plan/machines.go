package plan

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/strata-dev/strata/api/v1alpha1"
)

// The nodes' admin user.
const (
	AdminUsername = "strata"
	sshKeyPath    = "/home/" + AdminUsername + "/.ssh/authorized_keys"
)

// controlPlanePool returns the cluster's control-plane pool, or nil.
func (b *builder) controlPlanePool() *v1alpha1.MachinePool {
	for i := range b.c.Spec.MachinePools {
		if mp := &b.c.Spec.MachinePools[i]; mp.ControlPlane {
			return mp
		}
	}
	return nil
}

// InitMachineKey is the graph key of an IaaS cluster's first control-plane VM, the one whose
// cloud-init runs kubeadm init, or "" when the cluster has no control-plane pool.
func InitMachineKey(c *v1alpha1.Cluster) string {
	for _, mp := range c.Spec.MachinePools {
		if mp.ControlPlane {
			vm, _, _ := MachineKeys(Slot(mp.Name, 0), 0)
			return vm
		}
	}
	return ""
}

// machines adds a NIC, a VM and its OS disk per machine in the graph (see Input.Machines): the
// control-plane pool first, then the other pools in the spec's order. Control-plane machines
// join one after the other, after the first one (kubeadm init); workers only wait for the
// first one. A machine of a later generation joins the running cluster and waits for none.
func (b *builder) machines() error {
	cp := b.controlPlanePool()
	if cp == nil || cp.Count < 1 {
		return errors.New("no control-plane pool with at least one machine")
	}
	pools := []*v1alpha1.MachinePool{cp}
	for i := range b.c.Spec.MachinePools {
		if mp := &b.c.Spec.MachinePools[i]; !mp.ControlPlane {
			pools = append(pools, mp)
		}
	}
	first := ""
	if b.in.Machines[Slot(cp.Name, 0)] == 0 {
		first = InitMachineKey(b.c)
	}
	for _, pool := range pools {
		prev := ""
		for i := range pool.Count {
			gen := b.in.Machines[Slot(pool.Name, i)]
			if gen == SkipMachine {
				continue
			}
			role, after := machinePlace(pool.ControlPlane, i, gen, first, prev)
			vmKey, err := b.machine(pool, i, gen, role, after)
			if err != nil {
				return fmt.Errorf("machine pool %s: %w", pool.Name, err)
			}
			prev = vmKey
		}
	}
	return nil
}

// machinePlace is the kubeadm role of the i-th machine (of generation gen) of a pool, and the
// key of the VM it is made after: the first control-plane machine of generation 0 runs
// kubeadm init; the other control-plane machines of generation 0 join after the one before
// (prev); the workers of generation 0 after the first (first); a machine of a later generation
// joins the running cluster, after nothing.
func machinePlace(controlPlane bool, i, gen int, first, prev string) (machineRole, string) {
	switch {
	case controlPlane && i == 0 && gen == 0:
		return roleInit, ""
	case controlPlane && gen == 0:
		return roleControlPlane, prev
	case controlPlane:
		return roleControlPlane, ""
	case gen == 0:
		return roleWorker, first
	}
	return roleWorker, ""
}

// machine adds the NIC, VM and OS disk of a pool's i-th machine of generation gen, the VM after
// the node after (if any), and returns the VM's key.
func (b *builder) machine(pool *v1alpha1.MachinePool, i, gen int, role machineRole, after string) (string, error) {
	slot := Slot(pool.Name, i)
	name := b.name() + "-" + slot + generationSuffix(gen)
	vmKey, nicKey, diskKey := MachineKeys(slot, gen)
	nodeRole := RoleNodes
	if pool.ControlPlane {
		nodeRole = RoleControlPlane
	}
	nic := b.nic(pool, nicKey, name, nodeRole)
	data, err := b.cloudInit(pool, role)
	if err != nil {
		return "", err
	}
	vm := b.vm(pool, i, vmKey, name, nodeRole, nic, data, after)
	// Azure makes the OS disk with the VM, without the VM's tags: it gets them from a node of
	// its own once the VM exists.
	b.add(&Node{Key: diskKey, Kind: KindOSDisk, ID: OSDiskID(vm.ID), DependsOn: []string{vm.Key}, Managed: true,
		Role: vm.Role, Spec: armcompute.Disk{Tags: b.tags(vm.Role)}})
	return vm.Key, nil
}

// nic adds the NIC of a pool's machine, of graph key key, named name: in the control-plane
// subnet and the API server load balancer's backend pool for a control-plane machine, else in
// the workers' subnet.
func (b *builder) nic(pool *v1alpha1.MachinePool, key, name, nodeRole string) *Node {
	subnetKey := keySubnetWorkers
	if pool.ControlPlane {
		subnetKey = keySubnetControl
	}
	ipConfig := &armnetwork.InterfaceIPConfigurationPropertiesFormat{
		Subnet:                    &armnetwork.Subnet{ID: new(b.graph.Node(subnetKey).ID)},
		PrivateIPAllocationMethod: new(armnetwork.IPAllocationMethodDynamic),
		PrivateIPAddressVersion:   new(armnetwork.IPVersionIPv4),
		Primary:                   new(true),
	}
	nicDeps := []string{subnetKey}
	if pool.ControlPlane {
		ipConfig.LoadBalancerBackendAddressPools = []*armnetwork.BackendAddressPool{{ID: new(b.apiServerNames().poolID)}}
		nicDeps = append(nicDeps, keyAPIServerLB)
	}
	return b.add(&Node{Key: key, Kind: KindNetworkInterface,
		ID:        networkID(b.az.SubscriptionID, b.az.ResourceGroup, "networkInterfaces", name+"-nic"),
		DependsOn: nicDeps, Managed: true, Role: nodeRole,
		Spec: armnetwork.Interface{
			Location: new(b.az.Location), Tags: b.tags(nodeRole),
			Properties: &armnetwork.InterfacePropertiesFormat{
				IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{
					Name:       new("ipconfig1"),
					Properties: ipConfig,
				}},
			},
		}})
}

// vm adds the VM of a pool's i-th machine, of graph key key, named name, on nic, booting with
// the cloud-init data, after the node after (if any): in the i-th of the pool's zones,
// round-robin, built from the machine template.
func (b *builder) vm(pool *v1alpha1.MachinePool, i int, key, name, nodeRole string, nic *Node, data, after string) *Node {
	var zones []*string
	if z := poolZones(pool, b.sizeZones(pool.InstanceType)); len(z) > 0 {
		zones = []*string{new(z[i%len(z)])}
	}
	return b.add(&Node{Key: key, Kind: KindVirtualMachine, Template: b.layers.machineTemplate(),
		ID:        resourceID(b.az.SubscriptionID, b.az.ResourceGroup, "Microsoft.Compute", "virtualMachines", name),
		DependsOn: deps(append([]string{nic.Key, b.imageKey(), after}, b.privateDNSDeps()...)...), Managed: true, Role: nodeRole,
		Spec: armcompute.VirtualMachine{
			Location: new(b.az.Location), Tags: b.tags(nodeRole), Zones: zones,
			Properties: &armcompute.VirtualMachineProperties{
				HardwareProfile: &armcompute.HardwareProfile{VMSize: new(armcompute.VirtualMachineSizeTypes(pool.InstanceType))},
				StorageProfile: &armcompute.StorageProfile{
					ImageReference: &armcompute.ImageReference{ID: new(b.imageID())},
					OSDisk: &armcompute.OSDisk{
						Name:         new(osDiskName(name)),
						OSType:       new(armcompute.OperatingSystemTypesLinux),
						CreateOption: new(armcompute.DiskCreateOptionTypesFromImage),
						Caching:      new(armcompute.CachingTypesReadWrite),
						DiskSizeGB:   new(int32(pool.OSDisk.SizeGB)),
						DeleteOption: new(armcompute.DiskDeleteOptionTypesDelete),
						ManagedDisk: &armcompute.ManagedDiskParameters{
							StorageAccountType: new(armcompute.StorageAccountTypes(pool.OSDisk.Type)),
						},
					},
				},
				OSProfile: &armcompute.OSProfile{
					ComputerName:  new(name),
					AdminUsername: new(AdminUsername),
					CustomData:    new(base64.StdEncoding.EncodeToString([]byte(data))),
					LinuxConfiguration: &armcompute.LinuxConfiguration{
						DisablePasswordAuthentication: new(true),
						SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{
							Path:    new(sshKeyPath),
							KeyData: new(b.az.SSHPublicKey),
						}}},
					},
				},
				NetworkProfile: &armcompute.NetworkProfile{
					NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{
						ID: new(nic.ID),
						Properties: &armcompute.NetworkInterfaceReferenceProperties{
							Primary:      new(true),
							DeleteOption: new(armcompute.DeleteOptionsDelete),
						},
					}},
				},
			},
		}})
}

// imageKey is the graph key of the node image the machines boot from.
func (b *builder) imageKey() string {
	_, image := imageKeys(b.in.ImageGeneration)
	return image
}

// osDiskName is the name of a VM's OS disk.
func osDiskName(vm string) string { return vm + "_OSDisk" }

// OSDiskID is the ARM ID of the OS disk of the VM with the ARM ID vmID: the VM's name and
// "_OSDisk", in the VM's resource group.
func OSDiskID(vmID string) string {
	const vms = "/providers/microsoft.compute/virtualmachines/"
	i := strings.LastIndex(strings.ToLower(vmID), vms)
	if i < 0 || strings.Contains(vmID[i+len(vms):], "/") {
		return ""
	}
	return vmID[:i] + "/providers/Microsoft.Compute/disks/" + osDiskName(vmID[i+len(vms):])
}

// poolZones are the zones a pool's machines are spread over, round-robin: the pool's own, or
// else every zone of its size in the region. An empty zone ("") means no zone.
func poolZones(pool *v1alpha1.MachinePool, regionZones []string) []string {
	var out []string
	for _, z := range pool.Zones {
		if z != "" {
			out = append(out, z)
		}
	}
	if len(pool.Zones) > 0 {
		return out
	}
	return regionZones
}
