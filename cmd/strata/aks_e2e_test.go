package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// seedAdminGroup replaces the seed's "<id>" placeholder in testdata/seed.
const seedAdminGroup = "6a4f0d8e-3b2c-4e1f-9a7d-5c8b2e0f1a34"

// aksProfileYAML is an AKS profile whose kubernetes layer's values are a seed block, verbatim
// but for the group placeholder, and the example's network layer.
func aksProfileYAML(t *testing.T, name, block string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seed", block+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	values := strings.ReplaceAll(string(data), "<id>", seedAdminGroup)
	return `apiVersion: strata.dev/v1alpha1
kind: ClusterProfile
metadata:
  name: ` + name + `
spec:
  version: 1.0.0
  cloud: aks
  type: infra
  layers:
    - name: kubernetes
      type: kubernetes
      version: 1.30.9
      values: |
` + indent(values, "        ") + `    - name: azure-cni
      type: network
      version: 1.6.3
      values: |
        networkPlugin: azure
        networkPolicy: calico
`
}

func indent(s, prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(prefix + line)
	}
	return b.String()
}

// aksClusterYAML is an AKS cluster of a profile, with kubernetes-layer overrides and an
// optional static placement block.
func aksClusterYAML(t *testing.T, name, subscription, rg, profile, overrides, placement string) string {
	t.Helper()
	values := ""
	if overrides != "" {
		values = "      values:\n        kubernetes: |\n" + indent(overrides, "          ")
	}
	return `apiVersion: strata.dev/v1alpha1
kind: Cluster
metadata:
  name: ` + name + `
spec:
  cloudAccount: emulator
  profiles:
    - name: ` + profile + `
      version: 1.0.0
` + values + `  tags:
    - department:finance
  azure:
    type: aks
    subscriptionID: ` + subscription + `
    resourceGroup: ` + rg + `
    location: westeurope
    ` + sshKeyLine(t) + `
` + placement + `  machinePools:
    - name: system
      system: true
      count: 1
      instanceType: Standard_D4s_v5
      zones: ["1", "2", "3"]
    - name: user
      count: 1
      min: 1
      max: 5
      instanceType: Standard_D4s_v5
`
}

// managedClusterBody is the emulator's body of the managed cluster in rg.
func managedClusterBody(env *emulatortest.Env, rg string) map[string]any {
	for _, r := range env.Emulator.Engine().Snapshot().Resources {
		if strings.EqualFold(r.Type, "Microsoft.ContainerService/managedClusters") && strings.Contains(strings.ToLower(r.ID), "/resourcegroups/"+rg+"/") {
			return r.Body
		}
	}
	return nil
}

func field(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// userNetwork makes a user's VNet, subnets and NSGs for static placement and returns their
// IDs.
func userNetwork(t *testing.T, env *emulatortest.Env, rg string) []string {
	t.Helper()
	ctx := context.Background()
	env.ResourceGroup(t, rg)
	nf, err := armnetwork.NewClientFactory(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	poll := &runtime.PollUntilDoneOptions{Frequency: 20 * time.Millisecond}
	loc := to.Ptr(env.Location)
	var ids []string
	nsgs := map[string]string{}
	for _, name := range []string{"aks-cp-nsg", "aks-node-nsg"} {
		p, err := nf.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, rg, name, armnetwork.SecurityGroup{Location: loc}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatal(err)
		}
		nsgs[name] = *r.ID
		ids = append(ids, *r.ID)
	}
	vp, err := nf.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rg, "corp-vnet", armnetwork.VirtualNetwork{Location: loc,
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.10.0.0/16")}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	vnet, err := vp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, *vnet.ID)
	for _, s := range []struct{ name, cidr, nsg string }{{"aks-cp-subnet", "10.10.0.0/24", "aks-cp-nsg"}, {"aks-node-subnet", "10.10.16.0/20", "aks-node-nsg"}} {
		p, err := nf.NewSubnetsClient().BeginCreateOrUpdate(ctx, rg, "corp-vnet", s.name, armnetwork.Subnet{
			Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr(s.cidr), NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: to.Ptr(nsgs[s.nsg])}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *r.ID)
	}
	return ids
}

const staticPlacementYAML = `    placement:
      resourceGroup: corp-network-rg
      virtualNetwork: corp-vnet
      cidr: 10.10.0.0/16
      controlPlaneSubnet: {name: aks-cp-subnet, cidr: 10.10.0.0/24, securityGroup: aks-cp-nsg}
      workerSubnet: {name: aks-node-subnet, cidr: 10.10.16.0/20, securityGroup: aks-node-nsg}
`

// TestServerProvisionsAKS runs the real `strata server` against the emulator with the seed's
// two managedControlPlane examples: the Standard/managed one in a network strata creates, the
// Free/unmanaged one in the user's VNet. Invalid values are refused before anything reaches
// Azure; every upgrade channel round-trips with one PUT each; the kubeconfig comes from Azure
// and never reaches the logs; deletion removes the managed clusters and strata's network only.
func TestServerProvisionsAKS(t *testing.T) {
	env := emulatortest.Start(t)
	for _, rg := range []string{"aks-std-rg", "aks-free-rg"} {
		env.ResourceGroup(t, rg)
	}
	userIDs := userNetwork(t, env, "corp-network-rg")
	snapshot := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range env.Emulator.Engine().Snapshot().Resources {
			for _, id := range userIDs {
				if strings.EqualFold(r.ID, id) {
					out[id] = r.Body
				}
			}
		}
		return out
	}
	userBefore := snapshot()

	dataDir := t.TempDir()
	srv := newRestartableServer(t, "server", []string{"--data-dir", dataDir}, nil)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	apply := func(name, body string) result {
		return strata(t, srv.URL, "", "apply", "-f", write(name, body))
	}
	for name, body := range map[string]string{
		"account.yaml":  env.Emulator.CloudAccountYAML("emulator"),
		"standard.yaml": aksProfileYAML(t, "aks-standard", "standard-managed"),
		"free.yaml":     aksProfileYAML(t, "aks-free", "free-unmanaged"),
	} {
		if r := apply(name, body); r.Code != 0 {
			t.Fatalf("apply %s: %s", name, r)
		}
	}

	// The account's check (the controller's own Azure requests) is over before counting.
	waitAccountChecked(t, srv.URL, "emulator")
	t.Run("invalid values are refused with the field path and nothing reaches Azure", func(t *testing.T) {
		_, before := env.Requests(t, "", "")
		cases := []struct{ name, body, path string }{
			{"sku Premium", aksClusterYAML(t, "bad-sku", env.SubscriptionID, "aks-std-rg", "aks-standard", "managedControlPlane:\n  sku: Premium\n", ""),
				`spec.profiles[0].values["kubernetes"].managedControlPlane.sku`},
			{"upgrade channel weekly", aksClusterYAML(t, "bad-channel", env.SubscriptionID, "aks-std-rg", "aks-standard", "managedControlPlane:\n  autoUpgradeProfile:\n    upgradeChannel: weekly\n", ""),
				`spec.profiles[0].values["kubernetes"].managedControlPlane.autoUpgradeProfile.upgradeChannel`},
			{"managed without admin groups", aksClusterYAML(t, "bad-aad", env.SubscriptionID, "aks-std-rg", "aks-free", "managedControlPlane:\n  aadProfile:\n    managed: true\n    adminGroupObjectIDs: []\n", ""),
				`spec.profiles[0].values["kubernetes"].managedControlPlane.aadProfile.adminGroupObjectIDs`},
			{"profile with sku Premium", strings.Replace(aksProfileYAML(t, "bad-profile", "standard-managed"), "sku: Standard", "sku: Premium", 1),
				`spec.layers[0].values.managedControlPlane.sku`},
		}
		for _, c := range cases {
			r := apply("invalid.yaml", c.body)
			if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, c.path) {
				t.Errorf("%s: want a refusal naming %s, got %s", c.name, c.path, r)
			}
		}
		if r := strata(t, srv.URL, "", "get", "clusters"); strings.Contains(r.Stdout, "bad-") {
			t.Errorf("a refused cluster was stored: %s", r)
		}
		time.Sleep(500 * time.Millisecond) // a controller pass, had anything been stored
		if _, after := env.Requests(t, "", ""); after != before {
			t.Errorf("%d ARM requests reached the emulator for refused objects", after-before)
		}
	})

	if r := apply("std.yaml", aksClusterYAML(t, "aks-std", env.SubscriptionID, "aks-std-rg", "aks-standard", "", "")); r.Code != 0 {
		t.Fatalf("apply aks-std: %s", r)
	}
	if r := apply("free.yaml", aksClusterYAML(t, "aks-free", env.SubscriptionID, "aks-free-rg", "aks-free", "", staticPlacementYAML)); r.Code != 0 {
		t.Fatalf("apply aks-free: %s", r)
	}
	phases := waitRunning(t, srv.URL, []string{"aks-std", "aks-free"}, 90*time.Second, srv.logs)

	t.Run("the seed's examples give their SKU tier, Entra ID and upgrade profile", func(t *testing.T) {
		std, free := managedClusterBody(env, "aks-std-rg"), managedClusterBody(env, "aks-free-rg")
		if field(std, "sku", "tier") != "Standard" || field(std, "properties", "aadProfile", "managed") != true ||
			!reflect.DeepEqual(field(std, "properties", "aadProfile", "adminGroupObjectIDs"), []any{seedAdminGroup}) {
			t.Errorf("Standard/managed: sku %v aadProfile %v", field(std, "sku"), field(std, "properties", "aadProfile"))
		}
		if field(free, "sku", "tier") != "Free" || field(free, "properties", "aadProfile") != nil {
			t.Errorf("Free/unmanaged: sku %v aadProfile %v", field(free, "sku"), field(free, "properties", "aadProfile"))
		}
		for name, body := range map[string]map[string]any{"aks-std": std, "aks-free": free} {
			if ch := field(body, "properties", "autoUpgradeProfile", "upgradeChannel"); ch != nil {
				t.Errorf("%s: upgrade channel %v, but its block sets none", name, ch)
			}
			st := phases[name].Status.ManagedControlPlane
			if st == nil || st.SKUTier != field(body, "sku", "tier") || st.KubernetesVersion != "1.30.9" || st.PowerState != "Running" ||
				phases[name].Status.ControlPlaneEndpoint != st.FQDN+":443" {
				t.Errorf("%s: status %+v, endpoint %q", name, st, phases[name].Status.ControlPlaneEndpoint)
			}
		}
		for _, r := range env.Emulator.Engine().Snapshot().Resources {
			if strings.EqualFold(r.Type, "Microsoft.ContainerService/managedClusters/agentPools") && strings.Contains(strings.ToLower(r.ID), "/aks-free/") {
				if sub, _ := field(r.Body, "properties", "vnetSubnetID").(string); !strings.HasSuffix(strings.ToLower(sub), "/virtualnetworks/corp-vnet/subnets/aks-node-subnet") {
					t.Errorf("static pool %s in subnet %q", r.ID, sub)
				}
			}
		}
	})

	t.Run("every upgrade channel round-trips with one PUT each", func(t *testing.T) {
		cl, err := clientFor(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range v1alpha1.AKSUpgradeChannels {
			puts, _ := env.Requests(t, http.MethodPut, "Microsoft.ContainerService/managedClusters")
			if r := apply("std.yaml", aksClusterYAML(t, "aks-std", env.SubscriptionID, "aks-std-rg", "aks-standard",
				"managedControlPlane:\n  autoUpgradeProfile:\n    upgradeChannel: "+ch+"\n", "")); r.Code != 0 {
				t.Fatalf("apply channel %s: %s", ch, r)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				obj, err := cl.Get(context.Background(), v1alpha1.KindCluster, "aks-std")
				if err == nil {
					c := obj.(*v1alpha1.Cluster)
					if c.Status.ObservedGeneration == c.Metadata.Generation && c.Status.Phase == "Running" &&
						c.Status.ManagedControlPlane != nil && c.Status.ManagedControlPlane.UpgradeChannel == ch {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("channel %s not reported in 30s: %v", ch, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got := field(managedClusterBody(env, "aks-std-rg"), "properties", "autoUpgradeProfile", "upgradeChannel"); got != ch {
				t.Errorf("Azure holds channel %v, want %s", got, ch)
			}
			if after, _ := env.Requests(t, http.MethodPut, "Microsoft.ContainerService/managedClusters"); after-puts != 1 {
				t.Errorf("channel %s: %d managed cluster PUTs, want 1", ch, after-puts)
			}
		}
	})

	var secrets []string
	t.Run("kubeconfig from Azure, never logged", func(t *testing.T) {
		for _, args := range [][]string{{"kubeconfig", "aks-std"}, {"kubeconfig", "aks-free", "--admin"}} {
			r := strata(t, srv.URL, "", args...)
			if r.Code != 0 {
				t.Fatalf("%v: %s", args, r)
			}
			var kc struct {
				Clusters []struct {
					Cluster struct {
						Server string `json:"server"`
					} `json:"cluster"`
				} `json:"clusters"`
				Users []struct {
					User map[string]any `json:"user"`
				} `json:"users"`
			}
			if err := yaml.Unmarshal([]byte(r.Stdout), &kc); err != nil || len(kc.Clusters) != 1 || len(kc.Users) != 1 {
				t.Fatalf("%v: not a kubeconfig (%v): %s", args, err, r.Stdout)
			}
			if want := "https://" + phases[args[1]].Status.ManagedControlPlane.FQDN + ":443"; kc.Clusters[0].Cluster.Server != want {
				t.Errorf("%v: server %s, want %s", args, kc.Clusters[0].Cluster.Server, want)
			}
			for _, v := range kc.Users[0].User {
				if s, ok := v.(string); ok && len(s) > 20 {
					secrets = append(secrets, s)
				}
			}
		}
		if len(secrets) == 0 {
			t.Fatal("the kubeconfigs hold no credential to look for")
		}
		for _, s := range secrets {
			if strings.Contains(srv.logs.String(), s) {
				t.Error("a kubeconfig credential is in the server's logs")
			}
		}
	})

	for _, n := range []string{"aks-std", "aks-free"} {
		if r := strata(t, srv.URL, "", "delete", "cluster", n); r.Code != 0 {
			t.Fatalf("delete %s: %s", n, r)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		phases := clusterPhases(srv.URL)
		if phases != nil && len(phases) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clusters still there 90s after delete: %v\nlogs:\n%s", keys(phases), srv.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	byRG := rgResources(env)
	for _, rg := range []string{"aks-std-rg", "aks-free-rg"} {
		for _, r := range byRG[rg] {
			t.Errorf("left behind in %s: %s", rg, r.ID)
		}
		if !resourceGroupExists(env, rg) {
			t.Errorf("resource group %s was deleted", rg)
		}
	}
	if after := snapshot(); !reflect.DeepEqual(userBefore, after) {
		t.Errorf("the user's network changed:\nbefore %v\nafter  %v", userBefore, after)
	}
	for _, s := range secrets {
		filepath.WalkDir(dataDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), s) {
					t.Errorf("a kubeconfig credential is stored in %s", p)
				}
			}
			return nil
		})
	}
}

// waitAccountChecked waits until the controller checked the cloud account (its Valid
// condition is set).
func waitAccountChecked(t *testing.T, server, name string) {
	t.Helper()
	c, err := clientFor(server)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		obj, err := c.Get(context.Background(), v1alpha1.KindCloudAccount, name)
		if err == nil && v1alpha1.FindCondition(obj.GetStatus(), v1alpha1.ConditionValid) != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cloud account %s was not checked in a minute (last error %v)", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
