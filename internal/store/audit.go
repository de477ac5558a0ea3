package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The results of an audited request.
const (
	// AuditAllowed: the request was authorized and succeeded (2xx).
	AuditAllowed = "allowed"
	// AuditDenied: the request was refused for its credentials (401) or its permissions (403).
	AuditDenied = "denied"
	// AuditFailed: the request failed otherwise (an invalid object, a conflict, an object not
	// found or not visible to the caller, a server error).
	AuditFailed = "failed"
)

// MaxAuditRecords bounds the audit trail: each record recorded deletes those that fall more
// than MaxAuditRecords records behind it, oldest first, at most AuditPruneBatch at a time.
const MaxAuditRecords = 100_000

// AuditPruneBatch is the most records one RecordAudit deletes, so that a trail far over the
// bound (after the bound was lowered) shrinks over several records instead of in one long
// transaction.
const AuditPruneBatch = 1000

// Lengths a record's text fields are cut to, in bytes, on a rune boundary.
const (
	maxAuditField  = 256  // user, verb, kind, key, method, source IP, result
	maxAuditPath   = 1024 // path
	maxAuditReason = 512  // reason
)

// AuditRecord is one request in the audit trail: who did what, when, from where, and with what
// result. It never holds a body, a query string, a token or a secret.
type AuditRecord struct {
	// ID is assigned by RecordAudit; IDs grow with each record.
	ID int64 `json:"id"`
	// Time is when the request arrived, in UTC, to the microsecond.
	Time time.Time `json:"time"`
	// User is the name of the authenticated user: "" without access control, or when the
	// request carried no valid credentials.
	User string `json:"user"`
	// Verb is what was asked: get, list, create, update, delete, kubeconfig,
	// kubeconfig-admin, use, token, can-i, or the method in lower case.
	Verb string `json:"verb"`
	// Kind is the API kind (Cluster, ...), "" for an endpoint that is about no kind.
	Kind string `json:"kind,omitempty"`
	// Key is the object's key (a name, "name@version" for a profile), "" for a list.
	Key string `json:"key,omitempty"`
	// Method and Path are the request's, the path without its query string.
	Method string `json:"method"`
	Path   string `json:"path"`
	// SourceIP is the address the connection came from (never X-Forwarded-For).
	SourceIP string `json:"sourceIP"`
	// Code is the HTTP status answered.
	Code int `json:"code"`
	// Result is AuditAllowed, AuditDenied or AuditFailed.
	Result string `json:"result"`
	// Reason says briefly why: a 403's reason, a 401's cause, the error's reason word, what an
	// apply did.
	Reason string `json:"reason,omitempty"`
	// DryRun marks a write that was validated and not stored.
	DryRun bool `json:"dryRun,omitempty"`
}

// AuditQuery narrows ListAudit. Empty fields match every record.
type AuditQuery struct {
	User, Kind, Key, Verb, Result string
	// Since keeps the records at or after it; Until those before it.
	Since, Until time.Time
	// Limit caps the records of a page; 0 means no limit.
	Limit int
	// Continue resumes after the page that returned it as AuditPage.Continue.
	Continue string
}

// AuditPage is one page of the audit trail, newest first.
type AuditPage struct {
	Items []AuditRecord
	// Continue is set when older records follow: pass it as AuditQuery.Continue.
	Continue string
}

// Validate checks the query: a known result, a limit that is not negative, a continue token
// that a page returned.
func (q AuditQuery) Validate() error {
	if _, err := q.After(); err != nil {
		return err
	}
	switch {
	case q.Limit < 0:
		return fmt.Errorf("invalid audit query: negative limit %d", q.Limit)
	case q.Result != "" && q.Result != AuditAllowed && q.Result != AuditDenied && q.Result != AuditFailed:
		return fmt.Errorf("invalid audit query: result %q is not %s, %s or %s", q.Result, AuditAllowed, AuditDenied, AuditFailed)
	}
	return nil
}

// After returns the ID the page starts below: that of Continue, 0 for the first page.
func (q AuditQuery) After() (int64, error) {
	if q.Continue == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(q.Continue, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("invalid audit query: continue %q is not a token a page returned", q.Continue)
	}
	return id, nil
}

// PrepareAudit checks a record about to be recorded and sets its fields as the implementations
// keep them: the time now when unset, in UTC, to the microsecond; text cut to its bound.
func PrepareAudit(rec *AuditRecord) error {
	if rec.Verb == "" || rec.Method == "" || rec.Result == "" {
		return fmt.Errorf("record audit: verb, method and result are required")
	}
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	rec.Time = rec.Time.UTC().Truncate(time.Microsecond)
	for _, f := range []*string{&rec.User, &rec.Verb, &rec.Kind, &rec.Key, &rec.Method, &rec.SourceIP, &rec.Result} {
		*f = cut(*f, maxAuditField)
	}
	rec.Path = cut(rec.Path, maxAuditPath)
	rec.Reason = cut(rec.Reason, maxAuditReason)
	return nil
}

// cut returns s as valid UTF-8 without control characters (each becomes U+FFFD: PostgreSQL's
// text holds no NUL, and a terminal would act on the others), cut to at most n bytes on a rune
// boundary.
func cut(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// AuditFilter is the WHERE clause of a ListAudit query and its arguments: param returns the
// placeholder of the i-th argument (from 1), timeArg the argument of a time.
func AuditFilter(q AuditQuery, param func(i int) string, timeArg func(time.Time) any) (string, []any, error) {
	if err := q.Validate(); err != nil {
		return "", nil, err
	}
	after, _ := q.After()
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", param(len(args))))
	}
	for _, f := range []struct{ column, value string }{
		{"principal", q.User}, {"kind", q.Kind}, {"key", q.Key}, {"verb", q.Verb}, {"result", q.Result},
	} {
		if f.value != "" {
			add(f.column+" = ?", f.value)
		}
	}
	if !q.Since.IsZero() {
		add("time >= ?", timeArg(q.Since.UTC()))
	}
	if !q.Until.IsZero() {
		add("time < ?", timeArg(q.Until.UTC()))
	}
	if after > 0 {
		add("id < ?", after)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// AuditPageOf makes the page of records read with a limit of limit+1 (0: no limit): the extra
// record says that older ones follow.
func AuditPageOf(records []AuditRecord, limit int) AuditPage {
	if records == nil {
		records = []AuditRecord{}
	}
	if limit > 0 && len(records) > limit {
		records = records[:limit]
		return AuditPage{Items: records, Continue: strconv.FormatInt(records[limit-1].ID, 10)}
	}
	return AuditPage{Items: records}
}
