package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/cli"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/doctor"
	"github.com/strata-dev/strata/internal/gateway"
)

// gatewayOptions are the flags of `strata gateway`.
type gatewayOptions struct {
	endpoint, caFile, proxyCAFile, tokenFile, sourceAddress, dataDir, replica, agentImage, logFormat string
	checkKubernetes                                                                                  bool
	leaseTTL                                                                                         time.Duration
}

// wireGatewayCommand gives the CLI's `strata gateway` its run: the gateway process.
func wireGatewayCommand(root *cobra.Command) {
	cmd, _, err := root.Find([]string{cli.GatewayCommandName})
	if err != nil || cmd == root {
		return
	}
	o := &gatewayOptions{}
	cmd.Long = `Run a replica of a private cloud gateway inside the network of the cloud accounts bound
to it (their spec.gateway). It registers with the server's agent endpoint with a single-use
token from 'strata gateway token NAME' (a client certificate kept in --data-dir), holds a
mutual-TLS gRPC stream to the server, outbound only (through HTTPS_PROXY when set), and runs
strata's controller for those accounts' clusters: the server's store is reached over the
stream, Azure through the gateway's spec.proxy. Several replicas of one gateway share the work
with leases. See docs/gateway.md.`
	cmd.Example = `  strata gateway token corp-gateway --ca-file ca.crt > token
  strata gateway --endpoint strata.example.com:7443 --ca-file ca.crt --token-file token --data-dir /var/lib/strata-gateway`
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return runGateway(cmd, o) }
	cmd.AddCommand(newDoctorCommand("gateway", "endpoint", doctor.Wording{Client: "the gateway", Server: "the strata server",
		ProxyCAHint: "--proxy-ca-file, here and for `strata gateway`"},
		"the server's agent endpoint, host:port (as given to strata gateway --endpoint)",
		"PEM file of the endpoint's CA (from strata gateway token --ca-file, or ca.crt in the gateway's data directory)"))
	f := cmd.Flags()
	f.StringVar(&o.endpoint, "endpoint", "", "the server's agent endpoint, host:port (required)")
	f.StringVar(&o.sourceAddress, "source-address", "", "local IP address the gateway's Azure requests leave from (a host with several)")
	f.StringVar(&o.proxyCAFile, "proxy-ca-file", "", "PEM CA of a TLS-intercepting proxy on the way to the server (HTTPS_PROXY)")
	f.StringVar(&o.caFile, "ca-file", "", "PEM CA of the endpoint, from 'strata gateway token --ca-file' (needed until registered)")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the registration token (or env STRATA_GATEWAY_TOKEN); needed until registered")
	f.StringVar(&o.dataDir, "data-dir", defaultGatewayDir(), "where the gateway keeps its identity (0700)")
	f.StringVar(&o.replica, "replica", "", "name of this replica (default host name and pid)")
	f.StringVar(&o.agentImage, "agent-image", defaultAgentImage(), "image of the agent installed in the gateway's clusters")
	f.BoolVar(&o.checkKubernetes, "check-kubernetes", true, "read each cluster's API and install its agent")
	f.DurationVar(&o.leaseTTL, "lease-ttl", 0, "how long a replica's claim on a cluster lasts unless renewed (default 30s): another replica takes over after it")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
}

func defaultGatewayDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".strata-gateway")
	}
	return ".strata-gateway"
}

func runGateway(cmd *cobra.Command, o *gatewayOptions) error {
	if o.endpoint == "" {
		return errors.New("--endpoint is required: the server's agent endpoint, host:port")
	}
	logger, err := newLogger(o.logFormat, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	cfg := gateway.Config{Server: o.endpoint, DataDir: o.dataDir, Replica: o.replica, Version: cli.Version,
		AgentImage: o.agentImage, Logger: logger, Controller: controller.Config{CheckKubernetes: o.checkKubernetes, LeaseTTL: o.leaseTTL}}
	if o.caFile != "" {
		if cfg.CAPEM, err = os.ReadFile(o.caFile); err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
	}
	if o.sourceAddress != "" {
		if cfg.SourceAddress = net.ParseIP(o.sourceAddress); cfg.SourceAddress == nil {
			return fmt.Errorf("--source-address %q: not an IP address", o.sourceAddress)
		}
	}
	if o.proxyCAFile != "" {
		if cfg.ProxyCA, err = os.ReadFile(o.proxyCAFile); err != nil {
			return fmt.Errorf("--proxy-ca-file: %w", err)
		}
	}
	cfg.Token = os.Getenv("STRATA_GATEWAY_TOKEN")
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		cfg.Token = strings.TrimSpace(string(b))
	}
	return gateway.Run(cmd.Context(), cfg)
}
