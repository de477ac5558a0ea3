package blob

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// dataStore holds the bytes of blobs and staged blocks, each under an opaque id. Unwritten
// bytes read as zeros, so a large page blob costs only what was written to it.
type dataStore interface {
	// create makes an empty (all-zero) object of size bytes, replacing any with that id.
	create(id string, size int64) error
	// writeAt writes p at off; the object grows if needed.
	writeAt(id string, p []byte, off int64) error
	// readAt fills p from off; bytes past the end read as zeros.
	readAt(id string, p []byte, off int64) error
	// truncate sets the size of an object, dropping or zero-filling its tail.
	truncate(id string, size int64) error
	// remove deletes an object; removing a missing one is no error.
	remove(id string) error
	// ids lists the stored objects.
	ids() ([]string, error)
}

// chunkSize is the granularity of the in-memory store.
const chunkSize = 64 << 10

// memData keeps objects in memory as sparse chunks.
type memData struct {
	objects map[string]map[int64][]byte
}

func newMemData() *memData { return &memData{objects: map[string]map[int64][]byte{}} }

func (m *memData) create(id string, _ int64) error {
	m.objects[id] = map[int64][]byte{}
	return nil
}

func (m *memData) writeAt(id string, p []byte, off int64) error {
	obj, ok := m.objects[id]
	if !ok {
		obj = map[int64][]byte{}
		m.objects[id] = obj
	}
	for len(p) > 0 {
		idx, in := off/chunkSize, off%chunkSize
		c, ok := obj[idx]
		if !ok {
			c = make([]byte, chunkSize)
			obj[idx] = c
		}
		n := copy(c[in:], p)
		p, off = p[n:], off+int64(n)
	}
	return nil
}

func (m *memData) readAt(id string, p []byte, off int64) error {
	obj := m.objects[id]
	for len(p) > 0 {
		idx, in := off/chunkSize, off%chunkSize
		n := int64(len(p))
		if n > chunkSize-in {
			n = chunkSize - in
		}
		if c, ok := obj[idx]; ok {
			copy(p[:n], c[in:])
		} else {
			clear(p[:n])
		}
		p, off = p[n:], off+n
	}
	return nil
}

func (m *memData) truncate(id string, size int64) error {
	obj := m.objects[id]
	for idx, c := range obj {
		start := idx * chunkSize
		switch {
		case start >= size:
			delete(obj, idx)
		case start+chunkSize > size:
			clear(c[size-start:])
		}
	}
	return nil
}

func (m *memData) remove(id string) error {
	delete(m.objects, id)
	return nil
}

func (m *memData) ids() ([]string, error) {
	out := make([]string, 0, len(m.objects))
	for id := range m.objects {
		out = append(out, id)
	}
	return out, nil
}

// fileData keeps each object in a (sparse) file of dir.
type fileData struct {
	dir string
}

func newFileData(dir string) (*fileData, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob data directory: %w", err)
	}
	return &fileData{dir: dir}, nil
}

func (f *fileData) path(id string) string { return filepath.Join(f.dir, id) }

func (f *fileData) create(id string, size int64) error {
	file, err := os.OpenFile(f.path(id), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create blob data: %w", err)
	}
	if err := file.Truncate(size); err != nil {
		file.Close()
		return fmt.Errorf("size blob data: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("close blob data: %w", err)
	}
	return nil
}

func (f *fileData) writeAt(id string, p []byte, off int64) error {
	file, err := os.OpenFile(f.path(id), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open blob data: %w", err)
	}
	if _, err := file.WriteAt(p, off); err != nil {
		file.Close()
		return fmt.Errorf("write blob data: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("close blob data: %w", err)
	}
	return nil
}

func (f *fileData) readAt(id string, p []byte, off int64) error {
	file, err := os.Open(f.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		clear(p)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open blob data: %w", err)
	}
	defer file.Close()
	n, err := file.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read blob data: %w", err)
	}
	clear(p[n:])
	return nil
}

func (f *fileData) truncate(id string, size int64) error {
	if err := os.Truncate(f.path(id), size); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("truncate blob data: %w", err)
	}
	return nil
}

func (f *fileData) remove(id string) error {
	if err := os.Remove(f.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove blob data: %w", err)
	}
	return nil
}

func (f *fileData) ids() ([]string, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("list blob data: %w", err)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
