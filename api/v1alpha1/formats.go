package v1alpha1

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

var (
	dns1123Label   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsName        = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	guidPattern    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	semverPattern  = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-((0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(\+([0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*))?$`)
	layerVersion   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
	labelName      = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	resourceGroup  = regexp.MustCompile(`^[-\w.()]+$`)
	azureNetName   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)
	locationName   = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	vmSize         = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	storageAccount = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerName  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	aksPoolName    = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
)

// required reports a missing value and returns false when v is empty.
func required(errs *ErrorList, p Path, v string) bool {
	if v == "" {
		errs.Add(p, RuleRequired, "required")
		return false
	}
	return true
}

// checkName checks a DNS-1123 label of at most 63 characters.
func checkName(errs *ErrorList, p Path, v string) {
	if !required(errs, p, v) {
		return
	}
	if len(v) > 63 {
		errs.Add(p, RuleTooLong, "must be at most 63 characters, got %d", len(v))
		return
	}
	if !dns1123Label.MatchString(v) {
		errs.Add(p, RuleFormat, "%q must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit", v)
	}
}

// checkGUID checks a required GUID such as a tenant, client or subscription ID.
func checkGUID(errs *ErrorList, p Path, v string) {
	if required(errs, p, v) && !guidPattern.MatchString(v) {
		errs.Add(p, RuleFormat, "%q must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", v)
	}
}

// checkEnum checks that v is one of allowed.
func checkEnum(errs *ErrorList, p Path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	errs.Add(p, RuleEnum, "%q is not supported: must be one of %s", v, strings.Join(allowed, ", "))
}

// checkSemver checks a required semantic version of at most MaxVersionLength characters.
func checkSemver(errs *ErrorList, p Path, v string) {
	if required(errs, p, v) && checkVersionLength(errs, p, v) && !semverPattern.MatchString(v) {
		errs.Add(p, RuleFormat, "%q must be a semantic version such as 1.2.0", v)
	}
}

// isVersion reports whether v is a semantic version that checkSemver accepts.
func isVersion(v string) bool {
	return len(v) <= MaxVersionLength && semverPattern.MatchString(v)
}

// checkHTTPSURL checks a required absolute https URL with a host.
func checkHTTPSURL(errs *ErrorList, p Path, v string) {
	if !required(errs, p, v) {
		return
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		errs.Add(p, RuleFormat, "%q must be an https:// URL with a host", v)
	}
}

// checkProxyURL checks a proxy URL: http or https scheme and a host. A URL that does not parse
// is not repeated: it may hold a password.
func checkProxyURL(errs *ErrorList, p Path, v string) {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		errs.Add(p, RuleFormat, "is not a URL: use http:// or https://, a host and a port, e.g. http://proxy.example.com:3128, with user and password percent-encoded (user:p%%40ss@)")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs.Add(p, RuleFormat, "%q must be an http:// or https:// URL with a host, e.g. http://proxy.example.com:3128", u.Redacted())
	}
}

// checkPEMCertificates checks that v holds at least one PEM certificate and nothing else.
func checkPEMCertificates(errs *ErrorList, p Path, v string) {
	rest := []byte(v)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			errs.Add(p, RuleFormat, "PEM block %d is a %q: only CERTIFICATE blocks are allowed", n+1, block.Type)
			return
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			errs.Add(p, RuleFormat, "PEM certificate %d does not parse: %v", n+1, err)
			return
		}
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		errs.Add(p, RuleFormat, "must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)")
	}
}

// checkLabels checks Kubernetes label keys and values.
func checkLabels(errs *ErrorList, p Path, labels map[string]string) {
	for _, k := range sortedKeysOf(labels) {
		checkLabelKey(errs, p.Key(k), k)
		if v := labels[k]; v != "" && (len(v) > 63 || !labelName.MatchString(v)) {
			errs.Add(p.Key(k), RuleFormat, "label value %q must be at most 63 characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit", v)
		}
	}
}

// checkLabelKey checks a Kubernetes qualified name: an optional DNS subdomain prefix and '/',
// then a name of at most 63 characters.
func checkLabelKey(errs *ErrorList, p Path, k string) {
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	switch {
	case hasPrefix && (len(prefix) > 253 || !dnsName.MatchString(prefix)):
		errs.Add(p, RuleFormat, "key %q: the prefix before '/' must be a lowercase DNS subdomain", k)
	case len(name) == 0 || len(name) > 63 || !labelName.MatchString(name):
		errs.Add(p, RuleFormat, "key %q must be a qualified name: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, with an optional DNS prefix and '/'", k)
	}
}

// parseIPv4Prefix parses a canonical IPv4 CIDR and reports what is wrong with it.
func parseIPv4Prefix(errs *ErrorList, p Path, v string) (netip.Prefix, bool) {
	if !required(errs, p, v) {
		return netip.Prefix{}, false
	}
	pfx, err := netip.ParsePrefix(v)
	switch {
	case err != nil:
		errs.Add(p, RuleFormat, "%q is not a CIDR such as 10.0.0.0/16", v)
	case !pfx.Addr().Is4():
		errs.Add(p, RuleFormat, "%q must be an IPv4 CIDR", v)
	case pfx.Masked() != pfx:
		errs.Add(p, RuleFormat, "%q has host bits set: did you mean %s?", v, pfx.Masked())
	default:
		return pfx, true
	}
	return netip.Prefix{}, false
}

func sortedKeysOf[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// plural returns "1 thing" or "n things".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
