package gatewayserver

import (
	"maps"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// Connect holds a replica's stream: Hello first, then heartbeats both ways. The gateway is
// Running while one of its replicas holds one.
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
	s.join(id.Name, hello.GetReplica(), hello.GetVersion())
	defer s.leave(id.Name, hello.GetReplica())
	s.log.Info("gateway replica connected", "gateway", id.Name, "replica", hello.GetReplica(), "version", hello.GetVersion())
	recvErr := make(chan error, 1)
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				recvErr <- err
				return
			}
		}
	}()
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case err := <-recvErr:
			s.log.Info("gateway replica disconnected", "gateway", id.Name, "replica", hello.GetReplica(), "error", err)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-beat.C:
			if err := stream.Send(&gatewayv1.ConnectResponse{Message: &gatewayv1.ConnectResponse_Heartbeat{
				Heartbeat: &gatewayv1.Heartbeat{Time: timestamppb.Now()}}}); err != nil {
				return err
			}
		}
	}
}

func (s *Server) join(gateway, replica, version string) {
	s.mu.Lock()
	if s.replicas[gateway] == nil {
		s.replicas[gateway] = map[string]int{}
	}
	s.replicas[gateway][replica]++
	s.versions[gateway] = version
	s.mu.Unlock()
	s.wake()
}

func (s *Server) leave(gateway, replica string) {
	s.mu.Lock()
	if s.replicas[gateway][replica]--; s.replicas[gateway][replica] <= 0 {
		delete(s.replicas[gateway], replica)
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
	return slices.Sorted(maps.Keys(s.replicas[gateway])), s.versions[gateway]
}
