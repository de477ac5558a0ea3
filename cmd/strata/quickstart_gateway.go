package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/strata-dev/strata/internal/cli"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/gateway"
)

// gatewaysDir is where quickstart's gateway replicas keep their identities, one directory
// each, in the data directory.
const gatewaysDir = "gateways"

// startQuickstartGateways runs a replica of each gateway in this process, registered with the
// agent endpoint (a token minted on the first run only), and returns what stops them.
func startQuickstartGateways(ctx context.Context, ep *agentEndpoint, dataDir string, names []string, kubernetes bool, out io.Writer, logger *slog.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, len(names))
	for _, name := range names {
		cfg, err := quickstartGatewayConfig(ctx, ep, dataDir, name, kubernetes, logger)
		if err != nil {
			logger.Error("gateway not started", "gateway", name, "error", err)
			done <- struct{}{}
			continue
		}
		fmt.Fprintf(out, "gateway %-10s running in this process, dialing the server's endpoint %s directly\n", name, ep.advertise)
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
	}
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
