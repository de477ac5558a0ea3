// Package entra verifies the tokens Entra ID (Azure AD) issues to people who sign in to strata:
// their signature with the tenant's published keys, their expiry, their issuer and tenant, and
// their audience, strata's application registration. It tells who signed in and in which
// groups; what that person may do is decided elsewhere (internal/server, internal/authz).
package entra

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// DefaultAuthority is Entra ID's sign-in host in Azure's public cloud.
const DefaultAuthority = "https://login.microsoftonline.com"

// Errors of Verify, matched with errors.Is. Each refuses the token (a 401), except
// ErrUnavailable, which says that Entra ID's metadata could not be read: no token can be
// verified until it can.
var (
	ErrInvalid       = errors.New("the Entra ID token is not valid")
	ErrExpired       = errors.New("the Entra ID token has expired")
	ErrWrongIssuer   = errors.New("the Entra ID token is from another tenant")
	ErrWrongAudience = errors.New("the Entra ID token is for another application")
	ErrUnavailable   = errors.New("the OpenID Connect metadata of Entra ID cannot be read")
)

// Config says which tokens a Verifier accepts.
type Config struct {
	// Authority is Entra ID's host, DefaultAuthority when empty; the emulator's URL in tests.
	Authority string
	// TenantID is the directory (tenant) whose users may sign in. Required.
	TenantID string
	// ClientID is the application (client) ID of strata's app registration: the audience of
	// its tokens, as ClientID or api://ClientID. Required.
	ClientID string
	// HTTPClient fetches the metadata and the signing keys; nil means a client that trusts
	// the system's roots and CAPEM, and gives up after 30 seconds.
	HTTPClient *http.Client
	// CAPEM are more CA certificates (PEM) to trust for the authority, such as the emulator's;
	// used only when HTTPClient is nil.
	CAPEM []byte
}

// Identity is who a verified token names.
type Identity struct {
	// ObjectID is the user's object ID in the tenant (oid).
	ObjectID string
	// Username is preferred_username, else upn, else email: the user principal name.
	Username string
	// Name is the display name (name); may be empty.
	Name string
	// Groups are the object IDs of the user's groups (groups); empty when the app
	// registration does not emit the claim, or the user has more groups than a token holds.
	Groups []string
	// TenantID is the tenant that issued the token (tid).
	TenantID string
}

// LoginInfo is what a client needs to start a sign-in: it discovers the endpoints from
// Issuer + "/.well-known/openid-configuration" and asks for Scopes.
type LoginInfo struct {
	Authority string   `json:"authority"`
	TenantID  string   `json:"tenantId"`
	ClientID  string   `json:"clientId"`
	Issuer    string   `json:"issuer"`
	Scopes    []string `json:"scopes"`
}

// Verifier verifies the tokens of one tenant and one application. It is safe for concurrent
// use.
type Verifier struct {
	cfg    Config
	issuer string
	client *http.Client
	// keysCtx carries the HTTP client of every fetch of the metadata and the keys, beyond
	// the request that triggers it.
	keysCtx context.Context

	mu sync.Mutex
	// oidc is made by the first Verify whose discovery succeeds.
	oidc *oidc.IDTokenVerifier
	// now is the clock of the expiry check; nil is time.Now. Tests set it.
	now func() time.Time
}

// NewVerifier checks cfg and returns its Verifier. It does not reach Entra ID: the metadata
// and the keys are read by the first Verify, and again by the next one as long as that fails,
// so that a server starts while Entra ID is unreachable and its tokens are verified as soon as
// it answers.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Authority == "" {
		cfg.Authority = DefaultAuthority
	}
	cfg.Authority = strings.TrimSuffix(cfg.Authority, "/")
	switch {
	case cfg.TenantID == "" || cfg.ClientID == "":
		return nil, errors.New("entra: both the tenant ID and the client ID are required")
	case strings.ContainsAny(cfg.TenantID, "/?#") || strings.ContainsAny(cfg.ClientID, "/?#"):
		return nil, fmt.Errorf("entra: the tenant ID %q or the client ID %q is not an ID", cfg.TenantID, cfg.ClientID)
	case !strings.HasPrefix(cfg.Authority, "https://"):
		return nil, fmt.Errorf("entra: the authority %q is not an https URL", cfg.Authority)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		var err error
		if hc, err = newHTTPClient(cfg.CAPEM); err != nil {
			return nil, err
		}
	}
	return &Verifier{
		cfg:     cfg,
		client:  hc,
		issuer:  cfg.Authority + "/" + strings.ToLower(cfg.TenantID) + "/v2.0",
		keysCtx: oidc.ClientContext(context.WithoutCancel(ctx), hc),
	}, nil
}

// HTTPClient is the client the Verifier reaches Entra ID with (its CA included): the one to
// redeem a sign-in's code with.
func (v *Verifier) HTTPClient() *http.Client { return v.client }

// Issuer is the iss of the tokens the Verifier accepts: <authority>/<tenant>/v2.0.
func (v *Verifier) Issuer() string { return v.issuer }

// Scopes are the scopes a client asks for: an id_token (openid, profile), a refresh token
// (offline_access) and an access token for strata's application, whose aud is
// api://<clientID> (.default: whatever scopes the registration exposes).
func Scopes(clientID string) []string {
	return []string{"openid", "profile", "offline_access", "api://" + clientID + "/.default"}
}

// LoginInfo returns what a client needs to sign in to the Verifier's tenant and application.
func (v *Verifier) LoginInfo() LoginInfo {
	return LoginInfo{Authority: v.cfg.Authority, TenantID: v.cfg.TenantID, ClientID: v.cfg.ClientID,
		Issuer: v.issuer, Scopes: Scopes(v.cfg.ClientID)}
}

// Verify checks a token (an access token for api://ClientID, or an id_token for ClientID) and
// returns whom it names. Its errors wrap ErrInvalid, ErrExpired, ErrWrongIssuer,
// ErrWrongAudience or ErrUnavailable, and never quote the token.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	ov, err := v.verifier(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := ov.Verify(ctx, raw)
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return Identity{}, fmt.Errorf("%w (at %s)", ErrExpired, expired.Expiry.UTC().Format(time.RFC3339))
	case err != nil:
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: its claims cannot be read: %v", ErrInvalid, err)
	}
	if err := v.check(tok.Issuer, tok.Audience, c); err != nil {
		return Identity{}, err
	}
	return c.identity(), nil
}

// claims are the claims of Entra ID's v2.0 tokens that Verify reads.
type claims struct {
	ObjectID          string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	Email             string   `json:"email"`
	Name              string   `json:"name"`
	Groups            []string `json:"groups"`
	TenantID          string   `json:"tid"`
}

// identity is the Identity the claims name.
func (c claims) identity() Identity {
	user := c.PreferredUsername
	for _, alt := range []string{c.UPN, c.Email} {
		if user == "" {
			user = alt
		}
	}
	return Identity{ObjectID: c.ObjectID, Username: user, Name: c.Name, Groups: c.Groups, TenantID: c.TenantID}
}

// check checks what the signature leaves: the issuer, the tenant, the audience and that the
// token names a user.
func (v *Verifier) check(iss string, aud []string, c claims) error {
	switch {
	case iss != v.issuer:
		return fmt.Errorf("%w: its issuer is %q, not %q", ErrWrongIssuer, iss, v.issuer)
	case !strings.EqualFold(c.TenantID, v.cfg.TenantID):
		return fmt.Errorf("%w: its tenant (tid) is %q, not %q", ErrWrongIssuer, c.TenantID, v.cfg.TenantID)
	case !slices.ContainsFunc(aud, v.audience):
		return fmt.Errorf("%w: its audience is %q, not %q or %q", ErrWrongAudience, aud, v.cfg.ClientID, "api://"+v.cfg.ClientID)
	case c.ObjectID == "" || c.identity().Username == "":
		return fmt.Errorf("%w: it names no user (oid and preferred_username, upn or email)", ErrInvalid)
	}
	return nil
}

// audience reports whether aud is the application's: its client ID or api://<client ID>.
func (v *Verifier) audience(aud string) bool {
	id := v.cfg.ClientID
	return strings.EqualFold(aud, id) || strings.EqualFold(aud, "api://"+id)
}

// verifier returns the go-oidc verifier, made with the tenant's metadata on first use.
func (v *Verifier) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.oidc != nil {
		return v.oidc, nil
	}
	// The discovery is bounded by the request's context, but uses the verifier's client.
	dctx, cancel := context.WithCancel(v.keysCtx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	p, err := oidc.NewProvider(dctx, v.issuer)
	if err != nil {
		return nil, fmt.Errorf("%w from %s: %v", ErrUnavailable, v.issuer, err)
	}
	// The issuer, the audience and the tenant are checked by check, whose errors say more.
	v.oidc = p.VerifierContext(v.keysCtx, &oidc.Config{SkipClientIDCheck: true, SkipIssuerCheck: true, Now: v.now})
	return v.oidc, nil
}

// newHTTPClient returns a client that trusts the system's roots and the certificates of
// caPEM.
func newHTTPClient(caPEM []byte) (*http.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if len(caPEM) > 0 && !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("entra: the CA certificates hold no PEM certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
