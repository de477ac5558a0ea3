package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// These tests build the real strata binary, start `strata server` as a process and drive it
// with the client commands, as a user would.

// strataBin is the binary built by TestMain.
var strataBin string

// examples is the repository's examples directory, relative to this package.
var examples = filepath.Join("..", "..", "examples")

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "strata-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	strataBin = filepath.Join(dir, "strata")
	build := exec.Command("go", "build", "-o", strataBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// Commands and quickstarts that are not given a configuration file use one of their own,
	// never the machine's.
	os.Setenv("STRATA_CONFIG", filepath.Join(dir, "config.yaml"))
	os.Unsetenv("STRATA_API_KEY")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serverProcess is a running `strata server`.
type serverProcess struct {
	URL  string
	logs *syncBuffer
}

// freeAddress returns a loopback address on which nothing listens right now.
func freeAddress(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServer starts `strata server` on a free port with a fresh data directory and the
// flags args, waits for /healthz, and stops it (SIGTERM, then wait) when the test ends.
func startServer(t *testing.T, args ...string) *serverProcess {
	t.Helper()
	addr := freeAddress(t)
	logs := &syncBuffer{}
	dataDir := t.TempDir()
	cmd := exec.Command(strataBin, append([]string{"server", "--listen", addr, "--data-dir", dataDir, "--check-kubernetes=false"}, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("server exited with %v after SIGTERM; logs:\n%s", err, logs)
			}
			assertNoSecretAtRest(t, []byte(logs.String()), dataDir)
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("server did not stop within 20s of SIGTERM; logs:\n%s", logs)
		}
	})
	srv := &serverProcess{URL: "https://" + addr, logs: logs}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("server exited before it was healthy: %v; logs:\n%s", err, logs)
		default:
		}
		ca := serverCA(dataDir)
		resp, err := trustingClient(ca).Get(srv.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if key := apiKeyPattern.FindString(logs.String()); key != "" {
					registerServer(t, srv.URL, key, ca)
				}
				return srv
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not healthy after 20s (last error %v); logs:\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hasEvent reports whether the Events table of a describe output, whatever its column widths,
// has a row of that type and reason.
func hasEvent(describe, typ, reason string) bool {
	_, events, ok := strings.Cut(describe, "\nEvents:\n")
	if !ok {
		return false
	}
	lines := strings.Split(events, "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "TYPE REASON AGE MESSAGE" {
		return false
	}
	for _, line := range lines[1:] {
		if !strings.HasPrefix(line, "  ") {
			break // the table ended
		}
		if f := strings.Fields(line); len(f) >= 2 && f[0] == typ && f[1] == reason {
			return true
		}
	}
	return false
}

// exampleSecret is the client secret of examples/cloudaccount.yaml.
const exampleSecret = "replace-me"

// assertNoSecretAtRest checks, once the server has exited, that neither its log nor any file of
// its data directory (the SQLite database, its WAL, the key file) holds the example secret in
// plain text.
func assertNoSecretAtRest(t *testing.T, logs []byte, dataDir string) {
	t.Helper()
	if bytes.Contains(logs, []byte(exampleSecret)) {
		t.Errorf("the server log holds the client secret:\n%s", logs)
	}
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(exampleSecret)) {
			t.Errorf("%s holds the client secret in plain text", path)
		}
		return nil
	})
	if err != nil {
		t.Errorf("scan the data directory: %v", err)
	}
}

// result is what one strata command did.
type result struct {
	Code   int
	Stdout string
	Stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// strata runs the binary with STRATA_SERVER set to server and the CLI configuration that
// logs in to it (configOf), stdin as input, and args.
func strata(t *testing.T, server, stdin string, args ...string) result {
	t.Helper()
	return strataEnv(t, []string{"STRATA_SERVER=" + server, "STRATA_CONFIG=" + configOf(server)}, stdin, args...)
}

// strataEnv runs the binary with env added to the test's environment, stdin as input, and
// args.
func strataEnv(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, strataBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{Stdout: out.String(), Stderr: errb.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.Code = exitErr.ExitCode()
	default:
		t.Fatalf("strata %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// expect fails the test unless the command exited with code and its stdout is exactly stdout.
func expect(t *testing.T, r result, code int, stdout string) {
	t.Helper()
	if r.Code != code || r.Stdout != stdout {
		t.Fatalf("want exit %d and stdout:\n%s\ngot %s", code, stdout, r)
	}
}

func TestCLIEndToEnd(t *testing.T) {
	srv := startServer(t)
	s := srv.URL
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", srv.logs)
		}
	})

	t.Run("validate examples offline", func(t *testing.T) {
		// No server is needed: point at one that does not exist.
		r := strata(t, "http://"+freeAddress(t), "", "validate", "-f", examples)
		expect(t, r, 0, ""+
			"cloudaccount/azure-corp valid\n"+
			"cloudaccount/azure-prod valid\n"+
			"cluster/aks-prod valid\n"+
			"cluster/iaas-dynamic valid\n"+
			"cluster/iaas-static valid\n"+
			"privatecloudgateway/corp-gateway valid\n"+
			"clusterprofile/aks-base@1.0.0 valid\n"+
			"clusterprofile/iaas-base@1.0.0 valid\n"+
			"clusterprofile/proxy-demo@1.0.0 valid\n")
	})

	allApplied := func(result string) string {
		var b strings.Builder
		for _, n := range []string{
			"privatecloudgateway/corp-gateway", "cloudaccount/azure-corp", "cloudaccount/azure-prod",
			"clusterprofile/aks-base@1.0.0", "clusterprofile/iaas-base@1.0.0", "clusterprofile/proxy-demo@1.0.0",
			"cluster/aks-prod", "cluster/iaas-dynamic", "cluster/iaas-static",
		} {
			fmt.Fprintf(&b, "%s %s\n", n, result)
		}
		return b.String()
	}

	t.Run("apply examples in dependency order", func(t *testing.T) {
		r := strata(t, s, "", "apply", "-f", examples)
		expect(t, r, 0, allApplied("created"))
		// The one warning: the account is bound to a gateway that no replica connected for.
		want := `Warning: CloudAccount "azure-corp": spec.gateway: private cloud gateway "corp-gateway" has never connected`
		if lines := strings.Split(strings.TrimSpace(r.Stderr), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
			t.Errorf("stderr: %s", r.Stderr)
		}
	})

	t.Run("re-apply is unchanged", func(t *testing.T) {
		expect(t, strata(t, s, "", "apply", "-f", examples), 0, allApplied("unchanged"))
	})

	t.Run("dry-run stores nothing", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(examples, "cluster-iaas-dynamic.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(data), "max: 6", "max: 8", 1)
		expect(t, strata(t, s, changed, "apply", "--dry-run", "-f", "-"), 0, "cluster/iaas-dynamic configured (dry run)\n")
		r := strata(t, s, "", "get", "cluster", "iaas-dynamic", "-o", "json")
		if r.Code != 0 || !strings.Contains(r.Stdout, `"max": 6`) {
			t.Errorf("the dry run changed the cluster: %s", r)
		}
	})

	t.Run("get clusters", func(t *testing.T) {
		r := strata(t, s, "", "get", "clusters")
		lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
		if r.Code != 0 || len(lines) != 4 {
			t.Fatalf("%s", r)
		}
		for i, want := range [][]string{
			{"NAME", "TYPE", "LOCATION", "PHASE", "AGE"},
			{"aks-prod", "aks", "eastus2"},
			{"iaas-dynamic", "iaas", "westeurope"},
			{"iaas-static", "iaas", "westeurope"},
		} {
			if f := strings.Fields(lines[i]); len(f) != 5 || strings.Join(f[:len(want)], " ") != strings.Join(want, " ") {
				t.Errorf("line %d = %q, want it to start with %q", i, lines[i], want)
			}
		}
	})

	t.Run("get cluster as yaml round-trips", func(t *testing.T) {
		r := strata(t, s, "", "get", "cl", "iaas-static", "-o", "yaml")
		if r.Code != 0 {
			t.Fatalf("%s", r)
		}
		objs, err := v1alpha1.Decode([]byte(r.Stdout))
		if err != nil || len(objs) != 1 {
			t.Fatalf("decode: %v (%d objects)\n%s", err, len(objs), r.Stdout)
		}
		c, ok := objs[0].(*v1alpha1.Cluster)
		if !ok || c.Metadata.Name != "iaas-static" || c.Metadata.UID == "" || c.Metadata.CreationTimestamp == nil ||
			c.Spec.Azure.Placement == nil || c.Spec.Azure.Placement.WorkerSubnet.CIDR != "10.10.1.0/24" {
			t.Errorf("decoded %+v", objs[0])
		}
		// The List of several objects is read back by apply: nothing changes.
		list := strata(t, s, "", "get", "clusters", "-o", "yaml")
		if list.Code != 0 || !strings.Contains(list.Stdout, "kind: List") {
			t.Fatalf("%s", list)
		}
		expect(t, strata(t, s, list.Stdout, "apply", "-f", "-"), 0, ""+
			"cluster/aks-prod unchanged\ncluster/iaas-dynamic unchanged\ncluster/iaas-static unchanged\n")
	})

	t.Run("get profiles", func(t *testing.T) {
		r := strata(t, s, "", "get", "profiles")
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, "NAME ") || strings.Count(r.Stdout, "\n") != 4 {
			t.Fatalf("%s", r)
		}
		if f := strings.Fields(strings.Split(r.Stdout, "\n")[2]); len(f) != 6 || strings.Join(f[:5], " ") != "iaas-base 1.0.0 azure infra 4" {
			t.Errorf("iaas-base row = %q", f)
		}
		expect(t, strata(t, s, "", "get", "cp", "aks-base", "-o", "name"), 0, "clusterprofile/aks-base@1.0.0\n")
		expect(t, strata(t, s, "", "get", "profile/iaas-base@1.0.0", "-o", "name"), 0, "clusterprofile/iaas-base@1.0.0\n")
		r = strata(t, s, "", "get", "profile", "nope")
		if r.Code != 1 || !strings.Contains(r.Stderr, `clusterprofile "nope" not found`) {
			t.Errorf("%s", r)
		}
	})

	t.Run("describe cluster shows events", func(t *testing.T) {
		r := strata(t, s, "", "describe", "cluster", "aks-prod")
		if r.Code != 0 {
			t.Fatalf("%s", r)
		}
		for _, want := range []string{
			"Name:               aks-prod\n", "Kind:               Cluster\n",
			"Spec:\n  cloudAccount: azure-prod\n", "    - name: system\n      system: true\n      count: 2\n",
		} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("describe lacks %q:\n%s", want, r.Stdout)
			}
		}
		if !hasEvent(r.Stdout, "Normal", "Created") {
			t.Errorf("describe shows no Normal Created event under Events:\n%s", r.Stdout)
		}
	})

	t.Run("the secret is never shown", func(t *testing.T) {
		r := strata(t, s, "", "describe", "account", "azure-prod")
		if r.Code != 0 || !strings.Contains(r.Stdout, "    clientSecret: (set)\n") {
			t.Fatalf("%s", r)
		}
		for _, args := range [][]string{
			{"describe", "account", "azure-prod"},
			{"get", "ca", "azure-prod", "-o", "yaml"},
			{"get", "accounts", "-o", "json"},
		} {
			if r := strata(t, s, "", args...); r.Code != 0 || strings.Contains(r.Stdout+r.Stderr, "replace-me") {
				t.Errorf("%v shows the secret or fails: %s", args, r)
			}
		}
	})

	t.Run("delete of an account in use is refused", func(t *testing.T) {
		r := strata(t, s, "", "delete", "cloudaccount", "azure-prod")
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "error: cannot delete cloudaccount/azure-prod: it is in use") {
			t.Fatalf("%s", r)
		}
		expect(t, strata(t, s, "", "get", "ca", "-o", "name"), 0, "cloudaccount/azure-corp\ncloudaccount/azure-prod\n")
	})

	t.Run("delete clusters, then the account", func(t *testing.T) {
		for _, name := range []string{"aks-prod", "iaas-dynamic", "iaas-static"} {
			r := strata(t, s, "", "delete", "cluster", name, "--wait", "--timeout", "20s")
			if r.Code != 0 || !strings.HasSuffix(r.Stdout, "cluster/"+name+" deleted\n") {
				t.Fatalf("%s", r)
			}
		}
		r := strata(t, s, "", "get", "clusters")
		if r.Code != 0 || r.Stdout != "" || r.Stderr != "No resources found.\n" {
			t.Errorf("%s", r)
		}
		expect(t, strata(t, s, "", "delete", "ca", "azure-prod"), 0, "cloudaccount/azure-prod deleted\n")
		r = strata(t, s, "", "get", "account", "azure-prod")
		if r.Code != 1 || r.Stderr != "error: cloudaccount \"azure-prod\" not found\n" {
			t.Errorf("%s", r)
		}
	})

	t.Run("apply from stdin", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(examples, "cloudaccount.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		expect(t, strata(t, s, string(data), "apply", "-f", "-"), 0, "cloudaccount/azure-prod created\n")
	})

	t.Run("an invalid object is reported and not stored", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(examples, "cluster-iaas-dynamic.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		bad := strings.NewReplacer("name: iaas-dynamic", "name: bad-cluster", "- department:finance", "- Windows-team:x",
			"count: 3\n      instanceType: Standard_D2s_v3", "count: 2\n      instanceType: Standard_D2s_v3").Replace(string(data))
		file := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		r := strata(t, s, "", "apply", "-f", file, "-f", filepath.Join(examples, "gateway.yaml"))
		if r.Code != 1 || r.Stdout != "privatecloudgateway/corp-gateway unchanged\n" {
			t.Fatalf("%s", r)
		}
		for _, want := range []string{
			"error: cluster/bad-cluster (" + file + ") is invalid:\n",
			"  spec.tags[0]: ", "(reserved)\n",
			"  spec.machinePools[0].count: ", "(range)\n",
		} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
			}
		}
		r = strata(t, s, "", "get", "cluster", "bad-cluster")
		if r.Code != 1 || !strings.Contains(r.Stderr, `cluster "bad-cluster" not found`) {
			t.Errorf("the invalid cluster was stored: %s", r)
		}
	})

	t.Run("unreachable server", func(t *testing.T) {
		addr := "http://" + freeAddress(t)
		r := strata(t, addr, "", "get", "clusters")
		want := "error: cannot reach the strata server at " + addr +
			" (connection refused): start one with 'strata server' or point --server / STRATA_SERVER at one\n"
		if r.Code != 1 || r.Stdout != "" || r.Stderr != want {
			t.Errorf("%s", r)
		}
		// --server overrides STRATA_SERVER (and the configuration's context for it is used).
		expect(t, strataEnv(t, []string{"STRATA_SERVER=" + addr, "STRATA_CONFIG=" + configOf(s)}, "", "--server", s, "get", "ca", "-o", "name"),
			0, "cloudaccount/azure-corp\ncloudaccount/azure-prod\n")
	})

	t.Run("delete -f removes users before what they use", func(t *testing.T) {
		r := strata(t, s, "", "apply", "-f", examples)
		if r.Code != 0 {
			t.Fatalf("%s", r)
		}
		expect(t, strata(t, s, "", "delete", "-f", examples), 0, ""+
			"cluster/aks-prod deleted\ncluster/iaas-dynamic deleted\ncluster/iaas-static deleted\n"+
			"clusterprofile/aks-base@1.0.0 deleted\nclusterprofile/iaas-base@1.0.0 deleted\nclusterprofile/proxy-demo@1.0.0 deleted\n"+
			"cloudaccount/azure-corp deleted\ncloudaccount/azure-prod deleted\nprivatecloudgateway/corp-gateway deleted\n")
		for _, kind := range []string{"clusters", "profiles", "accounts", "gateways"} {
			if r := strata(t, s, "", "get", kind); r.Code != 0 || r.Stdout != "" || r.Stderr != "No resources found.\n" {
				t.Errorf("get %s after delete -f: %s", kind, r)
			}
		}
		r = strata(t, s, "", "delete", "-f", filepath.Join(examples, "gateway.yaml"))
		if r.Code != 1 || r.Stderr != "error: privatecloudgateway \"corp-gateway\" not found\n" {
			t.Errorf("%s", r)
		}
		expect(t, strata(t, s, "", "delete", "-f", filepath.Join(examples, "gateway.yaml"), "--ignore-not-found"), 0, "")
	})
}

// readmeTryIt returns the commands of README.md's "Try it" block, one a line.
func readmeTryIt(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Try it\n")
	_, block, ok2 := strings.Cut(section, "```sh\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no ```sh block under ## Try it")
	}
	var cmds []string
	for _, l := range strings.Split(block, "\n") {
		if strings.TrimSpace(l) != "" {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// goDirs are the go command's settings that it finds under HOME by default (its build and
// module caches, its env file), kept as they are when a test changes HOME.
func goDirs(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOENV").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	v := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(v) != 4 {
		t.Fatalf("go env printed %q", out)
	}
	return []string{"GOCACHE=" + v[0], "GOMODCACHE=" + v[1], "GOPATH=" + v[2], "GOENV=" + v[3]}
}

// TestReadmeTryIt runs the commands of README.md's "Try it" exactly as written, with sh in the
// repository, against a quickstart started as the README says: only HOME (where quickstart
// keeps its data and logs the CLI in) and quickstart's --listen (port 7080 may be taken here)
// come from the test. Every command must succeed, and applying quickstart's copies of the examples
// must change nothing.
func TestReadmeTryIt(t *testing.T) {
	home, addr := t.TempDir(), freeAddress(t)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STRATA_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv) // quickstart logs the CLI in where the README's commands find it
		}
	}
	env = append(env, goDirs(t)...)
	env = append(env, "HOME="+home)
	qs := exec.Command(strataBin, "quickstart", "--listen", addr)
	qs.Env = env
	q := startQuickstart(t, qs)
	q.waitRunning(t)

	for _, line := range readmeTryIt(t) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		start := time.Now()
		cmd := exec.CommandContext(ctx, "sh", "-c", line)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", line, err, &stdout, &stderr)
		}
		t.Logf("%s (%s)\n%s%s", line, time.Since(start).Round(time.Millisecond), &stdout, &stderr)
		if strings.Contains(line, " apply ") {
			for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				if !strings.HasSuffix(l, " unchanged") {
					t.Errorf("%s changed something: %s", line, l)
				}
			}
		}
	}
}
