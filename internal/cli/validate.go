package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func newValidateCommand(o *rootOptions) *cobra.Command {
	var ff fileFlags
	cmd := &cobra.Command{
		Use:   "validate -f FILE|DIR|-",
		Short: "Check objects offline, without a server",
		Long: `Decode, default and validate the objects of the given files without contacting a server.

References between the given objects (a cluster's cloud account and profiles, an account's
gateway) are checked against each other; references to objects that are not among the files
cannot be checked offline and are skipped. Every error is printed with its file and field path;
warnings (a value that is accepted but has no effect) are printed as "Warning: " lines.`,
		Example: `  strata validate -f examples/
  strata validate -f cluster.yaml -f profile.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd.Context(), o, ff)
		},
	}
	ff.register(cmd, "validate")
	return cmd
}

func runValidate(ctx context.Context, o *rootOptions, ff fileFlags) error {
	items, problems, err := loadObjects(o.streams.In, ff.files, ff.recursive)
	if err != nil {
		return err
	}
	objs := make([]v1alpha1.Object, len(items))
	for i, it := range items {
		objs[i] = it.Obj
	}
	resolver := NewFileResolver(objs)
	for _, it := range items {
		errs, warnings := v1alpha1.Check(ctx, nil, it.Obj, resolver)
		if len(errs) > 0 {
			problems = append(problems, inputError{Source: it.Source, What: resourceName(it.Obj), Errors: errs})
			continue
		}
		for _, w := range warnings {
			o.printWarning(fmt.Sprintf("%s %q: %s", it.Obj.GetTypeMeta().Kind, it.Obj.Key(), w.Error()))
		}
		fmt.Fprintf(o.streams.Out, "%s valid\n", resourceName(it.Obj))
	}
	if len(problems) > 0 {
		printInputErrors(o.streams.Err, problems)
		return &reportedError{msg: fmt.Sprintf("%d problems found", len(problems))}
	}
	if len(items) == 0 {
		return errors.New("no objects to validate")
	}
	return nil
}
