// Package proxyenv turns the proxy settings a cluster inherits from its private cloud gateway
// into the environment variables that programs read: HTTP_PROXY, HTTPS_PROXY and NO_PROXY, in
// upper and lower case. It is pure: no I/O.
//
// The proxy URLs may carry a user name and password: they are secrets, and so is every value
// Env returns. Callers must not log them or put them in events or conditions.
package proxyenv

import (
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Settings are a private cloud gateway's proxy settings (Palette's
// reachSystem.proxySettings).
type Settings struct {
	// HTTPProxy and HTTPSProxy are proxy URLs, possibly with user:password (secrets).
	// HTTPSProxy defaults to HTTPProxy, as on AKS.
	HTTPProxy, HTTPSProxy string
	// NoProxy is the gateway's own list of hosts, domains and CIDRs reached directly. An entry
	// may itself be a comma-separated list.
	NoProxy []string
	// CACertificate is the proxy's CA certificate in PEM, or empty.
	CACertificate string
}

// Enabled reports whether s sets a proxy at all.
func (s Settings) Enabled() bool {
	return strings.TrimSpace(s.HTTPProxy) != "" || strings.TrimSpace(s.HTTPSProxy) != ""
}

// ClusterNetwork is what a cluster needs to reach without the proxy.
type ClusterNetwork struct {
	PodCIDRs, ServiceCIDRs, NodeSubnetCIDRs []string
	// APIServerHost is the API server's host name or IP, without a port.
	APIServerHost string
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name, Value string
}

// The names of the variables Env returns.
const (
	HTTPProxyVar       = "HTTP_PROXY"
	HTTPSProxyVar      = "HTTPS_PROXY"
	NoProxyVar         = "NO_PROXY"
	HTTPProxyLowerVar  = "http_proxy"
	HTTPSProxyLowerVar = "https_proxy"
	NoProxyLowerVar    = "no_proxy"
)

// alwaysDirect are the NO_PROXY entries every cluster needs: loopback, Azure's instance
// metadata service (without it pods fail to start) and wire server, and in-cluster names.
var alwaysDirect = []string{
	"localhost", "127.0.0.1", "169.254.169.254", "168.63.129.16", ".svc", ".cluster.local",
}

// NoProxy returns the NO_PROXY list for a cluster: localhost, 127.0.0.1, 169.254.169.254,
// 168.63.129.16, .svc and .cluster.local; then the cluster's pod, service and node-subnet
// CIDRs and its API server's host; then the gateway's own entries in their order. Entries are
// trimmed, empty ones dropped, and duplicates removed case-insensitively (the first spelling
// is kept), so the order is stable.
func NoProxy(s Settings, n ClusterNetwork) []string {
	var out []string
	seen := map[string]bool{}
	add := func(entries ...string) {
		for _, e := range entries {
			for _, part := range strings.Split(e, ",") {
				part = strings.TrimSpace(part)
				key := strings.ToLower(part)
				if part == "" || seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, part)
			}
		}
	}
	add(alwaysDirect...)
	add(n.PodCIDRs...)
	add(n.ServiceCIDRs...)
	add(n.NodeSubnetCIDRs...)
	add(apiServerHost(n.APIServerHost))
	add(s.NoProxy...)
	return out
}

// apiServerHost strips the brackets of an IPv6 literal: NO_PROXY wants the bare address.
func apiServerHost(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return h[1 : len(h)-1]
	}
	return h
}

// Env returns the proxy variables for s and n in this order: HTTP_PROXY, HTTPS_PROXY,
// NO_PROXY, http_proxy, https_proxy, no_proxy, with NO_PROXY = NoProxy(s, n) joined with ",".
// HTTPS_PROXY defaults to HTTP_PROXY when empty, as on AKS. When only HTTPSProxy is set, the
// HTTP_PROXY pair is left out (plain HTTP then goes direct) rather than set to an empty value.
// Env returns nil when neither proxy is set. The values are secrets.
func Env(s Settings, n ClusterNetwork) []EnvVar {
	if !s.Enabled() {
		return nil
	}
	httpProxy := strings.TrimSpace(s.HTTPProxy)
	httpsProxy := strings.TrimSpace(s.HTTPSProxy)
	if httpsProxy == "" {
		httpsProxy = httpProxy
	}
	noProxy := strings.Join(NoProxy(s, n), ",")
	var env []EnvVar
	for _, v := range []EnvVar{
		{HTTPProxyVar, httpProxy}, {HTTPSProxyVar, httpsProxy}, {NoProxyVar, noProxy},
		{HTTPProxyLowerVar, httpProxy}, {HTTPSProxyLowerVar, httpsProxy}, {NoProxyLowerVar, noProxy},
	} {
		if v.Value != "" {
			env = append(env, v)
		}
	}
	return env
}

// FromGateway returns a gateway's proxy settings, with the proxies' passwords in their URLs.
func FromGateway(p *v1alpha1.ProxySettings) Settings {
	return Settings{HTTPProxy: p.HTTPProxyURL(), HTTPSProxy: p.HTTPSProxyURL(), NoProxy: p.NoProxy, CACertificate: p.CACertificate}
}
