// Package server is strata's REST API over HTTP: the resources of api/v1alpha1 under
// /api/v1alpha1, kept in a store.Store, with health, readiness and Prometheus metrics endpoints.
//
// Every write goes through the same steps: strict decoding (400 on error), defaulting,
// validation with references resolved against the store (422 with every field error), then the
// store's optimistic concurrency (409 on a stale resourceVersion).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/console"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/store"
)

// APIPath is the base path of the REST API.
const APIPath = "/api/v1alpha1"

// ApplyResultHeader is the response header of a PUT that says what the server did: created,
// configured or unchanged.
const ApplyResultHeader = "Strata-Apply-Result"

// MaxBodyBytes bounds the size of a request body.
const MaxBodyBytes = 4 << 20

// ShutdownTimeout is how long Serve waits for requests in flight when its context ends.
const ShutdownTimeout = 15 * time.Second

// Config is what a Server needs.
type Config struct {
	// Store keeps the objects and their events. Required.
	Store store.Store
	// Feed streams the store's changes to watches (GET ?watch=true). Nil means a feed of
	// Store with the defaults of package feed. Serve runs it; whoever serves Handler without
	// Serve runs it with RunFeed.
	Feed *feed.Feed
	// Logger receives one line per request and the errors. Nil discards the logs.
	Logger *slog.Logger
	// Registry receives the server's metrics and is served at /metrics. Nil means a new
	// registry that also holds the Go runtime and process collectors. A registry can serve
	// one Server only: registering the metrics twice panics.
	Registry *prometheus.Registry
	// Gateways mints private cloud gateways' registration tokens (POST
	// /privatecloudgateways/{name}/token) and relays the Azure requests of accounts bound to
	// them; nil when the server has no agent endpoint.
	Gateways Gateways
	// AccessControl turns on authentication and authorization: every API request must carry
	// a valid API key, and what its user may do is decided by the stored roles, tag filters
	// and role bindings (docs/access.md). Off, the API is open to whoever reaches it.
	AccessControl bool
	// Entra, with AccessControl, also accepts the Entra ID tokens of people who sign in
	// (docs/access.md, "Sign-in with Entra ID"); nil accepts API keys only.
	Entra EntraVerifier
}

// Server serves the REST API. Create it with New.
type Server struct {
	store    store.Store
	feed     *feed.Feed
	log      *slog.Logger
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
	gateways Gateways
	// logins counts failed password sign-ins, for the lockout.
	logins loginLimiter
	// access is Config.AccessControl.
	access bool
	// entra is Config.Entra.
	entra EntraVerifier
}

// New builds a Server from cfg.
func New(cfg Config) *Server {
	if cfg.Store == nil {
		panic("server.New: Config.Store is nil")
	}
	s := &Server{store: cfg.Store, feed: cfg.Feed, log: cfg.Logger, registry: cfg.Registry, gateways: cfg.Gateways,
		access: cfg.AccessControl, entra: cfg.Entra}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.feed == nil {
		s.feed = feed.New(cfg.Store, feed.Config{Logger: s.log.With("component", "feed")})
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "strata_http_requests_total",
		Help: "HTTP requests served, by method, resource kind and status code.",
	}, []string{"method", "kind", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "strata_http_request_duration_seconds",
		Help:    "Time taken to serve HTTP requests, by method and resource kind.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "kind"})
	s.registry.MustRegister(s.requests, s.duration)
	s.handler = s.instrument(s.crossOriginProtected(s.routes()))
	return s
}

// Handler returns the HTTP handler of the whole server: the API, /healthz, /readyz and /metrics.
// Its watches need the change feed running (RunFeed).
func (s *Server) Handler() http.Handler { return s.handler }

// RunFeed runs the change feed of the watches until ctx ends; Serve does it. When it ends, the
// watches end.
func (s *Server) RunFeed(ctx context.Context) error { return s.feed.Run(ctx) }

// apiRoute is a pattern of the REST API, what it does for the audit trail (empty: the method
// in lower case), and its handler.
type apiRoute struct {
	pattern string
	verb    string
	handler handlerFunc
}

// apiRoutes are the REST API's patterns: each is served through s.api, which authenticates
// the request when access control is on and records it in the audit trail when it is audited.
func (s *Server) apiRoutes() []apiRoute {
	return []apiRoute{
		{"GET " + APIPath + "/{plural}", authz.VerbList, s.list},
		{"POST " + APIPath + "/{plural}", authz.VerbCreate, s.create},
		{APIPath + "/{plural}", "", methodNotAllowed("GET, POST")},
		{"GET " + APIPath + "/{plural}/{key}", authz.VerbGet, s.get},
		{"PUT " + APIPath + "/{plural}/{key}", authz.VerbUpdate, s.apply}, // or create: applyCreate says
		{"DELETE " + APIPath + "/{plural}/{key}", authz.VerbDelete, s.delete},
		{APIPath + "/{plural}/{key}", "", methodNotAllowed("GET, PUT, DELETE")},
		{"GET " + APIPath + "/{plural}/{key}/events", authz.VerbGet, s.events},
		{APIPath + "/{plural}/{key}/events", "", methodNotAllowed("GET")},
		{"GET " + APIPath + "/{plural}/{key}/lookups/{what}", authz.VerbUse, s.lookup},
		{APIPath + "/{plural}/{key}/lookups/{what}", "", methodNotAllowed("GET")},
		{"GET " + APIPath + "/{plural}/{key}/kubeconfig", authz.VerbKubeconfig, s.kubeconfig}, // or kubeconfig-admin
		{APIPath + "/{plural}/{key}/kubeconfig", "", methodNotAllowed("GET")},
		{"POST " + APIPath + "/{plural}/{key}/token", authz.VerbToken, s.gatewayToken},
		{APIPath + "/{plural}/{key}/token", "", methodNotAllowed("POST")},
		{"PUT " + APIPath + "/{plural}/{key}/password", authz.VerbUpdate, s.setPassword},
		{APIPath + "/{plural}/{key}/password", "", methodNotAllowed("PUT")},
	}
}

// otherRoute is a route outside apiRoutes' object paths: public ones answer without
// credentials, the others authenticate the request themselves.
type otherRoute struct {
	pattern string
	public  bool
	handler http.HandlerFunc
}

// otherRoutes are the routes besides apiRoutes. Only the health checks and the sign-in flow
// are public.
func (s *Server) otherRoutes() []otherRoute {
	ui := console.Handler().ServeHTTP
	return []otherRoute{
		{"GET /healthz", true, s.healthz},
		{"GET /readyz", true, s.readyz},
		{"GET " + AuthConfigPath, true, s.authConfig},       // it says how to get credentials
		{"POST " + LoginPath, true, s.login},                // it checks a password
		{"POST " + SessionPath, true, s.startSession},       // the console's sign-in: the same check
		{"DELETE " + SessionPath, true, s.endSession},       // it ends the session of its cookie
		{"GET " + EntraLoginPath, true, s.entraLogin},       // a redirect to Entra ID
		{"GET " + EntraCallbackPath, true, s.entraCallback}, // it checks a code from Entra ID
		{"GET /metrics", false, s.audited(authz.VerbGet, s.metrics(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		})).ServeHTTP)},
		{"GET " + CanIPath, false, s.canI},
		{"GET " + AuditPath, false, s.auditTrail},
		{"GET " + WhoAmIPath, false, s.whoAmI},
		{"GET /{$}", true, ui},                  // the web console's page
		{"GET " + console.AssetsPath, true, ui}, // and its files
	}
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.otherRoutes() {
		mux.HandleFunc(rt.pattern, rt.handler)
	}
	for _, rt := range s.apiRoutes() {
		mux.HandleFunc(rt.pattern, s.api(rt.verb, rt.handler))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &apiError{code: http.StatusNotFound, reason: ReasonNotFound,
			message: fmt.Sprintf("no such path %q: the API is under %s/{%s}", r.URL.Path, APIPath, pluralList())})
	})
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.store.Ping(ctx); err != nil {
		s.log.ErrorContext(ctx, "readiness check: the store does not answer", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("the store does not answer\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Serve serves HTTP on ln until ctx ends, then shuts down gracefully: it stops accepting
// connections and waits up to ShutdownTimeout for requests in flight. It returns nil after a
// clean shutdown. On a loopback listener, it answers only to loopback host names
// (loopbackHostsOnly).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	handler := s.handler
	if listensOnLoopback(ln) {
		handler = s.loopbackHostsOnly(handler)
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// Requests keep the values of ctx but are not cancelled with it: Shutdown lets them end.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	feedCtx, stopFeed := context.WithCancel(ctx)
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		_ = s.RunFeed(feedCtx)
	}()
	// The watches end with the feed, so that Shutdown does not wait for them.
	defer func() {
		stopFeed()
		<-feedDone
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve HTTP on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("shut down the HTTP server: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP on %s: %w", ln.Addr(), err)
	}
	return nil
}
