package resourcegraph

import (
	"net/http"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// answer returns the page of rows the request's options ask for, in its result format. The
// rows of a query with more pages are kept for them (tok.Result names those it came from).
func (s *service) answer(in *request, q *query, rows []row, tok skipToken, hash string) (int, any, *arm.Error) {
	top := defaultTop
	if t := in.Options.Top; t != nil {
		if *t < 1 || *t > maxTop {
			return 0, nil, arm.Errorf(http.StatusBadRequest, "BadRequest", "The $top option must be between 1 and %d, not %d.", maxTop, *t)
		}
		top = *t
	}
	offset := 0
	if sk := in.Options.Skip; sk != nil {
		if *sk < 0 {
			return 0, nil, arm.Errorf(http.StatusBadRequest, "BadRequest", "The $skip option must not be negative.")
		}
		offset = *sk
	}
	if in.Options.SkipToken != "" {
		offset = tok.Offset
	}
	result := tok.Result
	if offset+top < len(rows) && result == "" {
		result = s.results.keep(rows, s.opts.Now())
	}
	pg, next := page(rows, offset, top, hash, result)
	out := map[string]any{
		"totalRecords":    len(rows),
		"count":           len(pg),
		"facets":          []any{},
		"resultTruncated": "false",
		"data":            data(in.Options.ResultFormat, q, pg),
	}
	if next != "" {
		out["$skipToken"] = next
	}
	return http.StatusOK, out, nil
}

// data is a page in a result format: an array of objects, or a table of columns and rows.
func data(format string, q *query, rows []row) any {
	if format != "table" {
		out := make([]any, len(rows))
		for i, r := range rows {
			out[i] = map[string]any(r)
		}
		return out
	}
	names := q.columnsOf()
	cols := make([]any, len(names))
	for i, n := range names {
		typ := "object"
		switch n {
		case "id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId", "managedBy":
			typ = "string"
		}
		cols[i] = map[string]any{"name": n, "type": typ}
	}
	out := make([]any, len(rows))
	for i, r := range rows {
		vals := make([]any, len(names))
		for j, n := range names {
			vals[j] = r[n]
		}
		out[i] = vals
	}
	return map[string]any{"columns": cols, "rows": out}
}
