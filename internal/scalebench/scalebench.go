// Package scalebench measures what a fleet costs strata at rest: it runs an embedded Azure
// emulator without Kubernetes, with the realistic latency model scaled down (and every other
// time with it, as internal/provisionbench does), a strata API server and its reconciler on
// SQLite or PostgreSQL, provisions N copies of the example IaaS cluster in one subscription in
// waves, then lets the fleet resync for a steady period (30 minutes of product time by
// default, with the controller's default resync, 5 minutes) and reports
//
//   - the server's CPU over the steady period, in percent of one core at the product's pace
//     (CPU seconds divided by the period's uncompressed length), split from the emulator's
//     with a CPU profile whose samples carry the component that ran them, and where it goes;
//   - the process's RSS, and the live heap allocated by each component;
//   - the store's size;
//   - the ARM reads and Resource Graph queries per full resync of the fleet, and the writes
//     (0 at rest);
//   - how long a change of one cluster's spec takes to reach Azure while the fleet resyncs.
//
// `strata bench scale` runs it.
package scalebench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/pprof"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/providers/resourcegraph"
	"github.com/strata-dev/strata/internal/provisionbench"
	"github.com/strata-dev/strata/internal/store"
)

// Options configure a run.
type Options struct {
	// Clusters is how many IaaS clusters the fleet has (default 1,000).
	Clusters int
	// Wave is how many clusters are created at once; the next wave starts when all of the
	// previous one are Running (default 100). The controller works on as many clusters at once.
	Wave int
	// LatencyScale multiplies the emulator's realistic latency model and compresses every
	// other time of the run with it (default 0.05).
	LatencyScale float64
	// Steady is the steady period, in product time (default 30 minutes; it lasts
	// Steady × LatencyScale).
	Steady time.Duration
	// Resync is the controller's resync period, in product time (default the controller's, 5
	// minutes).
	Resync time.Duration
	// Postgres, when set, is the URL of a PostgreSQL database in which the store gets a schema
	// of its own, dropped at the end; empty means SQLite in Dir.
	Postgres string
	// Timeout bounds the whole run (default 1 hour).
	Timeout time.Duration
	// Dir keeps the emulator's state and the SQLite database; default a new temporary
	// directory, removed at the end.
	Dir string
	// Logger receives the components' logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, receives a line per wave and per phase.
	Progress io.Writer
	// ProvisionProfile, when set, receives a CPU profile of the provisioning; HeapProfile the
	// heap profile taken at the end of the steady state.
	ProvisionProfile, HeapProfile io.Writer
}

// SetDefaults fills the options left zero.
func (o *Options) SetDefaults() {
	if o.Clusters <= 0 {
		o.Clusters = 1000
	}
	if o.Wave <= 0 {
		o.Wave = 100
	}
	o.Wave = min(o.Wave, o.Clusters)
	if o.LatencyScale <= 0 {
		o.LatencyScale = 0.05
	}
	if o.Steady <= 0 {
		o.Steady = 30 * time.Minute
	}
	if o.Resync <= 0 {
		o.Resync = 5 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Hour
	}
}

// scaled is a product duration at the run's scale.
func (o *Options) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * o.LatencyScale)
}

// Labels of the profile samples: which component a goroutine works for.
const (
	labelKey      = "component"
	labelEmulator = "emulator"
	labelStrata   = "strata"
)

// run is one run's parts.
type run struct {
	o     Options
	em    *emulator.Emulator
	st    store.Store
	store storeInfo
	api   *client.Client
	obs   *observer
	cfg   controller.Config
	log   *slog.Logger
	fleet *provisionbench.Fleet
}

// Run builds the fleet, measures its steady state and a change, and stops everything it
// started before returning.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.SetDefaults()
	r := &run{o: o, log: o.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	dir, removeDir, err := provisionbench.WorkDir(o.Dir, "strata-scale-")
	if err != nil {
		return nil, err
	}
	defer removeDir()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	stop, err := r.start(ctx, dir)
	defer stop()
	if err != nil {
		return nil, err
	}
	res := &Result{Clusters: o.Clusters, Wave: o.Wave, LatencyScale: o.LatencyScale, Steady: o.Steady, Resync: o.Resync, Store: r.store.kind}
	stopController, err := r.startController(ctx)
	if err != nil {
		return nil, err
	}
	defer stopController()
	if err := r.provision(ctx, res); err != nil {
		return nil, err
	}
	if err := r.steady(ctx, res); err != nil {
		return nil, err
	}
	if err := r.change(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// start starts the emulator (its goroutines labelled emulator), opens the store and serves the
// API (labelled strata), and prepares the fleet's account, profile and resource groups. stop
// undoes what was started, also after an error.
func (r *run) start(ctx context.Context, dir string) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	pprof.Do(ctx, pprof.Labels(labelKey, labelEmulator), func(ctx context.Context) {
		r.em, err = provisionbench.StartEmulator(ctx, dir, r.o.LatencyScale, emulator.KubernetesOptions{}, r.log, func(eo *emulator.Options) {
			// Resource Graph's quota (15 queries per 5 seconds) compressed too: a fleet's
			// snapshots are tens of pages.
			eo.ResourceGraph.Window = time.Duration(float64(resourcegraph.DefaultWindow) * r.o.LatencyScale)
		})
	})
	if err != nil {
		return stop, err
	}
	stops = append(stops, func() { _ = r.em.Close() })
	if r.st, r.store, err = openStore(ctx, dir, r.o.Postgres); err != nil {
		return stop, err
	}
	stops = append(stops, func() { _ = r.st.Close(); r.store.drop() })
	pprof.Do(ctx, pprof.Labels(labelKey, labelStrata), func(ctx context.Context) {
		var stopAPI func()
		r.api, stopAPI, err = provisionbench.ServeAPI(ctx, r.st, r.log)
		if err == nil {
			stops = append(stops, stopAPI)
		}
	})
	if err != nil {
		return stop, err
	}
	r.progress("preparing %d resource groups", r.o.Clusters)
	r.fleet, err = provisionbench.PrepareFleet(ctx, r.em, r.api, provisionbench.FleetOptions{
		Type: v1alpha1.ClusterTypeIaaS, Clusters: r.o.Clusters, LatencyScale: r.o.LatencyScale, Logger: r.log})
	return stop, err
}

// startController runs the reconciler, its goroutines labelled strata, with every time of it
// compressed by the latency scale and its resync at Options.Resync.
func (r *run) startController(ctx context.Context) (stop func(), err error) {
	po := provisionbench.Options{Clusters: r.o.Wave, LatencyScale: r.o.LatencyScale}
	if err := po.SetDefaults(); err != nil {
		return nil, err
	}
	r.obs = newObserver(r.st)
	r.cfg = po.ControllerConfig(r.obs, r.log)
	r.cfg.Resync = r.o.scaled(r.o.Resync)
	pprof.Do(ctx, pprof.Labels(labelKey, labelStrata), func(ctx context.Context) {
		stop = provisionbench.StartController(ctx, r.cfg)
	})
	return stop, nil
}

// progress writes a line to Options.Progress.
func (r *run) progress(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, "  "+format+"\n", args...)
	}
}
