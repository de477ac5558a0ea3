package proxytest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agent"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/squidtest"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// TestAgentThroughSquid runs the agent's whole connection through Debian's squid: the agent
// dials a host name only squid resolves, so registration and its stream can only work through
// HTTPS_PROXY. Stopping squid breaks the stream (the cluster shows the agent disconnected, and
// keeps what was applied); starting it again on the same port brings the agent back.
func TestAgentThroughSquid(t *testing.T) {
	sq := squidtest.Start(t, squidPort, map[string]string{endpointName: "127.0.0.1"})

	// The name resolves nowhere but in squid.
	lookupCtx, cancelLookup := context.WithTimeout(context.Background(), 10*time.Second)
	if addrs, err := net.DefaultResolver.LookupHost(lookupCtx, endpointName); err == nil {
		t.Fatalf("%s resolves outside squid (%v): the test would not prove the proxy is used", endpointName, addrs)
	}
	cancelLookup()

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := feed.New(st, feed.Config{PollInterval: 100 * time.Millisecond})
	go func() { _ = f.Run(ctx) }()
	auth, err := agentserver.LoadAuthority(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	hubLog := &syncBuffer{}
	hub := agentserver.NewHub(agentserver.Config{Store: st, Authority: auth, Feed: f, Holder: "test-server",
		Heartbeat: 300 * time.Millisecond, Resync: time.Second,
		Logger: slog.New(slog.NewTextHandler(hubLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	gs, err := hub.NewGRPCServer(agentserver.ServerOptions{Names: []string{endpointName}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	go func() { _ = hub.Run(ctx) }()
	endpoint := net.JoinHostPort(endpointName, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))

	cfg := kubetest.Start(t)
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	mustCreate(t, st, &v1alpha1.CloudAccount{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCloudAccount},
		Metadata: v1alpha1.ObjectMeta{Name: "acct"}})
	mustCreate(t, st, &v1alpha1.ClusterProfile{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindClusterProfile},
		Metadata: v1alpha1.ObjectMeta{Name: "addons"},
		Spec: v1alpha1.ClusterProfileSpec{Version: "1.0.0", Cloud: v1alpha1.ProfileCloudAll, Type: v1alpha1.ProfileTypeAddOn,
			Layers: []v1alpha1.Layer{{Name: "config", Type: v1alpha1.LayerAddon, Version: "1.0.0",
				Manifests: []v1alpha1.Manifest{{Name: "cm", Content: configMapLayer}}}}}})
	mustCreate(t, st, &v1alpha1.Cluster{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCluster},
		Metadata: v1alpha1.ObjectMeta{Name: "c1"},
		Spec:     v1alpha1.ClusterSpec{CloudAccount: "acct", Profiles: []v1alpha1.ProfileRef{{Name: "addons", Version: "1.0.0"}}}})
	cl := getCluster(t, st, "c1")
	token, err := agentserver.MintToken(ctx, st, agentserver.Identity{ClusterName: "c1", ClusterUID: cl.Metadata.UID}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	putConfigSecret(t, kc, endpoint, auth.CA().CertPEM(), token)

	agentLog := &syncBuffer{}
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		_ = agent.Run(ctx, agent.Config{Kube: cfg, Version: "test", WebhookPort: kubetest.FreePort(t), PodIP: "127.0.0.1",
			WebhookSelector: map[string]string{"app": "agent"}, Heartbeat: 300 * time.Millisecond,
			BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second,
			Logger: slog.New(slog.NewTextHandler(agentLog, nil))})
	}()
	t.Cleanup(func() {
		cancel()
		<-agentDone
		if t.Failed() {
			t.Logf("agent log:\n%s", agentLog.String())
			t.Logf("hub log:\n%s", hubLog.String())
			t.Logf("squid access.log:\n%s", strings.Join(sq.AccessLog(), "\n"))
			t.Logf("squid:\n%s", sq.Logs())
		}
	})

	// 1. Registered and connected through squid; the layer applied.
	waitFor(t, "agent connected and layers ready", func() bool {
		c := getCluster(t, st, "c1")
		return cond(c, agentserver.ConditionAgentConnected) == "True" && cond(c, agentserver.ConditionLayersReady) == "True"
	})
	layerCM, err := kc.CoreV1().ConfigMaps("apps").Get(ctx, "proxied", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the layer's ConfigMap: %v", err)
	}
	// squid writes a tunnel's line when it closes: registration's connection has closed.
	waitFor(t, "squid's access.log shows CONNECT "+endpoint, func() bool { return len(sq.Tunnels(endpoint)) > 0 })
	t.Logf("through squid: %s", sq.Tunnels(endpoint)[0])

	// 2. squid stops: the stream breaks, the cluster shows the agent disconnected within the
	// heartbeats' bound, and keeps what was applied.
	endedBefore := strings.Count(agentLog.String(), "stream to the server ended")
	stopped := time.Now()
	sq.Stop()
	waitFor(t, "AgentConnected False once squid is stopped", func() bool {
		return cond(getCluster(t, st, "c1"), agentserver.ConditionAgentConnected) == "False"
	})
	t.Logf("AgentConnected False %s after stopping squid", time.Since(stopped).Round(time.Millisecond))
	waitFor(t, "the hub holds no stream", func() bool { return hub.Connected() == 0 })
	waitFor(t, "the agent's stream failed", func() bool {
		return strings.Count(agentLog.String(), "stream to the server ended") > endedBefore
	})
	c := getCluster(t, st, "c1")
	if c.Status.Agent == nil || c.Status.Agent.Connected {
		t.Fatalf("status.agent with squid stopped: %+v, want connected false", c.Status.Agent)
	}
	if got := cond(c, agentserver.ConditionLayersReady); got != "True" {
		t.Fatalf("LayersReady with squid stopped: %q, want it kept True", got)
	}
	assertLayerKept(t, kc, layerCM)

	// 3. squid again, on the same port: the agent reconnects by itself.
	restarted := time.Now()
	sq.Start()
	waitFor(t, "AgentConnected True once squid is back", func() bool {
		c := getCluster(t, st, "c1")
		return cond(c, agentserver.ConditionAgentConnected) == "True" && cond(c, agentserver.ConditionLayersReady) == "True"
	})
	t.Logf("AgentConnected True %s after restarting squid", time.Since(restarted).Round(time.Millisecond))
	waitFor(t, "the hub holds the stream again", func() bool { return hub.Connected() == 1 })
	assertLayerKept(t, kc, layerCM)
}

const configMapLayer = `apiVersion: v1
kind: ConfigMap
metadata:
  name: proxied
  namespace: apps
data:
  key: through-squid
`

// assertLayerKept checks that the layer's ConfigMap is the one first applied, unchanged.
func assertLayerKept(t *testing.T, kc kubernetes.Interface, want *corev1.ConfigMap) {
	t.Helper()
	got, err := kc.CoreV1().ConfigMaps(want.Namespace).Get(context.Background(), want.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the layer's ConfigMap: %v", err)
	}
	if got.UID != want.UID || got.Data["key"] != "through-squid" {
		t.Fatalf("the layer's ConfigMap changed: uid %s data %v, want uid %s data key=through-squid", got.UID, got.Data, want.UID)
	}
}

func putConfigSecret(t *testing.T, kc kubernetes.Interface, server string, caPEM []byte, token string) {
	t.Helper()
	ctx := context.Background()
	_, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "strata-system"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	_, err = kc.CoreV1().Secrets("strata-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: agent.ConfigSecret},
		Data: map[string][]byte{"server": []byte(server), "ca.crt": caPEM, "token": []byte(token)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, st store.Store, obj v1alpha1.Object) {
	t.Helper()
	if err := st.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func getCluster(t *testing.T, st store.Store, name string) *v1alpha1.Cluster {
	t.Helper()
	obj, err := st.Get(context.Background(), v1alpha1.KindCluster, name)
	if errors.Is(err, store.ErrNotFound) {
		return &v1alpha1.Cluster{}
	}
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*v1alpha1.Cluster)
}

func cond(c *v1alpha1.Cluster, typ string) string {
	if x := v1alpha1.FindCondition(&c.Status.Status, typ); x != nil {
		return x.Status
	}
	return ""
}

// waitFor polls ok until it holds, failing the test after 60 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for: %s", what)
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
