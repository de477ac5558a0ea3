package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// seedAdminGroup replaces the seed's "<id>" placeholder: the blocks are otherwise verbatim.
const seedAdminGroup = "6a4f0d8e-3b2c-4e1f-9a7d-5c8b2e0f1a34"

// seedProfile is the example AKS profile whose kubernetes layer's values are one of the seed's
// managedControlPlane blocks (testdata/seed at the repository root), verbatim but for the group ID placeholder.
func seedProfile(t *testing.T, block string) *v1alpha1.ClusterProfile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seed", block+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := loadExample[*v1alpha1.ClusterProfile](t, "profile-aks.yaml")
	p.Spec.Layers[0].Values = strings.ReplaceAll(string(data), "<id>", seedAdminGroup)
	if errs := v1alpha1.Validate(t.Context(), p, nil); len(errs) > 0 {
		t.Fatalf("seed block %s: %v", block, errs)
	}
	return p
}

func aksTestCases(t *testing.T) []testCase {
	t.Helper()
	cluster := func() *v1alpha1.Cluster { return loadExample[*v1alpha1.Cluster](t, "cluster-aks.yaml") }
	example := loadExample[*v1alpha1.ClusterProfile](t, "profile-aks.yaml")
	static := cluster()
	static.Metadata.Name = "aks-static"
	static.Spec.Azure.Placement = &v1alpha1.StaticPlacement{
		ResourceGroup: "corp-network-rg", VirtualNetwork: "corp-vnet", CIDR: "10.10.0.0/16",
		ControlPlaneSubnet: &v1alpha1.Subnet{Name: "aks-cp-subnet", CIDR: "10.10.0.0/24", SecurityGroup: "aks-cp-nsg"},
		WorkerSubnet:       &v1alpha1.Subnet{Name: "aks-node-subnet", CIDR: "10.10.16.0/20", SecurityGroup: "aks-node-nsg"},
	}
	// A user pool with every option: taints, max pods, an ephemeral disk, the region's zones.
	static.Spec.MachinePools[1].Zones = nil
	static.Spec.MachinePools[1].MaxPods = new(60)
	static.Spec.MachinePools[1].OSDisk = v1alpha1.OSDisk{SizeGB: 128, Type: "Ephemeral"}
	static.Spec.MachinePools[1].Taints = []v1alpha1.Taint{{Key: "dedicated", Value: "apps", Effect: "NoSchedule"}}
	env := Environment{Zones: map[string][]string{"Standard_D8s_v5": {"3", "1", "2"}}}
	return []testCase{
		{"aks-seed-standard-managed", Input{Cluster: cluster(), Profiles: []*v1alpha1.ClusterProfile{seedProfile(t, "standard-managed")}, Env: env}},
		{"aks-seed-free-unmanaged", Input{Cluster: cluster(), Profiles: []*v1alpha1.ClusterProfile{seedProfile(t, "free-unmanaged")}, Env: env}},
		{"aks-example-static", Input{Cluster: static, Profiles: []*v1alpha1.ClusterProfile{example}, Env: env}},
	}
}

// managedClusterSpec returns the graph's managed cluster body.
func managedClusterSpec(t *testing.T, g *Graph) armcontainerservice.ManagedCluster {
	t.Helper()
	n := g.Node(keyManagedCluster)
	if n == nil {
		t.Fatal("no managed cluster in the graph")
	}
	return n.Spec.(armcontainerservice.ManagedCluster)
}

// TestAKSSeedExamples checks what each seed block must give, beyond the goldens: the SKU
// tier, Entra ID integration and upgrade channel of the managed cluster.
func TestAKSSeedExamples(t *testing.T) {
	tests := []struct {
		block       string
		tier        armcontainerservice.ManagedClusterSKUTier
		managedAAD  bool
		upgradeChan string // "" when the block sets none
	}{
		{"standard-managed", armcontainerservice.ManagedClusterSKUTierStandard, true, ""},
		{"free-unmanaged", armcontainerservice.ManagedClusterSKUTierFree, false, ""},
		{"upgrade-rapid", armcontainerservice.ManagedClusterSKUTierFree, false, "rapid"},
	}
	for _, tt := range tests {
		t.Run(tt.block, func(t *testing.T) {
			in := Input{Cluster: loadExample[*v1alpha1.Cluster](t, "cluster-aks.yaml"),
				Profiles: []*v1alpha1.ClusterProfile{seedProfile(t, tt.block)}}
			mc := managedClusterSpec(t, build(t, in))
			if *mc.SKU.Name != armcontainerservice.ManagedClusterSKUNameBase || *mc.SKU.Tier != tt.tier {
				t.Errorf("sku = %s/%s, want Base/%s", *mc.SKU.Name, *mc.SKU.Tier, tt.tier)
			}
			aad := mc.Properties.AADProfile
			switch {
			case tt.managedAAD && (aad == nil || !*aad.Managed || !*aad.EnableAzureRBAC || len(aad.AdminGroupObjectIDs) != 1 || *aad.AdminGroupObjectIDs[0] != seedAdminGroup):
				t.Errorf("aadProfile = %+v, want managed with Azure RBAC and group %s", aad, seedAdminGroup)
			case !tt.managedAAD && aad != nil:
				t.Errorf("aadProfile = %+v, want none: managed false leaves Entra ID integration off", aad)
			}
			if *mc.Properties.DisableLocalAccounts {
				t.Error("local accounts disabled, but the block does not ask for it")
			}
			up := mc.Properties.AutoUpgradeProfile
			switch {
			case tt.upgradeChan == "" && up != nil:
				t.Errorf("autoUpgradeProfile = %+v, want none", up)
			case tt.upgradeChan != "" && (up == nil || string(*up.UpgradeChannel) != tt.upgradeChan):
				t.Errorf("autoUpgradeProfile = %+v, want channel %s", up, tt.upgradeChan)
			}
		})
	}
}

// TestAKSOptions checks that every managedControlPlane option reaches the managed cluster and
// every pool option its agent pool.
func TestAKSOptions(t *testing.T) {
	for _, ch := range v1alpha1.AKSUpgradeChannels {
		t.Run("channel "+ch, func(t *testing.T) {
			p := loadExample[*v1alpha1.ClusterProfile](t, "profile-aks.yaml")
			p.Spec.Layers[0].Values = "managedControlPlane:\n  autoUpgradeProfile:\n    upgradeChannel: " + ch + "\n"
			mc := managedClusterSpec(t, build(t, Input{Cluster: loadExample[*v1alpha1.Cluster](t, "cluster-aks.yaml"), Profiles: []*v1alpha1.ClusterProfile{p}}))
			if got := string(*mc.Properties.AutoUpgradeProfile.UpgradeChannel); got != ch {
				t.Errorf("channel %s planned as %s", ch, got)
			}
		})
	}
	t.Run("capabilities", func(t *testing.T) {
		p := loadExample[*v1alpha1.ClusterProfile](t, "profile-aks.yaml")
		p.Spec.Layers[0].Values = `managedControlPlane:
  sku: Standard
  aadProfile:
    managed: true
    adminGroupObjectIDs: [` + seedAdminGroup + `]
    disableLocalAccounts: true
  oidcIssuerProfile:
    enabled: true
  securityProfile:
    workloadIdentity:
      enabled: true
  workloadAutoScalerProfile:
    keda:
      enabled: true
  addonProfiles:
    - name: azurepolicy
      enabled: true
pack:
  podCIDR: 172.16.0.0/16
  serviceClusterIpRange: 10.200.0.0/16
`
		c := loadExample[*v1alpha1.Cluster](t, "cluster-aks.yaml")
		c.Spec.Profiles[0].Values = map[string]string{"kubernetes": "managedControlPlane:\n  sku: Free\n"}
		mc := managedClusterSpec(t, build(t, Input{Cluster: c, Profiles: []*v1alpha1.ClusterProfile{p}}))
		pr := mc.Properties
		checks := []struct {
			what string
			ok   bool
		}{
			{"the cluster's override wins: tier Free", *mc.SKU.Tier == armcontainerservice.ManagedClusterSKUTierFree},
			{"local accounts disabled", *pr.DisableLocalAccounts},
			{"OIDC issuer", pr.OidcIssuerProfile != nil && *pr.OidcIssuerProfile.Enabled},
			{"workload identity", pr.SecurityProfile != nil && *pr.SecurityProfile.WorkloadIdentity.Enabled},
			{"KEDA", pr.WorkloadAutoScalerProfile != nil && *pr.WorkloadAutoScalerProfile.Keda.Enabled},
			{"Azure Policy", pr.AddonProfiles["azurepolicy"] != nil && *pr.AddonProfiles["azurepolicy"].Enabled},
			{"pod range", *pr.NetworkProfile.PodCidr == "172.16.0.0/16"},
			{"service range and DNS IP", *pr.NetworkProfile.ServiceCidr == "10.200.0.0/16" && *pr.NetworkProfile.DNSServiceIP == "10.200.0.10"},
			{"the network layer's policy", *pr.NetworkProfile.NetworkPolicy == armcontainerservice.NetworkPolicyCalico},
			{"version without v", *pr.KubernetesVersion == "1.30.9"},
			{"tags", *mc.Tags["department"] == "finance" && *mc.Tags[v1alpha1.TagRole] == RoleControlPlane},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("%s: not planned", c.what)
			}
		}
	})
	t.Run("pools", func(t *testing.T) {
		c := loadExample[*v1alpha1.Cluster](t, "cluster-aks.yaml")
		g := build(t, Input{Cluster: c, Profiles: []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-aks.yaml")}})
		sys := g.Node("pool/system").Spec.(armcontainerservice.AgentPool).Properties
		user := g.Node("pool/user").Spec.(armcontainerservice.AgentPool).Properties
		switch {
		case *sys.Mode != armcontainerservice.AgentPoolModeSystem || *user.Mode != armcontainerservice.AgentPoolModeUser:
			t.Errorf("modes %s, %s", *sys.Mode, *user.Mode)
		case *sys.EnableAutoScaling || sys.MinCount != nil:
			t.Error("the system pool (min = max = count) autoscales")
		case !*user.EnableAutoScaling || *user.MinCount != 1 || *user.MaxCount != 10 || *user.Count != 2:
			t.Errorf("user pool autoscaling %v %v-%v count %v, want 1-10 from 2", *user.EnableAutoScaling, user.MinCount, user.MaxCount, *user.Count)
		case *user.VMSize != "Standard_D8s_v5" || *user.NodeLabels["workload"] != "apps":
			t.Errorf("user pool size %s labels %v", *user.VMSize, user.NodeLabels)
		case !strings.HasSuffix(*user.VnetSubnetID, "/subnets/aks-prod-node-subnet"):
			t.Errorf("user pool subnet %s", *user.VnetSubnetID)
		}
		inline := managedClusterSpec(t, g).Properties.AgentPoolProfiles
		if len(inline) != 2 || *inline[0].Name != "system" || *inline[1].MaxCount != 10 {
			t.Errorf("inline pools of the creation body: %+v", inline)
		}
	})
}

func TestAKSBuildErrors(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   string
	}{
		{"invalid block", "managedControlPlane:\n  sku: Premium\n", "sku"},
		{"pods overlap the vnet", "pack:\n  podCIDR: 10.0.0.0/8\n", "overlaps"},
		{"bad service range", "pack:\n  serviceClusterIpRange: nope\n", "not a CIDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadExample[*v1alpha1.Cluster](t, "cluster-aks.yaml")
			c.Spec.Profiles[0].Values = map[string]string{"kubernetes": tt.values}
			_, err := Build(Input{Cluster: c, Profiles: []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-aks.yaml")}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
