package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/cliconfig"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/servertls"
)

// The servers these tests start serve HTTPS with their self-signed certificate and have access
// control on, as `strata server` has by default: each server's admin key (printed at its first
// start) and certificate are kept in a CLI configuration file of its own, which the strata
// helper hands to every command it runs against that server, and clientFor and
// getWithCredentials use for Go clients. A command against a server not registered here runs with an
// empty configuration: it has no credentials.

// serverConfigs maps a server's address (cliconfig.Normalize) to its CLI configuration file.
var serverConfigs sync.Map

// noConfig is the configuration file of commands without credentials: it does not exist.
var noConfig = filepath.Join(os.TempDir(), "strata-e2e-no-config", "config.yaml")

// registerServer logs the CLI in to url with key, in a configuration file of the test's, and
// returns that file.
func registerServer(t testing.TB, url, key string, caPEM []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cli-config.yaml")
	cfg := &cliconfig.Config{}
	cfg.Set(cliconfig.Context{Name: "e2e", Server: cliconfig.Normalize(url), CertificateAuthority: string(caPEM), User: "admin", APIKey: key})
	if err := cliconfig.Save(path, cfg); err != nil {
		t.Fatal(err)
	}
	useConfig(t, url, path)
	return path
}

// useConfig makes path the configuration file of the commands against url, until the test
// ends.
func useConfig(t testing.TB, url, path string) {
	key := cliconfig.Normalize(url)
	serverConfigs.Store(key, path)
	t.Cleanup(func() { serverConfigs.CompareAndDelete(key, path) })
}

// configOf returns the configuration file of the commands against url.
func configOf(url string) string {
	if p, ok := serverConfigs.Load(cliconfig.Normalize(url)); ok {
		return p.(string)
	}
	return noConfig
}

// clientFor is a Go client of url with the credentials kept for it.
func clientFor(url string) (*client.Client, error) {
	c, err := contextFor(url)
	if err != nil {
		return nil, err
	}
	var opts []client.Option
	if c != nil {
		opts = append(opts, client.WithAPIKey(c.APIKey))
		if c.CertificateAuthority != "" {
			opts = append(opts, client.WithRootCAs([]byte(c.CertificateAuthority)))
		}
	}
	return client.New(url, opts...)
}

// adminKeyOf returns the API key kept for url, or "".
func adminKeyOf(t testing.TB, url string) string {
	t.Helper()
	c, err := contextFor(url)
	if err != nil {
		t.Fatal(err)
	}
	if c != nil {
		return c.APIKey
	}
	return ""
}

// contextFor is the context kept for url, or nil.
func contextFor(url string) (*cliconfig.Context, error) {
	cfg, err := cliconfig.Load(configOf(url))
	if err != nil {
		return nil, err
	}
	return cfg.ForServer(url), nil
}

// getWithCredentials sends GET url+path with the credentials kept for url.
func getWithCredentials(url, path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url+path, nil)
	if err != nil {
		return nil, err
	}
	c, err := contextFor(url)
	if err != nil {
		return nil, err
	}
	var ca []byte
	if c != nil {
		if c.APIKey != "" {
			req.Header.Set("Authorization", "Bearer "+c.APIKey)
		}
		ca = []byte(c.CertificateAuthority)
	}
	return trustingClient(ca).Do(req)
}

// serverCA is the self-signed certificate of the server whose data directory is dataDir, or
// nil before the server has written it.
func serverCA(dataDir string) []byte {
	data, err := os.ReadFile(filepath.Join(dataDir, servertls.Dir, servertls.CertFileName))
	if err != nil {
		return nil
	}
	return data
}

// trustingClient is an HTTP client that trusts ca besides the system's certificates.
func trustingClient(ca []byte) *http.Client {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(ca)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// dataDirOf is the --data-dir of a server's arguments.
func dataDirOf(args []string) string {
	for i, a := range args {
		if a == "--data-dir" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--data-dir="); ok {
			return v
		}
	}
	return ""
}
