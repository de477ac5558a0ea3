package emulatortest

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/strata-dev/strata/internal/emulator"
)

// Callers returns the request counters by caller (GET /_emulator/callers).
func (e *Env) Callers(t testing.TB) []emulator.CallerCount {
	t.Helper()
	var out struct{ Callers []emulator.CallerCount }
	if code := e.Admin(t, http.MethodGet, "/_emulator/callers", nil, &out); code != http.StatusOK {
		t.Fatalf("emulator callers: HTTP %d", code)
	}
	return out.Callers
}

// RequestsNotFrom counts the requests of a kind (emulator.CallerARM, CallerToken, CallerBlob;
// "" for any) to a scope (a subscription, tenant or storage account, any case; "" for any)
// whose caller's product is not product (emulator.MatchesProduct: "strata-gateway" also
// matches "strata-gateway/corp-gateway"). A test of a private cloud gateway asserts that it
// is 0 for its subscription and storage account.
func (e *Env) RequestsNotFrom(t testing.TB, product, kind, scope string) int64 {
	t.Helper()
	var n int64
	for _, c := range e.Callers(t) {
		if (kind == "" || c.Kind == kind) && (scope == "" || strings.EqualFold(c.Scope, scope)) && !emulator.MatchesProduct(c.Product, product) {
			n += c.Count
		}
	}
	return n
}

// HTTPClientFrom returns an HTTP client that trusts the emulator's CA and connects from the
// source address (e.g. 127.0.5.10, which a binding of /_emulator/networks places in a VNet)
// and, when userAgent is not empty, puts it before the User-Agent of every request, as
// strata's azure.Options.UserAgent does.
func (e *Env) HTTPClientFrom(source netip.Addr, userAgent string) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: source.AsSlice()}}
	tr := &http.Transport{
		DialContext:       d.DialContext,
		TLSClientConfig:   &tls.Config{RootCAs: e.Emulator.CAPool(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}
	var rt http.RoundTripper = tr
	if userAgent != "" {
		rt = userAgentTransport{prefix: userAgent, next: tr}
	}
	return &http.Client{Transport: rt, Timeout: 60 * time.Second}
}

// userAgentTransport puts a prefix before the User-Agent of each request.
type userAgentTransport struct {
	prefix string
	next   http.RoundTripper
}

// RoundTrip sends a copy of req whose User-Agent starts with the prefix.
func (u userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	ua := u.prefix
	if prev := req.Header.Get("User-Agent"); prev != "" {
		ua += " " + prev
	}
	r.Header.Set("User-Agent", ua)
	return u.next.RoundTrip(r)
}

// ClientOptionsFor returns ARM client options that send through client (HTTPClientFrom), with
// the retries of ClientOptions.
func (e *Env) ClientOptionsFor(client *http.Client) *azarm.ClientOptions {
	o := *e.ClientOptions
	o.Transport = client
	return &o
}

// CredentialFor returns the default principal's credential, getting its tokens through
// client (HTTPClientFrom).
func (e *Env) CredentialFor(client *http.Client) (*azidentity.ClientSecretCredential, error) {
	return azidentity.NewClientSecretCredential(e.TenantID, e.ClientID, e.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: e.Cloud(), Transport: client},
		DisableInstanceDiscovery: true,
	})
}
