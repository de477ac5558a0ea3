package v1alpha1

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// UnmarshalJSON decodes proxy settings and moves each proxy URL's password out of the URL.
func (p *ProxySettings) UnmarshalJSON(data []byte) error {
	type plain ProxySettings
	var v plain
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*p = ProxySettings(v)
	p.HTTPProxy, p.HTTPProxyPassword = splitPassword(p.HTTPProxy)
	p.HTTPSProxy, p.HTTPSProxyPassword = splitPassword(p.HTTPSProxy)
	return nil
}

// MarshalJSON encodes proxy settings with URLs that carry no password, even one that Go code
// put in a URL.
func (p ProxySettings) MarshalJSON() ([]byte, error) {
	type plain ProxySettings
	v := plain(p)
	v.HTTPProxy, _ = splitPassword(v.HTTPProxy)
	v.HTTPSProxy, _ = splitPassword(v.HTTPSProxy)
	return json.Marshal(v)
}

// HTTPProxyURL returns the HTTP proxy's URL with its password, for the code that uses the
// proxy.
func (p *ProxySettings) HTTPProxyURL() string { return joinPassword(p.HTTPProxy, p.httpPassword()) }

// HTTPSProxyURL returns the HTTPS proxy's URL with its password.
func (p *ProxySettings) HTTPSProxyURL() string {
	return joinPassword(p.HTTPSProxy, p.httpsPassword())
}

// httpPassword is the HTTP proxy's password: the one taken out of its URL, or one that Go code
// left in it.
func (p *ProxySettings) httpPassword() Secret { return proxyPassword(p.HTTPProxy, p.HTTPProxyPassword) }

// httpsPassword is httpPassword for the HTTPS proxy.
func (p *ProxySettings) httpsPassword() Secret {
	return proxyPassword(p.HTTPSProxy, p.HTTPSProxyPassword)
}

func proxyPassword(raw string, taken Secret) Secret {
	if !taken.Empty() {
		return taken
	}
	_, pw := splitPassword(raw)
	return pw
}

// splitPassword returns a URL without its password, and the password. A URL that does not
// parse is returned as it is (validation refuses it without repeating it).
func splitPassword(raw string) (string, Secret) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, Secret{}
	}
	pw, ok := u.User.Password()
	if !ok {
		return raw, Secret{}
	}
	name := u.User.Username()
	u.User = nil
	if name != "" {
		u.User = url.User(name)
	}
	return u.String(), NewSecret(pw)
}

// joinPassword puts a password into a URL that has none.
func joinPassword(raw string, pw Secret) string {
	u, err := url.Parse(raw)
	if pw.Empty() || err != nil {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), pw.Reveal())
	return u.String()
}

// hasUser reports whether a proxy URL names a user.
func hasUser(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.User != nil && u.User.Username() != ""
}

// proxyTarget is where a proxy URL sends its password: the scheme, the user, the host and the
// port (the scheme's default when there is none).
func proxyTarget(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + u.User.Username() + "@" + strings.ToLower(u.Hostname()) + ":" + port
}

// keptPassword returns the password of the proxy URL after: its own or, when it names a user but
// gives no password, the stored one of before, provided before is the same proxy for the same
// user. A URL without a user has no password.
func keptPassword(before string, beforePW Secret, after string, afterPW Secret) Secret {
	if !afterPW.Empty() || beforePW.Empty() || !hasUser(after) || proxyTarget(before) != proxyTarget(after) {
		return afterPW
	}
	return beforePW
}

// checkProxyPasswordUpdate refuses an update that points a proxy URL with a stored password at
// another proxy or user without giving the password again: the password would go to a new
// host. The update's passwords are as it gave them.
func checkProxyPasswordUpdate(errs *ErrorList, p Path, before, after *ProxySettings) {
	if before == nil || after == nil {
		return
	}
	check := func(field, beforeURL string, beforePW Secret, afterURL string, afterPW Secret) {
		if afterPW.Empty() && !beforePW.Empty() && hasUser(afterURL) && proxyTarget(beforeURL) != proxyTarget(afterURL) {
			errs.Add(p.Child(field), RuleResendSecret, "the stored password of %s goes only to that proxy and user, and this update names %s: give the password again in the URL (scheme://user:password@host:port), or leave the user out for no password",
				beforeURL, afterURL)
		}
	}
	check("httpProxy", before.HTTPProxy, before.httpPassword(), after.HTTPProxy, after.httpPassword())
	check("httpsProxy", before.HTTPSProxy, before.httpsPassword(), after.HTTPSProxy, after.httpsPassword())
}

// proxyPasswords is how the store keeps a gateway's proxy passwords, sealed.
type proxyPasswords struct {
	HTTP  string `json:"httpProxy,omitempty"`
	HTTPS string `json:"httpsProxy,omitempty"`
}

// SecretText returns the proxies' passwords as one JSON text, "" when there is none.
func (o *PrivateCloudGateway) SecretText() string {
	px := o.Spec.Proxy
	if px == nil {
		return ""
	}
	pw := proxyPasswords{HTTP: px.httpPassword().Reveal(), HTTPS: px.httpsPassword().Reveal()}
	if pw == (proxyPasswords{}) {
		return ""
	}
	data, err := json.Marshal(pw)
	if err != nil {
		panic(fmt.Sprintf("v1alpha1: encoding two strings: %v", err))
	}
	return string(data)
}

// SetSecretText sets the proxies' passwords from a text SecretText returned.
func (o *PrivateCloudGateway) SetSecretText(text string) error {
	var pw proxyPasswords
	if text != "" {
		if err := json.Unmarshal([]byte(text), &pw); err != nil {
			return fmt.Errorf("proxy passwords: %w", err)
		}
	}
	if px := o.Spec.Proxy; px != nil {
		px.HTTPProxyPassword, px.HTTPSProxyPassword = NewSecret(pw.HTTP), NewSecret(pw.HTTPS)
	}
	return nil
}

// SetSecretPresent sets httpProxyPasswordSet and httpsProxyPasswordSet.
func (o *PrivateCloudGateway) SetSecretPresent(stored bool) {
	if px := o.Spec.Proxy; px != nil {
		px.HTTPProxyPasswordSet = stored && !px.httpPassword().Empty()
		px.HTTPSProxyPasswordSet = stored && !px.httpsPassword().Empty()
	}
}

// KeepsStoredSecret returns false: a proxy's password goes with its URL.
func (o *PrivateCloudGateway) KeepsStoredSecret() bool { return false }

// RevealSecrets puts the passwords back into the proxy URLs of doc.
func (o *PrivateCloudGateway) RevealSecrets(doc map[string]any) {
	px := o.Spec.Proxy
	if px == nil {
		return
	}
	proxy := childMap(childMap(doc, "spec"), "proxy")
	if px.HTTPProxy != "" {
		proxy["httpProxy"] = px.HTTPProxyURL()
	}
	if px.HTTPSProxy != "" {
		proxy["httpsProxy"] = px.HTTPSProxyURL()
	}
}
