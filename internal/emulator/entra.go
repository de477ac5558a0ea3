package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/internal/emulator/arm"
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

// knownTenant reports whether a tenant has a service principal or a subscription.
func (em *Emulator) knownTenant(tenant string) bool {
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
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     "https://" + r.Host + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid"},
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

// jwks serves the (empty) key set: the emulator's tokens are unsigned.
func (em *Emulator) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write([]byte(`{"keys":[]}`))
}

// token serves POST /{tenant}/oauth2/v2.0/token for the client credentials grant.
func (em *Emulator) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		writeEntraError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeEntraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be form-encoded.")
		return
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		writeEntraError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'. The emulator supports client_credentials.", gt))
		return
	}
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	if clientID == "" {
		writeEntraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	scope := ""
	for _, s := range strings.Fields(f.Get("scope")) {
		if strings.HasSuffix(s, "/.default") {
			scope = s
			break
		}
	}
	if scope == "" {
		writeEntraError(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	if !em.knownTenant(tenant) {
		writeEntraError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	sp, ok := em.principal(tenant, clientID)
	if !ok {
		writeEntraError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant))
		return
	}
	if secret != sp.Secret {
		writeEntraError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided.")
		return
	}
	now := time.Now()
	tok := issueToken(tenant, sp, strings.TrimSuffix(scope, "/.default"), now, now.Add(tokenLifetime))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(tokenLifetime.Seconds()),
		"ext_expires_in": int(tokenLifetime.Seconds()),
		"access_token":   tok,
	})
}

// objectID is the deterministic object ID of a service principal.
func objectID(sp ServicePrincipal) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(strings.ToLower(sp.TenantID+"/"+sp.ClientID))).String()
}

// issueToken builds an unsigned JWT (alg "none") with the claims Entra ID v1 tokens carry;
// Azurite's --oauth basic mode accepts such tokens too.
func issueToken(tenant string, sp ServicePrincipal, audience string, from, until time.Time) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]any{"typ": "JWT", "alg": "none"})
	iss := "https://sts.windows.net/" + tenant + "/"
	claims, _ := json.Marshal(map[string]any{
		"aud":      audience,
		"iss":      iss,
		"iat":      from.Add(-5 * time.Minute).Unix(),
		"nbf":      from.Add(-5 * time.Minute).Unix(),
		"exp":      until.Unix(),
		"appid":    sp.ClientID,
		"appidacr": "1",
		"idp":      iss,
		"oid":      objectID(sp),
		"sub":      objectID(sp),
		"tid":      tenant,
		"ver":      "1.0",
		"uti":      strings.ReplaceAll(uuid.NewString(), "-", ""),
	})
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "."
}

// tokenClaims are the claims ARM checks.
type tokenClaims struct {
	Aud   string `json:"aud"`
	Iss   string `json:"iss"`
	Exp   int64  `json:"exp"`
	Nbf   int64  `json:"nbf"`
	Tid   string `json:"tid"`
	AppID string `json:"appid"`
	OID   string `json:"oid"`
}

func parseToken(tok string) (tokenClaims, bool) {
	var c tokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, false
	}
	if json.Unmarshal(b, &c) != nil || c.Tid == "" || c.Exp == 0 {
		return c, false
	}
	return c, true
}

// authenticate checks the bearer token of an ARM request as ARM does.
func (em *Emulator) authenticate(r *http.Request) (arm.Principal, *arm.Error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	c, ok := parseToken(strings.TrimSpace(tok))
	if !ok {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	}
	now := time.Now().UTC()
	if exp := time.Unix(c.Exp, 0).UTC(); !now.Before(exp) {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "ExpiredAuthenticationToken",
			"The access token expiry UTC time '%s' is earlier than current UTC time '%s'.", exp.Format("1/2/2006 3:04:05 PM"), now.Format("1/2/2006 3:04:05 PM"))
	}
	if c.Nbf != 0 && now.Before(time.Unix(c.Nbf, 0)) {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is not yet valid.")
	}
	audOK := false
	for _, a := range armAudiences {
		audOK = audOK || strings.EqualFold(a, c.Aud)
	}
	if !audOK {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenAudience",
			"The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s'.", c.Aud, strings.Join(armAudiences, "','"))
	}
	if !strings.EqualFold(c.Iss, "https://sts.windows.net/"+c.Tid+"/") {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant",
			"The access token is from the wrong issuer '%s'.", c.Iss)
	}
	if _, ok := em.principal(c.Tid, c.AppID); !ok {
		return arm.Principal{}, arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken",
			"The access token is invalid: application '%s' is not known in tenant '%s'.", c.AppID, c.Tid)
	}
	return arm.Principal{TenantID: c.Tid, ObjectID: c.OID}, nil
}
