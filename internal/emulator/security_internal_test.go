package emulator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/strata-dev/strata/internal/emulator/tokens"
)

func TestARMTokenError(t *testing.T) {
	now := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	ok := func(change func(*tokens.Claims)) *tokens.Claims {
		c := &tokens.Claims{Audience: "https://management.core.windows.net/", Issuer: tokens.IssuerV1("t1"), TenantID: "t1",
			ExpiresAt: jwt.NewNumericDate(now.Add(-time.Hour))}
		if change != nil {
			change(c)
		}
		return c
	}
	wrap := func(e error) error { return fmt.Errorf("%w: detail", e) }
	for _, tc := range []struct {
		name         string
		claims       *tokens.Claims
		verr         error
		code, detail string
	}{
		{"valid", ok(nil), nil, "", ""},
		{"every ARM audience", ok(func(c *tokens.Claims) { c.Audience = "HTTPS://management.azure.com" }), nil, "", ""},
		{"malformed", nil, wrap(tokens.ErrMalformed), "InvalidAuthenticationToken", "The access token is invalid."},
		{"bad signature", nil, wrap(tokens.ErrSignature), "InvalidAuthenticationToken", "The access token is invalid."},
		{"expired", ok(nil), wrap(tokens.ErrExpired), "ExpiredAuthenticationToken",
			"The access token expiry UTC time '1/2/2030 2:04:05 PM' is earlier than current UTC time '1/2/2030 3:04:05 PM'."},
		{"not yet valid", ok(nil), wrap(tokens.ErrNotYetValid), "InvalidAuthenticationToken", "The access token is not yet valid."},
		{"storage audience", ok(func(c *tokens.Claims) { c.Audience = "https://storage.azure.com" }), nil, "InvalidAuthenticationTokenAudience",
			"The access token has been obtained for wrong audience or resource 'https://storage.azure.com'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."},
		{"another tenant's issuer", ok(func(c *tokens.Claims) { c.Issuer = tokens.IssuerV1("t2") }), nil, "InvalidAuthenticationTokenTenant",
			"The access token is from the wrong issuer 'https://sts.windows.net/t2/'. It must match the tenant 'https://sts.windows.net/t1/' of the token."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := armTokenError(tc.claims, tc.verr, now)
			if tc.code == "" {
				if got != nil {
					t.Fatalf("refused: %v", got)
				}
				return
			}
			if got == nil || got.Status != 401 || got.Code != tc.code || got.Message != tc.detail {
				t.Fatalf("got %+v, want 401 %s %q", got, tc.code, tc.detail)
			}
		})
	}
}

func TestAdminAuthorized(t *testing.T) {
	const tok = "strata-admin~0123456789abcdef"
	for _, tc := range []struct {
		header, token string
		want          bool
	}{
		{"Bearer " + tok, tok, true},
		{"bearer " + tok, tok, true},
		{"Bearer  " + tok + " ", tok, true},
		{"", tok, false},
		{tok, tok, false},
		{"Bearer", tok, false},
		{"Bearer " + tok + "x", tok, false},
		{"Bearer " + tok[:len(tok)-1], tok, false},
		{"Basic " + tok, tok, false},
		{"Bearer ", "", false},
	} {
		if got := adminAuthorized(tc.header, tc.token); got != tc.want {
			t.Errorf("adminAuthorized(%q, %q) = %v, want %v", tc.header, tc.token, got, tc.want)
		}
	}
}

func TestCheckAdminToken(t *testing.T) {
	for _, tc := range []struct {
		token, err string
	}{
		{"0123456789abcdef", ""},
		{"strata-admin~!#$%&'()*+,-./:;<=>?@[]^_`{|}~", ""},
		{"0123456789abcde", "at least 16 characters long, got 15"},
		{"0123456789 abcdef", "printable ASCII characters without spaces"},
		{"0123456789abcdef\n", "printable ASCII characters without spaces"},
		{"0123456789abcdefé", "printable ASCII characters without spaces"},
	} {
		err := CheckAdminToken(tc.token)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CheckAdminToken(%q) = %v, want %q", tc.token, err, tc.err)
		}
	}
}

// TestAdminTokenOption: a given admin token is checked and used, not kept; without one, the
// kept one is generated once.
func TestAdminTokenOption(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Options{StateDir: dir, AdminToken: "short"}); err == nil || !strings.Contains(err.Error(), "admin token: the admin token must be at least 16") {
		t.Fatalf("a short admin token: %v, want a refusal", err)
	}
	given := "given-admin-token-1234"
	em, err := New(Options{StateDir: dir, AdminToken: given})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if em.AdminToken() != given {
		t.Errorf("AdminToken %q, want the given one", em.AdminToken())
	}
	if _, err := os.Stat(filepath.Join(dir, adminTokenFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a given admin token is kept: %v", err)
	}
	em2, err := New(Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer em2.Close()
	b, err := os.ReadFile(filepath.Join(dir, adminTokenFile))
	if err != nil || strings.TrimSpace(string(b)) != em2.AdminToken() || !strings.HasPrefix(em2.AdminToken(), "strata-admin~") || len(em2.AdminToken()) != len("strata-admin~")+64 {
		t.Errorf("kept admin token %q (%v), AdminToken %q", b, err, em2.AdminToken())
	}
	mem, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if mem.AdminToken() == "" || mem.AdminToken() == em2.AdminToken() {
		t.Errorf("in-memory admin token %q", mem.AdminToken())
	}
}
