package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/strata-dev/strata/internal/atomicfile"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/tokens"
)

// tokenLifetime is how long an access token is valid, as Entra ID answers (expires_in 3599).
const tokenLifetime = 3599 * time.Second

// armAudiences are the audiences ARM accepts.
var armAudiences = []string{
	"https://management.core.windows.net/", "https://management.core.windows.net",
	"https://management.azure.com/", "https://management.azure.com",
}

// writeEntraError writes an Entra ID OAuth error.
func writeEntraError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	now := time.Now().UTC()
	b, _ := json.Marshal(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          uuid.NewString(),
		"correlation_id":    uuid.NewString(),
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// knownTenant reports whether a tenant has a service principal, a subscription, or a user,
// group or application of the directory.
func (em *Emulator) knownTenant(tenant string) bool {
	if em.dir.hasTenant(tenant) {
		return true
	}
	for _, p := range em.Principals() {
		if strings.EqualFold(p.TenantID, tenant) {
			return true
		}
	}
	for _, s := range em.engine.Subscriptions() {
		if strings.EqualFold(s.TenantID, tenant) {
			return true
		}
	}
	return false
}

// claimsSupportedV2 are the claims of the v2.0 metadata: those of the service principals'
// tokens and of the users' tokens.
var claimsSupportedV2 = []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "azp", "name",
	"preferred_username", "groups", "nonce", "scp", "ver"}

// openIDConfiguration serves GET /{tenant}/v2.0/.well-known/openid-configuration.
func (em *Emulator) openIDConfiguration(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !em.knownTenant(tenant) {
		writeEntraError(w, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := "https://" + r.Host + "/" + tenant
	doc := map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"grant_types_supported":                 []string{grantAuthorizationCode, grantDeviceCode, grantRefreshToken, grantClientCredentials},
		"code_challenge_methods_supported":      []string{"S256", "plain"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{tokens.Algorithm},
		"response_types_supported":              []string{"code"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                em.issuerV2(r, tenant),
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     "https://" + r.Host + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      claimsSupportedV2,
		"kerberos_endpoint":                     base + "/kerberos",
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "strata.emulator",
		"cloud_graph_host_name":                 r.Host,
		"msgraph_host":                          r.Host,
		"rbac_url":                              "https://" + r.Host,
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(doc)
}

// openIDConfigurationV1 serves GET /{tenant}/.well-known/openid-configuration: the v1
// metadata, whose issuer is the one of the v1 access tokens the emulator issues for Resource
// Manager and Storage, and whose jwks_uri publishes the key that signs them.
func (em *Emulator) openIDConfigurationV1(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	base := "https://" + r.Host + "/" + tenant
	doc := map[string]any{
		"token_endpoint":                        base + "/oauth2/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{tokens.Algorithm},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "token id_token", "token"},
		"scopes_supported":                      []string{"openid"},
		"issuer":                                tokens.IssuerV1(tenant),
		"authorization_endpoint":                base + "/oauth2/authorize",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "ver"},
		"cloud_instance_name":                   "strata.emulator",
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(doc)
}

// jwks serves the key set that verifies the emulator's tokens (the v1 and v2 jwks_uri).
func (em *Emulator) jwks(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(em.signer.KeySet())
}

// token serves POST /{tenant}/oauth2/v2.0/token: the client credentials grant for service
// principals, and the authorization code, device code and refresh token grants for users.
func (em *Emulator) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method == http.MethodPost {
		switch gt := r.PostFormValue("grant_type"); gt {
		case grantAuthorizationCode, grantDeviceCode, grantRefreshToken:
			em.userGrantToken(w, r, tenant, gt)
			return
		}
	}
	sp, scope, eerr := em.clientCredentials(r, tenant)
	if eerr != nil {
		writeEntraError(w, eerr.status, eerr.code, eerr.aadsts, eerr.desc)
		return
	}
	now := time.Now()
	tok, err := em.issueToken(tenant, sp, strings.TrimSuffix(scope, "/.default"), now, now.Add(tokenLifetime))
	if err != nil {
		em.log.Error("issuing a token", "err", err)
		writeEntraError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(tokenLifetime.Seconds()),
		"ext_expires_in": int(tokenLifetime.Seconds()),
		"access_token":   tok,
	})
}

// entraError is an OAuth error as Entra ID answers it (writeEntraError).
type entraError struct {
	status int
	code   string
	aadsts int
	desc   string
}

// clientCredentials checks a client credentials token request as Entra ID does, in its
// order, and returns the service principal it authenticates and the requested .default scope.
func (em *Emulator) clientCredentials(r *http.Request, tenant string) (ServicePrincipal, string, *entraError) {
	fail := func(status int, code string, aadsts int, format string, args ...any) (ServicePrincipal, string, *entraError) {
		return ServicePrincipal{}, "", &entraError{status, code, aadsts, fmt.Sprintf(format, args...)}
	}
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
	}
	if err := r.ParseForm(); err != nil {
		return fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must be form-encoded.")
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != grantClientCredentials {
		return fail(http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '%s'. The emulator supports client_credentials, authorization_code, refresh_token and urn:ietf:params:oauth:grant-type:device_code.", gt)
	}
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	if clientID == "" {
		return fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	scope := ""
	for _, s := range strings.Fields(f.Get("scope")) {
		if strings.HasSuffix(s, "/.default") {
			scope = s
			break
		}
	}
	if scope == "" {
		return fail(http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
	}
	if !em.knownTenant(tenant) {
		return fail(http.StatusBadRequest, "invalid_request", 90002,
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)
	}
	sp, ok := em.principal(tenant, clientID)
	if !ok {
		return fail(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
	}
	if secret != sp.Secret {
		return fail(http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided.")
	}
	return sp, scope, nil
}

// objectID is the deterministic object ID of a service principal.
func objectID(sp ServicePrincipal) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(strings.ToLower(sp.TenantID+"/"+sp.ClientID))).String()
}

// loadSigner reads the token signing key kept in dir, or makes it (and keeps it there when
// dir is not empty), so that a restarted emulator accepts the tokens it issued before.
func loadSigner(dir string) (*tokens.Signer, error) {
	var keyPEM []byte
	var err error
	if dir == "" {
		keyPEM, err = tokens.NewKeyPEM()
	} else {
		keyPEM, err = atomicfile.LoadOrCreate(filepath.Join(dir, signingKeyFile), tokens.NewKeyPEM)
	}
	if err != nil {
		return nil, err
	}
	s, err := tokens.NewSigner(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, signingKeyFile), err)
	}
	return s, nil
}

// issueToken signs a token with the claims Entra ID v1 tokens carry (those for Resource
// Manager and Storage).
func (em *Emulator) issueToken(tenant string, sp ServicePrincipal, audience string, from, until time.Time) (string, error) {
	iss := tokens.IssuerV1(tenant)
	return em.signer.Sign(tokens.Claims{
		Audience:  audience,
		Issuer:    iss,
		IssuedAt:  jwt.NewNumericDate(from.Add(-5 * time.Minute)),
		NotBefore: jwt.NewNumericDate(from.Add(-5 * time.Minute)),
		ExpiresAt: jwt.NewNumericDate(until),
		AppID:     sp.ClientID,
		AppIDACR:  "1",
		IDP:       iss,
		ObjectID:  objectID(sp),
		Subject:   objectID(sp),
		TenantID:  tenant,
		Version:   "1.0",
		TokenID:   strings.ReplaceAll(uuid.NewString(), "-", ""),
	})
}

// armTimeFormat is how ARM writes times in its token errors.
const armTimeFormat = "1/2/2006 3:04:05 PM"

// armTokenError decides, as ARM does, whether a bearer token is refused: verr and c are what
// tokens.Verify returned for it at now. It answers nil for a token ARM accepts (its
// application still has to exist), else the 401 ARM answers.
func armTokenError(c *tokens.Claims, verr error, now time.Time) *arm.Error {
	switch {
	case errors.Is(verr, tokens.ErrExpired):
		return arm.Errorf(http.StatusUnauthorized, "ExpiredAuthenticationToken",
			"The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
			c.ExpiresAt.UTC().Format(armTimeFormat), now.UTC().Format(armTimeFormat))
	case errors.Is(verr, tokens.ErrNotYetValid):
		return arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is not yet valid.")
	case verr != nil:
		return arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	case !slices.ContainsFunc(armAudiences, func(a string) bool { return strings.EqualFold(a, c.Audience) }):
		return arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenAudience",
			"The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s'.", c.Audience, strings.Join(armAudiences, "','"))
	case !c.IssuedByItsTenant():
		return arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant",
			"The access token is from the wrong issuer '%s'. It must match the tenant '%s' of the token.", c.Issuer, tokens.IssuerV1(c.TenantID))
	}
	return nil
}

// bearerToken returns the token of a request's "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, *arm.Error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	return strings.TrimSpace(tok), nil
}

// authenticate checks the bearer token of an ARM request as ARM does: signed by the
// emulator's Entra ID, not expired, for ARM's audience, from its tenant's issuer, of an
// application that exists.
func (em *Emulator) authenticate(r *http.Request) (arm.Principal, *arm.Error) {
	tok, aerr := bearerToken(r)
	if aerr != nil {
		return arm.Principal{}, aerr
	}
	now := time.Now()
	c, verr := em.signer.Verify(tok, now, 0)
	if aerr := armTokenError(c, verr, now); aerr != nil {
		em.log.Debug("token refused", "component", "arm", "code", aerr.Code, "reason", verr)
		return arm.Principal{}, aerr
	}
	if _, ok := em.principal(c.TenantID, c.AppID); !ok {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken",
			"The access token is invalid: application '%s' is not known in tenant '%s'.", c.AppID, c.TenantID)
	}
	return arm.Principal{TenantID: c.TenantID, ObjectID: c.ObjectID}, nil
}
