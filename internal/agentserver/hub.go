package agentserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/store"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// HubStore is what the hub needs of the object store; every store.Store is one.
type HubStore interface {
	Store
	Get(ctx context.Context, kind, key string) (v1alpha1.Object, error)
	Update(ctx context.Context, obj v1alpha1.Object) error
	RecordEvent(ctx context.Context, ev store.Event) error
	ResourceVersion(ctx context.Context) (int64, error)
}

// Defaults of Config.
const (
	DefaultCertValidity     = 24 * time.Hour
	DefaultHeartbeat        = 15 * time.Second
	DefaultPersistHeartbeat = 5 * time.Minute
	DefaultResync           = time.Minute
)

// Config configures a Hub.
type Config struct {
	Store     HubStore
	Authority *Authority
	// Feed is the store's change feed: a change of a cluster, profile, account or gateway
	// makes the hub send the concerned agents their new desired state. Required.
	Feed *feed.Feed
	// Holder names this server in the agents' status.
	Holder string
	Logger *slog.Logger
	// CertValidity is how long agent certificates are valid (default 24 h); agents renew them
	// when a third is left.
	CertValidity time.Duration
	// Heartbeat is how often each side sends a heartbeat (default 15 s); a stream silent for
	// three of them is closed.
	Heartbeat time.Duration
	// PersistHeartbeat is how often a connected agent's last heartbeat is written to its
	// cluster's status (default 5 min); connects and disconnects are written at once.
	PersistHeartbeat time.Duration
	// Resync is how often agents compare their cluster with the desired state (default 1 min).
	Resync time.Duration
	// Charts renders layers' charts; nil refuses layers with a chart.
	Charts ChartRenderer
	// Registerer receives the hub's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Hub serves the agent protocol: registration, renewal, and each agent's stream.
type Hub struct {
	agentv1.UnimplementedRegistrationServiceServer
	agentv1.UnimplementedAgentServiceServer

	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu    sync.Mutex
	conns map[string]*conn // by cluster name
}

// NewHub returns a hub; Run must run for it to follow changes.
func NewHub(cfg Config) *Hub {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CertValidity <= 0 {
		cfg.CertValidity = DefaultCertValidity
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.PersistHeartbeat <= 0 {
		cfg.PersistHeartbeat = DefaultPersistHeartbeat
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	return &Hub{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registerer), conns: map[string]*conn{}}
}

// Run follows the store's changes until ctx ends, waking the streams whose desired state may
// have changed, and closing those of deleted clusters.
func (h *Hub) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := h.follow(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("agent hub: the change feed stopped; following it again", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	h.closeAll(errShuttingDown)
	return nil
}

// errShuttingDown ends the streams of a hub that stops: its agents reconnect, to this server
// once it is back or to another one of the store.
var errShuttingDown = errors.New("the server is shutting down")

// closeAll ends every stream, so that a graceful stop of the gRPC server does not wait for
// agents' long-lived streams.
func (h *Hub) closeAll(why error) {
	h.mu.Lock()
	conns := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close(why)
	}
}

// follow watches the feed from now on.
func (h *Hub) follow(ctx context.Context) error {
	rv, err := h.cfg.Store.ResourceVersion(ctx)
	if err != nil {
		return err
	}
	w, err := h.cfg.Feed.Watch(ctx, feed.Filter{}, rv)
	if err != nil {
		return err
	}
	defer w.Stop()
	h.wakeAll() // what changed while no watch ran
	for {
		ch, err := w.Next(ctx)
		if err != nil {
			return err
		}
		h.changed(ch)
	}
}

// changed wakes the streams a change concerns: a cluster's when its spec changed (a new
// generation) or it went, those that used a profile when that profile changed, and all of
// them when an account or gateway changed. The hub's own status writes wake nobody.
func (h *Hub) changed(ch store.Change) {
	switch ch.Kind {
	case v1alpha1.KindCluster:
		h.mu.Lock()
		c := h.conns[ch.Object.GetMetadata().Name]
		h.mu.Unlock()
		if c != nil && (ch.Type == store.ChangeDeleted || c.specChanged(ch.Object.GetMetadata().Generation)) {
			c.wakeUp()
		}
	case v1alpha1.KindClusterProfile:
		h.wakeWhere(func(c *conn) bool { return c.usesProfile(ch.Key) })
	case v1alpha1.KindCloudAccount, v1alpha1.KindPrivateCloudGateway:
		h.wakeWhere(func(*conn) bool { return true })
	}
}

// wakeWhere wakes the streams for which f is true.
func (h *Hub) wakeWhere(f func(*conn) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		if f(c) {
			c.wakeUp()
		}
	}
}

func (h *Hub) wakeAll() { h.wakeWhere(func(*conn) bool { return true }) }

// Connected returns how many agents hold a stream to this server.
func (h *Hub) Connected() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// attach records c as its cluster's stream, closing the one it replaces.
func (h *Hub) attach(c *conn) {
	h.mu.Lock()
	old := h.conns[c.id.ClusterName]
	h.conns[c.id.ClusterName] = c
	h.mu.Unlock()
	if old != nil {
		old.close(errors.New("replaced by a new stream of the same cluster"))
	}
	h.metrics.connected.Inc()
}

// detach forgets c unless it was replaced.
func (h *Hub) detach(c *conn) {
	h.mu.Lock()
	if h.conns[c.id.ClusterName] == c {
		delete(h.conns, c.id.ClusterName)
	}
	h.mu.Unlock()
	h.metrics.connected.Dec()
}

// updateCluster rereads the cluster, applies f to its status and writes it, retrying on
// conflicts. It does nothing when the cluster is gone or is another of the same name
// (another UID), or when f reports no change.
func (h *Hub) updateCluster(ctx context.Context, id Identity, f func(s *v1alpha1.ClusterStatus) ([]statusEvent, bool)) error {
	for attempt := 0; ; attempt++ {
		cl, err := h.cluster(ctx, id)
		if err != nil {
			return err
		}
		next := *cl
		next.Status = cl.Status.Clone()
		events, changed := f(&next.Status)
		if !changed {
			return nil
		}
		err = h.cfg.Store.Update(ctx, &next)
		if err == nil {
			h.record(ctx, &next, events)
			return nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 20 {
			return fmt.Errorf("write the agent status of cluster %q: %w", id.ClusterName, err)
		}
	}
}

// errRevoked is the error of a cluster that was deleted, or replaced by another of its name.
var errRevoked = errors.New("the cluster is deleted: its agent's certificate is revoked")

// cluster reads the cluster an identity names; errRevoked when it is gone.
func (h *Hub) cluster(ctx context.Context, id Identity) (*v1alpha1.Cluster, error) {
	obj, err := h.cfg.Store.Get(ctx, v1alpha1.KindCluster, id.ClusterName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errRevoked
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster %q: %w", id.ClusterName, err)
	}
	cl, ok := obj.(*v1alpha1.Cluster)
	if !ok || cl.Metadata.UID != id.ClusterUID {
		return nil, errRevoked
	}
	return cl, nil
}

// record records events on the cluster; failures are logged.
func (h *Hub) record(ctx context.Context, cl *v1alpha1.Cluster, events []statusEvent) {
	for _, e := range events {
		err := h.cfg.Store.RecordEvent(ctx, store.Event{Kind: v1alpha1.KindCluster, Key: cl.Key(), UID: cl.Metadata.UID,
			Type: e.typ, Reason: e.reason, Message: e.message, Time: time.Now().UTC()})
		if err != nil {
			h.log.Warn("record event", "cluster", cl.Key(), "reason", e.reason, "error", err)
		}
	}
}

// metrics are the hub's Prometheus metrics.
type metrics struct {
	connected prometheus.Gauge
	applies   *prometheus.CounterVec
	pushes    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "strata_agents_connected", Help: "Agents holding a stream to this server."}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_agent_layer_applies_total",
			Help: "Kubernetes objects applied by agents connected to this server, by layer, as they report them."}, []string{"layer"}),
		pushes: prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_agent_desired_states_sent_total", Help: "Desired states sent to agents."}),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.applies, m.pushes)
	}
	return m
}
