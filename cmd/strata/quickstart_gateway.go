package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"time"

	"github.com/strata-dev/strata/internal/cli"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/gateway"
	"github.com/strata-dev/strata/internal/squid"
)

// gatewaysDir is where quickstart's gateway replicas keep their identities, one directory
// each, in the data directory.
const gatewaysDir = "gateways"

// startQuickstartGateways runs a replica of each gateway in this process, registered with the
// agent endpoint (a token minted on the first run only), and returns what stops them.
func startQuickstartGateways(ctx context.Context, ep *agentEndpoint, dataDir string, names []string, kubernetes bool, out io.Writer, logger *slog.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	proxy, stopSquid, via := quickstartSquid(ctx, logger)
	done := make(chan struct{}, len(names))
	for _, name := range names {
		cfg, err := quickstartGatewayConfig(ctx, ep, dataDir, name, kubernetes, logger)
		if err != nil {
			logger.Error("gateway not started", "gateway", name, "error", err)
			done <- struct{}{}
			continue
		}
		cfg.ServerProxy = proxy
		fmt.Fprintf(out, "gateway %s  running in this process, dialing the server's endpoint %s %s\n", name, ep.advertise, via)
		go func() {
			defer func() { done <- struct{}{} }()
			if err := gateway.Run(ctx, cfg); err != nil && ctx.Err() == nil {
				logger.Error("gateway stopped", "gateway", name, "error", err)
			}
		}()
	}
	return func() {
		cancel()
		for range names {
			<-done
		}
		stopSquid()
	}
}

// quickstartSquid starts a local squid when the package is installed, for the gateways to
// reach the server through as they would through a corporate proxy; it returns the proxy (nil
// without squid), what stops it, and words saying which.
func quickstartSquid(ctx context.Context, logger *slog.Logger) (*url.URL, func(), string) {
	bin := squid.Binary()
	if bin == "" {
		return nil, func() {}, "directly (install squid, e.g. make squid, to go through a proxy)"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		logger.Warn("squid not started", "error", err)
		return nil, func() {}, "directly (squid could not start)"
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	raw, stop, err := squid.Run(ctx, bin, port)
	if err != nil {
		logger.Warn("squid not started", "error", err)
		return nil, func() {}, "directly (squid could not start)"
	}
	u, _ := url.Parse(raw)
	return u, stop, "through a local squid at " + raw + " (HTTP CONNECT)"
}

// quickstartGatewayConfig is the configuration of a gateway's replica: its identity in the
// data directory, a new token when it has none.
func quickstartGatewayConfig(ctx context.Context, ep *agentEndpoint, dataDir, name string, kubernetes bool, logger *slog.Logger) (gateway.Config, error) {
	dir := filepath.Join(dataDir, gatewaysDir, name)
	cfg := gateway.Config{Server: ep.advertise, DataDir: dir, Replica: "quickstart", Version: cli.Version,
		AgentImage: defaultAgentImage(), Logger: logger.With("component", "gateway", "gateway", name),
		Controller: controller.Config{CheckKubernetes: kubernetes, PollInterval: 250 * time.Millisecond}}
	if gateway.Registered(dir) {
		return cfg, nil
	}
	token, ca, err := ep.gateways.MintToken(ctx, name, time.Hour)
	cfg.Token, cfg.CAPEM = token, ca
	return cfg, err
}
