package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/strata-dev/strata/internal/atomicfile"
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

// accessExampleFile is the file, in quickstart's data directory, of a restricted user to try
// access control with.
const accessExampleFile = "access-prod-viewer.yaml"

// accessExample is a user who may only view the clusters tagged env:prod.
const accessExample = `# A user who may view only the clusters tagged env:prod (quickstart wrote this file).
# strata apply -f this file, then act as the user:
#   STRATA_API_KEY=$(strata apikey create --user prod-viewer --expires-in 1d) strata get clusters
apiVersion: strata.dev/v1alpha1
kind: User
metadata: {name: prod-viewer}
spec: {displayName: Viewer of the production clusters}
---
apiVersion: strata.dev/v1alpha1
kind: TagFilter
metadata: {name: env-prod}
spec:
  filters: [{key: env, values: [prod]}]
---
apiVersion: strata.dev/v1alpha1
kind: RoleBinding
metadata: {name: prod-viewer}
spec: {subject: {user: prod-viewer}, role: cluster-viewer, filter: env-prod}
`

// writeAccessExample writes accessExampleFile into dataDir unless it exists, and returns its
// path.
func writeAccessExample(dataDir string) (string, error) {
	path := filepath.Join(dataDir, accessExampleFile)
	if err := atomicfile.Create(path, []byte(accessExample), 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
