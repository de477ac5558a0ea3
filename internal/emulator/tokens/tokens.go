// Package tokens signs and verifies the access tokens of the emulator's Entra ID: RS256 JWTs
// with the claims of Entra ID v1 tokens, under one RSA key that the emulator keeps in its
// state directory and publishes as a JSON Web Key Set. Resource Manager and the blob service
// verify the tokens they are given with the same Signer.
package tokens

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keyBits is the size of the signing key, as Entra ID's.
const keyBits = 2048

// Algorithm is the only signing algorithm the emulator issues and accepts.
const Algorithm = "RS256"

// Reasons a token is refused by Verify; test them with errors.Is.
var (
	// ErrMalformed: not a JWT, or claims that cannot be read or are missing.
	ErrMalformed = errors.New("the token is malformed")
	// ErrSignature: unsigned (alg none), another algorithm, an unknown key or a signature
	// that does not verify.
	ErrSignature = errors.New("the token's signature is not valid")
	// ErrExpired: the token's exp has passed.
	ErrExpired = errors.New("the token is expired")
	// ErrNotYetValid: the token's nbf has not come yet.
	ErrNotYetValid = errors.New("the token is not yet valid")
)

// IssuerV1 is the issuer of a tenant's v1 access tokens (those issued for Resource Manager
// and Storage), as Entra ID writes it.
func IssuerV1(tenant string) string { return "https://sts.windows.net/" + tenant + "/" }

// Claims are the claims of an Entra ID v1 access token for a service principal.
type Claims struct {
	Audience  string           `json:"aud"`
	Issuer    string           `json:"iss"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ExpiresAt *jwt.NumericDate `json:"exp,omitempty"`
	AppID     string           `json:"appid,omitempty"`
	AppIDACR  string           `json:"appidacr,omitempty"`
	IDP       string           `json:"idp,omitempty"`
	ObjectID  string           `json:"oid,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	TenantID  string           `json:"tid"`
	Version   string           `json:"ver,omitempty"`
	TokenID   string           `json:"uti,omitempty"`
}

// IssuedByItsTenant reports whether the issuer is the v1 issuer of the token's own tenant.
func (c *Claims) IssuedByItsTenant() bool {
	return c.TenantID != "" && strings.EqualFold(c.Issuer, IssuerV1(c.TenantID))
}

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt, nil }

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore, nil }

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings{c.Audience}, nil }

// Signer holds the signing key: it signs tokens, verifies them and publishes the public key.
type Signer struct {
	key      *rsa.PrivateKey
	kid      string
	verified verifiedTokens
}

// maxVerified bounds the tokens whose signature Verify remembers. A client holds one token
// per credential and audience for about an hour, so a few thousand is far more than an
// emulator sees; when full, the memory is dropped and rebuilt as tokens come.
const maxVerified = 4096

// verifiedTokens remembers the claims of tokens whose signature verified, by the whole token:
// the same string carries the same signed claims, so its RSA signature need not be checked
// again on every request (as a resource provider caches the tokens it has validated).
type verifiedTokens struct {
	mu     sync.Mutex
	claims map[string]Claims
}

func (v *verifiedTokens) get(token string) (Claims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.claims[token]
	return c, ok
}

func (v *verifiedTokens) put(token string, c Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.claims == nil || len(v.claims) >= maxVerified {
		v.claims = make(map[string]Claims)
	}
	v.claims[token] = c
}

// NewKeyPEM generates a signing key, PKCS #8 in PEM, for NewSigner.
func NewKeyPEM() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generating the token signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the token signing key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// NewSigner returns the Signer of an RSA key in PEM (PKCS #8, as NewKeyPEM writes it, or
// PKCS #1). The key ID is the key's RFC 7638 thumbprint, so it is the same for the same key.
func NewSigner(keyPEM []byte) (*Signer, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("the token signing key is not PEM")
	}
	var key *rsa.PrivateKey
	switch b.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("reading the token signing key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the token signing key is a %T, not an RSA key", k)
		}
		key = rk
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("reading the token signing key: %w", err)
		}
		key = k
	default:
		return nil, fmt.Errorf("the token signing key is a PEM %q block, want PRIVATE KEY", b.Type)
	}
	if key.N.BitLen() < keyBits {
		return nil, fmt.Errorf("the token signing key has %d bits, want at least %d", key.N.BitLen(), keyBits)
	}
	return &Signer{key: key, kid: thumbprint(&key.PublicKey)}, nil
}

// KeyID is the kid of the signing key: in every token's header and in the key set.
func (s *Signer) KeyID() string { return s.kid }

// Sign returns c as a JWT signed with RS256, its header naming the key.
func (s *Signer) Sign(c Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, &c)
	t.Header["kid"] = s.kid
	tok, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("signing the token: %w", err)
	}
	return tok, nil
}

// Verify checks a token's signature (RS256 under this Signer's key, named by its kid), that
// it has a tenant and an expiry, and that now is within nbf..exp give or take leeway. It
// returns the claims whenever they could be read, also with an error, which wraps one of
// ErrMalformed, ErrSignature, ErrExpired or ErrNotYetValid. Audience and issuer are the
// caller's to check: they differ between services.
func (s *Signer) Verify(token string, now time.Time, leeway time.Duration) (*Claims, error) {
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{Algorithm}), jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway), jwt.WithTimeFunc(func() time.Time { return now })}
	if c, ok := s.verified.get(token); ok {
		// The signature verified before: only the times are checked again.
		return refusal(&c, jwt.NewValidator(opts...).Validate(&c))
	}
	c := &Claims{}
	_, err := jwt.NewParser(opts...).ParseWithClaims(token, c, s.keyFor)
	c, err = refusal(c, err)
	if err == nil {
		s.verified.put(token, *c)
	}
	return c, err
}

// refusal maps what jwt found wrong with a token to Verify's errors, and keeps the claims
// where they could be read.
func refusal(c *Claims, err error) (*Claims, error) {
	switch {
	case err == nil && c.TenantID == "":
		return c, fmt.Errorf("%w: no tid claim", ErrMalformed)
	case err == nil:
		return c, nil
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, fmt.Errorf("%w: %w", ErrExpired, err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return c, fmt.Errorf("%w: %w", ErrNotYetValid, err)
	}
	return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
}

// keyFor is the jwt.Keyfunc: the public key when the header names it.
func (s *Signer) keyFor(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid != s.kid {
		return nil, fmt.Errorf("the key %q is not the issuer's", kid)
	}
	return &s.key.PublicKey, nil
}

// JWK is one key of a JSON Web Key Set, with the members Entra ID publishes for an RSA key.
type JWK struct {
	KeyType   string `json:"kty"`
	Use       string `json:"use"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	N         string `json:"n"`
	E         string `json:"e"`
}

// KeySet is a JSON Web Key Set (RFC 7517), as served at an OpenID jwks_uri.
type KeySet struct {
	Keys []JWK `json:"keys"`
}

// KeySet returns the public key set that verifies this Signer's tokens.
func (s *Signer) KeySet() KeySet {
	return KeySet{Keys: []JWK{publicJWK(&s.key.PublicKey, s.kid)}}
}

func publicJWK(k *rsa.PublicKey, kid string) JWK {
	enc := base64.RawURLEncoding
	return JWK{
		KeyType: "RSA", Use: "sig", KeyID: kid, Algorithm: Algorithm,
		N: enc.EncodeToString(k.N.Bytes()), E: enc.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}
}

// thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA public key.
func thumbprint(k *rsa.PublicKey) string {
	j := publicJWK(k, "")
	// The required members in lexicographic order, without white space (RFC 7638 §3.2).
	canonical, _ := json.Marshal(struct {
		E   string `json:"e"`
		Kty string `json:"kty"`
		N   string `json:"n"`
	}{j.E, j.KeyType, j.N})
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
