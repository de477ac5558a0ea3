package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/strata-dev/strata/internal/emulator/tokens"
)

// The token endpoint's grants for users: authorization_code, device_code and refresh_token,
// for the public clients of the directory (EntraApplication).

const (
	grantAuthorizationCode = "authorization_code"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
)

// graphAppID is Microsoft Graph's application ID: the audience of a token asked for with
// OpenID scopes only, or with Graph's scopes (User.Read).
const graphAppID = "00000003-0000-0000-c000-000000000000"

// oidcScopes are the scopes that ask for an id_token, claims and a refresh token rather than
// for a resource.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// scopeGrant is a scope parameter as Entra ID reads it: OpenID scopes and the scopes of at
// most one resource.
type scopeGrant struct {
	// Requested are the scopes as asked, without duplicates: the token response's scope.
	Requested []string
	// Audience is the access token's aud: the resource as the scopes name it.
	Audience string
	// Names are the access token's scp: the resource's scopes (.default is
	// user_impersonation), or the OpenID scopes for Graph.
	Names           []string
	OpenID, Offline bool
}

// parseScope reads a scope parameter of a sign-in in a tenant: the resource must be Graph, or
// api://{clientId} or {clientId} of an application or service principal of the tenant.
func (em *Emulator) parseScope(tenant, raw string) (scopeGrant, *entraError) {
	var g scopeGrant
	var oidcNames []string
	resource := ""
	for _, s := range strings.Fields(raw) {
		if slices.Contains(g.Requested, s) {
			continue
		}
		g.Requested = append(g.Requested, s)
		if low := strings.ToLower(s); slices.Contains(oidcScopes, low) {
			g.OpenID = g.OpenID || low == "openid"
			g.Offline = g.Offline || low == "offline_access"
			if low != "offline_access" {
				oidcNames = append(oidcNames, low)
			}
			continue
		}
		res, name := graphAppID, s
		if i := strings.LastIndex(s, "/"); i >= 0 {
			res, name = s[:i], s[i+1:]
		}
		switch {
		case res == "" || name == "":
			return g, &entraError{http.StatusBadRequest, "invalid_scope", 70011, fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope '%s' is not valid.", s)}
		case resource != "" && !strings.EqualFold(resource, res):
			return g, &entraError{http.StatusBadRequest, "invalid_scope", 700022, fmt.Sprintf("The provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", raw)}
		case name == ".default":
			name = "user_impersonation"
		}
		resource = res
		g.Names = append(g.Names, name)
	}
	if len(g.Requested) == 0 {
		return g, &entraError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."}
	}
	if resource == "" {
		resource, g.Names = graphAppID, oidcNames
	}
	aud, ok := em.resourceAudience(tenant, resource)
	if !ok {
		return g, &entraError{http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, tenant)}
	}
	g.Audience = aud
	return g, nil
}

// resourceAudience returns the audience of a resource of a tenant's tokens, or false when the
// tenant has no such resource.
func (em *Emulator) resourceAudience(tenant, resource string) (string, bool) {
	if strings.EqualFold(resource, graphAppID) || strings.EqualFold(strings.TrimSuffix(resource, "/"), "https://graph.microsoft.com") {
		return graphAppID, true
	}
	id := resource
	if len(resource) > len("api://") && strings.EqualFold(resource[:len("api://")], "api://") {
		id = resource[len("api://"):]
	}
	if _, ok := em.application(tenant, id); ok {
		return resource, true
	}
	if _, ok := em.principal(tenant, id); ok {
		return resource, true
	}
	return "", false
}

// issuerV2 is the issuer of a tenant's v2.0 tokens and metadata: the emulator's URL (the
// request's host when it is not listening) and the tenant.
func (em *Emulator) issuerV2(r *http.Request, tenant string) string {
	base := em.URL()
	if base == "" {
		base = "https://" + r.Host
	}
	return base + "/" + strings.ToLower(tenant) + "/v2.0"
}

// pairwiseSubject is a user's sub for an application: the same user has another sub in
// another application, as Entra ID's pairwise subjects.
func pairwiseSubject(userID, appID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(userID) + "|" + strings.ToLower(appID)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// issueUserTokens signs the tokens of a grant: the access token, the id_token with openid, a
// refresh token with offline_access. It answers the token response's body.
func (em *Emulator) issueUserTokens(r *http.Request, g userGrant) (map[string]any, *entraError) {
	u, ok := em.user(g.userID)
	if !ok {
		return nil, invalidGrant(50034, "The user account does not exist in the directory.")
	}
	now := time.Now()
	base := tokens.UserClaims{
		Issuer: em.issuerV2(r, g.tenant), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(tokenLifetime)), Name: u.DisplayName, ObjectID: u.ID,
		PreferredUsername: u.UserPrincipalName, TenantID: strings.ToLower(u.TenantID), Groups: em.groupsOf(u.ID), Version: "2.0",
	}
	access := base
	access.Audience, access.AuthorizedParty, access.AuthorizedPartyACR = g.scope.Audience, g.clientID, "0"
	access.Scope, access.Subject = strings.Join(g.scope.Names, " "), pairwiseSubject(u.ID, g.scope.Audience)
	access.TokenID = uuid.NewString()
	body := map[string]any{
		"token_type": "Bearer", "scope": strings.Join(g.scope.Requested, " "),
		"expires_in": int(tokenLifetime.Seconds()), "ext_expires_in": int(tokenLifetime.Seconds()),
	}
	var err error
	if body["access_token"], err = em.signer.SignUser(access); err != nil {
		return nil, em.tokenFailure(err)
	}
	if g.scope.OpenID {
		id := base
		id.Audience, id.Nonce, id.Subject, id.TokenID = g.clientID, g.nonce, pairwiseSubject(u.ID, g.clientID), uuid.NewString()
		if body["id_token"], err = em.signer.SignUser(id); err != nil {
			return nil, em.tokenFailure(err)
		}
	}
	if g.scope.Offline {
		refresh := g
		refresh.nonce = ""
		body["refresh_token"] = em.signins.addRefresh(refresh, em.opts.Entra.RefreshTokenLifetime, now)
	}
	return body, nil
}

// tokenFailure logs why a token could not be signed and answers Entra's transient error.
func (em *Emulator) tokenFailure(err error) *entraError {
	em.log.Error("issuing a user token", "err", err)
	return &entraError{http.StatusInternalServerError, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again."}
}

// writeTokenResponse answers a token response.
func writeTokenResponse(w http.ResponseWriter, body map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(body)
}

// publicClient reads and checks the client of a token or device code request: a registered
// application of the tenant, which, being public, presents no secret (a client ID in a Basic
// header with an empty password is read as the client ID).
func (em *Emulator) publicClient(r *http.Request, tenant string) (EntraApplication, *entraError) {
	fail := func(status int, code string, aadsts int, format string, args ...any) (EntraApplication, *entraError) {
		return EntraApplication{}, &entraError{status, code, aadsts, fmt.Sprintf(format, args...)}
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		if uu, err := url.QueryUnescape(u); err == nil {
			u = uu
		}
		clientID = u
		if p != "" {
			secret = p
		}
	}
	if clientID == "" {
		return fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	if !em.knownTenant(tenant) {
		return fail(http.StatusBadRequest, "invalid_request", 90002,
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)
	}
	app, ok := em.application(tenant, clientID)
	if !ok {
		return fail(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
	}
	if secret != "" || r.PostForm.Get("client_assertion") != "" {
		return fail(http.StatusUnauthorized, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
	}
	return app, nil
}

// userGrantToken serves the token endpoint's user grants (the form is parsed).
func (em *Emulator) userGrantToken(w http.ResponseWriter, r *http.Request, tenant, grant string) {
	g, eerr := em.userGrantOf(r, tenant, grant)
	if eerr != nil {
		writeEntraError(w, eerr.status, eerr.code, eerr.aadsts, eerr.desc)
		return
	}
	body, eerr := em.issueUserTokens(r, g.userGrant)
	if eerr != nil {
		writeEntraError(w, eerr.status, eerr.code, eerr.aadsts, eerr.desc)
		return
	}
	if g.code != nil {
		rt, _ := body["refresh_token"].(string)
		em.signins.codeIssued(g.code, rt)
	}
	writeTokenResponse(w, body)
}

// grantOf is what a token request redeems: a grant, and the code when it is one.
type grantOf struct {
	userGrant
	code *authCode
}

// userGrantOf checks a token request of a user grant and redeems its code, device code or
// refresh token.
func (em *Emulator) userGrantOf(r *http.Request, tenant, grant string) (grantOf, *entraError) {
	app, eerr := em.publicClient(r, tenant)
	if eerr != nil {
		return grantOf{}, eerr
	}
	f := r.PostForm
	param := map[string]string{grantAuthorizationCode: "code", grantDeviceCode: "device_code", grantRefreshToken: "refresh_token"}[grant]
	if f.Get(param) == "" {
		return grantOf{}, &entraError{http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", param)}
	}
	now := time.Now()
	switch grant {
	case grantAuthorizationCode:
		c, eerr := em.signins.redeemCode(codeRedemption{tenant: tenant, clientID: app.ClientID, code: f.Get("code"),
			redirectURI: f.Get("redirect_uri"), verifier: f.Get("code_verifier")}, now)
		if eerr != nil {
			return grantOf{}, eerr
		}
		return grantOf{userGrant: c.userGrant, code: c}, nil
	case grantDeviceCode:
		g, eerr := em.signins.pollDevice(f.Get("device_code"), tenant, app.ClientID, now)
		return grantOf{userGrant: g}, eerr
	default:
		g, eerr := em.signins.redeemRefresh(f.Get("refresh_token"), tenant, app.ClientID, now)
		return grantOf{userGrant: g}, eerr
	}
}
