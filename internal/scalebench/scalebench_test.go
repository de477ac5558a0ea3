package scalebench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/provisionbench"
)

// TestRun runs a small fleet through the whole benchmark: every cluster resynced in the steady
// state from Resource Graph with no write, its costs measured, and a change carried to Azure.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("provisions clusters")
	}
	res, err := Run(context.Background(), Options{Clusters: 4, Wave: 2, Steady: 2 * time.Minute, Resync: 20 * time.Second, Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res.Print(&out)
	t.Log("\n" + out.String())
	if len(res.Waves) != 2 || res.Resources < 4*20 {
		t.Errorf("%d waves, %d resources", len(res.Waves), res.Resources)
	}
	if res.FullResyncs() < 2 {
		t.Errorf("%.2f full resyncs in 2 minutes with a resync of 20 s", res.FullResyncs())
	}
	if n := provisionbench.WriteAttempts(res.Requests); n != 0 {
		t.Errorf("%d writes at rest", n)
	}
	if provisionbench.GraphQueries(res.Requests) == 0 {
		t.Error("no Resource Graph query in the steady state")
	}
	if res.ProcessCPU <= 0 || res.CPU.Strata <= 0 || res.RSS <= 0 || res.Heap.Strata <= 0 || res.StoreBytes <= 0 {
		t.Errorf("costs not measured: %+v", res)
	}
	if res.Change <= 0 || res.ChangedCluster != "bench-002" {
		t.Errorf("change of %q took %s", res.ChangedCluster, res.Change)
	}
}
