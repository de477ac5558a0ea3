package scalebench

import (
	"fmt"
	"io"
	"time"

	"github.com/strata-dev/strata/internal/provisionbench"
)

// Result is what a run measured.
type Result struct {
	Clusters, Wave int
	LatencyScale   float64
	// Steady and Resync are the steady period and the resync period, in product time.
	Steady, Resync time.Duration
	// Store is SQLite or PostgreSQL.
	Store string
	// Provision is how long the waves took, Waves each one's; Resources the Azure resources
	// of the fleet (its resource groups excepted).
	Provision time.Duration
	Waves     []time.Duration
	Resources int
	// Window is how long the steady period lasted (Steady × LatencyScale); Passes the passes
	// over clusters in it; Requests the ARM requests the emulator answered in it.
	Window   time.Duration
	Passes   int
	Requests []provisionbench.RequestCount
	// StoreWrites are the updates of clusters in the store in the window.
	StoreWrites int
	// ProcessCPU is the CPU time the whole process (strata and the emulator) used in the
	// window, CPU how a CPU profile of the window splits it.
	ProcessCPU time.Duration
	CPU        CPUSplit
	// RSS is the process's resident set size at the window's end, Heap its live heap by
	// component after a collection; StoreBytes the store's size.
	RSS        int64
	Heap       HeapSplit
	StoreBytes int64
	// Change is how long a tag added to ChangedCluster's spec took to reach one of its VMs in
	// Azure while the fleet resynced.
	Change         time.Duration
	ChangedCluster string
}

// ServerCPU is strata's CPU time in the window: the process's, times strata's share of the
// profile's samples (its part of the unlabelled ones included).
func (r *Result) ServerCPU() time.Duration {
	total := r.CPU.Strata + r.CPU.Emulator + r.CPU.Unlabelled
	if total == 0 {
		return 0
	}
	return time.Duration(float64(r.ProcessCPU) * float64(r.CPU.StrataShare()) / float64(total))
}

// ServerCPUPercent is strata's CPU in percent of one core at the product's pace: its CPU time
// in the window divided by the window's length in product time. The work of a resync pass is
// the same whatever the compression; compressed, the passes come 1/LatencyScale times as often.
func (r *Result) ServerCPUPercent() float64 {
	product := float64(r.Window) / r.LatencyScale
	if product == 0 {
		return 0
	}
	return 100 * float64(r.ServerCPU()) / product
}

// FullResyncs is how many times the window passed over the whole fleet.
func (r *Result) FullResyncs() float64 {
	return float64(r.Passes) / float64(max(r.Clusters, 1))
}

// perResync is n per full resync of the fleet.
func (r *Result) perResync(n int64) float64 {
	if r.Passes == 0 {
		return 0
	}
	return float64(n) / r.FullResyncs()
}

// Print writes the result as a human-readable report.
func (r *Result) Print(w io.Writer) {
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	fmt.Fprintf(w, "fleet               %d IaaS clusters, %d Azure resources in one subscription, store %s (latency: realistic x %g)\n", r.Clusters, r.Resources, r.Store, r.LatencyScale)
	fmt.Fprintf(w, "provisioning        %s in %d waves of %d (slowest wave %s)\n", r.Provision.Round(time.Millisecond), len(r.Waves), r.Wave, slowest(r.Waves).Round(time.Millisecond))
	fmt.Fprintf(w, "steady state        %s of product time (%s here), resync every %s: %d passes, %.2f full resyncs of the fleet\n",
		r.Steady, r.Window.Round(time.Millisecond), r.Resync, r.Passes, r.FullResyncs())
	fmt.Fprintf(w, "server CPU          %.2f %% of a core at the product's pace (%s of CPU in %s of product time; the process, emulator included, used %s)\n",
		r.ServerCPUPercent(), r.ServerCPU().Round(time.Millisecond), (time.Duration(float64(r.Window) / r.LatencyScale)).Round(time.Second), r.ProcessCPU.Round(time.Millisecond))
	fmt.Fprintf(w, "  profile split     strata %s, emulator %s, unlabelled (GC workers, bench) %s\n",
		r.CPU.Strata.Round(time.Millisecond), r.CPU.Emulator.Round(time.Millisecond), r.CPU.Unlabelled.Round(time.Millisecond))
	fmt.Fprintf(w, "  strata's samples, by function (flat):\n")
	printFuncs(w, r.CPU.TopFlat, r.CPU.Strata)
	fmt.Fprintf(w, "  strata's samples, under strata's functions (cumulative):\n")
	printFuncs(w, r.CPU.TopCumulative, r.CPU.Strata)
	fmt.Fprintf(w, "memory              RSS %.0f MB (strata and the emulator in one process); live heap: strata %.0f MB, emulator %.0f MB\n",
		mb(r.RSS), mb(r.Heap.Strata), mb(r.Heap.Emulator))
	fmt.Fprintf(w, "store               %.1f MB; %d cluster updates in the steady state (%.2f per pass)\n", mb(r.StoreBytes), r.StoreWrites, float64(r.StoreWrites)/float64(max(r.Passes, 1)))
	reads, queries := provisionbench.Reads(r.Requests), provisionbench.GraphQueries(r.Requests)
	fmt.Fprintf(w, "Azure per full resync  %.0f ARM reads (%.3f per resource), %.1f Resource Graph queries (%.2f per 1,000 resources); writes at rest %d\n",
		r.perResync(reads), r.perResync(reads)/float64(max(r.Resources, 1)), r.perResync(queries), 1000*r.perResync(queries)/float64(max(r.Resources, 1)), provisionbench.WriteAttempts(r.Requests))
	fmt.Fprintf(w, "  ARM requests of the steady state, all passes:\n")
	provisionbench.PrintRequests(w, r.Requests, 1)
	fmt.Fprintf(w, "change              a tag added to %s reached its VM in %s (%s of product time)\n",
		r.ChangedCluster, r.Change.Round(time.Millisecond), (time.Duration(float64(r.Change) / r.LatencyScale)).Round(time.Millisecond))
}

// printFuncs writes function costs with their share of total.
func printFuncs(w io.Writer, fs []FuncCost, total time.Duration) {
	for _, f := range fs {
		fmt.Fprintf(w, "    %5.1f %%  %s\n", 100*float64(f.Time)/float64(max(total, 1)), f.Name)
	}
}

// slowest is the longest of ds.
func slowest(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
