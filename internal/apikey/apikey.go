// Package apikey makes and checks strata's API keys: a key is "strata_<id>_<secret>", shown
// once; only the id and the SHA-256 of the secret are kept (the secret is 256 random bits, so
// a plain hash cannot be reversed by guessing). Everything here is pure: the server stores the
// Records and asks Check on each request.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Prefix starts every key, so that secret scanners and people can tell one.
const Prefix = "strata_"

// Header is the header Palette's clients send a key in; "Authorization: Bearer" works too.
const Header = "ApiKey"

// DefaultMaxLifetime is the longest expiry a server allows unless configured otherwise.
const DefaultMaxLifetime = 365 * 24 * time.Hour

// encoding spells ids and secrets: lowercase base32 without padding, never '_'.
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Errors of Check and Parse.
var (
	ErrMalformed = errors.New("not a strata API key")
	ErrMismatch  = errors.New("the API key is not valid")
	ErrExpired   = errors.New("the API key has expired")
	ErrRevoked   = errors.New("the API key is revoked")
)

// Record is what is kept of a key.
type Record struct {
	// ID is the key's public part, its name in the store.
	ID string
	// Hash is the hex SHA-256 of the secret.
	Hash string
	// Expires is when the key stops working.
	Expires time.Time
	// Revoked keys are refused until re-activated.
	Revoked bool
}

// New makes a key from rand (crypto/rand.Reader when nil): the token to show once, and the
// Record to keep.
func New(r io.Reader, expires time.Time) (token string, rec Record, err error) {
	if r == nil {
		r = rand.Reader
	}
	id, secret := make([]byte, 10), make([]byte, 32)
	if _, err := io.ReadFull(r, id); err != nil {
		return "", Record{}, fmt.Errorf("apikey: %w", err)
	}
	if _, err := io.ReadFull(r, secret); err != nil {
		return "", Record{}, fmt.Errorf("apikey: %w", err)
	}
	rec = Record{ID: encoding.EncodeToString(id), Expires: expires}
	s := encoding.EncodeToString(secret)
	rec.Hash = hash(s)
	return Prefix + rec.ID + "_" + s, rec, nil
}

// Parse splits a token into its id and secret.
func Parse(token string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(token, Prefix)
	if !ok {
		return "", "", ErrMalformed
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" || strings.Contains(secret, "_") {
		return "", "", ErrMalformed
	}
	return id, secret, nil
}

// Check says whether secret opens rec at now: ErrMismatch, ErrRevoked, ErrExpired or nil. The
// comparison takes the same time whatever the secret.
func (rec Record) Check(secret string, now time.Time) error {
	if subtle.ConstantTimeCompare([]byte(hash(secret)), []byte(rec.Hash)) != 1 {
		return ErrMismatch
	}
	if rec.Revoked {
		return ErrRevoked
	}
	if !now.Before(rec.Expires) {
		return ErrExpired
	}
	return nil
}

// CheckExpiry checks the expiry asked for a new key: required, in the future, and at most
// maxLifetime from now.
func CheckExpiry(expires, now time.Time, maxLifetime time.Duration) error {
	switch {
	case expires.IsZero():
		return errors.New("an expiry is required")
	case !expires.After(now):
		return fmt.Errorf("the expiry %s is not in the future", expires.UTC().Format(time.RFC3339))
	case expires.Sub(now) > maxLifetime:
		return fmt.Errorf("the expiry %s is more than %s away: this server's maximum", expires.UTC().Format(time.RFC3339), maxLifetime)
	}
	return nil
}

// FromRequest returns the key a request carries, in "Authorization: Bearer strata_..." or in
// the ApiKey header, and whether it carries one. A bearer token that is not a strata key (an
// Entra ID token, say) is not one.
func FromRequest(h http.Header) (string, bool) {
	if v := strings.TrimSpace(h.Get(Header)); v != "" {
		return v, true
	}
	scheme, token, ok := strings.Cut(h.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") && strings.HasPrefix(strings.TrimSpace(token), Prefix) {
		return strings.TrimSpace(token), true
	}
	return "", false
}

// RecordUse says whether a use at now should be written, the last written at last: at most
// once per every, so that a busy key does not write at each request.
func RecordUse(last, now time.Time, every time.Duration) bool {
	return last.IsZero() || now.Sub(last) >= every
}

func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
