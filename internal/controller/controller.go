// Package controller is the cluster reconciler: it claims clusters with leases in the store,
// plans their Azure resources (internal/plan), runs the plan's graph with internal/flow through
// the Azure services (internal/azure), and writes what it observed back as the cluster's status:
// inventory, progress, conditions, phase and events.
//
// The controller knows nothing of the HTTP server. It reads and writes objects only through the
// Store interface and reaches Azure only through the Clients interface, so the same engine can
// run inside a private cloud gateway that talks to the server over a remote stream.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/holder"
	"github.com/strata-dev/strata/internal/store"
)

// Finalizer is set on a cluster before strata's first write to Azure and removed once every
// Azure resource strata created for it is gone.
const Finalizer = "strata.dev/azure-resources"

// Condition types of a cluster.
const (
	ConditionAccountValid      = "AccountValid"
	ConditionNetworkReady      = "NetworkReady"
	ConditionStorageReady      = "StorageReady"
	ConditionControlPlaneReady = "ControlPlaneReady"
	ConditionNodePoolsReady    = "NodePoolsReady"
	ConditionReady             = "Ready"
	// ConditionResourceNameConflict is True while a resource strata would create exists and is
	// someone else's (reason ReasonResourceNameConflict); absent otherwise.
	ConditionResourceNameConflict = "ResourceNameConflict"
)

// ReasonResourceNameConflict is the reason of ConditionResourceNameConflict, and of the
// conditions of the resources it stops.
const ReasonResourceNameConflict = "ResourceNameConflict"

// Phases of a cluster.
const (
	PhasePending      = "Pending"
	PhaseProvisioning = "Provisioning"
	PhaseRunning      = "Running"
	PhaseUpdating     = "Updating"
	PhaseDeleting     = "Deleting"
	PhaseFailed       = "Failed"
)

// Store is what the controller needs of the object store; every store.Store is one. A gateway
// implements it over its stream to the server.
type Store interface {
	Get(ctx context.Context, kind, key string) (v1alpha1.Object, error)
	List(ctx context.Context, kind string, opts store.ListOptions) (store.ListResult, error)
	Update(ctx context.Context, obj v1alpha1.Object) error
	Delete(ctx context.Context, kind, key, resourceVersion string) error
	RecordEvent(ctx context.Context, ev store.Event) error
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	PutSecret(ctx context.Context, name string, plaintext []byte) error
	GetSecret(ctx context.Context, name string) ([]byte, error)
	DeleteSecret(ctx context.Context, name string) error
}

// Clients is what the controller needs of one account's Azure clients in one subscription;
// *azure.Clients is one.
type Clients interface {
	// Applier makes plan nodes real.
	Applier() azure.Applier
	// ZonesBySize maps VM sizes to the zones the location offers them in.
	ZonesBySize(ctx context.Context, location string) (map[string][]string, error)
	// BlobEndpoint is a storage account's blob endpoint.
	BlobEndpoint(account string) string
	// Kubeconfig returns the kubeconfig Azure lists for an AKS cluster (the admin one when
	// admin is set): a secret, kept in memory only.
	Kubeconfig(ctx context.Context, resourceGroup, name string, admin bool) ([]byte, error)
}

// Config configures a Controller.
type Config struct {
	// Store keeps the clusters, their accounts and profiles, leases and secrets. Required.
	Store Store
	// Holder names this controller in leases; default hostname, pid and a random suffix.
	Holder string
	// Logger receives the controller's logs; nil discards them.
	Logger *slog.Logger
	// Resync is how often a Running cluster is compared with Azure again (default 5 min).
	Resync time.Duration
	// LeaseTTL is how long a claim on a cluster lasts unless renewed (default 30 s); it is
	// renewed every third of it while the cluster is worked on.
	LeaseTTL time.Duration
	// Workers is how many objects (clusters, accounts) are worked on at once, all cloud
	// accounts together (default 32).
	Workers int
	// AccountWorkers is how many objects of one cloud account are worked on at once (default
	// 4): an account whose Azure endpoints hang holds at most that many workers, and the
	// other accounts' clusters do not wait for them.
	AccountWorkers int
	// PollInterval is how often the store is listed for clusters needing work (default 1 s).
	PollInterval time.Duration
	// BackoffBase and BackoffMax bound the exponential backoff after a failed pass
	// (default 5 s and 5 min).
	BackoffBase, BackoffMax time.Duration
	// BootingRequeue is how soon a cluster whose resources all exist is looked at again
	// while its VMs are not all running yet (default 2 s).
	BootingRequeue time.Duration
	// TaskTimeout bounds each resource's create, update or delete (default 30 min).
	TaskTimeout time.Duration
	// Parallelism caps the resources of one cluster worked on at once (default 16).
	Parallelism int
	// AzureOptions are given to azure.NewClients by the default NewClients.
	AzureOptions azure.Options
	// NewClients builds an account's clients for a subscription; default azure.NewClients.
	// Clients are cached per account version and subscription.
	NewClients func(ctx context.Context, acct *v1alpha1.CloudAccount, subscriptionID string) (Clients, error)
	// ImageBaseURL says where an account's cloud serves the OS layers' base VHDs; default
	// DefaultImageBaseURL.
	ImageBaseURL func(acct *v1alpha1.CloudAccount) string
	// AccountResync is how often a cloud account that did not change is checked against Azure
	// again (default 30 min); a changed one is checked at once, once.
	AccountResync time.Duration
	// AccountCheckTimeout bounds one account check (default 2 min).
	AccountCheckTimeout time.Duration
	// ListSubscriptions signs in with an account and lists the subscriptions it can access;
	// default azure.ListSubscriptions with AzureOptions.
	ListSubscriptions func(ctx context.Context, acct *v1alpha1.CloudAccount) ([]string, error)
	// CheckKubernetes turns on reading each cluster's own API once its control plane runs in
	// Azure (GET /version and one list of nodes per pass): condition KubernetesReady and
	// status.kubernetes, and a cluster is Running only once its API answers and its nodes are
	// Ready. Off by default (strata server turns it on: --check-kubernetes).
	CheckKubernetes bool
	// KubernetesTimeout bounds each request to a cluster's API, and the dial and TLS handshake
	// (default 10 s).
	KubernetesTimeout time.Duration
	// KubernetesRequeue is how soon a Running cluster whose Kubernetes is not ready (its API
	// does not answer, a node is not Ready) is looked at again (default 30 s, at most Resync).
	KubernetesRequeue time.Duration
	// Agent, when set, installs each cluster's agent, and a cluster is Running only once its
	// agent is connected and its layers are ready (the conditions the agent hub writes). An
	// IaaS cluster's init VM gets the agent's manifest in its custom data, and its cloud-init
	// applies it after kubeadm init; the controller installs it through the API only when it
	// is still missing AgentInstallGrace after the API first answered. An AKS cluster's is
	// applied through its API once it answers. Both need CheckKubernetes.
	Agent AgentInstaller
	// AgentInstallGrace is how long after an IaaS cluster's API first answered the controller
	// waits for the init machine's cloud-init to install the agent, before it installs it
	// through the API (default DefaultAgentInstallGrace).
	AgentInstallGrace time.Duration
	// Gateway names the private cloud gateway this controller runs in; empty in the server.
	// A controller works only on the cloud accounts whose spec.gateway is this name (the
	// server's: those bound to none), and on their clusters.
	Gateway string
	// WrapKubernetesTransport, when set, wraps the transport of every cluster API client (to
	// count or trace requests).
	WrapKubernetesTransport func(http.RoundTripper) http.RoundTripper
}

// DefaultImageBaseURL is where base VHDs are read from: for the Custom environment the
// "strataimages" account's public "vhds" container on the Resource Manager host (what the
// strata emulator serves), for the public clouds https://strataimages.blob.core.windows.net/vhds/.
func DefaultImageBaseURL(acct *v1alpha1.CloudAccount) string {
	if acct.Spec.Azure.Environment == v1alpha1.EnvironmentCustom && acct.Spec.Azure.Endpoints != nil {
		if u, err := url.Parse(acct.Spec.Azure.Endpoints.ResourceManager); err == nil && u.Host != "" {
			return "https://" + u.Host + "/strataimages/vhds/"
		}
	}
	return "https://strataimages.blob.core.windows.net/vhds/"
}

// Controller reconciles clusters. Create it with New and start it with Run.
type Controller struct {
	cfg Config
	log *slog.Logger

	// passes are the passes under way.
	passes sync.WaitGroup

	// objects are the clusters and cloud accounts as last scanned; the scan loop owns it.
	objects *mirror

	mu         sync.Mutex
	states     map[objKey]*objState
	clients    map[string]Clients     // by account UID, generation and subscription
	kube       map[string]*kubeClient // clients of the clusters' APIs, by cluster
	inFlight   map[objKey]string      // the objects being worked on, and their accounts
	perAccount map[string]int         // passes under way by account
	queue      []candidate            // due at the last scan, waiting for a worker
}

// kindCluster is the kind of the objects of the cluster reconciler.
const kindCluster = v1alpha1.KindCluster

// New returns a controller; it panics when cfg.Store is nil.
func New(cfg Config) *Controller {
	if cfg.Store == nil {
		panic("controller.New: Config.Store is nil")
	}
	cfg = withAzureDefaults(withTimingDefaults(cfg))
	if cfg.Holder == "" {
		cfg.Holder = DefaultHolder()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Controller{
		cfg:        cfg,
		log:        cfg.Logger,
		objects:    newMirror(cfg.Store, kindCluster, kindAccount),
		states:     map[objKey]*objState{},
		clients:    map[string]Clients{},
		kube:       map[string]*kubeClient{},
		inFlight:   map[objKey]string{},
		perAccount: map[string]int{},
	}
}

// withTimingDefaults fills the intervals, timeouts and worker counts left zero.
func withTimingDefaults(cfg Config) Config {
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Minute
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.AccountWorkers <= 0 {
		cfg.AccountWorkers = 4
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.BootingRequeue <= 0 {
		cfg.BootingRequeue = 2 * time.Second
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 5 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Minute
	}
	if cfg.TaskTimeout <= 0 {
		cfg.TaskTimeout = 30 * time.Minute
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = 16
	}
	if cfg.AccountResync <= 0 {
		cfg.AccountResync = 30 * time.Minute
	}
	if cfg.AccountCheckTimeout <= 0 {
		cfg.AccountCheckTimeout = 2 * time.Minute
	}
	if cfg.KubernetesTimeout <= 0 {
		cfg.KubernetesTimeout = 10 * time.Second
	}
	if cfg.KubernetesRequeue <= 0 {
		cfg.KubernetesRequeue = 30 * time.Second
	}
	if cfg.AgentInstallGrace <= 0 {
		cfg.AgentInstallGrace = DefaultAgentInstallGrace
	}
	return cfg
}

// withAzureDefaults fills the Azure seams left nil: clients and subscription lists through
// the SDK with cfg.AzureOptions (whose Resource Graph snapshots last a resync period, so it
// runs after withTimingDefaults), and the public image base URL.
func withAzureDefaults(cfg Config) Config {
	if cfg.AzureOptions.ResourceGraph.MaxAge <= 0 {
		// One Resource Graph snapshot of a subscription serves a resync of all its clusters.
		cfg.AzureOptions.ResourceGraph.MaxAge = cfg.Resync
	}
	if cfg.NewClients == nil {
		opts := cfg.AzureOptions
		cfg.NewClients = func(ctx context.Context, acct *v1alpha1.CloudAccount, sub string) (Clients, error) {
			c, err := azure.NewClients(ctx, acct, sub, opts)
			if err != nil {
				return nil, err
			}
			return c, nil
		}
	}
	if cfg.ImageBaseURL == nil {
		cfg.ImageBaseURL = DefaultImageBaseURL
	}
	if cfg.ListSubscriptions == nil {
		opts := cfg.AzureOptions
		cfg.ListSubscriptions = func(ctx context.Context, acct *v1alpha1.CloudAccount) ([]string, error) {
			return azure.ListSubscriptions(ctx, acct, opts)
		}
	}
	return cfg
}

// DefaultHolder names a process in leases when it is given no identity: the host name and a
// random suffix, new at every start (a server keeps one in its data directory: see
// internal/holder).
func DefaultHolder() string { return holder.Fresh() }

// Run works on the clusters that need it until ctx ends, then waits for the passes under way
// to stop and returns nil.
func (c *Controller) Run(ctx context.Context) error {
	c.log.Info("controller started", "holder", c.cfg.Holder, "workers", c.cfg.Workers,
		"accountWorkers", c.cfg.AccountWorkers, "resync", c.cfg.Resync)
	ticker := time.NewTicker(c.cfg.PollInterval)
	defer ticker.Stop()
	for {
		c.scan(ctx)
		select {
		case <-ctx.Done():
			c.passes.Wait()
			c.log.Info("controller stopped")
			return nil
		case <-ticker.C:
		}
	}
}

// scan brings the clusters and cloud accounts up to date from the store, and starts passes over
// those due as far as workers allow; the others wait in the queue for a worker to be released.
func (c *Controller) scan(ctx context.Context) {
	listedAt := time.Now()
	if err := c.objects.sync(ctx); err != nil {
		if ctx.Err() == nil {
			c.log.Error("read the clusters and cloud accounts", "error", err)
		}
		return
	}
	now := time.Now()
	accounts, gatewayOf := c.dueAccounts(now)
	clusters := c.dueClusters(now, gatewayOf)
	c.dispatch(ctx, append(accounts, clusters...), listedAt)
}

// servedHere reports whether a controller running in gateway (empty: the server) works on an
// account bound to accountGateway: each account is worked on in one place only.
func servedHere(accountGateway, gateway string) bool { return accountGateway == gateway }

// dueClusters returns the clusters due for a pass, among those of the accounts served here
// (gatewayOf maps each account to its gateway).
func (c *Controller) dueClusters(now time.Time, gatewayOf map[string]string) []candidate {
	var cands []candidate
	listed := map[string]bool{}
	c.objects.each(kindCluster, func(obj v1alpha1.Object) {
		cl, ok := obj.(*v1alpha1.Cluster)
		if !ok || !servedHere(gatewayOf[cl.Spec.CloudAccount], c.cfg.Gateway) {
			return
		}
		listed[cl.Key()] = true
		key := objKey{kindCluster, cl.Key()}
		m := cl.Metadata
		pending := m.DeletionTimestamp != nil || m.Generation != cl.Status.ObservedGeneration
		c.mu.Lock()
		since, ok := c.due(key, m.ResourceVersion, pending, now, func(st *objState) bool {
			return needsWork(cl, st, now, c.cfg.Resync)
		})
		c.mu.Unlock()
		if ok {
			cands = append(cands, candidate{key: key, account: cl.Spec.CloudAccount, since: since})
		}
	})
	c.forget(kindCluster, listed)
	return cands
}

// needsWork reports whether a cluster (already past its requeue time) needs a pass.
func needsWork(cl *v1alpha1.Cluster, st *objState, now time.Time, resync time.Duration) bool {
	m := cl.Metadata
	switch {
	case m.DeletionTimestamp != nil:
		return true
	case m.Generation != cl.Status.ObservedGeneration:
		return true
	case cl.Status.Phase != PhaseRunning && cl.Status.Phase != PhasePending:
		return true
	case cl.Status.Phase == PhaseRunning && !conditionTrue(&cl.Status.Status, ConditionReady):
		// Running, but its Kubernetes is not ready: looked at again after KubernetesRequeue.
		return true
	}
	return st.lastSync.IsZero() || now.Sub(st.lastSync) >= resync
}

// conditionTrue reports whether the status has the condition, True.
func conditionTrue(s *v1alpha1.Status, typ string) bool {
	c := statusCondition(s, typ)
	return c != nil && c.Status == "True"
}

// processCluster claims the cluster's lease, runs one pass and schedules the next.
func (c *Controller) processCluster(ctx context.Context, key objKey) {
	after, seen, ok, err := c.leased(ctx, "cluster/"+key.name, "cluster", key.name, func(ctx context.Context) (time.Duration, string, error) {
		return c.reconcile(ctx, key.name)
	})
	if !ok {
		c.schedule(key, c.cfg.LeaseTTL/3, nil, false, "")
		return
	}
	if err != nil && ctx.Err() == nil {
		c.log.Warn("reconcile failed", "cluster", key.name, "error", err, "permanent", azure.IsPermanent(err))
	}
	c.schedule(key, after, err, err == nil && after >= c.cfg.Resync, seen)
}

// leased runs work while holding the lease, renewed every third of its TTL, and releases it;
// work's context ends when the lease is lost. ok is false when the lease could not be taken
// (another server holds it): work did not run.
func (c *Controller) leased(ctx context.Context, lease, kind, name string, work func(context.Context) (time.Duration, string, error)) (after time.Duration, seen string, ok bool, err error) {
	ok, err = c.cfg.Store.AcquireLease(ctx, lease, c.cfg.Holder, c.cfg.LeaseTTL)
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			c.log.Error("acquire lease", kind, name, "error", err)
		}
		return 0, "", false, nil
	}
	workCtx, cancel := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		c.renew(workCtx, cancel, lease, kind, name)
	}()
	after, seen, err = work(workCtx)
	cancel()
	<-renewed
	if rerr := c.cfg.Store.ReleaseLease(context.WithoutCancel(ctx), lease, c.cfg.Holder); rerr != nil {
		c.log.Warn("release lease", kind, name, "error", rerr)
	}
	return after, seen, true, err
}

// renew renews a lease every third of its TTL until ctx ends, and cancels the work when the
// lease is lost.
func (c *Controller) renew(ctx context.Context, cancel context.CancelFunc, lease, kind, name string) {
	t := time.NewTicker(c.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ok, err := c.cfg.Store.AcquireLease(ctx, lease, c.cfg.Holder, c.cfg.LeaseTTL)
			if ctx.Err() != nil {
				return
			}
			if err != nil || !ok {
				c.log.Warn("lost the lease: stopping work", kind, name, "error", err)
				cancel()
				return
			}
		}
	}
}

// clientsKey names an account's clients in a subscription: its UID and generation, which
// moves when its spec or secret changes, and not when its status is written.
func clientsKey(acct *v1alpha1.CloudAccount, sub string) string {
	return fmt.Sprintf("%s\x00%d\x00%s", acct.Metadata.UID, acct.Metadata.Generation, sub)
}

// clientsFor returns the cached clients of an account version in a subscription. They are
// made under the lock (NewClients sends nothing), so that the passes of one subscription share
// one set: its caches and its Resource Graph snapshot.
func (c *Controller) clientsFor(ctx context.Context, acct *v1alpha1.CloudAccount, sub string) (Clients, error) {
	key := clientsKey(acct, sub)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl, nil
	}
	cl, err := c.cfg.NewClients(ctx, acct, sub)
	if err != nil {
		return nil, err
	}
	c.clients[key] = cl
	return cl, nil
}

// forgetClients drops cached clients that failed, so the next pass builds them again.
func (c *Controller) forgetClients(acct *v1alpha1.CloudAccount, sub string) {
	c.mu.Lock()
	delete(c.clients, clientsKey(acct, sub))
	c.mu.Unlock()
}

// reconcile runs one pass over a cluster and says when it is due again and the cluster's
// resourceVersion at the end of the pass.
func (c *Controller) reconcile(ctx context.Context, name string) (time.Duration, string, error) {
	obj, err := c.cfg.Store.Get(ctx, v1alpha1.KindCluster, name)
	if errors.Is(err, store.ErrNotFound) {
		return c.cfg.Resync, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read cluster %q: %w", name, err)
	}
	cl, ok := obj.(*v1alpha1.Cluster)
	if !ok {
		return 0, "", fmt.Errorf("read cluster %q: unexpected %T", name, obj)
	}
	p := newPass(c, cl)
	var after time.Duration
	if cl.Metadata.DeletionTimestamp != nil {
		after, err = p.delete(ctx)
	} else {
		after, err = p.provision(ctx)
	}
	p.mu.Lock()
	seen := p.cur.Metadata.ResourceVersion
	p.mu.Unlock()
	return after, seen, err
}
