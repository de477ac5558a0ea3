// Package provisionbench measures how strata provisions clusters: it runs an embedded Azure
// emulator with the realistic latency model scaled down (and every other time with it: Azure's
// throttling, strata's rate limits, polls and requeues), a strata server and its cluster
// reconciler on SQLite in a temporary directory, creates N copies of the example IaaS (or AKS)
// cluster, waits until every one is Running and reports
//
//   - the makespan of each cluster and of the whole run, against the critical-path lower bound
//     of a cluster's graph (each node costing what Azure's operation on it took in the run);
//   - the ARM requests the emulator answered, by method and type, and the ARM writes per
//     resource created (1.0 when nothing is sent twice);
//   - the ARM writes of an idle resync of every cluster (0 when nothing drifted).
//
// Requests are counted at the emulator, which sees every request that reached "Azure",
// retries included. `strata bench provision` and BenchmarkProvision run it.
package provisionbench

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	examplefiles "github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
	"github.com/strata-dev/strata/internal/flow"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// AccountName is the CloudAccount made for the emulator.
const AccountName = "emulator"

// Options configure a run.
type Options struct {
	// Clusters is how many clusters are provisioned at once (default 20).
	Clusters int
	// Type is the clusters' type: v1alpha1.ClusterTypeIaaS (the default), copies of
	// examples/cluster-iaas-dynamic.yaml, or v1alpha1.ClusterTypeAKS, copies of
	// examples/cluster-aks.yaml.
	Type string
	// LatencyScale multiplies the emulator's realistic latency model, and compresses every
	// other time of the run with it (default 0.05: at smaller scales the fixed costs of this
	// machine, about a millisecond a request, stand for too much of Azure's time).
	LatencyScale float64
	// Parallelism caps the resources of one cluster worked on at once (controller default
	// when 0).
	Parallelism int
	// Workers is how many clusters the controller works on at once (default Clusters).
	Workers int
	// Writes and Reads are the per-second rates of strata's per-subscription rate limiter
	// (azure.Options); zero means the product's defaults (8 and 20 per second) divided by
	// LatencyScale, as time runs that much faster.
	Writes, Reads float64
	// PollFrequency caps how long strata waits between polls of what Azure gives no
	// Retry-After for (the blob copy); zero means azure's default, 2 s, times LatencyScale.
	PollFrequency time.Duration
	// Timeout bounds the provisioning and the resync (default 10 min).
	Timeout time.Duration
	// Dir is where the emulator's state and the SQLite database are kept; default a new
	// temporary directory, removed at the end.
	Dir string
	// Logger receives the components' logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, receives a line each time a cluster is Running.
	Progress io.Writer
}

// RequestCount is how many ARM requests of one method and type the emulator answered during a
// phase, and how many of them failed (status 0 or >= 400, e.g. throttled with 429).
type RequestCount struct {
	Method string
	Type   string
	Count  int64
	Failed int64
}

// Result is what a run measured.
type Result struct {
	Clusters     int
	Type         string
	LatencyScale float64
	// Limits describes strata's rate limits and poll frequency during the run.
	Limits string
	// Nodes is the number of nodes of one cluster's graph, Managed those strata creates.
	Nodes, Managed int
	// CriticalPath is the longest path through one cluster's graph, each node costing the
	// emulator's nominal latency of its create at this scale; CriticalPathKeys its nodes.
	CriticalPath     time.Duration
	CriticalPathKeys []string
	// RunCriticalPath is the same longest path with each node costing what Azure's operation
	// on it actually took in this run (the latency model's jitter included), the longest of
	// the clusters': no schedule of that work could end sooner. Ratios are taken against it.
	RunCriticalPath time.Duration
	// Makespans are each cluster's time from its creation in the API to Running, in the
	// order the clusters were created; Makespan is from the first creation to the last Running.
	Makespans []time.Duration
	Makespan  time.Duration
	// Requests are the ARM requests answered while the clusters were provisioned.
	Requests []RequestCount
	// Writes are the PUT, PATCH and DELETE requests answered with success while provisioning,
	// WriteAttempts all of them (failed ones, e.g. throttled, included).
	Writes, WriteAttempts int64
	// Created is the number of ARM resources that appeared in the emulator while provisioning
	// and that strata wrote: those it created, and the OS disks Azure made with the VMs, whose
	// tags strata sets.
	Created int
	// Implicit is the number of resources Azure made as a consequence that strata does not
	// write (a storage account's blob service, agent pools created inline).
	Implicit int
	// ResyncRequests are the ARM requests of one idle resync of every cluster, ResyncWrites
	// the write attempts among them, ResyncTime how long the resync took.
	ResyncRequests []RequestCount
	ResyncWrites   int64
	ResyncTime     time.Duration
	// ReadBudget and WriteBudget are strata's read and write rates in the subscription,
	// requests per second (at this scale).
	ReadBudget, WriteBudget float64
	// Timeline is the nodes of the slowest cluster, TimelineOf, in the order strata started
	// them.
	Timeline   []NodeTiming
	TimelineOf string
	names      []string // of the clusters, in the order of Makespans
}

// NodeTiming is when strata started a node of a cluster (its inventory item written) and
// when it was ready, from the cluster's creation in the API, and how long Azure's own operation on
// it took (0 for what Azure answers at once).
type NodeTiming struct {
	Key          string
	Start, Ready time.Duration
	Azure        time.Duration
}

// WritesPerResource is Writes divided by Created.
func (r *Result) WritesPerResource() float64 {
	if r.Created == 0 {
		return 0
	}
	return float64(r.Writes) / float64(r.Created)
}

// ReadsPerResource is the ARM reads (GETs: of resources, of operations' status, of lists)
// answered while provisioning, divided by Created.
func (r *Result) ReadsPerResource() float64 {
	if r.Created == 0 {
		return 0
	}
	return float64(Reads(r.Requests)) / float64(r.Created)
}

// Reads counts the GETs among rs.
func Reads(rs []RequestCount) int64 {
	var n int64
	for _, rc := range rs {
		if rc.Method == http.MethodGet {
			n += rc.Count
		}
	}
	return n
}

// MakespanBound is the least makespan the run allows: the critical path as Azure's operations
// took, or the time strata's budgets need for the reads and the writes the run made, whichever
// is longest.
func (r *Result) MakespanBound() time.Duration {
	return max(r.RunCriticalPath, r.ReadBound(), r.WriteBound())
}

// ReadBound is the time strata's read budget needs for the run's reads (0 without a budget).
func (r *Result) ReadBound() time.Duration {
	return needs(Reads(r.Requests), r.ReadBudget)
}

// WriteBound is the time strata's write budget needs for the requests it paces (0 without a
// budget).
func (r *Result) WriteBound() time.Duration {
	return needs(BudgetWrites(r.Requests), r.WriteBudget)
}

// needs is the time n requests take at rate per second, 0 when rate is not positive.
func needs(n int64, rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(n) / rate * float64(time.Second))
}

// BudgetWrites counts the requests among rs that strata's write budget paces: every PUT, PATCH,
// POST and DELETE but Resource Graph's queries, which have a quota of their own.
func BudgetWrites(rs []RequestCount) int64 {
	var n int64
	for _, rc := range rs {
		switch rc.Method {
		case http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost:
			if !strings.EqualFold(rc.Type, "Microsoft.ResourceGraph/resources") {
				n += rc.Count
			}
		}
	}
	return n
}

// ResyncGraphQueries counts the Resource Graph queries of the idle resync.
func (r *Result) ResyncGraphQueries() int64 { return GraphQueries(r.ResyncRequests) }

// GraphQueries counts the Resource Graph queries among rs.
func GraphQueries(rs []RequestCount) int64 {
	var n int64
	for _, rc := range rs {
		if rc.Method == http.MethodPost && strings.EqualFold(rc.Type, "Microsoft.ResourceGraph/resources") {
			n += rc.Count
		}
	}
	return n
}

// Ratio is a makespan divided by the run's critical path (the nominal one when the run's is
// unknown).
func (r *Result) Ratio(makespan time.Duration) float64 {
	cp := r.RunCriticalPath
	if cp == 0 {
		cp = r.CriticalPath
	}
	if cp == 0 {
		return 0
	}
	return float64(makespan) / float64(cp)
}

// MakespanStats returns the minimum, median and maximum of the clusters' makespans.
func (r *Result) MakespanStats() (lo, median, hi time.Duration) {
	if len(r.Makespans) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(r.Makespans)
	slices.Sort(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}

// Run provisions the clusters and measures them. It stops everything it started before
// returning.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.SetDefaults(); err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, removeDir, err := WorkDir(o.Dir, "strata-bench-")
	if err != nil {
		return nil, err
	}
	defer removeDir()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	em, err := startEmulator(ctx, dir, o, logger)
	if err != nil {
		return nil, err
	}
	defer func() { _ = em.Close() }()
	st, err := OpenStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	api, stopServer, err := ServeAPI(ctx, st, logger)
	if err != nil {
		return nil, err
	}
	defer stopServer()

	b := &bench{o: o, em: em, api: api, log: logger}
	if err := b.prepare(ctx); err != nil {
		return nil, err
	}
	obs := &observer{Store: st, progress: o.Progress, start: time.Now(), running: map[string]time.Time{}, passes: map[string]int{}}
	cfg := b.controllerConfig(obs)
	res, err := b.provision(ctx, cfg, obs)
	if err != nil {
		return nil, err
	}
	if err := b.resync(ctx, cfg, obs, res); err != nil {
		return nil, err
	}
	return res, nil
}

// SetDefaults fills the options left zero, and refuses an unknown cluster type.
func (o *Options) SetDefaults() error {
	if o.Clusters <= 0 {
		o.Clusters = 20
	}
	if o.Type == "" {
		o.Type = v1alpha1.ClusterTypeIaaS
	}
	if _, ok := examples[o.Type]; !ok {
		return fmt.Errorf("cluster type %q: must be %s or %s", o.Type, v1alpha1.ClusterTypeIaaS, v1alpha1.ClusterTypeAKS)
	}
	if o.LatencyScale <= 0 {
		o.LatencyScale = 0.05
	}
	if o.Workers <= 0 {
		o.Workers = o.Clusters
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Writes <= 0 {
		o.Writes = 8 / o.LatencyScale
	}
	if o.Reads <= 0 {
		o.Reads = 20 / o.LatencyScale
	}
	if o.PollFrequency <= 0 {
		o.PollFrequency = o.scaled(2 * time.Second)
	}
	return nil
}

// scaled is a duration of the product at the run's scale: time runs 1/LatencyScale times
// faster for everything, Azure's operations and its throttling's refill rates, strata's rate
// limits, polls and requeues.
func (o *Options) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * o.LatencyScale)
}

// startEmulator starts an emulator in dir/emulator with the realistic latency model and
// throttling at the run's scale.
func startEmulator(ctx context.Context, dir string, o Options, logger *slog.Logger) (*emulator.Emulator, error) {
	return StartEmulator(ctx, dir, o.LatencyScale, emulator.KubernetesOptions{}, logger)
}

// StartEmulator starts an emulator in dir/emulator with the realistic latency model and
// throttling at a scale, and real Kubernetes in its clusters when kube.BinDir is set.
// More options may be set by with.
func StartEmulator(ctx context.Context, dir string, scale float64, kube emulator.KubernetesOptions, logger *slog.Logger, with ...func(*emulator.Options)) (*emulator.Emulator, error) {
	opts := emulator.Options{
		StateDir:          dir + "/emulator",
		Listen:            "127.0.0.1:0",
		Latency:           arm.LatencyRealistic,
		LatencyScale:      scale,
		Throttling:        true,
		ThrottleTimeScale: scale,
		// Resource Graph lags writes by seconds, compressed as every other time of the run.
		ResourceGraph: resourcegraph.Options{Lag: time.Duration(float64(resourcegraph.DefaultLag) * scale)},
		Kubernetes:    kube,
		// A benchmark never reloads the emulator's state: saving the whole cloud once a few
		// writes settle would cost more than what is measured, at thousands of resources.
		SaveDelay: time.Minute,
		Logger:    logger.With("component", "emulator"),
	}
	for _, f := range with {
		f(&opts)
	}
	em, err := emulator.New(opts)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if err := em.Start(ctx); err != nil {
		_ = em.Close()
		return nil, fmt.Errorf("start the emulator: %w", err)
	}
	return em, nil
}

// OpenStore opens a SQLite store in dir, its secrets sealed with the key of dir/encryption.key.
func OpenStore(ctx context.Context, dir string) (*sqlite.Store, error) {
	key, err := secrets.LoadOrCreateKeyFile(dir + "/encryption.key")
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	st, err := sqlite.Open(ctx, dir+"/strata.db", sealer)
	if err != nil {
		return nil, fmt.Errorf("open the SQLite store: %w", err)
	}
	return st, nil
}

// ServeAPI serves the API on a loopback port until stop is called, and returns a client of it
// once it answers.
func ServeAPI(ctx context.Context, st store.Store, logger *slog.Logger) (api *client.Client, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("listen for the API: %w", err)
	}
	srvCtx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- server.New(server.Config{Store: st, Logger: logger.With("component", "server")}).Serve(srvCtx, ln)
	}()
	stop = func() {
		cancel()
		<-served
	}
	api, err = client.New("http://" + ln.Addr().String())
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("API client: %w", err)
	}
	if err := waitHealthy(ctx, api); err != nil {
		stop()
		return nil, nil, err
	}
	return api, stop, nil
}

// controllerConfig is the configuration of the run's controllers, on the observed store.
func (b *bench) controllerConfig(obs *observer) controller.Config {
	return b.o.ControllerConfig(obs, b.log)
}

// ControllerConfig is the configuration of a controller on st at the options' scale (their
// defaults set): every time of the controller compressed by LatencyScale, and strata's rate
// limits and polls as the options say. It resyncs hourly: a run resyncs explicitly.
func (o *Options) ControllerConfig(st store.Store, logger *slog.Logger) controller.Config {
	return controller.Config{
		Store:          st,
		Logger:         logger.With("component", "controller"),
		Resync:         time.Hour, // no resync while provisioning; the idle resync is run below
		Workers:        o.Workers,
		AccountWorkers: o.Workers, // one account: every worker may serve it
		PollInterval:   o.scaled(time.Second),
		BootingRequeue: o.scaled(2 * time.Second),
		BackoffBase:    o.scaled(5 * time.Second),
		BackoffMax:     o.scaled(5 * time.Minute),
		Parallelism:    o.Parallelism,
		AzureOptions: azure.Options{Logger: logger.With("component", "azure"), Writes: o.Writes, Reads: o.Reads, PollFrequency: o.PollFrequency,
			// Resource Graph's lag is compressed, and so is how long strata distrusts its rows
			// after a write.
			ResourceGraph: azure.GraphOptions{Recent: o.scaled(azure.DefaultGraphRecent)},
			// A resource group's list is trusted as long, in product time, as in the product.
			ListMaxAge: o.scaled(azure.DefaultListMaxAge)},
	}
}

// bench is one run.
type bench struct {
	o     Options
	em    *emulator.Emulator
	api   *client.Client
	log   *slog.Logger
	fleet *Fleet
	names []string
}

// examples are the example files of each cluster type: its profile and the cluster copied.
var examples = map[string]struct{ profile, cluster string }{
	v1alpha1.ClusterTypeIaaS: {"profile-iaas.yaml", "cluster-iaas-dynamic.yaml"},
	v1alpha1.ClusterTypeAKS:  {"profile-aks.yaml", "cluster-aks.yaml"},
}

// prepare applies the emulator's account and the example profile of the clusters' type, and
// makes the clusters' resource groups in the emulator.
func (b *bench) prepare(ctx context.Context) error {
	f, err := PrepareFleet(ctx, b.em, b.api, FleetOptions{Type: b.o.Type, Clusters: b.o.Clusters, LatencyScale: b.o.LatencyScale, Logger: b.log})
	if err != nil {
		return err
	}
	b.fleet, b.names = f, f.Names
	return nil
}

// ApplyCloudAccount applies the emulator's cloud account, AccountName, through the API, and
// returns it.
func ApplyCloudAccount(ctx context.Context, em *emulator.Emulator, api *client.Client) (*v1alpha1.CloudAccount, error) {
	objs, err := v1alpha1.Decode([]byte(em.CloudAccountYAML(AccountName)))
	if err != nil || len(objs) != 1 {
		return nil, fmt.Errorf("the emulator's cloud account: %w", errors.Join(err, errors.New("want one object")))
	}
	acct, ok := objs[0].(*v1alpha1.CloudAccount)
	if !ok {
		return nil, fmt.Errorf("the emulator's cloud account is a %T", objs[0])
	}
	if _, _, err := api.Apply(ctx, acct, client.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("apply the cloud account: %w", err)
	}
	return acct, nil
}

// cluster returns the i-th cluster.
func (b *bench) cluster(i int) *v1alpha1.Cluster { return b.fleet.Cluster(i) }

// ExampleObject decodes the one object of type T in an embedded example file.
func ExampleObject[T v1alpha1.Object](file string) (T, error) {
	var zero T
	data, err := fs.ReadFile(examplefiles.FS, file)
	if err != nil {
		return zero, fmt.Errorf("example %s: %w", file, err)
	}
	objs, err := v1alpha1.Decode(data)
	if err != nil {
		return zero, fmt.Errorf("example %s: %w", file, err)
	}
	for _, obj := range objs {
		if t, ok := obj.(T); ok {
			return t, nil
		}
	}
	return zero, fmt.Errorf("example %s: no %T in it", file, zero)
}

// provision creates the clusters, waits until all are Running and measures the run.
func (b *bench) provision(ctx context.Context, cfg controller.Config, obs *observer) (*Result, error) {
	res := &Result{Clusters: b.o.Clusters, Type: b.o.Type, LatencyScale: b.o.LatencyScale, names: b.names}
	res.Limits = fmt.Sprintf("%g writes/s, %g reads/s, polls without Retry-After at most %s apart", b.o.Writes, b.o.Reads, b.o.PollFrequency)
	res.ReadBudget, res.WriteBudget = b.o.Reads, b.o.Writes
	before := b.em.Engine().Counters()
	existed := map[string]bool{}
	for _, r := range b.em.Engine().Snapshot().Resources {
		existed[r.ID] = true
	}

	stop := StartController(ctx, cfg)
	defer stop()
	created, err := b.createClusters(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.wait(ctx, "provisioning", func() bool { return obs.runningCount() == len(b.names) }); err != nil {
		return nil, err
	}
	stop()

	last := time.Time{}
	for i, name := range b.names {
		t := obs.runningAt(name)
		res.Makespans = append(res.Makespans, t.Sub(created[i]))
		if t.After(last) {
			last = t
		}
	}
	res.Makespan = last.Sub(slices.MinFunc(created, time.Time.Compare))
	res.Requests = DiffCounters(before, b.em.Engine().Counters())
	snap := b.em.Engine().Snapshot()
	res.countWrites(existed, snap.Resources)
	g, costs, err := b.criticalPaths(ctx, res, snap.Operations)
	if err != nil {
		return nil, err
	}
	slowest := 0
	for i := range b.names {
		if res.Makespans[i] > res.Makespans[slowest] {
			slowest = i
		}
	}
	res.TimelineOf = b.names[slowest]
	res.Timeline = obs.timeline(res.TimelineOf, created[slowest], g, costs[slowest])
	return res, nil
}

// createClusters creates the clusters at once, as many users (or one script) would, and
// returns when each was created.
func (b *bench) createClusters(ctx context.Context) ([]time.Time, error) {
	created := make([]time.Time, len(b.names))
	errs := make([]error, len(b.names))
	var wg sync.WaitGroup
	for i := range b.names {
		wg.Go(func() {
			created[i] = time.Now()
			if _, _, err := b.api.Apply(ctx, b.cluster(i), client.WriteOptions{}); err != nil {
				errs[i] = fmt.Errorf("apply cluster %s: %w", b.names[i], err)
			}
		})
	}
	wg.Wait()
	return created, errors.Join(errs...)
}

// countWrites counts, from r.Requests, the writes attempted and succeeded and, of the
// resources that did not exist before the run, those of the types strata wrote (a PUT, or the
// PATCH of an OS disk's tags); the others (a storage account's blob service, the agent pools
// created inline with their managed cluster) were made by Azure as a consequence.
func (r *Result) countWrites(existed map[string]bool, resources []arm.StoredResource) {
	written := map[string]bool{}
	for _, rc := range r.Requests {
		if isWrite(rc.Method) {
			r.WriteAttempts += rc.Count
			r.Writes += rc.Count - rc.Failed
		}
		if rc.Method == "PUT" || rc.Method == "PATCH" {
			written[strings.ToLower(rc.Type)] = true
		}
	}
	for _, res := range resources {
		switch {
		case existed[res.ID]:
		case written[strings.ToLower(res.Type)]:
			r.Created++
		default:
			r.Implicit++
		}
	}
}

// criticalPaths sets the size of a cluster's graph, its critical path at the model's nominal
// latencies, and the run's: the longest of each cluster's own, its nodes costing what Azure's
// operations on them took. It returns the graph and each cluster's costs.
func (b *bench) criticalPaths(ctx context.Context, res *Result, ops []*arm.Operation) (*plan.Graph, []map[string]time.Duration, error) {
	g, err := b.graph(ctx)
	if err != nil {
		return nil, nil, err
	}
	res.Nodes = len(g.Nodes)
	for _, n := range g.Nodes {
		if n.Managed {
			res.Managed++
		}
	}
	model := b.em.Engine().Latency()
	res.CriticalPath, res.CriticalPathKeys, err = longestPath(g, nominalTimes(g, model))
	if err != nil {
		return nil, nil, err
	}
	times := OperationTimes("create", ops)
	var costs []map[string]time.Duration
	for _, name := range b.names {
		cg, err := b.clusterGraph(ctx, name, g)
		if err != nil {
			return nil, nil, err
		}
		cost := azureTimes(cg, times, model)
		d, _, err := longestPath(cg, cost)
		if err != nil {
			return nil, nil, err
		}
		res.RunCriticalPath = max(res.RunCriticalPath, d)
		costs = append(costs, cost)
	}
	return g, costs, nil
}

// resync runs one idle pass over every cluster with a fresh controller (which resyncs every
// Running cluster at once) and counts the ARM requests it sends.
func (b *bench) resync(ctx context.Context, cfg controller.Config, obs *observer, res *Result) error {
	passes := make(map[string]int, len(b.names))
	for _, name := range b.names {
		passes[name] = obs.passCount(name)
	}
	before := b.em.Engine().Counters()
	start := time.Now()
	stop := StartController(ctx, cfg)
	defer stop()
	err := b.wait(ctx, "the idle resync", func() bool {
		for _, name := range b.names {
			if obs.passCount(name) <= passes[name] {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	stop()
	res.ResyncTime = time.Since(start)
	res.ResyncRequests = DiffCounters(before, b.em.Engine().Counters())
	for _, r := range res.ResyncRequests {
		if isWrite(r.Method) {
			res.ResyncWrites += r.Count
		}
	}
	return nil
}

// wait polls done until it holds or ctx ends.
func (b *bench) wait(ctx context.Context, what string, done func() bool) error {
	return Wait(ctx, what, done)
}

// Wait polls done every 20 ms until it holds or ctx ends.
func Wait(ctx context.Context, what string, done func() bool) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// graph plans the first cluster as the controller does (its zones looked up in the emulator).
func (b *bench) graph(ctx context.Context) (*plan.Graph, error) {
	obj, err := b.api.Get(ctx, v1alpha1.KindCluster, b.names[0])
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", b.names[0], err)
	}
	cl, ok := obj.(*v1alpha1.Cluster)
	if !ok {
		return nil, fmt.Errorf("read cluster %s: unexpected %T", b.names[0], obj)
	}
	zones, err := b.fleet.Azure.ZonesBySize(ctx, cl.Spec.Azure.Location)
	if err != nil {
		return nil, fmt.Errorf("look up the zones: %w", err)
	}
	sec, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("bootstrap secrets: %w", err)
	}
	g, err := plan.Build(plan.Input{
		Cluster:  cl,
		Profiles: []*v1alpha1.ClusterProfile{b.fleet.Profile},
		Env: plan.Environment{
			Zones:        zones,
			ImageBaseURL: controller.DefaultImageBaseURL(b.fleet.Account),
			BlobEndpoint: b.fleet.Azure.BlobEndpoint,
		},
		Secrets: sec,
	})
	if err != nil {
		return nil, fmt.Errorf("plan cluster %s: %w", cl.Key(), err)
	}
	return g, nil
}

// operations maps a plan kind to the emulator's latency-model operation of its create; kinds
// absent (the adopted resource group, a blob container, answered at once; an agent pool,
// created inline with its managed cluster) cost nothing.
var operations = map[plan.Kind]string{
	plan.KindVirtualNetwork:       "Microsoft.Network/virtualNetworks.create",
	plan.KindSubnet:               "Microsoft.Network/virtualNetworks/subnets.create",
	plan.KindNetworkSecurityGroup: "Microsoft.Network/networkSecurityGroups.create",
	plan.KindPublicIPAddress:      "Microsoft.Network/publicIPAddresses.create",
	plan.KindNatGateway:           "Microsoft.Network/natGateways.create",
	plan.KindLoadBalancer:         "Microsoft.Network/loadBalancers.create",
	plan.KindNetworkInterface:     "Microsoft.Network/networkInterfaces.create",
	plan.KindStorageAccount:       "storage.create",
	plan.KindBlobCopy:             "blob.copy",
	plan.KindImage:                "image.create",
	plan.KindVirtualMachine:       "vm.create",
	plan.KindManagedCluster:       "aks.create",
}

// nominalTimes returns what each managed node of g costs in the model: its create's nominal
// duration (jitter 0.5 is the nominal time).
func nominalTimes(g *plan.Graph, model *arm.LatencyModel) map[string]time.Duration {
	cost := map[string]time.Duration{}
	for _, n := range g.Nodes {
		if op, ok := operations[n.Kind]; ok && n.Managed {
			cost[n.Key] = model.Duration(op, 0.5)
		}
	}
	return cost
}

// longestPath returns the longest path through g when each node costs cost[key].
func longestPath(g *plan.Graph, cost map[string]time.Duration) (time.Duration, []string, error) {
	tasks := make([]flow.Task, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		tasks = append(tasks, flow.Task{ID: n.Key, DependsOn: n.DependsOn})
	}
	fg, err := flow.New(tasks...)
	if err != nil {
		return 0, nil, fmt.Errorf("graph of the plan: %w", err)
	}
	d, keys := fg.CriticalPath(func(id string) time.Duration { return cost[id] })
	return d, keys, nil
}

// OperationTimes returns how long each operation of a verb (create, update, delete) the
// emulator ran took, by lower-case resource ID.
func OperationTimes(verb string, ops []*arm.Operation) map[string]time.Duration {
	byID := map[string]time.Duration{}
	for _, op := range ops {
		if op.Verb == verb {
			byID[strings.ToLower(op.ResourceID)] = op.Deadline.Sub(op.Start)
		}
	}
	return byID
}

// azureTimes returns how long Azure worked on each managed node of g: the duration of the
// create operation the emulator ran for its resource (ops, from createTimes), and the nominal
// time of a blob copy.
func azureTimes(g *plan.Graph, ops map[string]time.Duration, model *arm.LatencyModel) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, n := range g.Nodes {
		switch {
		case !n.Managed:
		case n.Kind == plan.KindBlobCopy:
			out[n.Key] = model.Duration(operations[plan.KindBlobCopy], 0.5)
		default:
			out[n.Key] = ops[strings.ToLower(n.ID)]
		}
	}
	return out
}

// clusterGraph returns g, which has the shape of every cluster's graph, with the resource IDs
// of the named cluster, read from its inventory.
func (b *bench) clusterGraph(ctx context.Context, name string, g *plan.Graph) (*plan.Graph, error) {
	obj, err := b.api.Get(ctx, v1alpha1.KindCluster, name)
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", name, err)
	}
	cl, ok := obj.(*v1alpha1.Cluster)
	if !ok {
		return nil, fmt.Errorf("read cluster %s: unexpected %T", name, obj)
	}
	ids := map[string]string{}
	for _, it := range cl.Status.Inventory {
		ids[it.Key] = it.ID
	}
	h := &plan.Graph{Cluster: name, Nodes: make([]*plan.Node, len(g.Nodes))}
	for i, n := range g.Nodes {
		c := *n
		c.ID = ids[n.Key]
		h.Nodes[i] = &c
	}
	return h, nil
}

// isWrite reports whether an HTTP method writes.
func isWrite(method string) bool {
	switch strings.ToUpper(method) {
	case "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}

// WriteAttempts counts the writes among rs, failed ones included.
func WriteAttempts(rs []RequestCount) int64 {
	var n int64
	for _, rc := range rs {
		if isWrite(rc.Method) {
			n += rc.Count
		}
	}
	return n
}

// DiffCounters returns after minus before, by method and type.
func DiffCounters(before, after []arm.Counter) []RequestCount {
	type key struct{ method, typ string }
	type val struct{ n, failed int64 }
	m := map[key]val{}
	add := func(cs []arm.Counter, sign int64) {
		for _, c := range cs {
			k := key{c.Method, c.Type}
			v := m[k]
			v.n += sign * c.Count
			if c.Status == 0 || c.Status >= 400 {
				v.failed += sign * c.Count
			}
			m[k] = v
		}
	}
	add(after, 1)
	add(before, -1)
	var out []RequestCount
	for k, v := range m {
		if v.n != 0 {
			out = append(out, RequestCount{Method: k.method, Type: k.typ, Count: v.n, Failed: v.failed})
		}
	}
	slices.SortFunc(out, func(a, b RequestCount) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// StartController runs a controller until the returned function is called (idempotent).
func StartController(ctx context.Context, cfg controller.Config) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = controller.New(cfg).Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// waitHealthy waits until the API answers /healthz.
func waitHealthy(ctx context.Context, api *client.Client) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := api.Healthz(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("the API did not become healthy: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// observer is the controller's store, watched: it records when each cluster is first written
// Running and counts the controller's passes (one lease release each).
type observer struct {
	store.Store
	progress io.Writer // nil: no progress lines
	start    time.Time

	mu      sync.Mutex
	running map[string]time.Time
	passes  map[string]int
	// started and ready are when each node of each cluster first appeared in the inventory
	// and when it was first marked ready (cluster → key → time).
	started, ready map[string]map[string]time.Time
}

// Update records the first time a cluster is written Running.
func (o *observer) Update(ctx context.Context, obj v1alpha1.Object) error {
	err := o.Store.Update(ctx, obj)
	cl, ok := obj.(*v1alpha1.Cluster)
	if ok && err == nil {
		o.recordInventory(cl)
	}
	if ok && err == nil && cl.Status.Phase == controller.PhaseRunning {
		o.mu.Lock()
		if _, seen := o.running[cl.Key()]; !seen {
			now := time.Now()
			o.running[cl.Key()] = now
			if o.progress != nil {
				fmt.Fprintf(o.progress, "  %-10s Running after %s (%d running)\n", cl.Key(), now.Sub(o.start).Round(time.Millisecond), len(o.running))
			}
		}
		o.mu.Unlock()
	}
	return err
}

// ReleaseLease counts the end of a pass over a cluster.
func (o *observer) ReleaseLease(ctx context.Context, name, holder string) error {
	err := o.Store.ReleaseLease(ctx, name, holder)
	if cluster, ok := strings.CutPrefix(name, "cluster/"); ok {
		o.mu.Lock()
		o.passes[cluster]++
		o.mu.Unlock()
	}
	return err
}

// recordInventory notes when each inventory item of a cluster is first seen and first ready.
func (o *observer) recordInventory(cl *v1alpha1.Cluster) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.started == nil {
		o.started, o.ready = map[string]map[string]time.Time{}, map[string]map[string]time.Time{}
	}
	st, rd := o.started[cl.Key()], o.ready[cl.Key()]
	if st == nil {
		st, rd = map[string]time.Time{}, map[string]time.Time{}
		o.started[cl.Key()], o.ready[cl.Key()] = st, rd
	}
	for _, it := range cl.Status.Inventory {
		if _, seen := st[it.Key]; !seen {
			st[it.Key] = now
		}
		if _, seen := rd[it.Key]; it.Ready && !seen {
			rd[it.Key] = now
		}
	}
}

// timeline returns the nodes of one cluster in the order they started, with when each was
// started and ready (from t0, the cluster's creation) and how long Azure worked on it.
func (o *observer) timeline(cluster string, t0 time.Time, g *plan.Graph, azureTime map[string]time.Duration) []NodeTiming {
	o.mu.Lock()
	defer o.mu.Unlock()
	st, rd := o.started[cluster], o.ready[cluster]
	var out []NodeTiming
	for _, n := range g.Nodes {
		s, ok := st[n.Key]
		if !ok {
			continue
		}
		nt := NodeTiming{Key: n.Key, Start: s.Sub(t0), Azure: azureTime[n.Key]}
		if r, ok := rd[n.Key]; ok {
			nt.Ready = r.Sub(t0)
		}
		out = append(out, nt)
	}
	slices.SortFunc(out, func(a, b NodeTiming) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

func (o *observer) runningCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.running)
}

func (o *observer) runningAt(name string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.running[name]
}

func (o *observer) passCount(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.passes[name]
}

// Print writes the result as a human-readable report.
func (r *Result) Print(w io.Writer) {
	lo, med, hi := r.MakespanStats()
	fmt.Fprintf(w, "clusters            %d of type %s (latency: realistic x %g; strata's limits %s)\n", r.Clusters, r.Type, r.LatencyScale, r.Limits)
	fmt.Fprintf(w, "graph of a cluster  %d nodes, %d created by strata\n", r.Nodes, r.Managed)
	fmt.Fprintf(w, "critical path       %s nominal: %s\n", r.CriticalPath.Round(time.Millisecond), strings.Join(r.CriticalPathKeys, " -> "))
	fmt.Fprintf(w, "                    %s as Azure's operations took in this run (longest cluster); ratios below are against it\n", r.RunCriticalPath.Round(time.Millisecond))
	fmt.Fprintf(w, "makespan            overall %s (%.2f x critical path)\n", r.Makespan.Round(time.Millisecond), r.Ratio(r.Makespan))
	fmt.Fprintf(w, "  per cluster       min %s (%.2f), median %s (%.2f), max %s (%.2f)\n",
		lo.Round(time.Millisecond), r.Ratio(lo), med.Round(time.Millisecond), r.Ratio(med), hi.Round(time.Millisecond), r.Ratio(hi))
	fmt.Fprintf(w, "ARM requests while provisioning (per cluster; failed ones in brackets):\n")
	PrintRequests(w, r.Requests, r.Clusters)
	fmt.Fprintf(w, "ARM writes          %d succeeded, %d attempted, for %d resources created or tagged (and %d made by Azure, e.g. inline agent pools): %.2f writes per created resource\n",
		r.Writes, r.WriteAttempts, r.Created, r.Implicit, r.WritesPerResource())
	fmt.Fprintf(w, "ARM reads           %.2f per created resource (resource groups listed, resources read before a write, operation polls, lookups)\n", r.ReadsPerResource())
	bound := r.MakespanBound()
	fmt.Fprintf(w, "makespan bound      %s = max(critical path %s, %d reads / %g reads/s, %d writes / %g writes/s): makespan %.2f x it\n",
		bound.Round(time.Millisecond), r.RunCriticalPath.Round(time.Millisecond), Reads(r.Requests), r.ReadBudget,
		BudgetWrites(r.Requests), r.WriteBudget, float64(r.Makespan)/float64(max(bound, 1)))
	readBound := max(r.RunCriticalPath, r.ReadBound())
	fmt.Fprintf(w, "                    without the write budget: %s = max(critical path, reads / reads/s): makespan %.2f x it\n",
		readBound.Round(time.Millisecond), float64(r.Makespan)/float64(max(readBound, 1)))
	fmt.Fprintf(w, "idle resync         %d clusters in %s: %d ARM writes, %d requests\n",
		r.Clusters, r.ResyncTime.Round(time.Millisecond), r.ResyncWrites, total(r.ResyncRequests))
	fmt.Fprintf(w, "                    %d Resource Graph queries for %d resources (%.2f per 1,000), %d ARM reads (%.2f per resource)\n",
		r.ResyncGraphQueries(), r.Created, perThousand(r.ResyncGraphQueries(), r.Created), Reads(r.ResyncRequests), float64(Reads(r.ResyncRequests))/float64(max(r.Created, 1)))
	PrintRequests(w, r.ResyncRequests, r.Clusters)
}

// PrintTimeline writes the first cluster's timeline.
func (r *Result) PrintTimeline(w io.Writer) {
	fmt.Fprintf(w, "timeline of %s, the slowest cluster: %d nodes (start, ready, strata's time, Azure's time):\n", r.TimelineOf, len(r.Timeline))
	for _, n := range r.Timeline {
		fmt.Fprintf(w, "  %-32s %8s %8s %8s %8s\n", n.Key, n.Start.Round(time.Millisecond), n.Ready.Round(time.Millisecond),
			(n.Ready - n.Start).Round(time.Millisecond), n.Azure.Round(time.Millisecond))
	}
	for i, name := range r.names {
		if name == r.TimelineOf {
			fmt.Fprintf(w, "  %-32s %8s\n", "Running", r.Makespans[i].Round(time.Millisecond))
		}
	}
}

// PrintRequests writes request counts, divided by the number of clusters.
func PrintRequests(w io.Writer, rs []RequestCount, clusters int) {
	for _, rc := range rs {
		failed := ""
		if rc.Failed > 0 {
			failed = fmt.Sprintf(" (%.2f)", float64(rc.Failed)/float64(clusters))
		}
		fmt.Fprintf(w, "  %8.2f%s  %-6s %s\n", float64(rc.Count)/float64(clusters), failed, rc.Method, rc.Type)
	}
}

// perThousand is n per 1,000 of of.
func perThousand(n int64, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) * 1000 / float64(of)
}

// total is the sum of the counts.
func total(rs []RequestCount) int64 {
	var n int64
	for _, r := range rs {
		n += r.Count
	}
	return n
}
