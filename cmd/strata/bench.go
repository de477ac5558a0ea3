package main

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/provisionbench"
	"github.com/strata-dev/strata/internal/scalebench"
	"github.com/strata-dev/strata/internal/upgradebench"
)

// newBenchCommand returns `strata bench`, the parent of the benchmarks.
func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run strata's benchmarks against an embedded Azure emulator",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchProvisionCommand(), newBenchUpgradeCommand(), newBenchScaleCommand())
	return cmd
}

// newBenchProvisionCommand returns `strata bench provision`.
func newBenchProvisionCommand() *cobra.Command {
	o := provisionbench.Options{}
	var verbose, timeline bool
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Provision N clusters at once and report makespan, ARM requests and resync writes",
		Long: `Start an embedded Azure emulator with the realistic latency model scaled down (and every
other time with it: Azure's throttling, strata's rate limits and polls), a strata
server and its reconciler on SQLite in a temporary directory, create N copies of the example
IaaS cluster (examples/cluster-iaas-dynamic.yaml; with --type aks, examples/cluster-aks.yaml),
each in its own resource group, wait until all are Running, then resync every cluster once
with nothing changed. Reports:

  - each cluster's makespan (creation to Running) and the whole run's, against the
    critical-path lower bound of a cluster's graph (every node costing what Azure's
    operation on it took in this run);
  - the ARM requests the emulator answered, by method and type, per cluster, and the ARM
    writes and reads per resource created (1.0 writes: nothing sent twice);
  - the ARM writes of the idle resync (0: nothing drifted, nothing sent).`,
		Example: `  strata bench provision -n 1
  strata bench provision -n 20 --latency-scale 0.02
  strata bench provision -n 100 --timeout 15m
  strata bench provision -n 20 --timeline
  strata bench provision --type aks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()         // ends on SIGINT or SIGTERM (main)
			level := slog.LevelError + 4 // silent
			if verbose {
				level = slog.LevelWarn
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			o.Progress = cmd.ErrOrStderr()
			res, err := provisionbench.Run(ctx, o)
			if err != nil {
				return err
			}
			res.Print(cmd.OutOrStdout())
			if timeline {
				res.PrintTimeline(cmd.OutOrStdout())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.Clusters, "clusters", "n", 20, "number of clusters provisioned at once")
	f.StringVar(&o.Type, "type", "iaas", "type of the clusters: iaas or aks")
	f.Float64Var(&o.LatencyScale, "latency-scale", 0.05, "multiplies the emulator's realistic latency model")
	f.IntVar(&o.Parallelism, "parallel", 0, "resources of one cluster worked on at once (0: the controller's default, 16)")
	f.IntVar(&o.Workers, "workers", 0, "clusters worked on at once (0: all of them)")
	f.Float64Var(&o.Writes, "writes-per-second", 0, "strata's ARM write rate limit per subscription (0: the default, 8/s, divided by the latency scale)")
	f.Float64Var(&o.Reads, "reads-per-second", 0, "strata's ARM read rate limit per subscription (0: the default, 20/s, divided by the latency scale)")
	f.DurationVar(&o.PollFrequency, "poll-frequency", 0, "longest wait between polls of what Azure gives no Retry-After for, e.g. the blob copy (0: the default, 2s, times the latency scale)")
	f.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up after this long")
	f.BoolVar(&timeline, "timeline", false, "print when each resource of the slowest cluster was started and ready")
	f.BoolVarP(&verbose, "verbose", "v", false, "log the components' warnings and errors to stderr")
	return cmd
}

// newBenchUpgradeCommand returns `strata bench upgrade`.
func newBenchUpgradeCommand() *cobra.Command {
	o := upgradebench.Options{}
	var verbose, kubernetes bool
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Upgrade a 3+3 IaaS cluster by rolling replacement and report its time against a lower bound",
		Long: `Start an embedded Azure emulator with the realistic latency model scaled down (and every
other time with it), with real Kubernetes in its clusters (the binaries of ` + "`make k8s`" + `;
--kubernetes=false runs without: a new VM running then stands for its Node Ready and nothing is
drained), a strata server and its reconciler on SQLite in a temporary directory; provision
one IaaS cluster (examples/cluster-iaas-dynamic.yaml, --cp control-plane and --workers worker
machines), wait until it is Running, deploy --pods replicas of the pause image with a
PodDisruptionBudget of minAvailable pods-1 (with Kubernetes), then move it from profile
iaas-base 1.0.0 (Kubernetes 1.30.4, ubuntu-22.04.vhd) to 1.1.0 (Kubernetes 1.31.1,
ubuntu-24.04.vhd). Reports:

  - the upgrade time, from the spec change to status.upgrade gone with the cluster Running;
  - its lower bound: the new image's VHD copy and image, the control-plane replacements one
    after another, the worker waves (ceil(workers / maxSurge)), each replacement costing what
    Azure's operations on it took in this run (NIC and VM creates, VM delete, then NIC or
    disk delete), and the old image's deletion; and the ratio of the two;
  - each slot's replacement: when its new machine started, its VM was ready, its old
    machine was gone.`,
		Example: `  strata bench upgrade
  strata bench upgrade --max-surge 3
  strata bench upgrade --kubernetes=false --latency-scale 0.01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelError + 4 // silent
			if verbose {
				level = slog.LevelWarn
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			o.Progress = cmd.ErrOrStderr()
			o.WithoutKubernetes = !kubernetes
			res, err := upgradebench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			res.Print(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.ControlPlane, "cp", 3, "control-plane machines")
	f.IntVar(&o.Workers, "workers", 3, "worker machines")
	f.IntVar(&o.MaxSurge, "max-surge", 1, "the workers pool's maxSurge (its maxUnavailable stays 0)")
	f.Float64Var(&o.LatencyScale, "latency-scale", 0.05, "multiplies the emulator's realistic latency model")
	f.IntVar(&o.Pods, "pods", 6, "replicas of a Deployment, with a PodDisruptionBudget of minAvailable pods-1, that the drains evict (-1: none; none without Kubernetes)")
	f.BoolVar(&kubernetes, "kubernetes", true, "run real Kubernetes in the emulator: wait for Nodes Ready and drain (needs the binaries of make k8s)")
	f.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up after this long")
	f.BoolVarP(&verbose, "verbose", "v", false, "log the components' warnings and errors to stderr")
	return cmd
}

// newBenchScaleCommand returns `strata bench scale`.
func newBenchScaleCommand() *cobra.Command {
	o := scalebench.Options{}
	var verbose bool
	var profile, heapProfile string
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "Provision a fleet of N IaaS clusters and measure the server's cost at rest",
		Long: `Start an embedded Azure emulator without Kubernetes, with the realistic latency model scaled
down (and every other time with it, as in bench provision), a strata server and its
reconciler on SQLite in a temporary directory (or, with --postgres, in a schema of its own
in that PostgreSQL database, dropped at the end), provision N copies of the example IaaS
cluster in one subscription in waves, let the fleet resync for one resync period, then
measure --steady of product time with the controller's resync every --resync. Reports:

  - the server's CPU in percent of one core at the product's pace: its CPU time in the
    steady state (the process's, times strata's share of a CPU profile whose samples carry
    the component that ran them) divided by the steady state's product time; and where
    strata's samples were;
  - the process's RSS (strata and the emulator share it) and the live heap each allocated;
  - the store's size;
  - the ARM reads and Resource Graph queries per full resync of the fleet, and the writes
    at rest (0);
  - how long a tag added to one cluster takes to reach its VM while the fleet resyncs.`,
		Example: `  strata bench scale -n 1000
  strata bench scale -n 1000 --postgres postgres://postgres@127.0.0.1:5432/test
  strata bench scale -n 100 --steady 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelError + 4 // silent
			if verbose {
				level = slog.LevelWarn
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			o.Progress = cmd.ErrOrStderr()
			for file, w := range map[string]*io.Writer{profile: &o.ProvisionProfile, heapProfile: &o.HeapProfile} {
				if file == "" {
					continue
				}
				f, err := os.Create(file)
				if err != nil {
					return err
				}
				defer f.Close()
				*w = f
			}
			res, err := scalebench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			res.Print(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.Clusters, "clusters", "n", 1000, "number of clusters of the fleet")
	f.IntVar(&o.Wave, "wave", 100, "clusters created at once; the next wave starts when they are Running (the controller works on as many at once)")
	f.Float64Var(&o.LatencyScale, "latency-scale", 0.05, "multiplies the emulator's realistic latency model, and every other time of the run")
	f.DurationVar(&o.Steady, "steady", 30*time.Minute, "length of the measured steady state, in product time")
	f.DurationVar(&o.Resync, "resync", 5*time.Minute, "the controller's resync period, in product time")
	f.StringVar(&profile, "provision-profile", "", "write a CPU profile of the provisioning to this file")
	f.StringVar(&heapProfile, "heap-profile", "", "write the heap profile taken at the end of the steady state to this file")
	f.StringVar(&o.Postgres, "postgres", "", "URL of a PostgreSQL database to keep the store in (in a new schema, dropped at the end) instead of SQLite")
	f.DurationVar(&o.Timeout, "timeout", time.Hour, "give up after this long")
	f.BoolVarP(&verbose, "verbose", "v", false, "log the components' warnings and errors to stderr")
	return cmd
}
