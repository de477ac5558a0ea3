package scalebench

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/strata-dev/strata/internal/provisionbench"
	"github.com/strata-dev/strata/internal/store"
)

// steady lets the fleet resync for one resync period, so that every cluster was passed at rest
// since provisioning, then measures Options.Steady of it.
func (r *run) steady(ctx context.Context, res *Result) error {
	r.progress("settling for one resync period (%s)", r.cfg.Resync)
	if err := sleep(ctx, r.cfg.Resync); err != nil {
		return err
	}
	window := r.o.scaled(r.o.Steady)
	r.progress("measuring the steady state for %s (%s of product time)", window, r.o.Steady)
	before := r.em.Engine().Counters()
	passes, updates := r.obs.counts()
	cpu0, err := processCPU()
	if err != nil {
		return err
	}
	var profile bytes.Buffer
	if err := pprof.StartCPUProfile(&profile); err != nil {
		return fmt.Errorf("start the CPU profile: %w", err)
	}
	start := time.Now()
	err = sleep(ctx, window)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	res.Window = time.Since(start)
	cpu1, err := processCPU()
	if err != nil {
		return err
	}
	res.Requests = provisionbench.DiffCounters(before, r.em.Engine().Counters())
	passesAfter, updatesAfter := r.obs.counts()
	res.Passes, res.StoreWrites = passesAfter-passes, updatesAfter-updates
	res.ProcessCPU = cpu1 - cpu0
	if res.CPU, err = splitCPU(profile.Bytes()); err != nil {
		return err
	}
	return r.measureMemory(ctx, res)
}

// measureMemory records the process's RSS, the live heap of each component and the store's
// size.
func (r *run) measureMemory(ctx context.Context, res *Result) error {
	runtime.GC()
	var heap bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&heap, 0); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if r.o.HeapProfile != nil {
		if _, err := r.o.HeapProfile.Write(heap.Bytes()); err != nil {
			return fmt.Errorf("write the heap profile: %w", err)
		}
	}
	var err error
	if res.Heap, err = splitHeap(heap.Bytes()); err != nil {
		return err
	}
	if res.RSS, err = residentBytes(); err != nil {
		return err
	}
	// The store keeps its change feed for store.ChangeRetention: as long at the run's pace.
	if err := r.st.PruneChanges(ctx, time.Now().Add(-r.o.scaled(store.ChangeRetention))); err != nil {
		return fmt.Errorf("prune the change feed: %w", err)
	}
	res.StoreBytes, err = r.store.size(ctx)
	return err
}

// processCPU is the CPU time the process used so far, user and system.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
