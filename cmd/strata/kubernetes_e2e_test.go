package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/kube"
)

// emulatorAdmin talks to a quickstart's emulator: its admin API and, as a service principal
// it adds, its Resource Manager.
type emulatorAdmin struct {
	url, token string
	http       *http.Client
}

func newEmulatorAdmin(t *testing.T, dataDir, url string) *emulatorAdmin {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(dataDir, "emulator", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dataDir, "emulator", "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &emulatorAdmin{url: url, token: strings.TrimSpace(string(token)),
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

// do sends an admin request and decodes the JSON answer into out.
func (a *emulatorAdmin) do(t *testing.T, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// resources returns the emulated cloud's resources of a type (any casing) whose name starts
// with prefix.
func (a *emulatorAdmin) resources(t *testing.T, typ, prefix string) []map[string]any {
	t.Helper()
	var inv struct {
		Resources []struct {
			ID, Type string
			Body     map[string]any
		}
	}
	a.do(t, http.MethodGet, "/_emulator/inventory", nil, &inv)
	var out []map[string]any
	for _, r := range inv.Resources {
		name := r.ID[strings.LastIndex(r.ID, "/")+1:]
		if strings.EqualFold(r.Type, typ) && strings.HasPrefix(name, prefix) {
			r.Body["id"] = r.ID
			out = append(out, r.Body)
		}
	}
	return out
}

// controlPlanes lists the emulator's running control planes.
func (a *emulatorAdmin) controlPlanes(t *testing.T) []kube.Info {
	t.Helper()
	var info struct{ Clusters []kube.Info }
	a.do(t, http.MethodGet, "/_emulator/kubernetes", nil, &info)
	return info.Clusters
}

// principal adds a service principal named clientID to the emulator's tenant and returns its
// credential and the client options that reach the emulator's Resource Manager.
func (a *emulatorAdmin) principal(t *testing.T, clientID string) (azcore.TokenCredential, *azarm.ClientOptions) {
	t.Helper()
	var info struct{ Principals []struct{ TenantID string } }
	a.do(t, http.MethodGet, "/_emulator/info", nil, &info)
	tenant, secret := info.Principals[0].TenantID, clientID+"-secret"
	a.do(t, http.MethodPost, "/_emulator/principals", map[string]string{"tenantId": tenant, "clientId": clientID, "secret": secret}, nil)
	cfg := cloud.Configuration{ActiveDirectoryAuthorityHost: a.url + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: a.url, Audience: "https://management.core.windows.net/"}}}
	opts := azcore.ClientOptions{Cloud: cfg, Transport: a.http}
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred, &azarm.ClientOptions{ClientOptions: opts}
}

// vmClient is a Resource Manager client of the emulator as a principal the test adds.
func (a *emulatorAdmin) vmClient(t *testing.T, subscription string) *armcompute.VirtualMachinesClient {
	t.Helper()
	cred, opts := a.principal(t, "kubernetes-e2e")
	c, err := armcompute.NewVirtualMachinesClient(subscription, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kubeClient is a client-go client of a cluster, from the admin kubeconfig strata serves.
func kubeClient(t *testing.T, server, cluster string) kubernetes.Interface {
	t.Helper()
	r := strata(t, server, "", "kubeconfig", cluster, "--admin")
	if r.Code != 0 {
		t.Fatalf("strata kubeconfig %s --admin: %s", cluster, r)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(r.Stdout))
	if err != nil {
		t.Fatalf("the kubeconfig of %s: %v", cluster, err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

// eventually polls cond every half second until it returns nil, failing after limit with its
// last error. limit bounds a hang; it is no measure of speed.
func eventually(t *testing.T, limit time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, limit, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestKubernetesEndToEnd runs quickstart with real Kubernetes in its embedded emulator and
// checks, through the kubeconfigs strata serves and client-go, that each example cluster's
// API server is real and its nodes are the VMs and pools in Azure; that a Deployment becomes
// Available; that scaling an AKS pool (day 2) changes the nodes; that a VM deleted in Azure
// turns its Node NotReady; and that deleting a cluster stops its API server.
func TestKubernetesEndToEnd(t *testing.T) {
	bin := kube.DefaultBinDir()
	if err := kube.CheckBinaries(bin); err != nil {
		t.Fatalf("real Kubernetes: %v", err)
	}
	dataDir, addr := t.TempDir(), freeAddress(t)
	server := "https://" + addr
	q := startQuickstart(t, exec.Command(strataBin, "quickstart", "--data-dir", dataDir, "--listen", addr, "--kubernetes-bin", bin))
	q.waitFor(t, q.running, "every example cluster was Running", 6*time.Minute)
	q.waitFor(t, q.serving, "quickstart serves", time.Minute)
	if !strings.Contains(q.out.String(), "strata --server "+server+" kubeconfig iaas-dynamic --admin > iaas-dynamic.kubeconfig && kubectl --kubeconfig iaas-dynamic.kubeconfig get nodes -o wide") {
		t.Errorf("quickstart printed no kubectl command for iaas-dynamic:\n%s", q.out)
	}
	em := newEmulatorAdmin(t, dataDir, q.emulatorURL(t))
	for _, name := range exampleClusters {
		nodes, err := kubeClient(t, server, name).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("get nodes of %s: %v", name, err)
		}
		if len(nodes.Items) == 0 {
			t.Fatalf("%s has no nodes", name)
		}
		for _, n := range nodes.Items {
			if !ready(n) {
				t.Errorf("%s: node %s is not Ready", name, n.Name)
			}
		}
	}

	t.Run("every cluster's agent is connected and its layers ready", func(t *testing.T) { checkAgents(t, server) })
	t.Run("the gateway's proxy reaches the labelled pods only", func(t *testing.T) {
		checkProxyInjection(t, kubeClient(t, server, "iaas-static"))
	})
	iaas := kubeClient(t, server, "iaas-dynamic")
	t.Run("IaaS nodes are the VMs", func(t *testing.T) { checkIaaSNodes(t, em, iaas) })
	aks := kubeClient(t, server, "aks-prod")
	t.Run("AKS nodes are the pools", func(t *testing.T) { checkAKSNodes(t, em, aks, 2) })
	t.Run("a Deployment becomes Available", func(t *testing.T) { checkDeployment(t, iaas) })
	t.Run("scaling an AKS pool changes its nodes", func(t *testing.T) {
		editCluster(t, server, "aks-prod", func(c *v1alpha1.Cluster) {
			for i := range c.Spec.MachinePools {
				if p := &c.Spec.MachinePools[i]; p.Name == "system" { // user autoscales: its count is the autoscaler's
					p.Count, p.Min, p.Max = 3, new(3), new(3)
				}
			}
		})
		eventually(t, 3*time.Minute, "pool system with 3 Ready nodes", func() error {
			return poolNodes(aks, "system", 3)
		})
		checkAKSNodes(t, em, aks, 3)
	})
	t.Run("a VM deleted in Azure makes its Node NotReady", func(t *testing.T) { checkVMDeleted(t, em, iaas) })
	t.Run("deleting a cluster stops its API server", func(t *testing.T) { checkClusterDeleted(t, em, server) })
	if err := q.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("quickstart exited with %v after SIGTERM\nstderr:\n%s", err, q.logs)
	}
}

// checkAgents asserts that each example cluster's agent runs in it (a strata agent process
// of the emulator's node simulator) and is connected, with its layers ready: a condition of
// Running, which the clusters are.
func checkAgents(t *testing.T, server string) {
	c, err := clientFor(server)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range exampleClusters {
		obj, err := c.Get(context.Background(), v1alpha1.KindCluster, name)
		if err != nil {
			t.Fatal(err)
		}
		st := obj.(*v1alpha1.Cluster).Status
		for _, typ := range []string{"AgentConnected", "LayersReady"} {
			if cond := v1alpha1.FindCondition(&st.Status, typ); cond == nil || cond.Status != "True" {
				t.Errorf("%s: condition %s is %+v, want True", name, typ, cond)
			}
		}
		if st.Agent == nil || !st.Agent.Connected || st.Agent.KubernetesVersion != kube.Version {
			t.Errorf("%s: status.agent %+v, want connected from Kubernetes %s", name, st.Agent, kube.Version)
		}
		pods, err := kubeClient(t, server, name).CoreV1().Pods("strata-system").List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=strata-agent"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning {
			t.Errorf("%s: %d agent pods, want one Running", name, len(pods.Items))
		}
	}
}

// checkProxyInjection asserts that, in the cluster bound to corp-gateway (the examples'
// cluster-iaas-static.yaml with profile-proxy-demo.yaml), the pod labelled
// spectrocloud.com/connection: proxy carries the gateway's proxy in all six variables, with
// NO_PROXY holding the gateway's list and what the cluster needs, and the other pod none.
func checkProxyInjection(t *testing.T, c kubernetes.Interface) {
	const proxy = "http://proxy.corp.example.com:3128"
	env := func(app string) map[string]string {
		pods, err := c.CoreV1().Pods("proxy-demo").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("pods of %s: %d, %v", app, len(pods.Items), err)
		}
		vars := map[string]string{}
		for _, e := range pods.Items[0].Spec.Containers[0].Env {
			vars[e.Name] = e.Value
		}
		return vars
	}
	with := env("with-proxy")
	for _, name := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		if with[name] != proxy {
			t.Errorf("with-proxy: %s = %q, want %q", name, with[name], proxy)
		}
	}
	noProxy := strings.Split(with["NO_PROXY"], ",")
	for _, want := range []string{"169.254.169.254", "168.63.129.16", ".svc", ".cluster.local", "10.0.0.0/8", ".azure.com",
		"172.16.0.0/16", "10.96.0.0/12", "10.10.0.0/24", "10.10.1.0/24"} {
		if !slices.Contains(noProxy, want) {
			t.Errorf("with-proxy: NO_PROXY %q lacks %s", with["NO_PROXY"], want)
		}
	}
	if with["no_proxy"] != with["NO_PROXY"] {
		t.Errorf("with-proxy: no_proxy %q, NO_PROXY %q", with["no_proxy"], with["NO_PROXY"])
	}
	if without := env("without-proxy"); len(without) != 0 {
		t.Errorf("without-proxy carries %v, want no variable", without)
	}
}

// checkIaaSNodes asserts that the cluster's nodes are its VMs in Azure: names, zones,
// instance types, providerIDs, and the control-plane taint.
func checkIaaSNodes(t *testing.T, em *emulatorAdmin, c kubernetes.Interface) {
	vms := em.resources(t, "Microsoft.Compute/virtualMachines", "iaas-dynamic-")
	if len(vms) != 6 {
		t.Fatalf("%d VMs of iaas-dynamic in Azure, want 3 control-plane and 3 workers", len(vms))
	}
	nodes, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != len(vms) {
		t.Fatalf("%d nodes, want one per VM (%d)", len(nodes.Items), len(vms))
	}
	zones := map[string]bool{}
	for _, vm := range vms {
		id := field(vm, "id").(string)
		name := strings.ToLower(id[strings.LastIndex(id, "/")+1:])
		i := slices.IndexFunc(nodes.Items, func(n corev1.Node) bool { return n.Name == name })
		if i < 0 {
			t.Errorf("no node for VM %s", name)
			continue
		}
		n := nodes.Items[i]
		zone := "westeurope-" + vm["zones"].([]any)[0].(string)
		zones[zone] = true
		checkLabels(t, n, map[string]string{"topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "westeurope",
			"node.kubernetes.io/instance-type": field(vm, "properties", "hardwareProfile", "vmSize").(string)})
		if !strings.EqualFold(n.Spec.ProviderID, "azure://"+id) {
			t.Errorf("node %s: providerID %q, want azure://%s", name, n.Spec.ProviderID, id)
		}
		cp := slices.ContainsFunc(n.Spec.Taints, func(x corev1.Taint) bool { return x.Key == "node-role.kubernetes.io/control-plane" })
		if cp != strings.Contains(name, "control-plane") {
			t.Errorf("node %s: control-plane taint %v", name, cp)
		}
		if !ready(n) {
			t.Errorf("node %s is not Ready", name)
		}
	}
	if len(zones) != 3 {
		t.Errorf("nodes over zones %v, want 3", zones)
	}
}

// checkAKSNodes asserts that each pool of aks-prod has its count of nodes (system: systems),
// in the pool's zones, of its VM size, with the pool's label and a scale set providerID.
func checkAKSNodes(t *testing.T, em *emulatorAdmin, c kubernetes.Interface, systems int) {
	pools := em.resources(t, "Microsoft.ContainerService/managedClusters/agentPools", "")
	nodes, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range pools {
		id := field(p, "id").(string)
		if !strings.Contains(strings.ToLower(id), "/managedclusters/aks-prod/") {
			continue
		}
		name := id[strings.LastIndex(id, "/")+1:]
		props := p["properties"].(map[string]any)
		count := int(props["count"].(float64))
		if name == "system" && count != systems {
			t.Errorf("pool system has count %d in Azure, want %d", count, systems)
		}
		total += count
		got := 0
		for _, n := range nodes.Items {
			if n.Labels["kubernetes.azure.com/agentpool"] != name {
				continue
			}
			got++
			checkLabels(t, n, map[string]string{"node.kubernetes.io/instance-type": props["vmSize"].(string)})
			zone := strings.TrimPrefix(n.Labels["topology.kubernetes.io/zone"], "westeurope-")
			if !slices.Contains(props["availabilityZones"].([]any), any(zone)) {
				t.Errorf("node %s in zone %s, not one of pool %s's %v", n.Name, zone, name, props["availabilityZones"])
			}
			if !strings.Contains(n.Spec.ProviderID, "/virtualMachineScaleSets/aks-"+name+"-") {
				t.Errorf("node %s: providerID %q is not of pool %s's scale set", n.Name, n.Spec.ProviderID, name)
			}
		}
		if got != count {
			t.Errorf("pool %s: %d nodes, want %d", name, got, count)
		}
	}
	if total == 0 || len(nodes.Items) != total {
		t.Errorf("%d nodes, want %d (the pools' counts)", len(nodes.Items), total)
	}
}

func checkLabels(t *testing.T, n corev1.Node, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if n.Labels[k] != v {
			t.Errorf("node %s: label %s=%q, want %q", n.Name, k, n.Labels[k], v)
		}
	}
}

func ready(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// poolNodes checks that pool has want nodes, all Ready.
func poolNodes(c kubernetes.Interface, pool string, want int) error {
	nodes, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "kubernetes.azure.com/agentpool=" + pool})
	if err != nil {
		return err
	}
	n := 0
	for _, node := range nodes.Items {
		if ready(node) {
			n++
		}
	}
	if len(nodes.Items) != want || n != want {
		return fmt.Errorf("%d nodes, %d Ready", len(nodes.Items), n)
	}
	return nil
}

// checkDeployment creates a Deployment of 3 replicas, waits until it is Available, scales it
// to 1 and waits until 1 pod is left.
func checkDeployment(t *testing.T, c kubernetes.Interface) {
	ctx := context.Background()
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
	if _, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "3 available replicas", func() error {
		got, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.AvailableReplicas != 3 {
			return fmt.Errorf("%d available", got.Status.AvailableReplicas)
		}
		return nil
	})
	scale, err := c.AppsV1().Deployments("default").GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 1
	if _, err := c.AppsV1().Deployments("default").UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "one pod left", func() error {
		pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		if len(pods.Items) != 1 {
			return fmt.Errorf("%d pods", len(pods.Items))
		}
		return nil
	})
}

// checkVMDeleted deletes a worker VM in Azure and waits until its Node is not Ready.
func checkVMDeleted(t *testing.T, em *emulatorAdmin, c kubernetes.Interface) {
	vms := em.resources(t, "Microsoft.Compute/virtualMachines", "iaas-dynamic-workers-2")
	if len(vms) != 1 {
		t.Fatalf("%d VMs iaas-dynamic-workers-2", len(vms))
	}
	id := field(vms[0], "id").(string)
	parts := strings.Split(id, "/")
	vmc := em.vmClient(t, parts[2])
	ctx := context.Background()
	poller, err := vmc.BeginDelete(ctx, parts[4], parts[len(parts)-1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "node iaas-dynamic-workers-2 NotReady or gone", func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, "iaas-dynamic-workers-2", metav1.GetOptions{})
		if err == nil && ready(*n) {
			return fmt.Errorf("still Ready")
		}
		return nil
	})
}

// checkClusterDeleted deletes aks-prod through strata and waits until its API server's
// processes are gone and the emulator no longer lists its control plane.
func checkClusterDeleted(t *testing.T, em *emulatorAdmin, server string) {
	var pids []int
	for _, cp := range em.controlPlanes(t) {
		if cp.Name == "aks-prod" {
			pids = cp.PIDs
		}
	}
	if len(pids) == 0 {
		t.Fatalf("no control plane of aks-prod in %+v", em.controlPlanes(t))
	}
	if r := strata(t, server, "", "delete", "cluster", "aks-prod"); r.Code != 0 {
		t.Fatalf("strata delete cluster aks-prod: %s", r)
	}
	eventually(t, 3*time.Minute, "aks-prod's control plane gone", func() error {
		for _, cp := range em.controlPlanes(t) {
			if cp.Name == "aks-prod" {
				return fmt.Errorf("still listed: %+v", cp)
			}
		}
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("process %d still runs", pid)
			}
		}
		return nil
	})
}
