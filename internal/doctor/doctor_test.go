package doctor_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/strata-dev/strata/internal/doctor"
	"github.com/strata-dev/strata/internal/tunnel/tunneltest"
)

func run(t *testing.T, o doctor.Options) map[doctor.CheckID]doctor.Result {
	t.Helper()
	results, err := doctor.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	doctor.Print(&out, o.Wording, results)
	t.Logf("\n%s", out.String())
	m := map[doctor.CheckID]doctor.Result{}
	for _, r := range results {
		m[r.ID] = r
	}
	return m
}

func TestDirectServerAllOK(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	results, err := doctor.Run(context.Background(), doctor.Options{Server: e.Addr, ServerCA: e.CA.PEM})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 5 { // DNS of the server, TCP, TLS, HTTP/2, WebSocket
		t.Fatalf("%d results: %+v", len(results), results)
	}
	for _, r := range results {
		if r.Status != doctor.OK {
			t.Errorf("%s: %s %s", r.Title, r.Status, r.Detail)
		}
	}
	if v, ok := doctor.Verdict(doctor.AgentWording, results); !ok || !strings.Contains(v, "HTTP/2") {
		t.Errorf("verdict %v %q", ok, v)
	}
}

func TestInterceptingProxy(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{Intercept: proxyCA, ServerRoots: e.CA.Pool()})
	m := run(t, doctor.Options{Server: e.Addr, ServerCA: e.CA.PEM, Proxy: p.URL, ProxyCA: proxyCA.PEM})

	for _, id := range []doctor.CheckID{doctor.CheckDNSServer, doctor.CheckDNSProxy, doctor.CheckConnect, doctor.CheckWebSocket} {
		if m[id].Status != doctor.OK {
			t.Errorf("%s: %s %s", id, m[id].Status, m[id].Detail)
		}
	}
	if r := m[doctor.CheckTLS]; r.Status != doctor.Fail || !strings.Contains(r.Detail, "TLS interception") ||
		!strings.Contains(r.Detail, `issued by "CN=Corp TLS Inspection CA,O=Corp"`) || !strings.Contains(r.Detail, "the proxy is intercepting") {
		t.Errorf("TLS: %s %s", r.Status, r.Detail)
	}
	if r := m[doctor.CheckHTTP2]; r.Status != doctor.Fail || !strings.Contains(r.Detail, "HTTP/1.1 only") {
		t.Errorf("HTTP/2: %s %s", r.Status, r.Detail)
	}
	if p.Upgrades() == 0 {
		t.Error("the WebSocket check did not go through the proxy")
	}
}

func TestInterceptingProxyWithoutItsCA(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{Intercept: proxyCA, ServerRoots: e.CA.Pool()})
	m := run(t, doctor.Options{Server: e.Addr, ServerCA: e.CA.PEM, Proxy: p.URL})
	if r := m[doctor.CheckWebSocket]; r.Status != doctor.Fail || !strings.Contains(r.Detail, "CN=Corp TLS Inspection CA") ||
		!strings.Contains(r.Detail, "proxy-ca.crt") {
		t.Errorf("WebSocket: %s %s", r.Status, r.Detail)
	}
}

func TestProxyWantsCredentials(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{User: "u", Password: "p"})
	noCreds := *p.URL
	noCreds.User = nil
	m := run(t, doctor.Options{Server: e.Addr, ServerCA: e.CA.PEM, Proxy: &noCreds})
	if r := m[doctor.CheckConnect]; r.Status != doctor.Fail || !strings.Contains(r.Detail, "407 Proxy Authentication Required") ||
		!strings.Contains(r.Detail, "credentials") {
		t.Errorf("CONNECT: %s %s", r.Status, r.Detail)
	}
	if r := m[doctor.CheckTLS]; r.Status != doctor.Skip {
		t.Errorf("TLS after a refused CONNECT: %s %s", r.Status, r.Detail)
	}
	// With the credentials, gRPC passes through the plain proxy.
	m = run(t, doctor.Options{Server: e.Addr, ServerCA: e.CA.PEM, Proxy: p.URL})
	for id, r := range m {
		if r.Status != doctor.OK {
			t.Errorf("%s: %s %s", id, r.Status, r.Detail)
		}
	}
}
