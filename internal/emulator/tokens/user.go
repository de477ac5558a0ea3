package tokens

import (
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// UserClaims are the claims of the Entra ID v2.0 tokens the emulator issues for a signed-in
// user: the id_token (Audience the client ID, Nonce when the sign-in request had one) and the
// access token (Audience the resource, AuthorizedParty the client, Scope the granted scopes).
type UserClaims struct {
	Audience  string           `json:"aud"`
	Issuer    string           `json:"iss"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ExpiresAt *jwt.NumericDate `json:"exp,omitempty"`
	// AuthorizedParty (azp) and AuthorizedPartyACR (azpacr, "0" for a public client) name the
	// client an access token was issued to.
	AuthorizedParty    string `json:"azp,omitempty"`
	AuthorizedPartyACR string `json:"azpacr,omitempty"`
	Name               string `json:"name,omitempty"`
	Nonce              string `json:"nonce,omitempty"`
	ObjectID           string `json:"oid,omitempty"`
	PreferredUsername  string `json:"preferred_username,omitempty"`
	// Scope (scp) is the space-separated scopes an access token grants, without the resource.
	Scope    string `json:"scp,omitempty"`
	Subject  string `json:"sub,omitempty"`
	TenantID string `json:"tid"`
	// Groups are the object IDs of the user's groups.
	Groups  []string `json:"groups,omitempty"`
	TokenID string   `json:"uti,omitempty"`
	Version string   `json:"ver,omitempty"`
}

// GetExpirationTime implements jwt.Claims.
func (c *UserClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }

// GetIssuedAt implements jwt.Claims.
func (c *UserClaims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt, nil }

// GetNotBefore implements jwt.Claims.
func (c *UserClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore, nil }

// GetIssuer implements jwt.Claims.
func (c *UserClaims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *UserClaims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *UserClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// SignUser returns the claims of a user's token as a JWT signed with RS256 under the same key
// (and kid) as Sign's tokens, so that the key set verifies both.
func (s *Signer) SignUser(c UserClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, &c)
	t.Header["kid"] = s.kid
	tok, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("signing the user token: %w", err)
	}
	return tok, nil
}
