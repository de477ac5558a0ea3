package emulator_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"

	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

const (
	benchStored = 10_000 // resource groups stored before measuring
	benchGets   = 2_000  // GETs per iteration
	benchPuts   = 1_000  // PUTs of new resource groups per iteration
)

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkEmulator measures the emulator through the official SDK over HTTPS, one request
// after another: it stores 10,000 resource groups (with the state saved to disk as usual),
// then each iteration GETs 2,000 random groups and PUTs 1,000 new ones. It reports the
// throughput of both, the GET p99 latency, and the heap in use with the groups stored.
func BenchmarkEmulator(b *testing.B) {
	before := heapInuse()
	env := emulatortest.Start(b, func(o *emulator.Options) {
		o.Throttling = false
		o.SaveDelay = 0 // the default, 200 ms
	})
	c := rgClient(b, env, nil)
	ctx := b.Context()
	put := func(name string) {
		if _, err := c.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to.Ptr("westeurope"), Tags: map[string]*string{"owner": to.Ptr("bench")}}, nil); err != nil {
			b.Fatalf("PUT %s: %v", name, err)
		}
	}
	start := time.Now()
	for i := range benchStored {
		put(fmt.Sprintf("stored-%05d", i))
	}
	seed := time.Since(start)
	b.Logf("stored %d resource groups in %s (%.0f PUT/s)", benchStored, seed.Round(time.Millisecond), benchStored/seed.Seconds())
	heap := heapInuse()

	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	var getTime, putTime time.Duration
	iter := 0
	for b.Loop() {
		for range benchGets {
			name := fmt.Sprintf("stored-%05d", rng.IntN(benchStored))
			s := time.Now()
			if _, err := c.Get(ctx, name, nil); err != nil {
				b.Fatalf("GET %s: %v", name, err)
			}
			d := time.Since(s)
			lat = append(lat, d)
			getTime += d
		}
		s := time.Now()
		for j := range benchPuts {
			put(fmt.Sprintf("new-%d-%d", iter, j))
		}
		putTime += time.Since(s)
		iter++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/getTime.Seconds(), "get/s")
	b.ReportMetric(float64(iter*benchPuts)/putTime.Seconds(), "put/s")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "get-p99-ms")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(heap-min(heap, before))/benchStored/1024, "heap-KiB/resource")
}
