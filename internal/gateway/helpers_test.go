package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/gatewayserver"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store/sqlite"
	"github.com/strata-dev/strata/internal/tunnel"
)

// testServer is a store, the gateway services on a TLS listener, and what a gateway needs to
// register.
type testServer struct {
	st    *sqlite.Store
	srv   *gatewayserver.Server
	addr  string
	caPEM []byte
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	auth, err := agentserver.LoadAuthority(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.Serving([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(cred.CertPEM, cred.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(auth.CA().CertPEM())
	// As the server's agent endpoint: gRPC and the WebSocket transport on one port.
	mux := tunnel.NewServer(tunnel.ServerConfig{})
	gs := grpc.NewServer(grpc.Creds(mux.Credentials(&tls.Config{Certificates: []tls.Certificate{cert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool})))
	srv := gatewayserver.New(gatewayserver.Config{Store: st, Authority: auth, Heartbeat: 200 * time.Millisecond})
	srv.RegisterServices(gs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = mux.Serve(gs, ln) }()
	t.Cleanup(gs.Stop)
	return &testServer{st: st, srv: srv, addr: ln.Addr().String(), caPEM: auth.CA().CertPEM()}
}

// runStatus runs the server's status loop until the test ends.
func (ts *testServer) runStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = ts.srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// gateway stores a PrivateCloudGateway and a cloud account bound to it.
func (ts *testServer) gateway(t *testing.T, name, account, secret string) {
	t.Helper()
	ctx := context.Background()
	gw := v1alpha1.New(v1alpha1.KindPrivateCloudGateway).(*v1alpha1.PrivateCloudGateway)
	gw.Metadata.Name = name
	if err := ts.st.Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	acct := v1alpha1.New(v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount)
	acct.Metadata.Name = account
	acct.Spec.Gateway = name
	acct.Spec.Azure.TenantID, acct.Spec.Azure.ClientID = "t", "c"
	acct.Spec.Azure.ClientSecret = v1alpha1.NewSecret(secret)
	if err := ts.st.Create(ctx, acct); err != nil {
		t.Fatal(err)
	}
}

// register mints a token for the gateway and registers a replica with it, returning a
// connection with the replica's certificate.
func (ts *testServer) register(t *testing.T, name string) (*grpc.ClientConn, Config) {
	t.Helper()
	ctx := context.Background()
	token, ca, err := ts.srv.MintToken(ctx, name, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := withDefaults(Config{Server: ts.addr, CAPEM: ca, Token: token, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := newSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.close)
	if _, err := ensureIdentity(ctx, cfg, sess); err != nil {
		t.Fatal(err)
	}
	cc, err := sess.client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc, cfg
}
