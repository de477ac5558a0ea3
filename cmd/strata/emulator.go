package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
)

// adminTokenEnv names the environment variable that sets the emulator's admin token (instead of
// the one kept in the state directory).
const adminTokenEnv = "STRATA_EMULATOR_ADMIN_TOKEN"

// emulatorOptions are the flags of `strata emulator`.
type emulatorOptions struct {
	listen        string
	stateDir      string
	latency       string
	latencyScale  float64
	seed          uint64
	throttling    bool
	throttleScale float64
	faults        []string
	tenant        string
	clientID      string
	clientSecret  string
	subscriptions []string
	accountName   string
	logFormat     string
	kubernetes    bool
	kubernetesBin string
	// graphLag and graphQuota configure Resource Graph.
	graphLag   time.Duration
	graphQuota int
	// kubernetesNote says whether Kubernetes runs, once options() decided.
	kubernetesNote string
}

// newEmulatorCommand returns `strata emulator`, which runs the Azure emulator until SIGINT or
// SIGTERM.
func newEmulatorCommand() *cobra.Command {
	o := &emulatorOptions{}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run a local Azure emulator (Entra ID, Resource Manager, blob storage)",
		Long: `Run a local Azure emulator on one HTTPS listener: Entra ID's token endpoint for service
principals (client credentials), Azure Resource Manager with resource groups, networks, VMs,
disks, images, storage accounts and AKS clusters, and a blob service. The official Azure SDKs
and strata talk to it unmodified, with environment Custom.

On first start it generates a certificate authority (ca.pem, ca-key.pem), the key that signs
Entra ID's tokens (token-signing-key.pem), the admin token (admin-token), a service principal
and a subscription in the state directory, and keeps the emulated cloud there (state.json), so
a restart finds everything again: tokens issued before stay valid, and operations in flight at
shutdown complete after the restart. It prints the endpoints, the CA path, the admin token and
a CloudAccount to give strata.

The admin endpoints under /_emulator/ (all but healthz) require the admin token as a bearer
token; ` + adminTokenEnv + ` sets another one (at least 16 characters).

Long-running operations take the time of the latency profile: zero (at once), fast (about
1/20 of Azure's typical times) or realistic. Faults can be injected with --fault and at run
time under /_emulator/ (see docs/emulator.md).

SIGINT or SIGTERM stops the emulator gracefully and saves its state.`,
		Example: `  # Defaults: https://127.0.0.1:8443, state in ~/.strata/emulator, fast operations
  strata emulator

  # Azure's typical times, and 20 % of virtual network PUTs failing with 503
  strata emulator --latency realistic \
    --fault 'method=PUT,type=Microsoft.Network/virtualNetworks,status=503,rate=0.2'

  # A given service principal
  strata emulator --tenant 11111111-1111-1111-1111-111111111111 --client-id app --client-secret s3cret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEmulator(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	defaultStateDir := filepath.Join(".strata", "emulator")
	if home, err := os.UserHomeDir(); err == nil {
		defaultStateDir = filepath.Join(home, ".strata", "emulator")
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8443", "address to listen on (host:port)")
	f.StringVar(&o.stateDir, "state-dir", defaultStateDir, "directory of the CA, the service principals and the emulated cloud (created with mode 0700)")
	f.StringVar(&o.latency, "latency", arm.LatencyFast, "duration of long-running operations: zero, fast (1/20 of Azure's) or realistic")
	f.Float64Var(&o.latencyScale, "latency-scale", 1, "multiplies every operation's duration")
	f.Uint64Var(&o.seed, "seed", 0, "seed of fault injection and operation outcomes: the same seed gives the same sequence")
	f.BoolVar(&o.throttling, "throttling", true, "throttle requests as Azure does (token buckets per subscription and principal); --throttling=false disables it")
	f.Float64Var(&o.throttleScale, "throttle-scale", 1, "multiplies the throttling bucket sizes and refill rates")
	f.StringArrayVar(&o.faults, "fault", nil, "inject faults (repeatable): comma-separated method, type, kind (status|drop|lro-failed), status, code, rate, retry-after, count, e.g. 'method=PUT,type=Microsoft.Network/virtualNetworks,status=503,rate=0.2'")
	f.StringVar(&o.tenant, "tenant", "", "tenant ID of the service principal (default: generated on first start and kept)")
	f.StringVar(&o.clientID, "client-id", "", "client ID of the service principal (default: generated on first start and kept)")
	f.StringVar(&o.clientSecret, "client-secret", "", "client secret of the service principal (default: generated on first start and kept)")
	f.StringArrayVar(&o.subscriptions, "subscription", nil, "subscription ID to offer, in the first principal's tenant (repeatable; default: one generated on first start and kept)")
	f.StringVar(&o.accountName, "account-name", "emulator", "name of the CloudAccount printed for strata")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&o.kubernetes, "kubernetes", true, "run a real kube-apiserver, controller manager and scheduler (one etcd) inside each emulated AKS and IaaS cluster, with simulated nodes; on when the binaries are found")
	f.StringVar(&o.kubernetesBin, "kubernetes-bin", "", "directory of etcd, kube-apiserver, kube-controller-manager and kube-scheduler (default: where `make k8s` puts them, "+kube.DefaultBinDir()+")")
	f.DurationVar(&o.graphLag, "resource-graph-lag", resourcegraph.DefaultLag, "how far Resource Graph's answers are behind the live state, as Azure's are (0: none)")
	f.IntVar(&o.graphQuota, "resource-graph-quota", resourcegraph.DefaultQuota, "Resource Graph queries each caller may send per 5-second window before getting 429")
	return cmd
}

// resourceGraph turns the Resource Graph flags into the emulator's options.
func (o *emulatorOptions) resourceGraph() (resourcegraph.Options, error) {
	if o.graphLag < 0 || o.graphQuota < 1 {
		return resourcegraph.Options{}, errors.New("--resource-graph-lag must not be negative and --resource-graph-quota must be at least 1")
	}
	rg := resourcegraph.Options{Lag: o.graphLag, Quota: o.graphQuota}
	if rg.Lag == 0 {
		rg.Lag = -1 // the options' zero is the default; the flag's is none
	}
	return rg, nil
}

// runEmulator starts the emulator, prints where it is and how to use it to out, and serves
// until ctx ends; it logs to errOut.
func runEmulator(ctx context.Context, o *emulatorOptions, out, errOut io.Writer) error {
	logger, err := newLogger(o.logFormat, errOut)
	if err != nil {
		return err
	}
	opts, err := o.options(logger)
	if err != nil {
		return err
	}
	em, err := emulator.New(opts)
	if err != nil {
		return err
	}
	if err := em.Start(ctx); err != nil {
		_ = em.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("cannot listen on %s: the address is already in use (is another emulator running? choose another address with --listen)", o.listen)
		}
		return err
	}
	printEmulator(out, em, o)
	<-ctx.Done()
	logger.Info("emulator stopping")
	if err := em.Close(); err != nil {
		return fmt.Errorf("stopping the emulator: %w", err)
	}
	logger.Info("emulator stopped", "state", o.stateDir)
	return nil
}

// options checks the flags (and $STRATA_EMULATOR_ADMIN_TOKEN) and turns them into the emulator's options.
func (o *emulatorOptions) options(logger *slog.Logger) (emulator.Options, error) {
	if o.stateDir == "" {
		return emulator.Options{}, errors.New("--state-dir must not be empty")
	}
	if o.latencyScale < 0 || o.throttleScale < 0 {
		return emulator.Options{}, errors.New("--latency-scale and --throttle-scale must not be negative")
	}
	opts := emulator.Options{
		AdminToken:    os.Getenv(adminTokenEnv),
		StateDir:      o.stateDir,
		Listen:        o.listen,
		Latency:       o.latency,
		LatencyScale:  o.latencyScale,
		Seed:          o.seed,
		Throttling:    o.throttling,
		ThrottleScale: o.throttleScale,
		Subscriptions: o.subscriptions,
		Logger:        logger,
	}
	graph, err := o.resourceGraph()
	if err != nil {
		return emulator.Options{}, err
	}
	opts.ResourceGraph = graph
	bin, note, err := emulator.KubernetesBinaries(o.kubernetes, o.kubernetesBin)
	if err != nil {
		return emulator.Options{}, err
	}
	opts.Kubernetes.BinDir, o.kubernetesNote = bin, note
	opts.Kubernetes.Runner = agentRunner(logger)
	if opts.AdminToken != "" {
		if err := emulator.CheckAdminToken(opts.AdminToken); err != nil {
			return emulator.Options{}, fmt.Errorf("%s: %w", adminTokenEnv, err)
		}
	}
	switch given := o.tenant != "" || o.clientID != "" || o.clientSecret != ""; {
	case given && (o.tenant == "" || o.clientID == "" || o.clientSecret == ""):
		return emulator.Options{}, errors.New("give --tenant, --client-id and --client-secret together, or none of them")
	case given:
		opts.ServicePrincipals = []emulator.ServicePrincipal{{TenantID: o.tenant, ClientID: o.clientID, Secret: o.clientSecret}}
	}
	for _, s := range o.faults {
		f, err := arm.ParseFault(s)
		if err != nil {
			return emulator.Options{}, fmt.Errorf("invalid --fault: %w", err)
		}
		opts.Faults = append(opts.Faults, f)
	}
	return opts, nil
}

// printEmulator prints the endpoints, the identities and a CloudAccount for strata.
func printEmulator(out io.Writer, em *emulator.Emulator, o *emulatorOptions) {
	u := em.URL()
	sp := em.Principals()[0]
	fmt.Fprintf(out, "strata emulator listening on %s\n\n", u)
	fmt.Fprintf(out, "  Resource Manager  %s\n", u)
	fmt.Fprintf(out, "  Entra ID          %s/ (authority host; token endpoint %s/%s/oauth2/v2.0/token)\n", u, u, sp.TenantID)
	fmt.Fprintf(out, "  Blob              %s/{account}/\n", u)
	fmt.Fprintf(out, "  Admin             %s/_emulator/ (info, counters, inventory, faults, throttling, latency, reset)\n", u)
	fmt.Fprintf(out, "  Admin token       %s\n", em.AdminToken())
	fmt.Fprintf(out, "  CA certificate    %s\n", em.CAPath())
	fmt.Fprintf(out, "  Tenant            %s\n", sp.TenantID)
	fmt.Fprintf(out, "  Client ID         %s\n", sp.ClientID)
	fmt.Fprintf(out, "  Client secret     %s\n", sp.Secret)
	for _, s := range em.Subscriptions() {
		fmt.Fprintf(out, "  Subscription      %s\n", s)
	}
	fmt.Fprintf(out, "  Latency           %s (x%g), throttling %v, seed %d\n", o.latency, o.latencyScale, o.throttling, o.seed)
	fmt.Fprintf(out, "  Kubernetes        %s\n", o.kubernetesNote)
	fmt.Fprintf(out, "\nAdmin endpoints need the admin token:\n  curl --cacert %s -H 'Authorization: Bearer %s' %s/_emulator/info\n",
		em.CAPath(), em.AdminToken(), u)
	fmt.Fprintf(out, "\nCloudAccount for strata (strata apply -f <file>):\n---\n%s", em.CloudAccountYAML(o.accountName))
}
