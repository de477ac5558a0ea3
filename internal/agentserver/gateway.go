package agentserver

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/kubecert"
)

// gatewayOrganization is the organization of every private cloud gateway certificate.
const gatewayOrganization = "strata:gateways"

// GatewayIdentity is the private cloud gateway a gateway certificate names.
type GatewayIdentity struct {
	Name, UID string
}

func (id GatewayIdentity) subject() pkix.Name {
	return pkix.Name{CommonName: id.UID, Organization: []string{gatewayOrganization}, OrganizationalUnit: []string{id.Name}}
}

// GatewayIdentityOf reads the identity of a verified gateway certificate's subject.
func GatewayIdentityOf(s pkix.Name) (GatewayIdentity, bool) {
	if len(s.Organization) != 1 || s.Organization[0] != gatewayOrganization || len(s.OrganizationalUnit) != 1 || s.CommonName == "" {
		return GatewayIdentity{}, false
	}
	return GatewayIdentity{Name: s.OrganizationalUnit[0], UID: s.CommonName}, true
}

// SignGateway signs a client certificate of csrPEM's key for the gateway.
func (a *Authority) SignGateway(csrPEM []byte, id GatewayIdentity, now time.Time, validity time.Duration) (kubecert.Credential, error) {
	return a.ca.SignClientCSR(csrPEM, id.subject(), now, validity)
}

// DefaultGatewayTokenTTL is how long a gateway's registration token is valid: long enough to
// carry it to the machine where the gateway runs.
const DefaultGatewayTokenTTL = time.Hour

// MintGatewayToken makes a new single-use registration token for the gateway, valid for ttl.
// Unlike a cluster's, a gateway's tokens are spent one by one: each replica registers with
// its own. The token is a secret, shown once.
func MintGatewayToken(ctx context.Context, st Store, id GatewayIdentity, now time.Time, ttl time.Duration) (string, error) {
	if id.UID == "" || strings.Contains(id.UID, ".") {
		return "", fmt.Errorf("registration token: gateway %q has no usable UID", id.Name)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("registration token: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	err := withTokenLease(ctx, st, id.UID, func() error {
		rec, err := readTokens(ctx, st, id.UID)
		if err != nil {
			return err
		}
		rec.Gateway = id.Name
		rec.Tokens = addToken(rec.entries(), tokenEntry{Hash: hashToken(secret), Expires: now.Add(ttl).UTC()}, now)
		return writeTokens(ctx, st, id.UID, rec)
	})
	if err != nil {
		return "", fmt.Errorf("registration token of gateway %q: %w", id.Name, err)
	}
	return id.UID + "." + secret, nil
}

// ConsumeGatewayToken checks a gateway's registration token and spends it (only it): it
// returns the gateway it was minted for.
func ConsumeGatewayToken(ctx context.Context, st Store, token string, now time.Time) (GatewayIdentity, error) {
	uid, secret, ok := strings.Cut(token, ".")
	if !ok || uid == "" || secret == "" || len(token) > 256 {
		return GatewayIdentity{}, ErrTokenRefused
	}
	var id GatewayIdentity
	err := withTokenLease(ctx, st, uid, func() error {
		rec, err := readTokens(ctx, st, uid)
		if err != nil {
			return err
		}
		hash := hashToken(secret)
		if rec.Gateway == "" || !validToken(rec.entries(), hash, now) {
			return ErrTokenRefused
		}
		rec.Tokens = slices.DeleteFunc(rec.entries(), func(e tokenEntry) bool { return e.Hash == hash || now.After(e.Expires) })
		id = GatewayIdentity{Name: rec.Gateway, UID: uid}
		return writeTokens(ctx, st, uid, rec)
	})
	if err != nil {
		if err == ErrTokenRefused {
			return GatewayIdentity{}, err
		}
		return GatewayIdentity{}, fmt.Errorf("registration token: %w", err)
	}
	return id, nil
}

func writeTokens(ctx context.Context, st Store, uid string, rec tokenRecord) error {
	rec.Hash, rec.Expires = "", time.Time{}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return st.PutSecret(ctx, tokenSecret(uid), b)
}
