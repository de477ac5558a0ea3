package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// restartableServer is a `strata server` process that a test can SIGKILL and start again on
// the same address, data directory and datastore.
type restartableServer struct {
	t      testing.TB
	name   string
	addr   string
	URL    string
	args   []string
	env    []string
	logs   *syncBuffer
	cmd    *exec.Cmd
	exited chan error
	starts int
	// ca is the server's self-signed certificate, read at its first start.
	ca []byte
}

// newRestartableServer starts `strata server --listen ADDR args...` with env added to the
// environment, waits until it is healthy and stops it with SIGTERM when the test ends.
func newRestartableServer(t testing.TB, name string, args, env []string) *restartableServer {
	t.Helper()
	addr := freeAddress(t)
	s := &restartableServer{t: t, name: name, addr: addr, URL: "https://" + addr, args: args, env: env, logs: &syncBuffer{}}
	s.start()
	t.Cleanup(func() {
		if s.cmd == nil {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			// SIGQUIT: the Go runtime writes every goroutine's stack to the logs, then exits.
			_ = s.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
			t.Errorf("%s did not stop within 20s of SIGTERM", s.name)
		}
		if t.Failed() {
			t.Logf("%s logs:\n%s", s.name, s.logs)
		}
	})
	return s
}

// start starts the process and waits for /healthz.
func (s *restartableServer) start() {
	t := s.t
	t.Helper()
	s.starts++
	// The address of a killed server may be taken for a moment: try again then.
	deadline := time.Now().Add(20 * time.Second)
	for !s.tryStart(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
}

// tryStart starts the process once and waits for /healthz; false when it exited because its
// address was still in use.
func (s *restartableServer) tryStart(deadline time.Time) bool {
	t := s.t
	t.Helper()
	mark := fmt.Sprintf("=== start %d at %s\n", s.starts, time.Now().Format(time.RFC3339Nano))
	fmt.Fprint(s.logs, mark)
	cmd := exec.Command(strataBin, append([]string{"server", "--listen", s.addr, "--check-kubernetes=false"}, s.args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.cmd, s.exited = cmd, exited
	for {
		select {
		case err := <-exited:
			s.cmd = nil
			_, out, _ := strings.Cut(s.logs.String(), mark)
			if strings.Contains(out, "already in use") && time.Now().Before(deadline) {
				return false
			}
			t.Fatalf("%s exited before it was healthy: %v; logs:\n%s", s.name, err, s.logs)
		default:
		}
		s.ca = serverCA(dataDirOf(s.args))
		resp, err := trustingClient(s.ca).Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				_, out, _ := strings.Cut(s.logs.String(), mark)
				if key := apiKeyPattern.FindString(out); key != "" {
					registerServer(t, s.URL, key, s.ca)
				}
				return true
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy after 20s (last error %v); logs:\n%s", s.name, err, s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *restartableServer) kill() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("SIGKILL %s: %v", s.name, err)
	}
	<-s.exited
	s.cmd = nil
	fmt.Fprintf(s.logs, "=== SIGKILL\n")
}

// sshKeyLine is the sshPublicKey line of the example cluster.
func sshKeyLine(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examples, "cluster-iaas-dynamic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*sshPublicKey: .*$`).Find(data)
	if m == nil {
		t.Fatal("no sshPublicKey in the example cluster")
	}
	return strings.TrimSpace(string(m))
}

// iaasClusterYAML is a dynamic-placement IaaS cluster of the example profile in its own
// resource group, with cp control-plane nodes and workers worker nodes.
func iaasClusterYAML(t testing.TB, name, subscription, rg string, cp, workers int) string {
	t.Helper()
	return fmt.Sprintf(`apiVersion: strata.dev/v1alpha1
kind: Cluster
metadata:
  name: %s
spec:
  cloudAccount: emulator
  profiles:
    - name: iaas-base
      version: 1.0.0
  tags:
    - env:test
  azure:
    type: iaas
    subscriptionID: %s
    resourceGroup: %s
    location: westeurope
    %s
  machinePools:
    - name: control-plane
      controlPlane: true
      count: %d
      instanceType: Standard_D2s_v3
      zones: ["1", "2", "3"]
    - name: workers
      count: %d
      instanceType: Standard_D4s_v3
      zones: ["1", "2", "3"]
`, name, subscription, rg, sshKeyLine(t), cp, workers)
}

// writeManifests writes the emulator's cloud account, the example IaaS profile and the
// clusters into a new directory, in files named so that apply takes them in order.
func writeManifests(t *testing.T, env *emulatortest.Env, clusters map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"1-account.yaml": env.Emulator.CloudAccountYAML("emulator")}
	for _, name := range []string{"profile-iaas.yaml", "profile-aks.yaml"} {
		profile, err := os.ReadFile(filepath.Join(examples, name))
		if err != nil {
			t.Fatal(err)
		}
		files["2-"+name] = string(profile)
	}
	for name, body := range clusters {
		files["3-cluster-"+name+".yaml"] = body
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// expectedResources is what strata creates for a dynamic IaaS cluster of machines nodes.
func expectedResources(machines int) map[string]int {
	return map[string]int{
		"Microsoft.Network/virtualNetworks": 1, "Microsoft.Network/virtualNetworks/subnets": 2,
		"Microsoft.Network/networkSecurityGroups": 2, "Microsoft.Network/natGateways": 1,
		"Microsoft.Network/publicIPAddresses": 2, "Microsoft.Network/loadBalancers": 1,
		"Microsoft.Network/networkInterfaces": machines, "Microsoft.Compute/virtualMachines": machines,
		"Microsoft.Compute/images": 1, "Microsoft.Storage/storageAccounts": 1,
		"Microsoft.Storage/storageAccounts/blobServices/containers": 1,
		// Made by the emulator with the VMs and the control-plane NSG's inline rule.
		"Microsoft.Compute/disks": machines, "Microsoft.Network/networkSecurityGroups/securityRules": 1,
	}
}

// expectedAKSResources is what strata creates for a dynamic AKS cluster of two pools.
func expectedAKSResources() map[string]int {
	return map[string]int{
		"Microsoft.Network/virtualNetworks": 1, "Microsoft.Network/virtualNetworks/subnets": 1,
		"Microsoft.Network/networkSecurityGroups": 1, "Microsoft.ContainerService/managedClusters": 1,
		"Microsoft.ContainerService/managedClusters/agentPools": 2,
	}
}

// sideEffectTypes are resources that Azure makes as part of another resource's PUT (a VM's OS
// disk, an NSG's inline rules, the agent pools inline in a managed cluster's creation): strata
// sends no PUT of its own for them.
var sideEffectTypes = map[string]bool{"Microsoft.Compute/disks": true, "Microsoft.Network/networkSecurityGroups/securityRules": true,
	"Microsoft.ContainerService/managedClusters/agentPools": true}

// written is how many of rs strata must have written with a PUT of their own.
func written(rs []emulatorResource) int {
	n := 0
	for _, r := range rs {
		if !sideEffectTypes[r.Type] {
			n++
		}
	}
	return n
}

// autoTypes are resources the emulator makes by itself (a storage account's blob service).
var autoTypes = map[string]bool{"Microsoft.Storage/storageAccounts/blobServices": true}

// rgResources returns, by resource group (lower case), the resources in it that strata could
// have created: not the group itself, nor what the emulator made by itself.
func rgResources(env *emulatortest.Env) map[string][]emulatorResource {
	out := map[string][]emulatorResource{}
	for _, r := range env.Emulator.Engine().Snapshot().Resources {
		id := strings.ToLower(r.ID)
		i := strings.Index(id, "/resourcegroups/")
		if i < 0 || autoTypes[r.Type] {
			continue
		}
		rest := id[i+len("/resourcegroups/"):]
		rg, _, ok := strings.Cut(rest, "/providers/")
		if !ok {
			continue
		}
		var owner string
		if tags, ok := r.Body["tags"].(map[string]any); ok {
			owner, _ = tags[v1alpha1.TagOwner].(string)
		}
		out[rg] = append(out[rg], emulatorResource{ID: r.ID, Type: r.Type, Owner: owner})
	}
	return out
}

type emulatorResource struct{ ID, Type, Owner string }

// countByType counts resources by type.
func countByType(rs []emulatorResource) map[string]int {
	n := map[string]int{}
	for _, r := range rs {
		n[r.Type]++
	}
	return n
}

// clusterPhases returns the phase of each cluster by name, from a server that may be down
// (then nil).
func clusterPhases(url string) map[string]v1alpha1.Cluster {
	cl, err := clientFor(url)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	objs, err := cl.ListAll(ctx, v1alpha1.KindCluster, client.ListOptions{})
	if err != nil {
		return nil
	}
	out := map[string]v1alpha1.Cluster{}
	for _, o := range objs {
		c := o.(*v1alpha1.Cluster)
		out[c.Metadata.Name] = *c
	}
	return out
}

// waitRunning waits until every named cluster is Running.
func waitRunning(t *testing.T, url string, names []string, timeout time.Duration, logs fmt.Stringer) map[string]v1alpha1.Cluster {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		phases := clusterPhases(url)
		running := 0
		for _, n := range names {
			if c, ok := phases[n]; ok && c.Status.Phase == "Running" {
				running++
			}
		}
		if phases != nil && running == len(names) {
			return phases
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, n := range names {
				fmt.Fprintf(&b, "%s: %s\n", n, phases[n].Status.Phase)
			}
			t.Fatalf("%d of %d clusters Running after %s:\n%s\nlogs:\n%s", running, len(names), timeout, &b, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServerSurvivesSIGKILL provisions two dynamic IaaS clusters and an AKS cluster while the
// server is killed with SIGKILL and restarted on the same data directory over and over, then
// deletes them under the same treatment: every planned resource must exist exactly once, each
// written about once, and after deletion nothing strata created may remain.
func TestServerSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = "fast" })
	names := []string{"crash-a", "crash-b", "crash-aks"}
	const cp, workers = 3, 2
	clusters := map[string]string{}
	for _, n := range names {
		env.ResourceGroup(t, n+"-rg")
		clusters[n] = iaasClusterYAML(t, n, env.SubscriptionID, n+"-rg", cp, workers)
	}
	clusters["crash-aks"] = aksClusterYAML(t, "crash-aks", env.SubscriptionID, "crash-aks-rg", "aks-base", "", "")
	basePUTs, _ := env.Requests(t, http.MethodPut, "")
	dir := writeManifests(t, env, clusters)

	// A restarted server keeps its holder identity (the data directory's) and takes its
	// claims back at once (TestRestartTakesBackLeases); the short lease bounds what a lost
	// identity would cost, and the kill loop waits past it.
	const leaseTTL = 2 * time.Second
	srv := newRestartableServer(t, "server", []string{"--data-dir", t.TempDir(), "--lease-ttl", leaseTTL.String()}, nil)
	if r := strata(t, srv.URL, "", "apply", "-f", dir); r.Code != 0 {
		t.Fatalf("apply: %s", r)
	}

	// Kill at deterministic, varied moments: past the lease wait, so that the kill lands
	// while the restarted server works.
	killLoop := func(kills int, phase string) (midOperation int) {
		for i := range kills {
			time.Sleep(leaseTTL + time.Duration(300+(i*137)%400)*time.Millisecond)
			if env.OperationsInFlight() > 0 {
				midOperation++
			}
			srv.kill()
			srv.start()
		}
		t.Logf("%s: %d SIGKILLs, %d of them with Azure operations in flight", phase, kills, midOperation)
		return midOperation
	}
	if killLoop(8, "provisioning") == 0 {
		t.Error("no SIGKILL landed while an Azure operation was in flight: the test proves nothing")
	}
	phases := waitRunning(t, srv.URL, names, 120*time.Second, srv.logs)

	owners := map[string]string{}
	for _, n := range names {
		owners[phases[n].Metadata.UID] = n
	}
	byRG := rgResources(env)
	created := 0
	for _, n := range names {
		rs := byRG[n+"-rg"]
		created += written(rs)
		got, want := countByType(rs), expectedResources(cp+workers)
		if n == "crash-aks" {
			want = expectedAKSResources()
		}
		for typ := range mergeKeys(got, want) {
			if got[typ] != want[typ] {
				t.Errorf("cluster %s: %d %s, want %d", n, got[typ], typ, want[typ])
			}
		}
		for _, r := range rs {
			if r.Owner != "" && owners[r.Owner] != n {
				t.Errorf("%s is tagged as owned by %q, not by cluster %s (%s)", r.ID, r.Owner, n, phases[n].Metadata.UID)
			}
		}
	}
	okPUTs, allPUTs := env.Requests(t, http.MethodPut, "")
	puts := okPUTs - basePUTs
	ratio := float64(puts) / float64(created)
	t.Logf("provisioning under SIGKILL: %d resources, %d successful ARM PUTs (%d PUTs in all): %.2f writes per resource", created, puts, allPUTs-basePUTs, ratio)
	if ratio > 1.5 {
		t.Errorf("%.2f ARM writes per resource (%d PUTs for %d resources): resume tokens should keep it near 1", ratio, puts, created)
	}

	for _, n := range names {
		if r := strata(t, srv.URL, "", "delete", "cluster", n); r.Code != 0 {
			t.Fatalf("delete %s: %s", n, r)
		}
	}
	killLoop(3, "deletion")
	deadline := time.Now().Add(120 * time.Second)
	for {
		phases := clusterPhases(srv.URL)
		if phases != nil && len(phases) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clusters still there 120s after delete: %v\nlogs:\n%s", keys(phases), srv.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := strata(t, srv.URL, "", "get", "clusters"); r.Code != 0 || strings.Contains(r.Stdout, "crash-") {
		t.Errorf("get clusters after deletion: %s", r)
	}
	for rg, rs := range rgResources(env) {
		for _, r := range rs {
			t.Errorf("left behind in %s: %s", rg, r.ID)
		}
	}
	for _, n := range names {
		if !resourceGroupExists(env, n+"-rg") {
			t.Errorf("resource group %s-rg was deleted", n)
		}
	}
}

func resourceGroupExists(env *emulatortest.Env, name string) bool {
	for _, r := range env.Emulator.Engine().Snapshot().Resources {
		if strings.HasSuffix(strings.ToLower(r.ID), "/resourcegroups/"+strings.ToLower(name)) {
			return true
		}
	}
	return false
}

func mergeKeys(a, b map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
