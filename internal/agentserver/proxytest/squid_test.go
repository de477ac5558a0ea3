package proxytest_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// endpointName is the agent endpoint's host name: only squid's hosts_file maps it (to
// 127.0.0.1), so the agent reaches the endpoint through the proxy or not at all.
const endpointName = "strata-agent-endpoint.test"

// squidPort is the proxy's port on 127.0.0.1, chosen by TestMain, which points HTTPS_PROXY at
// it before anything dials: net/http (which grpc-go asks) reads the proxy environment once per
// process.
var squidPort int

func TestMain(m *testing.M) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxytest:", err)
		os.Exit(1)
	}
	squidPort = ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	proxy := fmt.Sprintf("http://127.0.0.1:%d", squidPort)
	for k, v := range map[string]string{"HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": "", "no_proxy": ""} {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, "proxytest:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// squidBinary is squid's path, or "" when it is not installed.
func squidBinary() string {
	if p, err := exec.LookPath("squid"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/squid"); err == nil {
		return "/usr/sbin/squid"
	}
	return ""
}

// squid is a squid process on 127.0.0.1:port with its configuration, logs and pid file in
// dir; it can be stopped and started again on the same port.
type squid struct {
	t    *testing.T
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// startSquid writes squid's minimal configuration (loopback clients only, CONNECT to any
// port, no cache, endpointName in its hosts_file) and starts it; the test's end stops it.
// It skips the test when squid is not installed.
func startSquid(t *testing.T, port int) *squid {
	t.Helper()
	bin := squidBinary()
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
	conf := fmt.Sprintf(`http_port 127.0.0.1:%[1]d
acl local src 127.0.0.0/8
acl tunnel method CONNECT
http_access allow local tunnel
http_access allow local
http_access deny all
cache deny all
hosts_file %[2]s/hosts
access_log stdio:%[2]s/access.log
cache_log %[2]s/cache.log
pid_filename %[2]s/squid.pid
coredump_dir %[2]s
netdb_filename none
pinger_enable off
logfile_rotate 0
shutdown_lifetime 1 seconds
`, port, dir)
	files := map[string]string{"squid.conf": conf, "hosts": "127.0.0.1 " + endpointName + "\n", "access.log": "", "cache.log": ""}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		chownToProxy(t, dir, "access.log", "cache.log")
	}
	s := &squid{t: t, bin: bin, dir: dir, port: port}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// chownToProxy gives dir and its files named to user proxy, as which squid runs when started
// by root.
func chownToProxy(t *testing.T, dir string, names ...string) {
	t.Helper()
	u, err := user.Lookup("proxy")
	if err != nil {
		t.Fatalf("squid runs as user proxy: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range append([]string{dir}, names...) {
		if p != dir {
			p = filepath.Join(dir, p)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// start runs squid in the foreground (-N) and waits until it accepts connections.
func (s *squid) start() {
	s.t.Helper()
	out, err := os.OpenFile(filepath.Join(s.dir, "squid.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(s.bin, "-N", "-f", filepath.Join(s.dir, "squid.conf"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start squid: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			s.t.Fatalf("squid exited at start: %v\n%s", cmd.ProcessState, s.logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr(), time.Second); err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("squid did not listen on %s within 60s\n%s", s.addr(), s.logs())
}

// stop sends squid SIGTERM and waits for it to exit (it closes its tunnels after
// shutdown_lifetime, 1 s), killing it after 60 s.
func (s *squid) stop() {
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

func (s *squid) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// accessLog returns the lines of squid's access.log.
func (s *squid) accessLog() []string {
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

// tunnels returns the access.log lines of tunnels to host:port that squid opened (a CONNECT
// answered 200, TCP_TUNNEL/200); squid writes one when its tunnel closes.
func (s *squid) tunnels(hostPort string) []string {
	var found []string
	for _, l := range s.accessLog() {
		if strings.Contains(l, "TCP_TUNNEL/200") && strings.Contains(l, " CONNECT "+hostPort+" ") {
			found = append(found, l)
		}
	}
	return found
}

// logs is squid's output and cache.log, for failure messages.
func (s *squid) logs() string {
	var b strings.Builder
	for _, name := range []string{"squid.out", "cache.log"} {
		data, _ := os.ReadFile(filepath.Join(s.dir, name))
		fmt.Fprintf(&b, "--- %s\n%s", name, data)
	}
	return b.String()
}
