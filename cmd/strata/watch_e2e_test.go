package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchProcess is a running `strata get -w`.
type watchProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	exited chan error
}

// startWatch runs `strata get ... -w` against server, reading its output line by line.
func startWatch(t *testing.T, server string, args ...string) *watchProcess {
	t.Helper()
	cmd := exec.Command(strataBin, append([]string{"get"}, args...)...)
	cmd.Env = append(os.Environ(), "STRATA_SERVER="+server, "STRATA_CONFIG="+configOf(server))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := &watchProcess{t: t, cmd: cmd, lines: make(chan string, 100), stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.lines <- strings.Join(strings.Fields(sc.Text()), " ")
		}
		close(w.lines)
		w.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return w
}

// next returns the next n lines, each with its spaces collapsed.
func (w *watchProcess) next(n int) []string {
	w.t.Helper()
	var out []string
	for range n {
		select {
		case l, ok := <-w.lines:
			if !ok {
				w.t.Fatalf("strata get -w ended after %q; stderr: %s", out, w.stderr)
			}
			out = append(out, l)
		case <-time.After(15 * time.Second):
			w.t.Fatalf("no line of strata get -w within 15s after %q; stderr: %s", out, w.stderr)
		}
	}
	return out
}

// interrupt sends SIGINT, as Ctrl-C does, and returns the exit error.
func (w *watchProcess) interrupt() error {
	w.t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGINT); err != nil {
		w.t.Fatal(err)
	}
	for range w.lines {
	}
	select {
	case err := <-w.exited:
		return err
	case <-time.After(15 * time.Second):
		w.t.Fatal("strata get -w did not exit within 15s of SIGINT")
		return nil
	}
}

// fields keeps the first n fields of each line.
func fields(lines []string, n int) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		f := strings.Fields(l)
		out[i] = strings.Join(f[:min(n, len(f))], " ")
	}
	return out
}

// TestGetWatchEndToEnd follows clusters with `strata get -w` against a server process while
// another strata process creates, changes and deletes one: each change is a line, until
// Ctrl-C.
func TestGetWatchEndToEnd(t *testing.T) {
	srv := startServer(t, "--controllers=false")
	s := srv.URL
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", srv.logs)
		}
	})
	for _, f := range []string{"gateway.yaml", "cloudaccount.yaml", "cloudaccount-corp.yaml", "profile-iaas.yaml", "profile-proxy-demo.yaml"} {
		if r := strata(t, s, "", "apply", "-f", filepath.Join(examples, f)); r.Code != 0 {
			t.Fatalf("apply %s: %s", f, r)
		}
	}
	all := startWatch(t, s, "clusters", "-w", "--output-watch-events")
	// The watch must have listed before the create, or the cluster is in its list (ADDED all
	// the same, but no "No resources found."): a slow start of the process loses the race.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(all.stderr.String(), "No resources found.") {
		if time.Now().After(deadline) {
			t.Fatalf("get clusters -w on no cluster: stderr %q", all.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, err := os.ReadFile(filepath.Join(examples, "cluster-iaas-static.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if r := strata(t, s, string(data), "apply", "-f", "-"); r.Code != 0 {
		t.Fatalf("apply the cluster: %s", r)
	}
	if got := fields(all.next(2), 2); strings.Join(got, "|") != "EVENT NAME|ADDED iaas-static" {
		t.Errorf("get clusters -w after the create: %q", got)
	}

	one := startWatch(t, s, "cluster", "iaas-static", "-w")
	if got := fields(one.next(2), 2); strings.Join(got, "|") != "NAME TYPE|iaas-static iaas" {
		t.Errorf("get cluster iaas-static -w: %q", got)
	}
	changed := strings.Replace(string(data), "- env:prod", "- env:prod\n    - watched:yes", 1)
	if r := strata(t, s, changed, "apply", "-f", "-"); r.Code != 0 || !strings.Contains(r.Stdout, "configured") {
		t.Fatalf("change the cluster: %s", r)
	}
	if r := strata(t, s, "", "delete", "cluster", "iaas-static"); r.Code != 0 {
		t.Fatalf("delete the cluster: %s", r)
	}
	if got := fields(all.next(2), 2); strings.Join(got, "|") != "MODIFIED iaas-static|DELETED iaas-static" {
		t.Errorf("get clusters -w after the change and the delete: %q", got)
	}
	if got := fields(one.next(2), 1); strings.Join(got, "|") != "iaas-static|iaas-static" {
		t.Errorf("get cluster iaas-static -w after the change and the delete: %q", got)
	}
	for _, w := range []*watchProcess{all, one} {
		if err := w.interrupt(); err != nil {
			t.Errorf("strata get -w after SIGINT: %v; stderr: %s", err, w.stderr)
		}
	}

	missing := strata(t, s, "", "get", "cluster", "nope", "-w")
	if missing.Code != 1 || !strings.Contains(missing.Stderr, `cluster "nope" not found`) {
		t.Errorf("get -w of a missing cluster: %s", missing)
	}
}
