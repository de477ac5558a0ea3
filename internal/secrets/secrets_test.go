package secrets

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{1}, KeySize)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSealer(bytes.Repeat([]byte{2}, KeySize))
	plaintext := []byte("client-secret-value")
	sealed, err := s.Seal(plaintext, []byte("CloudAccount/uid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plaintext) {
		t.Fatal("sealed value holds the plaintext")
	}
	again, _ := s.Seal(plaintext, []byte("CloudAccount/uid-1"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one plaintext are equal: the nonce is not fresh")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name    string
		sealer  *Sealer
		sealed  []byte
		aad     string
		wantErr bool
	}{
		{"same key and owner", s, sealed, "CloudAccount/uid-1", false},
		{"another owner", s, sealed, "CloudAccount/uid-2", true},
		{"another key", other, sealed, "CloudAccount/uid-1", true},
		{"tampered", s, tampered, "CloudAccount/uid-1", true},
		{"truncated", s, sealed[:5], "CloudAccount/uid-1", true},
		{"unknown version", s, append([]byte{9}, sealed[1:]...), "CloudAccount/uid-1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.sealer.Open(tc.sealed, []byte(tc.aad))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("opened as %q", got)
				}
				return
			}
			if err != nil || !bytes.Equal(got, plaintext) {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	if _, err := NewSealer(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key was accepted for AES-256")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "encryption.key")
	key, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	again, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(key, again) {
		t.Fatalf("reload gave another key (%v)", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key file: err = %v", err)
	}
}

// TestKeyFileConcurrentCreate starts several servers' worth of callers on one fresh data
// directory at once: every one must get the same key, none an empty or partial file.
func TestKeyFileConcurrentCreate(t *testing.T) {
	for round := range 50 {
		path := filepath.Join(t.TempDir(), "encryption.key")
		const callers = 8
		keys := make([][]byte, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { keys[i], errs[i] = LoadOrCreateKeyFile(path) })
		}
		wg.Wait()
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("round %d, caller %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: callers got different keys", round)
			}
		}
		entries, err := os.ReadDir(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("round %d: the directory holds %d files, want only the key file", round, len(entries))
		}
	}
}

func TestParseKey(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, KeySize))
	tests := []struct {
		name, text string
		wantErr    bool
	}{
		{"32 bytes with a newline", good + "\n", false},
		{"not base64", "not base64!", true},
		{"16 bytes", base64.StdEncoding.EncodeToString(make([]byte, 16)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKey(tc.text)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}
