package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/datadir"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/holder"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/servertls"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/postgres"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// encryptionKeyEnv names the environment variable holding the base64 encryption key. It wins
// over the key file; servers sharing one PostgreSQL database must all be given the same key.
const encryptionKeyEnv = "STRATA_ENCRYPTION_KEY"

// serverOptions are the flags of `strata server`.
type serverOptions struct {
	listen            string
	dataDir           string
	datastore         string
	encryptionKeyFile string
	logFormat         string
	controllers       bool
	leaseTTL          time.Duration
	// holder names this server in leases; empty: the identity kept in the data directory.
	holder string
	// checkKubernetes lets the controller read each cluster's own API.
	checkKubernetes bool
	// resync is how often a Running cluster is compared with Azure and its API read again.
	resync time.Duration
	// accessControl turns on authentication and authorization (--access-control).
	accessControl bool
	// tlsCert and tlsKey name the certificate and key to serve (--tls-cert, --tls-key); empty:
	// the self-signed certificate kept in the data directory.
	tlsCert, tlsKey string
	// insecureHTTP serves plain HTTP, on a loopback address only (--insecure-http).
	insecureHTTP bool
	// agent are the agent endpoint's flags.
	agent agentEndpointOptions
	// entra are the flags of sign-in with Entra ID.
	entra entraOptions
}

// newServerCommand returns `strata server`, which runs the API server until SIGINT or SIGTERM.
func newServerCommand() *cobra.Command {
	o := &serverOptions{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the strata API server",
		Long: `Run the strata API server, which keeps cloud accounts, private cloud gateways, cluster
profiles and clusters and serves them over HTTPS under /api/v1alpha1, with /healthz, /readyz and
Prometheus metrics at /metrics.

It serves the certificate of --tls-cert and --tls-key, or else a self-signed certificate kept
in <data-dir>/tls/server.crt (made on first start, made again when it nears expiry or does not
cover the --listen host): clients trust that file. --insecure-http serves plain HTTP instead,
on a loopback address only.

By default the objects are kept in a SQLite database in the data directory. Several servers can
share one PostgreSQL database instead (--datastore postgres://...); give them all the same
encryption key in ` + encryptionKeyEnv + `.

Client secrets are encrypted at rest with a key read from --encryption-key-file, which is
created with a new random key on first start, or from ` + encryptionKeyEnv + ` (base64 of 32
bytes), which wins over the file. Keep the key: without it the stored secrets cannot be read.

SIGINT or SIGTERM stops the server gracefully.`,
		Example: `  # SQLite in ~/.strata, listening on 127.0.0.1:7080
  strata server

  # PostgreSQL, JSON logs, all interfaces
  STRATA_ENCRYPTION_KEY=$(cat key.b64) strata server --listen :7080 \
    --datastore 'postgres://strata@db.example:5432/strata?sslmode=require' --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	defaultDataDir := ".strata"
	if home, err := os.UserHomeDir(); err == nil {
		defaultDataDir = filepath.Join(home, ".strata")
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:7080", "address to listen on (host:port)")
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir, "directory of the SQLite database and the encryption key (kept at mode 0700, its files 0600)")
	f.StringVar(&o.datastore, "datastore", "", "empty for SQLite in <data-dir>/strata.db, or a postgres:// URL")
	f.StringVar(&o.encryptionKeyFile, "encryption-key-file", "", "file of the base64 key that encrypts secrets at rest (default <data-dir>/encryption.key, created with mode 0600); env "+encryptionKeyEnv+" wins")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&o.controllers, "controllers", true, "run the cluster reconciler, which provisions and deletes clusters in Azure (--controllers=false serves the API only)")
	f.DurationVar(&o.leaseTTL, "lease-ttl", 0, "how long a server's claim on a cluster lasts unless renewed (default 30s); after a crash, another server takes the cluster over once it expires")
	_ = f.MarkHidden("lease-ttl")
	f.StringVar(&o.holder, "holder", "", "name of this server in the store's leases; it must be unique among live servers (default: an identity kept in <data-dir>/holder, so that a restarted server takes back its own claims at once)")
	f.BoolVar(&o.accessControl, "access-control", true, "require credentials (an API key) on every API request and authorize them with the stored roles, tag filters and role bindings (docs/access.md); on the first start, the user admin is made and its key printed once. =false opens the whole API, admin kubeconfigs excepted, to anyone who reaches it")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM file of the certificate (chain) to serve HTTPS with, with --tls-key (default: a self-signed certificate kept in <data-dir>/tls/server.crt)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM file of the key of --tls-cert")
	f.BoolVar(&o.insecureHTTP, "insecure-http", false, "serve plain HTTP instead of HTTPS; only on a loopback --listen address (127.0.0.1, ::1, localhost)")
	o.entra.addFlags(f)
	f.DurationVar(&o.resync, "resync", 0, "how often a Running cluster is compared with Azure again and its Kubernetes read (nodes NotReady for a pool's repairAfter are seen then; default 5m)")
	f.BoolVar(&o.checkKubernetes, "check-kubernetes", true, "read each cluster's own API once its control plane runs (its version and nodes: condition KubernetesReady); a cluster is Running only once its API answers and its nodes are Ready")
	f.StringVar(&o.agent.listen, "agent-listen", "", "address of the agent endpoint (gRPC over mutual TLS, host:port); when set, strata installs its agent in each cluster, which dials this endpoint, applies the profiles' network, storage and addon layers and reports them; a cluster is Running only once its agent is connected and its layers are ready")
	f.StringVar(&o.agent.advertise, "agent-advertise", "", "address agents dial (host:port; default the --agent-listen address, with the host name for an unspecified host)")
	f.StringVar(&o.agent.image, "agent-image", defaultAgentImage(), "image of the agent's Deployment")
	f.DurationVar(&o.agent.certValidity, "agent-cert-validity", 0, "validity of agents' client certificates (default 24h; renewed when a third is left)")
	_ = f.MarkHidden("agent-cert-validity")
	f.DurationVar(&o.agent.resync, "agent-resync", 0, "how often agents compare their cluster with its layers (default 1m)")
	f.DurationVar(&o.agent.gatewayHeartbeat, "gateway-heartbeat", 0, "how often gateways' heartbeats are sent and written; a gateway without a replica for three of them is Disconnected (default 15s)")
	f.StringVar(&o.agent.chartCache, "chart-cache", "", "directory the Helm charts of profile layers are downloaded to and kept in, for the agent endpoint to render them (default <data-dir>/charts)")
	return cmd
}

// runServer opens the store, listens and serves until ctx ends. It prints one line saying where
// it listens to out, and logs to errOut.
func runServer(ctx context.Context, o *serverOptions, out, errOut io.Writer) error {
	logger, err := newLogger(o.logFormat, errOut)
	if err != nil {
		return err
	}

	if o.dataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if err := prepareDataDir(o.dataDir, logger); err != nil {
		return err
	}
	sealer, err := loadSealer(o, logger)
	if err != nil {
		return err
	}
	entraVerifier, err := o.entra.verifier(ctx, o.accessControl)
	if err != nil {
		return err
	}

	ln, cert, err := listenTLS(o, logger)
	if err != nil {
		return err
	}
	defer ln.Close()

	st, desc, err := openStore(ctx, o, sealer)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close the store", "error", err)
		}
	}()

	if err := printBootstrapKey(ctx, o.accessControl, st, ln.Addr(), cert, out); err != nil {
		return err
	}
	changes := feed.New(st, feed.Config{Logger: logger.With("component", "feed")})
	registry := newRegistry()
	printListening(out, ln.Addr(), desc, cert)
	logger.Info("server started", "address", ln.Addr().String(), "tls", cert != nil, "store", desc)
	if !o.accessControl {
		logger.Warn("access control is off (--access-control=false): anyone who reaches the API may read and change every object and drive Azure with every stored credential")
	}
	id, err := holderIdentity(o.dataDir, o.holder, logger)
	if err != nil {
		return err
	}
	defer id.Close()
	ep, stopAgents, err := startAgentEndpoint(ctx, o.agent.withDefaults(o.dataDir), st, changes, registry, id.Name, logger)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{Store: st, Logger: logger, Feed: changes, Registry: registry,
		Gateways: ep.gatewaysOf(), AccessControl: o.accessControl, Entra: entraVerifier})
	stopControllers := startControllers(ctx, o.controllers, controller.Config{Store: st, Holder: id.Name, Logger: logger.With("component", "controller"),
		LeaseTTL: o.leaseTTL, CheckKubernetes: o.checkKubernetes, Agent: ep.agentInstaller(), Resync: o.resync})
	err = srv.Serve(ctx, ln)
	stopControllers()
	stopAgents()
	if err != nil {
		return err
	}
	logger.Info("server stopped")
	return nil
}

// loadServerCertificate checks the TLS flags and returns the certificate to serve
// (servertls.Load), or nil with --insecure-http. It logs a self-signed certificate made now.
func loadServerCertificate(o *serverOptions, logger *slog.Logger) (*servertls.Certificate, error) {
	opts := servertls.Options{CertFile: o.tlsCert, KeyFile: o.tlsKey, DataDir: o.dataDir, Hosts: []string{servertls.ListenHost(o.listen)}}
	if o.insecureHTTP {
		return nil, servertls.CheckInsecureHTTP(o.listen, opts)
	}
	cert, err := servertls.Load(opts)
	if err != nil {
		return nil, err
	}
	datadir.Warn(logger, cert.Narrowed...)
	switch {
	case cert.Regenerated != "":
		logger.Warn("made a new self-signed TLS certificate: clients that trusted the old one must trust the new one",
			"reason", cert.Regenerated, "file", cert.CertFile, "fingerprint", cert.Fingerprint)
	case cert.Generated:
		logger.Info("made a self-signed TLS certificate", "file", cert.CertFile, "fingerprint", cert.Fingerprint)
	}
	return cert, nil
}

// listenTLS listens on --listen and serves TLS there with the certificate the flags ask for
// (loadServerCertificate), or plain HTTP with --insecure-http (then the certificate is nil).
func listenTLS(o *serverOptions, logger *slog.Logger) (net.Listener, *servertls.Certificate, error) {
	ln, err := listen(o.listen)
	if err != nil {
		return nil, nil, err
	}
	cert, err := loadServerCertificate(o, logger)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	if cert == nil {
		return ln, nil, nil
	}
	return tls.NewListener(ln, servertls.ServerConfig(cert)), cert, nil
}

// listen listens on addr, saying what to do when the address is in use.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s: the address is already in use (is another strata server running? choose another address with --listen)", addr)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// printListening prints the line saying where the server listens, then, for a self-signed
// certificate, the line naming it and its fingerprint.
func printListening(out io.Writer, addr net.Addr, store string, cert *servertls.Certificate) {
	scheme := "https"
	if cert == nil {
		scheme = "http"
	}
	fmt.Fprintf(out, "strata server listening on %s://%s (store: %s)\n", scheme, addr, store)
	if cert != nil && cert.SelfSigned {
		fmt.Fprintf(out, "TLS certificate %s (self-signed), fingerprint %s\n", cert.CertFile, cert.Fingerprint)
	}
}

// newRegistry is a Prometheus registry with the Go and process collectors.
func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// holderIdentity takes this server's lease-holder identity (holder.Acquire) and says which
// it is: a second live process on one data directory gets a fresh identity, with a warning.
func holderIdentity(dataDir, explicit string, logger *slog.Logger) (*holder.Identity, error) {
	id, err := holder.Acquire(dataDir, explicit)
	if err != nil {
		return nil, fmt.Errorf("--holder: %w", err)
	}
	switch {
	case id.Busy:
		logger.Warn("another live strata process holds this data directory's holder identity: using a fresh one; the claims of a crashed server wait for their lease to expire",
			"holder", id.Name, "file", filepath.Join(dataDir, holder.File))
	default:
		logger.Info("holder identity", "holder", id.Name, "kept", id.Kept)
	}
	return id, nil
}

// startControllers runs the cluster reconciler until ctx ends when enabled; the returned
// function waits for it to stop.
func startControllers(ctx context.Context, enabled bool, cfg controller.Config) func() {
	if !enabled {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := controller.New(cfg).Run(ctx); err != nil {
			cfg.Logger.Error("controller stopped", "error", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// prepareDataDir makes the data directory private (0700) and narrows the files in it that hold
// the database or keys to 0600, warning about each mode it had to narrow. The SQLite database is
// created 0600 before SQLite opens it, so that its -wal and -shm files, which SQLite creates
// with the database's mode, are 0600 too.
func prepareDataDir(dir string, logger *slog.Logger) error {
	c, err := datadir.Prepare(dir)
	if err != nil {
		return err
	}
	if c != nil {
		datadir.Warn(logger, *c)
	}
	db := filepath.Join(dir, sqliteFile)
	changes, err := datadir.Restrict(db, db+"-wal", db+"-shm", db+"-journal", filepath.Join(dir, keyFile), filepath.Join(dir, holder.File))
	datadir.Warn(logger, changes...)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := datadir.CreatePrivate(db); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return nil
}

// Files of the data directory.
const (
	sqliteFile = "strata.db"
	keyFile    = "encryption.key"
)

// loadSealer builds the secret sealer from $STRATA_ENCRYPTION_KEY or the key file, narrowing
// the file's mode to 0600 (with a warning) when it lets others read it.
func loadSealer(o *serverOptions, logger *slog.Logger) (*secrets.Sealer, error) {
	var key []byte
	if env := os.Getenv(encryptionKeyEnv); env != "" {
		k, err := secrets.ParseKey(env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", encryptionKeyEnv, err)
		}
		key = k
	} else {
		path := o.encryptionKeyFile
		if path == "" {
			path = filepath.Join(o.dataDir, keyFile)
		}
		// A file that cannot be narrowed (a read-only mount) is refused below.
		changes, err := datadir.Restrict(path)
		datadir.Warn(logger, changes...)
		if err != nil {
			logger.Warn("encryption key file", "error", err)
		}
		k, err := secrets.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("encryption key file %s: %w", path, err)
		}
		key = k
	}
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return sealer, nil
}

// openStore opens the store --datastore names, and describes it without any password.
func openStore(ctx context.Context, o *serverOptions, sealer *secrets.Sealer) (store.Store, string, error) {
	if o.datastore == "" {
		path := filepath.Join(o.dataDir, sqliteFile)
		st, err := sqlite.Open(ctx, path, sealer)
		if err != nil {
			return nil, "", fmt.Errorf("open the SQLite store: %w", err)
		}
		return st, "sqlite " + path, nil
	}
	u, err := url.Parse(o.datastore)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		// The value is not echoed: it may hold a password.
		return nil, "", errors.New("invalid --datastore: leave it empty for SQLite, or give a postgres://user@host:port/database URL")
	}
	desc := "postgres " + describeURL(u)
	st, err := postgres.Open(ctx, o.datastore, sealer)
	if err != nil {
		return nil, "", fmt.Errorf("open the PostgreSQL store %s: %w", describeURL(u), redactError(err, u))
	}
	return st, desc, nil
}

// describeURL returns scheme://user@host/path of a database URL: no password, and no query,
// which may carry one too.
func describeURL(u *url.URL) string {
	d := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		d.User = url.User(u.User.Username())
	}
	return d.String()
}

// redactError hides the URL's passwords in an error from the database driver.
func redactError(err error, u *url.URL) error {
	var secretsInURL []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			secretsInURL = append(secretsInURL, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	if p := u.Query().Get("password"); p != "" {
		secretsInURL = append(secretsInURL, p, url.QueryEscape(p))
	}
	msg := err.Error()
	redacted := msg
	for _, s := range secretsInURL {
		redacted = strings.ReplaceAll(redacted, s, "xxxxx")
	}
	if redacted == msg {
		return err
	}
	return errors.New(redacted)
}

// printBootstrapKey makes the first administrator of a server with access control, and prints
// its key once.
func printBootstrapKey(ctx context.Context, on bool, st store.Store, addr net.Addr, cert *servertls.Certificate, out io.Writer) error {
	if !on {
		return nil
	}
	token, err := server.EnsureAdmin(ctx, st, time.Now())
	if err != nil || token == "" {
		return err
	}
	login := "strata login http://" + addr.String() + " --api-key"
	if cert != nil {
		login = "strata login https://" + addr.String() + " --api-key"
		if cert.SelfSigned {
			login += " --fingerprint " + cert.Fingerprint
		}
	}
	fmt.Fprintf(out, "access control is on: user admin was made; its API key, shown this once, valid %s:\n\n  %s\n\n"+
		"log the CLI in with the key on standard input (it keeps it in ~/.config/strata/config.yaml):\n\n  %s\n\n"+
		"and make lasting keys with `strata apikey create`\n", server.BootstrapKeyLifetime, token, login)
	return nil
}
