package agentserver_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// benchAgents is how many agents BenchmarkHub200Agents connects to one hub.
const benchAgents = 200

// BenchmarkHub200Agents serves one hub (SQLite store, change feed, production defaults:
// heartbeat 15 s, resync 1 min, feed poll 1 s) to 200 simulated agents in this process. Each
// is a real gRPC client over TLS on loopback with a connection of its own: it registers with
// its cluster's token, holds Connect (Hello, a heartbeat every 15 s) and answers every
// DesiredState with a StatusReport of all its layers Ready. It measures the time until all are
// connected and Ready in the store, the process's CPU and memory at rest (the simulated agents
// included), and the time to push a new profile version to all of them.
//
//	go test -run '^$' -bench Hub200Agents -benchtime 1x -count 3 ./internal/agentserver/
func BenchmarkHub200Agents(b *testing.B) {
	if testing.Short() {
		b.Skip("a minute of 200 simulated agents; not in -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "strata.db"), sealer)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	f := feed.New(st, feed.Config{}) // the server's defaults
	go func() { _ = f.Run(ctx) }()
	auth, err := agentserver.LoadAuthority(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	cs := &countingStore{Store: st}
	warnings := &benchWarnings{}
	hub := agentserver.NewHub(agentserver.Config{Store: cs, Authority: auth, Feed: f, Holder: "bench-server", Logger: slog.New(warnings)})
	gs, err := hub.NewGRPCServer(agentserver.ServerOptions{Names: []string{"127.0.0.1"}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	go func() { _ = hub.Run(ctx) }()
	b.Cleanup(gs.Stop)
	b.Cleanup(cancel) // cleanups run last first: agents and hub stop, then the server, then the store

	// One account, one add-on profile of one ConfigMap layer, 200 clusters pinning it, each
	// with its registration token.
	benchCreate(b, st, &v1alpha1.CloudAccount{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCloudAccount},
		Metadata: v1alpha1.ObjectMeta{Name: "acct"}})
	benchCreate(b, st, benchProfile("1.0.0"))
	tokens := make([]string, benchAgents)
	for i := range tokens {
		name := benchClusterName(i)
		cl := &v1alpha1.Cluster{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCluster},
			Metadata: v1alpha1.ObjectMeta{Name: name},
			Spec:     v1alpha1.ClusterSpec{CloudAccount: "acct", Profiles: []v1alpha1.ProfileRef{{Name: "addons", Version: "1.0.0"}}}}
		benchCreate(b, st, cl)
		tokens[i], err = agentserver.MintToken(ctx, st, agentserver.Identity{ClusterName: name, ClusterUID: cl.Metadata.UID}, time.Now(), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
	}
	debug.FreeOSMemory() // the baseline without the pages an earlier run (-count) left to the runtime
	baseHeap, baseRSS := benchMemory(b)

	fleet := &benchFleet{addr: ln.Addr().String(), roots: x509.NewCertPool(), milestones: map[string]*benchMilestone{}}
	fleet.roots.AppendCertsFromPEM(auth.CA().CertPEM())
	b.ResetTimer()

	// Connect all.
	rv0 := benchRV(b, st)
	ops0, cpu0 := cs.snapshot(), benchCPU()
	start := time.Now()
	registered := fleet.expect("registered", "")
	received1, reported1 := fleet.expect("received", "1.0.0"), fleet.expect("reported", "1.0.0")
	var agents sync.WaitGroup
	for i, tok := range tokens {
		agents.Go(func() { (&simAgent{fleet: fleet, index: i, token: tok}).run(ctx) })
	}
	b.Cleanup(func() { cancel(); agents.Wait() })
	fleet.wait(b, registered, "every agent registered")
	registerAll := time.Since(start)
	fleet.wait(b, received1, "every agent received 1.0.0")
	receiveAll := time.Since(start)
	fleet.wait(b, reported1, "every agent reported 1.0.0 Ready")
	benchWaitStore(b, st, "every cluster AgentConnected and LayersReady with layer 1.0.0", func(c *v1alpha1.Cluster) bool {
		return benchCond(c, agentserver.ConditionAgentConnected) == "True" && benchLayersAt(c, "1.0.0")
	})
	connectAll := time.Since(start)
	connectCPU := benchCPU() - cpu0
	connectOps := cs.snapshot().minus(ops0)
	connectRV := benchRV(b, st) - rv0
	if n := hub.Connected(); n != benchAgents {
		b.Fatalf("hub.Connected() = %d, want %d", n, benchAgents)
	}

	// At rest: one heartbeat period, so that every stream beats once each way in it.
	time.Sleep(time.Second) // the last wake-ups of the connect phase
	window := agentserver.DefaultHeartbeat
	rvRest, opsRest, ds0 := benchRV(b, st), cs.snapshot(), fleet.received.Load()
	beats0, serverBeats0 := fleet.heartbeats.Load(), fleet.serverBeats.Load()
	var gc0 runtime.MemStats
	runtime.ReadMemStats(&gc0)
	restStart, cpuRest := time.Now(), benchCPU()
	time.Sleep(window)
	restCPU := (benchCPU() - cpuRest) / time.Since(restStart).Seconds()
	var gc1 runtime.MemStats
	runtime.ReadMemStats(&gc1)
	restOps := cs.snapshot().minus(opsRest)
	restRV := benchRV(b, st) - rvRest
	restBeats, restServerBeats, restDS := fleet.heartbeats.Load()-beats0, fleet.serverBeats.Load()-serverBeats0, fleet.received.Load()-ds0
	heap, rss := benchMemory(b)

	// Push: a new profile version, and every cluster re-pinned to it, one after another.
	rv1, ops1, cpu1, retries1 := benchRV(b, st), cs.snapshot(), benchCPU(), fleet.retries.Load()
	received2, reported2 := fleet.expect("received", "2.0.0"), fleet.expect("reported", "2.0.0")
	start = time.Now()
	benchCreate(b, st, benchProfile("2.0.0"))
	conflicts := 0
	for i := range benchAgents {
		conflicts += benchRepin(b, st, benchClusterName(i), "2.0.0")
		fleet.pinned[i].Store(time.Now().UnixNano())
	}
	pinWrites := time.Since(start)
	fleet.wait(b, received2, "every agent received 2.0.0")
	pushAll := time.Since(start)
	fleet.wait(b, reported2, "every agent reported 2.0.0 Ready")
	benchWaitStore(b, st, "every cluster's status.layers at 2.0.0", func(c *v1alpha1.Cluster) bool {
		return benchCond(c, agentserver.ConditionAgentConnected) == "True" && benchLayersAt(c, "2.0.0")
	})
	reportedAll := time.Since(start)
	pushCPU := benchCPU() - cpu1
	pushOps := cs.snapshot().minus(ops1)
	pushRV := benchRV(b, st) - rv1 - 1 - benchAgents // less the profile and the 200 pins
	b.StopTimer()
	var lags []time.Duration
	for i := range benchAgents {
		lags = append(lags, max(0, time.Duration(fleet.got2[i].Load()-fleet.pinned[i].Load())))
	}
	slices.Sort(lags)

	if n, last := warnings.get(); n != 0 {
		b.Logf("the hub logged %d warnings or errors; the last: %s", n, last)
	}
	if n := fleet.retries.Load(); n != 0 {
		b.Logf("agents retried %d times (%d during the push); last error: %v", n, n-retries1, fleet.lastErr.Load())
	}
	b.Logf("connect: all registered at %.2f s, all received their desired state at %.2f s, all Ready in the store at %.2f s",
		registerAll.Seconds(), receiveAll.Seconds(), connectAll.Seconds())
	b.Logf("connect: %d store writes of objects (%.2f per agent), hub store ops %s, CPU %.1f s",
		connectRV, float64(connectRV)/benchAgents, connectOps, connectCPU)
	b.Logf("rest (%s): %d object writes, hub store ops %s, heartbeats: %d agent's, %d server's; %d desired states, %d GCs",
		window, restRV, restOps, restBeats, restServerBeats, restDS, gc1.NumGC-gc0.NumGC)
	b.Logf("push: pins written in %.2f s (%d conflicts retried), %d hub object writes (%.2f per agent), hub store ops %s, CPU %.1f s",
		pinWrites.Seconds(), conflicts, pushRV, float64(pushRV)/benchAgents, pushOps, pushCPU)
	b.Logf("push: from a cluster's pin written to its agent's receipt: p50 %s, max %s", lags[len(lags)/2], lags[len(lags)-1])
	b.Logf("memory: heap in use %.1f MiB (%.1f before the agents), VmRSS %.1f MiB (%.1f before)",
		mib(heap), mib(baseHeap), mib(rss), mib(baseRSS))

	b.ReportMetric(connectAll.Seconds(), "connect-all-s")
	b.ReportMetric(restCPU, "rest-cpu-s/s")
	b.ReportMetric(mib(heap), "heap-inuse-MiB")
	b.ReportMetric(mib(rss), "rss-MiB")
	b.ReportMetric((float64(heap)-float64(baseHeap))/1024/benchAgents, "heap-KiB/agent")
	b.ReportMetric((float64(rss)-float64(baseRSS))/1024/benchAgents, "rss-KiB/agent")
	b.ReportMetric(pinWrites.Seconds(), "pin-writes-s")
	b.ReportMetric(pushAll.Seconds(), "push-all-s")
	b.ReportMetric(reportedAll.Seconds(), "reported-all-s")
	b.ReportMetric(float64(lags[len(lags)-1])/1e6, "pin-to-agent-max-ms")
	b.ReportMetric(float64(connectOps.updates)/benchAgents, "connect-updates/agent")
	b.ReportMetric(float64(pushOps.updates)/benchAgents, "push-updates/agent")
}

// benchFleet is what the simulated agents share: the server's address and CA, and counters.
type benchFleet struct {
	addr  string
	roots *x509.CertPool

	received, heartbeats, serverBeats, retries atomic.Int64
	lastErr                                    atomic.Value // error
	// pinned is when each cluster was re-pinned to 2.0.0, got2 when its agent received it
	// (Unix nanoseconds).
	pinned, got2 [benchAgents]atomic.Int64

	mu         sync.Mutex
	milestones map[string]*benchMilestone // by event and layer version
}

// benchMilestone counts the agents that reached it; done is closed at benchAgents.
type benchMilestone struct {
	n    int
	done chan struct{}
}

// expect starts counting the agents that reach event ("received", "reported") at version.
func (f *benchFleet) expect(event, version string) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := &benchMilestone{done: make(chan struct{})}
	f.milestones[event+" "+version] = m
	return m.done
}

// reached counts one agent reaching event at version (each agent calls it once per pair).
func (f *benchFleet) reached(event, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.milestones[event+" "+version]; m != nil {
		if m.n++; m.n == benchAgents {
			close(m.done)
		}
	}
}

func (f *benchFleet) wait(b *testing.B, done <-chan struct{}, what string) {
	b.Helper()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("timed out waiting until %s; agents retried %d times, last error: %v", what, f.retries.Load(), f.lastErr.Load())
	}
}

func (f *benchFleet) failed(err error) {
	f.retries.Add(1)
	f.lastErr.Store(err)
}

// simAgent is one simulated agent: registration, then its stream, reconnecting on failure.
type simAgent struct {
	fleet   *benchFleet
	index   int
	token   string
	cert    tls.Certificate
	applied string          // revision last reported
	seen    map[string]bool // "event version" pairs already counted
}

func (a *simAgent) run(ctx context.Context) {
	a.seen = map[string]bool{}
	for {
		err := a.register(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		a.fleet.failed(fmt.Errorf("register: %w", err))
		benchSleep(ctx, time.Second)
	}
	a.fleet.reached("registered", "")
	for ctx.Err() == nil {
		err := a.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		a.fleet.failed(fmt.Errorf("stream: %w", err))
		benchSleep(ctx, 500*time.Millisecond)
	}
}

func (a *simAgent) dial(withCert bool) (*grpc.ClientConn, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: a.fleet.roots, ServerName: "127.0.0.1"}
	if withCert {
		conf.Certificates = []tls.Certificate{a.cert}
	}
	return grpc.NewClient("passthrough:///"+a.fleet.addr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
}

// register spends the token for a certificate of a new key, on a connection of its own.
func (a *simAgent) register(ctx context.Context) error {
	csr, keyPEM, err := kubecert.NewCSR(pkix.Name{CommonName: "agent"})
	if err != nil {
		return err
	}
	cc, err := a.dial(false)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := agentv1.NewRegistrationServiceClient(cc).Register(ctx, &agentv1.RegisterRequest{Token: a.token, Csr: csr})
	if err != nil {
		return err
	}
	a.cert, err = tls.X509KeyPair(resp.GetCertificate(), keyPEM)
	return err
}

// stream holds Connect until it fails: Hello, heartbeats, and a report of every layer Ready
// for each desired state.
func (a *simAgent) stream(ctx context.Context) error {
	cc, err := a.dial(true)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := agentv1.NewAgentServiceClient(cc).Connect(ctx)
	if err != nil {
		return err
	}
	var sendMu sync.Mutex
	send := func(m *agentv1.ConnectRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return st.Send(m)
	}
	hello := &agentv1.Hello{AgentVersion: "bench", KubernetesVersion: "v1.37.2", AppliedRevision: a.applied}
	if err := send(&agentv1.ConnectRequest{Message: &agentv1.ConnectRequest_Hello{Hello: hello}}); err != nil {
		return err
	}
	go func() {
		beat := time.NewTicker(agentserver.DefaultHeartbeat)
		defer beat.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-beat.C:
				if send(&agentv1.ConnectRequest{Message: &agentv1.ConnectRequest_Heartbeat{Heartbeat: &agentv1.Heartbeat{Time: timestamppb.Now()}}}) != nil {
					return
				}
				a.fleet.heartbeats.Add(1)
			}
		}
	}()
	for {
		m, err := st.Recv()
		if err != nil {
			return err
		}
		ds := m.GetDesired()
		if ds == nil {
			a.fleet.serverBeats.Add(1)
			continue
		}
		a.fleet.received.Add(1)
		a.reach("received", ds)
		r := &agentv1.StatusReport{Revision: ds.GetRevision(), ProxyInjectionReady: true}
		for _, l := range ds.GetLayers() {
			r.Layers = append(r.Layers, &agentv1.LayerStatus{Name: l.GetName(), Version: l.GetVersion(), Digest: l.GetDigest(),
				Phase: agentserver.PhaseReady, Objects: 1, Available: 1, Applies: 1})
		}
		if err := send(&agentv1.ConnectRequest{Message: &agentv1.ConnectRequest_Status{Status: r}}); err != nil {
			return err
		}
		a.applied = ds.GetRevision()
		a.reach("reported", ds)
	}
}

// reach counts the agent at the milestone of ds's (first) layer version, once.
func (a *simAgent) reach(event string, ds *agentv1.DesiredState) {
	if len(ds.GetLayers()) == 0 {
		return
	}
	k := event + " " + ds.GetLayers()[0].GetVersion()
	if !a.seen[k] {
		a.seen[k] = true
		if k == "received 2.0.0" {
			a.fleet.got2[a.index].Store(time.Now().UnixNano())
		}
		a.fleet.reached(event, ds.GetLayers()[0].GetVersion())
	}
}

// countingStore counts the hub's store calls.
type countingStore struct {
	store.Store
	gets, updates, conflicts, events, secretOps, leaseOps atomic.Int64
}

type benchOps struct{ gets, updates, conflicts, events, secretOps, leaseOps int64 }

func (s *countingStore) snapshot() benchOps {
	return benchOps{s.gets.Load(), s.updates.Load(), s.conflicts.Load(), s.events.Load(), s.secretOps.Load(), s.leaseOps.Load()}
}

func (o benchOps) minus(p benchOps) benchOps {
	return benchOps{o.gets - p.gets, o.updates - p.updates, o.conflicts - p.conflicts, o.events - p.events, o.secretOps - p.secretOps, o.leaseOps - p.leaseOps}
}

func (o benchOps) String() string {
	return fmt.Sprintf("{gets %d, updates %d (conflicts %d), events %d, secret ops %d, lease ops %d}",
		o.gets, o.updates, o.conflicts, o.events, o.secretOps, o.leaseOps)
}

func (s *countingStore) Get(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, kind, key)
}

func (s *countingStore) Update(ctx context.Context, obj v1alpha1.Object) error {
	s.updates.Add(1)
	err := s.Store.Update(ctx, obj)
	if errors.Is(err, store.ErrConflict) {
		s.conflicts.Add(1)
	}
	return err
}

func (s *countingStore) RecordEvent(ctx context.Context, ev store.Event) error {
	s.events.Add(1)
	return s.Store.RecordEvent(ctx, ev)
}

func (s *countingStore) GetSecret(ctx context.Context, name string) ([]byte, error) {
	s.secretOps.Add(1)
	return s.Store.GetSecret(ctx, name)
}

func (s *countingStore) PutSecret(ctx context.Context, name string, b []byte) error {
	s.secretOps.Add(1)
	return s.Store.PutSecret(ctx, name, b)
}

func (s *countingStore) DeleteSecret(ctx context.Context, name string) error {
	s.secretOps.Add(1)
	return s.Store.DeleteSecret(ctx, name)
}

func (s *countingStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	s.leaseOps.Add(1)
	return s.Store.AcquireLease(ctx, name, holder, ttl)
}

func (s *countingStore) ReleaseLease(ctx context.Context, name, holder string) error {
	s.leaseOps.Add(1)
	return s.Store.ReleaseLease(ctx, name, holder)
}

// benchWarnings counts the hub's log records of level Warn and above, keeping the last.
type benchWarnings struct {
	mu   sync.Mutex
	n    int
	last string
}

func (w *benchWarnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *benchWarnings) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	w.last = msg
	return nil
}

func (w *benchWarnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *benchWarnings) WithGroup(string) slog.Handler      { return w }

func (w *benchWarnings) get() (int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n, w.last
}

func benchClusterName(i int) string { return fmt.Sprintf("c%03d", i) }

// benchProfile is version of the add-on profile "addons": one layer of one ConfigMap, of the
// profile's version.
func benchProfile(version string) *v1alpha1.ClusterProfile {
	cm := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\ndata:\n  version: %q\n", version)
	return &v1alpha1.ClusterProfile{TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindClusterProfile},
		Metadata: v1alpha1.ObjectMeta{Name: "addons"},
		Spec: v1alpha1.ClusterProfileSpec{Version: version, Cloud: v1alpha1.ProfileCloudAll, Type: v1alpha1.ProfileTypeAddOn,
			Layers: []v1alpha1.Layer{{Name: "settings", Type: v1alpha1.LayerAddon, Version: version,
				Manifests: []v1alpha1.Manifest{{Name: "settings", Content: cm}}}}}}
}

func benchCreate(b *testing.B, st store.Store, obj v1alpha1.Object) {
	b.Helper()
	if err := st.Create(context.Background(), obj); err != nil {
		b.Fatal(err)
	}
}

// benchRepin pins the cluster to version of "addons", as a client would: read, change,
// write, again on a conflict. It returns the conflicts.
func benchRepin(b *testing.B, st store.Store, name, version string) int {
	b.Helper()
	for conflicts := 0; ; conflicts++ {
		obj, err := st.Get(context.Background(), v1alpha1.KindCluster, name)
		if err != nil {
			b.Fatal(err)
		}
		cl := obj.(*v1alpha1.Cluster)
		cl.Spec.Profiles[0].Version = version
		err = st.Update(context.Background(), cl)
		if err == nil {
			return conflicts
		}
		if !errors.Is(err, store.ErrConflict) || conflicts > 100 {
			b.Fatal(err)
		}
	}
}

// benchWaitStore waits until ok holds for every cluster, listing them every 50 ms.
func benchWaitStore(b *testing.B, st store.Store, what string, ok func(*v1alpha1.Cluster) bool) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := st.List(context.Background(), v1alpha1.KindCluster, store.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, o := range res.Items {
			if c, isCluster := o.(*v1alpha1.Cluster); isCluster && ok(c) {
				n++
			}
		}
		if n == benchAgents {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting until %s: %d of %d", what, n, benchAgents)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func benchCond(c *v1alpha1.Cluster, typ string) string {
	if x := v1alpha1.FindCondition(&c.Status.Status, typ); x != nil {
		return x.Status
	}
	return ""
}

// benchLayersAt: LayersReady is True and every layer in status.layers is at version.
func benchLayersAt(c *v1alpha1.Cluster, version string) bool {
	if benchCond(c, agentserver.ConditionLayersReady) != "True" || len(c.Status.Layers) == 0 {
		return false
	}
	for _, l := range c.Status.Layers {
		if l.Version != version || l.Phase != agentserver.PhaseReady {
			return false
		}
	}
	return true
}

func benchRV(b *testing.B, st store.Store) int64 {
	b.Helper()
	rv, err := st.ResourceVersion(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return rv
}

// benchCPU is the process's CPU time so far (user and system), in seconds.
func benchCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchMemory is the heap in use after a GC, and the process's resident memory (VmRSS), in
// bytes.
func benchMemory(b *testing.B) (heap, rss uint64) {
	b.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return ms.HeapInuse, kb * 1024
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0, 0
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func benchSleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
