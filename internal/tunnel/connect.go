package tunnel

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ProxyRefusedError is a proxy's answer other than 2xx to CONNECT.
type ProxyRefusedError struct {
	// Proxy is the proxy's host:port; Target the host:port asked for.
	Proxy, Target string
	// StatusCode and Status are the proxy's answer ("407 Proxy Authentication Required").
	StatusCode int
	Status     string
}

func (e *ProxyRefusedError) Error() string {
	return fmt.Sprintf("proxy %s refused CONNECT %s: %s", e.Proxy, e.Target, e.Status)
}

// DialThrough opens a connection to target (host:port): through proxy with HTTP CONNECT, or
// directly when proxy is nil. An https proxy is dialed over TLS trusting proxyRoots (nil: the
// system's). The proxy URL's user and password are sent as Proxy-Authorization Basic. A proxy
// answering other than 2xx gives a *ProxyRefusedError.
func DialThrough(ctx context.Context, proxy *url.URL, proxyRoots *x509.CertPool, target, userAgent string) (net.Conn, error) {
	var d net.Dialer
	if proxy == nil {
		return d.DialContext(ctx, "tcp", target)
	}
	addr := proxyAddr(proxy)
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial proxy %s: %w", addr, err)
	}
	if proxy.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: proxyRoots,
			ServerName: proxy.Hostname(), NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS to proxy %s: %w", addr, err)
		}
		conn = tc
	}
	out, err := connect(ctx, conn, proxy, addr, target, userAgent)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return out, nil
}

// connect sends CONNECT target over conn and reads the proxy's answer.
func connect(ctx context.Context, conn net.Conn, proxy *url.URL, addr, target, userAgent string) (net.Conn, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
		defer conn.SetDeadline(noDeadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	defer stop()
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)))
	}
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("CONNECT through proxy %s: %w", addr, ctxErr(ctx, err))
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("CONNECT through proxy %s: read the answer: %w", addr, ctxErr(ctx, err))
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, &ProxyRefusedError{Proxy: addr, Target: target, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if stop(); ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// proxyAddr is the proxy's host:port, with the scheme's default port.
func proxyAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	switch strings.ToLower(u.Scheme) {
	case "https":
		port = "443"
	case "socks5":
		port = "1080"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// bufferedConn reads what the CONNECT reader buffered beyond the answer first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
