package tunnel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/http/httpproxy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Path is the WebSocket tunnel's path on the agent endpoint.
const Path = "/v1/tunnel"

// Mode is the transport a Dialer uses.
type Mode string

const (
	// ModeGRPC is gRPC over HTTP/2, TLS end to end (through the proxy by CONNECT).
	ModeGRPC Mode = "grpc"
	// ModeWebSocket is gRPC's TLS inside a WebSocket over HTTPS/1.1.
	ModeWebSocket Mode = "websocket"
)

// Defaults of Config.
const (
	DefaultFallbackAfter  = 10
	DefaultRetryGRPCAfter = 10 * time.Minute
)

var (
	noDeadline   time.Time
	aLongTimeAgo = time.Unix(1, 0)
)

// Config configures a Dialer.
type Config struct {
	// Server is the agent endpoint's host:port.
	Server string
	// RootCAs verifies the server's certificate (the agent CA).
	RootCAs *x509.CertPool
	// GetClientCertificate gives the client certificate of mutual TLS; nil presents none.
	GetClientCertificate func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	// Proxy chooses the proxy for a request to https://Server (nil: none). Nil means the
	// environment's, as http.ProxyFromEnvironment: HTTPS_PROXY and NO_PROXY (and their
	// lowercase forms) read when the Dialer is made; localhost and loopback go direct.
	Proxy func(*url.URL) (*url.URL, error)
	// ProxyCA is PEM of the proxy's CA: trusted for an https proxy and for the outer TLS of the
	// WebSocket transport, which a TLS-intercepting proxy re-signs. It is never trusted for
	// gRPC's TLS, which stays end to end with the server.
	ProxyCA []byte
	// FallbackAfter is how many consecutive failed gRPC connection attempts (CONNECT refused,
	// TLS handshake failed, ALPN not h2) switch to the WebSocket transport: 0 means
	// DefaultFallbackAfter, negative never.
	FallbackAfter int
	// RetryGRPCAfter is how long after switching to WebSocket (and then as often) gRPC is
	// probed again; once the probe succeeds, the WebSocket connections are closed, so that
	// gRPC reconnects directly. 0 means DefaultRetryGRPCAfter.
	RetryGRPCAfter time.Duration
	// Logger logs the switches; nil discards.
	Logger *slog.Logger
	// UserAgent is sent on CONNECT and the WebSocket upgrade.
	UserAgent string
}

// Dialer connects gRPC clients to the agent endpoint, falling back to the WebSocket transport
// when gRPC cannot pass (a proxy that intercepts TLS or speaks only HTTP/1.1). One Dialer
// keeps its state across the clients it makes: make one per process and server.
type Dialer struct {
	cfg        Config
	host       string
	proxy      func(*url.URL) (*url.URL, error)
	proxyRoots *x509.CertPool // the system's and the proxy CA: https proxies
	log        *slog.Logger

	mu       sync.Mutex
	mode     Mode
	failures int
	probe    *time.Timer
	closed   bool
	live     map[*tunnelConn]struct{}
	ctx      context.Context
	cancel   context.CancelFunc
}

// NewDialer returns a Dialer of cfg.
func NewDialer(cfg Config) (*Dialer, error) {
	host, _, err := net.SplitHostPort(cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("tunnel: server %q: %w", cfg.Server, err)
	}
	if cfg.RootCAs == nil {
		return nil, errors.New("tunnel: no server CA")
	}
	if cfg.FallbackAfter == 0 {
		cfg.FallbackAfter = DefaultFallbackAfter
	}
	if cfg.RetryGRPCAfter <= 0 {
		cfg.RetryGRPCAfter = DefaultRetryGRPCAfter
	}
	d := &Dialer{cfg: cfg, host: host, proxy: cfg.Proxy, log: cfg.Logger, mode: ModeGRPC, live: map[*tunnelConn]struct{}{}}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.proxy == nil {
		f := httpproxy.FromEnvironment().ProxyFunc()
		d.proxy = func(u *url.URL) (*url.URL, error) { return f(u) }
	}
	if d.proxyRoots, err = x509.SystemCertPool(); err != nil || d.proxyRoots == nil {
		d.proxyRoots = x509.NewCertPool()
	}
	if len(cfg.ProxyCA) > 0 && !d.proxyRoots.AppendCertsFromPEM(cfg.ProxyCA) {
		return nil, errors.New("tunnel: the proxy CA holds no PEM certificate")
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

// Mode is the transport new connections use.
func (d *Dialer) Mode() Mode {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mode
}

// Close stops the gRPC probe and closes the WebSocket connections. Clients made by the Dialer
// fail to connect afterwards.
func (d *Dialer) Close() {
	d.mu.Lock()
	d.closed = true
	if d.probe != nil {
		d.probe.Stop()
	}
	live := d.live
	d.live = map[*tunnelConn]struct{}{}
	d.mu.Unlock()
	d.cancel()
	for c := range live {
		_ = c.Conn.Close()
	}
}

// DialOptions are the options of a gRPC client of the server through d: its context dialer,
// no proxy of grpc-go's own, and TLS trusting RootCAs, with the client certificate when
// withClientCert (registration has none).
func (d *Dialer) DialOptions(withClientCert bool) []grpc.DialOption {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: d.cfg.RootCAs}
	if withClientCert && d.cfg.GetClientCertificate != nil {
		conf.GetClientCertificate = d.cfg.GetClientCertificate
	}
	return []grpc.DialOption{
		grpc.WithNoProxy(),
		grpc.WithContextDialer(d.dial),
		grpc.WithTransportCredentials(&countingCreds{TransportCredentials: credentials.NewTLS(conf), d: d}),
	}
}

// NewClient is grpc.NewClient of the server with DialOptions(withClientCert) and opts.
func (d *Dialer) NewClient(withClientCert bool, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	cc, err := grpc.NewClient("passthrough:///"+d.cfg.Server, append(d.DialOptions(withClientCert), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("tunnel: client of %s: %w", d.cfg.Server, err)
	}
	return cc, nil
}

// ProxyURL is the proxy d uses for the server, or nil.
func (d *Dialer) ProxyURL() (*url.URL, error) {
	return d.proxy(&url.URL{Scheme: "https", Host: d.cfg.Server})
}

// dial is gRPC's context dialer: a connection of the current mode.
func (d *Dialer) dial(ctx context.Context, _ string) (net.Conn, error) {
	d.mu.Lock()
	mode, closed := d.mode, d.closed
	d.mu.Unlock()
	if closed {
		return nil, errors.New("tunnel: the dialer is closed")
	}
	if mode == ModeWebSocket {
		conn, err := d.DialWebSocket(ctx)
		if err != nil {
			d.log.Warn("WebSocket tunnel to the server failed", "server", d.cfg.Server, "error", err)
			return nil, err
		}
		return d.track(conn), nil
	}
	conn, err := d.DialTCP(ctx)
	if err != nil {
		var refused *ProxyRefusedError
		if errors.As(err, &refused) {
			d.failed(err)
		}
		return nil, err
	}
	return &tunnelConn{Conn: conn, mode: ModeGRPC}, nil
}

// DialTCP opens a TCP connection to the server, through the proxy with CONNECT if one applies.
func (d *Dialer) DialTCP(ctx context.Context) (net.Conn, error) {
	proxy, err := d.ProxyURL()
	if err != nil {
		return nil, fmt.Errorf("tunnel: the proxy of %s: %w", d.cfg.Server, err)
	}
	return DialThrough(ctx, proxy, d.proxyRoots, d.cfg.Server, d.cfg.UserAgent)
}

// DialWebSocket opens the WebSocket transport: GET wss://Server/v1/tunnel over HTTP/1.1
// (through the proxy with CONNECT if one applies), its TLS trusting the server CA, the proxy
// CA and the system's roots. The connection carries the bytes of an inner TLS connection to
// the server, not handshaken yet.
func (d *Dialer) DialWebSocket(ctx context.Context) (net.Conn, error) {
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := d.DialTCP(ctx)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(conn, &tls.Config{MinVersion: tls.VersionTLS12, ServerName: d.host,
				NextProtos: []string{"http/1.1"}, InsecureSkipVerify: true, VerifyConnection: d.verifyOuter})
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, fmt.Errorf("TLS of the WebSocket transport: %w", err)
			}
			return tc, nil
		},
		ForceAttemptHTTP2: false,
	}
	defer tr.CloseIdleConnections()
	h := http.Header{}
	if d.cfg.UserAgent != "" {
		h.Set("User-Agent", d.cfg.UserAgent)
	}
	ws, resp, err := websocket.Dial(ctx, "wss://"+d.cfg.Server+Path, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr}, HTTPHeader: h, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &UpgradeError{Server: d.cfg.Server, StatusCode: resp.StatusCode, Status: resp.Status}
		}
		return nil, fmt.Errorf("tunnel: WebSocket to %s: %w", d.cfg.Server, err)
	}
	return NetConn(ws), nil
}

// verifyOuter verifies the WebSocket transport's TLS: the certificate is the server's (the
// server CA) or the proxy's (the proxy CA or the system's roots, for a proxy that intercepts).
// Either is enough: the inner TLS is verified against the server CA alone.
func (d *Dialer) verifyOuter(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tunnel: no certificate")
	}
	var err error
	for _, roots := range []*x509.CertPool{d.cfg.RootCAs, d.proxyRoots} {
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: cs.ServerName}); err == nil {
			return nil
		}
	}
	return err
}

// UpgradeError is an HTTP answer other than 101 to the WebSocket upgrade (from the server or
// a proxy).
type UpgradeError struct {
	Server     string
	StatusCode int
	Status     string
}

func (e *UpgradeError) Error() string {
	return fmt.Sprintf("tunnel: WebSocket upgrade to %s refused: %s", e.Server, e.Status)
}

// track keeps a WebSocket connection until it closes, so that a successful gRPC probe can
// close it.
func (d *Dialer) track(conn net.Conn) net.Conn {
	c := &tunnelConn{Conn: conn, mode: ModeWebSocket, d: d}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = conn.Close()
		return c
	}
	d.live[c] = struct{}{}
	return c
}

// failed counts a failed gRPC connection attempt, switching to WebSocket at FallbackAfter.
func (d *Dialer) failed(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mode != ModeGRPC || d.cfg.FallbackAfter < 0 {
		return
	}
	d.failures++
	d.log.Warn("gRPC connection to the server failed", "server", d.cfg.Server, "error", err,
		"consecutive", d.failures, "fallbackAfter", d.cfg.FallbackAfter)
	if d.failures < d.cfg.FallbackAfter || d.closed {
		return
	}
	d.mode, d.failures = ModeWebSocket, 0
	d.log.Warn("gRPC cannot reach the server: switching to the WebSocket transport", "server", d.cfg.Server,
		"retryGRPCAfter", d.cfg.RetryGRPCAfter)
	d.probe = time.AfterFunc(d.cfg.RetryGRPCAfter, d.probeGRPC)
}

// succeeded resets the count of failed gRPC attempts.
func (d *Dialer) succeeded() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mode == ModeGRPC {
		d.failures = 0
	}
}

// probeGRPC tries gRPC's handshake (CONNECT, TLS verified against the server CA, ALPN h2):
// once it passes, new connections use gRPC and the WebSocket ones are closed.
func (d *Dialer) probeGRPC() {
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	err := d.HandshakeGRPC(ctx)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	if err != nil {
		d.log.Info("gRPC still cannot reach the server: staying on WebSocket", "server", d.cfg.Server, "error", err)
		d.probe = time.AfterFunc(d.cfg.RetryGRPCAfter, d.probeGRPC)
		d.mu.Unlock()
		return
	}
	d.mode, d.failures = ModeGRPC, 0
	live := d.live
	d.live = map[*tunnelConn]struct{}{}
	d.mu.Unlock()
	d.log.Info("gRPC reaches the server again: leaving the WebSocket transport", "server", d.cfg.Server, "closing", len(live))
	for c := range live {
		_ = c.Conn.Close()
	}
}

// HandshakeGRPC checks that gRPC's way passes: a connection (through the proxy), TLS whose
// certificate verifies against the server CA, and ALPN h2. It presents no client certificate.
func (d *Dialer) HandshakeGRPC(ctx context.Context) error {
	conn, err := d.DialTCP(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: d.cfg.RootCAs, ServerName: d.host, NextProtos: []string{"h2"}})
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		return fmt.Errorf("tunnel: ALPN negotiated %q, not h2", p)
	}
	return nil
}

// tunnelConn is a connection d made, with its mode.
type tunnelConn struct {
	net.Conn
	mode Mode
	d    *Dialer // set for tracked WebSocket connections
	once sync.Once
}

func (c *tunnelConn) Close() error {
	if c.d != nil {
		c.once.Do(func() {
			c.d.mu.Lock()
			delete(c.d.live, c)
			c.d.mu.Unlock()
		})
	}
	return c.Conn.Close()
}

// countingCreds are gRPC's TLS credentials counting the handshakes of gRPC-mode connections.
type countingCreds struct {
	credentials.TransportCredentials
	d *Dialer
}

func (c *countingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, conn)
	if tc, ok := conn.(*tunnelConn); ok && tc.mode == ModeGRPC {
		if err != nil {
			c.d.failed(fmt.Errorf("TLS handshake: %w", err))
		} else {
			c.d.succeeded()
		}
	}
	return out, info, err
}

func (c *countingCreds) Clone() credentials.TransportCredentials {
	return &countingCreds{TransportCredentials: c.TransportCredentials.Clone(), d: c.d}
}

// wsConn is a WebSocket's net.Conn closed without the WebSocket close handshake (the inner
// TLS has its own end), so that closing never waits for the peer.
type wsConn struct {
	net.Conn
	ws *websocket.Conn
}

// NetConn is a net.Conn of binary messages over ws; closing it closes ws at once.
func NetConn(ws *websocket.Conn) net.Conn {
	return &wsConn{Conn: websocket.NetConn(context.Background(), ws, websocket.MessageBinary), ws: ws}
}

func (c *wsConn) Close() error {
	err := c.ws.CloseNow()
	_ = c.Conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
