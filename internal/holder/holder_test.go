package holder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	first, err := Acquire(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Kept || first.Busy || first.Name == "" {
		t.Fatalf("first identity %+v", first)
	}
	info, err := os.Stat(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	if m := info.Mode().Perm(); m != 0o600 {
		t.Errorf("identity file mode %v, want 0600", m)
	}
	// A process that dies releases its lock: the next start takes the same identity back.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Acquire(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Name != first.Name || !again.Kept {
		t.Errorf("after a restart %+v, want %q kept", again, first.Name)
	}
}

func TestSecondLiveProcessGetsAFreshIdentity(t *testing.T) {
	dir := t.TempDir()
	live, err := Acquire(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	// flock locks belong to an open file: a second open in this process is refused like
	// another process would be.
	second, err := Acquire(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if !second.Busy || second.Kept || second.Name == live.Name || second.Name == "" {
		t.Errorf("second identity %+v beside %q: want a fresh one, marked busy", second, live.Name)
	}
	b, _ := os.ReadFile(filepath.Join(dir, File))
	if strings.TrimSpace(string(b)) != live.Name {
		t.Errorf("the file holds %q, want the live identity %q", b, live.Name)
	}
}

func TestExplicitIdentity(t *testing.T) {
	dir := t.TempDir()
	id, err := Acquire(dir, "strata-0")
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "strata-0" || id.Kept || id.Busy {
		t.Errorf("explicit identity %+v", id)
	}
	for _, bad := range []string{"has space", "tab\there", strings.Repeat("x", 254), "ü"} {
		if _, err := Acquire(dir, bad); err == nil {
			t.Errorf("identity %q accepted", bad)
		}
	}
}

func TestBadFileIsReplaced(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, File), []byte("  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := Acquire(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	b, _ := os.ReadFile(filepath.Join(dir, File))
	if id.Name == "" || strings.TrimSpace(string(b)) != id.Name {
		t.Errorf("identity %q, file %q", id.Name, b)
	}
}
