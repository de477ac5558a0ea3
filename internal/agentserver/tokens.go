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

// DefaultTokenTTL is how long a registration token is valid: long enough for a VM to be made
// and boot, short enough that a leaked one is soon worthless.
const DefaultTokenTTL = 2 * time.Hour

// tokenRecord is a registration token as stored: its hash, never the token.
type tokenRecord struct {
	Hash        string    `json:"sha256"`
	ClusterName string    `json:"cluster"`
	Expires     time.Time `json:"expires"`
}

// tokenSecret names the secret holding a cluster's registration token record.
func tokenSecret(uid string) string { return "agent/token/" + uid }

// MintToken makes a new single-use registration token for the cluster, valid for ttl (the
// previous one of the cluster, if any, stops working). The token is a secret: it goes only
// into the cluster's agent manifest.
func MintToken(ctx context.Context, st Store, id Identity, now time.Time, ttl time.Duration) (string, error) {
	if id.ClusterUID == "" || strings.Contains(id.ClusterUID, ".") {
		return "", fmt.Errorf("registration token: cluster %q has no usable UID", id.ClusterName)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("registration token: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	rec := tokenRecord{Hash: hashToken(secret), ClusterName: id.ClusterName, Expires: now.Add(ttl).UTC()}
	b, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("registration token: %w", err)
	}
	if err := st.PutSecret(ctx, tokenSecret(id.ClusterUID), b); err != nil {
		return "", fmt.Errorf("registration token of cluster %q: %w", id.ClusterName, err)
	}
	return id.ClusterUID + "." + secret, nil
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// ConsumeToken checks a registration token and spends it: it returns the cluster it was
// minted for, and the same token is refused from then on, by every server of the store.
func ConsumeToken(ctx context.Context, st Store, token string, now time.Time) (Identity, error) {
	uid, secret, ok := strings.Cut(token, ".")
	if !ok || uid == "" || secret == "" || len(token) > 256 {
		return Identity{}, ErrTokenRefused
	}
	lease, me := tokenSecret(uid), holder.Fresh()
	got, err := st.AcquireLease(ctx, lease, me, 30*time.Second)
	if err != nil {
		return Identity{}, fmt.Errorf("registration token: %w", err)
	}
	if !got {
		return Identity{}, ErrTokenRefused // being spent by another request right now
	}
	defer func() { _ = st.ReleaseLease(context.WithoutCancel(ctx), lease, me) }()
	b, err := st.GetSecret(ctx, tokenSecret(uid))
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, ErrTokenRefused
	}
	if err != nil {
		return Identity{}, fmt.Errorf("registration token: %w", err)
	}
	var rec tokenRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return Identity{}, fmt.Errorf("registration token: decode: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(secret)), []byte(rec.Hash)) != 1 {
		return Identity{}, ErrTokenRefused
	}
	if err := st.DeleteSecret(ctx, tokenSecret(uid)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Identity{}, fmt.Errorf("registration token: spend: %w", err)
	}
	if now.After(rec.Expires) {
		return Identity{}, ErrTokenRefused
	}
	return Identity{ClusterName: rec.ClusterName, ClusterUID: uid}, nil
}

// RevokeToken forgets a cluster's registration token, if any.
func RevokeToken(ctx context.Context, st Store, uid string) error {
	err := st.DeleteSecret(ctx, tokenSecret(uid))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke the registration token: %w", err)
	}
	return nil
}
