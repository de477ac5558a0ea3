package agentserver_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agent"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// env is a store, a hub serving gRPC on loopback and a real API server.
type env struct {
	st   store.Store
	feed *feed.Feed
	hub  *agentserver.Hub
	reg  *prometheus.Registry
	// stop stops the hub and its gRPC server at once, dropping the agents' connections as a
	// crash of the server would.
	stop func()
	auth *agentserver.Authority
	addr string
	kube kubernetes.Interface
	rest *rest.Config
}

func newEnv(t *testing.T) (*env, context.Context) {
	t.Helper()
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
	e := &env{st: st, feed: f, auth: auth}
	e.startHub(t, ctx, "127.0.0.1:0")
	cfg := kubetest.Start(t)
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.kube, e.rest = kc, cfg
	return e, ctx
}

// startHub starts a hub and its gRPC server on addr.
func (e *env) startHub(t *testing.T, ctx context.Context, addr string) {
	t.Helper()
	e.reg = prometheus.NewRegistry()
	e.hub = agentserver.NewHub(agentserver.Config{Store: e.st, Authority: e.auth, Feed: e.feed, Holder: "test-server",
		CertValidity: 4 * time.Second, Heartbeat: 500 * time.Millisecond, Resync: time.Second, Registerer: e.reg})
	gs, err := e.hub.NewGRPCServer(agentserver.ServerOptions{Names: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	hubCtx, cancel := context.WithCancel(ctx)
	go func() { _ = gs.Serve(ln) }()
	go func() { _ = e.hub.Run(hubCtx) }()
	e.addr = ln.Addr().String()
	e.stop = func() { cancel(); gs.Stop() }
	t.Cleanup(e.stop)
}

// applies sums the hub's strata_agent_layer_applies_total.
func (e *env) applies(t *testing.T) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "strata_agent_layer_applies_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

const configMapLayer = `apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  namespace: apps
data:
  key: %s
`

func profile(version, cmName, value string) *v1alpha1.ClusterProfile {
	return &v1alpha1.ClusterProfile{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindClusterProfile},
		Metadata: v1alpha1.ObjectMeta{Name: "addons"},
		Spec: v1alpha1.ClusterProfileSpec{Version: version, Cloud: v1alpha1.ProfileCloudAll, Type: v1alpha1.ProfileTypeAddOn,
			Layers: []v1alpha1.Layer{
				{Name: "first", Type: v1alpha1.LayerAddon, Version: "1.0.0", Manifests: []v1alpha1.Manifest{{Name: "a", Content: fmt.Sprintf(configMapLayer, "first", "one")}}},
				{Name: "second", Type: v1alpha1.LayerAddon, Version: version, Manifests: []v1alpha1.Manifest{{Name: "b", Content: fmt.Sprintf(configMapLayer, cmName, value)}}},
			}}}
}

func TestAgentRegistersAppliesAndReports(t *testing.T) {
	e, ctx := newEnv(t)
	mustCreate(t, e.st, &v1alpha1.CloudAccount{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCloudAccount},
		Metadata: v1alpha1.ObjectMeta{Name: "acct"}})
	mustCreate(t, e.st, profile("1.0.0", "second", "two"))
	cl := &v1alpha1.Cluster{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCluster},
		Metadata: v1alpha1.ObjectMeta{Name: "c1"},
		Spec:     v1alpha1.ClusterSpec{CloudAccount: "acct", Profiles: []v1alpha1.ProfileRef{{Name: "addons", Version: "1.0.0"}}}}
	mustCreate(t, e.st, cl)
	cl = getCluster(t, e.st, "c1")

	token, err := agentserver.MintToken(ctx, e.st, agentserver.Identity{ClusterName: "c1", ClusterUID: cl.Metadata.UID}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	putConfigSecret(t, e, token)
	go func() {
		_ = agent.Run(ctx, agent.Config{Kube: e.rest, Version: "test", WebhookPort: kubetest.FreePort(t), PodIP: "127.0.0.1",
			WebhookURL: "", WebhookSelector: map[string]string{"app": "agent"}, Heartbeat: 300 * time.Millisecond,
			BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
	}()

	// Registered and connected; both layers applied, in order.
	waitFor(t, "agent connected and layers ready", func() bool {
		c := getCluster(t, e.st, "c1")
		return cond(c, agentserver.ConditionAgentConnected) == "True" && cond(c, agentserver.ConditionLayersReady) == "True"
	})
	for _, name := range []string{"first", "second"} {
		if _, err := e.kube.CoreV1().ConfigMaps("apps").Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Fatalf("layer object %s: %v", name, err)
		}
	}
	// Each layer's object was applied once, as the agent reported.
	waitFor(t, "the first applies counted", func() bool { return e.applies(t) == 2 })
	first := configMapUID(t, e, "first")

	// The server dies (its connections dropped) and another starts on the same store and
	// address: the agent reconnects, and nothing is applied again.
	e.stop()
	e.startHub(t, ctx, e.addr)
	waitFor(t, "the agent reconnected and reported", func() bool { return e.hub.Connected() == 1 && series(t, e) == 2 })
	if got := e.applies(t); got != 0 {
		t.Errorf("after the server's restart the agent applied %v objects again, want 0", got)
	}
	if got := configMapUID(t, e, "first"); got != first {
		t.Errorf("the layer's object was recreated across the server's restart")
	}

	// The token was spent: a second registration with it is refused.
	if _, err := register(t, e, token); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("reused token: got %v, want Unauthenticated", err)
	}
	if _, err := register(t, e, cl.Metadata.UID+".forged"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("forged token: got %v, want Unauthenticated", err)
	}

	// Drift: an object deleted in the cluster comes back.
	if err := e.kube.CoreV1().ConfigMaps("apps").Delete(ctx, "first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deleted object re-applied", func() bool {
		_, err := e.kube.CoreV1().ConfigMaps("apps").Get(ctx, "first", metav1.GetOptions{})
		return err == nil
	})

	// The certificate (valid 4 s) is renewed, and the agent stays connected.
	before := identitySerial(t, e)
	waitFor(t, "certificate renewed", func() bool { return identitySerial(t, e) != before })

	// A new profile version with a changed second layer: re-applied, the old object pruned.
	mustCreate(t, e.st, profile("2.0.0", "second-v2", "three"))
	for {
		cl = getCluster(t, e.st, "c1")
		cl.Spec.Profiles[0].Version = "2.0.0"
		err := e.st.Update(ctx, cl)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
	}
	waitFor(t, "second layer replaced", func() bool {
		_, errNew := e.kube.CoreV1().ConfigMaps("apps").Get(ctx, "second-v2", metav1.GetOptions{})
		_, errOld := e.kube.CoreV1().ConfigMaps("apps").Get(ctx, "second", metav1.GetOptions{})
		return errNew == nil && apierrors.IsNotFound(errOld)
	})

	// Deleting the cluster revokes the agent: its stream ends and it cannot reconnect.
	for { // the hub writes the cluster's status meanwhile
		cl = getCluster(t, e.st, "c1")
		err := e.st.Delete(ctx, v1alpha1.KindCluster, "c1", cl.Metadata.ResourceVersion)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
	}
	waitFor(t, "agent disconnected", func() bool { return e.hub.Connected() == 0 })
}

// series counts the hub's applies series: one per layer once the agent reported.
func series(t *testing.T, e *env) int {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "strata_agent_layer_applies_total" {
			return len(mf.GetMetric())
		}
	}
	return 0
}

func configMapUID(t *testing.T, e *env, name string) string {
	t.Helper()
	cm, err := e.kube.CoreV1().ConfigMaps("apps").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(cm.UID)
}

func register(t *testing.T, e *env, token string) (*agentv1.RegisterResponse, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.auth.CA().CertPEM())
	cc, err := grpc.NewClient("passthrough:///"+e.addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	csr, _, err := kubecert.NewCSR(pkix.Name{CommonName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return agentv1.NewRegistrationServiceClient(cc).Register(ctx, &agentv1.RegisterRequest{Token: token, Csr: csr})
}

func putConfigSecret(t *testing.T, e *env, token string) {
	t.Helper()
	ctx := context.Background()
	_, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "strata-system"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	_, err = e.kube.CoreV1().Secrets("strata-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: agent.ConfigSecret},
		Data: map[string][]byte{"server": []byte(e.addr), "ca.crt": e.auth.CA().CertPEM(), "token": []byte(token)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func identitySerial(t *testing.T, e *env) string {
	t.Helper()
	s, err := e.kube.CoreV1().Secrets("strata-system").Get(context.Background(), agent.IdentitySecret, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return string(s.Data["tls.crt"])
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
