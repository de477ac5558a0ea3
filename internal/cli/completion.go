package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
)

// completionTimeout bounds the request that completes object names, so that a server that is
// slow or gone never holds the user's shell.
const completionTimeout = 3 * time.Second

// completeTargets completes the "KIND [NAME...]" arguments of get, describe and delete: the
// kinds first, then the names of that kind's objects, asked of the server.
func (o *rootOptions) completeTargets(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return completeKinds(toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	if f := cmd.Flags().Lookup("filename"); f != nil && f.Changed {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	kind, err := ResolveKind(args[0])
	if err != nil || strings.Contains(args[0], "/") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	c, err := o.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	objs, err := c.ListAll(ctx, kind, client.ListOptions{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeNames(objs, args[1:], toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeKinds returns the singular and plural names of the kinds that start with prefix.
func completeKinds(prefix string) []string {
	var out []string
	for i := len(v1alpha1.Resources) - 1; i >= 0; i-- {
		r := v1alpha1.Resources[i]
		for _, n := range []string{r.Plural, r.Singular} {
			if strings.HasPrefix(n, strings.ToLower(prefix)) {
				out = append(out, n)
			}
		}
	}
	return out
}

// completeNames returns the keys of objs that start with prefix and are not among given. A
// ClusterProfile completes as NAME@VERSION.
func completeNames(objs []v1alpha1.Object, given []string, prefix string) []string {
	var out []string
	for _, obj := range objs {
		k := obj.Key()
		if strings.HasPrefix(k, prefix) && !slices.Contains(given, k) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
