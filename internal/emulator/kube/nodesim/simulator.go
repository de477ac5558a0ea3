package nodesim

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Defaults of Options.
const (
	// DefaultGrace is how long a gone machine's Node stays before it is deleted.
	DefaultGrace = 40 * time.Second
	// DefaultLeaseInterval is the node lease renewal period.
	DefaultLeaseInterval = 10 * time.Second
)

const (
	// podWorkers is how many pods are synced at once.
	podWorkers = 4
	// apiTimeout bounds each API call.
	apiTimeout = 30 * time.Second
	// minBackoff and maxBackoff bound the wait before a failed node sync is retried.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// nodeNameIndex indexes the pod cache by spec.nodeName.
	nodeNameIndex = "nodeName"
)

// Options configure a Simulator.
type Options struct {
	// Logger receives the simulator's logs; nil discards them.
	Logger *slog.Logger
	// Grace is how long the Node of a machine that is gone (absent from SetNodes, or not
	// Running and not Shutdown) stays NotReady before it is deleted; 0 means DefaultGrace.
	Grace time.Duration
	// LeaseInterval is the period of node lease renewals; nodes' Ready condition heartbeat
	// is refreshed about every 4 of them. 0 means DefaultLeaseInterval.
	LeaseInterval time.Duration
	// Runner, if set, runs the pods it claims as local processes.
	Runner Runner
	// APIServer and APIServerCA are the API server's URL and CA (PEM). When set, each
	// Runner process gets a kubeconfig of its pod's service account (KubeconfigEnv).
	APIServer   string
	APIServerCA []byte
	// Loopback is where Runner pods get their IPs; nil: a pool of the simulator's own. Share
	// one between the simulators of one machine.
	Loopback *LoopbackPool
}

// Simulator keeps the Nodes of a set of machines in a cluster's API server and plays the
// kubelet's part for the pods bound to them; see the package documentation. Its methods are
// safe for concurrent use.
type Simulator struct {
	client  kubernetes.Interface
	opts    Options
	log     *slog.Logger
	kick    chan struct{}
	started atomic.Bool

	mu       sync.Mutex
	desired  map[string]Node       // the last SetNodes by name; nil before the first
	active   map[string]activeNode // the nodes whose pods are simulated
	pools    map[string]*ipPool    // pod IPs by node name
	loopback *ipPool               // pod IPs of the pods a Runner runs
	pods     map[types.UID]*podState
	bg       sync.WaitGroup // goroutines stopping Runner processes

	// Owned by the node loop.
	tracked map[string]*nodeState
	cidrs   *cidrAllocator

	// Set by Run before anything else starts.
	nodeLister corelisters.NodeLister
	podIndexer cache.Indexer
	queue      workqueue.TypedRateLimitingInterface[string]
}

// New returns a Simulator that keeps nodes through client, once Run.
func New(client kubernetes.Interface, opts Options) *Simulator {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.LeaseInterval <= 0 {
		opts.LeaseInterval = DefaultLeaseInterval
	}
	return &Simulator{
		client:   client,
		opts:     opts,
		log:      opts.Logger,
		kick:     make(chan struct{}, 1),
		active:   map[string]activeNode{},
		pools:    map[string]*ipPool{},
		loopback: loopbackPool(opts.Loopback),
		pods:     map[types.UID]*podState{},
		tracked:  map[string]*nodeState{},
		cidrs:    newCIDRAllocator(),
	}
}

// SetNodes sets the machines the simulator keeps Nodes for; a Node whose machine is absent
// is a machine that is gone. It may be called at any time, before or while Run runs, and
// triggers a sync at once.
func (s *Simulator) SetNodes(nodes []Node) {
	desired := make(map[string]Node, len(nodes))
	for _, n := range nodes {
		n.Labels = maps.Clone(n.Labels)
		n.Taints = slices.Clone(n.Taints)
		desired[n.Name] = n
	}
	s.mu.Lock()
	s.desired = desired
	s.mu.Unlock()
	s.trigger()
}

// trigger has the node loop sync soon.
func (s *Simulator) trigger() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run keeps the nodes and simulates their pods until ctx is done, then stops the Runner's
// processes and returns nil. API errors are logged and retried with backoff. Run may be
// called once.
func (s *Simulator) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("node simulator: Run called twice")
	}
	s.queue = workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 10*time.Second))
	nodeFactory := informers.NewSharedInformerFactory(s.client, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(s.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
	}))
	nodeInformer := nodeFactory.Core().V1().Nodes()
	podInformer := podFactory.Core().V1().Pods().Informer()
	if err := s.watch(nodeInformer.Informer(), podInformer); err != nil {
		return err
	}
	s.nodeLister, s.podIndexer = nodeInformer.Lister(), podInformer.GetIndexer()
	nodeFactory.Start(ctx.Done())
	podFactory.Start(ctx.Done())
	defer podFactory.Shutdown()
	defer nodeFactory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodeInformer.Informer().HasSynced, podInformer.HasSynced) {
		s.queue.ShutDown()
		return nil
	}
	s.log.Debug("node simulator caches synced")
	var workers sync.WaitGroup
	for range podWorkers {
		workers.Go(func() { s.podWorker(ctx) })
	}
	s.nodeLoop(ctx)
	s.queue.ShutDown()
	workers.Wait()
	s.stopAll()
	return nil
}

// watch adds the informers' event handlers, the pod index and the watch error logging.
func (s *Simulator) watch(nodes, pods cache.SharedIndexInformer) error {
	logWatchError := func(_ context.Context, r *cache.Reflector, err error) {
		s.log.Debug("watch failed, retrying", "reflector", r.TypeDescription(), "err", err)
	}
	if err := errors.Join(nodes.SetWatchErrorHandlerWithContext(logWatchError), pods.SetWatchErrorHandlerWithContext(logWatchError)); err != nil {
		return errors.Join(errors.New("node simulator: setting watch error handlers"), err)
	}
	if err := pods.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return errors.Join(errors.New("node simulator: adding the pod index"), err)
	}
	_, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.nodeEvent(obj) },
		UpdateFunc: func(_, obj any) { s.nodeEvent(obj) },
		DeleteFunc: func(obj any) { s.nodeEvent(obj) },
	})
	if err != nil {
		return errors.Join(errors.New("node simulator: adding the node handler"), err)
	}
	_, err = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.podEvent(obj) },
		UpdateFunc: func(_, obj any) { s.podEvent(obj) },
		DeleteFunc: func(obj any) { s.podDeleted(obj) },
	})
	if err != nil {
		return errors.Join(errors.New("node simulator: adding the pod handler"), err)
	}
	return nil
}

// nodeEvent triggers a sync when one of the simulator's Nodes changes.
func (s *Simulator) nodeEvent(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	s.mu.Lock()
	_, ours := s.desired[n.Name]
	s.mu.Unlock()
	if ours || n.Annotations[SimulatedAnnotation] != "" {
		s.trigger()
	}
}

// nodeLoop syncs the nodes when triggered, when a lease is due, or to retry, until ctx is
// done.
func (s *Simulator) nodeLoop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-timer.C:
		}
		next, err := s.syncNodes(ctx)
		if err != nil && ctx.Err() == nil {
			failures++
			level := slog.LevelDebug
			if failures >= 3 {
				level = slog.LevelWarn
			}
			s.log.Log(ctx, level, "syncing nodes failed, retrying", "err", err, "failures", failures)
			next = min(next, minBackoff<<min(failures-1, 6), maxBackoff)
		} else {
			failures = 0
		}
		timer.Reset(next)
	}
}

// stopAll stops every Runner process, once the pod workers are done.
func (s *Simulator) stopAll() {
	s.mu.Lock()
	for _, ps := range s.pods {
		s.stopLocked(ps)
	}
	s.mu.Unlock()
	s.bg.Wait()
}

// loopbackPool is the shared pool's, or a new one.
func loopbackPool(shared *LoopbackPool) *ipPool {
	if shared != nil {
		return shared.pool
	}
	return newIPPool(loopbackCIDR, 1)
}
