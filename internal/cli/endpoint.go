package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/strata-dev/strata/internal/cliconfig"
)

// endpoint is the server a command talks to and how: its address, the certificates trusted
// for it, and the credential sent to it.
type endpoint struct {
	server string
	// caPEM are certificates trusted besides the system's; empty: the system's only.
	caPEM []byte
	// apiKey is the bearer sent: an API key or an Entra ID access token; or empty.
	apiKey string
	// context is the configuration's context the target came from, or nil.
	context *cliconfig.Context
}

// configPath is the CLI configuration file (--config, $STRATA_CONFIG or the default).
func (o *rootOptions) configPath() (string, error) {
	if o.config != "" {
		return o.config, nil
	}
	return cliconfig.DefaultPath()
}

// loadConfig reads the CLI configuration file.
func (o *rootOptions) loadConfig() (*cliconfig.Config, string, error) {
	path, err := o.configPath()
	if err != nil {
		return nil, "", err
	}
	cfg, err := cliconfig.Load(path)
	return cfg, path, err
}

// endpoint resolves the server and its credential. The server is --server, else
// $STRATA_SERVER, else the --context's or the current context's, else DefaultServer. The
// credential is $STRATA_API_KEY, else the context's for that same server: a credential is
// never sent to a server it was not made for.
func (o *rootOptions) endpoint() (endpoint, error) {
	cfg, path, err := o.loadConfig()
	if err != nil {
		return endpoint{}, err
	}
	ctx, server, err := pickContext(cfg, path, o.contextName, o.server, os.Getenv(ServerEnv))
	if err != nil {
		return endpoint{}, err
	}
	t := endpoint{server: server, context: ctx, apiKey: os.Getenv(APIKeyEnv)}
	if ctx != nil {
		t.caPEM = []byte(ctx.CertificateAuthority)
		if t.apiKey == "" {
			t.apiKey = ctx.APIKey
		}
		if t.apiKey == "" && ctx.Entra != nil {
			if t.apiKey, err = o.entraBearer(context.Background(), cfg, path, ctx); err != nil {
				return endpoint{}, err
			}
		}
	}
	if o.caFile != "" {
		if t.caPEM, err = os.ReadFile(o.caFile); err != nil {
			return endpoint{}, fmt.Errorf("--certificate-authority: %w", err)
		}
	}
	return t, nil
}

// pickContext decides the server and the context it is used with (pure but for cfg): see
// endpoint.
func pickContext(cfg *cliconfig.Config, path, contextName, flagServer, envServer string) (*cliconfig.Context, string, error) {
	server := flagServer
	if server == "" {
		server = envServer
	}
	if contextName != "" {
		ctx := cfg.Context(contextName)
		if ctx == nil {
			return nil, "", fmt.Errorf("--context: no context %q in %s (strata login makes one)", contextName, path)
		}
		if server != "" && !cliconfig.SameServer(server, ctx.Server) {
			return nil, "", fmt.Errorf("--context %s is for the server %s, not %s", contextName, ctx.Server, server)
		}
		return ctx, ctx.Server, nil
	}
	if server != "" {
		return cfg.ForServer(server), server, nil
	}
	if cur := cfg.Current(); cur != nil {
		return cur, cur.Server, nil
	}
	return nil, DefaultServer, nil
}

// httpClient is the HTTP client of the commands: timeout bounds each request, and caPEM, when
// set, are trusted besides the system's certificates.
func httpClient(timeout time.Duration, caPEM []byte) (*http.Client, error) {
	if len(caPEM) == 0 {
		return &http.Client{Timeout: timeout}, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the certificate authority holds no PEM certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: timeout, Transport: tr}, nil
}
