// Package password checks and hashes the passwords of strata's local users with bcrypt. It
// holds no state: the hashes are kept by the caller (sealed in the store).
package password

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Length bounds of a password, in bytes: bcrypt reads at most 72.
const (
	MinLength = 12
	MaxLength = 72
)

// cost is bcrypt's work factor: about 0.1 s a check on one core.
const cost = 11

// ErrMismatch is a password that does not match the hash.
var ErrMismatch = errors.New("wrong user name or password")

// Validate says why pw cannot be a password, or nil.
func Validate(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return errors.New("must be UTF-8 text")
	case len(pw) < MinLength:
		return fmt.Errorf("must be at least %d bytes long", MinLength)
	case len(pw) > MaxLength:
		return fmt.Errorf("must be at most %d bytes long (bcrypt reads no more)", MaxLength)
	case strings.TrimSpace(pw) != pw:
		return errors.New("must not begin or end with white space")
	case strings.ContainsFunc(pw, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return errors.New("must not hold control characters")
	}
	return nil
}

// Hash validates pw and returns its bcrypt hash.
func Hash(pw string) ([]byte, error) {
	if err := Validate(pw); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return nil, fmt.Errorf("hash the password: %w", err)
	}
	return h, nil
}

// decoy is a hash that no password of Validate matches, compared when a user has no password,
// so that the answer takes as long as for a wrong one and says nothing of who exists.
var decoy, _ = bcrypt.GenerateFromPassword([]byte("\x00 no password matches this"), cost)

// Check compares pw with hash (nil: the user has none) and returns ErrMismatch unless it
// matches; it takes about as long either way.
func Check(hash []byte, pw string) error {
	if len(hash) == 0 {
		_ = bcrypt.CompareHashAndPassword(decoy, []byte(pw))
		return ErrMismatch
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(pw)); err != nil {
		return ErrMismatch
	}
	return nil
}
