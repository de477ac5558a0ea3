package agentserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/strata-dev/strata/api/v1alpha1"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// conn is one agent's stream.
type conn struct {
	id     Identity
	log    *slog.Logger
	wake   chan struct{}
	cancel context.CancelCauseFunc

	mu            sync.Mutex
	lastHeartbeat time.Time
	persisted     time.Time
	sent          string            // revision of the last desired state sent
	generation    int64             // the cluster's generation it was computed from
	pinned        []string          // the profiles (name@version) the cluster pinned then
	profiles      map[string]string // layer name -> profile of the last desired state sent
	applies       map[string]int64  // layer name -> the agent's last reported applies
	// resumed: the agent had applied a desired state before this stream (its Hello said
	// which), so what its first report counts was counted by the server of its last stream.
	resumed bool
}

// specChanged reports whether gen is not the generation the last desired state was
// computed from.
func (c *conn) specChanged(gen int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return gen != c.generation
}

// usesProfile reports whether the cluster pinned the profile (key name@version) when its
// desired state was last computed, or none was computed yet.
func (c *conn) usesProfile(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pinned == nil || slices.Contains(c.pinned, key)
}

// wakeUp asks the stream to recompute its desired state.
func (c *conn) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close ends the stream with why.
func (c *conn) close(why error) { c.cancel(why) }

// helloTimeout is how long an agent has to say Hello.
const helloTimeout = 30 * time.Second

// Connect serves an agent's stream: Hello first, then heartbeats and status reports up,
// heartbeats and desired states down, until either side ends it.
func (h *Hub) Connect(stream agentv1.AgentService_ConnectServer) error {
	id, err := h.caller(stream.Context())
	if err != nil {
		return err
	}
	hello, err := recvHello(stream)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	c := &conn{id: id, log: h.log.With("cluster", id.ClusterName), wake: make(chan struct{}, 1), cancel: cancel,
		lastHeartbeat: time.Now(), persisted: time.Now(), resumed: hello.GetAppliedRevision() != ""}
	h.attach(c)
	defer h.detach(c)
	if err := h.updateCluster(ctx, id, func(s *v1alpha1.ClusterStatus) ([]statusEvent, bool) {
		return markConnected(s, hello, h.cfg.Holder, time.Now()), true
	}); err != nil {
		return h.streamError(err)
	}
	c.log.Info("agent connected", "version", hello.GetAgentVersion(), "kubernetes", hello.GetKubernetesVersion())
	runErr := h.serve(ctx, stream, c)
	h.disconnected(c, runErr)
	return h.streamError(runErr)
}

// recvHello reads the stream's first message, which must be a Hello.
func recvHello(stream agentv1.AgentService_ConnectServer) (*agentv1.Hello, error) {
	type result struct {
		msg *agentv1.ConnectRequest
		err error
	}
	got := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		got <- result{m, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			return nil, r.err
		}
		if r.msg.GetHello() == nil {
			return nil, status.Error(codes.InvalidArgument, "the first message of a stream must be a Hello")
		}
		return r.msg.GetHello(), nil
	case <-time.After(helloTimeout):
		return nil, status.Error(codes.DeadlineExceeded, "no Hello within 30s")
	}
}

// serve runs a stream: receiving in a goroutine, sending from this one.
func (h *Hub) serve(ctx context.Context, stream agentv1.AgentService_ConnectServer, c *conn) error {
	msgs := make(chan *agentv1.ConnectRequest)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	beat := time.NewTicker(h.cfg.Heartbeat)
	defer beat.Stop()
	c.wakeUp()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case err := <-recvErr:
			return err
		case m := <-msgs:
			if err := h.received(ctx, c, m); err != nil {
				return err
			}
		case <-c.wake:
			if err := h.push(ctx, stream, c); err != nil {
				return err
			}
		case <-beat.C:
			if err := h.beat(ctx, stream, c); err != nil {
				return err
			}
		}
	}
}

// beat sends a heartbeat, ends a stream silent for three heartbeats, and writes the last
// heartbeat to the store now and then.
func (h *Hub) beat(ctx context.Context, stream agentv1.AgentService_ConnectServer, c *conn) error {
	c.mu.Lock()
	last, persisted := c.lastHeartbeat, c.persisted
	c.mu.Unlock()
	if time.Since(last) > 3*h.cfg.Heartbeat {
		return fmt.Errorf("no heartbeat from the agent for %s", time.Since(last).Round(time.Second))
	}
	if err := stream.Send(&agentv1.ConnectResponse{Message: &agentv1.ConnectResponse_Heartbeat{Heartbeat: &agentv1.Heartbeat{Time: timestamppb.Now()}}}); err != nil {
		return err
	}
	if time.Since(persisted) < h.cfg.PersistHeartbeat {
		return nil
	}
	c.mu.Lock()
	c.persisted = time.Now()
	c.mu.Unlock()
	return h.updateCluster(ctx, c.id, func(s *v1alpha1.ClusterStatus) ([]statusEvent, bool) {
		markHeartbeat(s, last)
		return nil, true
	})
}

// received handles one message from the agent.
func (h *Hub) received(ctx context.Context, c *conn, m *agentv1.ConnectRequest) error {
	c.mu.Lock()
	c.lastHeartbeat = time.Now()
	profiles := c.profiles
	c.mu.Unlock()
	r := m.GetStatus()
	if r == nil {
		return nil
	}
	h.countApplies(c, r)
	return h.updateCluster(ctx, c.id, func(s *v1alpha1.ClusterStatus) ([]statusEvent, bool) {
		before := s.Clone()
		events := applyReport(s, r, profiles, time.Now())
		return events, !sameAgentStatus(before, *s)
	})
}

// countApplies adds to the applies metric what the agent applied since its last report (its
// count is cumulative over its process's life: a count that went down is a new process's).
func (h *Hub) countApplies(c *conn, r *agentv1.StatusReport) {
	c.mu.Lock()
	defer c.mu.Unlock()
	baseline := c.applies == nil && c.resumed
	if c.applies == nil {
		c.applies = map[string]int64{}
	}
	for _, l := range r.GetLayers() {
		n, last := l.GetApplies(), c.applies[l.GetName()]
		delta := n - last
		if n < last {
			delta = n
		}
		if baseline {
			delta = 0 // the series exists from the first report on
		}
		h.metrics.applies.WithLabelValues(l.GetName()).Add(float64(delta))
		c.applies[l.GetName()] = n
	}
}

// push computes the cluster's desired state and sends it when it changed.
func (h *Hub) push(ctx context.Context, stream agentv1.AgentService_ConnectServer, c *conn) error {
	cmp, err := h.desired(ctx, c.id)
	if cmp != nil {
		c.mu.Lock()
		c.generation, c.pinned = cmp.generation, cmp.pinned
		c.mu.Unlock()
	}
	if err != nil {
		if errors.Is(err, errRevoked) {
			return err
		}
		c.log.Warn("compute the desired state", "error", err)
		return nil // kept: the agent keeps its last state; the next change tries again
	}
	ds := cmp.state
	c.mu.Lock()
	same := c.sent == ds.GetRevision()
	c.mu.Unlock()
	if same {
		return nil
	}
	if err := stream.Send(&agentv1.ConnectResponse{Message: &agentv1.ConnectResponse_Desired{Desired: ds}}); err != nil {
		return err
	}
	h.metrics.pushes.Inc()
	c.mu.Lock()
	c.sent, c.profiles = ds.GetRevision(), cmp.profileOf
	c.mu.Unlock()
	c.log.Debug("desired state sent", "revision", ds.GetRevision(), "layers", len(ds.GetLayers()), "bytes", proto.Size(ds))
	return nil
}

// disconnected writes that the agent's stream ended, unless a newer stream of the cluster
// replaced it or the cluster is gone.
func (h *Hub) disconnected(c *conn, why error) {
	h.mu.Lock()
	replaced := h.conns[c.id.ClusterName] != nil && h.conns[c.id.ClusterName] != c
	h.mu.Unlock()
	if replaced {
		return
	}
	c.mu.Lock()
	last := c.lastHeartbeat
	c.mu.Unlock()
	reason := "the stream ended"
	if why != nil {
		reason = why.Error()
	}
	c.log.Info("agent disconnected", "reason", reason)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.updateCluster(ctx, c.id, func(s *v1alpha1.ClusterStatus) ([]statusEvent, bool) {
		if s.Agent != nil && s.Agent.Server != h.cfg.Holder && s.Agent.Connected {
			return nil, false // it connected to another server meanwhile
		}
		return markDisconnected(s, last, reason, time.Now()), true
	}); err != nil && !errors.Is(err, errRevoked) {
		c.log.Warn("write the agent's disconnection", "error", err)
	}
}

// streamError turns an error into the stream's gRPC status.
func (h *Hub) streamError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errRevoked):
		return status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Unavailable, "the server is stopping or the stream was replaced")
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Unavailable, err.Error())
}
