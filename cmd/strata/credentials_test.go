package main

import (
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/strata-dev/strata/internal/cliconfig"
	"github.com/strata-dev/strata/internal/client"
)

// The servers these tests start have access control on, as `strata server` has by default:
// each server's admin key (printed at its first start) is kept in a CLI configuration file of
// its own, which the strata helper hands to every command it runs against that server, and
// apiClient uses for Go clients. A command against a server not registered here runs with an
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
	cfg, err := cliconfig.Load(configOf(url))
	if err != nil {
		return nil, err
	}
	var opts []client.Option
	if c := cfg.ForServer(url); c != nil {
		opts = append(opts, client.WithAPIKey(c.APIKey))
	}
	return client.New(url, opts...)
}

// adminKeyOf returns the API key kept for url, or "".
func adminKeyOf(t testing.TB, url string) string {
	t.Helper()
	cfg, err := cliconfig.Load(configOf(url))
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.ForServer(url); c != nil {
		return c.APIKey
	}
	return ""
}

// getWithCredentials sends GET url+path with the credentials kept for url.
func getWithCredentials(url, path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url+path, nil)
	if err != nil {
		return nil, err
	}
	cfg, err := cliconfig.Load(configOf(url))
	if err != nil {
		return nil, err
	}
	if c := cfg.ForServer(url); c != nil && c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	return http.DefaultClient.Do(req)
}
