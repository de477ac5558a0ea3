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
			return keyVirtualMachinePfx + mp.Name + "-0"
		}
	}
	return ""
}

// machines adds a NIC and a VM per machine: the control-plane pool first, then the other pools
// in the spec's order. Control-plane machines join one after the other, after the first one
// (kubeadm init); workers only wait for the first one.
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
	first := InitMachineKey(b.c)
	for _, pool := range pools {
		prev := ""
		for i := range pool.Count {
			role := roleWorker
			after := first
			switch {
			case pool.ControlPlane && i == 0:
				role, after = roleInit, ""
			case pool.ControlPlane:
				role, after = roleControlPlane, prev
			}
			vmKey, err := b.machine(pool, i, role, after)
			if err != nil {
				return fmt.Errorf("machine pool %s: %w", pool.Name, err)
			}
			prev = vmKey
		}
	}
	return nil
}

// machine adds the NIC, VM and OS disk of a pool's i-th machine, the VM after the node after
// (if any), and returns the VM's key.
func (b *builder) machine(pool *v1alpha1.MachinePool, i int, role machineRole, after string) (string, error) {
	name := fmt.Sprintf("%s-%s-%d", b.name(), pool.Name, i)
	nodeRole := RoleNodes
	if pool.ControlPlane {
		nodeRole = RoleControlPlane
	}
	nic := b.nic(pool, i, name, nodeRole)
	data, err := b.cloudInit(pool, role)
	if err != nil {
		return "", err
	}
	vm := b.vm(pool, i, name, nodeRole, nic, data, after)
	b.osDisk(vm)
	return vm.Key, nil
}

// nic adds the NIC of a pool's i-th machine, named name: in the control-plane subnet and the
// API server load balancer's backend pool for a control-plane machine, else in the workers'
// subnet.
func (b *builder) nic(pool *v1alpha1.MachinePool, i int, name, nodeRole string) *Node {
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
	return b.add(&Node{Key: fmt.Sprintf("%s%s-%d", keyNICPrefix, pool.Name, i), Kind: KindNetworkInterface,
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

// vm adds the VM of a pool's i-th machine, named name, on nic, booting with the cloud-init
// data, after the node after (if any): in the i-th of the pool's zones, round-robin.
func (b *builder) vm(pool *v1alpha1.MachinePool, i int, name, nodeRole string, nic *Node, data, after string) *Node {
	var zones []*string
	if z := poolZones(pool, b.sizeZones(pool.InstanceType)); len(z) > 0 {
		zones = []*string{new(z[i%len(z)])}
	}
	return b.add(&Node{Key: fmt.Sprintf("%s%s-%d", keyVirtualMachinePfx, pool.Name, i), Kind: KindVirtualMachine,
		ID:        resourceID(b.az.SubscriptionID, b.az.ResourceGroup, "Microsoft.Compute", "virtualMachines", name),
		DependsOn: deps(append([]string{nic.Key, keyImage, after}, b.privateDNSDeps()...)...), Managed: true, Role: nodeRole,
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

// osDisk adds the OS disk of vm: Azure makes it with the VM, without the VM's tags, so it gets
// them from a node of its own once the VM exists.
func (b *builder) osDisk(vm *Node) {
	b.add(&Node{Key: keyOSDiskPfx + strings.TrimPrefix(vm.Key, keyVirtualMachinePfx), Kind: KindOSDisk,
		ID: OSDiskID(vm.ID), DependsOn: []string{vm.Key}, Managed: true, Role: vm.Role,
		Spec: armcompute.Disk{Tags: b.tags(vm.Role)}})
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
