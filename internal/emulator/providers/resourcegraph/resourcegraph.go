// Package resourcegraph serves the emulator's Azure Resource Graph: POST
// /providers/Microsoft.ResourceGraph/resources runs a query of a KQL subset over the Resources
// table of the caller's subscriptions, with Resource Graph's paging, per-user quota and lag.
package resourcegraph

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// Defaults of Options.
const (
	DefaultLag    = 3 * time.Second
	DefaultQuota  = 15
	DefaultWindow = 5 * time.Second
)

// apiVersions are the api-versions the endpoint accepts.
var apiVersions = []string{"2021-03-01", "2022-10-01", "2024-04-01"}

// Options configure the Resource Graph endpoint.
type Options struct {
	// Lag is how far behind the live state the answers are (Resource Graph is eventually
	// consistent); 0 means the default, DefaultLag; a negative value answers from the live
	// state. The engine must keep at least that much history (arm.Engine.KeepHistory).
	Lag time.Duration
	// Quota is the number of queries a caller may send per Window; 0 means DefaultQuota.
	Quota int
	// Window is the quota's window; 0 means DefaultWindow.
	Window time.Duration
	// Now is the clock of the quota; nil means time.Now.
	Now func() time.Time
}

// WithDefaults returns the options with the defaults of the fields left zero.
func (o Options) WithDefaults() Options {
	if o.Lag == 0 {
		o.Lag = DefaultLag
	}
	if o.Quota <= 0 {
		o.Quota = DefaultQuota
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// EffectiveLag is the lag the answers have: Lag after the defaults, 0 when negative.
func (o Options) EffectiveLag() time.Duration {
	return max(o.WithDefaults().Lag, 0)
}

// Subscriptions lists the cloud's subscriptions; *arm.Engine implements it without taking its
// lock.
type Subscriptions interface {
	Subscriptions() []arm.Subscription
}

// service is the Resource Graph endpoint.
type service struct {
	opts    Options
	subs    Subscriptions
	quota   *quota
	results *results
}

// Routes returns the Resource Graph endpoint: POST /providers/Microsoft.ResourceGraph/resources.
func Routes(subs Subscriptions, opts Options) []arm.Route {
	opts = opts.WithDefaults()
	s := &service{opts: opts, subs: subs, quota: newQuota(opts.Quota, opts.Window), results: newResults()}
	return []arm.Route{{
		Method:   http.MethodPost,
		Pattern:  "/providers/Microsoft.ResourceGraph/resources",
		Handle:   s.resources,
		ReadOnly: true,
	}}
}

// resources answers a query: quota first (refused queries count too), then the request, the
// query and the page.
func (s *service) resources(tx arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
	if err := s.takeQuota(req); err != nil {
		return 0, nil, err
	}
	if v := first(req.Query["api-version"]); !slices.Contains(apiVersions, v) {
		return 0, nil, arm.Errorf(http.StatusBadRequest, "InvalidApiVersionParameter",
			"The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(apiVersions, ","))
	}
	in, err := readRequest(req.Body)
	if err != nil {
		return 0, nil, err
	}
	q, perr := parse(in.Query)
	if perr != nil {
		return 0, nil, invalidQuery(perr)
	}
	hash := queryHash(in.Query, in.Subscriptions)
	var tok skipToken
	if in.Options.SkipToken != "" {
		var terr error
		if tok, terr = decodeToken(in.Options.SkipToken, hash); terr != nil {
			return 0, nil, &arm.Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: terr.Error(),
				Details: []*arm.Error{{Code: "InvalidSkipToken", Message: "The $skipToken is not valid for this query."}}}
		}
	}
	rows, kept := s.results.get(tok.Result, s.opts.Now())
	if !kept {
		rows = q.run(s.table(tx, s.readable(in.Subscriptions, req.Tenant)))
	}
	return s.answer(in, q, rows, tok, hash)
}

// takeQuota counts the query against the caller's quota and sets the quota headers; it
// refuses the query with 429 when the quota is used up.
func (s *service) takeQuota(req *arm.RouteRequest) *arm.Error {
	caller := req.Principal.TenantID + "/" + req.Principal.ObjectID
	remaining, resets, ok := s.quota.take(caller, s.opts.Now())
	if req.Header != nil {
		req.Header.Set("x-ms-user-quota-remaining", itoa(remaining))
		req.Header.Set("x-ms-user-quota-resets-after", hhmmss(resets))
	}
	if ok {
		return nil
	}
	secs := int((resets + time.Second - 1) / time.Second)
	if req.Header != nil {
		req.Header.Set("Retry-After", itoa(max(secs, 1)))
	}
	return arm.Errorf(http.StatusTooManyRequests, "RateLimiting",
		"Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed (%s). Please see https://aka.ms/resourcegraph-throttling for help.", hhmmss(resets))
}

// readable returns the subscriptions of the request the caller may read: those of its tenant
// (any when the engine authenticates no one). No subscriptions means all the caller's
// subscriptions: so a request naming management groups only (the emulator has none; they
// stand for the tenant root group) reads them all.
func (s *service) readable(want []string, tenant string) []arm.Subscription {
	var out []arm.Subscription
	for _, sub := range s.subs.Subscriptions() {
		if tenant != "" && !strings.EqualFold(sub.TenantID, tenant) {
			continue
		}
		if len(want) == 0 || slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, sub.ID) }) {
			out = append(out, sub)
		}
	}
	return out
}

// table returns the rows of the Resources table in subs, as of the lag.
func (s *service) table(tx arm.Tx, subs []arm.Subscription) []row {
	tenants := map[string]string{}
	for _, sub := range subs {
		tenants[strings.ToLower(sub.ID)] = sub.TenantID
	}
	var rows []row
	for _, r := range arm.ResourcesAsOf(tx, s.opts.EffectiveLag()) {
		id := arm.ParseID(r.ID)
		tenant, ok := tenants[strings.ToLower(id.Subscription)]
		if ok && inTable(id) {
			rows = append(rows, rowOf(r, tenant))
		}
	}
	return rows
}
