package blob

import (
	"fmt"
	"testing"

	"github.com/strata-dev/strata/internal/emulator/tokens"
)

func TestBearerRefusal(t *testing.T) {
	ok := func(change func(*tokens.Claims)) *tokens.Claims {
		c := &tokens.Claims{Audience: "https://storage.azure.com", Issuer: tokens.IssuerV1("t1"), TenantID: "t1"}
		if change != nil {
			change(c)
		}
		return c
	}
	wrap := func(e error) error { return fmt.Errorf("%w: detail", e) }
	for _, tc := range []struct {
		name   string
		claims *tokens.Claims
		verr   error
		want   string
	}{
		{"valid", ok(nil), nil, ""},
		{"trailing slash", ok(func(c *tokens.Claims) { c.Audience = "https://storage.azure.com/" }), nil, ""},
		{"storage application ID", ok(func(c *tokens.Claims) { c.Audience = "e406a681-f3d4-42a8-90b6-c2b029497af1" }), nil, ""},
		{"account host", ok(func(c *tokens.Claims) { c.Audience = "https://acct.blob.core.windows.net" }), nil, ""},
		{"another account's host", ok(func(c *tokens.Claims) { c.Audience = "https://other.blob.core.windows.net" }), nil, "Audience validation failed. Audience did not match."},
		{"ARM audience", ok(func(c *tokens.Claims) { c.Audience = "https://management.core.windows.net/" }), nil, "Audience validation failed. Audience did not match."},
		{"another tenant's issuer", ok(func(c *tokens.Claims) { c.Issuer = tokens.IssuerV1("t2") }), nil, "Issuer validation failed. Issuer did not match."},
		{"v2 issuer", ok(func(c *tokens.Claims) { c.Issuer = "https://login.microsoftonline.com/t1/v2.0" }), nil, "Issuer validation failed. Issuer did not match."},
		{"expired", ok(nil), wrap(tokens.ErrExpired), "Lifetime validation failed. The token is expired."},
		{"not yet valid", ok(nil), wrap(tokens.ErrNotYetValid), "Lifetime validation failed. The token is not yet valid."},
		{"bad signature", nil, wrap(tokens.ErrSignature), "Signature validation failed. The token is not signed by a key of the issuer (the token's signature is not valid: detail)."},
		{"malformed", nil, wrap(tokens.ErrMalformed), "Signature validation failed. The token is not a signed JWT (the token is malformed: detail)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bearerRefusal(tc.claims, tc.verr, "acct"); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
