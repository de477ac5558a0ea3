package client

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tlsServer is an https server answering 200 to every request, after checking the API key
// when one is wanted; it returns the server and its certificate in PEM.
func tlsServer(t *testing.T, wantKey string) (*httptest.Server, []byte) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantKey != "" && r.Header.Get("Authorization") != "Bearer "+wantKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestWithRootCAs(t *testing.T) {
	const key = "strata_id_secret"
	srv, certPEM := tlsServer(t, key)
	tests := []struct {
		name string
		opts []Option
		// certError: the request fails because the server's certificate is not trusted.
		certError bool
	}{
		{"not trusted", []Option{WithAPIKey(key)}, true},
		{"trusted, key first", []Option{WithAPIKey(key), WithRootCAs(certPEM)}, false},
		{"trusted, key last", []Option{WithRootCAs(certPEM), WithAPIKey(key)}, false},
		{"trusted, own HTTP client", []Option{WithHTTPClient(&http.Client{Transport: &http.Transport{}}), WithRootCAs(certPEM), WithAPIKey(key)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(srv.URL, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Healthz(context.Background())
			var unknown x509.UnknownAuthorityError
			switch {
			case tt.certError && !errors.As(err, &unknown):
				t.Errorf("List: %v; want an unknown-authority certificate error", err)
			case !tt.certError && err != nil:
				t.Errorf("List: %v", err)
			}
		})
	}
}

func TestWithRootCAsRefused(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"empty", []Option{WithRootCAs(nil)}, "no PEM certificate"},
		{"not PEM", []Option{WithRootCAs([]byte("junk"))}, "no PEM certificate"},
		{"a key, no certificate", []Option{WithRootCAs([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))}, "no PEM certificate"},
		{"other transport", []Option{WithHTTPClient(&http.Client{Transport: roundTripper(nil)}), WithRootCAs(validPEM(t))}, "transport of type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("https://127.0.0.1:7080", tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// roundTripper is a transport that is not an *http.Transport.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// validPEM is a certificate in PEM.
func validPEM(t *testing.T) []byte {
	t.Helper()
	_, certPEM := tlsServer(t, "")
	return certPEM
}
