// Package upgradebench measures a rolling upgrade of a self-managed (IaaS) cluster: it runs an
// embedded Azure emulator with the realistic latency model scaled down (and every other time
// with it), by default with real Kubernetes in its clusters, a strata server and its
// reconciler on SQLite in a temporary directory (the pieces of provisionbench), provisions one
// cluster from the example (3 control-plane machines and 3 workers by default), waits until it
// is Running, moves it to a second version of the example profile (Kubernetes 1.31.1 on the
// ubuntu-24.04.vhd image) and reports
//
//   - the upgrade time, from the spec change to status.upgrade gone with the cluster Running;
//   - a lower bound of it made of what Azure's operations took in this run: the new image's
//     VHD copy and image, the control-plane replacements one after another, the worker waves,
//     and the old image's deletion;
//   - each slot's replacement: when its new machine was started, ready, and its old one gone.
//
// `strata bench upgrade` runs it.
package upgradebench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	examplefiles "github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/provisionbench"
)

const (
	// clusterName is the benchmark's cluster, in the resource group clusterName-rg.
	clusterName = "upgrade"
	// fromVersion and toVersion are the example profile's version and the upgrade's.
	fromVersion, toVersion = "1.0.0", "1.1.0"
	// location is where the cluster is placed in the emulator.
	location = "westeurope"
)

// Options configure a run.
type Options struct {
	// ControlPlane and Workers are the counts of the two pools (default 3 and 3).
	ControlPlane, Workers int
	// MaxSurge is the workers pool's maxSurge (default 1); its maxUnavailable stays 0.
	MaxSurge int
	// LatencyScale multiplies the emulator's realistic latency model and every other time of
	// the run (default 0.05, as provisionbench).
	LatencyScale float64
	// WithoutKubernetes runs no Kubernetes in the emulator and the controller with
	// CheckKubernetes off: a replacement's running VM stands for its Node Ready, and nothing
	// is drained. By default the emulator runs real Kubernetes (the binaries of `make k8s` in
	// kube.DefaultBinDir) and the controller waits for Nodes Ready and drains.
	WithoutKubernetes bool
	// Pods is the replicas of a Deployment (the pause image) deployed in the cluster before
	// the upgrade, with a PodDisruptionBudget of minAvailable Pods-1, so that the drains evict
	// real pods one at a time; default 6, negative for none; none without Kubernetes.
	Pods int
	// Timeout bounds the whole run (default 10 min).
	Timeout time.Duration
	// Dir keeps the emulator's state and the SQLite database; default a new temporary
	// directory, removed at the end.
	Dir string
	// Logger receives the components' logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, receives a line at each step of the run.
	Progress io.Writer
}

// setDefaults fills the options left zero.
func (o *Options) setDefaults() {
	if o.ControlPlane <= 0 {
		o.ControlPlane = 3
	}
	if o.Workers <= 0 {
		o.Workers = 3
	}
	if o.MaxSurge <= 0 {
		o.MaxSurge = 1
	}
	if o.LatencyScale <= 0 {
		o.LatencyScale = 0.05
	}
	if o.Pods == 0 {
		o.Pods = 6
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Run provisions the cluster, upgrades it and measures the upgrade. It stops everything it
// started before returning.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.setDefaults()
	dir, removeDir, err := provisionbench.WorkDir(o.Dir, "strata-bench-upgrade-")
	if err != nil {
		return nil, err
	}
	defer removeDir()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	kubeOpts, err := kubernetesOptions(o)
	if err != nil {
		return nil, err
	}
	em, err := provisionbench.StartEmulator(ctx, dir, o.LatencyScale, kubeOpts, o.Logger)
	if err != nil {
		return nil, err
	}
	defer func() { _ = em.Close() }()
	st, err := provisionbench.OpenStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	api, stopServer, err := provisionbench.ServeAPI(ctx, st, o.Logger)
	if err != nil {
		return nil, err
	}
	defer stopServer()
	b := &bench{o: o, em: em, api: api, obs: newObserver(st)}
	return b.run(ctx)
}

// kubernetesOptions are the emulator's Kubernetes options: off without Kubernetes, else the
// binaries of `make k8s`, with emulatortest's node grace and lease interval.
func kubernetesOptions(o Options) (emulator.KubernetesOptions, error) {
	if o.WithoutKubernetes {
		return emulator.KubernetesOptions{}, nil
	}
	bin := kube.DefaultBinDir()
	if err := kube.CheckBinaries(bin); err != nil {
		return emulator.KubernetesOptions{}, fmt.Errorf("real Kubernetes in the emulator (build it with `make k8s`, or run without Kubernetes): %w", err)
	}
	return emulator.KubernetesOptions{BinDir: bin, NodeGrace: 3 * time.Second, LeaseInterval: time.Second}, nil
}

// bench is one run.
type bench struct {
	o   Options
	em  *emulator.Emulator
	api *client.Client
	obs *observer
}

// run prepares the account, the profiles and the resource group, provisions the cluster,
// upgrades it and measures the upgrade.
func (b *bench) run(ctx context.Context) (*Result, error) {
	if err := b.prepare(ctx); err != nil {
		return nil, err
	}
	stop := provisionbench.StartController(ctx, b.controllerConfig())
	defer stop()
	cl, err := b.cluster()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if _, _, err := b.api.Apply(ctx, cl, client.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("apply cluster %s: %w", clusterName, err)
	}
	if err := provisionbench.Wait(ctx, "the cluster Running", b.obs.isRunning); err != nil {
		return nil, err
	}
	provisioned := time.Since(start)
	fmt.Fprintf(b.o.Progress, "  %s Running after %s; upgrading it\n", clusterName, provisioned.Round(time.Millisecond))
	before, err := b.getCluster(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.deployWorkload(ctx, before); err != nil {
		return nil, err
	}
	t0, err := b.upgrade(ctx, before)
	if err != nil {
		return nil, err
	}
	if err := provisionbench.Wait(ctx, "the upgrade", b.obs.isUpgraded); err != nil {
		return nil, err
	}
	stop()
	fmt.Fprintf(b.o.Progress, "  %s upgraded after %s\n", clusterName, b.obs.upgradedAt().Sub(t0).Round(time.Millisecond))
	after, err := b.getCluster(ctx)
	if err != nil {
		return nil, err
	}
	res := b.result(before, after, t0)
	res.Provision = provisioned
	return res, nil
}

// controllerConfig is provisionbench's controller configuration at the run's scale, checking
// the cluster's Kubernetes unless the run is without it.
func (b *bench) controllerConfig() controller.Config {
	po := provisionbench.Options{Clusters: 1, LatencyScale: b.o.LatencyScale}
	_ = po.SetDefaults() // the default type, iaas: no error
	cfg := po.ControllerConfig(b.obs, b.o.Logger)
	cfg.CheckKubernetes = !b.o.WithoutKubernetes
	cfg.KubernetesRequeue = time.Duration(float64(30*time.Second) * b.o.LatencyScale)
	return cfg
}

// prepare applies the emulator's account, the example IaaS profile and its upgrade, and makes
// the cluster's resource group in the emulator.
func (b *bench) prepare(ctx context.Context) error {
	acct, err := provisionbench.ApplyCloudAccount(ctx, b.em, b.api)
	if err != nil {
		return err
	}
	from, err := provisionbench.ExampleObject[*v1alpha1.ClusterProfile]("profile-iaas.yaml")
	if err != nil {
		return err
	}
	to, err := upgradeProfile()
	if err != nil {
		return err
	}
	for _, p := range []*v1alpha1.ClusterProfile{from, to} {
		if _, _, err := b.api.Apply(ctx, p, client.WriteOptions{}); err != nil {
			return fmt.Errorf("apply profile %s: %w", p.Key(), err)
		}
	}
	return b.createResourceGroup(ctx, acct)
}

// createResourceGroup makes the cluster's resource group in the emulator.
func (b *bench) createResourceGroup(ctx context.Context, acct *v1alpha1.CloudAccount) error {
	sub := b.em.Subscriptions()[0]
	az, err := azure.NewClients(ctx, acct, sub, azure.Options{Logger: b.o.Logger})
	if err != nil {
		return fmt.Errorf("clients of the emulator: %w", err)
	}
	groups, err := armresources.NewResourceGroupsClient(sub, az.Credential(), az.ARMClientOptions())
	if err != nil {
		return fmt.Errorf("resource groups client: %w", err)
	}
	if _, err := groups.CreateOrUpdate(ctx, clusterName+"-rg", armresources.ResourceGroup{Location: to.Ptr(location)}, nil); err != nil {
		return fmt.Errorf("create resource group %s-rg: %w", clusterName, err)
	}
	return nil
}

// upgradeReplacements turn the example profile (iaas-base 1.0.0: Kubernetes 1.30.4 on
// ubuntu-22.04.vhd) into the upgrade's (1.1.0: Kubernetes 1.31.1 on ubuntu-24.04.vhd), as the
// end-to-end test of the rolling upgrade does.
var upgradeReplacements = [][2]string{
	{"  version: " + fromVersion + "\n", "  version: " + toVersion + "\n"},
	{`version: "22.04"`, `version: "24.04"`},
	{"vhd: ubuntu-22.04.vhd", "vhd: ubuntu-24.04.vhd"},
	{"version: 1.30.4", "version: 1.31.1"},
	{"sku: 22_04-lts-gen2", "sku: 24_04-lts-gen2"},
	{"0001-com-ubuntu-server-jammy", "ubuntu-24_04-lts"},
}

// upgradeProfile is the upgrade's profile version, made from the example's.
func upgradeProfile() (*v1alpha1.ClusterProfile, error) {
	data, err := fs.ReadFile(examplefiles.FS, "profile-iaas.yaml")
	if err != nil {
		return nil, fmt.Errorf("example profile-iaas.yaml: %w", err)
	}
	s := string(data)
	for _, r := range upgradeReplacements {
		if !strings.Contains(s, r[0]) {
			return nil, fmt.Errorf("example profile-iaas.yaml: no %q in it to make the upgrade's version", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	objs, err := v1alpha1.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("the upgrade's profile: %w", err)
	}
	for _, obj := range objs {
		if p, ok := obj.(*v1alpha1.ClusterProfile); ok {
			return p, nil
		}
	}
	return nil, fmt.Errorf("the upgrade's profile: no ClusterProfile in example profile-iaas.yaml")
}

// cluster is the example IaaS cluster placed for the emulator, with the run's pool sizes and
// the workers' maxSurge.
func (b *bench) cluster() (*v1alpha1.Cluster, error) {
	c, err := provisionbench.ExampleObject[*v1alpha1.Cluster]("cluster-iaas-dynamic.yaml")
	if err != nil {
		return nil, err
	}
	c.Metadata.Name = clusterName
	c.Spec.CloudAccount = provisionbench.AccountName
	c.Spec.Azure.SubscriptionID = b.em.Subscriptions()[0]
	c.Spec.Azure.Location = location
	c.Spec.Azure.ResourceGroup = clusterName + "-rg"
	for i := range c.Spec.MachinePools {
		mp := &c.Spec.MachinePools[i]
		mp.Min, mp.Max = nil, nil
		if mp.ControlPlane {
			mp.Count = b.o.ControlPlane
			continue
		}
		mp.Count, mp.MaxSurge = b.o.Workers, to.Ptr(b.o.MaxSurge)
	}
	return c, nil
}

// upgrade moves the cluster to the upgrade's profile version and returns when it did.
func (b *bench) upgrade(ctx context.Context, cl *v1alpha1.Cluster) (time.Time, error) {
	c := *cl
	c.Spec.Profiles = append([]v1alpha1.ProfileRef(nil), cl.Spec.Profiles...)
	for i := range c.Spec.Profiles {
		c.Spec.Profiles[i].Version = toVersion
	}
	t0 := time.Now()
	b.obs.startUpgrade(t0)
	if _, _, err := b.api.Apply(ctx, &c, client.WriteOptions{}); err != nil {
		return time.Time{}, fmt.Errorf("move cluster %s to profile version %s: %w", clusterName, toVersion, err)
	}
	return t0, nil
}

// getCluster reads the cluster from the API.
func (b *bench) getCluster(ctx context.Context) (*v1alpha1.Cluster, error) {
	obj, err := b.api.Get(ctx, v1alpha1.KindCluster, clusterName)
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", clusterName, err)
	}
	cl, ok := obj.(*v1alpha1.Cluster)
	if !ok {
		return nil, fmt.Errorf("read cluster %s: unexpected %T", clusterName, obj)
	}
	return cl, nil
}
