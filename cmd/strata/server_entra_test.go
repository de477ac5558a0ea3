package main

import (
	"strings"
	"testing"
)

// TestEntraFlags: tenant and client go together, need access control, and make a verifier.
func TestEntraFlags(t *testing.T) {
	tests := []struct {
		name    string
		o       entraOptions
		access  bool
		want    bool
		wantErr string
	}{
		{"neither", entraOptions{}, true, false, ""},
		{"both", entraOptions{tenantID: "t1", clientID: "c1", authority: "https://login.example"}, true, true, ""},
		{"tenant only", entraOptions{tenantID: "t1"}, true, false, "--entra-client-id"},
		{"client only", entraOptions{clientID: "c1"}, true, false, "--entra-tenant-id"},
		{"without access control", entraOptions{tenantID: "t1", clientID: "c1"}, false, false, "--access-control"},
		{"CA file alone", entraOptions{caFile: "ca.pem"}, true, false, "--entra-ca-file"},
		{"missing CA file", entraOptions{tenantID: "t1", clientID: "c1", caFile: "/nonexistent/ca.pem"}, true, false, "--entra-ca-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.o.verifier(t.Context(), tt.access)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || (v != nil) != tt.want {
				t.Fatalf("verifier %v, %v; want one: %t", v, err, tt.want)
			}
		})
	}
}
