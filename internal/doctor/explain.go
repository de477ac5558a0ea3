package doctor

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/strata-dev/strata/internal/tunnel"
)

// Status is a check's outcome.
type Status string

const (
	OK   Status = "OK"
	Warn Status = "WARN"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// CheckID names a check.
type CheckID string

const (
	CheckDNSServer CheckID = "dns-server"
	CheckDNSProxy  CheckID = "dns-proxy"
	CheckConnect   CheckID = "connect"
	CheckTLS       CheckID = "tls"
	CheckHTTP2     CheckID = "http2"
	CheckWebSocket CheckID = "websocket"
)

// Result is a check's outcome in plain words.
type Result struct {
	ID     CheckID
	Title  string
	Status Status
	Detail string
}

// Wording is what the explanations call the parties: an agent's doctor and a gateway's share
// the checks but not the words.
type Wording struct {
	// Client is who connects ("the agent"); Server what it connects to ("the strata server").
	Client, Server string
	// ProxyCAHint says how the client is given the proxy's CA.
	ProxyCAHint string
}

// AgentWording is the wording of `strata agent doctor`.
var AgentWording = Wording{
	Client: "the agent", Server: "the strata server",
	ProxyCAHint: "--proxy-ca-file here; for the agent, the key proxy-ca.crt of its Secret strata-agent or the variable " +
		"STRATA_PROXY_CA",
}

// ExplainDNS is the meaning of resolving host (what: "server" or "proxy"). viaProxy says the
// server is reached through a proxy, which resolves it instead.
func ExplainDNS(w Wording, id CheckID, host string, addrs []string, err error, viaProxy bool) Result {
	title := "DNS of the server"
	if id == CheckDNSProxy {
		title = "DNS of the proxy"
	}
	r := Result{ID: id, Title: title}
	switch {
	case net.ParseIP(host) != nil:
		r.Status, r.Detail = OK, fmt.Sprintf("%s is an IP address: nothing to resolve", host)
	case err == nil:
		r.Status, r.Detail = OK, fmt.Sprintf("%s resolves to %s", host, strings.Join(addrs, ", "))
	case id == CheckDNSServer && viaProxy:
		r.Status, r.Detail = Warn, fmt.Sprintf("%s does not resolve here (%v); that is fine when only the proxy "+
			"resolves it, as %s reaches %s through the proxy", host, err, w.Client, w.Server)
	case id == CheckDNSProxy:
		r.Status, r.Detail = Fail, fmt.Sprintf("the proxy's host %s does not resolve (%v): check the proxy URL "+
			"(HTTPS_PROXY) and this machine's DNS", host, err)
	default:
		r.Status, r.Detail = Fail, fmt.Sprintf("%s does not resolve (%v): check the server address and this "+
			"machine's DNS, or set HTTPS_PROXY if the network allows the way out only through a proxy", host, err)
	}
	return r
}

// ExplainConnect is the meaning of opening a connection to the server (through proxy, a
// host:port, or directly when it is empty).
func ExplainConnect(w Wording, server, proxy string, err error) Result {
	r := Result{ID: CheckConnect, Title: "TCP connection"}
	if proxy != "" {
		r.Title = "CONNECT through the proxy"
	}
	var refused *tunnel.ProxyRefusedError
	switch {
	case err == nil && proxy == "":
		r.Status, r.Detail = OK, fmt.Sprintf("%s accepts TCP connections", server)
	case err == nil:
		r.Status, r.Detail = OK, fmt.Sprintf("the proxy %s opened a tunnel to %s (CONNECT answered 200)", proxy, server)
	case errors.As(err, &refused) && refused.StatusCode == http.StatusProxyAuthRequired:
		r.Status, r.Detail = Fail, fmt.Sprintf("the proxy answered %q: it wants credentials; put them in the "+
			"proxy URL (http://user:password@host:port), or check them if they are there", refused.Status)
	case errors.As(err, &refused) && refused.StatusCode == http.StatusForbidden:
		r.Status, r.Detail = Fail, fmt.Sprintf("the proxy answered %q: its policy forbids tunnels to %s; ask "+
			"for the host and port to be allowed", refused.Status, server)
	case errors.As(err, &refused):
		r.Status, r.Detail = Fail, fmt.Sprintf("the proxy refused the tunnel to %s, answering %q", server, refused.Status)
	case proxy != "":
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot reach the proxy or open a tunnel through it: %v", err)
	default:
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot connect to %s: %v; a firewall may allow the way out "+
			"only through a proxy (set HTTPS_PROXY)", server, err)
	}
	return r
}

// TLSObservation is what a TLS handshake with the server (through the proxy) showed.
type TLSObservation struct {
	// Host is the server's host name.
	Host string
	// Err is the handshake's error.
	Err error
	// Chain is the certificate chain presented, leaf first.
	Chain []*x509.Certificate
	// ServerVerifyErr is the chain's verification against the server's CA (nil: it verifies).
	ServerVerifyErr error
	// ProxyCASigned says the chain verifies against the given proxy CA.
	ProxyCASigned bool
	// Proxied says a proxy is configured.
	Proxied bool
}

// ExplainTLS is the meaning of the TLS handshake: the server's certificate, or someone else's
// (TLS interception).
func ExplainTLS(w Wording, o TLSObservation) Result {
	r := Result{ID: CheckTLS, Title: "TLS certificate"}
	if len(o.Chain) == 0 {
		r.Status, r.Detail = Fail, fmt.Sprintf("the TLS handshake failed before any certificate was seen: %v", o.Err)
		return r
	}
	leaf := o.Chain[0]
	if o.ServerVerifyErr == nil {
		r.Status, r.Detail = OK, fmt.Sprintf("the certificate presented for %s is %s's (issued by %s, "+
			"verified against the server's CA): TLS is end to end", o.Host, w.Server, name(leaf.Issuer.CommonName, leaf.Issuer.String()))
		return r
	}
	var hostErr x509.HostnameError
	if errors.As(o.ServerVerifyErr, &hostErr) && !o.ProxyCASigned {
		r.Status, r.Detail = Fail, fmt.Sprintf("the certificate is not valid for %s (%v): dial the name or address "+
			"the server advertises", o.Host, o.ServerVerifyErr)
		return r
	}
	who := "the proxy"
	if !o.Proxied {
		who = "something on the path (a transparent proxy or firewall)"
	}
	by := ""
	if o.ProxyCASigned {
		by = " (the proxy CA you gave signed it)"
	}
	r.Status = Fail
	r.Detail = fmt.Sprintf("TLS interception: the certificate presented for %s was issued by %q%s, not by %s's CA: "+
		"%s is intercepting TLS. gRPC's mutual TLS cannot pass through it. Exempt %s from TLS inspection on the "+
		"proxy (the best fix); otherwise %s falls back to the WebSocket transport, which works only if it trusts "+
		"the CA %q (%s)", o.Host, leaf.Issuer.String(), by, w.Server, who, o.Host, w.Client, topIssuer(o.Chain), w.ProxyCAHint)
	return r
}

// ExplainHTTP2 is the meaning of the protocol ALPN negotiated.
func ExplainHTTP2(w Wording, proto string, proxied bool) Result {
	r := Result{ID: CheckHTTP2, Title: "HTTP/2 (ALPN)"}
	if proto == "h2" {
		r.Status, r.Detail = OK, "ALPN negotiated h2: gRPC can pass"
		return r
	}
	got := fmt.Sprintf("ALPN negotiated %q, not h2", proto)
	if proto == "" {
		got = "ALPN negotiated nothing, not h2"
	}
	who := "the proxy"
	if !proxied {
		who = "what answered (not " + w.Server + ", which speaks h2)"
	}
	r.Status, r.Detail = Fail, fmt.Sprintf("%s: %s speaks HTTP/1.1 only: gRPC cannot pass; the WebSocket "+
		"fallback will be used", got, who)
	return r
}

// ExplainWebSocket is the meaning of the WebSocket transport's check: the upgrade on
// /v1/tunnel and the server's TLS inside it.
func ExplainWebSocket(w Wording, err error) Result {
	r := Result{ID: CheckWebSocket, Title: "WebSocket fallback"}
	var unknown x509.UnknownAuthorityError
	var refused *tunnel.ProxyRefusedError
	var upgrade *tunnel.UpgradeError
	switch {
	case err == nil:
		r.Status, r.Detail = OK, fmt.Sprintf("the WebSocket upgrade on %s works and %s's TLS inside it verifies: "+
			"the fallback transport works", tunnel.Path, w.Server)
	case errors.As(err, &refused):
		r.Status, r.Detail = Fail, fmt.Sprintf("the proxy refused the tunnel, answering %q", refused.Status)
	case errors.As(err, &upgrade):
		r.Status, r.Detail = Fail, fmt.Sprintf("the WebSocket upgrade was refused (%s): a proxy may block "+
			"WebSocket, or the server predates the WebSocket transport", upgrade.Status)
	case errors.As(err, &unknown):
		r.Status, r.Detail = Fail, fmt.Sprintf("the HTTPS of the WebSocket is signed by %q, which is trusted "+
			"neither as the server's CA nor as the proxy's: give the proxy's CA (%s)", unknown.Cert.Issuer.String(), w.ProxyCAHint)
	default:
		r.Status, r.Detail = Fail, fmt.Sprintf("the WebSocket transport fails: %v", err)
	}
	return r
}

// Skipped is a check not run because an earlier one failed.
func Skipped(id CheckID, title, why string) Result {
	return Result{ID: id, Title: title, Status: Skip, Detail: why}
}

// Verdict sums the results up: which transport the client will use, and whether it can
// connect at all.
func Verdict(w Wording, results []Result) (string, bool) {
	st := map[CheckID]Status{}
	for _, r := range results {
		st[r.ID] = r.Status
	}
	switch {
	case st[CheckTLS] == OK && st[CheckHTTP2] == OK:
		return fmt.Sprintf("gRPC over HTTP/2 reaches %s: %s connects normally", w.Server, w.Client), true
	case st[CheckWebSocket] == OK:
		return fmt.Sprintf("gRPC cannot pass, but the WebSocket transport works: %s connects over it after its "+
			"gRPC attempts fail (and tries gRPC again now and then)", w.Client), true
	default:
		return fmt.Sprintf("%s cannot reach %s: see the failed checks above", w.Client, w.Server), false
	}
}

func name(cn, full string) string {
	if cn != "" {
		return fmt.Sprintf("%q", cn)
	}
	return fmt.Sprintf("%q", full)
}

// topIssuer is the issuer of the chain's last certificate: the CA to trust.
func topIssuer(chain []*x509.Certificate) string {
	return chain[len(chain)-1].Issuer.String()
}
