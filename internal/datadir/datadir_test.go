package datadir

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func TestPrepare(t *testing.T) {
	tests := []struct {
		name    string
		existed fs.FileMode // 0: missing
		want    fs.FileMode
		changed bool
	}{
		{"missing", 0, 0o700, false},
		{"private", 0o700, 0o700, false},
		{"narrower", 0o500, 0o500, false},
		{"group and others", 0o755, 0o700, true},
		{"group only", 0o750, 0o700, true},
		{"world writable", 0o777, 0o700, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "data")
			if tt.existed != 0 {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tt.existed); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Prepare(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := mode(t, dir); got != tt.want {
				t.Errorf("mode %v, want %v", got, tt.want)
			}
			if (c != nil) != tt.changed {
				t.Fatalf("change %+v, want changed=%v", c, tt.changed)
			}
			if c != nil && (c.Was != tt.existed || c.Now != 0o700 || c.Path != dir) {
				t.Errorf("change %+v", c)
			}
		})
	}
}

func TestPrepareRefusesAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(p); err == nil {
		t.Fatal("a file was accepted as the data directory")
	}
	if _, err := Prepare(""); err == nil {
		t.Fatal("an empty path was accepted")
	}
}

func TestRestrict(t *testing.T) {
	dir := t.TempDir()
	files := map[string]fs.FileMode{"wide": 0o644, "group": 0o640, "private": 0o600, "readonly": 0o400}
	var paths []string
	for name, m := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	paths = append(paths, filepath.Join(dir, "missing"))
	changes, err := Restrict(paths...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{"wide": 0o600, "group": 0o600, "private": 0o600, "readonly": 0o400}
	for name, m := range want {
		if got := mode(t, filepath.Join(dir, name)); got != m {
			t.Errorf("%s: mode %v, want %v", name, got, m)
		}
	}
	if len(changes) != 2 {
		t.Errorf("changes %+v, want the two wide files", changes)
	}
	for _, c := range changes {
		if c.Was != files[filepath.Base(c.Path)] || c.Now != 0o600 {
			t.Errorf("change %+v", c)
		}
	}
}

func TestCreatePrivate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "db")
	if err := CreatePrivate(p); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, p); got != 0o600 {
		t.Errorf("mode %v, want 0600", got)
	}
	// An existing file is left as it is, content included.
	if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CreatePrivate(p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "data" {
		t.Errorf("content %q changed", b)
	}
}
