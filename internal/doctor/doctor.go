// Package doctor checks, step by step, the way from a client (the agent, or a private cloud
// gateway) to the server's agent endpoint, and says in plain words what each observation means:
// DNS of the server and the proxy, TCP or CONNECT through the proxy, whose TLS certificate is
// presented (the server's, or a TLS-intercepting proxy's), whether HTTP/2 is negotiated (gRPC),
// and whether the WebSocket fallback of internal/tunnel works.
//
// The Explain functions are pure: what an observation means. Run makes the observations.
package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/strata-dev/strata/internal/tunnel"
)

// Options are what to check.
type Options struct {
	// Server is the endpoint's host:port; ServerCA the PEM of its CA.
	Server   string
	ServerCA []byte
	// Proxy is the proxy to go through, nil for none (see ProxyFromEnvironment).
	Proxy *url.URL
	// ProxyCA is the PEM of the proxy's CA, if any.
	ProxyCA []byte
	// UserAgent is sent on CONNECT and the WebSocket upgrade.
	UserAgent string
	// Timeout bounds each check: 0 means 10 s.
	Timeout time.Duration
	// Resolver resolves the names (nil: net.DefaultResolver).
	Resolver *net.Resolver
	// Wording names the parties in the explanations (zero: AgentWording).
	Wording Wording
}

// ProxyFromEnvironment is the proxy HTTPS_PROXY and NO_PROXY (or their lowercase forms) give
// for https://server, or nil.
func ProxyFromEnvironment(server string) (*url.URL, error) {
	return httpproxy.FromEnvironment().ProxyFunc()(&url.URL{Scheme: "https", Host: server})
}

// Run runs the checks in order, skipping those that an earlier failure makes pointless.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Wording == (Wording{}) {
		o.Wording = AgentWording
	}
	w := o.Wording
	host, _, err := net.SplitHostPort(o.Server)
	if err != nil {
		return nil, fmt.Errorf("doctor: server %q: %w", o.Server, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(o.ServerCA) {
		return nil, errors.New("doctor: the server CA holds no PEM certificate")
	}
	proxyRoots := x509.NewCertPool()
	if len(o.ProxyCA) > 0 && !proxyRoots.AppendCertsFromPEM(o.ProxyCA) {
		return nil, errors.New("doctor: the proxy CA holds no PEM certificate")
	}
	proxied := o.Proxy != nil
	proxyHost := ""
	if proxied {
		proxyHost = o.Proxy.Host
	}

	var out []Result
	step := func(f func(context.Context)) {
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		f(ctx)
	}

	step(func(ctx context.Context) {
		addrs, err := lookup(ctx, o.Resolver, host)
		out = append(out, ExplainDNS(w, CheckDNSServer, host, addrs, err, proxied))
	})
	network := out[0].Status != Fail
	if proxied {
		step(func(ctx context.Context) {
			addrs, err := lookup(ctx, o.Resolver, o.Proxy.Hostname())
			r := ExplainDNS(w, CheckDNSProxy, o.Proxy.Hostname(), addrs, err, true)
			network = r.Status != Fail
			out = append(out, r)
		})
	}
	if !network {
		why := "skipped: a name does not resolve"
		return append(out, Skipped(CheckConnect, "connection", why), Skipped(CheckTLS, "TLS certificate", why),
			Skipped(CheckHTTP2, "HTTP/2 (ALPN)", why), Skipped(CheckWebSocket, "WebSocket fallback", why)), nil
	}

	dialer, err := tunnel.NewDialer(tunnel.Config{Server: o.Server, RootCAs: roots, ProxyCA: o.ProxyCA, UserAgent: o.UserAgent,
		Proxy: func(*url.URL) (*url.URL, error) { return o.Proxy, nil }})
	if err != nil {
		return nil, err
	}
	defer dialer.Close()

	var conn net.Conn
	step(func(ctx context.Context) {
		conn, err = dialer.DialTCP(ctx)
		out = append(out, ExplainConnect(w, o.Server, proxyHost, err))
	})
	if err != nil {
		why := "skipped: no connection"
		return append(out, Skipped(CheckTLS, "TLS certificate", why), Skipped(CheckHTTP2, "HTTP/2 (ALPN)", why),
			Skipped(CheckWebSocket, "WebSocket fallback", why)), nil
	}

	step(func(ctx context.Context) {
		defer conn.Close()
		obs, proto := observeTLS(ctx, conn, host, roots, proxyRoots, len(o.ProxyCA) > 0)
		obs.Proxied = proxied
		tr := ExplainTLS(w, obs)
		out = append(out, tr)
		if len(obs.Chain) == 0 {
			out = append(out, Skipped(CheckHTTP2, "HTTP/2 (ALPN)", "skipped: no TLS handshake"))
		} else {
			out = append(out, ExplainHTTP2(w, proto, proxied))
		}
	})

	step(func(ctx context.Context) {
		out = append(out, ExplainWebSocket(w, checkWebSocket(ctx, dialer, host, roots)))
	})
	return out, nil
}

func lookup(ctx context.Context, r *net.Resolver, host string) ([]string, error) {
	if net.ParseIP(host) != nil {
		return []string{host}, nil
	}
	return r.LookupHost(ctx, host)
}

// observeTLS handshakes offering h2 and http/1.1, accepting any certificate, and verifies
// the chain presented against the server CA and the proxy CA.
func observeTLS(ctx context.Context, conn net.Conn, host string, roots, proxyRoots *x509.CertPool, haveProxyCA bool) (TLSObservation, string) {
	obs := TLSObservation{Host: host}
	tc := tls.Client(conn, &tls.Config{ServerName: host, NextProtos: []string{"h2", "http/1.1"},
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) // verified below, to see whose it is
	obs.Err = tc.HandshakeContext(ctx)
	cs := tc.ConnectionState()
	obs.Chain = cs.PeerCertificates
	if len(obs.Chain) == 0 {
		if obs.Err == nil {
			obs.Err = errors.New("no certificate presented")
		}
		return obs, ""
	}
	inter := x509.NewCertPool()
	for _, c := range obs.Chain[1:] {
		inter.AddCert(c)
	}
	_, obs.ServerVerifyErr = obs.Chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host})
	if haveProxyCA {
		_, err := obs.Chain[0].Verify(x509.VerifyOptions{Roots: proxyRoots, Intermediates: inter})
		obs.ProxyCASigned = err == nil
	}
	return obs, cs.NegotiatedProtocol
}

// checkWebSocket opens the WebSocket transport and handshakes the server's TLS inside it.
func checkWebSocket(ctx context.Context, d *tunnel.Dialer, host string, roots *x509.CertPool) error {
	conn, err := d.DialWebSocket(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: roots, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("the server's TLS inside the WebSocket: %w", err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		return fmt.Errorf("the server's TLS inside the WebSocket negotiated %q, not h2", p)
	}
	return nil
}

// Print writes the results, one a line, then the verdict; it returns the verdict's ok.
func Print(out io.Writer, w Wording, results []Result) bool {
	if w == (Wording{}) {
		w = AgentWording
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Status, r.Title, r.Detail)
	}
	_ = tw.Flush()
	verdict, ok := Verdict(w, results)
	fmt.Fprintf(out, "\n%s\n", strings.TrimSpace(verdict))
	return ok
}
