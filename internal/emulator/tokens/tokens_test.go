package tokens

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	keysOnce sync.Once
	keyA     []byte
	keyB     []byte
)

// testKeys generates two keys once for the package's tests.
func testKeys(t *testing.T) (a, b []byte) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if keyA, err = NewKeyPEM(); err != nil {
			panic(err)
		}
		if keyB, err = NewKeyPEM(); err != nil {
			panic(err)
		}
	})
	return keyA, keyB
}

func signer(t *testing.T, pemKey []byte) *Signer {
	t.Helper()
	s, err := NewSigner(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var now = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func validClaims() Claims {
	return Claims{
		Audience: "https://management.core.windows.net/", Issuer: IssuerV1("t1"), TenantID: "t1",
		IssuedAt: jwt.NewNumericDate(now.Add(-5 * time.Minute)), NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), AppID: "app", ObjectID: "oid", Version: "1.0",
	}
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerify(t *testing.T) {
	a, b := testKeys(t)
	sa, sb := signer(t, a), signer(t, b)
	sign := func(s *Signer, change func(*Claims)) string {
		c := validClaims()
		if change != nil {
			change(&c)
		}
		tok, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(sa, nil)
	parts := strings.Split(good, ".")
	// The same header and signature over other claims.
	tampered := parts[0] + "." + b64(map[string]any{"aud": "x", "iss": IssuerV1("t2"), "tid": "t2", "exp": now.Add(time.Hour).Unix()}) + "." + parts[2]
	unsigned := b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + "."
	// The public key used as an HMAC secret (algorithm confusion).
	pub, _ := x509.MarshalPKIXPublicKey(&sa.key.PublicKey)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"tid": "t1", "exp": now.Add(time.Hour).Unix()})
	hs.Header["kid"] = sa.KeyID()
	confused, _ := hs.SignedString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	noKid := jwt.NewWithClaims(jwt.SigningMethodRS256, &Claims{TenantID: "t1", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})
	withoutKid, _ := noKid.SignedString(sa.key)

	for _, tc := range []struct {
		name       string
		token      string
		leeway     time.Duration
		want       error
		wantClaims bool
	}{
		{"valid", good, 0, nil, true},
		{"not a JWT", "not-a-jwt", 0, ErrMalformed, false},
		{"unsigned (alg none)", unsigned, 0, ErrSignature, false},
		{"another key", sign(sb, nil), 0, ErrSignature, false},
		{"tampered claims", tampered, 0, ErrSignature, false},
		{"HS256 with the public key", confused, 0, ErrSignature, false},
		{"no kid", withoutKid, 0, ErrSignature, false},
		{"expired", sign(sa, func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) }), 0, ErrExpired, true},
		{"expired within leeway", sign(sa, func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }), 5 * time.Minute, nil, true},
		{"not yet valid", sign(sa, func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) }), 0, ErrNotYetValid, true},
		{"no expiry", sign(sa, func(c *Claims) { c.ExpiresAt = nil }), 0, ErrMalformed, false},
		{"no tenant", sign(sa, func(c *Claims) { c.TenantID = "" }), 0, ErrMalformed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sa.Verify(tc.token, now, tc.leeway)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if (c != nil) != tc.wantClaims {
				t.Fatalf("claims %+v, want claims %v", c, tc.wantClaims)
			}
			if c != nil && c.AppID != "app" && tc.want == nil {
				t.Errorf("appid %q", c.AppID)
			}
		})
	}
}

func TestSignedTokenHeader(t *testing.T) {
	a, _ := testKeys(t)
	s := signer(t, a)
	tok, err := s.Sign(validClaims())
	if err != nil {
		t.Fatal(err)
	}
	var header map[string]string
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err := json.Unmarshal(h, &header); err != nil {
		t.Fatal(err)
	}
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] != s.KeyID() || s.KeyID() == "" {
		t.Errorf("header %v, key ID %q", header, s.KeyID())
	}
	var claims map[string]any
	p, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err := json.Unmarshal(p, &claims); err != nil {
		t.Fatal(err)
	}
	// Entra ID writes a single audience as a string.
	if claims["aud"] != "https://management.core.windows.net/" || claims["iss"] != "https://sts.windows.net/t1/" {
		t.Errorf("claims %v", claims)
	}
}

// TestKeySet verifies a token with nothing but the published key set, as a relying party
// that fetched jwks_uri would.
func TestKeySet(t *testing.T) {
	a, b := testKeys(t)
	s := signer(t, a)
	tok, err := s.Sign(validClaims())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(s.KeySet())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kty, Use, Kid, Alg, N, E string }
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].Kty != "RSA" || set.Keys[0].Use != "sig" || set.Keys[0].Kid != s.KeyID() || set.Keys[0].Alg != "RS256" {
		t.Fatalf("key set %s", raw)
	}
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	parsed, err := jwt.Parse(tok, func(t *jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil || !parsed.Valid {
		t.Fatalf("verifying with the key set: %v", err)
	}

	// The key ID depends on the key only.
	if again := signer(t, a); again.KeyID() != s.KeyID() {
		t.Errorf("key ID %q, then %q for the same key", s.KeyID(), again.KeyID())
	}
	if other := signer(t, b); other.KeyID() == s.KeyID() {
		t.Errorf("two keys share the key ID %q", s.KeyID())
	}
}

func TestNewSignerRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		pem  string
		want string
	}{
		{"not PEM", "nothing", "not PEM"},
		{"certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", `"CERTIFICATE"`},
		{"garbage key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "reading the token signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSigner([]byte(tc.pem)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewSigner: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// A token whose signature verified once is remembered, but its times are checked at every
// use: a remembered token still expires, is still not valid before nbf, and a token with the
// same signature over other claims is still refused.
func TestVerifyRemembersOnlyTheSignature(t *testing.T) {
	a, _ := testKeys(t)
	s := signer(t, a)
	good, err := s.Sign(validClaims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(good, now, 0); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	if _, ok := s.verified.get(good); !ok {
		t.Fatal("a verified token is not remembered")
	}
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64(map[string]any{"tid": "t2", "exp": now.Add(time.Hour).Unix()}) + "." + parts[2]
	for _, tc := range []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"again, valid", good, now, nil},
		{"after its expiry", good, now.Add(2 * time.Hour), ErrExpired},
		{"before its nbf", good, now.Add(-time.Hour), ErrNotYetValid},
		{"its signature over other claims", tampered, now, ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.Verify(tc.token, tc.at, 0)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if tc.want == nil && c.AppID != "app" {
				t.Errorf("claims %+v", c)
			}
		})
	}
	if _, ok := s.verified.get(tampered); ok {
		t.Error("a refused token is remembered")
	}
}

// The memory of verified tokens is bounded.
func TestVerifiedTokensBounded(t *testing.T) {
	var v verifiedTokens
	for i := range maxVerified + 10 {
		v.put(strings.Repeat("x", i+1), Claims{})
	}
	if n := len(v.claims); n > maxVerified {
		t.Fatalf("%d tokens remembered, want at most %d", n, maxVerified)
	}
}

// BenchmarkVerify measures the verification of the same token again and again, as ARM and
// the blob service see a client's token on every request.
func BenchmarkVerify(b *testing.B) {
	key, err := NewKeyPEM()
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSigner(key)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := s.Sign(validClaims())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Verify(tok, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}
