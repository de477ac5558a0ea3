package squid

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary run squid and wait, as quickstart does (see runHelper).
const helperEnv = "STRATA_SQUID_HELPER"

// TestRunEndsWithItsProcess: squid started by Run is gone once the process that started it is
// killed with SIGKILL, which runs no stop (it used to be left running, listening).
func TestRunEndsWithItsProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		runHelper()
	}
	if Binary() == "" {
		t.Skip("squid is not installed (make squid)")
	}
	if os.Geteuid() != 0 {
		t.Skip("squid runs as user proxy: the test needs root")
	}
	helper := exec.Command(os.Args[0], "-test.run", "^TestRunEndsWithItsProcess$")
	helper.Env = append(os.Environ(), helperEnv+"=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		_ = helper.Process.Kill()
		t.Fatalf("helper said %q, %v; want squid's URL", line, err)
	}
	u, err := url.Parse(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeDirOf(u.Port()) })
	if !listening(u.Host) {
		t.Fatalf("squid is not listening on %s while its process runs", u.Host)
	}
	_ = helper.Process.Kill()
	_ = helper.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for listening(u.Host) {
		if time.Now().After(deadline) {
			t.Fatalf("squid still listens on %s 15 s after its process was killed", u.Host)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runHelper runs squid on a free port, prints its URL and waits to be killed.
func runHelper() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	u, _, err := Run(context.Background(), Binary(), port)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(u)
	select {}
}

// listening reports whether addr accepts a connection.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// removeDirOf removes the directory a killed Run left for squid on port (nothing stopped it).
func removeDirOf(port string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "strata-squid-*"))
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "squid.conf")); err == nil && strings.Contains(string(b), "127.0.0.1:"+port+"\n") {
			_ = os.RemoveAll(d)
		}
	}
}
