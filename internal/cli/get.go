package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
)

// outputFormats are the values of get's --output.
var outputFormats = []string{"table", "wide", "yaml", "json", "name"}

// getOptions are the flags of get.
type getOptions struct {
	output string
	// watch prints the changes after the objects; watchEvents adds their types.
	watch, watchEvents bool
}

func newGetCommand(o *rootOptions) *cobra.Command {
	var g getOptions
	cmd := &cobra.Command{
		Use:   "get [KIND [NAME...]]",
		Short: "List the objects of a kind, or show some of them",
		Long: `List the objects of a kind, or show the named ones. Without KIND, list the kinds.

KIND is one of ` + kindList() + `.
A ClusterProfile is named NAME@VERSION for one version, or NAME for all of its versions.
Objects may also be named KIND/NAME.

A cluster whose deletion was requested shows the phase Deleting at once. -o wide adds
columns: a cluster's account, profiles, progress and API server endpoint; an account's
client ID; a profile's layers; a gateway's network.

With --watch (-w), get prints the objects of one kind (or one object), then a line for each
change the server streams (added, modified, deleted) until interrupted, as kubectl get -w
does; --output-watch-events adds the type of each change.`,
		Example: `  strata get clusters
  strata get clusters -o wide
  strata get cl iaas-static -o yaml
  strata get profiles iaas-base            # every version of the profile "iaas-base"
  strata get profile iaas-base@1.0.0 -o json
  strata get clusters -w                   # follow every cluster's changes
  strata get cluster web -w --output-watch-events`,
		ValidArgsFunction: o.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(outputFormats, g.output) {
				return &usageError{cmd: "strata get", err: fmt.Errorf("unknown output format %q: use one of %s", g.output, strings.Join(outputFormats, ", "))}
			}
			if g.watch || g.watchEvents {
				return runGetWatch(cmd.Context(), o, args, g)
			}
			return runGet(cmd.Context(), o, args, g)
		},
	}
	cmd.Flags().StringVarP(&g.output, "output", "o", "table", "output format: "+strings.Join(outputFormats, ", "))
	cmd.Flags().BoolVarP(&g.watch, "watch", "w", false, "after the objects, print their changes until interrupted")
	cmd.Flags().BoolVar(&g.watchEvents, "output-watch-events", false, "with --watch, print the type of each change (ADDED, MODIFIED, DELETED); implies --watch")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runGet(ctx context.Context, o *rootOptions, args []string, g getOptions) error {
	if len(args) == 0 {
		return printKinds(o.streams.Out)
	}
	targets, err := parseTargets("get", args, true)
	if err != nil {
		return &usageError{cmd: "strata get", err: err}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	objs, failed, err := fetchTargets(ctx, o, c, targets)
	if err != nil {
		return err
	}
	if len(objs) == 0 && failed == 0 {
		fmt.Fprintln(o.streams.Err, "No resources found.")
		return nil
	}
	if len(objs) > 0 {
		if err := printGet(o, g.output, objs); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &reportedError{msg: fmt.Sprintf("%d of %d objects not shown", failed, len(targets))}
	}
	return nil
}

// runGetWatch checks the arguments of `get --watch` and runs the watch. RunE checked the
// output format, as for runGet.
func runGetWatch(ctx context.Context, o *rootOptions, args []string, g getOptions) error {
	if len(args) == 0 {
		return &usageError{cmd: "strata get", err: fmt.Errorf("--watch follows a kind: name one of %s", kindList())}
	}
	targets, err := parseTargets("get", args, true)
	if err != nil {
		return &usageError{cmd: "strata get", err: err}
	}
	return runWatch(ctx, o, targets, g.output, g.watchEvents)
}

// fetchTargets fetches every target, printing why one failed; it returns the objects found
// and how many targets failed, or an error when the server cannot be asked at all.
func fetchTargets(ctx context.Context, o *rootOptions, c *client.Client, targets []target) ([]v1alpha1.Object, int, error) {
	var objs []v1alpha1.Object
	failed := 0
	for _, t := range targets {
		found, err := fetch(ctx, c, t)
		if errors.Is(err, client.ErrUnreachable) || isUnauthorized(err) || ctx.Err() != nil {
			return nil, 0, err // the same for every target
		}
		if err != nil {
			printRequestError(o.streams.Err, t, err)
			failed++
			continue
		}
		objs = append(objs, found...)
	}
	return objs, failed, nil
}

// fetch returns the objects a target names: every object of its kind, every version of a
// profile named without a version, or the one named object.
func fetch(ctx context.Context, c *client.Client, t target) ([]v1alpha1.Object, error) {
	switch {
	case t.Name == "":
		return c.ListAll(ctx, t.Kind, client.ListOptions{})
	case t.Kind == v1alpha1.KindClusterProfile && !strings.Contains(t.Name, "@"):
		objs, err := c.ListAll(ctx, t.Kind, client.ListOptions{Name: t.Name})
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			return nil, &client.APIError{Code: 404, Reason: client.ReasonNotFound,
				Message: fmt.Sprintf("no version of clusterprofile %q", t.Name)}
		}
		return objs, nil
	}
	obj, err := c.Get(ctx, t.Kind, t.Name)
	if err != nil {
		return nil, err
	}
	return []v1alpha1.Object{obj}, nil
}

// printGet prints the objects in the chosen format: a table per kind, in order of appearance,
// to the escaped output; yaml, json and names as exact data.
func printGet(o *rootOptions, output string, objs []v1alpha1.Object) error {
	if output != "table" && output != "wide" {
		return printObjects(o.data, output, objs)
	}
	var kinds []string
	byKind := map[string][]v1alpha1.Object{}
	for _, obj := range objs {
		k := obj.GetTypeMeta().Kind
		if _, ok := byKind[k]; !ok {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], obj)
	}
	now := o.now()
	for i, k := range kinds {
		if i > 0 {
			fmt.Fprintln(o.streams.Out)
		}
		if err := printTable(o.streams.Out, k, byKind[k], now, output == "wide"); err != nil {
			return err
		}
	}
	return nil
}

// printRequestError prints why a request about a target failed: "not found" in kubectl's words,
// the field errors of an invalid object, or the server's message.
func printRequestError(w io.Writer, t target, err error) {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		fmt.Fprintf(w, "error: %s: %v\n", refName(t.Kind, t.Name), err)
		return
	}
	switch ae.Reason {
	case client.ReasonNotFound:
		if t.Kind == v1alpha1.KindClusterProfile && !strings.Contains(t.Name, "@") {
			fmt.Fprintf(w, "error: %s %q not found (no version of it exists)\n", strings.ToLower(t.Kind), t.Name)
			return
		}
		fmt.Fprintf(w, "error: %s %q not found\n", strings.ToLower(t.Kind), t.Name)
	default:
		fmt.Fprintf(w, "error: %s: %s\n", refName(t.Kind, t.Name), apiMessage(ae))
		printFieldErrors(w, ae.Errors)
	}
}

// apiMessage is the server's message, or its reason when it sent none.
func apiMessage(ae *client.APIError) string {
	if ae.Message != "" {
		return ae.Message
	}
	return fmt.Sprintf("%s (HTTP %d)", ae.Reason, ae.Code)
}

// isUnauthorized reports whether err is the server's 401: no valid credentials.
func isUnauthorized(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Code == http.StatusUnauthorized
}
