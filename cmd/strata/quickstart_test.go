package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// TestQuickstartEndToEnd runs `strata quickstart` in a fresh data directory, waits for the
// example IaaS cluster and the example AKS cluster to be Running, checks them through the CLI,
// and stops it with SIGTERM.
func TestQuickstartEndToEnd(t *testing.T) {
	addr := freeAddress(t)
	cmd := exec.Command(strataBin, "quickstart", "--data-dir", t.TempDir(), "--listen", addr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	out := &syncBuffer{}
	running := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		waiting := map[string]bool{"iaas-dynamic": true, "aks-prod": true}
		for sc.Scan() {
			line := sc.Text()
			out.Write([]byte(line + "\n"))
			for name := range waiting {
				if strings.Contains(line, name) && strings.Contains(line, "Running") {
					delete(waiting, name)
					if len(waiting) == 0 {
						close(running)
					}
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		_ = cmd.Process.Kill()
		<-exited
	})

	select {
	case <-running:
	case err := <-exited:
		stopped = true
		t.Fatalf("quickstart exited before the cluster was Running: %v\nstdout:\n%s\nstderr:\n%s", err, out, logs)
	case <-time.After(90 * time.Second):
		t.Fatalf("the example clusters were not Running within 90s\nstdout:\n%s\nstderr:\n%s", out, logs)
	}

	r := strata(t, "http://"+addr, "", "get", "clusters")
	if r.Code != 0 || !strings.Contains(r.Stdout, "iaas-dynamic") || !strings.Contains(r.Stdout, "aks-prod") || !strings.Contains(r.Stdout, "Running") {
		t.Errorf("strata get clusters: %s", r)
	}
	if r := strata(t, "http://"+addr, "", "kubeconfig", "aks-prod"); r.Code != 0 || !strings.Contains(r.Stdout, "azmk8s.io") {
		t.Errorf("strata kubeconfig aks-prod: %s", r)
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("quickstart exited with %v after SIGTERM\nstderr:\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("quickstart did not stop within 30s of SIGTERM\nstderr:\n%s", logs)
	}
	if !strings.Contains(out.String(), "strata --server http://"+addr) {
		t.Errorf("no summary with the API address:\n%s", out)
	}
}
