package gatewayserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/strata-dev/strata/internal/azurecall"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// relayAttempts is how many replicas a call is tried on when the one it was sent to leaves
// before answering (calls are read-only, so trying again is safe).
const relayAttempts = 2

// relayTimeout bounds a relayed call: the gateway's own bound, and time for the way there
// and back.
const relayTimeout = azurecall.Timeout + 15*time.Second

// Call runs c on a connected replica of gateway, chosen at random, and returns its result.
// Azure's failure, as the gateway reports it, is an *azurecall.Error; no replica connected to
// this server is azurecall.ErrNoGateway.
func (s *Server) Call(ctx context.Context, gateway string, c azurecall.Call) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	call := &gatewayv1.AzureCall{CloudAccount: c.Account, SubscriptionId: c.SubscriptionID, Operation: c.Op, Params: c.Params}
	for attempt := 1; ; attempt++ {
		rs := s.pick(gateway)
		if rs == nil {
			return nil, fmt.Errorf("gateway %q: %w", gateway, azurecall.ErrNoGateway)
		}
		call.Id = s.callID.Add(1)
		res, err := s.callOn(ctx, rs, call)
		if err == nil {
			return resultOf(res)
		}
		if ctx.Err() != nil {
			return nil, &azurecall.Error{Code: "Timeout", Message: fmt.Sprintf("private cloud gateway %q did not answer within %s", gateway, relayTimeout)}
		}
		if attempt == relayAttempts {
			return nil, fmt.Errorf("gateway %q: %w (its replicas left before answering)", gateway, azurecall.ErrNoGateway)
		}
		s.log.Info("gateway replica left before answering a call; trying another", "gateway", gateway, "replica", rs.replica)
	}
}

// pick returns a connected replica's stream of gateway at random, or nil.
func (s *Server) pick(gateway string) *replicaStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	streams := s.streams[gateway]
	if len(streams) == 0 {
		return nil
	}
	return streams[rand.N(len(streams))]
}

// errReplicaLeft is a call's failure when its replica's stream ended before the answer.
var errReplicaLeft = fmt.Errorf("the replica's stream ended")

// callOn sends call on the replica's stream and waits for its result.
func (s *Server) callOn(ctx context.Context, rs *replicaStream, call *gatewayv1.AzureCall) (*gatewayv1.AzureResult, error) {
	ch := rs.expect(call.GetId())
	defer rs.forget(call.GetId())
	select {
	case rs.out <- call:
	case <-rs.done:
		return nil, errReplicaLeft
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-ch:
		return res, nil
	case <-rs.done:
		return nil, errReplicaLeft
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// resultOf turns a replica's result into the Call's answer.
func resultOf(r *gatewayv1.AzureResult) ([]byte, error) {
	if r.GetErrorCode() != "" {
		return nil, &azurecall.Error{Code: r.GetErrorCode(), Message: r.GetErrorMessage()}
	}
	return r.GetBody(), nil
}
