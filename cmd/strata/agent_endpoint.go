package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/azurecall"
	"github.com/strata-dev/strata/internal/charts"
	"github.com/strata-dev/strata/internal/cli"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/gatewayserver"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/tunnel"
)

// agentEndpointOptions are the agent flags of `strata server`.
type agentEndpointOptions struct {
	listen, advertise, image string
	certValidity, resync     time.Duration
	gatewayHeartbeat         time.Duration
	// chartCache is the directory the charts of layers are cached in; empty means
	// <data-dir>/charts (see withDefaults).
	chartCache string
}

// chartCacheDir is the default chart cache of a data directory.
func chartCacheDir(dataDir string) string { return filepath.Join(dataDir, "charts") }

// withDefaults returns o with the defaults that depend on the data directory filled in.
func (o agentEndpointOptions) withDefaults(dataDir string) agentEndpointOptions {
	if o.chartCache == "" {
		o.chartCache = chartCacheDir(dataDir)
	}
	return o
}

// agentEndpoint is the server's agent listener and hub, when --agent-listen is set.
type agentEndpoint struct {
	hub       *agentserver.Hub
	installer *agentserver.Installer
	gateways  *gatewayserver.Server
	ln        net.Listener
	advertise string
}

// startAgentEndpoint opens the agent listener and starts the hub and its gRPC server until ctx
// ends; the returned function waits for them. Without --agent-listen it returns nil.
func startAgentEndpoint(ctx context.Context, o agentEndpointOptions, st store.Store, f *feed.Feed, reg prometheus.Registerer, holderName string, logger *slog.Logger) (*agentEndpoint, func(), error) {
	if o.listen == "" {
		return nil, func() {}, nil
	}
	if o.chartCache == "" {
		return nil, nil, errors.New("the agent endpoint needs a chart cache directory")
	}
	// Linking Helm's rendering here costs the binary about 5 MB; the hub renders layers'
	// charts, as the agent applies manifests only.
	renderer, err := charts.New(charts.Options{CacheDir: o.chartCache, Logger: logger.With("component", "charts")})
	if err != nil {
		return nil, nil, err
	}
	auth, err := agentserver.LoadAuthority(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, nil, fmt.Errorf("--agent-listen %s: %w", o.listen, err)
	}
	advertise := agentAdvertise(o.advertise, ln.Addr().String())
	hub := agentserver.NewHub(agentserver.Config{Store: st, Authority: auth, Feed: f, Holder: holderName,
		Logger: logger.With("component", "agent-hub"), CertValidity: o.certValidity, Resync: o.resync, Registerer: reg,
		Charts: charts.ForLayers{Renderer: renderer}})
	host, _, _ := net.SplitHostPort(advertise)
	// One port serves gRPC (ALPN h2) and the WebSocket transport of agents behind proxies that
	// speak only HTTP/1.1 or intercept TLS (ALPN http/1.1, /v1/tunnel).
	mux := tunnel.NewServer(tunnel.ServerConfig{Logger: logger.With("component", "agent-endpoint")})
	gs, err := hub.NewGRPCServer(agentserver.ServerOptions{Names: []string{host, "localhost", "127.0.0.1"}, Tunnel: mux})
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	gws := gatewayserver.New(gatewayserver.Config{Store: st, Authority: auth, CertValidity: o.certValidity, Heartbeat: o.gatewayHeartbeat,
		Logger: logger.With("component", "gateway-hub")})
	gws.RegisterServices(gs)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 4)
	go func() { _ = gws.Run(ctx); done <- struct{}{} }()
	go func() { _ = mux.Serve(gs, ln); done <- struct{}{} }() // gs's Stop closes ln and the WebSocket's server
	go func() { _ = hub.Run(ctx); done <- struct{}{} }()
	go func() { <-ctx.Done(); stopGRPC(gs); done <- struct{}{} }() // returns once every handler has
	logger.Info("agent endpoint listening", "address", ln.Addr().String(), "advertised", advertise)
	ep := &agentEndpoint{hub: hub, ln: ln, gateways: gws, advertise: advertise,
		installer: &agentserver.Installer{Store: st, Authority: auth, Server: advertise, Image: o.image}}
	return ep, func() { cancel(); <-done; <-done; <-done; <-done }, nil
}

// stopGRPC stops the gRPC server, gracefully for up to 5 s (agents' streams are long-lived).
func stopGRPC(gs interface {
	GracefulStop()
	Stop()
}) {
	t := time.AfterFunc(5*time.Second, gs.Stop)
	gs.GracefulStop()
	t.Stop()
}

// agentAdvertise is the address agents dial: --agent-advertise, else the listener's address
// with an unspecified host replaced by the host name.
func agentAdvertise(flag, listened string) string {
	if flag != "" {
		return flag
	}
	host, port, err := net.SplitHostPort(listened)
	if err != nil {
		return listened
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

// gatewaysOf are the endpoint's gateways for the REST API (registration tokens, relayed
// Azure calls), or nil without an endpoint.
func (ep *agentEndpoint) gatewaysOf() server.Gateways {
	if ep == nil {
		return nil
	}
	return endpointGateways{ep}
}

// endpointGateways are the endpoint's gateway tokens, address and relay.
type endpointGateways struct{ ep *agentEndpoint }

func (g endpointGateways) MintToken(ctx context.Context, name string, ttl time.Duration) (string, []byte, error) {
	return g.ep.gateways.MintToken(ctx, name, ttl)
}

func (g endpointGateways) Endpoint() string { return g.ep.advertise }

func (g endpointGateways) Call(ctx context.Context, gateway string, c azurecall.Call) ([]byte, error) {
	return g.ep.gateways.Call(ctx, gateway, c)
}

// agentInstaller is the controller's AgentInstaller of the endpoint, or nil without one.
func (ep *agentEndpoint) agentInstaller() controller.AgentInstaller {
	if ep == nil {
		return nil
	}
	return ep.installer
}

// defaultAgentImage is the agent's image of this build.
func defaultAgentImage() string {
	v := cli.Version
	if v == "dev" {
		v = "latest"
	}
	return agentmanifest.DefaultImage + ":" + v
}

// agentRunner runs the agent's pods in the emulator's clusters as `strata agent` processes of
// this executable (the emulator's node simulator plays the kubelet for them).
func agentRunner(logger *slog.Logger) nodesim.Runner {
	exe, err := os.Executable()
	if err != nil {
		logger.Warn("the agent's pods cannot run in the emulator: this executable's path is unknown", "error", err)
		return nil
	}
	return &nodesim.ProcessRunner{Images: map[string]string{agentmanifest.DefaultImage: exe}, Logger: logger.With("component", "agent-pods")}
}
