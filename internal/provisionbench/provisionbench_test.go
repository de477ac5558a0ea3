package provisionbench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestProvisionWritesOncePerResource provisions two clusters of each type with a tiny latency
// scale and checks that each created resource was written exactly once and that an idle
// resync writes nothing.
func TestProvisionWritesOncePerResource(t *testing.T) {
	if testing.Short() {
		t.Skip("provisions clusters in an emulator")
	}
	tests := []struct {
		typ string
		// notResources is how many of a cluster's managed nodes are no ARM resource that
		// strata writes: the blob copy; the two agent pools, created inline with the managed
		// cluster.
		notResources int
	}{
		{v1alpha1.ClusterTypeIaaS, 1},
		{v1alpha1.ClusterTypeAKS, 2},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			res, err := Run(ctx, Options{Clusters: 2, Type: tt.typ, LatencyScale: 0.002, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if want := 2 * (res.Managed - tt.notResources); res.Created != want {
				t.Errorf("created %d ARM resources, want %d", res.Created, want)
			}
			if got := res.WritesPerResource(); got != 1.0 {
				t.Errorf("%.3f ARM writes per created resource (%d writes, %d attempted, %d resources), want 1.0", got, res.Writes, res.WriteAttempts, res.Created)
			}
			if res.ResyncWrites != 0 {
				t.Errorf("the idle resync sent %d ARM writes, want 0: %+v", res.ResyncWrites, res.ResyncRequests)
			}
			if res.CriticalPath <= 0 || res.RunCriticalPath <= 0 || len(res.Makespans) != 2 {
				t.Errorf("critical path %s (in this run %s), makespans %v", res.CriticalPath, res.RunCriticalPath, res.Makespans)
			}
		})
	}
	if _, err := Run(t.Context(), Options{Type: "gke", Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), `"gke"`) {
		t.Errorf("type gke: err = %v", err)
	}
}

// BenchmarkProvision provisions 20 clusters per iteration (realistic latency x 0.05) and
// reports the makespan over the critical path, the ARM writes per created resource and the
// ARM writes of an idle resync.
//
//	go test -run '^$' -bench Provision -benchtime 1x ./internal/provisionbench/
func BenchmarkProvision(b *testing.B) {
	var ratio, worst, writes, resync float64
	for b.Loop() {
		res, err := Run(b.Context(), Options{Clusters: 20, LatencyScale: 0.05, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		_, _, hi := res.MakespanStats()
		ratio += res.Ratio(res.Makespan)
		worst += res.Ratio(hi)
		writes += res.WritesPerResource()
		resync += float64(res.ResyncWrites)
	}
	n := float64(b.N)
	b.ReportMetric(ratio/n, "makespan/criticalpath")
	b.ReportMetric(worst/n, "worst-cluster/criticalpath")
	b.ReportMetric(writes/n, "writes/resource")
	b.ReportMetric(resync/n, "idle-resync-writes")
}

// TestIdleResyncReadsResourceGraph provisions 100 IaaS clusters (25 under the race detector,
// which takes 4 minutes for 100) and checks their idle resync: no write, one Resource Graph
// query per 1,000 resources (rounded up), and no GET of a resource the Resources table holds
// (their rows are up to date: nothing was written within the lag); what it does not hold is
// read directly: the resource groups, the blob containers, and the VM sizes of the location,
// once.
func TestIdleResyncReadsResourceGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("provisions clusters in an emulator")
	}
	clusters := 100
	if raceDetector {
		clusters = 25
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{Clusters: clusters, LatencyScale: 0.002, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResyncWrites != 0 {
		t.Errorf("the idle resync sent %d ARM writes, want 0", res.ResyncWrites)
	}
	if q, most := res.ResyncGraphQueries(), int64((res.Created+999)/1000); q < 1 || q > most {
		t.Errorf("%d Resource Graph queries for %d resources, want 1 to %d", q, res.Created, most)
	}
	direct := map[string]int64{
		"Microsoft.Resources/resourceGroups":                        int64(clusters), // adopted: verified by a GET
		"Microsoft.Storage/storageAccounts/blobServices/containers": int64(clusters),
		"Microsoft.Compute/skus":                                    1, // once per location, shared by the passes
	}
	for _, rc := range res.ResyncRequests {
		if rc.Method != "GET" {
			continue
		}
		if want, ok := direct[rc.Type]; !ok || rc.Count > want {
			t.Errorf("%d GETs of %s at the idle resync, want at most %d", rc.Count, rc.Type, want)
		}
	}
}
