package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/termtext"
)

// rewatchDelay is how long `get -w` waits before it watches again when the server ended the
// stream.
const rewatchDelay = time.Second

// watchTarget is what `get -w` follows: the objects of a kind, those of one metadata.name, or
// one profile version.
type watchTarget struct {
	kind string
	// name narrows the server's list and watch to a metadata.name.
	name string
	// key, when set, keeps only the object with this key (a profile version).
	key string
}

func newWatchTarget(t target) watchTarget {
	wt := watchTarget{kind: t.Kind, name: t.Name}
	if name, _, ok := strings.Cut(t.Name, "@"); ok && t.Kind == v1alpha1.KindClusterProfile {
		wt.name, wt.key = name, t.Name
	}
	return wt
}

func (wt watchTarget) keeps(obj v1alpha1.Object) bool { return wt.key == "" || obj.Key() == wt.key }

// runWatch prints the objects of the target, then a line per change until ctx ends, as
// `kubectl get -w` does. When the server no longer keeps the changes after the last one seen,
// it lists again and prints what changed meanwhile.
func runWatch(ctx context.Context, o *rootOptions, targets []target, output string, events bool) error {
	if len(targets) != 1 {
		return &usageError{cmd: "strata get", err: errors.New("--watch follows one kind, or one object: name at most one")}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	wt := newWatchTarget(targets[0])
	p := &watchPrinter{w: o.streams.Out, kind: wt.kind, output: output, events: events, now: o.now}
	seen := map[string]v1alpha1.Object{} // by key, the object as last printed
	rv, err := relist(ctx, c, wt, p, seen, true)
	if err != nil {
		return err
	}
	if len(seen) == 0 && wt.name == "" {
		fmt.Fprintln(o.streams.Err, "No resources found.")
	}
	for ctx.Err() == nil {
		if rv, err = follow(ctx, c, wt, p, seen, rv); err != nil {
			return err
		}
	}
	return nil
}

// relist lists the target and prints what differs from seen: every object the first time,
// later the changed ones and those gone. It returns the list's resourceVersion.
func relist(ctx context.Context, c *client.Client, wt watchTarget, p *watchPrinter, seen map[string]v1alpha1.Object, first bool) (string, error) {
	objs, rv, err := c.ListAllWithVersion(ctx, wt.kind, client.ListOptions{Name: wt.name})
	if err != nil {
		return "", err
	}
	var kept []v1alpha1.Object
	for _, obj := range objs {
		if wt.keeps(obj) {
			kept = append(kept, obj)
		}
	}
	if first && wt.name != "" && len(kept) == 0 {
		return "", &client.APIError{Code: 404, Reason: client.ReasonNotFound,
			Message: fmt.Sprintf("%s %q not found", strings.ToLower(wt.kind), cmp.Or(wt.key, wt.name))}
	}
	p.widen(kept)
	gone := maps.Clone(seen)
	for _, obj := range kept {
		key := obj.Key()
		last, ok := seen[key]
		delete(gone, key)
		typ := client.WatchAdded
		if ok {
			if last.GetMetadata().ResourceVersion == obj.GetMetadata().ResourceVersion {
				continue
			}
			typ = client.WatchModified
		}
		seen[key] = obj
		if err := p.print(typ, obj); err != nil {
			return "", err
		}
	}
	for _, key := range slices.Sorted(maps.Keys(gone)) {
		delete(seen, key)
		if err := p.print(client.WatchDeleted, gone[key]); err != nil {
			return "", err
		}
	}
	return rv, nil
}

// follow watches from rv and prints each change until the stream ends; it returns the
// resourceVersion to watch from next. A server that no longer keeps the changes is answered
// by listing again.
func follow(ctx context.Context, c *client.Client, wt watchTarget, p *watchPrinter, seen map[string]v1alpha1.Object, rv string) (string, error) {
	w, err := c.Watch(ctx, wt.kind, client.WatchOptions{Name: wt.name, ResourceVersion: rv})
	switch {
	case ctx.Err() != nil:
		return rv, nil
	case client.IsExpired(err):
		return relist(ctx, c, wt, p, seen, false)
	case err != nil:
		return rv, err
	}
	defer w.Close()
	for {
		ev, err := w.Next()
		switch {
		case ctx.Err() != nil:
			return rv, nil
		case client.IsExpired(err):
			return relist(ctx, c, wt, p, seen, false)
		case errors.Is(err, io.EOF):
			// The server ended the stream (it dropped a slow reader, or stops): go on.
			select {
			case <-ctx.Done():
			case <-time.After(rewatchDelay):
			}
			return rv, nil
		case err != nil:
			return rv, err
		}
		rv = ev.Object.GetMetadata().ResourceVersion
		if !wt.keeps(ev.Object) {
			continue
		}
		if ev.Type == client.WatchDeleted {
			delete(seen, ev.Object.Key())
		} else {
			seen[ev.Object.Key()] = ev.Object
		}
		if err := p.print(ev.Type, ev.Object); err != nil {
			return rv, err
		}
	}
}

// watchPrinter prints the objects and changes of a watch: table rows under one header whose
// columns widen when a value needs it, or one document per object.
type watchPrinter struct {
	w      io.Writer
	kind   string
	output string
	// events adds the type of each change: an EVENT column, or a {type, object} document.
	events bool
	now    func() time.Time
	widths []int
	// headed says that the table's header is printed.
	headed bool
	// printed counts the documents printed, which YAML separates.
	printed int
}

func (p *watchPrinter) print(typ string, obj v1alpha1.Object) error {
	switch p.output {
	case "table", "wide":
		return p.row(typ, obj)
	case "name":
		return printObjects(p.w, "name", []v1alpha1.Object{obj})
	}
	if p.output == "yaml" {
		if p.printed++; p.printed > 1 {
			fmt.Fprintln(p.w, "---")
		}
	}
	if !p.events {
		return printObjects(p.w, p.output, []v1alpha1.Object{obj})
	}
	ev := struct {
		Type   string          `json:"type"`
		Object v1alpha1.Object `json:"object"`
	}{typ, obj}
	data, err := json.MarshalIndent(ev, "", "    ")
	if err != nil {
		return fmt.Errorf("encode the change: %w", err)
	}
	data = termtext.JSON(data)
	if p.output == "yaml" {
		// YAML through escaped JSON, as printObjects does.
		if data, err = yaml.JSONToYAML(data); err != nil {
			return fmt.Errorf("encode the change: %w", err)
		}
		_, err = p.w.Write(data)
		return err
	}
	_, err = fmt.Fprintf(p.w, "%s\n", data)
	return err
}

// cells are the header and the cells of obj's row.
func (p *watchPrinter) cells(typ string, obj v1alpha1.Object) (header, cells []string) {
	if p.events {
		header, cells = append(header, "EVENT"), append(cells, typ)
	}
	cols := columns(p.kind)
	if p.output == "wide" {
		cols = append(cols, wideColumns(p.kind)...)
	}
	for _, c := range cols {
		header = append(header, c.Header)
		cells = append(cells, oneLine(termtext.Escape(c.Value(obj, p.now()))))
	}
	return header, cells
}

// widen makes the columns wide enough for the rows of objs, before they are printed.
func (p *watchPrinter) widen(objs []v1alpha1.Object) {
	for _, obj := range objs {
		header, cells := p.cells(client.WatchModified, obj)
		if p.widths == nil {
			p.widths = make([]int, len(header))
		}
		for i := range cells {
			p.widths[i] = max(p.widths[i], width(header[i]), width(cells[i]))
		}
	}
}

// row prints obj as a table row, after the header the first time.
func (p *watchPrinter) row(typ string, obj v1alpha1.Object) error {
	header, cells := p.cells(typ, obj)
	if !p.headed {
		p.headed = true
		if p.widths == nil {
			p.widths = make([]int, len(header))
		}
		if err := p.line(header); err != nil {
			return err
		}
	}
	return p.line(cells)
}

// line prints cells padded to the widths seen so far, three spaces apart, as the tables of
// `strata get` are.
func (p *watchPrinter) line(cells []string) error {
	var b strings.Builder
	for i, cell := range cells {
		p.widths[i] = max(p.widths[i], width(cell))
		b.WriteString(cell)
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", p.widths[i]-width(cell)+3))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(p.w, b.String())
	return err
}

// width is the width of a cell as get's tables (text/tabwriter) count it: its characters.
func width(cell string) int { return utf8.RuneCountInString(cell) }
