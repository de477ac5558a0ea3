package doctor

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-dev/strata/internal/tunnel"
	"github.com/strata-dev/strata/internal/tunnel/tunneltest"
)

func TestExplainDNS(t *testing.T) {
	nx := errors.New("no such host")
	for _, tc := range []struct {
		name     string
		id       CheckID
		host     string
		addrs    []string
		err      error
		viaProxy bool
		want     Status
		says     string
	}{
		{"resolves", CheckDNSServer, "strata.example.com", []string{"10.0.0.1"}, nil, false, OK, "resolves to 10.0.0.1"},
		{"ip", CheckDNSServer, "10.0.0.1", nil, nil, false, OK, "IP address"},
		{"server unresolved direct", CheckDNSServer, "strata.example.com", nil, nx, false, Fail, "does not resolve"},
		{"server unresolved via proxy", CheckDNSServer, "strata.example.com", nil, nx, true, Warn, "only the proxy"},
		{"proxy unresolved", CheckDNSProxy, "proxy.corp", nil, nx, true, Fail, "HTTPS_PROXY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ExplainDNS(AgentWording, tc.id, tc.host, tc.addrs, tc.err, tc.viaProxy)
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.says) {
				t.Fatalf("%s %q, want %s saying %q", r.Status, r.Detail, tc.want, tc.says)
			}
		})
	}
}

func TestExplainConnect(t *testing.T) {
	refused := func(code int, status string) error {
		return fmt.Errorf("dial: %w", &tunnel.ProxyRefusedError{Proxy: "proxy:3128", Target: "s:443", StatusCode: code, Status: status})
	}
	for _, tc := range []struct {
		name  string
		proxy string
		err   error
		want  Status
		says  []string
	}{
		{"direct", "", nil, OK, []string{"accepts TCP"}},
		{"tunnel", "proxy:3128", nil, OK, []string{"opened a tunnel", "200"}},
		{"407", "proxy:3128", refused(407, "407 Proxy Authentication Required"), Fail, []string{"407 Proxy Authentication Required", "credentials"}},
		{"403", "proxy:3128", refused(403, "403 Forbidden"), Fail, []string{"403 Forbidden", "policy"}},
		{"502", "proxy:3128", refused(502, "502 Bad Gateway"), Fail, []string{"502 Bad Gateway"}},
		{"proxy down", "proxy:3128", errors.New("connection refused"), Fail, []string{"cannot reach the proxy"}},
		{"server down", "", errors.New("connection refused"), Fail, []string{"cannot connect", "HTTPS_PROXY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ExplainConnect(AgentWording, "s:443", tc.proxy, tc.err)
			if r.Status != tc.want {
				t.Fatalf("%s %q, want %s", r.Status, r.Detail, tc.want)
			}
			for _, s := range tc.says {
				if !strings.Contains(r.Detail, s) {
					t.Errorf("%q does not say %q", r.Detail, s)
				}
			}
		})
	}
}

func TestExplainTLS(t *testing.T) {
	serverCA := tunneltest.NewCA(t, "strata agent CA", "strata")
	proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	server := serverCA.Server(t, "strata.example.com").Leaf
	forged := proxyCA.Server(t, "strata.example.com").Leaf
	verify := func(c *x509.Certificate, ca *tunneltest.CA, host string) error {
		_, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: host})
		return err
	}
	for _, tc := range []struct {
		name string
		obs  TLSObservation
		want Status
		says []string
		not  []string
	}{
		{"the server's", TLSObservation{Host: "strata.example.com", Chain: []*x509.Certificate{server}}, OK,
			[]string{"the strata server's", `"strata agent CA"`, "end to end"}, nil},
		{"intercepted, proxy CA given", TLSObservation{Host: "strata.example.com", Chain: []*x509.Certificate{forged},
			ServerVerifyErr: verify(forged, serverCA, "strata.example.com"), ProxyCASigned: true, Proxied: true}, Fail,
			[]string{"TLS interception", "CN=Corp TLS Inspection CA,O=Corp", "the proxy is intercepting", "Exempt strata.example.com",
				"the proxy CA you gave signed it", "WebSocket"}, nil},
		{"intercepted, transparent", TLSObservation{Host: "strata.example.com", Chain: []*x509.Certificate{forged},
			ServerVerifyErr: verify(forged, serverCA, "strata.example.com")}, Fail,
			[]string{"TLS interception", "CN=Corp TLS Inspection CA,O=Corp", "transparent proxy", "proxy-ca.crt"}, []string{"you gave"}},
		{"wrong name", TLSObservation{Host: "other.example.com", Chain: []*x509.Certificate{server},
			ServerVerifyErr: verify(server, serverCA, "other.example.com")}, Fail,
			[]string{"not valid for other.example.com"}, []string{"interception"}},
		{"no handshake", TLSObservation{Host: "s", Err: errors.New("EOF")}, Fail, []string{"before any certificate", "EOF"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ExplainTLS(AgentWording, tc.obs)
			if r.Status != tc.want {
				t.Fatalf("%s %q, want %s", r.Status, r.Detail, tc.want)
			}
			for _, s := range tc.says {
				if !strings.Contains(r.Detail, s) {
					t.Errorf("%q does not say %q", r.Detail, s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(r.Detail, s) {
					t.Errorf("%q says %q", r.Detail, s)
				}
			}
		})
	}
}

func TestExplainHTTP2(t *testing.T) {
	for _, tc := range []struct {
		proto   string
		proxied bool
		want    Status
		says    string
	}{
		{"h2", true, OK, "gRPC can pass"},
		{"http/1.1", true, Fail, "the proxy speaks HTTP/1.1 only: gRPC cannot pass; the WebSocket fallback will be used"},
		{"", true, Fail, "negotiated nothing"},
		{"http/1.1", false, Fail, "not the strata server"},
	} {
		r := ExplainHTTP2(AgentWording, tc.proto, tc.proxied)
		if r.Status != tc.want || !strings.Contains(r.Detail, tc.says) {
			t.Errorf("%q proxied=%v: %s %q, want %s saying %q", tc.proto, tc.proxied, r.Status, r.Detail, tc.want, tc.says)
		}
	}
}

func TestExplainWebSocket(t *testing.T) {
	proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	forged := proxyCA.Server(t, "s").Leaf
	for _, tc := range []struct {
		name string
		err  error
		want Status
		says string
	}{
		{"works", nil, OK, "the fallback transport works"},
		{"untrusted proxy CA", fmt.Errorf("x: %w", x509.UnknownAuthorityError{Cert: forged}), Fail, `"CN=Corp TLS Inspection CA,O=Corp"`},
		{"upgrade refused", &tunnel.UpgradeError{StatusCode: 403, Status: "403 Forbidden"}, Fail, "403 Forbidden"},
		{"proxy refused", &tunnel.ProxyRefusedError{StatusCode: 407, Status: "407 Proxy Authentication Required"}, Fail, "407"},
		{"other", errors.New("boom"), Fail, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ExplainWebSocket(AgentWording, tc.err)
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.says) {
				t.Fatalf("%s %q, want %s saying %q", r.Status, r.Detail, tc.want, tc.says)
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	res := func(tls, h2, ws Status) []Result {
		return []Result{{ID: CheckTLS, Status: tls}, {ID: CheckHTTP2, Status: h2}, {ID: CheckWebSocket, Status: ws}}
	}
	for _, tc := range []struct {
		name       string
		results    []Result
		ok         bool
		says       string
		wordClient string
	}{
		{"grpc", res(OK, OK, OK), true, "gRPC over HTTP/2", "the agent"},
		{"websocket", res(Fail, Fail, OK), true, "WebSocket transport works", "the agent"},
		{"nothing", res(Fail, Fail, Fail), false, "cannot reach", "the agent"},
		{"skipped", res(Skip, Skip, Skip), false, "cannot reach", "the agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := Verdict(AgentWording, tc.results)
			if ok != tc.ok || !strings.Contains(v, tc.says) || !strings.Contains(v, tc.wordClient) {
				t.Fatalf("%v %q", ok, v)
			}
		})
	}
	// Another wording names other parties.
	v, _ := Verdict(Wording{Client: "the gateway", Server: "strata"}, res(OK, OK, OK))
	if !strings.Contains(v, "the gateway") || strings.Contains(v, "agent") {
		t.Fatalf("%q", v)
	}
}
