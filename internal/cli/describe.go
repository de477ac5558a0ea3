package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
)

func newDescribeCommand(o *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe KIND NAME...",
		Short: "Show an object in detail, with its conditions and events",
		Long: `Show objects in detail: metadata, spec, status, conditions and recent events.

KIND is one of ` + kindList() + `.
A ClusterProfile named without @VERSION shows every version of it. A cloud account's client
secret is never shown, only whether one is set.`,
		Example: `  strata describe cluster iaas-static
  strata describe account azure-prod
  strata describe profile aks-base@1.0.0`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDescribe(cmd.Context(), o, args)
		},
	}
	return cmd
}

func runDescribe(ctx context.Context, o *rootOptions, args []string) error {
	targets, err := parseTargets("describe", args, false)
	if err != nil {
		return &usageError{cmd: "strata describe", err: err}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	failed, shown := 0, 0
	for _, t := range targets {
		objs, err := fetch(ctx, c, t)
		if errors.Is(err, client.ErrUnreachable) || ctx.Err() != nil {
			return err
		}
		if err != nil {
			printRequestError(o.streams.Err, t, err)
			failed++
			continue
		}
		for _, obj := range objs {
			events, evErr := c.Events(ctx, obj.GetTypeMeta().Kind, obj.Key())
			if errors.Is(evErr, client.ErrUnreachable) || ctx.Err() != nil {
				return evErr
			}
			if shown > 0 {
				fmt.Fprintln(o.streams.Out)
			}
			shown++
			if err := describe(o.streams.Out, obj, events, evErr, o.now()); err != nil {
				return err
			}
		}
	}
	if failed > 0 {
		return &reportedError{msg: fmt.Sprintf("%d of %d objects not described", failed, len(targets))}
	}
	return nil
}

// describe writes the kubectl-describe-like text of one object. evErr, when set, is why its
// events could not be read.
func describe(w io.Writer, obj v1alpha1.Object, events []client.Event, evErr error, now time.Time) error {
	var b strings.Builder
	meta := obj.GetMetadata()
	tw := newTabWriter(&b)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("Name", meta.Name)
	row("Kind", obj.GetTypeMeta().Kind)
	if p, ok := obj.(*v1alpha1.ClusterProfile); ok {
		row("Version", p.Spec.Version)
	}
	row("Labels", labels(meta.Labels))
	row("UID", orNone(meta.UID))
	row("Generation", fmt.Sprint(meta.Generation))
	row("Resource Version", orNone(meta.ResourceVersion))
	row("Created", timestamp(meta.CreationTimestamp, now))
	if meta.DeletionTimestamp != nil {
		row("Deletion Requested", timestamp(meta.DeletionTimestamp, now))
	}
	row("Finalizers", orNone(strings.Join(meta.Finalizers, ", ")))
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("describe: %w", err)
	}

	spec, err := specText(obj)
	if err != nil {
		return fmt.Errorf("describe %s: %w", resourceName(obj), err)
	}
	b.WriteString("Spec:\n")
	b.WriteString(spec)

	st := obj.GetStatus()
	b.WriteString("Status:\n")
	tw = newTabWriter(&b)
	fmt.Fprintf(tw, "  Phase:\t%s\n", phase(obj))
	fmt.Fprintf(tw, "  Observed Generation:\t%d\n", st.ObservedGeneration)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("describe: %w", err)
	}

	if len(st.Conditions) == 0 {
		b.WriteString("Conditions:  <none>\n")
	} else {
		b.WriteString("Conditions:\n")
		tw = newTabWriter(&b)
		fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
		for _, c := range st.Conditions {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, orNone(c.Reason),
				humanAge(now, c.LastTransitionTime), oneLine(c.Message))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("describe: %w", err)
		}
	}

	switch {
	case evErr != nil:
		fmt.Fprintf(&b, "Events:  <unavailable: %v>\n", evErr)
	case len(events) == 0:
		b.WriteString("Events:  <none>\n")
	default:
		b.WriteString("Events:\n")
		tw = newTabWriter(&b)
		fmt.Fprintln(tw, "  TYPE\tREASON\tAGE\tMESSAGE")
		for _, ev := range events {
			t := ev.Time
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", ev.Type, ev.Reason, humanAge(now, &t), oneLine(ev.Message))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("describe: %w", err)
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// specText renders an object's spec as indented YAML-like text, in field order. A cloud
// account's secret shows as "clientSecret: (set)" or "(not set)", a proxy's password as
// "httpProxyPassword: (set)", never their values.
func specText(obj v1alpha1.Object) (string, error) {
	data, err := json.Marshal(obj) // a Secret never encodes
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	root, err := parseOrdered(data)
	if err != nil {
		return "", err
	}
	spec := root.field("spec")
	if spec == nil || spec.kind != 'o' || len(spec.keys) == 0 {
		return "  <none>\n", nil
	}
	if ca, ok := obj.(*v1alpha1.CloudAccount); ok {
		if az := spec.field("azure"); az != nil && az.kind == 'o' {
			az.remove("clientSecretSet")
			set := "(not set)"
			if ca.Spec.Azure.ClientSecretSet || !ca.Spec.Azure.ClientSecret.Empty() {
				set = "(set)"
			}
			az.insertAfter("clientID", "clientSecret", &node{kind: 's', scalar: set})
		}
	}
	if g, ok := obj.(*v1alpha1.PrivateCloudGateway); ok {
		showProxyPasswords(spec.field("proxy"), g.Spec.Proxy)
	}
	var b strings.Builder
	writeYAMLish(&b, spec, 2)
	return b.String(), nil
}

// labels formats labels as kubectl does: key=value, one a line, sorted.
func labels(m map[string]string) string {
	if len(m) == 0 {
		return none
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, "\n\t")
}

// timestamp shows a time in RFC 3339 with its age.
func timestamp(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), humanAge(now, t))
}
