package tunnel_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/strata-dev/strata/internal/tunnel"
	"github.com/strata-dev/strata/internal/tunnel/tunneltest"
)

// fast makes grpc-go retry connections without its default backoff (1 s, growing).
var fast = grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 5 * time.Millisecond,
	Multiplier: 1.1, MaxDelay: 20 * time.Millisecond}, MinConnectTimeout: 10 * time.Second})

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

func through(p *tunneltest.Proxy) func(*url.URL) (*url.URL, error) {
	return func(*url.URL) (*url.URL, error) { return p.URL, nil }
}

func newDialer(t *testing.T, e *tunneltest.Endpoint, cfg tunnel.Config) (*tunnel.Dialer, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Server, cfg.RootCAs = e.Addr, e.CA.Pool()
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &e.ClientCert, nil }
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	if cfg.Proxy == nil {
		cfg.Proxy = func(*url.URL) (*url.URL, error) { return nil, nil }
	}
	d, err := tunnel.NewDialer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, logs
}

// check makes a health check over a new client of d; waitForReady waits through failed
// connection attempts (the test's deadline is only a guard against a hang).
func check(t *testing.T, d *tunnel.Dialer, withCert, waitForReady bool) error {
	t.Helper()
	cc, err := d.NewClient(withCert, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(waitForReady))
	return err
}

func lastCall(t *testing.T, e *tunneltest.Endpoint) tunneltest.Call {
	t.Helper()
	calls := e.Calls()
	if len(calls) == 0 {
		t.Fatal("the endpoint served no call")
	}
	return calls[len(calls)-1]
}

func TestDirectGRPC(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	d, _ := newDialer(t, e, tunnel.Config{FallbackAfter: 1})
	if err := check(t, d, true, false); err != nil {
		t.Fatal(err)
	}
	if c := lastCall(t, e); c.ClientCN != "agent-1" {
		t.Fatalf("the server saw client certificate %q, want agent-1", c.ClientCN)
	}
	if d.Mode() != tunnel.ModeGRPC {
		t.Fatalf("mode %s", d.Mode())
	}
}

func TestPlainConnectProxyStaysOnGRPC(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{User: "u", Password: "p@ss"})
	d, _ := newDialer(t, e, tunnel.Config{FallbackAfter: 1, Proxy: through(p)})
	for range 2 {
		if err := check(t, d, true, false); err != nil {
			t.Fatal(err)
		}
	}
	if d.Mode() != tunnel.ModeGRPC || p.Connects() == 0 || p.Upgrades() != 0 {
		t.Fatalf("mode %s, CONNECTs %d, upgrades %d: want gRPC through the proxy", d.Mode(), p.Connects(), p.Upgrades())
	}
	if c := lastCall(t, e); c.ClientCN != "agent-1" {
		t.Fatalf("the server saw client certificate %q, want agent-1", c.ClientCN)
	}
}

func TestPlainGRPCFailsThroughInterceptingProxy(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{Intercept: proxyCA, ServerRoots: e.CA.Pool()})
	d, _ := newDialer(t, e, tunnel.Config{FallbackAfter: -1, Proxy: through(p), ProxyCA: proxyCA.PEM})
	err := check(t, d, true, false)
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("gRPC through the intercepting proxy: %v, want an unknown authority", err)
	}
	if d.Mode() != tunnel.ModeGRPC || p.Connects() == 0 || len(e.Calls()) != 0 {
		t.Fatalf("mode %s, CONNECTs %d, calls %d", d.Mode(), p.Connects(), len(e.Calls()))
	}
}

func TestFallsBackToWebSocketThroughInterceptingProxy(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{Intercept: proxyCA, ServerRoots: e.CA.Pool()})
	d, logs := newDialer(t, e, tunnel.Config{FallbackAfter: 3, Proxy: through(p), ProxyCA: proxyCA.PEM, UserAgent: "strata-test"})

	if err := check(t, d, true, true); err != nil {
		t.Fatal(err)
	}
	if d.Mode() != tunnel.ModeWebSocket || p.Upgrades() == 0 {
		t.Fatalf("mode %s, upgrades %d: want the WebSocket transport", d.Mode(), p.Upgrades())
	}
	// Exactly FallbackAfter failed gRPC attempts came before the switch.
	l := logs.String()
	if !strings.Contains(l, "consecutive=3") || strings.Contains(l, "consecutive=4") || !strings.Contains(l, "switching to the WebSocket transport") {
		t.Fatalf("logs:\n%s", l)
	}
	// Mutual TLS is end to end: the server verified the agent's certificate although the proxy
	// terminated the outer TLS.
	if c := lastCall(t, e); c.ClientCN != "agent-1" {
		t.Fatalf("the server saw client certificate %q, want agent-1", c.ClientCN)
	}
	// Registration (no client certificate) works the same way.
	if err := check(t, d, false, false); err != nil {
		t.Fatal(err)
	}
	if c := lastCall(t, e); c.ClientCN != "" {
		t.Fatalf("the server saw client certificate %q, want none", c.ClientCN)
	}
}

func TestWebSocketNeedsTheProxyCA(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{Intercept: proxyCA, ServerRoots: e.CA.Pool()})
	d, _ := newDialer(t, e, tunnel.Config{Proxy: through(p)})
	_, err := d.DialWebSocket(context.Background())
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("WebSocket through an intercepting proxy whose CA is not trusted: %v, want a verification error", err)
	}
}

func TestRetriesGRPC(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	intercepting := tunneltest.StartProxy(t, tunneltest.ProxyOptions{Intercept: proxyCA, ServerRoots: e.CA.Pool()})
	plain := tunneltest.StartProxy(t, tunneltest.ProxyOptions{})
	var proxy atomic.Pointer[url.URL]
	proxy.Store(intercepting.URL)
	d, _ := newDialer(t, e, tunnel.Config{FallbackAfter: 1, RetryGRPCAfter: 20 * time.Millisecond, ProxyCA: proxyCA.PEM,
		Proxy: func(*url.URL) (*url.URL, error) { return proxy.Load(), nil }})

	cc, err := d.NewClient(true, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(cc)
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	if d.Mode() != tunnel.ModeWebSocket {
		t.Fatalf("mode %s", d.Mode())
	}
	// The proxy stops intercepting: the probe finds gRPC passes, closes the WebSocket, and the
	// same client reconnects over gRPC.
	proxy.Store(plain.URL)
	for d.Mode() != tunnel.ModeGRPC {
		if ctx.Err() != nil {
			t.Fatal("the dialer never went back to gRPC")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for plain.Connects() < 2 { // the probe's and the client's
		// A call racing the WebSocket's close fails Unavailable, as any call on a lost connection.
		if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil && status.Code(err) != codes.Unavailable {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatal("the client never reconnected over gRPC")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if plain.Upgrades() != 0 {
		t.Fatalf("upgrades through the plain proxy: %d", plain.Upgrades())
	}
}

func TestProxyAuthentication(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{User: "u", Password: "secret"})
	noCreds := *p.URL
	noCreds.User = nil
	_, err := tunnel.DialThrough(context.Background(), &noCreds, nil, e.Addr, "")
	var refused *tunnel.ProxyRefusedError
	if !errors.As(err, &refused) || refused.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("CONNECT without credentials: %v, want 407", err)
	}
	conn, err := tunnel.DialThrough(context.Background(), p.URL, nil, e.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

func TestServerAnswers404ElsewhereAndRefusesPlainGet(t *testing.T) {
	e := tunneltest.StartEndpoint(t)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.CA.Pool()}}}
	defer hc.CloseIdleConnections()
	for path, want := range map[string]int{"/": http.StatusNotFound, "/v1/other": http.StatusNotFound, tunnel.Path: http.StatusUpgradeRequired} {
		resp, err := hc.Get("https://" + e.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || resp.ProtoMajor != 1 {
			t.Errorf("GET %s: %s %s, want %d over HTTP/1.1", path, resp.Proto, resp.Status, want)
		}
	}
}

// TestNoGoroutineLeft runs the server and the dialer through both transports, stops them, and
// checks that every goroutine they started ended.
func TestNoGoroutineLeft(t *testing.T) {
	exercise := func(t *testing.T) {
		e := tunneltest.StartEndpoint(t)
		proxyCA := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
		p := tunneltest.StartProxy(t, tunneltest.ProxyOptions{Intercept: proxyCA, ServerRoots: e.CA.Pool()})
		d, _ := newDialer(t, e, tunnel.Config{FallbackAfter: 1, Proxy: through(p), ProxyCA: proxyCA.PEM})
		if err := check(t, d, true, true); err != nil {
			t.Fatal(err)
		}
		direct, _ := newDialer(t, e, tunnel.Config{})
		if err := check(t, direct, true, false); err != nil {
			t.Fatal(err)
		}
		// A connection left half-way: TCP open, no TLS handshake, while the server stops.
		conn, err := tunnel.DialThrough(context.Background(), nil, nil, e.Addr, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
	}
	t.Run("warm-up", exercise) // grpc-go's process-wide goroutines start once
	before := runtime.NumGoroutine()
	t.Run("run", exercise)
	deadline := time.Now().Add(10 * time.Second) // a guard: goroutines take a moment to return
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
