package tunneltest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// ProxyOptions configure a test proxy.
type ProxyOptions struct {
	// Intercept, when set, makes the proxy terminate the TLS of every CONNECT with a certificate
	// this CA issues for the target, speaking only HTTP/1.1 (no h2 in ALPN): a WebSocket
	// upgrade is re-originated to the target over TLS trusting ServerRoots and then relayed.
	Intercept   *CA
	ServerRoots *x509.CertPool
	// User and Password, when set, are required as Proxy-Authorization Basic (else 407).
	User, Password string
}

// Proxy is a CONNECT proxy on 127.0.0.1.
type Proxy struct {
	// URL is http://127.0.0.1:port (with user and password when required).
	URL  *url.URL
	opts ProxyOptions
	ln   net.Listener

	connects, intercepts, upgrades atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// StartProxy starts a proxy, closed at the test's end.
func StartProxy(t testing.TB, opts ProxyOptions) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{URL: &url.URL{Scheme: "http", Host: ln.Addr().String()}, opts: opts, ln: ln, conns: map[net.Conn]struct{}{}}
	if opts.User != "" {
		p.URL.User = url.UserPassword(opts.User, opts.Password)
	}
	p.wg.Go(p.serve)
	t.Cleanup(p.Close)
	return p
}

// Connects counts the CONNECTs accepted, Intercepts the TLS connections the proxy
// terminated, Upgrades the WebSocket upgrades it relayed.
func (p *Proxy) Connects() int64   { return p.connects.Load() }
func (p *Proxy) Intercepts() int64 { return p.intercepts.Load() }
func (p *Proxy) Upgrades() int64   { return p.upgrades.Load() }

// Close closes the listener and every connection, and waits for the proxy's goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			continue
		}
		p.wg.Go(func() {
			defer p.untrack(c)
			p.handle(c)
		})
	}
}

func (p *Proxy) handle(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		fmt.Fprint(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if p.opts.User != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.opts.User+":"+p.opts.Password))
		if req.Header.Get("Proxy-Authorization") != want {
			fmt.Fprint(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
			return
		}
	}
	target := req.Host
	client := &bufferedConn{Conn: c, r: br}
	if p.opts.Intercept != nil {
		p.connects.Add(1)
		fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		p.intercept(client, target)
		return
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		fmt.Fprint(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if !p.track(up) {
		return
	}
	defer p.untrack(up)
	p.connects.Add(1)
	fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	splice(client, up)
}

// intercept terminates the client's TLS with a forged certificate and relays HTTP/1.1.
func (p *Proxy) intercept(client net.Conn, target string) {
	host, _, _ := net.SplitHostPort(target)
	conf := &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		cert, err := p.opts.Intercept.leaf(host)
		if err != nil {
			return nil, err
		}
		c := &tls.Config{Certificates: []tls.Certificate{*cert}}
		// HTTP/1.1 only: h2 is never chosen; a client offering only h2 gets no ALPN at all,
		// as many intercepting proxies answer.
		if slices.Contains(hello.SupportedProtos, "http/1.1") {
			c.NextProtos = []string{"http/1.1"}
		}
		return c, nil
	}}
	tc := tls.Server(client, conf)
	if err := tc.Handshake(); err != nil {
		return
	}
	p.intercepts.Add(1)
	cr := bufio.NewReader(tc)
	req, err := http.ReadRequest(cr)
	if err != nil {
		return
	}
	raw, err := net.Dial("tcp", target)
	if err != nil {
		fmt.Fprint(tc, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if !p.track(raw) {
		return
	}
	defer p.untrack(raw)
	up := tls.Client(raw, &tls.Config{RootCAs: p.opts.ServerRoots, ServerName: host, NextProtos: []string{"http/1.1"}})
	if err := up.Handshake(); err != nil {
		fmt.Fprintf(tc, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: %d\r\n\r\n%s", len(err.Error()), err)
		return
	}
	req.RequestURI = ""
	if err := req.Write(up); err != nil {
		return
	}
	ur := bufio.NewReader(up)
	resp, err := http.ReadResponse(ur, req)
	if err != nil {
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		resp.Close = true
		_ = resp.Write(tc)
		resp.Body.Close()
		return
	}
	p.upgrades.Add(1)
	fmt.Fprintf(tc, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(tc)
	fmt.Fprint(tc, "\r\n")
	splice(&bufferedConn{Conn: tc, r: cr}, &bufferedConn{Conn: up, r: ur})
}

// splice copies both ways until either side ends.
func splice(a, b net.Conn) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(a, b); a.Close(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(b, a); b.Close(); done <- struct{}{} }()
	<-done
	<-done
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
