package gateway

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/gatewayserver"
	"github.com/strata-dev/strata/internal/tunnel/tunneltest"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// A proxy that intercepts TLS and speaks only HTTP/1.1: the gateway registers, reads the
// store and holds its stream over the WebSocket fallback, with mutual TLS inside it.
func TestThroughAnInterceptingProxy(t *testing.T) {
	ts := newTestServer(t)
	ts.gateway(t, "corp", "acct", "s3cret")
	ts.runStatus(t)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ts.caPEM)
	inspection := tunneltest.NewCA(t, "Corp TLS Inspection CA", "Corp")
	proxy := tunneltest.StartProxy(t, tunneltest.ProxyOptions{Intercept: inspection, ServerRoots: roots})
	token, ca, err := ts.srv.MintToken(context.Background(), "corp", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := withDefaults(Config{Server: ts.addr, CAPEM: ca, Token: token, DataDir: t.TempDir(), ServerProxy: proxy.URL,
		ProxyCA: inspection.PEM, FallbackAfter: 2, Replica: "r1", Version: "v1", Heartbeat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sess, err := newSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.close()
	if _, err := ensureIdentity(ctx, cfg, sess); err != nil {
		t.Fatalf("register through the proxy: %v", err)
	}
	cc, err := sess.client()
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	obj, err := NewRemoteStore(cc).Get(ctx, v1alpha1.KindCloudAccount, "acct")
	if err != nil || obj.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret.Reveal() != "s3cret" {
		t.Fatalf("the store through the proxy: %v %v", obj, err)
	}
	go func() { _ = stream(ctx, cfg, gatewayv1.NewGatewayServiceClient(cc), nil, cfg.Logger) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, err := ts.st.Get(ctx, v1alpha1.KindPrivateCloudGateway, "corp")
		if err == nil && g.(*v1alpha1.PrivateCloudGateway).Status.Phase == gatewayserver.PhaseRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway is not Running through the proxy: %+v", g)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if proxy.Intercepts() == 0 || proxy.Upgrades() == 0 {
		t.Errorf("the proxy intercepted %d connections and relayed %d WebSocket upgrades: the fallback was not used",
			proxy.Intercepts(), proxy.Upgrades())
	}
}
