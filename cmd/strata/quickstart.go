package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
	examplefiles "github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/servertls"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
	"github.com/strata-dev/strata/internal/termtext"
)

// quickstartAccount is the name of the CloudAccount quickstart makes for its emulator.
const quickstartAccount = "emulator"

// proxyDemoCluster is the example cluster whose account is bound to the example gateway and
// which pins the proxy-demo profile.
const proxyDemoCluster = "iaas-static"

// quickstartLocation is the Azure location of the example clusters in the emulator.
const quickstartLocation = "westeurope"

// quickstartOptions are the flags of `strata quickstart`.
type quickstartOptions struct {
	listen        string
	dataDir       string
	kubernetes    bool
	kubernetesBin string
	// clusters false creates no example cluster or gateway: only the emulator's account and
	// the example profiles, for a user (or a test) that brings its own clusters.
	clusters bool
}

// newQuickstartCommand returns `strata quickstart`, which runs an emulated Azure, a server and
// the example clusters on one machine.
func newQuickstartCommand() *cobra.Command {
	o := &quickstartOptions{}
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Provision the example clusters in an embedded Azure emulator",
		Long: `Start an embedded Azure emulator (fast latency), a strata server with its cluster
reconciler on SQLite in the data directory, and a cloud account for the emulator; write
emulator-ready copies of the examples (embedded in the binary, the same files as examples/)
to <data-dir>/examples/ and create their gateway, profiles and clusters — IaaS clusters on VMs
and a managed AKS cluster; show each cluster's progress until it is Running, print what was
created in the emulated Azure and where the API is, and keep serving until interrupted.

For the static-placement example, the user's network (VNet, subnets, NSGs) and storage account
and container are first made in the emulator, as a user would have them.

quickstart starts again on its data directory: the emulator serves on the port it got on the
first run (kept in <data-dir>/emulator.address), what exists in the emulator and in strata is
left as it is (an example object you changed is kept, and quickstart says so), and only what
is missing is created. The copies in <data-dir>/examples/ are written when missing only:
'strata apply -f <data-dir>/examples/' answers unchanged until you edit them.

With the Kubernetes binaries that 'make k8s' builds (found where it puts them, or given with
--kubernetes-bin), every cluster gets a real kube-apiserver, controller manager and scheduler
in the emulator, with simulated nodes: a cluster is Running once its API answers and its nodes
are Ready, and the summary prints a kubectl command for each cluster. Without them quickstart
works as before and says in one line what is missing.

SIGINT or SIGTERM stops everything; a second one stops at once. The data directory keeps the
objects and the emulated cloud.`,
		Example: `  strata quickstart
  strata quickstart --data-dir /tmp/strata-demo --listen 127.0.0.1:7081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	defaultDataDir := ".strata"
	if home, err := os.UserHomeDir(); err == nil {
		defaultDataDir = filepath.Join(home, ".strata")
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:7080", "address of the API (host:port)")
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir, "directory of the SQLite database, the encryption key, the emulator's state (emulator/) and the emulator-ready examples (examples/)")
	f.BoolVar(&o.kubernetes, "kubernetes", true, "run real Kubernetes API servers inside the emulated clusters when the binaries are found")
	f.BoolVar(&o.clusters, "example-clusters", true, "create the example clusters and gateway; with false only the emulator's cloud account and the example profiles")
	f.StringVar(&o.kubernetesBin, "kubernetes-bin", "", "directory of etcd, kube-apiserver, kube-controller-manager and kube-scheduler (default: where `make k8s` puts them)")
	return cmd
}

// runQuickstart runs the quickstart until ctx ends. An interruption while it sets up is a
// clean stop, not an error.
func runQuickstart(ctx context.Context, o *quickstartOptions, stdout, errOut io.Writer) error {
	out := termtext.NewWriter(stdout) // progress lines carry Azure's messages
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if o.dataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if err := prepareDataDir(o.dataDir, logger); err != nil {
		return err
	}
	sealer, err := loadSealer(&serverOptions{dataDir: o.dataDir}, logger)
	if err != nil {
		return err
	}
	kubeBin, kubeNote, err := emulator.KubernetesBinaries(o.kubernetes, o.kubernetesBin)
	if err != nil {
		return err
	}
	em, err := startQuickstartEmulator(ctx, o.dataDir, kubeBin, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := em.Close(); err != nil {
			logger.Error("stop the emulator", "error", err)
		}
	}()
	fmt.Fprintf(out, "Azure emulator     %s (state in %s)\n", em.URL(), filepath.Join(o.dataDir, "emulator"))
	fmt.Fprintf(out, "Kubernetes         %s\n", kubeNote)

	api, err := startQuickstartAPI(ctx, o, sealer, kubeBin != "", logger)
	if err != nil {
		return err
	}
	defer api.stop()
	fmt.Fprintf(out, "strata API         %s (store: sqlite %s)\n", api.url, filepath.Join(o.dataDir, sqliteFile))
	fmt.Fprintf(out, "TLS certificate    %s (self-signed), fingerprint %s\n", api.cert.CertFile, api.cert.Fingerprint)
	fmt.Fprintf(out, "CLI                logged in as admin: context %s in %s\n", quickstartContext, api.configPath)
	fmt.Fprintf(out, "Web console        %s/ (sign in as admin once it has a password: strata passwd admin)\n\n", api.url)

	clusters, gateways, err := setUpExamples(ctx, api.client, em, o.dataDir, o.clusters, out)
	if err == nil {
		api.startGateways(gateways, out)
		err = showProgress(ctx, api.client, clusters, out)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(out, "\nstopping")
		return nil
	}
	if err != nil {
		return err
	}
	printQuickstartSummary(out, em, api.url, o.dataDir, clusters, kubeBin != "")
	return api.serve(ctx, out)
}

// startQuickstartEmulator starts the emulator on the address kept in the data directory, or,
// on the first run, on a free port that it then keeps.
func startQuickstartEmulator(ctx context.Context, dataDir, kubeBin string, logger *slog.Logger) (*emulator.Emulator, error) {
	path := emulatorAddressPath(dataDir)
	kept, err := readKeptAddress(path)
	if err != nil {
		return nil, err
	}
	listen := kept
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	em, err := emulator.New(emulator.Options{
		StateDir:   filepath.Join(dataDir, "emulator"),
		Listen:     listen,
		Latency:    arm.LatencyFast,
		Throttling: true,
		Logger:     logger.With("component", "emulator"),
		Kubernetes: emulator.KubernetesOptions{BinDir: kubeBin, Runner: agentRunner(logger)},
	})
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if err := em.Start(ctx); err != nil {
		_ = em.Close()
		if kept != "" {
			return nil, emulatorListenError(kept, path, err)
		}
		return nil, fmt.Errorf("start the emulator: %w", err)
	}
	if kept == "" {
		if err := keepAddress(path, strings.TrimPrefix(em.URL(), "https://")); err != nil {
			_ = em.Close()
			return nil, err
		}
	}
	return em, nil
}

// quickstartAPI is quickstart's API server and cluster reconciler on SQLite.
type quickstartAPI struct {
	url    string
	client *client.Client
	done   chan struct{} // closed when the server stopped, with its error in err
	err    error
	stop   func() // stops the reconciler and the server, then closes the store
	// ep is the agent endpoint, where the gateways register too.
	ep *agentEndpoint
	// cert is the API's TLS certificate, self-signed and kept in the data directory.
	cert *servertls.Certificate
	// configPath is the CLI configuration file quickstart logged the CLI in with.
	configPath string
	// startGateways runs a replica of each named gateway in this process until stop.
	startGateways func(names []string, out io.Writer)
}

// startQuickstartAPI listens on --listen, opens the store and starts the server and the
// reconciler with access control on, logs the CLI in as admin (quickstartLogin), and waits
// until the API answers. With kubernetes, the reconciler reads each cluster's own API.
func startQuickstartAPI(ctx context.Context, o *quickstartOptions, sealer *secrets.Sealer, kubernetes bool, logger *slog.Logger) (*quickstartAPI, error) {
	ln, cert, err := listenTLS(&serverOptions{listen: o.listen, dataDir: o.dataDir}, logger)
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(o.dataDir, sqliteFile), sealer)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("open the SQLite store: %w", err)
	}
	id, err := holderIdentity(o.dataDir, "", logger)
	if err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	a := &quickstartAPI{url: "https://" + ln.Addr().String(), done: make(chan struct{}), cert: cert}
	var stopGateways func()
	srvCtx, stopServer := context.WithCancel(ctx)
	changes, registry := feed.New(st, feed.Config{Logger: logger.With("component", "feed")}), newRegistry()
	ep, stopAgents, err := startQuickstartAgentEndpoint(srvCtx, o.dataDir, st, changes, registry, id.Name, logger)
	if err != nil {
		stopServer()
		ln.Close()
		st.Close()
		id.Close()
		return nil, err
	}
	go func() {
		defer close(a.done)
		a.err = server.New(server.Config{Store: st, Logger: logger, Feed: changes, Registry: registry,
			Gateways: ep.gatewaysOf(), AccessControl: true}).Serve(srvCtx, ln)
	}()
	// Without Kubernetes there is no agent to install: the endpoint serves the gateways only.
	var agents controller.AgentInstaller
	if kubernetes {
		agents = ep.agentInstaller()
	}
	stopControllers := startControllers(srvCtx, true, controller.Config{
		Store: st, Logger: logger.With("component", "controller"), PollInterval: 250 * time.Millisecond,
		Holder: id.Name, CheckKubernetes: kubernetes, Agent: agents,
	})
	a.ep = ep
	stopGateways = func() {}
	a.startGateways = func(names []string, out io.Writer) {
		stopGateways = startQuickstartGateways(srvCtx, ep, o.dataDir, names, kubernetes, out, logger)
	}
	a.stop = func() {
		stopServer()
		stopGateways()
		stopControllers()
		stopAgents()
		<-a.done
		if err := st.Close(); err != nil {
			logger.Error("close the store", "error", err)
		}
		id.Close()
	}
	var key string
	if key, a.configPath, err = quickstartLogin(ctx, st, a.url, cert.CertPEM); err == nil {
		if a.client, err = client.New(a.url, client.WithAPIKey(key), client.WithRootCAs(cert.CertPEM)); err == nil {
			err = waitHealthy(ctx, a.client)
		}
	}
	if err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// startQuickstartAgentEndpoint starts the agent endpoint on the address kept in the data
// directory (on the first run, a free port of 127.0.0.1, then kept: the clusters' agents and
// the gateways keep it).
func startQuickstartAgentEndpoint(ctx context.Context, dataDir string, st store.Store, changes *feed.Feed, reg prometheus.Registerer, holderName string, logger *slog.Logger) (*agentEndpoint, func(), error) {
	path := filepath.Join(dataDir, agentAddressFile)
	kept, err := readKeptAddress(path)
	if err != nil {
		return nil, nil, err
	}
	listen := kept
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ep, stop, err := startAgentEndpoint(ctx, agentEndpointOptions{listen: listen, image: defaultAgentImage(), chartCache: chartCacheDir(dataDir)}, st, changes, reg, holderName, logger)
	if err != nil {
		return nil, nil, err
	}
	if kept == "" {
		if err := keepAddress(path, ep.ln.Addr().String()); err != nil {
			stop()
			return nil, nil, err
		}
	}
	return ep, stop, nil
}

// serve serves until ctx ends or the server fails.
func (a *quickstartAPI) serve(ctx context.Context, out io.Writer) error {
	select {
	case <-ctx.Done():
	case <-a.done:
		if a.err != nil {
			return fmt.Errorf("server: %w", a.err)
		}
	}
	fmt.Fprintln(out, "\nstopping")
	return nil
}

// waitHealthy waits until the API answers /healthz.
func waitHealthy(ctx context.Context, cl *client.Client) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := cl.Healthz(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("the API did not become healthy: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// setUpExamples writes the emulator-ready copies of the examples that are missing, makes
// what the clusters expect in the emulator, applies the emulator's accounts (after the
// gateways they name) and creates the example objects that do not exist. It returns the
// clusters to wait for.
func setUpExamples(ctx context.Context, cl *client.Client, em *emulator.Emulator, dataDir string, withClusters bool, out io.Writer) (clusters, gateways []string, err error) {
	acct, err := emulatorAccount(em)
	if err != nil {
		return nil, nil, err
	}
	sub := em.Subscriptions()[0]
	files, accounts, err := emulatorExamples(examplefiles.FS, emulatorTarget{Account: acct, Subscription: sub, Location: quickstartLocation})
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Join(dataDir, examplesDir)
	written, err := writeExampleCopies(dir, files)
	if err != nil {
		return nil, nil, err
	}
	if len(written) > 0 {
		fmt.Fprintf(out, "wrote the emulator-ready examples %s to %s\n", strings.Join(written, ", "), dir)
	}
	az, err := newEmulatorClients(em, sub)
	if err != nil {
		return nil, nil, err
	}
	objs := exampleObjects(files)
	if !withClusters {
		objs = slices.DeleteFunc(objs, func(o v1alpha1.Object) bool { return o.GetTypeMeta().Kind != v1alpha1.KindClusterProfile })
		// The emulator's own account: the others are bound to the gateways left out.
		accounts = slices.DeleteFunc(accounts, func(a *v1alpha1.CloudAccount) bool { return a.Spec.Gateway != "" })
	}
	for _, obj := range objs {
		if c, ok := obj.(*v1alpha1.Cluster); ok {
			if err := az.prerequisites(ctx, c, out); err != nil {
				return nil, nil, fmt.Errorf("cluster %s: %w", c.Key(), err)
			}
		}
	}
	for _, obj := range objs {
		if obj.GetTypeMeta().Kind == v1alpha1.KindPrivateCloudGateway {
			gateways = append(gateways, obj.Key())
		}
	}
	clusters, err = ensureExamples(ctx, cl, objs, accounts, out)
	fmt.Fprintln(out)
	return clusters, gateways, err
}

// ensureExamples applies the accounts, once the gateways before them are ensured, and ensures
// the other objects (in dependency order). It returns the clusters not being deleted.
func ensureExamples(ctx context.Context, cl *client.Client, objs []v1alpha1.Object, accounts []*v1alpha1.CloudAccount, out io.Writer) ([]string, error) {
	var clusters []string
	applied := false
	applyAccounts := func() error {
		applied = true
		for _, a := range accounts {
			if err := applyObject(ctx, cl, a, out); err != nil {
				return err
			}
		}
		return nil
	}
	for _, obj := range objs {
		kind := obj.GetTypeMeta().Kind
		if !applied && kind != v1alpha1.KindPrivateCloudGateway {
			if err := applyAccounts(); err != nil {
				return nil, err
			}
		}
		deleting, err := ensureExample(ctx, cl, obj, out)
		if err != nil {
			return nil, err
		}
		if kind == v1alpha1.KindCluster && !deleting {
			clusters = append(clusters, obj.Key())
		}
	}
	if !applied {
		return clusters, applyAccounts()
	}
	return clusters, nil
}

// emulatorAccount is the CloudAccount of the emulator, with its secret.
func emulatorAccount(em *emulator.Emulator) (*v1alpha1.CloudAccount, error) {
	objs, err := v1alpha1.Decode([]byte(em.CloudAccountYAML(quickstartAccount)))
	if err != nil {
		return nil, fmt.Errorf("the emulator's cloud account: %w", err)
	}
	acct, ok := objs[0].(*v1alpha1.CloudAccount)
	if !ok || len(objs) != 1 {
		return nil, errors.New("the emulator's cloud account: not one CloudAccount")
	}
	return acct, nil
}

// applyObject applies one object and prints what happened.
func applyObject(ctx context.Context, cl *client.Client, obj v1alpha1.Object, out io.Writer) error {
	_, res, err := cl.Apply(ctx, obj, client.WriteOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s %s %s\n", strings.ToLower(obj.GetTypeMeta().Kind), obj.Key(), res)
	return nil
}

// showProgress prints each cluster's phase and progress as they change, until every one is
// Running at its current generation.
func showProgress(ctx context.Context, cl *client.Client, names []string, out io.Writer) error {
	start := time.Now()
	last := map[string]string{}
	running := map[string]bool{}
	for len(running) < len(names) {
		for _, name := range names {
			if running[name] {
				continue
			}
			obj, err := cl.Get(ctx, v1alpha1.KindCluster, name)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue
			}
			c := obj.(*v1alpha1.Cluster)
			s := c.Status
			done, total, step := 0, 0, ""
			if s.Progress != nil {
				done, total, step = s.Progress.Done, s.Progress.Total, s.Progress.Step
			}
			phase := s.Phase
			if phase == "" {
				phase = "Pending"
			}
			line := fmt.Sprintf("  %-14s %-13s %3d/%-3d %s", name, phase, done, total, step)
			if phase == controller.PhaseRunning && s.ObservedGeneration == c.Metadata.Generation {
				running[name] = true
				line = fmt.Sprintf("  %-14s %-13s %3d/%-3d in %s, API server %s", name, phase, done, total, time.Since(start).Round(100*time.Millisecond), s.ControlPlaneEndpoint)
			} else if phase == controller.PhaseRunning {
				continue // the new generation is not picked up yet
			}
			if phase == controller.PhaseFailed {
				for _, cond := range s.Conditions {
					if cond.Type == controller.ConditionReady {
						line += fmt.Sprintf(" (%s: %s; retrying)", cond.Reason, cond.Message)
					}
				}
			}
			if line != last[name] {
				fmt.Fprintln(out, line)
				last[name] = line
			}
		}
		if len(running) == len(names) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// printQuickstartSummary prints what exists in the emulated Azure and how to use the API.
func printQuickstartSummary(out io.Writer, em *emulator.Emulator, apiURL, dataDir string, clusters []string, kubernetes bool) {
	counts := map[string]int{}
	for _, r := range em.Engine().Snapshot().Resources {
		counts[r.Type]++
	}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	slices.Sort(types)
	fmt.Fprintf(out, "\nResources in the emulated Azure (%s):\n", em.URL())
	for _, t := range types {
		fmt.Fprintf(out, "  %4d  %s\n", counts[t], t)
	}
	examples := filepath.Join(dataDir, examplesDir)
	fmt.Fprintf(out, "\nThe strata API is at %s; the emulator-ready examples are in %s. Try:\n", apiURL, examples)
	fmt.Fprintf(out, "  strata --server %s get clusters -o wide\n", apiURL)
	for _, c := range clusters {
		fmt.Fprintf(out, "  strata --server %s describe cluster %s\n", apiURL, c)
	}
	fmt.Fprintf(out, "  strata --server %s apply -f %s\n", apiURL, examples+string(filepath.Separator))
	fmt.Fprintf(out, "  curl %s/_emulator/inventory --cacert %s -H 'Authorization: Bearer %s'\n", em.URL(), em.CAPath(), em.AdminToken())
	if access, err := writeAccessExample(dataDir); err == nil {
		fmt.Fprintf(out, "\nAccess control is on and the CLI is logged in as admin (strata whoami). A user who may view only the clusters tagged env:prod:\n")
		fmt.Fprintf(out, "  strata --server %s apply -f %s\n", apiURL, access)
		fmt.Fprintf(out, "  STRATA_API_KEY=$(strata --server %s apikey create --user prod-viewer --expires-in 1d) strata --server %s get clusters\n", apiURL, apiURL)
	}
	if kubernetes {
		fmt.Fprintln(out, "\nEach cluster's real API server, with kubectl:")
		for _, c := range clusters {
			fmt.Fprintf(out, "  strata --server %s kubeconfig %s --admin > %s.kubeconfig && kubectl --kubeconfig %s.kubeconfig get nodes -o wide\n", apiURL, c, c, c)
		}
		if slices.Contains(clusters, proxyDemoCluster) {
			fmt.Fprintf(out, "\nThe gateway's proxy, injected by strata's agent into the pod labelled spectrocloud.com/connection: proxy only:\n")
			fmt.Fprintf(out, "  kubectl --kubeconfig %s.kubeconfig -n proxy-demo get pods -o custom-columns='POD:.metadata.name,HTTPS_PROXY:.spec.containers[0].env[?(@.name==\"HTTPS_PROXY\")].value'\n", proxyDemoCluster)
		}
	}
	fmt.Fprintln(out, "\nServing until interrupted (Ctrl-C).")
}
