package emulator

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateDirIsPrivate: a state directory found wider (made by hand, or by an older emulator)
// is narrowed to 0700, its key and state files to 0600, with a warning; the CA certificate,
// public, stays readable.
func TestStateDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	em, err := New(Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	private := []string{caKeyFile, signingKeyFile, adminTokenFile, stateFile}
	for _, name := range private {
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	em, err = New(Options{StateDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	want := map[string]fs.FileMode{dir: 0o700, filepath.Join(dir, caCertFile): 0o644}
	for _, name := range private {
		want[filepath.Join(dir, name)] = 0o600
	}
	for p, m := range want {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != m {
			t.Errorf("%s: mode %v, want %v", p, got, m)
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, caKeyFile), filepath.Join(dir, signingKeyFile), filepath.Join(dir, adminTokenFile)} {
		if !strings.Contains(logs.String(), p) {
			t.Errorf("no warning names %s:\n%s", p, logs.String())
		}
	}
}
