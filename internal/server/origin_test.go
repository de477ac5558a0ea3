package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestIsLoopbackHost(t *testing.T) {
	tests := map[string]bool{
		"localhost": true, "localhost:7080": true, "LOCALHOST.": true, "app.localhost:1": true,
		"127.0.0.1": true, "127.8.9.1:7080": true, "[::1]:7080": true, "::1": true,
		"evil.example": false, "evil.example:7080": false, "10.0.0.1:7080": false, "": false,
		"localhost.evil.example": false, "127.0.0.1.nip.io": false, "[::]:7080": false,
	}
	for host, want := range tests {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestCrossOriginWritesRefused: a write that a browser sends from a page of another origin is
// refused and changes nothing; the same write from the CLI (no such headers), a same-origin
// page, or a cross-origin read are served.
func TestCrossOriginWritesRefused(t *testing.T) {
	ts := newTestServer(t)
	acct, _ := ts.seed()
	body := encode(t, acct)
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		code    int
	}{
		{"cross-site fetch", http.MethodPut, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"other origin", http.MethodDelete, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same origin", http.MethodPut, map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"program", http.MethodPut, nil, http.StatusOK},
		{"cross-site read", http.MethodGet, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusOK},
	}
	for _, tt := range tests {
		var rd io.Reader
		if tt.method == http.MethodPut {
			rd = strings.NewReader(string(body))
		}
		req, _ := http.NewRequest(tt.method, ts.url+objectPath(v1alpha1.KindCloudAccount, acct.Metadata.Name), rd)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range tt.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s: %d, want %d: %s", tt.name, resp.StatusCode, tt.code, data)
		}
		if tt.code == http.StatusForbidden && !strings.Contains(string(data), "cross-origin request refused") {
			t.Errorf("%s: %s", tt.name, data)
		}
	}
	if _, err := ts.store.Get(t.Context(), v1alpha1.KindCloudAccount, acct.Metadata.Name); err != nil {
		t.Errorf("the refused DELETE deleted the account: %v", err)
	}
}

// TestLoopbackServerAnswersLoopbackHostsOnly: a server on a loopback listener answers 421 to a
// Host that is not a loopback name (DNS rebinding).
func TestLoopbackServerAnswersLoopbackHostsOnly(t *testing.T) {
	ts := newTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	for host, want := range map[string]int{"evil.example": http.StatusMisdirectedRequest, "localhost:7080": http.StatusOK, ln.Addr().String(): http.StatusOK} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/healthz", nil)
		req.Host = host
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}
}
