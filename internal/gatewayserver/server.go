// Package gatewayserver is the server's half of the gateway protocol
// (proto/strata/gateway/v1): it registers private cloud gateways (single-use tokens, CSRs
// signed by the agent CA), serves them the store for the clusters and cloud accounts bound to
// them (every call authorized by decide), and keeps each gateway's status from its replicas'
// streams.
package gatewayserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/store"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// Config configures a Server.
type Config struct {
	// Store is the server's store. Required.
	Store store.Store
	// Authority signs gateway certificates (the agent CA). Required.
	Authority *agentserver.Authority
	// CertValidity is how long a gateway certificate is valid (default 24 h).
	CertValidity time.Duration
	// Heartbeat is how often the server sends a heartbeat on a replica's stream and writes
	// the gateway's lastHeartbeat (default 15 s).
	Heartbeat time.Duration
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
}

// Server serves gateways. Create it with New, register it on the agent endpoint's gRPC server
// with Register, and Run it.
type Server struct {
	gatewayv1.UnimplementedGatewayRegistrationServiceServer
	gatewayv1.UnimplementedGatewayServiceServer
	gatewayv1.UnimplementedStoreServiceServer

	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// streams are the replicas' streams held now, by gateway name (a replica reconnecting
	// may hold two for a moment).
	streams  map[string][]*replicaStream
	versions map[string]string
	kick     chan struct{}
	// callID numbers the calls relayed to replicas.
	callID atomic.Uint64
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.CertValidity <= 0 {
		cfg.CertValidity = 24 * time.Hour
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, streams: map[string][]*replicaStream{}, versions: map[string]string{},
		kick: make(chan struct{}, 1)}
}

// RegisterServices registers the gateway services on gs.
func (s *Server) RegisterServices(gs *grpc.Server) {
	gatewayv1.RegisterGatewayRegistrationServiceServer(gs, s)
	gatewayv1.RegisterGatewayServiceServer(gs, s)
	gatewayv1.RegisterStoreServiceServer(gs, s)
}

// MintToken makes a registration token for the gateway name (hashed at rest, single-use,
// valid for ttl) and returns it with the CA gateways trust the endpoint with.
func (s *Server) MintToken(ctx context.Context, name string, ttl time.Duration) (token string, caPEM []byte, err error) {
	gw, err := s.gateway(ctx, name)
	if err != nil {
		return "", nil, err
	}
	if gw.Metadata.DeletionTimestamp != nil {
		return "", nil, fmt.Errorf("private cloud gateway %q is being deleted", name)
	}
	token, err = agentserver.MintGatewayToken(ctx, s.cfg.Store, agentserver.GatewayIdentity{Name: name, UID: gw.Metadata.UID}, time.Now(), ttl)
	return token, s.cfg.Authority.CA().CertPEM(), err
}

// Register exchanges a gateway's registration token and CSR for a client certificate.
func (s *Server) Register(ctx context.Context, req *gatewayv1.RegisterRequest) (*gatewayv1.RegisterResponse, error) {
	id, err := agentserver.ConsumeGatewayToken(ctx, s.cfg.Store, req.GetToken(), time.Now())
	if err != nil {
		if errors.Is(err, agentserver.ErrTokenRefused) {
			s.log.Warn("gateway registration refused: bad token")
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	if err := s.exists(ctx, id); err != nil {
		return nil, err
	}
	cred, err := s.cfg.Authority.SignGateway(req.GetCsr(), id, time.Now(), s.cfg.CertValidity)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.log.Info("gateway registered", "gateway", id.Name, "expires", cred.NotAfter)
	return &gatewayv1.RegisterResponse{Certificate: cred.CertPEM, Ca: s.cfg.Authority.CA().CertPEM(),
		GatewayName: id.Name, GatewayUid: id.UID}, nil
}

// Renew signs a new certificate for the calling gateway.
func (s *Server) Renew(ctx context.Context, req *gatewayv1.RenewRequest) (*gatewayv1.RenewResponse, error) {
	id, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	cred, err := s.cfg.Authority.SignGateway(req.GetCsr(), id, time.Now(), s.cfg.CertValidity)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &gatewayv1.RenewResponse{Certificate: cred.CertPEM}, nil
}

// caller is the gateway of ctx's verified client certificate, still stored with that UID.
func (s *Server) caller(ctx context.Context) (agentserver.GatewayIdentity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return agentserver.GatewayIdentity{}, status.Error(codes.Unauthenticated, "no peer")
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 {
		return agentserver.GatewayIdentity{}, status.Error(codes.Unauthenticated, "a client certificate issued by Register is required")
	}
	id, ok := agentserver.GatewayIdentityOf(ti.State.VerifiedChains[0][0].Subject)
	if !ok {
		return agentserver.GatewayIdentity{}, status.Error(codes.Unauthenticated, "the client certificate names no gateway")
	}
	return id, s.exists(ctx, id)
}

// exists checks that the gateway is stored with the identity's UID.
func (s *Server) exists(ctx context.Context, id agentserver.GatewayIdentity) error {
	gw, err := s.gateway(ctx, id.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return status.Errorf(codes.Unauthenticated, "private cloud gateway %q no longer exists", id.Name)
	case err != nil:
		return status.Error(codes.Unavailable, err.Error())
	case gw.Metadata.UID != id.UID:
		return status.Errorf(codes.Unauthenticated, "private cloud gateway %q was deleted and made again: register anew", id.Name)
	}
	return nil
}

func (s *Server) gateway(ctx context.Context, name string) (*v1alpha1.PrivateCloudGateway, error) {
	obj, err := s.cfg.Store.Get(ctx, v1alpha1.KindPrivateCloudGateway, name)
	if err != nil {
		return nil, fmt.Errorf("private cloud gateway %q: %w", name, err)
	}
	gw, ok := obj.(*v1alpha1.PrivateCloudGateway)
	if !ok {
		return nil, fmt.Errorf("private cloud gateway %q: unexpected %T", name, obj)
	}
	return gw, nil
}
