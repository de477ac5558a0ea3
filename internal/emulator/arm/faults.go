package arm

import (
	"fmt"
	"strconv"
	"strings"
)

// Kinds of injected faults.
const (
	// FaultStatus answers with an error status (500, 503, 429...) instead of serving.
	FaultStatus = "status"
	// FaultDrop closes the connection without an answer.
	FaultDrop = "drop"
	// FaultLROFailed lets a long-running operation end Failed.
	FaultLROFailed = "lro-failed"
)

// FaultRule injects faults into a fraction of the ARM requests that match it. Whether the
// n-th matching request is hit depends only on the seed, the rule's position and n, so a
// sequence of requests sees the same faults on every run with the same seed.
type FaultRule struct {
	// Method matches the HTTP method; empty or "*" matches all.
	Method string `json:"method,omitempty"`
	// Type matches the full resource type (any casing), e.g. Microsoft.Network/virtualNetworks;
	// empty or "*" matches all.
	Type string `json:"type,omitempty"`
	// Kind is FaultStatus (default), FaultDrop or FaultLROFailed.
	Kind string `json:"kind,omitempty"`
	// Status of a FaultStatus answer; default 500.
	Status int `json:"status,omitempty"`
	// Code and Message of the error; defaults depend on the status (InternalServerError,
	// ServiceUnavailable, TooManyRequests; InternalServerError for failed operations).
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// Rate is the fraction of matching requests hit, 0 to 1.
	Rate float64 `json:"rate"`
	// RetryAfter is the Retry-After of the answer in seconds: 429 answers always carry one
	// (default 1), others only when it is set.
	RetryAfter int `json:"retryAfter,omitempty"`
	// Count limits how many faults the rule injects; 0 means no limit.
	Count int `json:"count,omitempty"`
}

// ParseFault parses the command-line form of a rule: comma-separated key=value pairs among
// method, type, kind, status, code, message, rate, retry-after and count, e.g.
// "method=PUT,type=Microsoft.Network/virtualNetworks,status=503,rate=0.2".
func ParseFault(s string) (FaultRule, error) {
	var f FaultRule
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return f, fmt.Errorf("fault %q: %q is not key=value", s, kv)
		}
		var err error
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "method":
			f.Method = strings.ToUpper(v)
		case "type":
			f.Type = v
		case "kind":
			f.Kind = v
		case "status":
			f.Status, err = strconv.Atoi(v)
		case "code":
			f.Code = v
		case "message":
			f.Message = v
		case "rate":
			f.Rate, err = strconv.ParseFloat(v, 64)
		case "retry-after", "retryafter":
			f.RetryAfter, err = strconv.Atoi(v)
		case "count":
			f.Count, err = strconv.Atoi(v)
		default:
			return f, fmt.Errorf("fault %q: unknown key %q (want method, type, kind, status, code, message, rate, retry-after, count)", s, k)
		}
		if err != nil {
			return f, fmt.Errorf("fault %q: %s: %w", s, k, err)
		}
	}
	return f, f.normalize()
}

func (f *FaultRule) normalize() error {
	switch strings.ToLower(f.Kind) {
	case "", FaultStatus:
		f.Kind = FaultStatus
		if f.Status == 0 {
			f.Status = 500
		}
		if f.Status < 400 || f.Status > 599 {
			return fmt.Errorf("fault status %d: want 400-599", f.Status)
		}
	case FaultDrop, "close":
		f.Kind = FaultDrop
	case FaultLROFailed, "lrofailed", "failed", "lro":
		f.Kind = FaultLROFailed
	default:
		return fmt.Errorf("fault kind %q: want status, drop or lro-failed", f.Kind)
	}
	if f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("fault rate %v: want 0 to 1", f.Rate)
	}
	if f.Method == "*" {
		f.Method = ""
	}
	if f.Type == "*" {
		f.Type = ""
	}
	f.Method = strings.ToUpper(f.Method)
	return nil
}

func (f *FaultRule) matches(method, typ string) bool {
	return (f.Method == "" || f.Method == method) && (f.Type == "" || strings.EqualFold(f.Type, typ))
}

// errorFor returns the error a FaultStatus or FaultLROFailed rule answers with.
func (f *FaultRule) errorFor() *Error {
	status, code, msg := f.Status, f.Code, f.Message
	if f.Kind == FaultLROFailed {
		status = 0
		if code == "" {
			code = "InternalServerError"
		}
		if msg == "" {
			msg = "An internal error occurred in the operation (injected by the strata emulator)."
		}
	}
	if code == "" {
		switch status {
		case 429:
			code = "TooManyRequests"
		case 503:
			code = "ServiceUnavailable"
		case 500:
			code = "InternalServerError"
		default:
			code = "InjectedFault"
		}
	}
	if msg == "" {
		switch status {
		case 429:
			msg = fmt.Sprintf("The request is being throttled (injected by the strata emulator). Please try again after '%d' seconds.", f.retryAfter())
		case 503:
			msg = "The service is temporarily unavailable (injected by the strata emulator). Please try again later."
		default:
			msg = "Encountered internal server error (injected by the strata emulator)."
		}
	}
	return &Error{Status: status, Code: code, Message: msg}
}

func (f *FaultRule) retryAfter() int {
	if f.RetryAfter > 0 {
		return f.RetryAfter
	}
	return 1
}

type faultState struct {
	FaultRule
	id          uint64
	seen, fired int
}

type faultSet struct {
	rules  []*faultState
	nextID uint64
}

func newFaultSet(rules []FaultRule) *faultSet {
	fs := &faultSet{}
	for _, r := range rules {
		fs.add(r)
	}
	return fs
}

func (fs *faultSet) add(r FaultRule) {
	fs.rules = append(fs.rules, &faultState{FaultRule: r, id: fs.nextID})
	fs.nextID++
}

// pick returns the first rule of one of the kinds that fires for the request, counting the
// request against every matching rule.
func (fs *faultSet) pick(seed uint64, method, typ string, kinds ...string) *FaultRule {
	var hit *FaultRule
	for _, r := range fs.rules {
		ok := false
		for _, k := range kinds {
			ok = ok || r.Kind == k
		}
		if !ok || !r.matches(method, typ) {
			continue
		}
		n := r.seen
		r.seen++
		if hit != nil || (r.Count > 0 && r.fired >= r.Count) {
			continue
		}
		if unit(hashOf(seed, "fault", r.id, n)) < r.Rate {
			r.fired++
			hit = &r.FaultRule
		}
	}
	return hit
}

func (fs *faultSet) list() []FaultRule {
	out := make([]FaultRule, 0, len(fs.rules))
	for _, r := range fs.rules {
		out = append(out, r.FaultRule)
	}
	return out
}

func (fs *faultSet) resetCounts() {
	for _, r := range fs.rules {
		r.seen, r.fired = 0, 0
	}
}
