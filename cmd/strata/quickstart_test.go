package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// exampleClusters are the clusters quickstart provisions.
var exampleClusters = []string{"aks-prod", "iaas-dynamic", "iaas-static"}

// quickstartProcess is a running quickstart: the strata binary, or `go run` and its child.
type quickstartProcess struct {
	cmd     *exec.Cmd
	out     *syncBuffer // standard output
	logs    *syncBuffer // standard error
	exited  chan struct{}
	err     error         // cmd.Wait's, once exited is closed
	running chan struct{} // closed once every example cluster was shown Running
	serving chan struct{} // closed once quickstart says it serves until interrupted

	runningSeen map[string]bool // the clusters shown Running, for follow
	allRunning  bool
}

// startQuickstart starts cmd (a quickstart) and follows its output. The process is killed
// when the test ends, if it still runs.
func startQuickstart(t *testing.T, cmd *exec.Cmd) *quickstartProcess {
	t.Helper()
	q := &quickstartProcess{cmd: cmd, out: &syncBuffer{}, logs: &syncBuffer{},
		exited: make(chan struct{}), running: make(chan struct{}), serving: make(chan struct{}),
		runningSeen: map[string]bool{}}
	cmd.Stdout = &lineWriter{line: q.follow}
	cmd.Stderr = q.logs
	if cmd.Env == nil { // quickstart logs the CLI in: in a configuration file of the test's
		path := filepath.Join(t.TempDir(), "cli-config.yaml")
		cmd.Env = append(os.Environ(), "STRATA_CONFIG="+path)
		if i := slices.Index(cmd.Args, "--listen"); i > 0 && i+1 < len(cmd.Args) {
			useConfig(t, "https://"+cmd.Args[i+1], path)
		}
	}
	// A child that go run leaves behind holds the output pipes open; Wait returns anyway.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		q.err = cmd.Wait()
		close(q.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-q.exited:
		default:
			_ = cmd.Process.Kill()
			<-q.exited
		}
	})
	return q
}

// lineWriter calls line with each complete line written to it.
type lineWriter struct {
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// follow takes one line of the output, noting when every cluster runs and when quickstart
// serves.
func (q *quickstartProcess) follow(line string) {
	q.out.Write([]byte(line + "\n"))
	if f := strings.Fields(line); len(f) > 1 && slices.Contains(exampleClusters, f[0]) && f[1] == "Running" {
		q.runningSeen[f[0]] = true
		if len(q.runningSeen) == len(exampleClusters) && !q.allRunning {
			q.allRunning = true
			close(q.running)
		}
	}
	if strings.HasPrefix(line, "Serving until interrupted") {
		close(q.serving)
	}
}

// waitFor waits until ch is closed, failing the test when the process exits first or after
// limit, which bounds a hang and is no measure of speed.
func (q *quickstartProcess) waitFor(t *testing.T, ch <-chan struct{}, what string, limit time.Duration) {
	t.Helper()
	select {
	case <-ch:
	case <-q.exited:
		t.Fatalf("quickstart exited (%v) before %s\nstdout:\n%s\nstderr:\n%s", q.err, what, q.out, q.logs)
	case <-time.After(limit):
		t.Fatalf("not %s within %s\nstdout:\n%s\nstderr:\n%s", what, limit, q.out, q.logs)
	}
}

// waitRunning waits until every example cluster is Running.
func (q *quickstartProcess) waitRunning(t *testing.T) {
	t.Helper()
	q.waitFor(t, q.running, "every example cluster was Running", 3*time.Minute)
}

// stop sends sig and waits for the process to end.
func (q *quickstartProcess) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	_ = q.cmd.Process.Signal(sig)
	select {
	case <-q.exited:
		return q.err
	case <-time.After(time.Minute):
		t.Fatalf("quickstart did not stop within a minute of %v\nstderr:\n%s", sig, q.logs)
		return nil
	}
}

// emulatorURL is the emulator's address that quickstart printed.
func (q *quickstartProcess) emulatorURL(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Azure emulator +(https://\S+)`).FindStringSubmatch(q.out.String())
	if m == nil {
		t.Fatalf("quickstart printed no emulator address:\n%s", q.out)
	}
	return m[1]
}

// quickstartCommand is the strata binary's quickstart on dataDir, serving the API on addr.
func quickstartCommand(dataDir, addr string) *exec.Cmd {
	return exec.Command(strataBin, "quickstart", "--data-dir", dataDir, "--listen", addr, "--kubernetes=false")
}

// TestQuickstartEndToEnd runs `strata quickstart` in a fresh data directory, waits for the
// example IaaS clusters and the example AKS cluster to be Running, checks them through the
// CLI, and stops it with SIGTERM.
func TestQuickstartEndToEnd(t *testing.T) {
	addr := freeAddress(t)
	q := startQuickstart(t, quickstartCommand(t.TempDir(), addr))
	q.waitRunning(t)

	r := strata(t, "https://"+addr, "", "get", "clusters")
	if r.Code != 0 || !strings.Contains(r.Stdout, "iaas-dynamic") || !strings.Contains(r.Stdout, "aks-prod") || !strings.Contains(r.Stdout, "Running") {
		t.Errorf("strata get clusters: %s", r)
	}
	if r := strata(t, "https://"+addr, "", "kubeconfig", "aks-prod"); r.Code != 0 || !strings.Contains(r.Stdout, "azmk8s.io") {
		t.Errorf("strata kubeconfig aks-prod: %s", r)
	}
	q.waitFor(t, q.serving, "quickstart serves", time.Minute)
	checkAccessExample(t, q, "https://"+addr)
	if err := q.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("quickstart exited with %v after SIGTERM\nstderr:\n%s", err, q.logs)
	}
	if !strings.Contains(q.out.String(), "strata --server https://"+addr) {
		t.Errorf("no summary with the API address:\n%s", q.out)
	}
}

// editCluster changes a cluster's spec through the API, as a user's day-2 edit.
func editCluster(t *testing.T, server, name string, change func(*v1alpha1.Cluster)) {
	t.Helper()
	ctx := context.Background()
	c, err := clientFor(server)
	if err != nil {
		t.Fatal(err)
	}
	// The controller and the agent hub write the cluster's status meanwhile: on a conflict,
	// get it again and reapply the change, as the API says.
	for attempt := 1; ; attempt++ {
		obj, err := c.Get(ctx, v1alpha1.KindCluster, name)
		if err != nil {
			t.Fatal(err)
		}
		cl := obj.(*v1alpha1.Cluster)
		change(cl)
		_, res, err := c.Apply(ctx, cl, client.WriteOptions{})
		if client.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil || res != client.Configured {
			t.Fatalf("edit cluster %s: %v, %v", name, res, err)
		}
		return
	}
}

// workers returns the cluster's worker pool.
func workers(t *testing.T, server, name string) v1alpha1.MachinePool {
	t.Helper()
	c, err := clientFor(server)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := c.Get(context.Background(), v1alpha1.KindCluster, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range obj.(*v1alpha1.Cluster).Spec.MachinePools {
		if p.Name == "workers" {
			return p
		}
	}
	t.Fatalf("cluster %s has no pool workers", name)
	return v1alpha1.MachinePool{}
}

// checkRestart checks what a quickstart started again on a used data directory printed: the
// emulator's address of the first run, no error, and the user's changes kept.
func checkRestart(t *testing.T, q *quickstartProcess, emulatorURL string) {
	t.Helper()
	if got := q.emulatorURL(t); got != emulatorURL {
		t.Errorf("the emulator moved from %s to %s", emulatorURL, got)
	}
	if !strings.Contains(q.out.String(), "kept your changes to cluster iaas-dynamic") {
		t.Errorf("quickstart does not say it kept the edited cluster:\n%s", q.out)
	}
	for _, c := range []string{"aks-prod", "iaas-static"} {
		if !strings.Contains(q.out.String(), "cluster "+c+" unchanged") {
			t.Errorf("quickstart does not say cluster %s is unchanged:\n%s", c, q.out)
		}
	}
	if strings.Contains(q.out.String(), "error") || strings.Contains(q.logs.String(), "level=ERROR") {
		t.Errorf("quickstart reported an error:\nstdout:\n%s\nstderr:\n%s", q.out, q.logs)
	}
}

// TestQuickstartRestartsOnItsDataDir stops quickstart with SIGINT, then with kill -9 right
// after a day-2 edit, and starts it again on its data directory each time: it serves the
// emulator on the same port, creates nothing that exists, keeps the user's changes and
// brings every cluster to Running again.
func TestQuickstartRestartsOnItsDataDir(t *testing.T) {
	dataDir, addr := t.TempDir(), freeAddress(t)
	srv := "https://" + addr
	first := startQuickstart(t, quickstartCommand(dataDir, addr))
	first.waitRunning(t)
	emulatorURL := first.emulatorURL(t)
	editCluster(t, srv, "iaas-dynamic", func(c *v1alpha1.Cluster) { *c.Spec.MachinePools[1].Max = 8 })
	if err := first.stop(t, syscall.SIGINT); err != nil {
		t.Fatalf("quickstart exited with %v after SIGINT\nstderr:\n%s", err, first.logs)
	}

	second := startQuickstart(t, quickstartCommand(dataDir, addr))
	second.waitRunning(t)
	checkRestart(t, second, emulatorURL)
	if w := workers(t, srv, "iaas-dynamic"); *w.Max != 8 {
		t.Errorf("the edit made before the restart was undone: workers max %d", *w.Max)
	}

	// A second edit that makes a VM, and kill -9 while the controller works on it.
	editCluster(t, srv, "iaas-dynamic", func(c *v1alpha1.Cluster) { c.Spec.MachinePools[1].Count = 4 })
	if err := second.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("quickstart survived SIGKILL")
	}

	third := startQuickstart(t, quickstartCommand(dataDir, addr))
	third.waitRunning(t)
	checkRestart(t, third, emulatorURL)
	if w := workers(t, srv, "iaas-dynamic"); w.Count != 4 || *w.Max != 8 {
		t.Errorf("the edits were undone: workers count %d, max %d", w.Count, *w.Max)
	}
	if err := third.stop(t, syscall.SIGINT); err != nil {
		t.Errorf("quickstart exited with %v after SIGINT\nstderr:\n%s", err, third.logs)
	}
}

// TestQuickstartPortTaken starts quickstart on a data directory whose emulator port something
// else now listens on: it fails at once, naming the port and the file that keeps it.
func TestQuickstartPortTaken(t *testing.T) {
	dataDir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	file := dataDir + "/emulator.address"
	if err := os.WriteFile(file, []byte(ln.Addr().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	r := strata(t, "http://"+freeAddress(t), "", "quickstart", "--data-dir", dataDir, "--listen", freeAddress(t))
	if r.Code != 1 || !strings.Contains(r.Stderr, "port "+port) || !strings.Contains(r.Stderr, file) {
		t.Errorf("want an error naming port %s and %s: %s", port, file, r)
	}
}

// TestQuickstartGoRun runs `go run ./cmd/strata quickstart` in a process group of its own, as
// a terminal runs a foreground job, and stops it: with SIGINT to the group, as Ctrl-C does, and
// with SIGTERM to the go command alone, as tools stop the process they started (go run dies of
// it without passing it on). Either way go run and its child are gone and neither the API's
// port nor the emulator's is held.
func TestQuickstartGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs quickstart with go run")
	}
	for _, c := range []struct {
		name  string
		group bool // signal the process group, else go run alone
		sig   syscall.Signal
	}{
		{"SIGINT to the group", true, syscall.SIGINT},
		{"SIGTERM to go run alone", false, syscall.SIGTERM},
	} {
		t.Run(c.name, func(t *testing.T) {
			dataDir, addr := t.TempDir(), freeAddress(t)
			cmd := exec.Command("go", "run", "./cmd/strata", "quickstart", "--data-dir", dataDir, "--listen", addr)
			cmd.Dir = "../.."
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			q := startQuickstart(t, cmd)
			t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
			q.waitFor(t, q.serving, "serving", 5*time.Minute)
			emulatorHost := strings.TrimPrefix(q.emulatorURL(t), "https://")

			pid := cmd.Process.Pid
			if c.group {
				pid = -pid
			}
			if err := syscall.Kill(pid, c.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-q.exited:
			case <-time.After(time.Minute):
				t.Fatalf("go run did not exit within a minute of %v\nstdout:\n%s\nstderr:\n%s", c.sig, q.out, q.logs)
			}
			deadline := time.Now().Add(30 * time.Second)
			for syscall.Kill(-cmd.Process.Pid, 0) == nil { // a process of the group is left
				if time.Now().After(deadline) {
					t.Fatalf("a process of go run's group still runs 30s after go run exited\nstdout:\n%s", q.out)
				}
				time.Sleep(100 * time.Millisecond)
			}
			for _, a := range []string{addr, emulatorHost} {
				if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
					c.Close()
					t.Errorf("%s still accepts connections after quickstart stopped", a)
				}
			}
		})
	}
}

// TestSecondInterruptStopsAtOnce interrupts a server whose shutdown waits for a request that
// never ends, then interrupts it again: the second Ctrl-C ends the process at once, by the
// signal, instead of being ignored until the shutdown gives up.
func TestSecondInterruptStopsAtOnce(t *testing.T) {
	addr := freeAddress(t)
	cmd := exec.Command(strataBin, "server", "--listen", addr, "--data-dir", t.TempDir(), "--check-kubernetes=false", "--access-control=false", "--insecure-http")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var conn net.Conn
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			conn = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server does not listen: %v\n%s", err, logs)
		}
	}
	defer conn.Close()
	// A request whose body never ends: a graceful shutdown waits for it.
	if _, err := conn.Write([]byte("PUT /api/v1alpha1/privatecloudgateways/slow HTTP/1.1\r\nHost: localhost\r\n" +
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the server read it
	_ = cmd.Process.Signal(syscall.SIGINT)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break // the listener is closed: the shutdown has begun
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the server still accepts connections 10s after SIGINT\n%s", logs)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not exit within 30s of a second SIGINT\n%s", logs)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || !exitErr.Sys().(syscall.WaitStatus).Signaled() ||
		exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Errorf("after a second SIGINT the server exited with %v, want it ended by the signal\n%s", err, logs)
	}
}

// checkAccessExample runs, with sh, the two commands quickstart printed to try a restricted
// user: the user sees only the example clusters tagged env:prod.
func checkAccessExample(t *testing.T, q *quickstartProcess, server string) {
	t.Helper()
	_, after, ok := strings.Cut(q.out.String(), "A user who may view only the clusters tagged env:prod:\n")
	lines := strings.SplitN(after, "\n", 3)
	if !ok || len(lines) < 3 {
		t.Fatalf("quickstart printed no access example:\n%s", q.out)
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(strataBin)+":"+os.Getenv("PATH"), "STRATA_CONFIG="+configOf(server))
	var last string
	for _, line := range lines[:2] {
		cmd := exec.Command("sh", "-c", strings.TrimSpace(line))
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", line, err, out, &stderr)
		}
		last = string(out)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(last), "\n")[1:] {
		names = append(names, strings.Fields(l)[0])
	}
	if strings.Join(names, " ") != "aks-prod iaas-static" {
		t.Errorf("the env:prod viewer's clusters: %v, want aks-prod and iaas-static only\n%s", names, last)
	}
}
