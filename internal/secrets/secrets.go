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
	"os"
	"path/filepath"

	"github.com/strata-dev/strata/internal/atomicfile"
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

// LoadOrCreateKeyFile reads a base64 key from path, or creates the file (and its directory,
// mode 0700) with a new random key and mode 0600 when it does not exist. A key file readable
// by others is refused. The file appears whole or not at all (atomicfile.LoadOrCreate):
// servers starting at once on one data directory all get the one key, and a crash while it
// is written leaves no empty key file behind.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	text, err := atomicfile.LoadOrCreate(path, newKeyText)
	if err != nil {
		return nil, err // it names the file
	}
	return ParseKey(string(text))
}

// newKeyText returns a new random key in base64, as a key file holds it.
func newKeyText() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate encryption key: %w", err)
	}
	return []byte(base64.StdEncoding.EncodeToString(key) + "\n"), nil
}
