package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/client"
)

// fileFlags are the -f and -R flags of apply, delete and validate.
type fileFlags struct {
	files     []string
	recursive bool
}

func (f *fileFlags) register(cmd *cobra.Command, verb string) {
	cmd.Flags().StringArrayVarP(&f.files, "filename", "f", nil,
		"file, directory (its .yaml, .yml and .json files) or - (standard input) holding the objects to "+verb+"; repeatable")
	cmd.Flags().BoolVarP(&f.recursive, "recursive", "R", false, "read the directories given with -f and all of their subdirectories")
}

func newApplyCommand(o *rootOptions) *cobra.Command {
	var ff fileFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update objects from YAML or JSON files",
		Long: `Create the objects of the given files, or update them to match.

Every document is decoded strictly first; if any fails, every error is printed and nothing is
sent. The objects are then sent in dependency order (roles, tag filters, users, teams, role
bindings, gateways, cloud accounts, cluster profiles, clusters) whatever the order of the files. The server validates each one; an invalid
object is reported with all of its field errors and the others are still applied.`,
		Example: `  strata apply -f examples/
  strata apply -f account.yaml -f cluster.yaml
  strata apply -R -f clusters/ --dry-run
  cat cluster.yaml | strata apply -f -`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runApply(cmd.Context(), o, ff, dryRun)
		},
	}
	ff.register(cmd, "apply")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "have the server validate the objects without storing them")
	return cmd
}

func runApply(ctx context.Context, o *rootOptions, ff fileFlags, dryRun bool) error {
	items, problems, err := loadObjects(o.streams.In, ff.files, ff.recursive)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		printInputErrors(o.streams.Err, problems)
		return &reportedError{msg: "nothing applied: the input has errors"}
	}
	if len(items) == 0 {
		return errors.New("no objects passed to apply")
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return kindRank(a.Obj.GetTypeMeta().Kind) - kindRank(b.Obj.GetTypeMeta().Kind)
	})
	suffix := ""
	if dryRun {
		suffix = " (dry run)"
	}
	failed := 0
	for _, it := range items {
		_, result, err := c.Apply(ctx, it.Obj, client.WriteOptions{DryRun: dryRun})
		if err != nil {
			if errors.Is(err, client.ErrUnreachable) || ctx.Err() != nil {
				return err
			}
			printWriteError(o.streams.Err, it, err)
			failed++
			continue
		}
		fmt.Fprintf(o.streams.Out, "%s %s%s\n", resourceName(it.Obj), result, suffix)
	}
	if failed > 0 {
		return &reportedError{msg: fmt.Sprintf("%d of %d objects not applied", failed, len(items))}
	}
	return nil
}

// printWriteError prints why the server refused an object: every field error of an invalid
// object, or the server's message.
func printWriteError(w io.Writer, it item, err error) {
	var ae *client.APIError
	name := resourceName(it.Obj)
	if !errors.As(err, &ae) {
		fmt.Fprintf(w, "error: %s (%s): %v\n", name, it.Source, err)
		return
	}
	if ae.Reason == client.ReasonInvalid {
		fmt.Fprintf(w, "error: %s (%s) is invalid:\n", name, it.Source)
		if len(ae.Errors) == 0 {
			fmt.Fprintf(w, "  %s\n", apiMessage(ae))
		}
		printFieldErrors(w, ae.Errors)
		return
	}
	fmt.Fprintf(w, "error: %s (%s): %s\n", name, it.Source, apiMessage(ae))
	printFieldErrors(w, ae.Errors)
}
