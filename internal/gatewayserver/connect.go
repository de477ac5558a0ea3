package gatewayserver

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// replicaStream is a replica's stream as the relay sees it: the calls sent to it go through
// out (the stream's goroutine is its only sender), and their results come back to pending.
type replicaStream struct {
	replica string
	out     chan *gatewayv1.AzureCall
	done    chan struct{}

	mu      sync.Mutex
	pending map[uint64]chan *gatewayv1.AzureResult
}

func newReplicaStream(replica string) *replicaStream {
	return &replicaStream{replica: replica, out: make(chan *gatewayv1.AzureCall), done: make(chan struct{}),
		pending: map[uint64]chan *gatewayv1.AzureResult{}}
}

// expect registers call id and returns where its result arrives.
func (rs *replicaStream) expect(id uint64) chan *gatewayv1.AzureResult {
	ch := make(chan *gatewayv1.AzureResult, 1)
	rs.mu.Lock()
	rs.pending[id] = ch
	rs.mu.Unlock()
	return ch
}

// forget drops call id.
func (rs *replicaStream) forget(id uint64) {
	rs.mu.Lock()
	delete(rs.pending, id)
	rs.mu.Unlock()
}

// deliver hands a result to its call; a result of no call this stream carries is dropped.
func (rs *replicaStream) deliver(r *gatewayv1.AzureResult) bool {
	rs.mu.Lock()
	ch, ok := rs.pending[r.GetId()]
	delete(rs.pending, r.GetId())
	rs.mu.Unlock()
	if ok {
		ch <- r
	}
	return ok
}

// Connect holds a replica's stream: Hello first, then heartbeats both ways, the Azure calls
// relayed to the replica and their results. The gateway is Running while one of its replicas
// holds one.
func (s *Server) Connect(stream gatewayv1.GatewayService_ConnectServer) error {
	ctx := stream.Context()
	id, err := s.caller(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil || hello.GetReplica() == "" {
		return status.Error(codes.InvalidArgument, "the first message must be a Hello naming the replica")
	}
	rs := newReplicaStream(hello.GetReplica())
	s.join(id.Name, rs, hello.GetVersion())
	defer s.leave(id.Name, rs)
	log := s.log.With("gateway", id.Name, "replica", rs.replica)
	log.Info("gateway replica connected", "version", hello.GetVersion())
	recvErr := make(chan error, 1)
	go func() { recvErr <- s.receive(stream, rs) }()
	err = s.send(ctx, stream, rs, recvErr)
	log.Info("gateway replica disconnected", "error", err)
	return nil
}

// receive reads the replica's messages until the stream breaks, handing results to the
// calls waiting for them.
func (s *Server) receive(stream gatewayv1.GatewayService_ConnectServer, rs *replicaStream) error {
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		if r := msg.GetAzureResult(); r != nil && !rs.deliver(r) {
			s.log.Warn("gateway replica answered a call it was not sent, or too late", "replica", rs.replica, "id", r.GetId())
		}
	}
}

// send writes heartbeats and relayed calls until the stream breaks.
func (s *Server) send(ctx context.Context, stream gatewayv1.GatewayService_ConnectServer, rs *replicaStream, recvErr <-chan error) error {
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		var msg *gatewayv1.ConnectResponse
		select {
		case err := <-recvErr:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case call := <-rs.out:
			msg = &gatewayv1.ConnectResponse{Message: &gatewayv1.ConnectResponse_AzureCall{AzureCall: call}}
		case <-beat.C:
			msg = &gatewayv1.ConnectResponse{Message: &gatewayv1.ConnectResponse_Heartbeat{
				Heartbeat: &gatewayv1.Heartbeat{Time: timestamppb.Now()}}}
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

func (s *Server) join(gateway string, rs *replicaStream, version string) {
	s.mu.Lock()
	s.streams[gateway] = append(s.streams[gateway], rs)
	s.versions[gateway] = version
	s.mu.Unlock()
	s.wake()
}

func (s *Server) leave(gateway string, rs *replicaStream) {
	close(rs.done)
	s.mu.Lock()
	s.streams[gateway] = slices.DeleteFunc(s.streams[gateway], func(o *replicaStream) bool { return o == rs })
	if len(s.streams[gateway]) == 0 {
		delete(s.streams, gateway)
	}
	s.mu.Unlock()
	s.wake()
}

func (s *Server) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// connected returns the replicas of a gateway connected to this server, sorted, and the
// version the last one said.
func (s *Server) connected(gateway string) ([]string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[string]bool{}
	for _, rs := range s.streams[gateway] {
		names[rs.replica] = true
	}
	return slices.Sorted(maps.Keys(names)), s.versions[gateway]
}
