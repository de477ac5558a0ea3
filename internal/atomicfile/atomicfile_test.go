package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "emulator.address")
	if err := Create(path, []byte("127.0.0.1:40557\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v, mode %v", err, st.Mode())
	}
	err = Create(path, []byte("other"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("a second Create = %v, want fs.ErrExist", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "127.0.0.1:40557\n" {
		t.Errorf("the file was replaced: %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := Create(filepath.Join(dir, "missing", "f"), nil, 0o600); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
}
