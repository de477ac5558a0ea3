package blob

import (
	"fmt"
	"net/url"
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

// TestSASGrantAndSource: what an account or service SAS grants, and the protocol and source
// addresses it allows, decided from its query alone.
func TestSASGrantAndSource(t *testing.T) {
	read := access{level: levelObject, perms: "r"}
	list := access{level: levelContainer, perms: "l"}
	service := access{level: levelService, perms: "l"}
	for _, tc := range []struct {
		name, query string
		a           access
		https       bool
		ip, want    string
	}{
		{"account SAS for blobs, objects, read", "ss=b&srt=o&sp=r", read, true, "10.0.0.1", ""},
		{"account SAS for queues only", "ss=q&srt=sco&sp=r", read, true, "10.0.0.1", "AuthorizationServiceMismatch"},
		{"account SAS for containers, not objects", "ss=b&srt=c&sp=r", read, true, "10.0.0.1", "AuthorizationResourceTypeMismatch"},
		{"account SAS without the permission", "ss=b&srt=o&sp=w", read, true, "10.0.0.1", "AuthorizationPermissionMismatch"},
		{"account SAS for the service", "ss=b&srt=s&sp=l", service, true, "10.0.0.1", ""},
		{"service SAS on a container lists it", "sr=c&sp=l", list, true, "10.0.0.1", ""},
		{"service SAS on a blob, a container operation", "sr=b&sp=l", list, true, "10.0.0.1", "AuthorizationResourceTypeMismatch"},
		{"service SAS, a service operation", "sr=c&sp=l", service, true, "10.0.0.1", "AuthorizationFailure"},
		{"https only, over http", "ss=b&srt=o&sp=r&spr=https", read, false, "10.0.0.1", "AuthorizationProtocolMismatch"},
		{"https or http, over http", "ss=b&srt=o&sp=r&spr=https,http", read, false, "10.0.0.1", ""},
		{"source address in the range", "ss=b&srt=o&sp=r&sip=10.0.0.0-10.0.0.255", read, true, "10.0.0.7", ""},
		{"source address out of the range", "ss=b&srt=o&sp=r&sip=10.0.0.0-10.0.0.255", read, true, "10.0.1.7", "AuthorizationSourceIPMismatch"},
		{"one source address", "ss=b&srt=o&sp=r&sip=10.0.0.1", read, true, "10.0.0.2", "AuthorizationSourceIPMismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			serr := checkSASSource(q, tc.https, tc.ip)
			if serr == nil {
				serr = checkSASGrant(q, tc.a)
			}
			got := ""
			if serr != nil {
				got = serr.Code
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
