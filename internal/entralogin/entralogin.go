// Package entralogin signs a person in to Entra ID from the CLI, with the device code flow,
// and keeps the tokens fresh with the refresh token: the client side of what package entra
// verifies on the server. The tenant, application and scopes come from the server (GET
// /api/v1alpha1/auth/config, entra.LoginInfo).
//
// The bearer a client sends strata is the access token (Bearer): its audience is
// api://<clientID>, strata's application, as an Azure API expects, whereas the id_token is
// meant for the client itself. The server accepts both.
package entralogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/strata-dev/strata/internal/entra"
)

// Endpoint returns the OAuth 2.0 endpoints of the tenant of info, as Entra ID lays them out
// (<authority>/<tenant>/oauth2/v2.0/...; the emulator does too), so that no discovery is
// needed to sign in or refresh.
func Endpoint(info entra.LoginInfo) oauth2.Endpoint {
	base := info.Authority + "/" + info.TenantID + "/oauth2/v2.0"
	return oauth2.Endpoint{
		AuthURL:       base + "/authorize",
		TokenURL:      base + "/token",
		DeviceAuthURL: base + "/devicecode",
	}
}

// Config returns the OAuth 2.0 configuration of strata's public client application (no
// secret) with the scopes of info. redirectURL is for the authorization code flow; the
// device code flow leaves it empty.
func Config(info entra.LoginInfo, redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: info.ClientID, Endpoint: Endpoint(info), Scopes: info.Scopes, RedirectURL: redirectURL}
}

// DeviceCode signs a person in with the device code flow: it asks Entra ID for a code, calls
// prompt with the page where to enter it and the code, and waits until the person has signed
// in there, ctx ends or the code expires. hc carries the requests (nil: http.DefaultClient).
func DeviceCode(ctx context.Context, info entra.LoginInfo, hc *http.Client, prompt func(verificationURI, userCode string)) (*oauth2.Token, error) {
	if err := checkInfo(info); err != nil {
		return nil, err
	}
	ctx = withClient(ctx, hc)
	conf := Config(info, "")
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("ask Entra ID for a device code: %w", err)
	}
	prompt(da.VerificationURI, da.UserCode)
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		return nil, fmt.Errorf("wait for the sign-in with the device code: %w", err)
	}
	return tok, nil
}

// TokenSource returns tok while it is valid, then the tokens its refresh token gets (each new
// refresh token replacing the last). hc carries the requests (nil: http.DefaultClient).
func TokenSource(ctx context.Context, info entra.LoginInfo, hc *http.Client, tok *oauth2.Token) oauth2.TokenSource {
	return Config(info, "").TokenSource(withClient(ctx, hc), tok)
}

// Bearer returns what to send strata as "Authorization: Bearer": the access token.
func Bearer(tok *oauth2.Token) string { return tok.AccessToken }

// IDToken returns the id_token of a token response, or "" when there is none.
func IDToken(tok *oauth2.Token) string {
	s, _ := tok.Extra("id_token").(string)
	return s
}

// withClient makes oauth2 use hc.
func withClient(ctx context.Context, hc *http.Client) context.Context {
	if hc == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// checkInfo refuses a LoginInfo that cannot start a sign-in.
func checkInfo(info entra.LoginInfo) error {
	if info.Authority == "" || info.TenantID == "" || info.ClientID == "" {
		return errors.New("sign-in with Entra ID: the server's login information lacks the authority, tenant or client ID")
	}
	return nil
}
