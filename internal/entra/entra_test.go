package entra

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

const redirectURI = "http://127.0.0.1/callback"

// signIn signs upn in to client of tenant with the authorization code flow with PKCE and
// returns the token response.
func signIn(t *testing.T, env *emulatortest.Env, tenant, client, upn, password string) *oauth2.Token {
	t.Helper()
	base := env.URL + "/" + tenant + "/oauth2/v2.0"
	conf := &oauth2.Config{ClientID: client, RedirectURL: redirectURI, Scopes: Scopes(client),
		Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token"}}
	v := oauth2.GenerateVerifier()
	loc := env.EntraSignIn(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), upn, password)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, env.HTTPClient)
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange the code of %s: %v", upn, err)
	}
	return tok
}

// TestVerify verifies the tokens of real sign-ins to the emulator: the access token and the
// id_token of the application are accepted; another tenant's, another application's, an
// expired, a tampered and a malformed token are refused with an error that says why and
// does not quote the token.
func TestVerify(t *testing.T) {
	env := emulatortest.Start(t)
	group := env.EntraGroup(t, "finance")
	oid := env.EntraUser(t, "alice@example.com", "alice-pw", group)
	app := env.EntraApp(t, redirectURI)
	otherApp := env.EntraApp(t, redirectURI)
	otherTenant := "5f0e7a52-6a1b-4f0e-9d3c-2b7f8e1a9c40"
	env.EntraUserIn(t, otherTenant, "mallory@other.example", "mallory-pw")
	foreignApp := env.EntraAppIn(t, otherTenant, redirectURI)

	tok := signIn(t, env, env.TenantID, app, "alice@example.com", "alice-pw")
	idToken, _ := tok.Extra("id_token").(string)
	tampered := []byte(tok.AccessToken)
	dot := strings.IndexByte(string(tampered), '.')
	tampered[dot+5] ^= 1 // a payload character
	v, err := NewVerifier(t.Context(), Config{Authority: env.URL, TenantID: env.TenantID, ClientID: app, HTTPClient: env.HTTPClient})
	if err != nil {
		t.Fatal(err)
	}
	later, err := NewVerifier(t.Context(), Config{Authority: env.URL, TenantID: env.TenantID, ClientID: app, HTTPClient: env.HTTPClient})
	if err != nil {
		t.Fatal(err)
	}
	later.now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	withCA, err := NewVerifier(t.Context(), Config{Authority: env.URL, TenantID: env.TenantID, ClientID: app, CAPEM: env.Emulator.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		v     *Verifier
		token string
		want  error
	}{
		{"access token", v, tok.AccessToken, nil},
		{"id_token", v, idToken, nil},
		{"its own client trusting CAPEM", withCA, tok.AccessToken, nil},
		{"another application's", v, signIn(t, env, env.TenantID, otherApp, "alice@example.com", "alice-pw").AccessToken, ErrWrongAudience},
		{"another tenant's", v, signIn(t, env, otherTenant, foreignApp, "mallory@other.example", "mallory-pw").AccessToken, ErrWrongIssuer},
		{"expired", later, tok.AccessToken, ErrExpired},
		{"tampered", v, string(tampered), ErrInvalid},
		{"malformed", v, "not-a-jwt", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.v.Verify(t.Context(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if err != nil {
				t.Log(err)
				if strings.Contains(err.Error(), tt.token) {
					t.Errorf("the error quotes the token: %v", err)
				}
				return
			}
			want := Identity{ObjectID: oid, Username: "alice@example.com", Groups: []string{group}, TenantID: strings.ToLower(env.TenantID)}
			id.Name = ""
			if id.ObjectID != want.ObjectID || id.Username != want.Username || !slices.Equal(id.Groups, want.Groups) || id.TenantID != want.TenantID {
				t.Errorf("identity %+v, want %+v", id, want)
			}
		})
	}
}

// TestVerifierStartsOffline: a Verifier is made while Entra ID is unreachable; its Verify
// says so with ErrUnavailable.
func TestVerifierStartsOffline(t *testing.T) {
	hc := &http.Client{Timeout: 2 * time.Second}
	v, err := NewVerifier(t.Context(), Config{Authority: "https://127.0.0.1:1", TenantID: "t1", ClientID: "c1", HTTPClient: hc})
	if err != nil {
		t.Fatalf("NewVerifier with Entra ID unreachable: %v", err)
	}
	if _, err := v.Verify(t.Context(), "a.b.c"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Verify: %v, want ErrUnavailable", err)
	}
}

// TestNewVerifierConfig: the tenant and the client are required; the authority defaults to
// Entra ID's and must be https; LoginInfo says what a client needs.
func TestNewVerifierConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
		issuer  string
	}{
		{"defaults", Config{TenantID: "T1", ClientID: "c1"}, false, DefaultAuthority + "/t1/v2.0"},
		{"trailing slash", Config{Authority: "https://login.example/", TenantID: "t1", ClientID: "c1"}, false, "https://login.example/t1/v2.0"},
		{"no tenant", Config{ClientID: "c1"}, true, ""},
		{"no client", Config{TenantID: "t1"}, true, ""},
		{"http authority", Config{Authority: "http://login.example", TenantID: "t1", ClientID: "c1"}, true, ""},
		{"tenant with a slash", Config{TenantID: "t1/x", ClientID: "c1"}, true, ""},
		{"CAPEM without a certificate", Config{TenantID: "t1", ClientID: "c1", CAPEM: []byte("not PEM")}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(t.Context(), tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewVerifier: %v, want error %t", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			info := v.LoginInfo()
			if info.Issuer != tt.issuer || v.Issuer() != tt.issuer || info.ClientID != tt.cfg.ClientID || info.TenantID != tt.cfg.TenantID {
				t.Errorf("LoginInfo %+v, want issuer %s", info, tt.issuer)
			}
			if want := []string{"openid", "profile", "offline_access", "api://c1/.default"}; !slices.Equal(info.Scopes, want) {
				t.Errorf("scopes %q, want %q", info.Scopes, want)
			}
		})
	}
}

// TestCheck pins the checks after the signature, and whom the claims name.
func TestCheck(t *testing.T) {
	v, err := NewVerifier(t.Context(), Config{TenantID: "T1", ClientID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	iss := v.Issuer()
	ok := claims{ObjectID: "o1", PreferredUsername: "Alice@Example.com", TenantID: "t1"}
	tests := []struct {
		name     string
		iss      string
		aud      []string
		c        claims
		want     error
		username string
	}{
		{"client ID audience", iss, []string{"c1"}, ok, nil, "Alice@Example.com"},
		{"api:// audience", iss, []string{"other", "api://c1"}, ok, nil, "Alice@Example.com"},
		{"upn when no preferred_username", iss, []string{"c1"}, claims{ObjectID: "o1", UPN: "bob@example.com", Email: "b@x", TenantID: "t1"}, nil, "bob@example.com"},
		{"email last", iss, []string{"c1"}, claims{ObjectID: "o1", Email: "carol@example.com", TenantID: "t1"}, nil, "carol@example.com"},
		{"another issuer", DefaultAuthority + "/t2/v2.0", []string{"c1"}, ok, ErrWrongIssuer, ""},
		{"another tid", iss, []string{"c1"}, claims{ObjectID: "o1", PreferredUsername: "a@x", TenantID: "t2"}, ErrWrongIssuer, ""},
		{"another audience", iss, []string{"api://c2", "c2"}, ok, ErrWrongAudience, ""},
		{"an audience that only starts alike", iss, []string{"api://c1/x"}, ok, ErrWrongAudience, ""},
		{"no user", iss, []string{"c1"}, claims{ObjectID: "o1", TenantID: "t1"}, ErrInvalid, ""},
		{"no oid (an application's token)", iss, []string{"c1"}, claims{PreferredUsername: "a@x", TenantID: "t1"}, ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.check(tt.iss, tt.aud, tt.c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("check: %v, want %v", err, tt.want)
			}
			if err == nil && tt.c.identity().Username != tt.username {
				t.Errorf("username %q, want %q", tt.c.identity().Username, tt.username)
			}
		})
	}
}
