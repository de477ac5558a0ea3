package cli

import "github.com/strata-dev/strata/api/v1alpha1"

// showProxyPasswords replaces, in the rendered proxy settings n, the server's flags by a
// "httpProxyPassword: (set)" line after each proxy URL whose password is stored.
func showProxyPasswords(n *node, px *v1alpha1.ProxySettings) {
	if n == nil || n.kind != 'o' || px == nil {
		return
	}
	n.remove("httpProxyPasswordSet")
	n.remove("httpsProxyPasswordSet")
	if px.HTTPProxyPasswordSet || !px.HTTPProxyPassword.Empty() {
		n.insertAfter("httpProxy", "httpProxyPassword", &node{kind: 's', scalar: "(set)"})
	}
	if px.HTTPSProxyPasswordSet || !px.HTTPSProxyPassword.Empty() {
		n.insertAfter("httpsProxy", "httpsProxyPassword", &node{kind: 's', scalar: "(set)"})
	}
}
