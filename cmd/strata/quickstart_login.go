package main

import (
	"context"
	"fmt"
	"time"

	"github.com/strata-dev/strata/internal/cliconfig"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store"
)

// quickstartContext is the name of the CLI context quickstart logs in.
const quickstartContext = "quickstart"

// quickstartKeyLifetime is how long the key quickstart makes for the CLI is valid; a later
// start makes a new one when it has expired.
const quickstartKeyLifetime = 30 * 24 * time.Hour

// quickstartLogin logs the CLI in to quickstart's server as the user admin (made when
// missing): the context "quickstart" of the CLI configuration, made current, keeps the
// server's address, certificate and an API key. A key the context already holds is kept while
// the store still accepts it. It returns the key and the configuration file's path.
func quickstartLogin(ctx context.Context, st store.Store, serverURL string, caPEM []byte) (key, path string, err error) {
	path, err = cliconfig.DefaultPath()
	if err != nil {
		return "", "", err
	}
	cfg, err := cliconfig.Load(path)
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	if kept := cfg.Context(quickstartContext); kept != nil && kept.APIKey != "" {
		if k, err := server.CheckKey(ctx, st, kept.APIKey, now); err == nil && k.Spec.User == "admin" {
			key = kept.APIKey
		}
	}
	if key == "" {
		if key, err = server.BootstrapWith(ctx, st, "admin", now.Add(quickstartKeyLifetime), "made by strata quickstart for the CLI"); err != nil {
			return "", "", err
		}
	}
	cfg.Set(cliconfig.Context{Name: quickstartContext, Server: serverURL, CertificateAuthority: string(caPEM), User: "admin", APIKey: key})
	if err := cliconfig.Save(path, cfg); err != nil {
		return "", "", fmt.Errorf("log the CLI in: %w", err)
	}
	return key, path, nil
}
