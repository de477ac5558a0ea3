package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// gatewayProcess is a `strata gateway` replica.
type gatewayProcess struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

// startGateway starts a replica of gateway name in dir: with a token of its own, minted with
// the CLI, when the directory holds no identity yet.
func startGateway(t *testing.T, serverURL, endpoint, name, replica, dir string, env ...string) *gatewayProcess {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "data", "gateway.crt")); err == nil {
		return runGatewayProcess(t, []string{"gateway", "--endpoint", endpoint, "--data-dir", filepath.Join(dir, "data"),
			"--replica", replica, "--check-kubernetes=false", "--lease-ttl", "3s"}, replica, env)
	}
	ca := filepath.Join(dir, "ca.crt")
	r := strata(t, serverURL, "", "gateway", "token", name, "--ca-file", ca)
	if r.Code != 0 || !strings.Contains(r.Stderr, "strata gateway --endpoint "+endpoint) {
		t.Fatalf("gateway token: %s", r)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(r.Stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	return runGatewayProcess(t, []string{"gateway", "--endpoint", endpoint, "--ca-file", ca, "--token-file", tokenFile,
		"--data-dir", filepath.Join(dir, "data"), "--replica", replica, "--check-kubernetes=false", "--lease-ttl", "3s"}, replica, env)
}

// runGatewayProcess runs `strata args...` until the test ends.
func runGatewayProcess(t *testing.T, args []string, replica string, env []string) *gatewayProcess {
	g := &gatewayProcess{logs: &syncBuffer{}, exited: make(chan error, 1)}
	g.cmd = exec.Command(strataBin, args...)
	g.cmd.Env = append(os.Environ(), env...)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.exited <- g.cmd.Wait() }()
	t.Cleanup(func() {
		if g.cmd.ProcessState == nil {
			_ = g.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-g.exited:
			case <-time.After(20 * time.Second):
				_ = g.cmd.Process.Kill()
				t.Errorf("gateway %s did not stop within 20s of SIGTERM", replica)
			}
		}
		if t.Failed() {
			t.Logf("gateway %s logs:\n%s", replica, g.logs)
		}
	})
	return g
}

// stop sends SIGTERM and waits for the replica to exit.
func (g *gatewayProcess) stop(t *testing.T) {
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the gateway did not stop within 20s of SIGTERM")
	}
}

// kill9 sends SIGKILL and waits for the replica to be gone.
func (g *gatewayProcess) kill9(t *testing.T) {
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-g.exited
}

// waitGateway waits until the gateway's status satisfies ok.
func waitGateway(t *testing.T, url, name string, timeout time.Duration, ok func(*v1alpha1.PrivateCloudGateway) bool) *v1alpha1.PrivateCloudGateway {
	t.Helper()
	c, err := clientFor(url)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for {
		obj, err := c.Get(context.Background(), v1alpha1.KindPrivateCloudGateway, name)
		if err == nil && ok(obj.(*v1alpha1.PrivateCloudGateway)) {
			return obj.(*v1alpha1.PrivateCloudGateway)
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway %s: condition not met after %s (last %+v, %v)", name, timeout, obj, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gatewayManifests are a gateway, an account of the emulator bound to it, and a dynamic IaaS
// cluster of that account.
func gatewayManifests(t *testing.T, env *emulatortest.Env, rg string) string {
	acct := strings.Replace(env.Emulator.CloudAccountYAML("corp-account"), "spec:\n", "spec:\n  gateway: corp\n", 1)
	cluster := strings.Replace(iaasClusterYAML(t, "behind", env.SubscriptionID, rg, 1, 1), "cloudAccount: emulator", "cloudAccount: corp-account", 1)
	dir := writeManifests(t, env, map[string]string{"behind": cluster})
	files := map[string]string{"0-gateway.yaml": "apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata:\n  name: corp\nspec: {}\n",
		"1-account.yaml": acct}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGatewayProvisionsForItsAccounts runs the server, and two replicas of a gateway, as real
// processes: the cluster of the gateway's account waits with GatewayConnected=False until a
// replica registers; the gateway turns Running; its only replica killed with SIGKILL mid-way,
// the gateway is Disconnected and the cluster keeps its state; the replica back (from its data
// directory, no token), a second joins and the first is killed again mid-way: the second
// finishes, every resource written once, none orphaned; and the server never calls Azure for
// that account, not even for its lookups, which the gateway answers (the emulator counts
// requests by caller: every ARM request in the cluster's subscription comes from
// strata-gateway/corp). The first replica stays away for a minute.
func TestGatewayProvisionsForItsAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = "fast" })
	env.ResourceGroup(t, "behind-rg")
	rg := "behind-rg"
	dir := gatewayManifests(t, env, rg)
	endpoint := freeAddress(t)
	srv := newRestartableServer(t, "server", []string{"--data-dir", t.TempDir(), "--agent-listen", endpoint, "--lease-ttl", "3s", "--gateway-heartbeat", "1s"}, nil)
	if r := strata(t, srv.URL, "", "apply", "-f", dir); r.Code != 0 {
		t.Fatalf("apply: %s", r)
	}
	waitGateway(t, srv.URL, "corp", 30*time.Second, func(g *v1alpha1.PrivateCloudGateway) bool { return g.Status.Phase == "Pending" })
	waitCondition(t, srv.URL, "behind", "GatewayConnected", "False", 30*time.Second)
	time.Sleep(2 * time.Second) // the server had time to work on the cluster, and must not have
	if n := env.RequestsNotFrom(t, "strata-gateway/corp", "arm", env.SubscriptionID); n > 1 {
		t.Fatalf("%d ARM requests before any gateway, the test's own resource group aside", n)
	}
	base := env.RequestsNotFrom(t, "strata-gateway/corp", "", "")
	basePUTs, _ := env.Requests(t, "PUT", "")
	lookup := []string{"lookup", "rg", "--account", "corp-account", "--subscription", env.SubscriptionID}
	if r := strata(t, srv.URL, "", lookup...); r.Code == 0 || !strings.Contains(r.Stderr, "no replica of it is connected") {
		t.Fatalf("a lookup of the account before its gateway connected: %s", r)
	}

	dirA, dirB := t.TempDir(), t.TempDir()
	first := startGateway(t, srv.URL, endpoint, "corp", "replica-a", dirA)
	waitGateway(t, srv.URL, "corp", 30*time.Second, func(g *v1alpha1.PrivateCloudGateway) bool {
		return g.Status.Phase == "Running" && len(g.Status.Replicas) == 1 && g.Status.Version != ""
	})
	waitCondition(t, srv.URL, "behind", "GatewayConnected", "True", 30*time.Second)
	// The account's lookups are answered by the gateway (the emulator sees no other caller).
	if r := strata(t, srv.URL, "", lookup...); r.Code != 0 || !strings.Contains(r.Stdout, rg) {
		t.Fatalf("a lookup through the gateway: %s", r)
	}

	// The only replica dies mid-way and stays away for a minute: the cluster keeps its state,
	// the gateway is Disconnected.
	waitProgress(t, srv.URL, "behind", 3, time.Minute)
	first.kill9(t)
	killed := time.Now()
	waitGateway(t, srv.URL, "corp", 30*time.Second, func(g *v1alpha1.PrivateCloudGateway) bool { return g.Status.Phase == "Disconnected" })
	waitCondition(t, srv.URL, "behind", "GatewayConnected", "False", 30*time.Second)
	time.Sleep(time.Until(killed.Add(time.Minute)))
	if c := clusterPhases(srv.URL)["behind"]; c.Status.Phase != "Provisioning" || c.Status.Progress == nil || c.Status.Progress.Done < 3 {
		t.Fatalf("while its gateway is away, the cluster lost its state: %+v", c.Status)
	}

	// It comes back from its data directory, without a token, and works on; a second replica
	// joins, and the first dies again: the second finishes.
	first = startGateway(t, srv.URL, endpoint, "corp", "replica-a", dirA)
	waitCondition(t, srv.URL, "behind", "GatewayConnected", "True", 30*time.Second)
	done := clusterPhases(srv.URL)["behind"].Status.Progress.Done
	waitProgress(t, srv.URL, "behind", done+1, time.Minute)
	startGateway(t, srv.URL, endpoint, "corp", "replica-b", dirB)
	waitGateway(t, srv.URL, "corp", 30*time.Second, func(g *v1alpha1.PrivateCloudGateway) bool { return len(g.Status.Replicas) == 2 })
	first.kill9(t)
	waitRunning(t, srv.URL, []string{"behind"}, 3*time.Minute, srv.logs)
	waitCondition(t, srv.URL, "behind", "GatewayConnected", "True", 30*time.Second)

	rs := rgResources(env)[strings.ToLower(rg)]
	got, want := countByType(rs), expectedResources(2)
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s: %d in Azure, want %d (%v)", typ, got[typ], n, got)
		}
	}
	okPUTs, _ := env.Requests(t, "PUT", "")
	if puts := okPUTs - basePUTs; puts != int64(written(rs)) {
		t.Errorf("%d successful PUTs for %d resources: a replica's death made a resource written twice", puts, written(rs))
	}
	if n := env.RequestsNotFrom(t, "strata-gateway/corp", "", "") - base; n != 0 {
		t.Errorf("%d requests to the emulator from callers other than the gateway: %+v", n, env.Callers(t))
	}
	waitGateway(t, srv.URL, "corp", 30*time.Second, func(g *v1alpha1.PrivateCloudGateway) bool { return len(g.Status.Replicas) == 1 })
}

// waitCondition waits until a cluster has the condition with the status.
func waitCondition(t *testing.T, url, name, typ, status string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if c, ok := clusterPhases(url)[name]; ok {
			if cond := v1alpha1.FindCondition(&c.Status.Status, typ); cond != nil && cond.Status == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s: no %s=%s after %s", name, typ, status, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitProgress waits until a cluster has at least done resources made.
func waitProgress(t *testing.T, url, name string, done int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if c, ok := clusterPhases(url)[name]; ok && c.Status.Progress != nil && c.Status.Progress.Done >= done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s: fewer than %d resources after %s", name, done, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
