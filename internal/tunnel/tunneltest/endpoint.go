package tunneltest

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"github.com/strata-dev/strata/internal/tunnel"
)

// Endpoint is an agent endpoint on 127.0.0.1 served by tunnel.Server: the gRPC health service
// over TLS of a test agent CA, client certificates of that CA verified when given.
type Endpoint struct {
	// Addr is 127.0.0.1:port; CA the agent CA; ClientCert a client certificate it issued
	// (CN=agent-1).
	Addr       string
	CA         *CA
	ClientCert tls.Certificate

	mu    sync.Mutex
	calls []Call
}

// Call is what the endpoint saw of a gRPC call's peer.
type Call struct {
	// ClientCN is the CN of the verified client certificate, or "".
	ClientCN string
}

// StartEndpoint starts an endpoint, stopped at the test's end.
func StartEndpoint(t testing.TB) *Endpoint {
	t.Helper()
	ca := NewCA(t, "strata agent CA", "strata")
	e := &Endpoint{CA: ca, ClientCert: ca.Client(t, "agent-1")}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.Server(t, "127.0.0.1", "localhost")},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool()}
	ts := tunnel.NewServer(tunnel.ServerConfig{})
	gs := grpc.NewServer(grpc.Creds(ts.Credentials(conf)), grpc.UnaryInterceptor(e.record))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.Addr = ln.Addr().String()
	done := make(chan struct{})
	go func() { _ = ts.Serve(gs, ln); close(done) }()
	t.Cleanup(func() { gs.Stop(); <-done })
	return e
}

// Calls are the calls served so far.
func (e *Endpoint) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

func (e *Endpoint) record(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	var c Call
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			c.ClientCN = ti.State.VerifiedChains[0][0].Subject.CommonName
		}
	}
	e.mu.Lock()
	e.calls = append(e.calls, c)
	e.mu.Unlock()
	return h(ctx, req)
}
