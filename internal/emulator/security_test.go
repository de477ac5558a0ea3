package emulator_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/golang-jwt/jwt/v5"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/emulator/tokens"
)

// These tests forge tokens as an attacker would, and as the holder of the emulator's signing
// key could: they read the key from the state directory, where the emulator keeps it.

const armScope = "https://management.core.windows.net//.default"

// stateFile reads a file of the emulator's state directory, which must be private (0600).
func stateFile(t *testing.T, env *emulatortest.Env, name string) []byte {
	t.Helper()
	path := filepath.Join(env.StateDir, name)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the emulator keeps no %s in its state directory: %v", name, err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", name, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// emulatorSigner signs with the emulator's own key.
func emulatorSigner(t *testing.T, env *emulatortest.Env) *tokens.Signer {
	t.Helper()
	s, err := tokens.NewSigner(stateFile(t, env, "token-signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// otherSigner signs with a key of its own.
func otherSigner(t *testing.T) *tokens.Signer {
	t.Helper()
	key, err := tokens.NewKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	s, err := tokens.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// adminToken reads the admin token the emulator keeps in its state directory.
func adminToken(t *testing.T, env *emulatortest.Env) string {
	t.Helper()
	return strings.TrimSpace(string(stateFile(t, env, "admin-token")))
}

// claimsFor are the claims of a token of the default principal for an audience.
func claimsFor(env *emulatortest.Env, aud string, change func(*tokens.Claims)) tokens.Claims {
	now := time.Now()
	c := tokens.Claims{
		Audience: aud, Issuer: tokens.IssuerV1(env.TenantID), TenantID: env.TenantID, AppID: env.ClientID,
		ObjectID: "forged", IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}
	if change != nil {
		change(&c)
	}
	return c
}

func sign(t *testing.T, s *tokens.Signer, c tokens.Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsignedToken is a token with the claims and no signature (alg none).
func unsignedToken(c tokens.Claims) string {
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "none"})
	p, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// listGroupsWith lists the subscription's resource groups with the token and returns the answer's
// status, error code and WWW-Authenticate header.
func listGroupsWith(t *testing.T, env *emulatortest.Env, token string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/subscriptions/"+env.SubscriptionID+"/resourcegroups?api-version=2025-04-01", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := env.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK && resp.Header.Get("x-ms-error-code") != body.Error.Code {
		t.Errorf("x-ms-error-code %q, body code %q", resp.Header.Get("x-ms-error-code"), body.Error.Code)
	}
	return resp.StatusCode, body.Error.Code, resp.Header.Get("WWW-Authenticate")
}

// TestARMRefusesForgedTokens: Resource Manager accepts only tokens the emulator's Entra ID
// signed, for its audience, from the token's tenant, not expired.
func TestARMRefusesForgedTokens(t *testing.T) {
	env := emulatortest.Start(t)
	const aud = "https://management.core.windows.net/"
	for _, tc := range []struct {
		name  string
		token func(t *testing.T) string
		code  string
	}{
		{"unsigned (alg none)", func(*testing.T) string { return unsignedToken(claimsFor(env, aud, nil)) }, "InvalidAuthenticationToken"},
		{"signed by another key", func(t *testing.T) string { return sign(t, otherSigner(t), claimsFor(env, aud, nil)) }, "InvalidAuthenticationToken"},
		{"wrong audience", func(t *testing.T) string {
			return sign(t, emulatorSigner(t, env), claimsFor(env, "https://storage.azure.com", nil))
		}, "InvalidAuthenticationTokenAudience"},
		{"expired", func(t *testing.T) string {
			return sign(t, emulatorSigner(t, env), claimsFor(env, aud, func(c *tokens.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }))
		}, "ExpiredAuthenticationToken"},
		{"issuer of another tenant", func(t *testing.T) string {
			return sign(t, emulatorSigner(t, env), claimsFor(env, aud, func(c *tokens.Claims) { c.Issuer = tokens.IssuerV1("22222222-2222-2222-2222-222222222222") }))
		}, "InvalidAuthenticationTokenTenant"},
		{"issuer not Entra ID", func(t *testing.T) string {
			return sign(t, emulatorSigner(t, env), claimsFor(env, aud, func(c *tokens.Claims) { c.Issuer = "https://issuer.example/" + env.TenantID + "/" }))
		}, "InvalidAuthenticationTokenTenant"},
		{"the emulator's key, all right", func(t *testing.T) string { return sign(t, emulatorSigner(t, env), claimsFor(env, aud, nil)) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, challenge := listGroupsWith(t, env, tc.token(t))
			if tc.code == "" {
				if status != http.StatusOK {
					t.Fatalf("got %d %s, want 200", status, code)
				}
				return
			}
			if status != http.StatusUnauthorized || code != tc.code {
				t.Fatalf("got %d %q, want 401 %s", status, code, tc.code)
			}
			if !strings.HasPrefix(challenge, `Bearer authorization_uri="https://`) || !strings.Contains(challenge, `error="invalid_token"`) || !strings.Contains(challenge, `error_description="`) {
				t.Errorf("WWW-Authenticate %q", challenge)
			}
		})
	}
}

// TestEntraPublishesSigningKey: a token the SDK gets names its key, which the jwks_uri of
// both OpenID documents publishes and which verifies it; the v1 document's issuer is the
// token's.
func TestEntraPublishesSigningKey(t *testing.T) {
	env := emulatortest.Start(t)
	tok, err := env.Cred.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration"} {
		t.Run(doc, func(t *testing.T) {
			var meta struct {
				Issuer  string `json:"issuer"`
				JWKSURI string `json:"jwks_uri"`
			}
			getJSON(t, env, env.URL+"/"+env.TenantID+doc, &meta)
			if doc == "/.well-known/openid-configuration" && meta.Issuer != "https://sts.windows.net/"+env.TenantID+"/" {
				t.Errorf("v1 issuer %q, want the tokens' https://sts.windows.net/%s/", meta.Issuer, env.TenantID)
			}
			var set struct {
				Keys []struct{ Kty, Use, Kid, N, E string }
			}
			getJSON(t, env, meta.JWKSURI, &set)
			keys := map[string]*rsa.PublicKey{}
			for _, k := range set.Keys {
				n, _ := base64.RawURLEncoding.DecodeString(k.N)
				e, _ := base64.RawURLEncoding.DecodeString(k.E)
				keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
			}
			parsed, err := jwt.Parse(tok.Token, func(t *jwt.Token) (any, error) {
				k, ok := keys[t.Header["kid"].(string)]
				if !ok {
					return nil, jwt.ErrTokenUnverifiable
				}
				return k, nil
			}, jwt.WithValidMethods([]string{"RS256"}))
			if err != nil || !parsed.Valid {
				t.Fatalf("the token does not verify with the published keys %+v: %v", set.Keys, err)
			}
		})
	}
}

func getJSON(t *testing.T, env *emulatortest.Env, url string, out any) {
	t.Helper()
	resp, err := env.HTTPClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}

// adminCall calls an admin endpoint with an Authorization header (none when empty).
func adminCall(t *testing.T, env *emulatortest.Env, method, path, authz string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, env.URL+path, r)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := env.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminRequiresToken: every admin endpoint but healthz answers 401 without the admin
// token, and such a request changes nothing.
func TestAdminRequiresToken(t *testing.T) {
	env := emulatortest.Start(t)
	env.ResourceGroup(t, "kept")
	armToken, err := env.Cred.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	sp := emulator.ServicePrincipal{TenantID: env.TenantID, ClientID: "intruder", Secret: "intruder-secret"}
	fault := map[string]any{"method": "GET", "status": 503, "rate": 1}
	calls := []struct {
		method, path string
		body         any
	}{
		{"GET", "/_emulator/info", nil}, {"GET", "/_emulator/counters", nil}, {"GET", "/_emulator/inventory", nil},
		{"GET", "/_emulator/faults", nil}, {"GET", "/_emulator/throttling", nil}, {"GET", "/_emulator/latency", nil},
		{"POST", "/_emulator/reset", nil}, {"POST", "/_emulator/save", nil}, {"POST", "/_emulator/faults", fault},
		{"PUT", "/_emulator/faults", []any{fault}}, {"DELETE", "/_emulator/faults", nil},
		{"PUT", "/_emulator/throttling", map[string]any{"enabled": false}}, {"PUT", "/_emulator/latency", map[string]any{"profile": "realistic"}},
		{"POST", "/_emulator/principals", sp}, {"GET", "/_emulator/nothing-here", nil},
	}
	for _, authz := range []string{"", "Bearer wrong-token", "Bearer " + armToken.Token, "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin"))} {
		for _, c := range calls {
			if status, body := adminCall(t, env, c.method, c.path, authz, c.body); status != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %.20q: %d, want 401: %.200s", c.method, c.path, authz, status, body)
			}
		}
	}
	if status, body := adminCall(t, env, "GET", "/_emulator/healthz", "", nil); status != http.StatusOK || body != "ok\n" {
		t.Errorf("healthz without a token: %d %q, want 200 ok", status, body)
	}

	// Nothing changed: the group, no fault, the intruder has no token, latency as it was.
	c := rgClient(t, env, nil)
	if _, err := c.Get(bg, "kept", nil); err != nil {
		t.Errorf("the resource group is gone after refused admin calls: %v", err)
	}
	intruder, _ := env.NewCredential(sp.TenantID, sp.ClientID, sp.Secret)
	if _, err := intruder.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{armScope}}); err == nil {
		t.Error("a principal added without the admin token gets tokens")
	}
	admin := "Bearer " + adminToken(t, env)
	var faults struct{ Faults []any }
	if status, body := adminCall(t, env, "GET", "/_emulator/faults", admin, nil); status != http.StatusOK || json.Unmarshal([]byte(body), &faults) != nil || len(faults.Faults) != 0 {
		t.Errorf("faults with the admin token: %d %s, want 200 and none", status, body)
	}
	if status, body := adminCall(t, env, "GET", "/_emulator/latency", admin, nil); status != http.StatusOK || !strings.Contains(body, `"zero"`) {
		t.Errorf("latency with the admin token: %d %s, want 200 and zero", status, body)
	}
	// With the token, the inventory has the resource group.
	if status, body := adminCall(t, env, "GET", "/_emulator/inventory", admin, nil); status != http.StatusOK || !strings.Contains(body, "/resourceGroups/kept") {
		t.Errorf("inventory with the admin token: %d %.300s", status, body)
	}
}

// TestRestartKeepsKeys: a restarted emulator on the same state directory accepts the tokens
// it issued before (the SDK caches them for an hour) and keeps its admin token.
func TestRestartKeepsKeys(t *testing.T) {
	env := emulatortest.Start(t)
	tok, err := env.Cred.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	admin := adminToken(t, env)
	env.Restart(t)
	if status, code, _ := listGroupsWith(t, env, tok.Token); status != http.StatusOK {
		t.Errorf("the token issued before the restart: %d %s, want 200", status, code)
	}
	if again := adminToken(t, env); again != admin {
		t.Errorf("admin token %q after the restart, was %q", again, admin)
	}
	if status, body := adminCall(t, env, "GET", "/_emulator/info", "Bearer "+admin, nil); status != http.StatusOK {
		t.Errorf("info with the admin token of before the restart: %d %s", status, body)
	}
}

// blobError is the Blob service's XML error body.
type blobError struct {
	Code   string `xml:"Code"`
	Detail string `xml:"AuthenticationErrorDetail"`
}

// TestBlobRefusesForgedTokens: the blob service accepts only tokens the emulator signed, for
// the storage audience, from their tenant's issuer, not expired, and answers as Azure Storage.
func TestBlobRefusesForgedTokens(t *testing.T) {
	env := emulatortest.Start(t)
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	env.ResourceGroup(t, "rg-blob")
	accts, err := armstorage.NewAccountsClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	poller, err := accts.BeginCreate(ctx, "rg-blob", "stratatokens", armstorage.AccountCreateParameters{
		Location: to.Ptr(env.Location), Kind: to.Ptr(armstorage.KindStorageV2),
		SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := *acct.Properties.PrimaryEndpoints.Blob

	// The SDK's own token flow works.
	c, err := container.NewClient(endpoint+"bysdk", env.Cred, &container.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: env.HTTPClient}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, nil); err != nil {
		t.Fatalf("creating a container with the SDK's token: %v", err)
	}

	const aud = "https://storage.azure.com"
	for _, tc := range []struct {
		name   string
		token  func(t *testing.T) string
		detail string
	}{
		{"unsigned (alg none)", func(*testing.T) string { return unsignedToken(claimsFor(env, aud, nil)) }, "Signature validation failed."},
		{"signed by another key", func(t *testing.T) string { return sign(t, otherSigner(t), claimsFor(env, aud, nil)) }, "Signature validation failed."},
		{"wrong audience", func(t *testing.T) string {
			return sign(t, emulatorSigner(t, env), claimsFor(env, "https://management.core.windows.net/", nil))
		}, "Audience validation failed. Audience did not match."},
		{"expired", func(t *testing.T) string {
			return sign(t, emulatorSigner(t, env), claimsFor(env, aud, func(c *tokens.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)) }))
		}, "Lifetime validation failed. The token is expired."},
		{"issuer of another tenant", func(t *testing.T) string {
			return sign(t, emulatorSigner(t, env), claimsFor(env, aud, func(c *tokens.Claims) { c.Issuer = tokens.IssuerV1("other") }))
		}, "Issuer validation failed. Issuer did not match."},
		{"the emulator's key, all right", func(t *testing.T) string { return sign(t, emulatorSigner(t, env), claimsFor(env, aud, nil)) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' {
					return r
				}
				return -1
			}, strings.ToLower(tc.name))
			req, _ := http.NewRequest(http.MethodPut, endpoint+name+"?restype=container", nil)
			req.Header.Set("Authorization", "Bearer "+tc.token(t))
			req.Header.Set("x-ms-version", "2026-12-06")
			resp, err := env.HTTPClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if tc.detail == "" {
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("got %d %s, want 201", resp.StatusCode, b)
				}
				return
			}
			var e blobError
			_ = xml.Unmarshal(b, &e)
			if resp.StatusCode != http.StatusUnauthorized || e.Code != "InvalidAuthenticationInfo" || resp.Header.Get("x-ms-error-code") != e.Code || !strings.HasPrefix(e.Detail, tc.detail) {
				t.Fatalf("got %d %s, want 401 InvalidAuthenticationInfo %q", resp.StatusCode, b, tc.detail)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, "Bearer authorization_uri=https://") || !strings.HasSuffix(challenge, " resource_id=https://storage.azure.com") {
				t.Errorf("WWW-Authenticate %q", challenge)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer that a logger and a test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRefusalsLoggedWithoutSecrets: a refused token is logged at debug level with its reason;
// neither the token, nor the admin token, nor a client secret is ever logged.
func TestRefusalsLoggedWithoutSecrets(t *testing.T) {
	logs := &syncBuffer{}
	env := emulatortest.Start(t, func(o *emulator.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	forged := sign(t, otherSigner(t), claimsFor(env, "https://management.core.windows.net/", nil))
	if status, _, _ := listGroupsWith(t, env, forged); status != http.StatusUnauthorized {
		t.Fatalf("forged token: %d", status)
	}
	good, err := env.Cred.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatal(err)
	}
	listGroupsWith(t, env, good.Token)
	adminCall(t, env, "GET", "/_emulator/info", "Bearer "+env.AdminToken, nil)
	adminCall(t, env, "GET", "/_emulator/info", "Bearer not-the-admin-token", nil)
	out := logs.String()
	if !strings.Contains(out, "token refused") || !strings.Contains(out, "InvalidAuthenticationToken") {
		t.Errorf("no debug line for the refused token:\n%s", out)
	}
	for name, secret := range map[string]string{
		"forged token": forged, "token": good.Token, "admin token": env.AdminToken, "client secret": env.ClientSecret,
		"a token's signature": forged[strings.LastIndex(forged, ".")+1:],
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows the %s:\n%s", name, out)
		}
	}
}
