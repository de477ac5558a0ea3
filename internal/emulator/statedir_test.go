package emulator

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// TestConcurrentStartsShareOneCA: emulators starting at once on one fresh state directory all
// serve with the one CA that ca.pem holds, and ca-key.pem is that CA's key. Each making and
// writing its own would leave some serving under a CA that ca.pem is not, or a ca.pem and a
// ca-key.pem that do not belong together.
func TestConcurrentStartsShareOneCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	ems := make([]*Emulator, 6)
	errs := make([]error, len(ems))
	var wg sync.WaitGroup
	for i := range ems {
		wg.Go(func() { ems[i], errs[i] = New(Options{StateDir: dir}) })
	}
	wg.Wait()
	for i, em := range ems {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer em.Close()
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, em := range ems {
		if !bytes.Equal(em.CACertPEM(), certPEM) {
			t.Errorf("emulator %d serves under another CA than ca.pem", i)
		}
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, caKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := parseCAKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := parseCA(certPEM, key)
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(ca.cert.PublicKey) {
		t.Error("ca-key.pem is not the key of ca.pem")
	}
}

// TestCAKeptOrRemade: a restart serves under the CA it kept; with ca.pem removed, a new
// certificate of the kept key; with ca-key.pem removed, a new key and a ca.pem made for it.
func TestCAKeptOrRemade(t *testing.T) {
	for _, tc := range []struct {
		name              string
		remove            []string
		sameKey, sameCert bool
	}{
		{"nothing removed", nil, true, true},
		{"ca.pem removed", []string{caCertFile}, true, false},
		{"ca-key.pem removed", []string{caKeyFile}, false, false},
		{"both removed", []string{caCertFile, caKeyFile}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			start := func() *authority {
				em, err := New(Options{StateDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				if err := em.Close(); err != nil {
					t.Fatal(err)
				}
				return em.ca
			}
			before := start()
			for _, f := range tc.remove {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
			after := start()
			if got := before.key.Equal(after.key); got != tc.sameKey {
				t.Errorf("same key: %v, want %v", got, tc.sameKey)
			}
			if got := bytes.Equal(before.certPEM, after.certPEM); got != tc.sameCert {
				t.Errorf("same certificate: %v, want %v", got, tc.sameCert)
			}
			onDisk, err := os.ReadFile(filepath.Join(dir, caCertFile))
			if err != nil || !bytes.Equal(onDisk, after.certPEM) || !after.key.PublicKey.Equal(after.cert.PublicKey) {
				t.Errorf("ca.pem is not the CA served, or not its key's (%v)", err)
			}
		})
	}
}
