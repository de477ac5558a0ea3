// Package atomicfile writes files that appear whole or not at all: a crash, even kill -9,
// while one is written leaves no empty or partial file behind. Create never replaces a file
// that exists, Replace does, and LoadOrCreate keeps a private file (a key, a token) that
// processes starting at once create once and share.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Create writes data to a new file at path with mode perm. The data goes to a temporary file
// beside path, is flushed to disk, and is then linked to path, which fails with an error
// matching fs.ErrExist when path already exists. The directory must exist.
func Create(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, os.Link)
}

// Replace writes data to path with mode perm, replacing the file there if any: a reader sees
// the old content or the new, never a part. The data goes to a temporary file beside path, is
// flushed to disk, and is then renamed to path. The directory must exist.
func Replace(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, os.Rename)
}

// write puts data in a temporary file beside path with mode perm, flushes it and gives it
// the name path with publish (os.Link or os.Rename), then flushes the directory so that the
// new name lasts too. The temporary file is removed in every case.
func write(path string, data []byte, perm os.FileMode, publish func(from, to string) error) error {
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
	if err := publish(f.Name(), path); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// LoadOrCreate reads the private file at path, or creates it (Create, mode 0600) with what
// generate returns when it does not exist. Processes starting at once all get the content of
// the one file that won the race. A file readable by group or others, or an empty one, is
// refused with an error that names it and says what to do.
func LoadOrCreate(path string, generate func() ([]byte, error)) ([]byte, error) {
	b, err := readPrivate(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	b, err = generate()
	if err != nil {
		return nil, err
	}
	err = Create(path, b, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readPrivate(path) // another process created it first
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// readPrivate reads a file that only its owner may read; its mode is checked on the open
// file, so what is read is what was checked.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v: it must not be readable by group or others (chmod 600)", path, info.Mode().Perm())
	}
	b := make([]byte, info.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty: remove it to make a new one", path)
	}
	return b, nil
}
