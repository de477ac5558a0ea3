// Package holder keeps a server's lease-holder identity in its data directory, so that a
// server restarted on the same directory (after a crash, kill -9 included) is the same holder
// and takes back its own leases at once instead of waiting for them to expire.
//
// Two live processes with one identity would both believe they hold its leases. The identity
// file is therefore locked (an exclusive flock, released by the kernel when the process dies)
// for as long as the process runs; a second process on the same data directory cannot take
// the lock and gets a fresh identity of its own.
package holder

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// File is the name of the identity file in the data directory.
const File = "holder"

// maxLen bounds an identity read from the file.
const maxLen = 253

// Identity is the holder name of this process and, when it is the data directory's kept one,
// the lock on it.
type Identity struct {
	// Name names this process in leases.
	Name string
	// Kept is true when Name is the data directory's identity (taken back by a restart on
	// the same directory), false for an identity given by the operator or a fresh one.
	Kept bool
	// Busy is true when another live process holds the data directory's identity, so that
	// this one got a fresh identity instead.
	Busy bool

	f *os.File
}

// Acquire returns this process's identity. An explicit name (the --holder flag) is used as
// given: the operator keeps it unique among live servers. Otherwise the identity kept in
// dir/holder is locked and used, created on first use; when another live process holds it,
// a fresh identity is returned with Busy set. Close releases the lock.
func Acquire(dir, explicit string) (*Identity, error) {
	if explicit != "" {
		if err := validate(explicit); err != nil {
			return nil, err
		}
		return &Identity{Name: explicit}, nil
	}
	path := filepath.Join(dir, File)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("holder identity: %w", err)
	}
	if err := lock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return &Identity{Name: Fresh(), Busy: true}, nil
		}
		return nil, fmt.Errorf("holder identity: lock %s: %w", path, err)
	}
	name, err := readOrCreate(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("holder identity %s: %w", path, err)
	}
	return &Identity{Name: name, Kept: true, f: f}, nil
}

// Close releases the lock on the kept identity; the identity stays in the file.
func (id *Identity) Close() error {
	if id == nil || id.f == nil {
		return nil
	}
	err := id.f.Close() // closing the file releases the flock
	id.f = nil
	return err
}

// readOrCreate reads the identity in f, or writes a fresh one when f holds none.
func readOrCreate(f *os.File) (string, error) {
	b := make([]byte, maxLen+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if name := strings.TrimSpace(string(b[:n])); name != "" && validate(name) == nil {
		return name, nil
	}
	name := Fresh()
	if err := f.Truncate(0); err != nil {
		return "", err
	}
	if _, err := f.WriteAt([]byte(name+"\n"), 0); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return name, nil
}

// Fresh returns a new identity: the host name and a random suffix.
func Fresh() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "strata"
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// validate checks an identity: 1 to 253 printable ASCII characters without spaces.
func validate(name string) error {
	if name == "" || len(name) > maxLen {
		return fmt.Errorf("holder identity %q: must be 1 to %d characters", name, maxLen)
	}
	for _, r := range name {
		if r <= ' ' || r > '~' {
			return fmt.Errorf("holder identity %q: only printable ASCII characters without spaces are allowed", name)
		}
	}
	return nil
}
