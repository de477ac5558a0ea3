// Package agent is strata's in-cluster agent: it registers with the strata server with its
// cluster's single-use token, holds one mutual-TLS gRPC stream to the server (through the
// HTTPS_PROXY of its environment, if any), applies the layers the server sends
// (internal/agent/layers), serves the proxy-injection webhook (internal/agent/proxyinject), and
// reports what it did. docs/agent.md describes the protocol.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/strata-dev/strata/internal/agent/layers"
	"github.com/strata-dev/strata/internal/agent/proxyinject"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// Names of the agent's objects in its namespace.
const (
	// ConfigSecret holds what the manifest gives the agent: the server's address (server),
	// the CA of its endpoint (ca.crt) and the registration token (token, removed once spent).
	ConfigSecret = "strata-agent"
	// IdentitySecret holds the agent's key and certificate (tls.key, tls.crt).
	IdentitySecret = "strata-agent-identity"
)

// Config configures an agent.
type Config struct {
	// Kube reaches the cluster's API server.
	Kube *rest.Config
	// Namespace is the agent's (default strata-system).
	Namespace string
	// Version is the agent's version, said in its Hello.
	Version string
	// PodIP is the agent pod's IP; WebhookPort the port of the proxy webhook (default 9443);
	// WebhookSelector selects the agent's pods for the webhook's Service.
	PodIP           string
	WebhookPort     int
	WebhookSelector map[string]string
	// WebhookURL, when set, is the webhook's address for the API server instead of a Service
	// (tests).
	WebhookURL string
	// Heartbeat is how often the agent sends a heartbeat (default 15 s).
	Heartbeat time.Duration
	// BackoffMin and BackoffMax bound the wait between connection attempts (default 1 s and
	// 1 min), with jitter.
	BackoffMin, BackoffMax time.Duration
	Logger                 *slog.Logger
}

// Agent is a running agent.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	client  kubernetes.Interface
	applier *layers.Applier
	inject  *proxyinject.Handler
	webhook *proxyinject.Manager
	id      *identity

	mu       sync.Mutex
	desired  *agentv1.DesiredState
	report   *agentv1.StatusReport
	kick     chan struct{}
	reported chan struct{}
}

// Run runs the agent until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	a, err := newAgent(cfg)
	if err != nil {
		return err
	}
	return a.run(ctx)
}

func newAgent(cfg Config) (*Agent, error) {
	if cfg.Kube == nil {
		return nil, errors.New("agent: no Kubernetes configuration")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = layers.DefaultNamespace
	}
	if cfg.WebhookPort == 0 {
		cfg.WebhookPort = 9443
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := kubernetes.NewForConfig(cfg.Kube)
	if err != nil {
		return nil, fmt.Errorf("agent: Kubernetes client: %w", err)
	}
	applier, err := layers.New(cfg.Kube, layers.Options{Namespace: cfg.Namespace, Logger: cfg.Logger.With("component", "layers")})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return &Agent{cfg: cfg, log: cfg.Logger, client: client, applier: applier,
		inject: proxyinject.NewHandler(cfg.Logger.With("component", "proxyinject")),
		kick:   make(chan struct{}, 1), reported: make(chan struct{}, 1)}, nil
}

// run starts the webhook, then keeps the stream and the apply loop until ctx ends.
func (a *Agent) run(ctx context.Context) error {
	if err := a.startWebhook(ctx); err != nil {
		return err
	}
	defer func() {
		if err := a.webhook.Close(context.WithoutCancel(ctx)); err != nil {
			a.log.Warn("stop the proxy webhook", "error", err)
		}
	}()
	id, err := loadIdentity(ctx, a.client, a.cfg.Namespace, a.log)
	if err != nil {
		return err
	}
	a.id = id
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.applyLoop(ctx) }()
	go func() { defer wg.Done(); a.renewLoop(ctx) }()
	a.connectLoop(ctx)
	wg.Wait()
	return nil
}

// startWebhook starts the proxy-injection webhook. A pod with a loopback IP (the emulator's
// node simulator runs the agent as a local process) is reached by URL: Endpoints refuse
// loopback addresses, so a Service could not route to it.
func (a *Agent) startWebhook(ctx context.Context) error {
	url := a.cfg.WebhookURL
	if ip := net.ParseIP(a.cfg.PodIP); url == "" && ip != nil && ip.IsLoopback() {
		url = fmt.Sprintf("https://%s/mutate-pods", net.JoinHostPort(a.cfg.PodIP, fmt.Sprint(a.cfg.WebhookPort)))
	}
	wh, err := proxyinject.NewManager(proxyinject.Config{Client: a.client, Handler: a.inject, Namespace: a.cfg.Namespace,
		ListenAddr: listenAddr(a.cfg.PodIP, a.cfg.WebhookPort), PodIP: a.cfg.PodIP, URL: url,
		ServiceSelector: a.cfg.WebhookSelector, Log: a.log.With("component", "webhook")})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if err := wh.Start(ctx); err != nil {
		return fmt.Errorf("agent: start the proxy webhook: %w", err)
	}
	a.webhook = wh
	return nil
}

func listenAddr(ip string, port int) string {
	if ip == "" {
		return fmt.Sprintf(":%d", port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}
