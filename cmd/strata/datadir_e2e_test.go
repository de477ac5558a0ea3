package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// modeOf returns the permission bits of path.
func modeOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

// assertPrivate checks that dir is 0700 and that each file directly in it is 0600, except those
// in public (a CA certificate).
func assertPrivate(t *testing.T, dir string, public ...string) {
	t.Helper()
	if m := modeOf(t, dir); m != 0o700 {
		t.Errorf("%s has mode %v, want 0700", dir, m)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		isPublic := false
		for _, name := range public {
			isPublic = isPublic || e.Name() == name
		}
		if m := modeOf(t, p); !isPublic && m != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, m)
		}
	}
}

// wideDataDir makes a data directory as a user might have made it by hand, or an older strata
// left it: mode 0755, an encryption key, a database and its WAL readable by everyone.
func wideDataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"encryption.key": base64.StdEncoding.EncodeToString(key) + "\n",
		"strata.db":      "", // an empty file is an empty SQLite database
		"strata.db-wal":  "",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runUntilHealthy starts `strata server` on dataDir, waits for /healthz, checks the data
// directory with check while it runs (the WAL and shared memory files exist then), and stops it.
func runUntilHealthy(t *testing.T, dataDir string, check func(logs string)) {
	t.Helper()
	srv := newRestartableServer(t, "server", []string{"--data-dir", dataDir}, nil)
	// The server has written: the WAL and its index exist.
	if resp, err := getWithCredentials(srv.URL, "/readyz"); err == nil {
		resp.Body.Close()
	}
	check(srv.logs.String())
}

// TestServerKeepsDataDirPrivate: the data directory is 0700 and the database, its WAL and
// shared-memory files and the encryption key are 0600, whether strata made the directory or
// found it wider (then it says so).
func TestServerKeepsDataDirPrivate(t *testing.T) {
	t.Run("fresh", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		runUntilHealthy(t, dir, func(string) {
			for _, name := range []string{"strata.db", "strata.db-wal", "strata.db-shm", "encryption.key"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			assertPrivate(t, dir)
		})
	})
	t.Run("existing and wider", func(t *testing.T) {
		dir := wideDataDir(t)
		runUntilHealthy(t, dir, func(logs string) {
			assertPrivate(t, dir)
			for _, name := range []string{dir, filepath.Join(dir, "encryption.key"), filepath.Join(dir, "strata.db")} {
				if !strings.Contains(logs, name) {
					t.Errorf("no warning names %s:\n%s", name, logs)
				}
			}
			if !strings.Contains(logs, "-rwxr-xr-x") || !strings.Contains(logs, "-rw-r--r--") {
				t.Errorf("the warnings do not give the modes found:\n%s", logs)
			}
		})
	})
}

// TestQuickstartKeepsDataDirPrivate: quickstart narrows its data directory and the emulator's
// state directory in it, with the files that hold keys and the emulated cloud.
func TestQuickstartKeepsDataDirPrivate(t *testing.T) {
	dir := wideDataDir(t)
	emu := filepath.Join(dir, "emulator")
	if err := os.Mkdir(emu, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(emu, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddress(t)
	cmd := exec.Command(strataBin, "quickstart", "--data-dir", dir, "--listen", addr, "--kubernetes=false")
	cmd.Env = append(os.Environ(), "STRATA_CONFIG="+filepath.Join(t.TempDir(), "cli-config.yaml"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serving := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "strata API") {
				close(serving)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	select {
	case <-serving:
	case err := <-exited:
		exited <- err
		t.Fatalf("quickstart exited before it served: %v\n%s", err, logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("quickstart did not serve within 60s:\n%s", logs)
	}
	assertPrivate(t, dir)
	assertPrivate(t, emu, "ca.pem")
	if !strings.Contains(logs.String(), dir) {
		t.Errorf("no warning names the data directory:\n%s", logs)
	}
}
