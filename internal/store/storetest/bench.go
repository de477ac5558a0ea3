package storetest

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// benchObjects is how many objects BenchGet stores before it measures.
const benchObjects = 1000

// BenchGet measures Get of objects picked among 1,000 stored clusters, and reports the 99th
// percentile latency as p99-ns. It does not close s.
func BenchGet(b *testing.B, s store.Store) {
	ctx := b.Context()
	CreateTargets(b, s)
	keys := make([]string, benchObjects)
	for i := range keys {
		obj := NewObject(v1alpha1.KindCluster, "bench-get-"+strconv.Itoa(i))
		if err := s.Create(ctx, obj); err != nil {
			b.Fatalf("create: %v", err)
		}
		keys[i] = obj.Key()
	}
	var lat []time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := s.Get(ctx, v1alpha1.KindCluster, keys[(i*7919)%len(keys)]); err != nil {
			b.Fatalf("get: %v", err)
		}
		lat = append(lat, time.Since(start))
	}
	reportP99(b, lat)
}

// BenchCreate measures Create of new clusters, and reports the 99th percentile latency as
// p99-ns. It does not close s.
func BenchCreate(b *testing.B, s store.Store) {
	ctx := b.Context()
	CreateTargets(b, s)
	var lat []time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		obj := NewObject(v1alpha1.KindCluster, "bench-create-"+strconv.Itoa(i))
		start := time.Now()
		if err := s.Create(ctx, obj); err != nil {
			b.Fatalf("create: %v", err)
		}
		lat = append(lat, time.Since(start))
	}
	reportP99(b, lat)
}

func reportP99(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[(len(lat)*99)/100]), "p99-ns")
}
