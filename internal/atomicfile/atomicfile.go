// Package atomicfile creates files that appear whole or not at all: a crash, even kill -9,
// while one is written leaves no empty or partial file behind, and an existing file is never
// replaced.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Create writes data to a new file at path with mode perm. The data goes to a temporary file
// beside path, is flushed to disk, and is then linked to path, which fails with an error
// matching fs.ErrExist when path already exists. The directory must exist.
func Create(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable too
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
