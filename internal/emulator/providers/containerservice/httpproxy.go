package containerservice

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// This file holds the managed cluster's HTTP proxy (properties.httpProxyConfig,
// learn.microsoft.com/azure/aks/http-proxy): its checks on PUT and the read-only
// effectiveNoProxy that GET returns.

// aksDefaultNodeSubnet is the node subnet of the VNet AKS makes for pools that name none (see
// fromarm.aksNodeIP).
const aksDefaultNodeSubnet = "10.224.0.0/16"

// aksNoProxyAdditions are the entries AKS adds to every cluster's effectiveNoProxy besides its
// ranges and API server: the wire server, the instance metadata service, loopback and the
// konnectivity tunnel.
var aksNoProxyAdditions = []string{"168.63.129.16", "169.254.169.254", "localhost", "127.0.0.1", "konnectivity"}

// proxyConfigError is AKS's 400 for an httpProxyConfig it refuses.
func proxyConfigError(format string, args ...any) *arm.Error {
	return arm.Errorf(http.StatusBadRequest, "HTTPProxyConfigInputError", format, args...)
}

// prepareHTTPProxy checks and completes httpProxyConfig. props are the properties to store (on
// update, the request over the stored ones: what the PUT leaves out of the config stays, so
// that {"enabled": false} disables the proxy and keeps its settings, as AKS does). An update
// may change every setting; AKS then reimages the nodes, which the emulator has none of.
// Errors never repeat a proxy URL's password.
func prepareHTTPProxy(props map[string]any) *arm.Error {
	v, sent := props["httpProxyConfig"]
	if !sent || v == nil {
		delete(props, "httpProxyConfig")
		return nil
	}
	cfg, ok := v.(map[string]any)
	if !ok {
		return invalidParameter("httpProxyConfig", "The value of parameter httpProxyConfig is invalid. It must be an object.")
	}
	delete(cfg, "effectiveNoProxy") // read-only
	if _, ok := cfg["enabled"].(bool); !ok {
		cfg["enabled"] = true
	}
	httpProxy, httpsProxy := jsonmap.Str(cfg, "httpProxy"), jsonmap.Str(cfg, "httpsProxy")
	if cfg["enabled"] == true && httpProxy == "" && httpsProxy == "" {
		return proxyConfigError("HTTPProxy and HTTPSProxy both cannot be empty.")
	}
	for _, p := range []struct{ property, value string }{{"HTTPProxy", httpProxy}, {"HTTPSProxy", httpsProxy}} {
		if err := checkProxyURL(p.property, p.value); err != nil {
			return err
		}
	}
	for _, e := range jsonmap.List(cfg, "noProxy") {
		s, ok := e.(string)
		switch {
		case !ok || strings.TrimSpace(s) == "":
			return proxyConfigError("HTTPProxyConfig.NoProxy entries must be non-empty strings.")
		case strings.Contains(s, "*"):
			return proxyConfigError("The noProxy entry '%s' is not supported: '*' cannot be used as a wildcard in HTTPProxyConfig.NoProxy.", s)
		}
	}
	if ca, ok := cfg["trustedCa"].(string); ok && ca != "" && !isBase64PEMCertificates(ca) {
		return proxyConfigError("HTTPProxyConfig.TrustedCa must be base64-encoded PEM certificates.")
	}
	return nil
}

// checkProxyURL checks a proxy URL ("" is no proxy): http or https with a host, and no user
// (AKS supports no proxy authentication). The message names the URL as AKS does, without its
// password.
func checkProxyURL(property, raw string) *arm.Error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "HTTPProxyWrongUrlError", "The url is not correct for the property HTTPProxyConfig.%s", property)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return arm.Errorf(http.StatusBadRequest, "HTTPProxyWrongUrlError", "The url %s is not correct for the property HTTPProxyConfig.%s", u.Redacted(), property)
	}
	if u.User != nil {
		return proxyConfigError("User/Password authentication is not supported for HTTPProxyConfig.%s.", property)
	}
	return nil
}

// isBase64PEMCertificates reports whether s is base64 (standard encoding) of one or more PEM
// certificates and nothing else.
func isBase64PEMCertificates(s string) bool {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return false
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return false
		}
		n++
	}
	return n > 0 && strings.TrimSpace(string(data)) == ""
}

// effectiveNoProxy is what an enabled proxy config's nodes and pods reach directly: the
// user's noProxy, then what AKS adds — the pools' node subnets, the pod and service ranges,
// the API server's names, the wire server, the instance metadata service, loopback and
// konnectivity — without duplicates (compared case-insensitively, the first kept). Nil when
// the cluster has no proxy or it is disabled.
func effectiveNoProxy(tx arm.Tx, clusterID string, props map[string]any) []string {
	cfg := jsonmap.Obj(props, "httpProxyConfig")
	if cfg == nil || !jsonmap.Bool(cfg, "enabled", true) {
		return nil
	}
	out := []string{}
	seen := map[string]bool{}
	add := func(entries ...string) {
		for _, e := range entries {
			if k := strings.ToLower(strings.TrimSpace(e)); k != "" && !seen[k] {
				seen[k] = true
				out = append(out, strings.TrimSpace(e))
			}
		}
	}
	add(jsonmap.StringList(cfg["noProxy"])...)
	add(nodeSubnets(tx, clusterID)...)
	np := jsonmap.Obj(props, "networkProfile")
	add(jsonmap.StringList(np["podCidrs"])...)
	add(jsonmap.Str(np, "podCidr"))
	add(jsonmap.StringList(np["serviceCidrs"])...)
	add(jsonmap.Str(np, "serviceCidr"))
	add(jsonmap.Str(props, "fqdn"), jsonmap.Str(props, "privateFQDN"))
	add(aksNoProxyAdditions...)
	return out
}

// nodeSubnets are the address prefixes of the subnets the cluster's pools are in, in the
// pools' order; AKS's default node subnet for a pool that names none.
func nodeSubnets(tx arm.Tx, clusterID string) []string {
	var out []string
	for _, p := range tx.List(clusterID, TypeAgentPool) {
		id := jsonmap.Str(jsonmap.Obj(p.Body, "properties"), "vnetSubnetID")
		if id == "" {
			out = append(out, aksDefaultNodeSubnet)
			continue
		}
		if s := tx.Get(id); s != nil {
			sp := jsonmap.Obj(s.Body, "properties")
			out = append(out, jsonmap.Str(sp, "addressPrefix"))
			out = append(out, jsonmap.StringList(sp["addressPrefixes"])...)
		}
	}
	return out
}
