package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// The benchmark's sizes.
const (
	benchGateways = 100
	benchAccounts = 400
	benchProfiles = 50 // names, of benchVersions versions each
	benchVersions = 10
	benchClusters = 10_000 - benchGateways - benchAccounts - benchProfiles*benchVersions
	benchGets     = 2_000
	benchApplies  = 1_000
)

// BenchmarkAPI measures the API over real HTTP on each store, seeded with 10,000 objects:
// the latency of GETs of random objects (p50 and p99), and the time to apply (PUT) 1,000 new
// Clusters one after the other. Run it with
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/server/
//
// PostgreSQL is at $STRATA_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test);
// the benchmark works in a schema of its own and drops it afterwards, and is skipped when the
// database cannot be reached.
func BenchmarkAPI(b *testing.B) {
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{9}, secrets.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "strata.db"), sealer)
		if err != nil {
			b.Fatalf("open sqlite: %v", err)
		}
		b.Cleanup(func() { _ = st.Close() })
		benchAPI(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		st := openPostgres(b, sealer)
		benchAPI(b, st)
	})
}

func benchAPI(b *testing.B, st store.Store) {
	ctx := b.Context()
	seedStart := time.Now()
	paths := seedBench(b, ctx, st)
	b.Logf("seeded %d objects in %s", len(paths), time.Since(seedStart).Round(time.Millisecond))

	srv := New(Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	hc := hs.Client()
	rng := rand.New(rand.NewPCG(1, 2))

	var latencies []time.Duration
	var applyTotal time.Duration
	iterations := 0
	for b.Loop() {
		for range benchGets {
			p := paths[rng.IntN(len(paths))]
			start := time.Now()
			code, body := benchDo(b, hc, http.MethodGet, hs.URL+p, nil)
			latencies = append(latencies, time.Since(start))
			if code != http.StatusOK {
				b.Fatalf("GET %s: %d %s", p, code, body)
			}
		}
		start := time.Now()
		for j := range benchApplies {
			c := cluster(fmt.Sprintf("applied-%d-%d", iterations, j), benchAccountName(j), benchProfile(j))
			code, body := benchDo(b, hc, http.MethodPut, hs.URL+objPath(c), encode(b, c))
			if code != http.StatusCreated {
				b.Fatalf("PUT %s: %d %s", objPath(c), code, body)
			}
		}
		applyTotal += time.Since(start)
		iterations++
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		i := min(len(latencies)-1, int(p*float64(len(latencies))))
		return float64(latencies[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "get-p50-ms")
	b.ReportMetric(pct(0.99), "get-p99-ms")
	b.ReportMetric(applyTotal.Seconds()/float64(iterations), "apply-1000-s")
}

func benchDo(b *testing.B, hc *http.Client, method, url string, body []byte) (int, []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(b.Context(), method, url, rd)
	if err != nil {
		b.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatalf("%s %s: read: %v", method, url, err)
	}
	return resp.StatusCode, data
}

func benchAccountName(i int) string { return fmt.Sprintf("account-%d", i%benchAccounts) }

func benchProfile(i int) *v1alpha1.ClusterProfile {
	return profile(fmt.Sprintf("profile-%d", i%benchProfiles), fmt.Sprintf("1.%d.0", (i/benchProfiles)%benchVersions))
}

// seedBench stores 10,000 valid objects of every kind directly in the store, and returns their
// API paths.
func seedBench(b *testing.B, ctx context.Context, st store.Store) []string {
	var stages [][]v1alpha1.Object
	var objs []v1alpha1.Object
	for i := range benchGateways {
		objs = append(objs, gateway(fmt.Sprintf("gateway-%d", i)))
	}
	stages = append(stages, objs)
	objs = nil
	for i := range benchAccounts {
		objs = append(objs, account(benchAccountName(i), fmt.Sprintf("gateway-%d", i%benchGateways), fmt.Sprintf("secret-%d", i)))
	}
	for i := range benchProfiles * benchVersions {
		objs = append(objs, benchProfile(i))
	}
	stages = append(stages, objs)
	objs = nil
	for i := range benchClusters {
		objs = append(objs, cluster(fmt.Sprintf("cluster-%d", i), benchAccountName(i), benchProfile(i)))
	}
	stages = append(stages, objs)

	var paths []string
	for _, stage := range stages {
		for _, o := range stage {
			v1alpha1.Default(o)
			paths = append(paths, objPath(o))
		}
		createAll(b, ctx, st, stage)
	}
	return paths
}

// createAll creates objects with a few concurrent writers.
func createAll(b *testing.B, ctx context.Context, st store.Store, objs []v1alpha1.Object) {
	const workers = 8
	work := make(chan v1alpha1.Object)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for o := range work {
				if err := st.Create(ctx, o); err != nil {
					select { // keep the first error of each worker, and keep draining
					case errs <- fmt.Errorf("seed %s %s: %w", o.GetTypeMeta().Kind, o.Key(), err):
					default:
					}
				}
			}
		})
	}
	go func() {
		defer close(work)
		for _, o := range objs {
			select {
			case work <- o:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}
