package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// defaultLeaseTTL is the server's lease TTL when --lease-ttl is not given.
const defaultLeaseTTL = 30 * time.Second

// recovery is what a server restarted after a SIGKILL took to resume its work.
type recovery struct {
	// firstRequest is the time from the restart (the process started) to the first request
	// the emulator received from it.
	firstRequest time.Duration
	// firstProgress is the time from the restart to the first resource more marked ready in
	// the clusters' stored progress than when the server was killed.
	firstProgress time.Duration
}

// measureRecovery provisions two IaaS clusters with a server on a data directory and the
// default lease TTL, kills the server with SIGKILL while Azure operations are in flight and
// the clusters are partly provisioned, restarts it on the same data directory, and measures
// how long the restarted server took to resume.
func measureRecovery(tb testing.TB) recovery {
	tb.Helper()
	env := emulatortest.Start(tb, func(o *emulator.Options) { o.Latency = "fast" })
	dataDir := tb.TempDir()
	srv := newRestartableServer(tb, "server", []string{"--data-dir", dataDir}, nil)
	names := []string{"rec-a", "rec-b"}
	applyRecoveryObjects(tb, env, srv.URL, names)

	// Kill once Azure is at work and part of the clusters is provisioned.
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, total := progressOverAPI(srv.URL)
		if env.OperationsInFlight() > 0 && done >= 4 && done < total {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no partial progress with operations in flight within 60s (%d of %d); logs:\n%s", done, total, srv.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.kill()
	before := storedProgress(tb, dataDir)
	_, requests := env.Requests(tb, "", "")

	began := time.Now()
	srv.start()
	var r recovery
	deadline = began.Add(2 * defaultLeaseTTL)
	for r.firstRequest == 0 || r.firstProgress == 0 {
		if _, n := env.Requests(tb, "", ""); n > requests && r.firstRequest == 0 {
			r.firstRequest = time.Since(began)
		}
		if done, _ := progressOverAPI(srv.URL); done > before && r.firstProgress == 0 {
			r.firstProgress = time.Since(began)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the restarted server made no progress within %s (first request after %s); logs:\n%s", 2*defaultLeaseTTL, r.firstRequest, srv.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r
}

// applyRecoveryObjects stores the emulator's account, the IaaS profile and the clusters.
func applyRecoveryObjects(tb testing.TB, env *emulatortest.Env, url string, names []string) {
	tb.Helper()
	docs := []string{env.Emulator.CloudAccountYAML("emulator")}
	profile, err := os.ReadFile(filepath.Join(examples, "profile-iaas.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	docs = append(docs, string(profile))
	for _, n := range names {
		env.ResourceGroup(tb, n+"-rg")
		docs = append(docs, iaasClusterYAML(tb, n, env.SubscriptionID, n+"-rg", 3, 2))
	}
	cl, err := clientFor(url)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, d := range docs {
		objs, err := v1alpha1.Decode([]byte(d))
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range objs {
			if _, _, err := cl.Apply(ctx, o, client.WriteOptions{}); err != nil {
				tb.Fatalf("apply %s %s: %v", o.GetTypeMeta().Kind, o.Key(), err)
			}
		}
	}
}

// progressOverAPI sums the clusters' progress as the server reports it (0, 0 while it is down).
func progressOverAPI(url string) (done, total int) {
	for _, c := range clusterPhases(url) {
		if p := c.Status.Progress; p != nil {
			done, total = done+p.Done, total+p.Total
		}
	}
	return done, total
}

// storedProgress sums the clusters' progress in the data directory's database, read while no
// server runs.
func storedProgress(tb testing.TB, dataDir string) int {
	tb.Helper()
	key, err := secrets.LoadOrCreateKeyFile(filepath.Join(dataDir, "encryption.key"))
	if err != nil {
		tb.Fatal(err)
	}
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "strata.db"), sealer)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	list, err := st.List(ctx, v1alpha1.KindCluster, store.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	done := 0
	for _, o := range list.Items {
		if p := o.(*v1alpha1.Cluster).Status.Progress; p != nil {
			done += p.Done
		}
	}
	return done
}

// TestRestartTakesBackLeases: a server killed with SIGKILL in the middle of provisioning and
// restarted on the same data directory is the same lease holder: it resumes at once, well
// within the 30 s lease TTL that a new holder would have to wait for.
func TestRestartTakesBackLeases(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	r := measureRecovery(t)
	t.Logf("restart after SIGKILL: first Azure request after %s, first progress after %s (lease TTL %s)", r.firstRequest, r.firstProgress, defaultLeaseTTL)
	if limit := defaultLeaseTTL / 3; r.firstRequest > limit || r.firstProgress > limit {
		t.Errorf("the restarted server resumed after %s (first request) and %s (first progress): not well within the lease TTL of %s", r.firstRequest, r.firstProgress, defaultLeaseTTL)
	}
}

// BenchmarkRecoveryAfterSIGKILL measures what TestRestartTakesBackLeases asserts, for
// docs/benchmarks.md: go test -run '^$' -bench RecoveryAfterSIGKILL -benchtime 1x -count 3 ./cmd/strata/
func BenchmarkRecoveryAfterSIGKILL(b *testing.B) {
	var request, progress time.Duration
	for range b.N {
		r := measureRecovery(b)
		request += r.firstRequest
		progress += r.firstProgress
	}
	b.ReportMetric(request.Seconds()/float64(b.N), "first-request-s")
	b.ReportMetric(progress.Seconds()/float64(b.N), "first-progress-s")
	b.ReportMetric(0, "ns/op")
}

// TestSecondServerOnDataDirGetsFreshIdentity: two live servers never share one holder identity:
// a second server started on a data directory in use takes a fresh identity and says so,
// while a restart of the first (its lock released by its death) takes the kept one back.
func TestSecondServerOnDataDirGetsFreshIdentity(t *testing.T) {
	dataDir := t.TempDir()
	first := newRestartableServer(t, "first", []string{"--data-dir", dataDir}, nil)
	second := newRestartableServer(t, "second", []string{"--data-dir", dataDir}, nil)
	registerServer(t, second.URL, adminKeyOf(t, first.URL), second.ca) // one store: the first's admin
	kept, err := os.ReadFile(filepath.Join(dataDir, "holder"))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(string(kept))
	// A line the server wrote before /healthz answered may still be in the pipe to its buffer.
	logged := func(b *syncBuffer, line string) bool {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if strings.Contains(b.String(), line) {
				return true
			}
		}
		return false
	}
	if !logged(first.logs, "holder="+name) {
		t.Errorf("the first server does not use the kept identity %q:\n%s", name, first.logs)
	}
	logged(second.logs, "holds this data directory's holder identity")
	logs := second.logs.String()
	if !strings.Contains(logs, "holds this data directory's holder identity") || strings.Contains(logs, "holder="+name+" ") {
		t.Errorf("the second server did not take a fresh identity, or did not say so:\n%s", logs)
	}
	first.kill()
	first.start()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, after, _ := strings.Cut(first.logs.String(), "=== start 2"); strings.Contains(after, "holder="+name+" kept=true") {
			break
		}
	}
	_, restarted, _ := strings.Cut(first.logs.String(), "=== start 2")
	if !strings.Contains(restarted, "holder="+name+" kept=true") {
		t.Errorf("the restarted first server did not take its identity back:\n%s", first.logs)
	}
}
