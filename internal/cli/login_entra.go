package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/oauth2"

	"github.com/strata-dev/strata/internal/cliconfig"
	"github.com/strata-dev/strata/internal/entra"
	"github.com/strata-dev/strata/internal/entralogin"
)

// entraLogin signs in with Entra ID's device code flow, where the server's /auth/config says:
// the user opens the address printed on standard error and enters the code, and the tokens
// come back. authorityCA (--authority-ca) is trusted for the authority.
func (o *rootOptions) entraLogin(ctx context.Context, t endpoint, authorityCAFile string) (*cliconfig.EntraToken, error) {
	c, err := o.clientOf(endpoint{server: t.server, caPEM: t.caPEM})
	if err != nil {
		return nil, err
	}
	ac, err := c.AuthConfig(ctx)
	if err != nil {
		return nil, err
	}
	if ac.Entra == nil {
		return nil, &usageError{cmd: "strata login", err: errors.New("--api-key or --user is required: this server offers no sign-in with Entra ID")}
	}
	var authorityCA []byte
	if authorityCAFile != "" {
		if authorityCA, err = os.ReadFile(authorityCAFile); err != nil {
			return nil, fmt.Errorf("--authority-ca: %w", err)
		}
	}
	hc, err := httpClient(o.timeout, authorityCA)
	if err != nil {
		return nil, fmt.Errorf("--authority-ca: %w", err)
	}
	tok, err := entralogin.DeviceCode(ctx, *ac.Entra, hc, func(uri, code string) {
		fmt.Fprintf(o.streams.Err, "To sign in with Entra ID, open %s and enter the code %s\n", uri, code)
	})
	if err != nil {
		return nil, fmt.Errorf("sign in with Entra ID: %w", err)
	}
	return entraTokenOf(*ac.Entra, tok, authorityCA), nil
}

// entraTokenOf is what a context keeps of an Entra ID sign-in.
func entraTokenOf(info entra.LoginInfo, tok *oauth2.Token, authorityCA []byte) *cliconfig.EntraToken {
	return &cliconfig.EntraToken{AccessToken: entralogin.Bearer(tok), RefreshToken: tok.RefreshToken, Expiry: tok.Expiry,
		Authority: info.Authority, TenantID: info.TenantID, ClientID: info.ClientID, Scopes: info.Scopes, AuthorityCA: string(authorityCA)}
}

// entraBearer returns the context's Entra ID access token, renewed with its refresh token
// (and the context saved) when it expires within a minute.
func (o *rootOptions) entraBearer(ctx context.Context, cfg *cliconfig.Config, path string, cc *cliconfig.Context) (string, error) {
	e := cc.Entra
	if e.Expiry.IsZero() || time.Until(e.Expiry) > time.Minute {
		return e.AccessToken, nil
	}
	if e.RefreshToken == "" {
		return "", fmt.Errorf("the Entra ID sign-in of context %s has expired: strata login again", cc.Name)
	}
	hc, err := httpClient(o.timeout, []byte(e.AuthorityCA))
	if err != nil {
		return "", err
	}
	info := entra.LoginInfo{Authority: e.Authority, TenantID: e.TenantID, ClientID: e.ClientID, Scopes: e.Scopes}
	tok, err := entralogin.TokenSource(ctx, info, hc, &oauth2.Token{RefreshToken: e.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil {
		return "", fmt.Errorf("renew the Entra ID sign-in of context %s (strata login again): %w", cc.Name, err)
	}
	cc.Entra = entraTokenOf(info, tok, []byte(e.AuthorityCA))
	if err := cliconfig.Save(path, cfg); err != nil {
		return "", err
	}
	return cc.Entra.AccessToken, nil
}
