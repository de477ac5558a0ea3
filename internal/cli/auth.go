package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func newAuthCommand(o *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Ask what your API key lets you do",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "can-i VERB KIND [NAME]",
		Short: "Say whether you may do VERB on KIND (the object NAME, or some object of it)",
		Long: `Ask the server whether the user of $STRATA_API_KEY may do VERB on the object NAME of KIND,
or, without NAME, on some object of KIND (as list and create are asked). Prints yes or no on
standard output, and on standard error the binding that decided or why not. Exits 0 for yes,
1 for no. VERB is get, list, create, update, delete, kubeconfig, kubeconfig-admin, use or token.`,
		Example: `  strata auth can-i delete cluster iaas-static
  strata auth can-i create clusters
  strata auth can-i kubeconfig-admin cluster aks-prod`,
		Args: usageArgs(cobra.RangeArgs(2, 3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 3 {
				name = args[2]
			}
			return runCanI(cmd.Context(), o, args[0], args[1], name)
		},
	})
	return cmd
}

func runCanI(ctx context.Context, o *rootOptions, verb, kindArg, name string) error {
	kind, err := ResolveKind(kindArg)
	if err != nil {
		return &usageError{cmd: "strata auth can-i", err: err}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	ans, err := c.CanI(ctx, verb, kind, name)
	if err != nil {
		return err
	}
	if ans.Allowed {
		fmt.Fprintln(o.streams.Out, "yes")
		fmt.Fprintln(o.streams.Err, ans.Reason)
		return nil
	}
	fmt.Fprintln(o.streams.Out, "no")
	fmt.Fprintln(o.streams.Err, ans.Reason)
	return &reportedError{msg: "no"}
}
