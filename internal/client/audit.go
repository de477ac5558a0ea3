package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/strata-dev/strata/internal/store"
)

// AuditRecord is one request in the server's audit trail, as the store keeps it and the
// server sends it.
type AuditRecord = store.AuditRecord

// AuditQuery narrows Audit; empty fields match every record.
type AuditQuery struct {
	User, Kind, Key, Verb, Result string
	// Since keeps the records at or after it, Until those before it.
	Since, Until time.Time
	// Limit caps the records of a page; 0 lets the server choose.
	Limit int
	// Continue resumes after the page that returned it.
	Continue string
}

// AuditPage is one page of the audit trail, newest first.
type AuditPage struct {
	Items []AuditRecord `json:"items"`
	// Continue is set when older records follow.
	Continue string `json:"continue,omitempty"`
}

// Audit returns a page of the server's audit trail, newest first. Kind is a kind's name
// (Cluster, ...).
func (c *Client) Audit(ctx context.Context, q AuditQuery) (AuditPage, error) {
	v := url.Values{}
	for name, val := range map[string]string{"user": q.User, "kind": q.Kind, "key": q.Key, "verb": q.Verb,
		"result": q.Result, "continue": q.Continue} {
		if val != "" {
			v.Set(name, val)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out AuditPage
	if _, err := c.do(ctx, http.MethodGet, "/audit", v, nil, &out); err != nil {
		return AuditPage{}, fmt.Errorf("read the audit trail: %w", err)
	}
	return out, nil
}
