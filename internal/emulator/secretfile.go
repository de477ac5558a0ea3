package emulator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Secrets the emulator keeps in its state directory, each created once with mode 0600.
const (
	// signingKeyFile is the RSA key that signs Entra ID tokens (PEM, PKCS #8).
	signingKeyFile = "token-signing-key.pem"
	// adminTokenFile is the bearer token of the admin endpoints.
	adminTokenFile = "admin-token"
)

// loadOrCreateSecret reads the secret file at path, or creates it with what generate returns
// when it does not exist. The file appears whole or not at all (a temporary file, fsync, then
// a link that fails when another process made the file first, whose content is then read),
// so emulators starting at once on one state directory share one secret and a crash leaves
// no empty file. A file readable by group or others is refused.
func loadOrCreateSecret(path string, generate func() ([]byte, error)) ([]byte, error) {
	b, err := readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	b, err = generate()
	if err != nil {
		return nil, err
	}
	err = createSecret(path, b)
	if errors.Is(err, fs.ErrExist) {
		return readSecret(path)
	}
	return b, err
}

// readSecret reads a secret file that only its owner may read.
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v: it must not be readable by group or others (chmod 600)", path, info.Mode().Perm())
	}
	b := make([]byte, info.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty: remove it to make a new one", path)
	}
	return b, nil
}

// createSecret writes data to a temporary file beside path, flushed to disk, and links it to
// path, which fails with fs.ErrExist when path exists.
func createSecret(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable too
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
