package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
)

// deleteOptions are the flags of delete.
type deleteOptions struct {
	files          fileFlags
	ignoreNotFound bool
	wait           bool
	timeout        time.Duration
	// poll is how often --wait asks whether the object is gone.
	poll time.Duration
}

func newDeleteCommand(o *rootOptions) *cobra.Command {
	do := deleteOptions{poll: 500 * time.Millisecond}
	cmd := &cobra.Command{
		Use:   "delete (KIND NAME... | KIND/NAME... | -f FILE|DIR|-)",
		Short: "Delete objects by name or by the files that define them",
		Long: `Delete objects named on the command line or defined in files.

A ClusterProfile is deleted one version at a time: name it NAME@VERSION. The server refuses
to delete an object that another one uses (a cloud account used by a cluster, a role used by
a role binding, say): delete the one that uses it first. An object whose cloud resources
still have to be cleaned up is marked for deletion and removed once that is done; --wait
waits for it. Objects read from files are
deleted in reverse dependency order: clusters first, roles last.`,
		Example: `  strata delete cluster iaas-dynamic
  strata delete profile iaas-base@1.0.0
  strata delete -f examples/ --wait`,
		ValidArgsFunction: o.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDelete(cmd.Context(), o, do, args)
		},
	}
	do.files.register(cmd, "delete")
	cmd.Flags().BoolVar(&do.ignoreNotFound, "ignore-not-found", false, "treat objects that do not exist as deleted")
	cmd.Flags().BoolVar(&do.wait, "wait", false, "wait until objects marked for deletion are gone")
	cmd.Flags().DurationVar(&do.timeout, "timeout", 10*time.Minute, "how long --wait waits for each object")
	return cmd
}

func runDelete(ctx context.Context, o *rootOptions, do deleteOptions, args []string) error {
	var targets []target
	switch {
	case len(do.files.files) > 0 && len(args) > 0:
		return &usageError{cmd: "strata delete", err: errors.New("name objects either as arguments or with -f, not both")}
	case len(do.files.files) > 0:
		items, problems, err := loadObjects(o.streams.In, do.files.files, do.files.recursive)
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			printInputErrors(o.streams.Err, problems)
			return &reportedError{msg: "nothing deleted: the input has errors"}
		}
		slices.SortStableFunc(items, func(a, b item) int {
			return kindRank(b.Obj.GetTypeMeta().Kind) - kindRank(a.Obj.GetTypeMeta().Kind)
		})
		for _, it := range items {
			targets = append(targets, target{Kind: it.Obj.GetTypeMeta().Kind, Name: it.Obj.Key()})
		}
		if len(targets) == 0 {
			return errors.New("no objects to delete in the given files")
		}
	default:
		var err error
		if targets, err = parseTargets("delete", args, false); err != nil {
			return &usageError{cmd: "strata delete", err: err}
		}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	failed := 0
	for _, t := range targets {
		err := deleteOne(ctx, o.streams.Out, c, t, do)
		if errors.Is(err, client.ErrUnreachable) || ctx.Err() != nil {
			return err
		}
		if err == nil {
			continue
		}
		if client.IsNotFound(err) && do.ignoreNotFound {
			continue
		}
		failed++
		printDeleteError(o.streams.Err, t, err)
	}
	if failed > 0 {
		return &reportedError{msg: fmt.Sprintf("%d of %d objects not deleted", failed, len(targets))}
	}
	return nil
}

// errNeedVersion is a ClusterProfile named without its version.
type errNeedVersion struct {
	name     string
	versions []string
}

func (e *errNeedVersion) Error() string {
	if len(e.versions) == 1 {
		return fmt.Sprintf("name the version of clusterprofile %q to delete: %s@%s", e.name, e.name, e.versions[0])
	}
	return fmt.Sprintf("clusterprofile %q has versions %s: delete one at a time as %s@VERSION",
		e.name, strings.Join(e.versions, ", "), e.name)
}

// deleteOne deletes a target and prints what happened.
func deleteOne(ctx context.Context, out io.Writer, c *client.Client, t target, do deleteOptions) error {
	if t.Kind == v1alpha1.KindClusterProfile && !strings.Contains(t.Name, "@") {
		objs, err := c.ListAll(ctx, t.Kind, client.ListOptions{Name: t.Name})
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return &client.APIError{Code: 404, Reason: client.ReasonNotFound}
		}
		e := &errNeedVersion{name: t.Name}
		for _, o := range objs {
			e.versions = append(e.versions, o.(*v1alpha1.ClusterProfile).Spec.Version)
		}
		return e
	}
	obj, err := c.Delete(ctx, t.Kind, t.Name)
	if err != nil {
		return err
	}
	name := refName(t.Kind, t.Name)
	fins := obj.GetMetadata().Finalizers
	if len(fins) == 0 {
		fmt.Fprintf(out, "%s deleted\n", name)
		return nil
	}
	if !do.wait {
		fmt.Fprintf(out, "%s marked for deletion (waiting for: %s)\n", name, strings.Join(fins, ", "))
		return nil
	}
	fmt.Fprintf(out, "%s marked for deletion, waiting for %s...\n", name, strings.Join(fins, ", "))
	if err := waitGone(ctx, c, t, do.timeout, do.poll); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s deleted\n", name)
	return nil
}

// waitGone polls until the object no longer exists.
func waitGone(ctx context.Context, c *client.Client, t target, timeout, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		_, err := c.Get(ctx, t.Kind, t.Name)
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is still there after %s", refName(t.Kind, t.Name), timeout)
		case <-tick.C:
		}
	}
}

// printDeleteError prints why a delete failed; a refusal because the object is in use says so
// plainly.
func printDeleteError(w io.Writer, t target, err error) {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Reason == client.ReasonInUse {
		fmt.Fprintf(w, "error: cannot delete %s: it is in use: %s\n", refName(t.Kind, t.Name), apiMessage(ae))
		return
	}
	if !errors.As(err, &ae) {
		fmt.Fprintf(w, "error: %v\n", err)
		return
	}
	printRequestError(w, t, err)
}
