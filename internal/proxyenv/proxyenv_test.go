package proxyenv

import (
	"slices"
	"strings"
	"testing"
)

var fixed = []string{"localhost", "127.0.0.1", "169.254.169.254", "168.63.129.16", ".svc", ".cluster.local"}

func TestNoProxy(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		n    ClusterNetwork
		want []string // after the fixed entries
	}{
		{name: "empty", want: nil},
		{
			name: "cluster network then gateway, in order",
			s:    Settings{NoProxy: []string{".azure.com", "10.9.0.0/16", ".windows.net"}},
			n: ClusterNetwork{PodCIDRs: []string{"192.168.0.0/16"}, ServiceCIDRs: []string{"10.0.0.0/16"},
				NodeSubnetCIDRs: []string{"10.1.0.0/24", "10.1.1.0/24"}, APIServerHost: "api.example.com"},
			want: []string{"192.168.0.0/16", "10.0.0.0/16", "10.1.0.0/24", "10.1.1.0/24", "api.example.com",
				".azure.com", "10.9.0.0/16", ".windows.net"},
		},
		{
			name: "duplicates of fixed entries and between lists dropped, case-insensitively",
			s:    Settings{NoProxy: []string{"LOCALHOST", ".SVC", "10.0.0.0/16", "API.example.com", "x.example", "X.Example"}},
			n:    ClusterNetwork{ServiceCIDRs: []string{"10.0.0.0/16"}, PodCIDRs: []string{"10.0.0.0/16"}, APIServerHost: "api.Example.com"},
			want: []string{"10.0.0.0/16", "api.Example.com", "x.example"},
		},
		{
			name: "empty and blank entries dropped, entries trimmed",
			s:    Settings{NoProxy: []string{"", "  ", " a.example "}},
			n:    ClusterNetwork{PodCIDRs: []string{""}, APIServerHost: " "},
			want: []string{"a.example"},
		},
		{
			name: "comma-separated gateway entries split",
			s:    Settings{NoProxy: []string{"a.example, b.example,,localhost", "c.example"}},
			want: []string{"a.example", "b.example", "c.example"},
		},
		{
			name: "IPv6 API server without brackets, hex case-insensitive",
			s:    Settings{NoProxy: []string{"FD00::1"}},
			n:    ClusterNetwork{APIServerHost: "[fd00::1]", PodCIDRs: []string{"fd01::/48"}},
			want: []string{"fd01::/48", "fd00::1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NoProxy(tt.s, tt.n)
			want := append(slices.Clone(fixed), tt.want...)
			if !slices.Equal(got, want) {
				t.Errorf("NoProxy =\n %q\nwant\n %q", got, want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	n := ClusterNetwork{ServiceCIDRs: []string{"10.0.0.0/16"}, APIServerHost: "10.1.0.4"}
	noProxy := strings.Join(append(slices.Clone(fixed), "10.0.0.0/16", "10.1.0.4", ".corp"), ",")
	tests := []struct {
		name string
		s    Settings
		want []EnvVar
	}{
		{name: "no proxy", s: Settings{NoProxy: []string{".corp"}, CACertificate: "pem"}, want: nil},
		{name: "blank proxies", s: Settings{HTTPProxy: " ", HTTPSProxy: "\t"}, want: nil},
		{
			name: "both, with credentials",
			s:    Settings{HTTPProxy: "http://u:p@proxy:3128", HTTPSProxy: "http://proxy2:3129", NoProxy: []string{".corp"}},
			want: []EnvVar{
				{"HTTP_PROXY", "http://u:p@proxy:3128"}, {"HTTPS_PROXY", "http://proxy2:3129"}, {"NO_PROXY", noProxy},
				{"http_proxy", "http://u:p@proxy:3128"}, {"https_proxy", "http://proxy2:3129"}, {"no_proxy", noProxy},
			},
		},
		{
			name: "HTTPS defaults to HTTP",
			s:    Settings{HTTPProxy: " http://proxy:3128 ", NoProxy: []string{".corp"}},
			want: []EnvVar{
				{"HTTP_PROXY", "http://proxy:3128"}, {"HTTPS_PROXY", "http://proxy:3128"}, {"NO_PROXY", noProxy},
				{"http_proxy", "http://proxy:3128"}, {"https_proxy", "http://proxy:3128"}, {"no_proxy", noProxy},
			},
		},
		{
			name: "HTTPS only leaves HTTP out",
			s:    Settings{HTTPSProxy: "http://proxy:3128", NoProxy: []string{".corp"}},
			want: []EnvVar{
				{"HTTPS_PROXY", "http://proxy:3128"}, {"NO_PROXY", noProxy},
				{"https_proxy", "http://proxy:3128"}, {"no_proxy", noProxy},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Env(tt.s, n)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Env =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}
