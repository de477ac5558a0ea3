// Package datadir keeps strata's data directories private: the directory mode 0700 and the
// files that hold the database, keys or the emulated cloud mode 0600, whatever they were
// before strata started, so that a directory made by hand, or by an older strata, with a
// wider mode is narrowed rather than trusted.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// Modes strata gives its data directories and their private files.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// Change is a mode that strata narrowed.
type Change struct {
	Path     string
	Was, Now fs.FileMode
}

// Prepare creates dir with mode 0700 (and its missing parents), or narrows an existing dir
// whose mode lets group or others in to 0700. It returns the change made, nil when none was
// needed.
func Prepare(dir string) (*Change, error) {
	if dir == "" {
		return nil, errors.New("data directory: empty path")
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return nil, fmt.Errorf("create the data directory %s: %w", dir, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("data directory %s: not a directory", dir)
	}
	return narrow(dir, info.Mode().Perm(), DirMode)
}

// Restrict narrows each of the files that exists to mode 0600 when its mode lets group or
// others in; missing files are skipped. It returns the changes made.
func Restrict(paths ...string) ([]Change, error) {
	var changes []Change
	for _, p := range paths {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return changes, fmt.Errorf("stat %s: %w", p, err)
		}
		if info.IsDir() {
			return changes, fmt.Errorf("%s: a directory where a file was expected", p)
		}
		c, err := narrow(p, info.Mode().Perm(), FileMode)
		if err != nil {
			return changes, err
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	return changes, nil
}

// CreatePrivate creates path as an empty file of mode 0600 when it does not exist yet, and
// leaves an existing one alone. SQLite creates a database's -wal and -shm files with the
// database file's mode: a database created this way keeps them private too.
func CreatePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

// narrow sets path's mode to want when mode has group or other bits.
func narrow(path string, mode, want fs.FileMode) (*Change, error) {
	if mode&0o077 == 0 {
		return nil, nil
	}
	if err := os.Chmod(path, want); err != nil {
		return nil, fmt.Errorf("narrow the mode of %s from %v to %v: %w", path, mode, want, err)
	}
	return &Change{Path: path, Was: mode, Now: want}, nil
}

// Warn logs one warning for each change: a mode that let others read strata's data.
func Warn(log *slog.Logger, changes ...Change) {
	for _, c := range changes {
		log.Warn("narrowed a mode that let group or others in", "path", c.Path,
			"was", c.Was.String(), "now", c.Now.String())
	}
}
