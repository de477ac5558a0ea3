package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/termtext"
)

// none is what tables show for an empty value, as kubectl does.
const none = "<none>"

// newTabWriter returns a writer that aligns tab-separated columns like kubectl's tables.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
}

// humanAge is the age of something created at t, as kubectl shows it ("45s", "5m10s", "3d").
func humanAge(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "<unknown>"
	}
	return shortDuration(now.Sub(*t))
}

// shortDuration formats d with kubectl's HumanDuration rules: precise when short, coarse when long.
func shortDuration(d time.Duration) string {
	if d < -time.Second {
		return "<invalid>"
	}
	if d < 0 {
		return "0s"
	}
	seconds := int(d.Round(time.Second) / time.Second)
	minutes := int(d / time.Minute)
	hours := int(d / time.Hour)
	switch {
	case seconds < 60*2:
		return fmt.Sprintf("%ds", seconds)
	case minutes < 10:
		if s := seconds % 60; s != 0 {
			return fmt.Sprintf("%dm%ds", minutes, s)
		}
		return fmt.Sprintf("%dm", minutes)
	case minutes < 60*3:
		return fmt.Sprintf("%dm", minutes)
	case hours < 8:
		if m := minutes % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", hours, m)
		}
		return fmt.Sprintf("%dh", hours)
	case hours < 48:
		return fmt.Sprintf("%dh", hours)
	case hours < 24*8:
		if h := hours % 24; h != 0 {
			return fmt.Sprintf("%dd%dh", hours/24, h)
		}
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*2:
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*8:
		if dd := (hours / 24) % 365; dd != 0 {
			return fmt.Sprintf("%dy%dd", hours/24/365, dd)
		}
		return fmt.Sprintf("%dy", hours/24/365)
	}
	return fmt.Sprintf("%dy", hours/24/365)
}

// orNone returns s, or <none> when s is empty.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// oneLine makes s fit in a table cell.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// column is one column of a kind's table.
type column struct {
	Header string
	Value  func(obj v1alpha1.Object, now time.Time) string
}

func ageColumn() column {
	return column{"AGE", func(o v1alpha1.Object, now time.Time) string {
		return humanAge(now, o.GetMetadata().CreationTimestamp)
	}}
}

// columns returns the table columns of a kind.
func columns(kind string) []column {
	name := column{"NAME", func(o v1alpha1.Object, _ time.Time) string { return o.GetMetadata().Name }}
	if cols := accessColumns(kind, name); cols != nil {
		return cols
	}
	switch kind {
	case v1alpha1.KindCluster:
		return []column{name,
			{"TYPE", func(o v1alpha1.Object, _ time.Time) string { return orNone(o.(*v1alpha1.Cluster).Spec.Azure.Type) }},
			{"LOCATION", func(o v1alpha1.Object, _ time.Time) string { return orNone(o.(*v1alpha1.Cluster).Spec.Azure.Location) }},
			{"PHASE", func(o v1alpha1.Object, _ time.Time) string { return phase(o) }},
			ageColumn(),
		}
	case v1alpha1.KindCloudAccount:
		return []column{name,
			{"ENVIRONMENT", func(o v1alpha1.Object, _ time.Time) string {
				return orNone(o.(*v1alpha1.CloudAccount).Spec.Azure.Environment)
			}},
			{"TENANT", func(o v1alpha1.Object, _ time.Time) string {
				return orNone(o.(*v1alpha1.CloudAccount).Spec.Azure.TenantID)
			}},
			{"GATEWAY", func(o v1alpha1.Object, _ time.Time) string { return orNone(o.(*v1alpha1.CloudAccount).Spec.Gateway) }},
			{"VALID", func(o v1alpha1.Object, _ time.Time) string { return accountValid(o.(*v1alpha1.CloudAccount)) }},
			{"SUBSCRIPTIONS", func(o v1alpha1.Object, _ time.Time) string {
				return subscriptionList(o.(*v1alpha1.CloudAccount).Status.Subscriptions)
			}},
			ageColumn(),
		}
	case v1alpha1.KindClusterProfile:
		return []column{name,
			{"VERSION", func(o v1alpha1.Object, _ time.Time) string { return orNone(o.(*v1alpha1.ClusterProfile).Spec.Version) }},
			{"CLOUD", func(o v1alpha1.Object, _ time.Time) string { return orNone(o.(*v1alpha1.ClusterProfile).Spec.Cloud) }},
			{"TYPE", func(o v1alpha1.Object, _ time.Time) string { return orNone(o.(*v1alpha1.ClusterProfile).Spec.Type) }},
			{"LAYERS", func(o v1alpha1.Object, _ time.Time) string {
				return strconv.Itoa(len(o.(*v1alpha1.ClusterProfile).Spec.Layers))
			}},
			ageColumn(),
		}
	case v1alpha1.KindPrivateCloudGateway:
		return []column{name,
			{"PHASE", func(o v1alpha1.Object, _ time.Time) string { return phase(o) }},
			{"REPLICAS", func(o v1alpha1.Object, _ time.Time) string {
				return strconv.Itoa(len(o.(*v1alpha1.PrivateCloudGateway).Status.Replicas))
			}},
			{"PROXY", func(o v1alpha1.Object, _ time.Time) string { return gatewayProxy(o.(*v1alpha1.PrivateCloudGateway)) }},
			ageColumn(),
		}
	}
	return []column{name, ageColumn()}
}

// accountValid is an account's Valid condition: True, or False with its reason (the code
// Entra ID or Azure answered), or Unknown before the first check of its generation.
func accountValid(a *v1alpha1.CloudAccount) string {
	for _, c := range a.Status.Conditions {
		if c.Type != v1alpha1.ConditionValid || a.Status.ObservedGeneration != a.Metadata.Generation {
			continue
		}
		if c.Status == "False" && c.Reason != "" {
			return "False (" + c.Reason + ")"
		}
		return c.Status
	}
	return "Unknown"
}

// subscriptionList is the first subscription ID and how many more there are.
func subscriptionList(ids []string) string {
	switch len(ids) {
	case 0:
		return none
	case 1:
		return ids[0]
	}
	return fmt.Sprintf("%s +%d", ids[0], len(ids)-1)
}

// phaseDeleting is the phase shown for an object whose deletion was requested.
const phaseDeleting = "Deleting"

// phase is the phase to show for an object: Deleting as soon as its deletion was requested
// (as kubectl shows Terminating), else its status phase. The status is what the controller
// last observed, so a cluster deleted a moment ago still says Running there until the
// controller's next pass; the deletion timestamp the server sets is already the truth.
func phase(o v1alpha1.Object) string {
	if o.GetMetadata().DeletionTimestamp != nil {
		return phaseDeleting
	}
	return orNone(o.GetStatus().Phase)
}

// wideColumns are the columns -o wide adds to a kind's table.
func wideColumns(kind string) []column {
	switch kind {
	case v1alpha1.KindCluster:
		cl := func(o v1alpha1.Object) *v1alpha1.Cluster { return o.(*v1alpha1.Cluster) }
		return []column{
			{"ACCOUNT", func(o v1alpha1.Object, _ time.Time) string { return orNone(cl(o).Spec.CloudAccount) }},
			{"PROFILES", func(o v1alpha1.Object, _ time.Time) string { return profileRefs(cl(o).Spec.Profiles) }},
			{"PROGRESS", func(o v1alpha1.Object, _ time.Time) string { return progress(cl(o).Status.Progress) }},
			{"ENDPOINT", func(o v1alpha1.Object, _ time.Time) string { return orNone(cl(o).Status.ControlPlaneEndpoint) }},
			{"KUBERNETES", func(o v1alpha1.Object, _ time.Time) string { return kubeVersion(cl(o).Status.Kubernetes) }},
			{"NODES", func(o v1alpha1.Object, _ time.Time) string { return kubeNodes(cl(o).Status.Kubernetes) }},
		}
	case v1alpha1.KindCloudAccount:
		return []column{{"CLIENT ID", func(o v1alpha1.Object, _ time.Time) string {
			return orNone(o.(*v1alpha1.CloudAccount).Spec.Azure.ClientID)
		}}}
	case v1alpha1.KindClusterProfile:
		return []column{{"LAYER NAMES", func(o v1alpha1.Object, _ time.Time) string {
			var names []string
			for _, l := range o.(*v1alpha1.ClusterProfile).Spec.Layers {
				names = append(names, l.Name)
			}
			return orNone(strings.Join(names, ","))
		}}}
	case v1alpha1.KindPrivateCloudGateway:
		return []column{
			{"VERSION", func(o v1alpha1.Object, _ time.Time) string {
				return orNone(o.(*v1alpha1.PrivateCloudGateway).Status.Version)
			}},
			{"HEARTBEAT", func(o v1alpha1.Object, now time.Time) string {
				hb := o.(*v1alpha1.PrivateCloudGateway).Status.LastHeartbeat
				if hb == nil {
					return none
				}
				return humanAge(now, hb)
			}},
			{"NETWORK", func(o v1alpha1.Object, _ time.Time) string {
				n := o.(*v1alpha1.PrivateCloudGateway).Spec.Network
				if n == nil || n.VirtualNetwork == "" {
					return none
				}
				return n.ResourceGroup + "/" + n.VirtualNetwork
			}}}
	}
	return accessWideColumns(kind)
}

// profileRefs lists a cluster's profiles as NAME@VERSION, comma-separated.
func profileRefs(refs []v1alpha1.ProfileRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.Name + "@" + r.Version
	}
	return orNone(strings.Join(parts, ","))
}

// progress shows a cluster's progress as DONE/TOTAL.
func progress(p *v1alpha1.Progress) string {
	if p == nil {
		return none
	}
	return fmt.Sprintf("%d/%d", p.Done, p.Total)
}

// kubeVersion is the version a cluster's API server reported, when strata read it.
func kubeVersion(k *v1alpha1.KubernetesStatus) string {
	if k == nil {
		return none
	}
	return orNone(k.Version)
}

// kubeNodes is a cluster's nodes as READY/TOTAL, when strata read them.
func kubeNodes(k *v1alpha1.KubernetesStatus) string {
	if k == nil {
		return none
	}
	return fmt.Sprintf("%d/%d", k.NodesReady, k.NodesTotal)
}

// gatewayProxy is the proxy a gateway's clusters use: the HTTPS proxy, else the HTTP one.
func gatewayProxy(g *v1alpha1.PrivateCloudGateway) string {
	if g.Spec.Proxy == nil {
		return none
	}
	if g.Spec.Proxy.HTTPSProxy != "" {
		return g.Spec.Proxy.HTTPSProxy
	}
	return orNone(g.Spec.Proxy.HTTPProxy)
}

// printTable prints objects of one kind as a table; wide adds the kind's wideColumns. Every
// cell is escaped (termtext) before the columns are aligned.
func printTable(w io.Writer, kind string, objs []v1alpha1.Object, now time.Time, wide bool) error {
	cols := columns(kind)
	if wide {
		cols = append(cols, wideColumns(kind)...)
	}
	tw := newTabWriter(w)
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.Header
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, o := range objs {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = oneLine(termtext.Escape(c.Value(o, now)))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// listOf wraps several objects in a List, as kubectl does.
func listOf(objs []v1alpha1.Object) any {
	return struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []v1alpha1.Object `json:"items"`
	}{v1alpha1.GroupVersion, "List", objs}
}

// printObjects prints objects as yaml, json or names. Several objects are printed as a List,
// which `strata apply -f` reads back. The data is exact; characters a terminal would act on
// are written as JSON or YAML escapes.
func printObjects(w io.Writer, format string, objs []v1alpha1.Object) error {
	var v any = listOf(objs)
	if len(objs) == 1 {
		v = objs[0]
	}
	switch format {
	case "json":
		data, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", termtext.JSON(data))
		return err
	case "yaml":
		// YAML through escaped JSON: the YAML encoder then escapes DEL and C1 controls too,
		// which it refuses when they come raw.
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode YAML: %w", err)
		}
		if data, err = yaml.JSONToYAML(termtext.JSON(data)); err != nil {
			return fmt.Errorf("encode YAML: %w", err)
		}
		_, err = w.Write(data)
		return err
	case "name":
		for _, o := range objs {
			if _, err := fmt.Fprintln(w, resourceName(o)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown output format %q", format)
}

// node is a JSON value that keeps the order of its object's fields, for describe's YAML-like text.
type node struct {
	keys   []string
	fields []*node // object fields, parallel to keys
	items  []*node // array items
	scalar any     // string, json.Number, bool or nil
	kind   byte    // 'o' object, 'a' array, 's' scalar
}

// parseOrdered parses JSON, keeping the field order of its objects.
func parseOrdered(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseValue(dec)
	if err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	return n, nil
}

func parseValue(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return &node{kind: 's', scalar: tok}, nil
	}
	n := &node{kind: 'o'}
	if d == '[' {
		n.kind = 'a'
	}
	for dec.More() {
		if n.kind == 'o' {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := kt.(string)
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, key)
			n.fields = append(n.fields, v)
			continue
		}
		v, err := parseValue(dec)
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, v)
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return nil, err
	}
	return n, nil
}

// field returns an object's field, or nil.
func (n *node) field(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.fields[i]
		}
	}
	return nil
}

// remove deletes an object's field.
func (n *node) remove(key string) {
	for i, k := range n.keys {
		if k == key {
			n.keys = append(n.keys[:i], n.keys[i+1:]...)
			n.fields = append(n.fields[:i], n.fields[i+1:]...)
			return
		}
	}
}

// set appends a field to an object.
func (n *node) set(key string, v *node) {
	n.keys = append(n.keys, key)
	n.fields = append(n.fields, v)
}

// scalarNode is a node of a string, json.Number, bool or nil.
func scalarNode(v any) *node { return &node{kind: 's', scalar: v} }

// insertAfter inserts a field after the field named after, or at the end.
func (n *node) insertAfter(after, key string, v *node) {
	at := len(n.keys)
	for i, k := range n.keys {
		if k == after {
			at = i + 1
		}
	}
	n.keys = append(n.keys[:at], append([]string{key}, n.keys[at:]...)...)
	n.fields = append(n.fields[:at], append([]*node{v}, n.fields[at:]...)...)
}

// writeYAMLish writes an object's fields as indented YAML-like text.
func writeYAMLish(b *strings.Builder, n *node, indent int) {
	pad := strings.Repeat(" ", indent)
	for i, k := range n.keys {
		v := n.fields[i]
		switch v.kind {
		case 's':
			writeScalar(b, pad+k+":", v.scalar, indent)
		case 'o':
			if len(v.keys) == 0 {
				fmt.Fprintf(b, "%s%s: {}\n", pad, k)
				continue
			}
			fmt.Fprintf(b, "%s%s:\n", pad, k)
			writeYAMLish(b, v, indent+2)
		case 'a':
			if len(v.items) == 0 {
				fmt.Fprintf(b, "%s%s: []\n", pad, k)
				continue
			}
			fmt.Fprintf(b, "%s%s:\n", pad, k)
			writeItems(b, v, indent+2)
		}
	}
}

// writeItems writes an array's items as "- " lines.
func writeItems(b *strings.Builder, n *node, indent int) {
	pad := strings.Repeat(" ", indent)
	for _, it := range n.items {
		switch it.kind {
		case 's':
			writeScalar(b, pad+"-", it.scalar, indent+2)
		case 'o':
			if len(it.keys) == 0 {
				fmt.Fprintf(b, "%s- {}\n", pad)
				continue
			}
			var sub strings.Builder
			writeYAMLish(&sub, it, indent+2)
			b.WriteString(pad + "- " + sub.String()[indent+2:])
		case 'a':
			fmt.Fprintf(b, "%s-\n", pad)
			writeItems(b, it, indent+2)
		}
	}
}

// writeScalar writes "prefix value"; a multi-line string becomes a "|" block indented below.
func writeScalar(b *strings.Builder, prefix string, v any, indent int) {
	switch s := v.(type) {
	case nil:
		fmt.Fprintf(b, "%s null\n", prefix)
	case string:
		switch {
		case s == "":
			fmt.Fprintf(b, "%s \"\"\n", prefix)
		case strings.Contains(strings.TrimRight(s, "\n"), "\n"):
			fmt.Fprintf(b, "%s |\n", prefix)
			pad := strings.Repeat(" ", indent+2)
			for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
				if line == "" {
					b.WriteString("\n")
					continue
				}
				b.WriteString(pad + line + "\n")
			}
		default:
			fmt.Fprintf(b, "%s %s\n", prefix, yamlString(strings.TrimRight(s, "\n")))
		}
	default:
		fmt.Fprintf(b, "%s %v\n", prefix, s)
	}
}

// yamlString quotes a one-line string that YAML would otherwise read as something else: a
// number, a boolean, null, or text starting with an indicator character.
func yamlString(s string) string {
	if s == "" || s != strings.TrimSpace(s) || strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") ||
		strings.Contains(s, ": ") || strings.Contains(s, " #") {
		return strconv.Quote(s)
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~":
		return strconv.Quote(s)
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.Quote(s)
	}
	return s
}
