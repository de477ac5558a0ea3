// Package squidtest runs Debian's squid as a CONNECT proxy for tests: a minimal configuration on
// a loopback port, a hosts file of its own (names only squid resolves prove that a client went
// through it), and its access log to read. Tests skip when squid is not installed (make squid).
package squidtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/squid"
)

// Binary is squid's path, or "" when it is not installed.
func Binary() string { return squid.Binary() }

// Squid is a squid process on 127.0.0.1:port with its configuration, logs and pid file in
// dir; it can be stopped and started again on the same port.
type Squid struct {
	t    *testing.T
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start writes squid's minimal configuration (loopback clients only, CONNECT to any port,
// no cache, hosts in its hosts_file: name to address) and starts it; the test's end stops it.
// It skips the test when squid is not installed.
func Start(t *testing.T, port int, hosts map[string]string) *Squid {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("squid not installed: make squid")
	}
	// Not t.TempDir: its parents are private to this user, and squid, started as root,
	// works as user proxy.
	dir, err := os.MkdirTemp("", "strata-squid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := squid.WriteConfig(dir, port, hosts); err != nil {
		t.Fatal(err)
	}
	s := &Squid{t: t, bin: bin, dir: dir, port: port}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start runs squid in the foreground (-N) and waits until it accepts connections.
func (s *Squid) Start() {
	s.t.Helper()
	out, err := os.OpenFile(filepath.Join(s.dir, "squid.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close()
	cmd := squid.Command(s.bin, s.dir, out)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start squid: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := squid.WaitListening(ctx, s.port, done); err != nil {
		s.t.Fatalf("%v\n%s", err, s.Logs())
	}
}

// Stop sends squid SIGTERM and waits for it to exit (it closes its tunnels after
// shutdown_lifetime, 1 s), killing it after 60 s.
func (s *Squid) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		s.t.Errorf("squid did not exit within 60s of SIGTERM; killed")
	}
}

func (s *Squid) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// AccessLog returns the lines of squid's access.log.
func (s *Squid) AccessLog() []string {
	f, err := os.Open(filepath.Join(s.dir, "access.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// Tunnels returns the access.log lines of tunnels to host:port that squid opened (a CONNECT
// answered 200, TCP_TUNNEL/200); squid writes one when its tunnel closes.
func (s *Squid) Tunnels(hostPort string) []string {
	var found []string
	for _, l := range s.AccessLog() {
		if strings.Contains(l, "TCP_TUNNEL/200") && strings.Contains(l, " CONNECT "+hostPort+" ") {
			found = append(found, l)
		}
	}
	return found
}

// logs is squid's output and cache.log, for failure messages.
func (s *Squid) Logs() string {
	var b strings.Builder
	for _, name := range []string{"squid.out", "cache.log"} {
		data, _ := os.ReadFile(filepath.Join(s.dir, name))
		fmt.Fprintf(&b, "--- %s\n%s", name, data)
	}
	return b.String()
}
