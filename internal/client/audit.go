package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditRecord is one request in the server's audit trail: who did what, when, from where, and
// with what result.
type AuditRecord struct {
	ID   int64     `json:"id"`
	Time time.Time `json:"time"`
	// User is "" for a request without valid credentials, or on a server without access
	// control.
	User string `json:"user"`
	// Verb is get, list, create, update, delete, kubeconfig, kubeconfig-admin, use, token,
	// can-i, or the method in lower case.
	Verb string `json:"verb"`
	// Kind and Key name the object, when the request is about one.
	Kind     string `json:"kind,omitempty"`
	Key      string `json:"key,omitempty"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	SourceIP string `json:"sourceIP"`
	Code     int    `json:"code"`
	// Result is allowed, denied (401, 403) or failed.
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	DryRun bool   `json:"dryRun,omitempty"`
}

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
