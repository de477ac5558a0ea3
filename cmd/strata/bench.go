package main

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/provisionbench"
)

// newBenchCommand returns `strata bench`, the parent of the benchmarks.
func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run strata's benchmarks against an embedded Azure emulator",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchProvisionCommand())
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
    writes per resource created (1.0: nothing sent twice);
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
