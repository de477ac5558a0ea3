package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// proxyOf is the proxy chooser of a gateway's proxy settings: the HTTPS proxy (or the HTTP
// one) with its password, except for the hosts of the gateway's noProxy list. Unlike
// net/http's environment proxy, loopback hosts are proxied unless the list names them: the
// gateway's settings say exactly what bypasses the proxy.
func proxyOf(p *v1alpha1.ProxySettings) (*proxyChoice, error) {
	raw := p.HTTPSProxyURL()
	if strings.TrimSpace(raw) == "" {
		raw = p.HTTPProxyURL()
	}
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("gateway: spec.proxy: the proxy's URL cannot be read (host:port expected)")
	}
	noProxy := p.NoProxy
	return &proxyChoice{ca: p.CACertificate, fn: func(r *http.Request) (*url.URL, error) {
		if bypass(r.URL.Hostname(), noProxy) {
			return nil, nil
		}
		return u, nil
	}}, nil
}

// bypass reports whether host matches an entry of a NO_PROXY list: an exact host or IP, a
// CIDR holding the IP, or a domain (".example.com" or "example.com") the host is in; "*"
// matches every host. An entry may itself be a comma-separated list.
func bypass(host string, noProxy []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	ip := net.ParseIP(host)
	for _, e := range noProxy {
		for _, entry := range strings.Split(e, ",") {
			entry = strings.ToLower(strings.TrimSpace(entry))
			if entry == "" {
				continue
			}
			if entry == "*" || entry == host {
				return true
			}
			if _, cidr, err := net.ParseCIDR(entry); err == nil {
				if ip != nil && cidr.Contains(ip) {
					return true
				}
				continue
			}
			if ip == nil && strings.HasSuffix(host, "."+strings.TrimPrefix(entry, ".")) {
				return true
			}
		}
	}
	return false
}
