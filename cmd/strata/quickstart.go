package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
	examplefiles "github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// quickstartAccount is the name of the CloudAccount quickstart makes for its emulator.
const quickstartAccount = "emulator"

// quickstartOptions are the flags of `strata quickstart`.
type quickstartOptions struct {
	listen  string
	dataDir string
}

// newQuickstartCommand returns `strata quickstart`, which runs an emulated Azure, a server and
// the example clusters on one machine.
func newQuickstartCommand() *cobra.Command {
	o := &quickstartOptions{}
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Provision the example clusters in an embedded Azure emulator",
		Long: `Start an embedded Azure emulator (fast latency), a strata server with its cluster
reconciler on SQLite in the data directory, and a cloud account for the emulator; apply the
example profiles and the example clusters — IaaS clusters on VMs and a managed AKS cluster
(embedded in the binary, the same files as examples/) — show each cluster's progress until it
is Running, print what was created in the emulated Azure and where the API is, and keep serving
until interrupted.

For the static-placement example, the user's network (VNet, subnets, NSGs) and storage account
and container are first made in the emulator, as a user would have them.

SIGINT or SIGTERM stops everything; the data directory keeps the objects and the emulated cloud.`,
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
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir, "directory of the SQLite database, the encryption key and the emulator's state (emulator/)")
	return cmd
}

// runQuickstart runs the quickstart until ctx ends.
func runQuickstart(ctx context.Context, o *quickstartOptions, out, errOut io.Writer) error {
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if o.dataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("create the data directory: %w", err)
	}
	sealer, err := loadSealer(&serverOptions{dataDir: o.dataDir})
	if err != nil {
		return err
	}

	// The emulated Azure.
	em, err := emulator.New(emulator.Options{
		StateDir:   filepath.Join(o.dataDir, "emulator"),
		Listen:     "127.0.0.1:0",
		Latency:    arm.LatencyFast,
		Throttling: true,
		Logger:     logger.With("component", "emulator"),
	})
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	if err := em.Start(ctx); err != nil {
		_ = em.Close()
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer func() {
		if err := em.Close(); err != nil {
			logger.Error("stop the emulator", "error", err)
		}
	}()
	fmt.Fprintf(out, "Azure emulator     %s (state in %s)\n", em.URL(), filepath.Join(o.dataDir, "emulator"))

	// The server and the reconciler.
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("cannot listen on %s: the address is already in use (choose another with --listen)", o.listen)
		}
		return fmt.Errorf("cannot listen on %s: %w", o.listen, err)
	}
	defer ln.Close()
	dbPath := filepath.Join(o.dataDir, "strata.db")
	st, err := sqlite.Open(ctx, dbPath, sealer)
	if err != nil {
		return fmt.Errorf("open the SQLite store: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close the store", "error", err)
		}
	}()
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	served := make(chan error, 1)
	go func() { served <- server.New(server.Config{Store: st, Logger: logger}).Serve(srvCtx, ln) }()
	stopControllers := startControllers(srvCtx, true, controller.Config{
		Store: st, Logger: logger.With("component", "controller"), PollInterval: 250 * time.Millisecond,
	})
	defer stopControllers()
	apiURL := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "strata API         %s (store: sqlite %s)\n\n", apiURL, dbPath)

	cl, err := client.New(apiURL)
	if err != nil {
		return err
	}
	if err := waitHealthy(ctx, cl); err != nil {
		return err
	}
	clusters, err := applyQuickstartObjects(ctx, cl, em, out)
	if err != nil {
		return err
	}
	if err := showProgress(ctx, cl, clusters, out); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	printQuickstartSummary(out, em, apiURL, clusters)

	select {
	case <-ctx.Done():
	case err := <-served:
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	fmt.Fprintln(out, "\nstopping")
	stopControllers()
	stopServer()
	if err := <-served; err != nil && ctx.Err() == nil {
		return fmt.Errorf("server: %w", err)
	}
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

// applyQuickstartObjects applies the emulator's account, the example profiles and the example
// clusters (pointed at the emulator, in resource groups made there), and returns the names of
// the clusters applied.
func applyQuickstartObjects(ctx context.Context, cl *client.Client, em *emulator.Emulator, out io.Writer) ([]string, error) {
	acctObjs, err := v1alpha1.Decode([]byte(em.CloudAccountYAML(quickstartAccount)))
	if err != nil {
		return nil, fmt.Errorf("the emulator's cloud account: %w", err)
	}
	if err := applyObject(ctx, cl, acctObjs[0], out); err != nil {
		return nil, err
	}
	files, err := fs.Glob(examplefiles.FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	var profiles, clusters []v1alpha1.Object
	for _, name := range files {
		b, err := fs.ReadFile(examplefiles.FS, name)
		if err != nil {
			return nil, err
		}
		objs, err := v1alpha1.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("example %s: %w", name, err)
		}
		for _, obj := range objs {
			switch o := obj.(type) {
			case *v1alpha1.ClusterProfile:
				profiles = append(profiles, o)
			case *v1alpha1.Cluster:
				clusters = append(clusters, o)
			}
		}
	}
	for _, p := range profiles {
		if err := applyObject(ctx, cl, p, out); err != nil {
			return nil, err
		}
	}
	sub := em.Subscriptions()[0]
	az, err := newEmulatorClients(em, sub)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, obj := range clusters {
		c := obj.(*v1alpha1.Cluster)
		c.Spec.CloudAccount = quickstartAccount
		c.Spec.Azure.SubscriptionID = sub
		c.Spec.Azure.Location = "westeurope"
		if err := az.prerequisites(ctx, c, out); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Key(), err)
		}
		if err := applyObject(ctx, cl, c, out); err != nil {
			return nil, err
		}
		names = append(names, c.Key())
	}
	fmt.Fprintln(out)
	return names, nil
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

// emulatorClients are SDK clients of the emulator, trusting its CA.
type emulatorClients struct {
	groups  *armresources.ResourceGroupsClient
	network *armnetwork.ClientFactory
	storage *armstorage.ClientFactory
}

// newEmulatorClients signs in to the emulator as its first service principal.
func newEmulatorClients(em *emulator.Emulator, sub string) (*emulatorClients, error) {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: em.CAPool(), MinVersion: tls.VersionTLS12}}, Timeout: time.Minute}
	cfg := cloud.Configuration{
		ActiveDirectoryAuthorityHost: em.URL() + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: em.URL(), Audience: "https://management.core.windows.net/"},
		},
	}
	sp := em.Principals()[0]
	cred, err := azidentity.NewClientSecretCredential(sp.TenantID, sp.ClientID, sp.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: hc}, DisableInstanceDiscovery: true,
	})
	if err != nil {
		return nil, fmt.Errorf("emulator credential: %w", err)
	}
	opts := &azarm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: hc}}
	c := &emulatorClients{}
	if c.groups, err = armresources.NewResourceGroupsClient(sub, cred, opts); err != nil {
		return nil, fmt.Errorf("resource groups client: %w", err)
	}
	if c.network, err = armnetwork.NewClientFactory(sub, cred, opts); err != nil {
		return nil, fmt.Errorf("network clients: %w", err)
	}
	if c.storage, err = armstorage.NewClientFactory(sub, cred, opts); err != nil {
		return nil, fmt.Errorf("storage clients: %w", err)
	}
	return c, nil
}

// prerequisites makes in the emulator what a cluster expects to exist: its resource group and,
// for static placement, the user's network (VNet, subnets, NSGs) and storage account and
// container, as a user would have made them.
func (c *emulatorClients) prerequisites(ctx context.Context, cl *v1alpha1.Cluster, out io.Writer) error {
	az := &cl.Spec.Azure
	loc := to.Ptr(az.Location)
	groups := []string{az.ResourceGroup}
	if az.Placement != nil {
		groups = append(groups, az.Placement.ResourceGroup)
	}
	for _, g := range groups {
		if _, err := c.groups.CreateOrUpdate(ctx, g, armresources.ResourceGroup{Location: loc}, nil); err != nil {
			return fmt.Errorf("create resource group %s in the emulator: %w", g, err)
		}
	}
	poll := &runtime.PollUntilDoneOptions{Frequency: time.Second}
	if pl := az.Placement; pl != nil {
		nsgs := map[string]string{}
		for _, name := range []string{pl.ControlPlaneSubnet.SecurityGroup, pl.WorkerSubnet.SecurityGroup} {
			p, err := c.network.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, pl.ResourceGroup, name, armnetwork.SecurityGroup{Location: loc}, nil)
			if err != nil {
				return fmt.Errorf("create NSG %s: %w", name, err)
			}
			r, err := p.PollUntilDone(ctx, poll)
			if err != nil {
				return fmt.Errorf("create NSG %s: %w", name, err)
			}
			nsgs[name] = *r.ID
		}
		vp, err := c.network.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, pl.ResourceGroup, pl.VirtualNetwork, armnetwork.VirtualNetwork{
			Location:   loc,
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr(pl.CIDR)}}},
		}, nil)
		if err != nil {
			return fmt.Errorf("create VNet %s: %w", pl.VirtualNetwork, err)
		}
		if _, err := vp.PollUntilDone(ctx, poll); err != nil {
			return fmt.Errorf("create VNet %s: %w", pl.VirtualNetwork, err)
		}
		for _, s := range []*v1alpha1.Subnet{pl.ControlPlaneSubnet, pl.WorkerSubnet} {
			p, err := c.network.NewSubnetsClient().BeginCreateOrUpdate(ctx, pl.ResourceGroup, pl.VirtualNetwork, s.Name, armnetwork.Subnet{
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr(s.CIDR), NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: to.Ptr(nsgs[s.SecurityGroup])}},
			}, nil)
			if err != nil {
				return fmt.Errorf("create subnet %s: %w", s.Name, err)
			}
			if _, err := p.PollUntilDone(ctx, poll); err != nil {
				return fmt.Errorf("create subnet %s: %w", s.Name, err)
			}
		}
		fmt.Fprintf(out, "made the user's network %s/%s for cluster %s in the emulator\n", pl.ResourceGroup, pl.VirtualNetwork, cl.Key())
	}
	if cs := az.Storage; cs != nil {
		sp, err := c.storage.NewAccountsClient().BeginCreate(ctx, az.ResourceGroup, cs.Account, armstorage.AccountCreateParameters{
			Location: loc, Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		}, nil)
		if err != nil {
			return fmt.Errorf("create storage account %s: %w", cs.Account, err)
		}
		if _, err := sp.PollUntilDone(ctx, poll); err != nil {
			return fmt.Errorf("create storage account %s: %w", cs.Account, err)
		}
		if cs.Container != "" {
			if _, err := c.storage.NewBlobContainersClient().Create(ctx, az.ResourceGroup, cs.Account, cs.Container, armstorage.BlobContainer{}, nil); err != nil {
				return fmt.Errorf("create container %s: %w", cs.Container, err)
			}
		}
		fmt.Fprintf(out, "made the user's storage account %s for cluster %s in the emulator\n", cs.Account, cl.Key())
	}
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
func printQuickstartSummary(out io.Writer, em *emulator.Emulator, apiURL string, clusters []string) {
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
	fmt.Fprintf(out, "\nThe strata API is at %s. Try:\n", apiURL)
	fmt.Fprintf(out, "  strata --server %s get clusters\n", apiURL)
	for _, c := range clusters {
		fmt.Fprintf(out, "  strata --server %s describe cluster %s\n", apiURL, c)
	}
	fmt.Fprintf(out, "  curl %s/_emulator/inventory --cacert %s -H 'Authorization: Bearer %s'\n", em.URL(), em.CAPath(), em.AdminToken())
	fmt.Fprintln(out, "\nServing until interrupted (Ctrl-C).")
}
