package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/termtext"
)

// auditFormats are the values of audit's --output.
var auditFormats = []string{"table", "wide", "json", "yaml"}

// auditPageSize is how many records the command asks the server for at once.
const auditPageSize = 500

type auditOptions struct {
	user, kind, name, verb, result, since, until, output string
	limit                                                int
}

// newAuditCommand is `strata audit`: the server's audit trail, newest first.
func newAuditCommand(o *rootOptions) *cobra.Command {
	ao := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [--user U] [--kind K] [--name N] [--verb V] [--result R] [--since 1h|TIME] [--limit N]",
		Short: "Show the audit trail: who wrote what, fetched which kubeconfig, or was refused",
		Long: `Show the server's audit trail, newest first: every write, every kubeconfig fetched and every
request refused with 401 or 403, with who made it, when, from which address, the status and the
result (allowed, denied or failed). Reads that succeed are not recorded, nor are bodies, query
strings, tokens or secrets.

The filters match exactly; --name is the object's key (NAME@VERSION for a cluster profile);
--since and --until take a duration back from now (90m, 24h, 7d) or an RFC 3339 time. On a
server with access control, reading the trail needs audit.list from a binding without a
filter (the admin role has it). See docs/access.md.`,
		Example: `  strata audit
  strata audit --user bob --since 24h
  strata audit --result denied -o wide
  strata audit --kind cluster --name iaas-static --verb kubeconfig-admin -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAudit(cmd.Context(), o, ao)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ao.user, "user", "", "only the requests of this user")
	f.StringVar(&ao.kind, "kind", "", "only the requests about this kind (cluster, profile, ...)")
	f.StringVar(&ao.name, "name", "", "only the requests about the object with this key")
	f.StringVar(&ao.verb, "verb", "", "only this verb: create, update, delete, kubeconfig, kubeconfig-admin, token, list, ...")
	f.StringVar(&ao.result, "result", "", "only this result: allowed, denied or failed")
	f.StringVar(&ao.since, "since", "", "only the requests since a duration ago (1h, 7d) or an RFC 3339 time")
	f.StringVar(&ao.until, "until", "", "only the requests before a duration ago or an RFC 3339 time")
	f.IntVar(&ao.limit, "limit", 100, "show at most this many records, the newest; 0 shows them all")
	f.StringVarP(&ao.output, "output", "o", "table", "output format: "+strings.Join(auditFormats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(auditFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("result", cobra.FixedCompletions([]string{"allowed", "denied", "failed"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// query turns the flags into the server's query; now is the time durations go back from.
func (ao *auditOptions) query(now time.Time) (client.AuditQuery, error) {
	q := client.AuditQuery{User: ao.user, Key: ao.name, Verb: ao.verb, Result: ao.result}
	switch {
	case !slices.Contains(auditFormats, ao.output):
		return q, fmt.Errorf("unknown output format %q: use one of %s", ao.output, strings.Join(auditFormats, ", "))
	case ao.limit < 0:
		return q, fmt.Errorf("invalid --limit %d: use a positive number, or 0 for every record", ao.limit)
	case ao.result != "" && !slices.Contains([]string{"allowed", "denied", "failed"}, ao.result):
		return q, fmt.Errorf("invalid --result %q: use allowed, denied or failed", ao.result)
	}
	if ao.kind != "" {
		kind, err := ResolveKind(ao.kind)
		if err != nil {
			return q, err
		}
		q.Kind = kind
	}
	var err error
	if q.Since, err = parseAuditTime("--since", ao.since, now); err != nil {
		return q, err
	}
	if q.Until, err = parseAuditTime("--until", ao.until, now); err != nil {
		return q, err
	}
	return q, nil
}

// parseAuditTime reads a duration back from now ("90m", "7d") or an RFC 3339 time; empty is the
// zero time.
func parseAuditTime(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := parseLifetime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid %s %q: use a duration such as 90m, 24h or 7d, or an RFC 3339 time such as 2026-05-01T12:00:00Z", flag, s)
	}
	return now.Add(-d), nil
}

func runAudit(ctx context.Context, o *rootOptions, ao *auditOptions) error {
	q, err := ao.query(o.now())
	if err != nil {
		return &usageError{cmd: "strata audit", err: err}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	records, err := readAudit(ctx, c, q, ao.limit)
	if err != nil {
		return err
	}
	switch ao.output {
	case "json", "yaml":
		return printAuditData(o.data, ao.output, records)
	}
	if len(records) == 0 {
		fmt.Fprintln(o.streams.Err, "No audit records found.")
		return nil
	}
	return printAuditTable(o.streams.Out, records, ao.output == "wide")
}

// readAudit reads the newest records of q, page after page, at most limit (0: all).
func readAudit(ctx context.Context, c *client.Client, q client.AuditQuery, limit int) ([]client.AuditRecord, error) {
	records := []client.AuditRecord{}
	for {
		q.Limit = auditPageSize
		if limit > 0 {
			q.Limit = min(auditPageSize, limit-len(records))
		}
		page, err := c.Audit(ctx, q)
		if err != nil {
			return nil, err
		}
		records = append(records, page.Items...)
		if page.Continue == "" || (limit > 0 && len(records) >= limit) {
			return records, nil
		}
		q.Continue = page.Continue
	}
}

// printAuditData prints the records as {"items": [...]}, in JSON or YAML, escaped as
// printObjects escapes.
func printAuditData(w io.Writer, format string, records []client.AuditRecord) error {
	data, err := json.MarshalIndent(struct {
		Items []client.AuditRecord `json:"items"`
	}{records}, "", "    ")
	if err != nil {
		return fmt.Errorf("encode the records: %w", err)
	}
	data = termtext.JSON(data)
	if format == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return fmt.Errorf("encode the records: %w", err)
		}
		_, err = w.Write(data)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// printAuditTable prints TIME USER VERB KIND NAME CODE RESULT SOURCE, and with wide REASON,
// DRY-RUN and PATH; times in UTC, to the second.
func printAuditTable(w io.Writer, records []client.AuditRecord, wide bool) error {
	tw := newTabWriter(w)
	headers := []string{"TIME", "USER", "VERB", "KIND", "NAME", "CODE", "RESULT", "SOURCE"}
	if wide {
		headers = append(headers, "REASON", "DRY-RUN", "PATH")
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, r := range records {
		cells := []string{r.Time.UTC().Format(time.RFC3339), orNone(r.User), r.Verb, orNone(r.Kind), orNone(r.Key),
			strconv.Itoa(r.Code), r.Result, r.SourceIP}
		if wide {
			cells = append(cells, orNone(r.Reason), strconv.FormatBool(r.DryRun), r.Path)
		}
		for i, c := range cells {
			cells[i] = oneLine(termtext.Escape(c))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}
