// Package emulator is strata's Azure emulator: Entra ID (client credentials), Azure Resource
// Manager with the resource types strata provisions, and a blob service, on one HTTPS
// listener with a generated CA. It runs as `strata emulator` or embedded in tests
// (internal/emulator/emulatortest).
package emulator

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/blob"
	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
	"github.com/strata-dev/strata/internal/emulator/tokens"
)

// ServicePrincipal is an application that can get tokens with a client secret.
type ServicePrincipal struct {
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
	Secret   string `json:"secret"`
}

// Options configure an Emulator.
type Options struct {
	// StateDir keeps the CA (ca.pem, ca-key.pem) and the cloud (state.json); empty keeps
	// everything in memory.
	StateDir string
	// Listen is the address Start listens on; default 127.0.0.1:0 (a free port).
	Listen string
	// Latency is the latency profile of long-running operations: zero (default), fast or
	// realistic; LatencyScale multiplies it (0 means 1).
	Latency      string
	LatencyScale float64
	// Seed makes faults, operation outcomes and generated values deterministic.
	Seed uint64
	// Throttling turns on Azure's request throttling; ThrottleScale multiplies its bucket
	// sizes and refill rates (0 means 1).
	Throttling    bool
	ThrottleScale float64
	// ThrottleTimeScale divides the throttling's refill rates, to compress time as
	// LatencyScale does (0 means 1).
	ThrottleTimeScale float64
	// ServicePrincipals may get tokens; they are added to those kept in the state. When there
	// are none at all, one is generated (and kept).
	ServicePrincipals []ServicePrincipal
	// Subscriptions are subscription IDs of the first principal's tenant, added to those kept
	// in the state; when there are none at all, one is generated (and kept).
	Subscriptions []string
	// Faults are injected from the start; more can be added at run time on /_emulator/faults.
	Faults []arm.FaultRule
	// Types and Routes are registered besides the built-in providers' (tests use them for
	// resource types of their own); they are registered before the saved state is reloaded.
	Types  []arm.ResourceType
	Routes []arm.Route
	// SaveDelay debounces saving the state after a change; default 200 ms.
	SaveDelay time.Duration
	// AdminToken is the bearer token the admin endpoints (/_emulator/, but healthz) require:
	// at least 16 printable ASCII characters without spaces. Empty: the one kept in the state
	// directory (admin-token, mode 0600), generated on first start; a given one is not kept.
	AdminToken string
	// Networks place callers in emulated virtual networks by their source address (see
	// NetworkBinding); they are added to those kept in the state (a binding replaces a kept
	// one of the same source) and can be changed at run time on /_emulator/networks.
	Networks []NetworkBinding
	// Kubernetes turns on real Kubernetes inside the emulated clusters.
	Kubernetes KubernetesOptions
	// Entra sets the lifetimes of the user sign-in flows of Entra ID.
	Entra EntraOptions
	// ResourceGraph configures Azure Resource Graph: its lag behind the live state (default
	// 3 s; negative: none) and its per-caller quota (default 15 queries per 5 s window).
	ResourceGraph resourcegraph.Options
	Logger        *slog.Logger
}

// EntraOptions set the lifetimes of the user sign-in flows of Entra ID; zero is the default.
type EntraOptions struct {
	// AuthCodeLifetime is how long an authorization code can be redeemed; default 10 minutes.
	AuthCodeLifetime time.Duration
	// DeviceCodeLifetime is how long a device code can be used (expires_in); default 15 minutes.
	DeviceCodeLifetime time.Duration
	// DeviceCodeInterval is how often a device code client may poll (interval), in whole
	// seconds, at least 1; default 5 s.
	DeviceCodeInterval time.Duration
	// RefreshTokenLifetime is how long a refresh token can be redeemed; default 24 hours.
	RefreshTokenLifetime time.Duration
}

// withDefaults returns the options with the defaults of the fields left zero.
func (o EntraOptions) withDefaults() EntraOptions {
	if o.AuthCodeLifetime <= 0 {
		o.AuthCodeLifetime = 10 * time.Minute
	}
	if o.DeviceCodeLifetime <= 0 {
		o.DeviceCodeLifetime = 15 * time.Minute
	}
	o.DeviceCodeInterval = o.DeviceCodeInterval.Round(time.Second)
	if o.DeviceCodeInterval <= 0 {
		o.DeviceCodeInterval = 5 * time.Second
	}
	if o.RefreshTokenLifetime <= 0 {
		o.RefreshTokenLifetime = 24 * time.Hour
	}
	return o
}

// Emulator is one emulated Azure cloud.
type Emulator struct {
	opts   Options
	log    *slog.Logger
	engine *arm.Engine
	ca     *authority
	mux    *http.ServeMux
	blobs  *blob.Service
	// signer signs the Entra ID tokens and verifies those ARM and blob are given.
	signer *tokens.Signer
	// adminToken is the bearer token of the admin endpoints.
	adminToken string
	// callers counts requests by caller (Callers).
	callers callerCounters

	netMu    sync.RWMutex
	networks []NetworkBinding // the caller networks by source address (SetNetworks)

	mu         sync.RWMutex
	principals []ServicePrincipal

	// dir holds Entra ID's users, groups and applications; signins the sign-in flows under way.
	dir     directory
	signins signins

	srvMu   sync.Mutex
	srv     *http.Server
	ln      net.Listener
	url     string
	served  chan struct{}
	closed  bool
	stopCtx context.CancelFunc

	// kube runs the clusters' control planes when Kubernetes is on; the loop that feeds it
	// is woken by kubeWake, stopped by kubeStop and done when kubeDone is closed.
	kube     *kube.Manager
	kubeWake chan struct{}
	kubeStop context.CancelFunc
	kubeDone chan struct{}
	kubeTemp string

	saveMu     sync.Mutex
	saveTimer  *time.Timer
	saveClosed bool // after Close: no more saves
}

// New builds an emulator: it loads (or creates) the CA, the token signing key, the admin
// token and the saved cloud from the state directory. Call Start or Serve to answer requests.
func New(opts Options) (*Emulator, error) {
	opts = opts.withDefaults()
	profile, err := arm.ParseLatency(opts.Latency)
	if err != nil {
		return nil, err
	}
	if opts.StateDir != "" {
		if err := prepareStateDir(opts.StateDir, opts.Logger); err != nil {
			return nil, err
		}
	}
	em := &Emulator{opts: opts, log: opts.Logger}
	if opts.kubernetesOn() {
		em.kubeWake = make(chan struct{}, 1)
	}
	if err := em.loadKeys(); err != nil {
		return nil, err
	}
	saved, err := em.readState()
	if err != nil {
		return nil, err
	}
	var subs []arm.Subscription
	em.principals, subs = initialCloud(saved, opts)
	em.dir.restore(saved.Entra)
	if em.networks, err = mergeNetworks(saved.Networks, opts.Networks...); err != nil {
		return nil, fmt.Errorf("networks: %w", err)
	}
	em.engine = arm.NewEngine(arm.EngineOptions{
		Logger:        opts.Logger.With("component", "arm"),
		Seed:          opts.Seed,
		Latency:       arm.NewLatencyModel(profile, opts.LatencyScale),
		Throttle:      arm.ThrottleOptions{Enabled: opts.Throttling, Scale: opts.ThrottleScale, TimeScale: opts.ThrottleTimeScale},
		Subscriptions: subs,
		Authenticate:  em.authenticate,
		OnChange:      em.changed,
	})
	if err := em.engine.SetFaults(opts.Faults); err != nil {
		return nil, fmt.Errorf("faults: %w", err)
	}
	if err := em.wireProviders(); err != nil {
		return nil, err
	}
	em.engine.Register(opts.Types...)
	em.engine.AddRoutes(opts.Routes...)
	if saved.ARM != nil {
		if err := em.engine.Restore(saved.ARM); err != nil {
			return nil, fmt.Errorf("reloading %s: %w", filepath.Join(opts.StateDir, stateFile), err)
		}
	}
	em.mux = em.routes()
	if err := em.Save(); err != nil {
		return nil, err
	}
	if opts.kubernetesOn() {
		if err := em.startKubernetes(); err != nil {
			return nil, err
		}
	}
	return em, nil
}

// changed follows each change of the cloud: the state is saved and the clusters' control
// planes follow.
func (em *Emulator) changed() {
	em.scheduleSave()
	em.wakeKubernetes()
}

// withDefaults returns the options with the defaults of the fields left empty.
func (opts Options) withDefaults() Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.SaveDelay <= 0 {
		opts.SaveDelay = 200 * time.Millisecond
	}
	opts.Entra = opts.Entra.withDefaults()
	return opts
}

// loadKeys loads (or creates) the CA, the token signing key and the admin token.
func (em *Emulator) loadKeys() error {
	var err error
	if em.ca, err = loadOrCreateCA(em.opts.StateDir); err != nil {
		return err
	}
	if em.signer, err = loadSigner(em.opts.StateDir); err != nil {
		return err
	}
	em.adminToken, err = loadAdminToken(em.opts.StateDir, em.opts.AdminToken)
	return err
}

// initialCloud returns the principals and subscriptions to start with: the saved ones and
// those opts gives (a given principal replaces a saved one of the same tenant and client; a
// given subscription is added to the first principal's tenant), or one new of each.
func initialCloud(saved *savedState, opts Options) ([]ServicePrincipal, []arm.Subscription) {
	principals := mergePrincipals(saved.Principals, opts.ServicePrincipals)
	if len(principals) == 0 {
		principals = []ServicePrincipal{{TenantID: uuid.NewString(), ClientID: uuid.NewString(), Secret: newSecret()}}
	}
	subs := saved.Subscriptions
	tenant := principals[0].TenantID
	for _, s := range opts.Subscriptions {
		if !slices.ContainsFunc(subs, func(o arm.Subscription) bool { return strings.EqualFold(o.ID, s) }) {
			subs = append(subs, arm.Subscription{ID: s, TenantID: tenant})
		}
	}
	if len(subs) == 0 {
		subs = []arm.Subscription{{ID: uuid.NewString(), TenantID: tenant}}
	}
	return principals, subs
}

func mergePrincipals(saved, given []ServicePrincipal) []ServicePrincipal {
	out := append([]ServicePrincipal(nil), saved...)
	for _, g := range given {
		replaced := false
		for i, o := range out {
			if strings.EqualFold(o.TenantID, g.TenantID) && strings.EqualFold(o.ClientID, g.ClientID) {
				out[i], replaced = g, true
			}
		}
		if !replaced {
			out = append(out, g)
		}
	}
	return out
}

func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "strata~" + hex.EncodeToString(b)
}

// Engine returns the ARM engine (for registering types in tests, admin and introspection).
func (em *Emulator) Engine() *arm.Engine { return em.engine }

// Principals returns the service principals; the first one is the default.
func (em *Emulator) Principals() []ServicePrincipal {
	em.mu.RLock()
	defer em.mu.RUnlock()
	return append([]ServicePrincipal(nil), em.principals...)
}

// AddPrincipal adds or replaces a service principal.
func (em *Emulator) AddPrincipal(sp ServicePrincipal) {
	em.mu.Lock()
	em.principals = mergePrincipals(em.principals, []ServicePrincipal{sp})
	em.mu.Unlock()
	em.scheduleSave()
}

func (em *Emulator) principal(tenant, clientID string) (ServicePrincipal, bool) {
	em.mu.RLock()
	defer em.mu.RUnlock()
	for _, p := range em.principals {
		if strings.EqualFold(p.TenantID, tenant) && strings.EqualFold(p.ClientID, clientID) {
			return p, true
		}
	}
	return ServicePrincipal{}, false
}

// Subscriptions returns the subscription IDs; the first one is the default.
func (em *Emulator) Subscriptions() []string {
	var out []string
	for _, s := range em.engine.Subscriptions() {
		out = append(out, s.ID)
	}
	return out
}

// TenantID returns the default tenant: the first principal's.
func (em *Emulator) TenantID() string { return em.Principals()[0].TenantID }

// AdminToken returns the bearer token of the admin endpoints (/_emulator/, but healthz).
func (em *Emulator) AdminToken() string { return em.adminToken }

// CACertPEM returns the CA certificate in PEM.
func (em *Emulator) CACertPEM() []byte { return append([]byte(nil), em.ca.certPEM...) }

// CAPool returns a pool that trusts the emulator's CA.
func (em *Emulator) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(em.ca.cert)
	return p
}

// CAPath returns the path of ca.pem in the state directory, or "" without one.
func (em *Emulator) CAPath() string {
	if em.opts.StateDir == "" {
		return ""
	}
	return filepath.Join(em.opts.StateDir, caCertFile)
}

// URL returns the base URL (https://host:port) once listening, or "".
func (em *Emulator) URL() string {
	em.srvMu.Lock()
	defer em.srvMu.Unlock()
	return em.url
}

// Handler returns the emulator's HTTP handler (admin, Entra ID, ARM and blob).
func (em *Emulator) Handler() http.Handler { return em.mux }

// Start listens on Options.Listen and serves in the background until ctx is done or Close is
// called.
func (em *Emulator) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", em.opts.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", em.opts.Listen, err)
	}
	ready := make(chan error, 1)
	go func() {
		if err := em.serve(ctx, ln, ready); err != nil {
			em.log.Error("emulator stopped", "err", err)
		}
	}()
	return <-ready
}

// Serve answers requests on ln until ctx is done or Close is called, then shuts down
// gracefully and saves the state.
func (em *Emulator) Serve(ctx context.Context, ln net.Listener) error {
	return em.serve(ctx, ln, nil)
}

func (em *Emulator) serve(ctx context.Context, ln net.Listener, ready chan<- error) error {
	fail := func(err error) error {
		ln.Close()
		if ready != nil {
			ready <- err
		}
		return err
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return fail(fmt.Errorf("listener address: %w", err))
	}
	lhost, _, _ := net.SplitHostPort(em.opts.Listen)
	cert, err := em.ca.serverCert(host, lhost)
	if err != nil {
		return fail(err)
	}
	urlHost := host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		urlHost = "127.0.0.1"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	em.srvMu.Lock()
	if em.closed || em.srv != nil {
		em.srvMu.Unlock()
		return fail(errors.New("the emulator is closed or already serving"))
	}
	em.srv = &http.Server{
		Handler:           em.mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(em.log.Handler(), slog.LevelDebug),
	}
	em.ln = ln
	em.url = "https://" + net.JoinHostPort(urlHost, port)
	em.served = make(chan struct{})
	em.stopCtx = cancel
	srv, served := em.srv, em.served
	em.srvMu.Unlock()
	em.engine.SetHost(net.JoinHostPort(urlHost, port))
	em.log.Info("emulator listening", "url", em.url)
	if ready != nil {
		ready <- nil
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		em.log.Warn("emulator shutdown", "err", err)
		_ = srv.Close()
	}
	if serveErr == nil {
		serveErr = <-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	saveErr := em.Save()
	close(served)
	return errors.Join(serveErr, saveErr)
}

// Close stops serving (gracefully), saves the state and stops the engine's timers.
func (em *Emulator) Close() error {
	em.srvMu.Lock()
	em.closed = true
	stop, served := em.stopCtx, em.served
	em.srvMu.Unlock()
	if stop != nil {
		stop()
		<-served
	}
	em.engine.Close()
	err := errors.Join(em.Save(), em.closeKubernetes())
	em.saveMu.Lock()
	if em.saveTimer != nil {
		em.saveTimer.Stop()
	}
	em.saveClosed = true
	em.saveMu.Unlock()
	return err
}

// routes builds the one mux: admin, Entra ID, ARM, then blob for everything else.
func (em *Emulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/_emulator/", em.adminHandler())
	mux.HandleFunc("/", em.dispatch)
	return mux
}

// dispatch routes the paths the mux cannot express: ARM is matched case-insensitively, and
// Entra ID's paths start with the tenant. It counts each request by its caller (Callers).
func (em *Emulator) dispatch(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if first := strings.ToLower(segs[0]); first == "subscriptions" || first == "providers" {
		scope := ""
		if first == "subscriptions" && len(segs) > 1 {
			scope = segs[1]
		}
		em.callers.add(r, CallerARM, scope)
		em.engine.ServeHTTP(w, r)
		return
	}
	if h := em.entraRoute(segs); h != nil {
		em.callers.add(r, CallerToken, segs[0])
		h(w, r)
		return
	}
	em.callers.add(r, CallerBlob, segs[0])
	em.blobs.ServeHTTP(w, r)
}

// entraRoute returns the Entra ID handler of a path, or nil when it is not Entra ID's.
func (em *Emulator) entraRoute(segs []string) http.HandlerFunc {
	tenant := segs[0]
	switch {
	case len(segs) == 4 && strings.EqualFold(segs[1], "v2.0") && segs[2] == ".well-known" && segs[3] == "openid-configuration":
		return func(w http.ResponseWriter, r *http.Request) { em.openIDConfiguration(w, r, tenant) }
	case len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0"):
		return em.oauth2Route(tenant, strings.ToLower(segs[3]))
	case len(segs) == 4 && strings.EqualFold(segs[1], "discovery") && strings.EqualFold(segs[3], "keys"):
		return em.jwks
	// Entra ID's v1 paths are as deep as blob paths: they are Entra's for a known tenant only.
	case len(segs) == 3 && segs[1] == ".well-known" && segs[2] == "openid-configuration" && em.knownTenant(tenant):
		return func(w http.ResponseWriter, r *http.Request) { em.openIDConfigurationV1(w, r, tenant) }
	case len(segs) == 3 && strings.EqualFold(segs[1], "discovery") && strings.EqualFold(segs[2], "keys") && em.knownTenant(tenant):
		return em.jwks
	case len(segs) == 3 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "deviceauth") && em.knownTenant(tenant):
		return func(w http.ResponseWriter, r *http.Request) { em.deviceAuth(w, r, tenant) }
	}
	return nil
}

// oauth2Route returns the handler of /{tenant}/oauth2/v2.0/{endpoint}, or nil.
func (em *Emulator) oauth2Route(tenant, endpoint string) http.HandlerFunc {
	h := map[string]func(http.ResponseWriter, *http.Request, string){
		"token": em.token, "authorize": em.authorize, "devicecode": em.deviceAuthorization,
	}[endpoint]
	if h == nil {
		return nil
	}
	return func(w http.ResponseWriter, r *http.Request) { h(w, r, tenant) }
}

// CloudAccountYAML returns a strata CloudAccount for the default service principal, with the
// Custom environment pointing at the emulator.
func (em *Emulator) CloudAccountYAML(name string) string {
	sp := em.Principals()[0]
	u := em.URL()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: strata.dev/v1alpha1\nkind: CloudAccount\nmetadata:\n  name: %s\nspec:\n  azure:\n", name)
	fmt.Fprintf(&b, "    tenantID: %s\n    clientID: %s\n    clientSecret: %q\n    environment: Custom\n", sp.TenantID, sp.ClientID, sp.Secret)
	fmt.Fprintf(&b, "    endpoints:\n      resourceManager: %s\n      activeDirectory: %s/\n      storageSuffix: localhost\n      caBundle: |\n", u, u)
	for _, l := range strings.Split(strings.TrimRight(string(em.ca.certPEM), "\n"), "\n") {
		fmt.Fprintf(&b, "        %s\n", l)
	}
	return b.String()
}
