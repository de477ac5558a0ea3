package emulator_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestEntraWithOAuth2Library drives both sign-in flows with golang.org/x/oauth2, as strata's
// console and CLI do: the endpoints from discovery, the default AuthStyle (which probes with
// a Basic header first), PKCE S256, then the device code flow and a refresh.
func TestEntraWithOAuth2Library(t *testing.T) {
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Entra.DeviceCodeInterval = time.Second })
	team := env.EntraGroup(t, "platform-team")
	alice := env.EntraUser(t, "alice@example.com", "alice-pw", team)
	client := env.EntraApp(t, redirectURI)
	m := discover(t, env)
	conf := &oauth2.Config{
		ClientID:    client,
		Endpoint:    oauth2.Endpoint{AuthURL: m.AuthURL, TokenURL: m.TokenURL, DeviceAuthURL: m.DeviceAuthURL},
		RedirectURL: redirectURI,
		Scopes:      []string{"openid", "profile", "offline_access", "api://" + client + "/.default"},
	}
	ctx, cancel := context.WithTimeout(context.WithValue(bg, oauth2.HTTPClient, env.HTTPClient), time.Minute)
	defer cancel()
	want := oauth2Want{m: m, client: client, user: alice, group: team}
	t.Run("authorization code with PKCE", func(t *testing.T) { oauth2CodeFlow(ctx, t, env, conf, want) })
	t.Run("device code", func(t *testing.T) { oauth2DeviceFlow(ctx, t, env, conf, want) })
}

// oauth2Want is what the tokens of the oauth2 tests must say.
type oauth2Want struct {
	m                   metadata
	client, user, group string
}

// oauth2CodeFlow signs alice in with the authorization code flow with PKCE, refreshes the
// tokens and tries to redeem the code again.
func oauth2CodeFlow(ctx context.Context, t *testing.T, env *emulatortest.Env, conf *oauth2.Config, want oauth2Want) {
	m, client, alice, team := want.m, want.client, want.user, want.group
	v := oauth2.GenerateVerifier()
	u := conf.AuthCodeURL("state-42", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("nonce", "nonce-42"))
	loc := env.EntraSignIn(t, u, "alice@example.com", "alice-pw")
	if loc.Query().Get("state") != "state-42" {
		t.Fatalf("redirect %s: want state-42", loc)
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	c := verifyJWT(t, env, m, idToken)
	if c["nonce"] != "nonce-42" || c["oid"] != alice || c["groups"].([]any)[0] != team {
		t.Fatalf("id_token claims: %v", c)
	}
	if !tok.Valid() || tok.RefreshToken == "" || time.Until(tok.Expiry) < 50*time.Minute {
		t.Fatalf("token: valid %v, refresh token %t, expiry %v", tok.Valid(), tok.RefreshToken != "", tok.Expiry)
	}
	// The refresh token gives new tokens (and a new refresh token).
	expired := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	fresh, err := conf.TokenSource(ctx, expired).Token()
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if c := verifyJWT(t, env, m, fresh.AccessToken); c["aud"] != "api://"+client || c["oid"] != alice {
		t.Fatalf("refreshed access token claims: %v", c)
	}
	if _, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v)); err == nil {
		t.Fatal("the code was redeemed twice")
	}
}

// oauth2DeviceFlow signs alice in with the device code flow: she approves while the client
// polls.
func oauth2DeviceFlow(ctx context.Context, t *testing.T, env *emulatortest.Env, conf *oauth2.Config, want oauth2Want) {
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("device auth: %v", err)
	}
	approved := make(chan error, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond) // the client polls once or twice meanwhile
		form := url.Values{"user_code": {da.UserCode}, "username": {"alice@example.com"}, "password": {"alice-pw"}}
		resp, err := env.HTTPClient.PostForm(da.VerificationURI, form)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("approving: HTTP %d", resp.StatusCode)
			}
		}
		approved <- err
	}()
	tok, err := conf.DeviceAccessToken(ctx, da)
	if aerr := <-approved; aerr != nil {
		t.Fatal(aerr)
	}
	if err != nil {
		t.Fatalf("device access token: %v", err)
	}
	if c := verifyJWT(t, env, want.m, tok.AccessToken); c["aud"] != "api://"+want.client || c["oid"] != want.user || c["groups"].([]any)[0] != want.group {
		t.Fatalf("access token claims: %v", c)
	}
}
