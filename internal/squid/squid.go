// Package squid runs Debian's squid as a local CONNECT proxy: a minimal configuration on a
// loopback port (loopback clients only, CONNECT to any port, no cache), a hosts file of its
// own, and its access log. Quickstart puts its gateway behind one, and the proxy tests use it
// (internal/squidtest).
package squid

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Binary is squid's path, or "" when it is not installed (make squid installs it).
func Binary() string {
	if p, err := exec.LookPath("squid"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/squid"); err == nil {
		return "/usr/sbin/squid"
	}
	return ""
}

// WriteConfig writes squid.conf, the hosts file (name to address) and empty logs into dir for
// a proxy on 127.0.0.1:port; run as root, squid works as user proxy, who is given dir and its
// logs.
func WriteConfig(dir string, port int, hosts map[string]string) error {
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
	files := map[string]string{"squid.conf": conf, "hosts": hostsFile(hosts), "access.log": "", "cache.log": ""}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("squid: %w", err)
		}
	}
	if os.Geteuid() != 0 {
		return nil
	}
	return chownToProxy(dir, "access.log", "cache.log")
}

// hostsFile is a hosts file of the names and their addresses, sorted by name.
func hostsFile(hosts map[string]string) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(hosts)) {
		fmt.Fprintf(&b, "%s %s\n", hosts[name], name)
	}
	return b.String()
}

// proxyUser returns the user and group IDs of user proxy.
func proxyUser() (uid, gid int, err error) {
	u, err := user.Lookup("proxy")
	if err != nil {
		return 0, 0, fmt.Errorf("squid runs as user proxy: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// chownToProxy gives dir and its files named to user proxy, as which squid runs when started
// by root.
func chownToProxy(dir string, names ...string) error {
	uid, gid, err := proxyUser()
	if err != nil {
		return err
	}
	for _, p := range append([]string{dir}, names...) {
		if p != dir {
			p = filepath.Join(dir, p)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("squid: %w", err)
		}
	}
	return nil
}

// Command is squid in the foreground (-N) with dir's configuration, its output to out.
func Command(bin, dir string, out *os.File) *exec.Cmd {
	cmd := exec.Command(bin, "-N", "-f", filepath.Join(dir, "squid.conf"))
	cmd.Stdout, cmd.Stderr = out, out
	return cmd
}

// WaitListening waits until 127.0.0.1:port accepts connections, the process ends (exited is
// closed) or ctx ends.
func WaitListening(ctx context.Context, port int, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		select {
		case <-exited:
			return errors.New("squid exited at start")
		case <-ctx.Done():
			return fmt.Errorf("squid did not listen on %s: %w", addr, ctx.Err())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startLocked starts cmd from a goroutine that keeps its OS thread until cmd has ended, and
// closes exited then: the parent-death signal (dieWithParent) fires when the thread that
// started the process ends, and Go ends a thread only when a goroutine locked to it exits.
func startLocked(cmd *exec.Cmd, exited chan<- struct{}) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	return <-started
}

// Run starts squid on 127.0.0.1:port in a new directory and returns its URL and what stops it
// (SIGTERM, then SIGKILL after 10 s) and removes the directory. Squid ends with strata's
// process too, when that is killed before it can stop it.
func Run(ctx context.Context, bin string, port int) (proxyURL string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "strata-squid-")
	if err != nil {
		return "", nil, fmt.Errorf("squid: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	if err := WriteConfig(dir, port, nil); err != nil {
		cleanup()
		return "", nil, err
	}
	out, err := os.Create(filepath.Join(dir, "squid.out"))
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("squid: %w", err)
	}
	defer out.Close()
	cmd := Command(bin, dir, out)
	if cmd.SysProcAttr, err = dieWithParent(); err != nil {
		cleanup()
		return "", nil, err
	}
	exited := make(chan struct{})
	if err := startLocked(cmd, exited); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("squid: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		cleanup()
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := WaitListening(wctx, port, exited); err != nil {
		stop()
		return "", nil, err
	}
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), stop, nil
}
