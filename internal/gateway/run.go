package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/tunnel"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// Config configures a gateway process (a replica).
type Config struct {
	// Server is the server's agent endpoint, host:port. Required.
	Server string
	// CAPEM is the CA the endpoint is trusted with (from `strata gateway token`); once
	// registered, the one kept in DataDir is used.
	CAPEM []byte
	// Token is the single-use registration token, needed only without an identity in DataDir.
	Token string
	// DataDir keeps the identity (0700). Required.
	DataDir string
	// Replica names this process; default host name and pid.
	Replica string
	// Version is strata's version, told to the server.
	Version string
	// Heartbeat is how often a heartbeat is sent (default 15 s).
	Heartbeat time.Duration
	// ProxyCA is the PEM CA of a TLS-inspecting proxy on the way to the server.
	ProxyCA []byte
	// FallbackAfter is how many failed gRPC attempts make the connection to the server fall
	// back to a WebSocket (default tunnel.DefaultFallbackAfter).
	FallbackAfter int
	// ServerProxy, when set, is the proxy to the server, whatever the host (loopback
	// included); otherwise HTTPS_PROXY and NO_PROXY choose.
	ServerProxy *url.URL
	// SourceAddress, when set, is the local address the gateway's Azure requests leave from.
	SourceAddress net.IP
	// Controller is the configuration of the controller the gateway runs; Store, Gateway,
	// Holder and the Azure options' UserAgent and Proxy are set by Run.
	Controller controller.Config
	// AgentImage is the image of the agents the gateway's clusters get.
	AgentImage string
	Logger     *slog.Logger
}

// Run registers when needed, then holds the stream and runs the controller until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return err
	}
	log := cfg.Logger
	sess, err := newSession(cfg)
	if err != nil {
		return err
	}
	defer sess.close()
	id, err := ensureIdentity(ctx, cfg, sess)
	if err != nil {
		return err
	}
	cc, err := sess.client()
	if err != nil {
		return err
	}
	defer cc.Close()
	log = log.With("gateway", id.name, "replica", cfg.Replica)
	log.Info("gateway starting", "server", cfg.Server)
	remote := NewRemoteStore(cc)
	ccfg, err := controllerConfig(ctx, cfg, id.name, remote)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{}, 2)
	calls := newCallRunner(id.name, remote, ccfg.AzureOptions, log.With("component", "calls"))
	go func() { connectLoop(ctx, cfg, cc, calls, log); done <- struct{}{} }()
	go func() { renewLoop(ctx, id, gatewayv1.NewGatewayServiceClient(cc), log); done <- struct{}{} }()
	err = controller.New(ccfg).Run(ctx)
	cancel()
	<-done
	<-done
	return err
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.Server == "" || cfg.DataDir == "" {
		return cfg, errors.New("gateway: the server's address and a data directory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Replica == "" {
		host, _ := os.Hostname()
		cfg.Replica = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return cfg, fmt.Errorf("gateway: data directory: %w", err)
	}
	if ca, err := os.ReadFile(filepath.Join(cfg.DataDir, caFile)); err == nil {
		cfg.CAPEM = ca
	}
	if len(cfg.CAPEM) == 0 {
		return cfg, errors.New("gateway: the server's CA is required (--ca-file, from `strata gateway token`)")
	}
	return cfg, nil
}

// ensureIdentity loads the identity of the data directory, or registers with the token.
func ensureIdentity(ctx context.Context, cfg Config, sess *session) (*identity, error) {
	id, ok, err := loadIdentity(cfg.DataDir)
	if ok {
		sess.use(id)
	}
	if err != nil || ok {
		return id, err
	}
	if cfg.Token == "" {
		return nil, errors.New("gateway: no identity in the data directory and no registration token (--token)")
	}
	cc, err := sess.client()
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	b := backoff{min: time.Second, max: 30 * time.Second}
	for {
		id, err := register(ctx, gatewayv1.NewGatewayRegistrationServiceClient(cc), cfg.DataDir, cfg.Token)
		if err == nil {
			cfg.Logger.Info("gateway registered", "gateway", id.name)
			sess.use(id)
			return id, nil
		}
		if code := status.Code(err); code == codes.Unauthenticated || code == codes.InvalidArgument {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		wait := b.next()
		cfg.Logger.Warn("registration failed; retrying", "error", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// session is the gateway's way to the server: one dialer, whose fallback state every
// connection shares (registration included), and the identity once there is one.
type session struct {
	d  *tunnel.Dialer
	mu sync.Mutex
	id *identity
}

// newSession makes the dialer: mutual TLS (the identity's certificate, once registered),
// directly or through the proxy with CONNECT, falling back to a WebSocket when a proxy breaks
// HTTP/2.
func newSession(cfg Config) (*session, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cfg.CAPEM) {
		return nil, errors.New("gateway: the server's CA holds no PEM certificate")
	}
	s := &session{}
	tc := tunnel.Config{Server: cfg.Server, RootCAs: roots, ProxyCA: cfg.ProxyCA, Logger: cfg.Logger, FallbackAfter: cfg.FallbackAfter,
		UserAgent: "strata-gateway/" + cfg.Version, GetClientCertificate: s.clientCertificate}
	if p := cfg.ServerProxy; p != nil {
		tc.Proxy = func(*url.URL) (*url.URL, error) { return p, nil }
	}
	d, err := tunnel.NewDialer(tc)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	s.d = d
	return s, nil
}

// use makes id the session's identity.
func (s *session) use(id *identity) {
	s.mu.Lock()
	s.id = id
	s.mu.Unlock()
}

// clientCertificate is the identity's certificate, or none before registration.
func (s *session) clientCertificate(info *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	id := s.id
	s.mu.Unlock()
	if id == nil {
		return &tls.Certificate{}, nil
	}
	return id.clientCertificate(info)
}

// client is a new connection to the server.
func (s *session) client() (*grpc.ClientConn, error) {
	cc, err := s.d.NewClient(true)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return cc, nil
}

// close releases the dialer.
func (s *session) close() { s.d.Close() }

// controllerConfig is the controller's configuration: the remote store, this gateway's
// accounts only, Azure through the gateway's proxy with a User-Agent naming it, and agents
// installed with tokens minted through the server.
func controllerConfig(ctx context.Context, cfg Config, name string, remote *RemoteStore) (controller.Config, error) {
	c := cfg.Controller
	c.Store, c.Gateway, c.Holder, c.Logger = remote, name, cfg.Replica, cfg.Logger.With("component", "controller")
	c.AzureOptions.UserAgent, c.AzureOptions.SourceAddress = "strata-gateway/"+name, cfg.SourceAddress
	proxy, err := ownProxy(ctx, remote, name)
	if err != nil {
		return c, err
	}
	if proxy != nil {
		c.AzureOptions.Proxy, c.AzureOptions.ProxyCA = proxy.fn, proxy.ca
	}
	if c.CheckKubernetes {
		c.Agent = &agentserver.Installer{Store: remote, CA: cfg.CAPEM, Server: cfg.Server, Image: cfg.AgentImage}
	}
	return c, nil
}

// proxyChoice is the proxy of the gateway's spec, as the Azure clients use it.
type proxyChoice struct {
	fn func(*http.Request) (*url.URL, error)
	ca string
}

// ownProxy reads the gateway's own spec.proxy (passwords included), retrying until the server
// answers; nil when it sets none.
func ownProxy(ctx context.Context, remote *RemoteStore, name string) (*proxyChoice, error) {
	b := backoff{min: time.Second, max: 30 * time.Second}
	for {
		obj, err := remote.Get(ctx, v1alpha1.KindPrivateCloudGateway, name)
		if err == nil {
			gw, _ := obj.(*v1alpha1.PrivateCloudGateway)
			if gw == nil || gw.Spec.Proxy == nil {
				return nil, nil
			}
			return proxyOf(gw.Spec.Proxy)
		}
		if status.Code(err) == codes.Unauthenticated || ctx.Err() != nil {
			return nil, fmt.Errorf("gateway: read private cloud gateway %q: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(b.next()):
		}
	}
}

// connectLoop holds the replica's stream, reconnecting with backoff, until ctx ends.
func connectLoop(ctx context.Context, cfg Config, cc *grpc.ClientConn, calls *callRunner, log *slog.Logger) {
	b := backoff{min: time.Second, max: 30 * time.Second}
	for ctx.Err() == nil {
		start := time.Now()
		err := stream(ctx, cfg, gatewayv1.NewGatewayServiceClient(cc), calls, log)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 30*time.Second {
			b.cur = 0
		}
		wait := b.next()
		log.Warn("stream to the server ended; reconnecting", "error", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// stream says Hello, then sends heartbeats and the results of the calls the server relays,
// until the stream breaks.
func stream(ctx context.Context, cfg Config, c gatewayv1.GatewayServiceClient, calls *callRunner, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Connect(ctx)
	if err != nil {
		return err
	}
	hello := &gatewayv1.Hello{Version: cfg.Version, Replica: cfg.Replica}
	if err := st.Send(&gatewayv1.ConnectRequest{Message: &gatewayv1.ConnectRequest_Hello{Hello: hello}}); err != nil {
		return err
	}
	log.Info("connected to the server")
	recvErr := make(chan error, 1)
	results := make(chan *gatewayv1.AzureResult)
	go func() { recvErr <- receive(ctx, st, calls, results) }()
	beat := time.NewTicker(cfg.Heartbeat)
	defer beat.Stop()
	for {
		var msg *gatewayv1.ConnectRequest
		select {
		case err := <-recvErr:
			return err
		case r := <-results:
			msg = &gatewayv1.ConnectRequest{Message: &gatewayv1.ConnectRequest_AzureResult{AzureResult: r}}
		case <-beat.C:
			msg = &gatewayv1.ConnectRequest{Message: &gatewayv1.ConnectRequest_Heartbeat{
				Heartbeat: &gatewayv1.Heartbeat{Time: timestamppb.Now()}}}
		}
		if err := st.Send(msg); err != nil {
			return err
		}
	}
}

// receive reads the server's messages until the stream breaks, running each relayed call in
// a goroutine of its own whose result goes to results.
func receive(ctx context.Context, st gatewayv1.GatewayService_ConnectClient, calls *callRunner, results chan<- *gatewayv1.AzureResult) error {
	for {
		msg, err := st.Recv()
		if err != nil {
			return err
		}
		call := msg.GetAzureCall()
		if call == nil {
			continue
		}
		go func() {
			r := calls.run(ctx, call)
			select {
			case results <- r:
			case <-ctx.Done():
			}
		}()
	}
}

// renewLoop renews the certificate when a third of its validity is left.
func renewLoop(ctx context.Context, id *identity, c gatewayv1.GatewayServiceClient, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(time.Until(id.renewAt()), 0)):
		}
		if err := id.renew(ctx, c); err != nil && ctx.Err() == nil {
			log.Warn("renew the certificate", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// backoff is an exponential backoff with jitter.
type backoff struct{ min, max, cur time.Duration }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur/2 + rand.N(b.cur/2+1)
}
