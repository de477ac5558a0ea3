package agentserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"reflect"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/tunnel"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// Register exchanges a registration token and a CSR for a client certificate.
func (h *Hub) Register(ctx context.Context, req *agentv1.RegisterRequest) (*agentv1.RegisterResponse, error) {
	id, err := ConsumeToken(ctx, h.cfg.Store, req.GetToken(), time.Now())
	if err != nil {
		if errors.Is(err, ErrTokenRefused) {
			h.log.Warn("agent registration refused: bad token")
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	if _, err := h.cluster(ctx, id); err != nil {
		return nil, h.streamError(err)
	}
	cred, err := h.cfg.Authority.Sign(req.GetCsr(), id, time.Now(), h.cfg.CertValidity)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	h.log.Info("agent registered", "cluster", id.ClusterName, "expires", cred.NotAfter)
	return &agentv1.RegisterResponse{Certificate: cred.CertPEM, Ca: h.cfg.Authority.CA().CertPEM(),
		ClusterName: id.ClusterName, ClusterUid: id.ClusterUID}, nil
}

// Renew signs a new certificate for the calling agent's cluster.
func (h *Hub) Renew(ctx context.Context, req *agentv1.RenewRequest) (*agentv1.RenewResponse, error) {
	id, err := h.caller(ctx)
	if err != nil {
		return nil, err
	}
	cred, err := h.cfg.Authority.Sign(req.GetCsr(), id, time.Now(), h.cfg.CertValidity)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	h.log.Info("agent certificate renewed", "cluster", id.ClusterName, "expires", cred.NotAfter)
	return &agentv1.RenewResponse{Certificate: cred.CertPEM}, nil
}

// caller is the identity of the verified client certificate of ctx's peer, for a cluster that
// still exists with that UID.
func (h *Hub) caller(ctx context.Context) (Identity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Identity{}, status.Error(codes.Unauthenticated, "no peer")
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 {
		return Identity{}, status.Error(codes.Unauthenticated, "a client certificate issued by Register is required")
	}
	id, ok := identityOf(ti.State.VerifiedChains[0][0].Subject)
	if !ok {
		return Identity{}, status.Error(codes.Unauthenticated, "the client certificate names no cluster")
	}
	if _, err := h.cluster(ctx, id); err != nil {
		return Identity{}, h.streamError(err)
	}
	return id, nil
}

// computed is a cluster's desired state and what it was computed from.
type computed struct {
	state *agentv1.DesiredState
	// profileOf maps each layer to its profile (name@version).
	profileOf map[string]string
	// generation is the cluster's; pinned are the profiles (name@version) it pins.
	generation int64
	pinned     []string
}

// desired reads a cluster's profiles, account and gateway and builds its desired state.
func (h *Hub) desired(ctx context.Context, id Identity) (*computed, error) {
	cl, err := h.cluster(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &computed{generation: cl.Metadata.Generation}
	in := desiredInput{cluster: cl, resyncSeconds: int32(h.cfg.Resync / time.Second)}
	for _, ref := range cl.Spec.Profiles {
		key := v1alpha1.ProfileKey(ref.Name, ref.Version)
		out.pinned = append(out.pinned, key)
		obj, err := h.cfg.Store.Get(ctx, v1alpha1.KindClusterProfile, key)
		if err != nil {
			return out, fmt.Errorf("profile %s: %w", key, err)
		}
		prof, ok := obj.(*v1alpha1.ClusterProfile)
		if !ok {
			return out, fmt.Errorf("profile %s: unexpected %T", key, obj)
		}
		in.profiles = append(in.profiles, prof)
	}
	if in.proxy, err = gatewayProxy(ctx, h.cfg.Store, cl.Spec.CloudAccount); err != nil {
		return out, err
	}
	out.state, out.profileOf, err = buildDesired(ctx, in, h.cfg.Charts)
	return out, err
}

// gatewayProxy is the proxy of the gateway the account names, or nil.
func gatewayProxy(ctx context.Context, st objectGetter, account string) (*v1alpha1.ProxySettings, error) {
	obj, err := st.Get(ctx, v1alpha1.KindCloudAccount, account)
	if err != nil {
		return nil, fmt.Errorf("cloud account %q: %w", account, err)
	}
	acct, ok := obj.(*v1alpha1.CloudAccount)
	if !ok || acct.Spec.Gateway == "" {
		return nil, nil
	}
	obj, err = st.Get(ctx, v1alpha1.KindPrivateCloudGateway, acct.Spec.Gateway)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("private cloud gateway %q: %w", acct.Spec.Gateway, err)
	}
	gw, ok := obj.(*v1alpha1.PrivateCloudGateway)
	if !ok {
		return nil, nil
	}
	return gw.Spec.Proxy, nil
}

// sameAgentStatus reports whether the hub's parts of two statuses are equal, ignoring
// condition transition times.
func sameAgentStatus(a, b v1alpha1.ClusterStatus) bool {
	if !reflect.DeepEqual(a.Layers, b.Layers) || !reflect.DeepEqual(a.Agent, b.Agent) {
		return false
	}
	for _, typ := range []string{ConditionAgentConnected, ConditionLayersReady} {
		ca, cb := v1alpha1.FindCondition(&a.Status, typ), v1alpha1.FindCondition(&b.Status, typ)
		if (ca == nil) != (cb == nil) || (ca != nil && (ca.Status != cb.Status || ca.Reason != cb.Reason || ca.Message != cb.Message)) {
			return false
		}
	}
	return true
}

// ServerOptions are the gRPC server's TLS and keepalive settings.
type ServerOptions struct {
	// Names are the host names and addresses agents dial: the serving certificate's.
	Names []string
	// Certificate, when set, is served instead of one the agent CA issues.
	Certificate *tls.Certificate
	// Tunnel, when set, gives the server's transport credentials: serve it with
	// Tunnel.Serve(gs, ln), which serves gRPC (ALPN h2) and the WebSocket transport of agents
	// behind HTTP/1.1-only proxies (ALPN http/1.1, /v1/tunnel) on the same listener. Without
	// it, serve with gs.Serve(ln): gRPC only.
	Tunnel *tunnel.Server
}

// NewGRPCServer returns a gRPC server of the hub's services over TLS: the serving certificate
// from the agent CA (or opts.Certificate), client certificates of the agent CA verified when
// given (Register needs none; the Agent service checks them). More services may be registered
// on it before it serves (opts.Tunnel.Serve(gs, ln), or gs.Serve(ln)).
func (h *Hub) NewGRPCServer(opts ServerOptions) (*grpc.Server, error) {
	cert := opts.Certificate
	if cert == nil {
		cred, err := h.cfg.Authority.Serving(opts.Names, time.Now(), 365*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("agent endpoint certificate: %w", err)
		}
		c, err := tls.X509KeyPair(cred.CertPEM, cred.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("agent endpoint certificate: %w", err)
		}
		cert = &c
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(h.cfg.Authority.CA().CertPEM())
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	creds := credentials.NewTLS(tlsConf)
	if opts.Tunnel != nil {
		creds = opts.Tunnel.Credentials(tlsConf)
	}
	s := grpc.NewServer(grpc.Creds(creds),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(8<<20),
		// Stop returns only once every handler has: a stream's last status write (the agent
		// disconnected) is done before the caller closes the store.
		grpc.WaitForHandlers(true))
	agentv1.RegisterRegistrationServiceServer(s, h)
	agentv1.RegisterAgentServiceServer(s, h)
	return s, nil
}

// splitHosts splits names into DNS names and IP addresses.
func splitHosts(names []string) (dns []string, ips []net.IP) {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else if n != "" {
			dns = append(dns, n)
		}
	}
	return dns, ips
}
