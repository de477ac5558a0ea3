package cli

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// fields splits each line of a table into its whitespace-separated cells.
func fields(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func TestPhase(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name     string
		phase    string
		deleting bool
		want     string
	}{
		{"no status yet", "", false, "<none>"},
		{"running", "Running", false, "Running"},
		{"running, deletion just requested", "Running", true, "Deleting"},
		{"failed, deletion just requested", "Failed", true, "Deleting"},
		{"no status, deletion requested", "", true, "Deleting"},
		{"deleting", "Deleting", true, "Deleting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := &v1alpha1.Cluster{}
			cl.Status.Phase = c.phase
			if c.deleting {
				cl.Metadata.DeletionTimestamp = &now
			}
			if got := phase(cl); got != c.want {
				t.Errorf("phase = %q, want %q", got, c.want)
			}
		})
	}
}

// TestGetWithoutKindListsKinds needs no server: it lists what KIND may be.
func TestGetWithoutKindListsKinds(t *testing.T) {
	code, out, errOut := run(t, "", "--server", closedAddress(t), "get")
	want := [][]string{
		{"NAME", "SHORTNAMES", "KIND"},
		{"clusters", "cl", "Cluster"},
		{"clusterprofiles", "profile,profiles,cp", "ClusterProfile"},
		{"cloudaccounts", "account,accounts,ca", "CloudAccount"},
		{"privatecloudgateways", "gateway,gateways,pcg,pcgs", "PrivateCloudGateway"},
		{"apikeys", "key,keys", "APIKey"},
		{"rolebindings", "binding,bindings", "RoleBinding"},
		{"teams", "Team"},
		{"users", "User"},
		{"tagfilters", "filter,filters", "TagFilter"},
		{"roles", "Role"},
	}
	got := fields(out)
	if code != 0 || errOut != "" || len(got) != len(want) {
		t.Fatalf("strata get: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for i := range want {
		if strings.Join(got[i], " ") != strings.Join(want[i], " ") {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestGetWide(t *testing.T) {
	srv, st := apiServer(t)
	applyExamples(t, srv, "gateway.yaml", "cloudaccount.yaml", "cloudaccount-corp.yaml", "profile-iaas.yaml", "profile-proxy-demo.yaml", "cluster-iaas-dynamic.yaml", "cluster-iaas-static.yaml")
	setClusterStatus(t, st, "iaas-dynamic", func(c *v1alpha1.Cluster) {
		c.Status.Phase = "Provisioning"
		c.Status.Progress = &v1alpha1.Progress{Done: 11, Total: 26, Step: "creating nic/control-plane-1"}
		c.Status.ControlPlaneEndpoint = "iaas-dynamic-c82dfffa.westeurope.cloudapp.azure.com:6443"
		c.Status.Kubernetes = &v1alpha1.KubernetesStatus{Version: "v1.37.2", NodesReady: 4, NodesTotal: 6}
	})
	cases := []struct {
		args []string
		want [][]string // rows, AGE cells left out
	}{
		{[]string{"get", "clusters", "-o", "wide"}, [][]string{
			{"NAME", "TYPE", "LOCATION", "PHASE", "AGE", "ACCOUNT", "PROFILES", "PROGRESS", "ENDPOINT", "KUBERNETES", "NODES"},
			{"iaas-dynamic", "iaas", "westeurope", "Provisioning", "azure-prod", "iaas-base@1.0.0", "11/26",
				"iaas-dynamic-c82dfffa.westeurope.cloudapp.azure.com:6443", "v1.37.2", "4/6"},
			{"iaas-static", "iaas", "westeurope", "<none>", "azure-corp", "iaas-base@1.0.0,proxy-demo@1.0.0", "<none>", "<none>", "<none>", "<none>"},
		}},
		{[]string{"get", "accounts", "-o", "wide"}, [][]string{
			{"NAME", "ENVIRONMENT", "TENANT", "GATEWAY", "VALID", "SUBSCRIPTIONS", "AGE", "CLIENT", "ID"},
			{"azure-corp", "AzurePublicCloud", "0c263486-ca8b-474c-81ef-346c7ebeea82", "corp-gateway", "Unknown", "<none>", "0074ad29-0377-473f-8280-fc6c8872b24d"},
			{"azure-prod", "AzurePublicCloud", "0c263486-ca8b-474c-81ef-346c7ebeea82", "<none>", "Unknown", "<none>", "0074ad29-0377-473f-8280-fc6c8872b24d"},
		}},
		{[]string{"get", "profiles", "-o", "wide"}, [][]string{
			{"NAME", "VERSION", "CLOUD", "TYPE", "LAYERS", "AGE", "LAYER", "NAMES"},
			{"iaas-base", "1.0.0", "azure", "infra", "4", "ubuntu,kubernetes,calico,azure-disk"},
			{"proxy-demo", "1.0.0", "all", "add-on", "1", "proxy-demo"},
		}},
		{[]string{"get", "gateways", "-o", "wide"}, [][]string{
			{"NAME", "PHASE", "REPLICAS", "PROXY", "AGE", "VERSION", "HEARTBEAT", "NETWORK"},
			{"corp-gateway", "<none>", "0", "http://proxy.corp.example.com:3128", "<none>", "<none>", "corp-network-rg/corp-vnet"},
		}},
	}
	for _, c := range cases {
		code, out, errOut := run(t, "", append([]string{"--server", srv}, c.args...)...)
		got := fields(out)
		if code != 0 || len(got) != len(c.want) {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", c.args, code, out, errOut)
			continue
		}
		ageAt := slices.Index(got[0], "AGE") // the headers before AGE are one word each
		for i, row := range got {
			if i > 0 && ageAt > 0 { // drop the AGE cell, whatever it says
				row = append(append([]string{}, row[:ageAt]...), row[ageAt+1:]...)
			}
			if strings.Join(row, " ") != strings.Join(c.want[i], " ") {
				t.Errorf("%v line %d = %q, want %q", c.args, i, row, c.want[i])
			}
		}
	}
}

func TestDescribeEveryObjectOfAKind(t *testing.T) {
	srv, _ := apiServer(t)
	applyExamples(t, srv, "cloudaccount.yaml", "profile-iaas.yaml", "profile-aks.yaml", "cluster-iaas-dynamic.yaml", "cluster-aks.yaml")
	code, out, errOut := run(t, "", "--server", srv, "describe", "clusters")
	if code != 0 || errOut != "" {
		t.Fatalf("describe clusters: exit %d\nstderr:\n%s", code, errOut)
	}
	if strings.Count(out, "\nKind:               Cluster\n") != 2 ||
		!strings.Contains(out, "Name:               aks-prod\n") || !strings.Contains(out, "\n\nName:               iaas-dynamic\n") {
		t.Errorf("describe clusters does not describe both clusters, one after the other:\n%s", out)
	}
	code, out, errOut = run(t, "", "--server", srv, "describe", "gateways")
	if code != 0 || out != "" || errOut != "No resources found.\n" {
		t.Errorf("describe of a kind without objects: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestDescribeClusterStatus(t *testing.T) {
	srv, st := apiServer(t)
	applyExamples(t, srv, "cloudaccount.yaml", "profile-aks.yaml", "cluster-aks.yaml")
	setClusterStatus(t, st, "aks-prod", func(c *v1alpha1.Cluster) {
		c.Status.Phase = "Updating"
		c.Status.ObservedGeneration = 1
		c.Status.Progress = &v1alpha1.Progress{Done: 5, Total: 7, Step: "updating agentpool/user"}
		c.Status.ControlPlaneEndpoint = "aks-prod-47e71229.hcp.eastus2.azmk8s.io:443"
		c.Status.Kubernetes = &v1alpha1.KubernetesStatus{Version: "v1.30.9", NodesReady: 5, NodesTotal: 6}
		c.Status.ManagedControlPlane = &v1alpha1.ManagedControlPlaneStatus{
			KubernetesVersion: "1.30.9", PowerState: "Running", ProvisioningState: "Updating",
			FQDN: "aks-prod-47e71229.hcp.eastus2.azmk8s.io", SKUTier: "Standard", UpgradeChannel: "rapid",
		}
		c.Status.Inventory = []v1alpha1.InventoryItem{
			{Key: "rg", Kind: "resourceGroup", ID: "/subscriptions/s/resourceGroups/finance-aks-rg", Managed: false, Ready: true},
			{Key: "aks", Kind: "managedCluster", ID: "/subscriptions/s/resourceGroups/finance-aks-rg/providers/Microsoft.ContainerService/managedClusters/aks-prod", Managed: true, Ready: true},
			{Key: "pool/user", Kind: "agentPool", ID: "/subscriptions/s/x/agentPools/user", Managed: true, ResumeToken: "token"},
		}
	})
	code, out, errOut := run(t, "", "--server", srv, "describe", "cluster", "aks-prod")
	if code != 0 {
		t.Fatalf("describe: exit %d\nstderr:\n%s", code, errOut)
	}
	want := "Status:\n" +
		"  phase: Updating\n" +
		"  observedGeneration: 1\n" +
		"  progress: 5/7 updating agentpool/user\n" +
		"  controlPlaneEndpoint: aks-prod-47e71229.hcp.eastus2.azmk8s.io:443\n" +
		"  kubernetes: v1.30.9, 5/6 nodes Ready\n" +
		"  managedControlPlane:\n" +
		"    kubernetesVersion: 1.30.9\n" +
		"    powerState: Running\n" +
		"    provisioningState: Updating\n" +
		"    fqdn: aks-prod-47e71229.hcp.eastus2.azmk8s.io\n" +
		"    skuTier: Standard\n" +
		"    upgradeChannel: rapid\n" +
		"  inventory: 3 Azure resources, 2 created by strata, 1 adopted (get -o yaml lists them)\n" +
		"Conditions:  <none>\n"
	if !strings.Contains(out, want) {
		t.Errorf("describe lacks\n%s\ngot:\n%s", want, out)
	}
}

// TestDeletingRightAfterDelete deletes a Running cluster that its controller still has to
// clean up (it holds the controller's finalizer; no controller runs here): get and describe
// show it Deleting at once, while -o yaml keeps the status as the controller last wrote it.
func TestDeletingRightAfterDelete(t *testing.T) {
	srv, st := apiServer(t)
	applyExamples(t, srv, "cloudaccount.yaml", "profile-iaas.yaml", "cluster-iaas-dynamic.yaml")
	setClusterStatus(t, st, "iaas-dynamic", func(c *v1alpha1.Cluster) {
		c.Metadata.Finalizers = []string{"strata.dev/azure-resources"}
		c.Status.Phase = "Running"
	})
	code, out, errOut := run(t, "", "--server", srv, "delete", "cluster", "iaas-dynamic")
	if code != 0 || !strings.HasPrefix(out, "cluster/iaas-dynamic marked for deletion") {
		t.Fatalf("delete: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	_, out, _ = run(t, "", "--server", srv, "get", "clusters")
	if rows := fields(out); len(rows) != 2 || rows[1][3] != "Deleting" {
		t.Errorf("get clusters right after delete:\n%s", out)
	}
	_, out, _ = run(t, "", "--server", srv, "describe", "cluster", "iaas-dynamic")
	if !strings.Contains(out, "Status:\n  phase: Deleting\n") || !strings.Contains(out, "Deletion Requested:") {
		t.Errorf("describe right after delete:\n%s", out)
	}
	_, out, _ = run(t, "", "--server", srv, "get", "cluster", "iaas-dynamic", "-o", "yaml")
	if !strings.Contains(out, "deletionTimestamp:") || !strings.Contains(out, "phase: Running") {
		t.Errorf("-o yaml is not the stored object:\n%s", out)
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errOut := run(t, "", "completion", shell)
		if code != 0 || !strings.Contains(out, "strata") || len(out) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes\nstderr:\n%s", shell, code, len(out), errOut)
		}
	}
	srv, _ := apiServer(t)
	applyExamples(t, srv, "gateway.yaml", "cloudaccount.yaml", "cloudaccount-corp.yaml", "profile-iaas.yaml", "profile-aks.yaml", "profile-proxy-demo.yaml", "cluster-iaas-dynamic.yaml", "cluster-iaas-static.yaml")
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"get", ""}, []string{"clusters", "cluster", "clusterprofiles", "clusterprofile", "cloudaccounts", "cloudaccount", "privatecloudgateways", "privatecloudgateway",
			"apikeys", "apikey", "rolebindings", "rolebinding", "teams", "team", "users", "user", "tagfilters", "tagfilter", "roles", "role"}},
		{[]string{"get", "r"}, []string{"rolebindings", "rolebinding", "roles", "role"}},
		{[]string{"describe", "clu"}, []string{"clusters", "cluster", "clusterprofiles", "clusterprofile"}},
		{[]string{"get", "clusters", ""}, []string{"iaas-dynamic", "iaas-static"}},
		{[]string{"delete", "cl", "iaas-dynamic", "iaas-"}, []string{"iaas-static"}},
		{[]string{"describe", "profile", "a"}, []string{"aks-base@1.0.0"}},
		{[]string{"get", "-o", ""}, []string{"table", "wide", "yaml", "json", "name"}},
	}
	cases = append(cases, struct {
		args []string
		want []string
	}{[]string{"--server", closedAddress(t), "get", "clusters", ""}, nil}) // no server: no names, no error
	for _, c := range cases {
		code, out, errOut := run(t, "", append([]string{"--server", srv, "__complete"}, c.args...)...)
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		got := lines[:len(lines)-1] // the last line is cobra's directive, ":4" and the like
		if code != 0 || strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("complete %q: exit %d, got %q, want %q\nstderr:\n%s", c.args, code, got, c.want, errOut)
		}
	}
}
