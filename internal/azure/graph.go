package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// GraphOptions configure the drift checks made from Azure Resource Graph: one paged query per
// subscription answers for every resource strata owns there, instead of a GET per resource.
type GraphOptions struct {
	// Off makes every drift check a GET of the resource.
	Off bool
	// MaxAge is how long one snapshot of the subscription serves the drift checks of all its
	// clusters (default DefaultGraphMaxAge; the controller sets its resync period), so that a
	// resync of every cluster costs one query per 1,000 resources.
	MaxAge time.Duration
	// Recent is how long after strata wrote a resource its row is not trusted (default
	// DefaultGraphRecent): Resource Graph shows a write seconds after it, so a resource written
	// less than Recent before a snapshot was taken, or since, is read directly.
	Recent time.Duration
}

// Defaults of GraphOptions.
const (
	DefaultGraphMaxAge = 5 * time.Minute
	DefaultGraphRecent = time.Minute
)

// graphPageSize is the most rows Resource Graph returns in one page.
const graphPageSize = 1000

// graphQuotaWait is the longest a snapshot waits for Resource Graph's quota to reset between
// two pages; past it the checks fall back to GETs.
const graphQuotaWait = 10 * time.Second

// graphLoadTimeout bounds a snapshot taken in the background (a pass's own is bounded by the
// pass).
const graphLoadTimeout = 5 * time.Minute

// graphQuery selects every resource that carries strata's owner tag, in a stable order for
// paging. Resources without it (adopted ones, or one whose tags were removed behind strata's
// back) are not in the answer, so they are read directly.
var graphQuery = fmt.Sprintf("Resources | where isnotempty(tags['%s']) | order by id asc", v1alpha1.TagOwner)

// graph is the Resource Graph of one subscription, as seen by one account: the last snapshot
// of the resources strata owns there, shared by every pass that checks one of them, and when
// strata last wrote each resource.
type graph struct {
	client   *armresourcegraph.Client
	sub      string
	opts     GraphOptions
	log      *slog.Logger
	now      func() time.Time
	pageSize int32

	mu      sync.Mutex
	snap    *graphSnapshot
	loading chan struct{} // closed when the query under way ends
	retryAt time.Time     // no query before it (refused, or quota used up)
	written map[string]time.Time
	writes  int // since the graph was made, to forget old writes now and then
	queries int64
}

// graphSnapshot is the answer of one query: rows by lower-cased resource ID.
type graphSnapshot struct {
	taken time.Time // when its first page was asked for
	rows  map[string]json.RawMessage
}

// newGraph returns the Resource Graph of a subscription, or nil when it is off.
func newGraph(client *armresourcegraph.Client, sub string, opts GraphOptions, log *slog.Logger) *graph {
	if opts.Off || client == nil || sub == "" {
		return nil
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultGraphMaxAge
	}
	if opts.Recent <= 0 {
		opts.Recent = DefaultGraphRecent
	}
	return &graph{client: client, sub: sub, opts: opts, log: log, now: time.Now, pageSize: graphPageSize, written: map[string]time.Time{}}
}

// wrote records that strata wrote a resource (created, updated or deleted it) now.
func (g *graph) wrote(id string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.written[strings.ToLower(id)] = now
	if g.writes++; g.writes%256 == 0 {
		g.forgetOld(now)
	}
}

// forgetOld drops the writes no snapshot can be older than.
func (g *graph) forgetOld(now time.Time) {
	for id, at := range g.written {
		if now.Sub(at) > g.opts.MaxAge+g.opts.Recent {
			delete(g.written, id)
		}
	}
}

// freshReadsKey marks a context whose reads must be GETs (see FreshReads).
type freshReadsKey struct{}

// FreshReads returns a context whose Apply calls read every live resource with a GET instead of
// from a Resource Graph snapshot: for a pass with something under way (provisioning, an
// upgrade, a repair, a drain, nodes not ready), which needs Azure's state now, not as of the
// last snapshot — a VM deleted by hand must be seen at the next pass.
func FreshReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshReadsKey{}, true)
}

// wantsFreshReads reports whether ctx came from FreshReads.
func wantsFreshReads(ctx context.Context) bool {
	v, _ := ctx.Value(freshReadsKey{}).(bool)
	return v
}

// row returns the resource's row in a current snapshot, taking one if none is, or nil when
// the resource must be read directly: Resource Graph is off or refused, the pass wants fresh
// reads, the snapshot does not hold it, or strata wrote it too recently for the snapshot to
// show it.
func (g *graph) row(ctx context.Context, id string) json.RawMessage {
	if g == nil || wantsFreshReads(ctx) {
		return nil
	}
	snap := g.current(ctx)
	if snap == nil {
		return nil
	}
	key := strings.ToLower(id)
	g.mu.Lock()
	at, wrote := g.written[key]
	g.mu.Unlock()
	if wrote && usesWrite(snap.taken, at, g.opts.Recent) {
		return nil
	}
	return snap.rows[key]
}

// usesWrite reports whether a snapshot taken at taken may not show a write made at wrote yet:
// Resource Graph shows a write within recent of it.
func usesWrite(taken, wrote time.Time, recent time.Duration) bool {
	return wrote.After(taken.Add(-recent))
}

// current returns a snapshot younger than MaxAge, taking a new one when there is none, or nil
// when Resource Graph cannot answer now. Passes that need one while it is being taken wait for
// it: one query serves them all. Once the snapshot is half its MaxAge old, the next one is
// taken in the background while the passes go on with it, so that they do not all stall on
// the query (30 pages at 30,000 resources) every resync period.
func (g *graph) current(ctx context.Context) *graphSnapshot {
	for {
		g.mu.Lock()
		now := g.now()
		if g.snap != nil && now.Sub(g.snap.taken) < g.opts.MaxAge {
			s := g.snap
			if now.Sub(s.taken) >= g.opts.MaxAge/2 && g.loading == nil && !now.Before(g.retryAt) {
				done := g.startLoad()
				go g.loadInBackground(context.WithoutCancel(ctx), done)
			}
			g.mu.Unlock()
			return s
		}
		if now.Before(g.retryAt) {
			g.mu.Unlock()
			return nil
		}
		if wait := g.loading; wait != nil {
			g.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		done := g.startLoad()
		g.mu.Unlock()
		return g.load(ctx, done)
	}
}

// startLoad marks a snapshot as being taken; g.mu is held.
func (g *graph) startLoad() chan struct{} {
	done := make(chan struct{})
	g.loading = done
	return done
}

// loadInBackground loads a snapshot for no pass in particular, within graphLoadTimeout.
func (g *graph) loadInBackground(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, graphLoadTimeout)
	defer cancel()
	g.load(ctx, done)
}

// load takes a snapshot, keeps it if it succeeded, and tells the passes waiting for it
// (done).
func (g *graph) load(ctx context.Context, done chan struct{}) *graphSnapshot {
	snap, retry := g.take(ctx)
	g.mu.Lock()
	if snap != nil {
		g.snap = snap
	}
	g.retryAt, g.loading = retry, nil
	g.mu.Unlock()
	close(done)
	return snap
}

// take queries every page of the subscription's resources strata owns. On failure it returns
// nil and when to try again: Resource Graph refused (not offered by the cloud, no access) is
// not asked again before MaxAge; a used-up quota, before it resets.
func (g *graph) take(ctx context.Context) (*graphSnapshot, time.Time) {
	snap := &graphSnapshot{taken: g.now(), rows: map[string]json.RawMessage{}}
	var skip *string
	for {
		page, quota, err := g.page(ctx, skip)
		if err != nil {
			if ctx.Err() != nil {
				return nil, time.Time{} // the pass ended, not Resource Graph: the next one asks again
			}
			g.log.WarnContext(ctx, "Resource Graph did not answer: checking resources with GETs", "error", err)
			return nil, g.now().Add(retryAfterRefusal(err, quota, g.opts.MaxAge))
		}
		if err := snap.add(page.Data); err != nil {
			g.log.WarnContext(ctx, "Resource Graph's answer is not understood: checking resources with GETs", "error", err)
			return nil, g.now().Add(g.opts.MaxAge)
		}
		if page.SkipToken == nil || *page.SkipToken == "" {
			g.log.DebugContext(ctx, "Resource Graph snapshot", "resources", len(snap.rows), "took", g.now().Sub(snap.taken))
			return snap, time.Time{}
		}
		skip = page.SkipToken
		if err := g.waitQuota(ctx, quota); err != nil {
			return nil, g.now().Add(quota.resetsAfter)
		}
	}
}

// retryAfterRefusal is how long Resource Graph is not asked again after err: until the quota
// resets after a 429, else (not offered by the cloud, no access, no answer) maxAge.
func retryAfterRefusal(err error, q graphQuota, maxAge time.Duration) time.Duration {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusTooManyRequests {
		return max(q.resetsAfter, time.Second)
	}
	return maxAge
}

// page asks for one page of the query, and reads the caller's quota off the answer.
func (g *graph) page(ctx context.Context, skip *string) (armresourcegraph.ClientResourcesResponse, graphQuota, error) {
	var raw *http.Response
	// A 429 is not waited for here: the checks fall back to GETs until the quota resets.
	ctx = policy.WithRetryOptions(policy.WithCaptureResponse(ctx, &raw), policy.RetryOptions{MaxRetries: 2, StatusCodes: []int{
		http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}})
	g.mu.Lock()
	g.queries++
	g.mu.Unlock()
	resp, err := g.client.Resources(ctx, armresourcegraph.QueryRequest{
		Query:         to.Ptr(graphQuery),
		Subscriptions: []*string{to.Ptr(g.sub)},
		Options: &armresourcegraph.QueryRequestOptions{
			ResultFormat: to.Ptr(armresourcegraph.ResultFormatObjectArray),
			Top:          to.Ptr(g.pageSize),
			SkipToken:    skip,
		},
	}, nil)
	q := quotaOf(raw)
	if err != nil {
		return resp, q, fmt.Errorf("azure: Resource Graph query of subscription %s: %w", g.sub, err)
	}
	return resp, q, nil
}

// graphQuota is what Resource Graph says is left of the caller's quota.
type graphQuota struct {
	known       bool
	remaining   int
	resetsAfter time.Duration
}

// quotaOf reads x-ms-user-quota-remaining and x-ms-user-quota-resets-after (hh:mm:ss).
func quotaOf(resp *http.Response) graphQuota {
	if resp == nil {
		return graphQuota{}
	}
	n, err := strconv.Atoi(resp.Header.Get("x-ms-user-quota-remaining"))
	if err != nil {
		return graphQuota{}
	}
	return graphQuota{known: true, remaining: n, resetsAfter: parseHMS(resp.Header.Get("x-ms-user-quota-resets-after"))}
}

// parseHMS parses hh:mm:ss; anything else is 0.
func parseHMS(s string) time.Duration {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0
	}
	var d time.Duration
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return 0
		}
		d += time.Duration(n) * unit
	}
	return d
}

// waitQuota waits, before the next page, for a used-up quota to reset, if it does soon.
func (g *graph) waitQuota(ctx context.Context, q graphQuota) error {
	if !q.known || q.remaining > 0 {
		return nil
	}
	if q.resetsAfter > graphQuotaWait {
		return fmt.Errorf("azure: Resource Graph quota resets in %s", q.resetsAfter)
	}
	t := time.NewTimer(q.resetsAfter)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// add keeps the rows of one objectArray page.
func (s *graphSnapshot) add(data any) error {
	rows, ok := data.([]any)
	if !ok {
		return fmt.Errorf("data is %T, want an array of rows", data)
	}
	for _, r := range rows {
		m, ok := r.(map[string]any)
		if !ok {
			return fmt.Errorf("a row is %T, want an object", r)
		}
		id, _ := m["id"].(string)
		if id == "" {
			return errors.New("a row has no id")
		}
		for cid, child := range inlineChildren(m) {
			if err := s.put(cid, child); err != nil {
				return err
			}
		}
		if err := s.put(id, asGET(m)); err != nil {
			return err
		}
	}
	return nil
}

// put keeps a row by its resource ID.
func (s *graphSnapshot) put(id string, row map[string]any) error {
	b, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("row %s: %w", id, err)
	}
	s.rows[strings.ToLower(id)] = b
	return nil
}

// inlineChildren returns the child resources a row carries whole, by ID, in the shape a GET
// of each returns: a virtual network's subnets (properties.subnets), which the Resources table
// does not hold as rows of their own.
func inlineChildren(row map[string]any) map[string]map[string]any {
	if t, _ := row["type"].(string); !strings.EqualFold(t, "microsoft.network/virtualnetworks") {
		return nil
	}
	props, _ := row["properties"].(map[string]any)
	subnets, _ := props["subnets"].([]any)
	out := map[string]map[string]any{}
	for _, sn := range subnets {
		m, _ := sn.(map[string]any)
		id, _ := m["id"].(string)
		if id == "" || m["properties"] == nil {
			continue
		}
		child := map[string]any{"id": id, "name": m["name"], "type": "Microsoft.Network/virtualNetworks/subnets", "properties": m["properties"]}
		if etag, ok := m["etag"]; ok {
			child["etag"] = etag
		}
		out[id] = child
	}
	return out
}

// asGET turns a Resources row into the shape a GET returns: Resource Graph's own columns go,
// and a VM's power state (properties.extended.instanceView.powerState) becomes the one status
// of its instance view, which is all the services read of it.
func asGET(row map[string]any) map[string]any {
	for _, col := range []string{"tenantId", "resourceGroup", "subscriptionId", "managedBy", "plan", "extendedLocation"} {
		delete(row, col)
	}
	props, _ := row["properties"].(map[string]any)
	if t, _ := row["type"].(string); !strings.EqualFold(t, "microsoft.compute/virtualmachines") || props == nil {
		return row
	}
	delete(props, "instanceView")
	ext, _ := props["extended"].(map[string]any)
	iv, _ := ext["instanceView"].(map[string]any)
	ps, _ := iv["powerState"].(map[string]any)
	if code, _ := ps["code"].(string); code != "" {
		props["instanceView"] = map[string]any{"statuses": []any{map[string]any{"code": code}}}
	}
	delete(props, "extended")
	return row
}

// graphQueries is how many Resource Graph requests the clients sent (for tests and benches).
func (g *graph) graphQueries() int64 {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.queries
}
