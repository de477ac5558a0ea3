// Package secrets seals secrets at rest with AES-256-GCM under a key kept in a file or given by
// the operator.
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the AES-256 key length in bytes.
const KeySize = 32

// version prefixes every sealed value so the format can change later.
const version byte = 1

// Sealer encrypts and decrypts secrets. The additional data binds a ciphertext to its owner (for
// example the object's kind and UID) so that it cannot be moved to another object.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("encryption key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create GCM: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext with a fresh random nonce.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	out := append([]byte{version}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, additionalData), nil
}

// Open decrypts what Seal produced with the same additional data.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != version {
		return nil, errors.New("sealed secret is malformed")
	}
	pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], additionalData)
	if err != nil {
		return nil, fmt.Errorf("open sealed secret (wrong encryption key?): %w", err)
	}
	return pt, nil
}

// createKeyFile writes a new random key to a temporary file beside path, flushed to disk, and
// links it to path, which fails with fs.ErrExist when path already exists.
func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate encryption key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".encryption-key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable too
		_ = d.Sync()
		_ = d.Close()
	}
	return key, nil
}

// ParseKey decodes a base64 key as given in a flag or environment variable.
func ParseKey(text string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace([]byte(text))))
	if err != nil {
		return nil, fmt.Errorf("encryption key is not base64: %w", err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("encryption key must decode to %d bytes, got %d", KeySize, len(key))
	}
	return key, nil
}

// LoadOrCreateKeyFile reads a base64 key from path, or creates the file with a new random key and
// mode 0600 when it does not exist. A key file readable by others is refused. The file appears
// whole or not at all: servers starting at once on one data directory all get the one key, and
// a crash while it is written leaves no empty key file behind.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := createKeyFile(path)
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreateKeyFile(path) // another process created it first
		}
		return key, err
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %v: it must not be readable by group or others (chmod 600)", path, info.Mode().Perm())
	}
	return ParseKey(string(data))
}
