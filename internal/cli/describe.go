package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/termtext"
)

func newDescribeCommand(o *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe KIND [NAME...]",
		Short: "Show objects in detail, with their status, conditions and events",
		Long: `Show objects in detail: metadata, spec, status, conditions and recent events. Without
NAME, every object of the kind is described.

KIND is one of ` + kindList() + `.
A ClusterProfile named without @VERSION shows every version of it. A cloud account's client
secret is never shown, only whether one is set. A cluster's status shows its phase (Deleting
as soon as its deletion was requested), its progress, the API server's endpoint and address,
the AKS control plane as Azure reports it, the Kubernetes version and nodes Ready as strata
read them from the cluster's API, and how many Azure resources it has (-o yaml on get lists
them); with an agent, the agent as the server sees it and the layers it applied; during a
rolling replacement of an IaaS cluster's machines (a new Kubernetes version or OS image), what
they go from and to, how many are replaced and what is being done.`,
		Example: `  strata describe cluster iaas-static
  strata describe clusters
  strata describe account azure-prod
  strata describe profile aks-base@1.0.0`,
		Args:              usageArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: o.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDescribe(cmd.Context(), o, args)
		},
	}
	return cmd
}

func runDescribe(ctx context.Context, o *rootOptions, args []string) error {
	targets, err := parseTargets("describe", args, true)
	if err != nil {
		return &usageError{cmd: "strata describe", err: err}
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
	for i, obj := range objs {
		events, evErr := c.Events(ctx, obj.GetTypeMeta().Kind, obj.Key(), obj.GetMetadata().UID)
		if errors.Is(evErr, client.ErrUnreachable) || ctx.Err() != nil {
			return evErr
		}
		if i > 0 {
			fmt.Fprintln(o.streams.Out)
		}
		if err := describe(o.streams.Out, obj, events, evErr, o.now()); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &reportedError{msg: fmt.Sprintf("%d of %d objects not described", failed, len(targets))}
	}
	return nil
}

// describe writes the kubectl-describe-like text of one object, escaped (termtext). evErr,
// when set, is why its events could not be read.
func describe(w io.Writer, obj v1alpha1.Object, events []client.Event, evErr error, now time.Time) error {
	var b strings.Builder
	steps := []func() error{
		func() error { return describeMeta(&b, obj, now) },
		func() error { return describeSpec(&b, obj) },
		func() error { return describeStatus(&b, obj) },
		func() error { return describeUpgrade(&b, obj, now) },
		func() error { return describeAutoscaling(&b, obj, now) },
		func() error { return describeAgent(&b, obj, now) },
		func() error { return describeLayers(&b, obj) },
		func() error { return describeConditions(&b, obj.GetStatus().Conditions, now) },
		func() error { return describeEvents(&b, events, evErr, now) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("describe %s: %w", resourceName(obj), err)
		}
	}
	_, err := io.WriteString(w, termtext.Escape(b.String()))
	return err
}

// describeMeta writes the object's identity and metadata rows.
func describeMeta(b *strings.Builder, obj v1alpha1.Object, now time.Time) error {
	meta := obj.GetMetadata()
	tw := newTabWriter(b)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, termtext.Escape(v)) }
	row("Name", meta.Name)
	row("Kind", obj.GetTypeMeta().Kind)
	if p, ok := obj.(*v1alpha1.ClusterProfile); ok {
		row("Version", p.Spec.Version)
	}
	if f, ok := obj.(*v1alpha1.TagFilter); ok {
		row("Expression", filterExpression(f.Spec))
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
	return tw.Flush()
}

// describeSpec writes the spec as YAML-like text.
func describeSpec(b *strings.Builder, obj v1alpha1.Object) error {
	spec, err := specText(obj)
	if err != nil {
		return err
	}
	b.WriteString("Spec:\n")
	b.WriteString(spec)
	return nil
}

// describeStatus writes the status as YAML-like text, as -o yaml shows it but for the
// conditions (a table of their own), the progress and Kubernetes (one line each) and the
// inventory (counted).
func describeStatus(b *strings.Builder, obj v1alpha1.Object) error {
	text, err := statusText(obj)
	if err != nil {
		return err
	}
	b.WriteString("Status:\n")
	b.WriteString(text)
	return nil
}

// describeUpgrade writes the rolling replacement of a cluster's machines under way, when there
// is one: what they go from and to and how many are replaced on one line, then what is being
// done and the slots whose old machine goes before its replacement is made (maxUnavailable).
func describeUpgrade(b *strings.Builder, obj v1alpha1.Object, _ time.Time) error {
	c, ok := obj.(*v1alpha1.Cluster)
	if !ok || c.Status.Upgrade == nil {
		return nil
	}
	u := c.Status.Upgrade
	fmt.Fprintf(b, "Upgrade:  %s -> %s, %d/%d machines replaced\n", cell(orNone(u.From)), cell(orNone(u.To)), u.Done, u.Total)
	tw := newTabWriter(b)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s:\t%s\n", k, cell(v)) }
	if u.Current != "" {
		row("Current", u.Current)
	}
	if len(u.Removing) > 0 {
		row("Removing First", strings.Join(u.Removing, ", "))
	}
	return tw.Flush()
}

// describeAutoscaling writes the counts strata's autoscaler chose for a cluster's IaaS pools,
// when any autoscales: one line a pool with its bounds, why it last changed, and the node
// being drained or unneeded.
func describeAutoscaling(b *strings.Builder, obj v1alpha1.Object, now time.Time) error {
	c, ok := obj.(*v1alpha1.Cluster)
	if !ok || len(c.Status.Scale) == 0 {
		return nil
	}
	b.WriteString("Autoscaling:\n")
	tw := newTabWriter(b)
	for _, e := range c.Status.Scale {
		line := fmt.Sprintf("%d machine(s)", e.Count)
		for _, mp := range c.Spec.MachinePools {
			if mp.Name == e.Pool {
				lo, hi := mp.Bounds()
				line += fmt.Sprintf(" (min %d, max %d)", lo, hi)
			}
		}
		switch {
		case e.Draining != "":
			line += ", draining " + e.Draining
		case e.UnneededSince != nil:
			line += ", last node unneeded for " + humanAge(now, e.UnneededSince)
		case e.Reason != "":
			line += ", " + e.Reason
		}
		fmt.Fprintf(tw, "  %s:\t%s\n", cell(e.Pool), cell(line))
	}
	return tw.Flush()
}

// describeAgent writes a cluster's agent as the server sees it, when it has one.
func describeAgent(b *strings.Builder, obj v1alpha1.Object, now time.Time) error {
	c, ok := obj.(*v1alpha1.Cluster)
	if !ok || c.Status.Agent == nil {
		return nil
	}
	a := c.Status.Agent
	b.WriteString("Agent:\n")
	tw := newTabWriter(b)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s:\t%s\n", k, cell(v)) }
	row("Connected", strconv.FormatBool(a.Connected))
	row("Installed", strconv.FormatBool(a.Installed))
	row("Version", orNone(a.Version))
	row("Kubernetes Version", orNone(a.KubernetesVersion))
	row("Last Heartbeat", timestamp(a.LastHeartbeat, now))
	row("Server", orNone(a.Server))
	return tw.Flush()
}

// describeLayers writes a cluster's layers, as its agent last reported them, as a table.
func describeLayers(b *strings.Builder, obj v1alpha1.Object) error {
	c, ok := obj.(*v1alpha1.Cluster)
	if !ok || len(c.Status.Layers) == 0 {
		return nil
	}
	b.WriteString("Layers:\n")
	tw := newTabWriter(b)
	fmt.Fprintln(tw, "  NAME\tVERSION\tPHASE\tOBJECTS\tMESSAGE")
	for _, l := range c.Status.Layers {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d/%d\t%s\n", cell(l.Name), cell(orNone(l.Version)), cell(orNone(l.Phase)),
			l.Available, l.Objects, cell(l.Message))
	}
	return tw.Flush()
}

// describeConditions writes the conditions as a table.
func describeConditions(b *strings.Builder, conds []v1alpha1.Condition, now time.Time) error {
	if len(conds) == 0 {
		b.WriteString("Conditions:  <none>\n")
		return nil
	}
	b.WriteString("Conditions:\n")
	tw := newTabWriter(b)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
	for _, c := range conds {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", cell(c.Type), cell(c.Status), cell(orNone(c.Reason)),
			humanAge(now, c.LastTransitionTime), cell(c.Message))
	}
	return tw.Flush()
}

// describeEvents writes the events as a table, or why they could not be read.
func describeEvents(b *strings.Builder, events []client.Event, evErr error, now time.Time) error {
	switch {
	case evErr != nil:
		fmt.Fprintf(b, "Events:  <unavailable: %v>\n", evErr)
		return nil
	case len(events) == 0:
		b.WriteString("Events:  <none>\n")
		return nil
	}
	b.WriteString("Events:\n")
	tw := newTabWriter(b)
	fmt.Fprintln(tw, "  TYPE\tREASON\tAGE\tMESSAGE")
	for _, ev := range events {
		t := ev.Time
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", cell(ev.Type), cell(ev.Reason), humanAge(now, &t), cell(ev.Message))
	}
	return tw.Flush()
}

// cell makes a server's text fit in a table cell: escaped, on one line.
func cell(s string) string {
	return oneLine(termtext.Escape(s))
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

// statusText renders an object's status as indented YAML-like text in field order: the phase
// (Deleting once deletion was requested) and observed generation first, a cluster's progress
// and Kubernetes as one line each, every other field as -o yaml has it, and last the
// inventory, counted. The conditions, a cluster's rolling replacement, its agent and its
// layers are left to sections of their own.
func statusText(obj v1alpha1.Object) (string, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	root, err := parseOrdered(data)
	if err != nil {
		return "", err
	}
	out := &node{kind: 'o'}
	out.set("phase", scalarNode(phase(obj)))
	out.set("observedGeneration", scalarNode(json.Number(strconv.FormatInt(obj.GetStatus().ObservedGeneration, 10))))
	st := root.field("status")
	if st != nil && st.kind == 'o' {
		for i, k := range st.keys {
			switch k {
			case "phase", "observedGeneration", "conditions", "inventory", "agent", "layers", "upgrade", "scale":
			case "progress":
				out.set(k, scalarNode(progressLine(obj)))
			case "kubernetes":
				out.set(k, scalarNode(kubernetesLine(obj)))
			default:
				out.set(k, st.fields[i])
			}
		}
		if st.field("inventory") != nil {
			out.set("inventory", scalarNode(inventoryLine(obj)))
		}
	}
	var b strings.Builder
	writeYAMLish(&b, out, 2)
	return b.String(), nil
}

// progressLine is a cluster's progress as "DONE/TOTAL STEP".
func progressLine(obj v1alpha1.Object) string {
	c, ok := obj.(*v1alpha1.Cluster)
	if !ok || c.Status.Progress == nil {
		return none
	}
	p := c.Status.Progress
	return strings.TrimSpace(fmt.Sprintf("%d/%d %s", p.Done, p.Total, p.Step))
}

// kubernetesLine is what strata read of a cluster's Kubernetes as "VERSION, READY/TOTAL nodes
// Ready".
func kubernetesLine(obj v1alpha1.Object) string {
	c, ok := obj.(*v1alpha1.Cluster)
	if !ok || c.Status.Kubernetes == nil {
		return none
	}
	k := c.Status.Kubernetes
	return fmt.Sprintf("%s, %d/%d nodes Ready", orNone(k.Version), k.NodesReady, k.NodesTotal)
}

// inventoryLine counts a cluster's Azure resources, those strata created and those it adopted.
func inventoryLine(obj v1alpha1.Object) string {
	c, ok := obj.(*v1alpha1.Cluster)
	if !ok {
		return none
	}
	managed := 0
	for _, it := range c.Status.Inventory {
		if it.Managed {
			managed++
		}
	}
	n := len(c.Status.Inventory)
	return fmt.Sprintf("%d Azure resources, %d created by strata, %d adopted (get -o yaml lists them)", n, managed, n-managed)
}
