package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// backoff is an exponential backoff with full jitter.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{min: lo, max: hi} }

// next is the next wait: uniformly random in [cur/2, cur], cur doubling up to max.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur/2 + rand.N(b.cur/2+1)
}

func (b *backoff) reset() { b.cur = 0 }

// permanent reports whether the server refused in a way that retrying the same request
// cannot mend.
func permanent(err error) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.InvalidArgument, codes.PermissionDenied:
		return true
	}
	return false
}

// connectLoop holds the stream, reconnecting with backoff and jitter, until ctx ends.
func (a *Agent) connectLoop(ctx context.Context) {
	b := newBackoff(a.cfg.BackoffMin, a.cfg.BackoffMax)
	for ctx.Err() == nil {
		start := time.Now()
		err := a.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 30*time.Second {
			b.reset() // it was connected for a while: this is a new outage
		}
		wait := b.next()
		a.log.Warn("stream to the server ended; reconnecting", "error", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// stream runs one stream: Hello, then heartbeats and reports up, desired states down.
func (a *Agent) stream(ctx context.Context) error {
	cc, err := a.id.dial(true)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := agentv1.NewAgentServiceClient(cc).Connect(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if err := st.Send(&agentv1.ConnectRequest{Message: &agentv1.ConnectRequest_Hello{Hello: a.hello()}}); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	a.log.Info("connected to the server", "server", a.id.server)
	sendErr := make(chan error, 1)
	go func() { sendErr <- a.sendLoop(ctx, st) }()
	for {
		m, err := st.Recv()
		if err != nil {
			return err
		}
		if ds := m.GetDesired(); ds != nil {
			a.setDesired(ds)
		}
		select {
		case err := <-sendErr:
			return err
		default:
		}
	}
}

// sendLoop sends heartbeats and status reports until ctx ends or a send fails.
func (a *Agent) sendLoop(ctx context.Context, st agentv1.AgentService_ConnectClient) error {
	beat := time.NewTicker(a.cfg.Heartbeat)
	defer beat.Stop()
	var sent *agentv1.StatusReport
	for {
		a.mu.Lock()
		r := a.report
		a.mu.Unlock()
		if r != nil && !proto.Equal(r, sent) {
			if err := st.Send(&agentv1.ConnectRequest{Message: &agentv1.ConnectRequest_Status{Status: r}}); err != nil {
				return err
			}
			sent = r
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.reported:
		case <-beat.C:
			if err := st.Send(&agentv1.ConnectRequest{Message: &agentv1.ConnectRequest_Heartbeat{Heartbeat: &agentv1.Heartbeat{Time: timestamppb.Now()}}}); err != nil {
				return err
			}
		}
	}
}

// hello is the agent's Hello: its version, the cluster's, what the API serves, and the
// revision last applied.
func (a *Agent) hello() *agentv1.Hello {
	h := &agentv1.Hello{AgentVersion: a.cfg.Version}
	if v, err := a.client.Discovery().ServerVersion(); err == nil {
		h.KubernetesVersion = v.GitVersion
	}
	if lists, err := a.client.Discovery().ServerPreferredResources(); err == nil || lists != nil {
		for _, l := range lists {
			for _, r := range l.APIResources {
				h.ApiResources = append(h.ApiResources, l.GroupVersion+"/"+r.Name)
			}
		}
	}
	a.mu.Lock()
	if a.report != nil {
		h.AppliedRevision = a.report.GetRevision()
	}
	a.mu.Unlock()
	return h
}

// setDesired takes a new desired state and wakes the apply loop.
func (a *Agent) setDesired(ds *agentv1.DesiredState) {
	a.mu.Lock()
	a.desired = ds
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// renewLoop renews the certificate when a third of its validity is left, retrying every
// few seconds on failure.
func (a *Agent) renewLoop(ctx context.Context) {
	for {
		wait := time.Until(a.id.renewAt())
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
		if err := a.id.renew(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("renew the certificate", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
		}
	}
}
