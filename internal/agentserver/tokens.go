package agentserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/holder"
	"github.com/strata-dev/strata/internal/store"
)

// ErrTokenRefused is returned for a registration token that is unknown, used, expired or
// malformed; which of them is not said.
var ErrTokenRefused = errors.New("the registration token is not valid: unknown, used or expired")

// errTokensBusy says that another request held the lease of a cluster's tokens for longer
// than tokenLeaseWait: the caller may try again (it is not a refusal).
var errTokensBusy = errors.New("the cluster's registration tokens are being changed by another request")

// DefaultTokenTTL is how long a registration token is valid: long enough for a VM to be made
// and boot, short enough that a leaked one is soon worthless.
const DefaultTokenTTL = 2 * time.Hour

// MaxOutstandingTokens bounds the registration tokens of one cluster that can be valid at
// once: minting another drops the oldest. A cluster has more than one while the token in its
// init VM's custom data and one the controller installs through the API are both waiting to
// be spent.
const MaxOutstandingTokens = 8

// Leases on a cluster's token record: how long one lasts, how long a request waits for
// another's, and how often it looks meanwhile.
const (
	tokenLeaseTTL   = 30 * time.Second
	tokenLeaseWait  = 10 * time.Second
	tokenLeasePause = 50 * time.Millisecond
)

// tokenRecord is a cluster's outstanding registration tokens as stored: their hashes, never
// the tokens. Hash and Expires are the one token of a record written before a cluster could
// have several (read as Tokens' only entry).
type tokenRecord struct {
	ClusterName string `json:"cluster"`
	// Gateway is set on the record of a private cloud gateway's tokens (keyed by its UID):
	// agents cannot spend them, nor gateways a cluster's.
	Gateway string       `json:"gateway,omitempty"`
	Tokens  []tokenEntry `json:"tokens,omitempty"`
	Hash    string       `json:"sha256,omitempty"`
	Expires time.Time    `json:"expires,omitzero"`
}

// tokenEntry is one outstanding token: the SHA-256 of its secret part, and its expiry.
type tokenEntry struct {
	Hash    string    `json:"sha256"`
	Expires time.Time `json:"expires"`
}

// entries are the record's tokens, a legacy single one included, oldest first.
func (r *tokenRecord) entries() []tokenEntry {
	if len(r.Tokens) == 0 && r.Hash != "" {
		return []tokenEntry{{Hash: r.Hash, Expires: r.Expires}}
	}
	return r.Tokens
}

// tokenSecret names the secret holding a cluster's registration token record; it is also the
// name of the lease taken while the record changes.
func tokenSecret(uid string) string { return "agent/token/" + uid }

// MintToken makes a new single-use registration token for the cluster, valid for ttl. The
// cluster's other outstanding tokens stay valid (but expired ones, and the oldest beyond
// MaxOutstandingTokens), until one of them is spent: spending any spends them all. The token
// is a secret: it goes only into the cluster's agent manifest.
func MintToken(ctx context.Context, st Store, id Identity, now time.Time, ttl time.Duration) (string, error) {
	if id.ClusterUID == "" || strings.Contains(id.ClusterUID, ".") {
		return "", fmt.Errorf("registration token: cluster %q has no usable UID", id.ClusterName)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("registration token: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	err := withTokenLease(ctx, st, id.ClusterUID, func() error {
		rec, err := readTokens(ctx, st, id.ClusterUID)
		if err != nil {
			return err
		}
		rec.ClusterName = id.ClusterName
		rec.Tokens = addToken(rec.entries(), tokenEntry{Hash: hashToken(secret), Expires: now.Add(ttl).UTC()}, now)
		rec.Hash, rec.Expires = "", time.Time{}
		b, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		return st.PutSecret(ctx, tokenSecret(id.ClusterUID), b)
	})
	if err != nil {
		return "", fmt.Errorf("registration token of cluster %q: %w", id.ClusterName, err)
	}
	return id.ClusterUID + "." + secret, nil
}

// addToken returns the outstanding tokens with e added last: those expired at now dropped,
// then the oldest beyond MaxOutstandingTokens.
func addToken(tokens []tokenEntry, e tokenEntry, now time.Time) []tokenEntry {
	out := make([]tokenEntry, 0, len(tokens)+1)
	for _, t := range tokens {
		if !now.After(t.Expires) {
			out = append(out, t)
		}
	}
	out = append(out, e)
	if n := len(out) - MaxOutstandingTokens; n > 0 {
		out = out[n:]
	}
	return out
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// ConsumeToken checks a registration token and spends it, with every other outstanding token
// of its cluster: it returns the cluster it was minted for, and the cluster's tokens are
// refused from then on, by every server of the store.
func ConsumeToken(ctx context.Context, st Store, token string, now time.Time) (Identity, error) {
	uid, secret, ok := strings.Cut(token, ".")
	if !ok || uid == "" || secret == "" || len(token) > 256 {
		return Identity{}, ErrTokenRefused
	}
	var id Identity
	err := withTokenLease(ctx, st, uid, func() error {
		rec, err := readTokens(ctx, st, uid)
		if err != nil {
			return err
		}
		if rec.Gateway != "" || !validToken(rec.entries(), hashToken(secret), now) {
			return ErrTokenRefused
		}
		if err := st.DeleteSecret(ctx, tokenSecret(uid)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("spend: %w", err)
		}
		id = Identity{ClusterName: rec.ClusterName, ClusterUID: uid}
		return nil
	})
	switch {
	case errors.Is(err, ErrTokenRefused):
		return Identity{}, ErrTokenRefused
	case err != nil:
		return Identity{}, fmt.Errorf("registration token: %w", err)
	}
	return id, nil
}

// validToken reports whether hash is that of one of the tokens not expired at now. Every
// token is compared, in constant time.
func validToken(tokens []tokenEntry, hash string, now time.Time) bool {
	found := false
	for _, t := range tokens {
		match := subtle.ConstantTimeCompare([]byte(hash), []byte(t.Hash)) == 1
		found = found || (match && !now.After(t.Expires))
	}
	return found
}

// readTokens reads a cluster's token record; none is an empty one.
func readTokens(ctx context.Context, st Store, uid string) (tokenRecord, error) {
	b, err := st.GetSecret(ctx, tokenSecret(uid))
	if errors.Is(err, store.ErrNotFound) {
		return tokenRecord{}, nil
	}
	if err != nil {
		return tokenRecord{}, fmt.Errorf("read: %w", err)
	}
	var rec tokenRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return tokenRecord{}, fmt.Errorf("decode: %w", err)
	}
	return rec, nil
}

// withTokenLease runs f holding the lease of the cluster's token record, so that two mints,
// or a mint and a use, never interleave: it waits up to tokenLeaseWait for another holder to
// release it, then gives up with errTokensBusy.
func withTokenLease(ctx context.Context, st Store, uid string, f func() error) error {
	lease, me := tokenSecret(uid), holder.Fresh()
	deadline := time.Now().Add(tokenLeaseWait)
	for {
		got, err := st.AcquireLease(ctx, lease, me, tokenLeaseTTL)
		if err != nil {
			return fmt.Errorf("take the lease: %w", err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			return errTokensBusy
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(tokenLeasePause):
		}
	}
	defer func() { _ = st.ReleaseLease(context.WithoutCancel(ctx), lease, me) }()
	return f()
}

// RevokeToken forgets a cluster's registration tokens, if any.
func RevokeToken(ctx context.Context, st Store, uid string) error {
	err := st.DeleteSecret(ctx, tokenSecret(uid))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke the registration tokens: %w", err)
	}
	return nil
}
