package gateway

import (
	"net/http"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestBypass(t *testing.T) {
	list := []string{"169.254.169.254, .svc", "10.0.0.0/8", "corp.example", "LOCALHOST"}
	tests := []struct {
		host string
		want bool
	}{
		{"169.254.169.254", true},
		{"kubernetes.default.svc", true},
		{"10.1.2.3", true},
		{"11.1.2.3", false},
		{"corp.example", true},
		{"api.corp.example", true},
		{"notcorp.example", false},
		{"localhost", true},
		{"127.0.0.1", false}, // loopback is proxied unless listed
		{"management.azure.com", false},
	}
	for _, tt := range tests {
		if got := bypass(tt.host, list); got != tt.want {
			t.Errorf("bypass(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
	if !bypass("anything", []string{"*"}) {
		t.Error("* bypasses every host")
	}
}

func TestProxyOf(t *testing.T) {
	p := &v1alpha1.ProxySettings{HTTPSProxy: "http://squid.corp:3128", NoProxy: []string{".internal"}}
	c, err := proxyOf(p)
	if err != nil || c == nil {
		t.Fatalf("proxyOf: %v %v", c, err)
	}
	for host, want := range map[string]string{"management.azure.com": "squid.corp:3128", "127.0.0.1": "squid.corp:3128", "db.internal": ""} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/", nil)
		u, err := c.fn(req)
		got := ""
		if u != nil {
			got = u.Host
		}
		if err != nil || got != want {
			t.Errorf("%s: proxy %q (%v), want %q", host, got, err, want)
		}
	}
	if c, err := proxyOf(&v1alpha1.ProxySettings{NoProxy: []string{"x"}}); c != nil || err != nil {
		t.Errorf("no proxy URL: %v %v", c, err)
	}
}
