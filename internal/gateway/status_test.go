package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/gatewayserver"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// A replica's stream makes the gateway Running and its clusters GatewayConnected; when it
// ends, the gateway is Disconnected and the clusters keep their state with the condition False.
func TestStatusFollowsTheReplicas(t *testing.T) {
	ts := newTestServer(t)
	ts.gateway(t, "corp", "acct", "s")
	createCluster(t, ts.st, "c", "acct")
	ts.runStatus(t)
	waitFor(t, ts, func(gw *v1alpha1.PrivateCloudGateway, cl *v1alpha1.Cluster) bool {
		return gw.Status.Phase == gatewayserver.PhasePending && condition(cl) == "False"
	})
	cc, cfg := ts.register(t, "corp")
	cfg.Replica, cfg.Version, cfg.Heartbeat = "r1", "v9", 100*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = stream(ctx, cfg, gatewayv1.NewGatewayServiceClient(cc), nil, cfg.Logger); close(done) }()
	waitFor(t, ts, func(gw *v1alpha1.PrivateCloudGateway, cl *v1alpha1.Cluster) bool {
		return gw.Status.Phase == gatewayserver.PhaseRunning && gw.Status.Version == "v9" && len(gw.Status.Replicas) == 1 &&
			gw.Status.LastHeartbeat != nil && condition(cl) == "True"
	})
	cancel()
	<-done
	waitFor(t, ts, func(gw *v1alpha1.PrivateCloudGateway, cl *v1alpha1.Cluster) bool {
		return gw.Status.Phase == gatewayserver.PhaseDisconnected && len(gw.Status.Replicas) == 0 && condition(cl) == "False"
	})
}

func condition(cl *v1alpha1.Cluster) string {
	if c := v1alpha1.FindCondition(&cl.Status.Status, gatewayserver.ConditionGatewayConnected); c != nil {
		return c.Status
	}
	return ""
}

func waitFor(t *testing.T, ts *testServer, ok func(*v1alpha1.PrivateCloudGateway, *v1alpha1.Cluster) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		g, err1 := ts.st.Get(context.Background(), v1alpha1.KindPrivateCloudGateway, "corp")
		c, err2 := ts.st.Get(context.Background(), v1alpha1.KindCluster, "c")
		if err1 == nil && err2 == nil && ok(g.(*v1alpha1.PrivateCloudGateway), c.(*v1alpha1.Cluster)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached: gateway %+v, cluster %+v", g, c)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
