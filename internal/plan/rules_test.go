package plan

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/strata-dev/strata/api/v1alpha1"
)

// specTags returns the tags of a node's spec, and whether its kind has tags.
func specTags(spec any) (map[string]*string, bool) {
	switch s := spec.(type) {
	case armnetwork.VirtualNetwork:
		return s.Tags, true
	case armnetwork.SecurityGroup:
		return s.Tags, true
	case armnetwork.PublicIPAddress:
		return s.Tags, true
	case armnetwork.NatGateway:
		return s.Tags, true
	case armnetwork.LoadBalancer:
		return s.Tags, true
	case armnetwork.Interface:
		return s.Tags, true
	case armstorage.AccountCreateParameters:
		return s.Tags, true
	case armcompute.Image:
		return s.Tags, true
	case armcompute.VirtualMachine:
		return s.Tags, true
	case armcompute.Disk:
		return s.Tags, true
	case armcontainerservice.ManagedCluster:
		return s.Tags, true
	case armprivatedns.PrivateZone:
		return s.Tags, true
	case armprivatedns.VirtualNetworkLink:
		return s.Tags, true
	case armcontainerservice.AgentPool:
		return s.Properties.Tags, true
	}
	return nil, false // subnets, containers, blob copies and DNS record sets have no tags
}

func customData(t *testing.T, n *Node) string {
	t.Helper()
	vm := n.Spec.(armcompute.VirtualMachine)
	data, err := base64.StdEncoding.DecodeString(*vm.Properties.OSProfile.CustomData)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestRules checks the rules every graph obeys, on every test case: the rules of IaaS graphs,
// of AKS graphs, and of both.
func TestRules(t *testing.T) {
	const iaas, aks, both = 1, 2, 3
	rules := []struct {
		name    string
		applies int
		check   func(t *testing.T, tc testCase, g *Graph)
	}{
		{"no NIC has a public IP", iaas, func(t *testing.T, _ testCase, g *Graph) {
			for _, n := range g.Nodes {
				if nic, ok := n.Spec.(armnetwork.Interface); ok {
					for _, ip := range nic.Properties.IPConfigurations {
						if ip.Properties.PublicIPAddress != nil {
							t.Errorf("%s has a public IP", n.Key)
						}
					}
				}
			}
		}},
		{"each subnet has its own NSG", iaas, func(t *testing.T, _ testCase, g *Graph) {
			nsg := func(key string) string {
				n := g.Node(key)
				if s, ok := n.Spec.(armnetwork.Subnet); ok {
					return *s.Properties.NetworkSecurityGroup.ID
				}
				return n.Expect[ExpectNetworkSecurityGroup]
			}
			cp, wk := nsg(keySubnetControl), nsg(keySubnetWorkers)
			if cp == "" || wk == "" || cp == wk || cp != g.Node(keyNSGControl).ID || wk != g.Node(keyNSGWorkers).ID {
				t.Errorf("control-plane subnet NSG %q, workers subnet NSG %q", cp, wk)
			}
		}},
		{"control-plane NSG has one inbound rule, on 6443", iaas, func(t *testing.T, tc testCase, g *Graph) {
			n := g.Node(keyNSGControl)
			if tc.in.Cluster.Spec.Azure.Placement != nil {
				return // adopted
			}
			rules := n.Spec.(armnetwork.SecurityGroup).Properties.SecurityRules
			if len(rules) != 1 || *rules[0].Properties.DestinationPortRange != "6443" ||
				*rules[0].Properties.Direction != armnetwork.SecurityRuleDirectionInbound || *rules[0].Properties.Priority != 2201 {
				t.Errorf("rules: %+v", rules)
			}
			if w := g.Node(keyNSGWorkers).Spec.(armnetwork.SecurityGroup); len(w.Properties.SecurityRules) != 0 {
				t.Error("the workers NSG has rules")
			}
		}},
		{"LB rule on 6443, zones on the PIP only (public) or on the static frontend in the control-plane subnet (internal)", iaas, func(t *testing.T, tc testCase, g *Graph) {
			lb := g.Node(keyAPIServerLB).Spec.(armnetwork.LoadBalancer)
			internal := v1alpha1.InternalAPIServer(tc.in.Cluster)
			r := lb.Properties.LoadBalancingRules
			if len(r) != 1 || *r[0].Properties.FrontendPort != 6443 || *r[0].Properties.BackendPort != 6443 || *r[0].Properties.DisableOutboundSnat != (internal == nil) {
				t.Errorf("rules: %+v", r)
			}
			for _, f := range lb.Properties.FrontendIPConfigurations {
				p := f.Properties
				switch {
				case internal == nil && len(f.Zones) > 0:
					t.Error("zones on the frontend of a public LB")
				case internal == nil && (p.PublicIPAddress == nil || p.Subnet != nil):
					t.Errorf("public frontend %+v", p)
				case internal != nil && (p.PublicIPAddress != nil || *p.Subnet.ID != g.Node(keySubnetControl).ID ||
					*p.PrivateIPAllocationMethod != armnetwork.IPAllocationMethodStatic || *p.PrivateIPAddress != internal.StaticIP):
					t.Errorf("internal frontend %+v", p)
				}
			}
			if (internal != nil) != (g.Node(keyAPIServerIP) == nil) {
				t.Errorf("internal %v, API server public IP %v", internal != nil, g.Node(keyAPIServerIP))
			}
		}},
		{"control-plane NICs in the backend pool", iaas, func(t *testing.T, _ testCase, g *Graph) {
			for _, n := range g.Nodes {
				if n.Kind != KindNetworkInterface {
					continue
				}
				pools := n.Spec.(armnetwork.Interface).Properties.IPConfigurations[0].Properties.LoadBalancerBackendAddressPools
				if (n.Role == RoleControlPlane) != (len(pools) == 1) {
					t.Errorf("%s (%s) is in %d pools", n.Key, n.Role, len(pools))
				}
			}
		}},
		{"zones round-robin", iaas, func(t *testing.T, tc testCase, g *Graph) {
			for _, pool := range tc.in.Cluster.Spec.MachinePools {
				want := poolZones(&pool, tc.in.Env.Zones[pool.InstanceType])
				want = sortedIfRegion(pool, want)
				for i := range pool.Count {
					vm := g.Node(keyVirtualMachinePfx + pool.Name + "-" + strconv.Itoa(i)).Spec.(armcompute.VirtualMachine)
					switch {
					case len(want) == 0 && len(vm.Zones) != 0:
						t.Errorf("%s-%d has zones %v", pool.Name, i, vm.Zones)
					case len(want) > 0 && (len(vm.Zones) != 1 || *vm.Zones[0] != want[i%len(want)]):
						t.Errorf("%s-%d is not in zone %s", pool.Name, i, want[i%len(want)])
					}
				}
			}
		}},
		{"managed nodes tagged with the cluster's tags, owner and role", both, func(t *testing.T, tc testCase, g *Graph) {
			c := tc.in.Cluster
			for _, n := range g.Nodes {
				tags, ok := specTags(n.Spec)
				if !n.Managed || !ok {
					continue
				}
				for _, raw := range c.Spec.Tags {
					tag, _ := v1alpha1.ParseTag(raw)
					if v := tags[tag.Key]; v == nil || *v != tag.Value {
						t.Errorf("%s lacks tag %s", n.Key, raw)
					}
				}
				if v := tags[v1alpha1.TagOwner]; v == nil || *v != OwnerTagValue(c) {
					t.Errorf("%s lacks the owner tag", n.Key)
				}
				if v := tags[v1alpha1.TagRole]; v == nil || *v != n.Role {
					t.Errorf("%s lacks the role tag %s", n.Key, n.Role)
				}
			}
		}},
		{"each VM's OS disk is a managed node after it, with the name the VM gives it", iaas, func(t *testing.T, _ testCase, g *Graph) {
			for _, vm := range g.Nodes {
				if vm.Kind != KindVirtualMachine {
					continue
				}
				i := slices.IndexFunc(g.Nodes, func(n *Node) bool { return n.Kind == KindOSDisk && slices.Contains(n.DependsOn, vm.Key) })
				if i < 0 {
					t.Errorf("%s has no OS disk node", vm.Key)
					continue
				}
				d := g.Nodes[i]
				name := *vm.Spec.(armcompute.VirtualMachine).Properties.StorageProfile.OSDisk.Name
				if !d.Managed || d.Role != vm.Role || d.ID != OSDiskID(vm.ID) || !strings.HasSuffix(d.ID, "/providers/Microsoft.Compute/disks/"+name) {
					t.Errorf("%s: OS disk node %+v, want managed, role %s, ID of the disk %s", vm.Key, d, vm.Role, name)
				}
				if spec, ok := d.Spec.(armcompute.Disk); !ok || spec.Location != nil || spec.Properties != nil || spec.SKU != nil {
					t.Errorf("%s: spec %+v, want the tags only (strata never creates the disk)", d.Key, d.Spec)
				}
			}
		}},
		{"adopted nodes have nil Spec and an Expect", both, func(t *testing.T, _ testCase, g *Graph) {
			for _, n := range g.Nodes {
				if !n.Managed && (n.Spec != nil || len(n.Expect) == 0) {
					t.Errorf("adopted %s: spec %v, expect %v", n.Key, n.Spec, n.Expect)
				}
				if n.Managed && (n.Spec == nil || n.Expect != nil) {
					t.Errorf("managed %s: spec %v, expect %v", n.Key, n.Spec, n.Expect)
				}
			}
		}},
		{"CA key only in the first control-plane VM", iaas, func(t *testing.T, tc testCase, g *Graph) {
			key := strings.TrimSpace(string(tc.in.Secrets.CAKeyPEM))
			key = strings.Split(key, "\n")[1] // a line of the key's base64
			for _, n := range g.Nodes {
				if n.Kind != KindVirtualMachine {
					continue
				}
				has := strings.Contains(customData(t, n), key)
				if has != (n.Key == "vm/control-plane-0") {
					t.Errorf("%s: CA key present = %v", n.Key, has)
				}
			}
		}},
		{"no public IP but the API server's and the NAT gateway's", iaas, func(t *testing.T, _ testCase, g *Graph) {
			for _, n := range g.Nodes {
				if n.Kind == KindPublicIPAddress && n.Key != keyAPIServerIP && n.Key != keyNATGatewayIP {
					t.Errorf("unexpected public IP %s", n.Key)
				}
			}
		}},
	}
	rules = append(rules, []struct {
		name    string
		applies int
		check   func(t *testing.T, tc testCase, g *Graph)
	}{
		{"no node has a public IP, every pool is in the node subnet", aks, func(t *testing.T, _ testCase, g *Graph) {
			subnet := g.Node(keySubnetWorkers).ID
			for _, n := range g.Nodes {
				if ap, ok := n.Spec.(armcontainerservice.AgentPool); ok {
					if *ap.Properties.EnableNodePublicIP || *ap.Properties.VnetSubnetID != subnet {
						t.Errorf("%s: public IP %v, subnet %s", n.Key, *ap.Properties.EnableNodePublicIP, *ap.Properties.VnetSubnetID)
					}
				}
			}
		}},
		{"pools in their zones, or every zone of the region", aks, func(t *testing.T, tc testCase, g *Graph) {
			for _, pool := range tc.in.Cluster.Spec.MachinePools {
				want := sortedIfRegion(pool, poolZones(&pool, tc.in.Env.Zones[pool.InstanceType]))
				ap := g.Node(keyAgentPoolPfx + pool.Name).Spec.(armcontainerservice.AgentPool)
				got := make([]string, len(ap.Properties.AvailabilityZones))
				for i, z := range ap.Properties.AvailabilityZones {
					got[i] = *z
				}
				if !slices.Equal(got, want) {
					t.Errorf("pool %s in zones %v, want %v", pool.Name, got, want)
				}
			}
		}},
		{"the managed cluster only after the node subnet, pools after it", aks, func(t *testing.T, _ testCase, g *Graph) {
			if mc := g.Node(keyManagedCluster); !slices.Contains(mc.DependsOn, keySubnetWorkers) {
				t.Errorf("managed cluster depends on %v", mc.DependsOn)
			}
			for _, n := range g.Nodes {
				if n.Kind == KindAgentPool && !slices.Equal(n.DependsOn, []string{keyManagedCluster}) {
					t.Errorf("%s depends on %v", n.Key, n.DependsOn)
				}
			}
		}},
	}...)
	for _, tc := range testCases(t) {
		g := build(t, tc.in)
		kind := iaas
		if tc.in.Cluster.Spec.Azure.Type == v1alpha1.ClusterTypeAKS {
			kind = aks
		}
		for _, r := range rules {
			if r.applies&kind == 0 {
				continue
			}
			t.Run(tc.name+"/"+r.name, func(t *testing.T) { r.check(t, tc, g) })
		}
	}
}

// sortedIfRegion returns the zones a pool uses: its own as given, the region's sorted.
func sortedIfRegion(pool v1alpha1.MachinePool, zones []string) []string {
	if len(pool.Zones) > 0 {
		return zones
	}
	return slices.Sorted(slices.Values(zones))
}

func TestStaticPlacementAdoptsTheNetwork(t *testing.T) {
	var tc testCase
	for _, c := range testCases(t) {
		if c.name == "static" {
			tc = c
		}
	}
	g := build(t, tc.in)
	for _, key := range []string{keyVNet, keySubnetControl, keySubnetWorkers, keyNSGControl, keyNSGWorkers, keyStorageAccount, keyStorageContainer} {
		n := g.Node(key)
		if n == nil || n.Managed || n.Spec != nil {
			t.Errorf("%s is not adopted: %+v", key, n)
		} else if key != keyStorageAccount && key != keyStorageContainer && !strings.Contains(n.ID, "/resourceGroups/corp-network-rg/") {
			t.Errorf("%s is not in the placement's resource group: %s", key, n.ID)
		}
	}
	if g.Node(keyNATGateway) != nil || g.Node(keyNATGatewayIP) != nil {
		t.Error("static placement got a NAT gateway")
	}
	if got := g.Node(keySubnetControl).Expect[ExpectAddressPrefix]; got != "10.10.0.0/24" {
		t.Errorf("control-plane subnet expects %q", got)
	}
}

func TestStorageAccountName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	// The names are pinned: a change of the scheme would orphan every existing cluster's
	// account, so a new scheme must fail here.
	tests := []struct{ sub, rg, cluster, want string }{
		{"eb170fb1-b147-4a5e-b0d6-ba70f6c1c938", "finance-dev-rg", "iaas-dynamic", "strata6a6bf8f77c334cbeee"},
		// Azure's subscription IDs and resource group names are case-insensitive.
		{"EB170FB1-B147-4A5E-B0D6-BA70F6C1C938", "FINANCE-DEV-RG", "iaas-dynamic", "strata6a6bf8f77c334cbeee"},
		{"EB170FB1-B147-4A5E-B0D6-BA70F6C1C938", "Finance-Dev-RG", "a", "strata1fa95ee835f30812ba"},
		{"00000000-0000-0000-0000-000000000000", "rg", strings.Repeat("long-name", 7), "strata546b5e39f326f71c13"},
	}
	for _, tt := range tests {
		name := StorageAccountName(tt.sub, tt.rg, tt.cluster)
		if !valid.MatchString(name) {
			t.Errorf("%q is not a valid storage account name", name)
		}
		if name != tt.want {
			t.Errorf("StorageAccountName(%q, %q, %q) = %q, want %q", tt.sub, tt.rg, tt.cluster, name, tt.want)
		}
	}
}

func TestDNSLabel(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`)
	for _, cluster := range []string{"iaas-dynamic", strings.Repeat("abcdefgh-", 8)} {
		if l := DNSLabel("sub", "rg", cluster); !valid.MatchString(l) {
			t.Errorf("%q is not a valid DNS label", l)
		}
	}
	if DNSLabel("sub", "rg", "a") == DNSLabel("sub", "rg2", "a") {
		t.Error("the resource group does not change the label")
	}
}

func TestJoinUsesCACertHash(t *testing.T) {
	tc := testCases(t)[0]
	g := build(t, tc.in)
	hash, err := tc.in.Secrets.CACertHash()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want []string
	}{
		{"vm/control-plane-0", []string{"kubeadm\n  - init", "--upload-certs", "controlPlaneEndpoint: " + APIServerEndpoint(tc.in.Cluster), "kubernetesVersion: v1.30.4", "podSubnet: 192.168.0.0/16"}},
		{"vm/control-plane-1", []string{"kind: JoinConfiguration", hash, "certificateKey: " + tc.in.Secrets.CertificateKey}},
		{"vm/workers-0", []string{"kind: JoinConfiguration", hash, "node-labels: workload=general"}},
	}
	for _, tt := range tests {
		data := customData(t, g.Node(tt.key))
		for _, w := range tt.want {
			if !strings.Contains(data, w) {
				t.Errorf("%s lacks %q", tt.key, w)
			}
		}
		if tt.key == "vm/workers-0" && bytes.Contains([]byte(data), []byte("certificateKey")) {
			t.Error("a worker got the certificate key")
		}
	}
}

func TestOSDiskID(t *testing.T) {
	for in, want := range map[string]string{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/c1-cp-0": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/c1-cp-0_OSDisk",
		"/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm":      "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Compute/disks/vm_OSDisk",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/x":    "",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic":   "",
	} {
		if got := OSDiskID(in); got != want {
			t.Errorf("OSDiskID(%s) = %q, want %q", in, got, want)
		}
	}
}
