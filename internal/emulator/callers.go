package emulator

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// The kinds of request the caller counters tell apart.
const (
	// CallerARM is a Resource Manager request (/subscriptions/..., /providers/...).
	CallerARM = "arm"
	// CallerToken is an Entra ID request: a token, or the metadata and keys of a tenant.
	CallerToken = "token"
	// CallerBlob is a blob data-plane request (/{account}/...).
	CallerBlob = "blob"
)

// maxProduct bounds the length of a product kept in the caller counters.
const maxProduct = 128

// CallerCount is the number of requests of one kind that one caller's product sent to one
// scope: the subscription (ARM; "" for requests outside a subscription), the tenant (Entra
// ID) or the storage account (blob).
type CallerCount struct {
	Product string `json:"product"`
	Kind    string `json:"kind"`
	Scope   string `json:"scope"`
	Count   int64  `json:"count"`
}

// callerKey keys the caller counters.
type callerKey struct{ product, kind, scope string }

// callerCounters counts requests by caller product, kind and scope.
type callerCounters struct {
	mu sync.Mutex
	m  map[callerKey]int64
}

// ProductOf returns the product of a User-Agent: its first token, e.g.
// "strata-gateway/corp-gateway" of "strata-gateway/corp-gateway azsdk-go-armnetwork/v11.0.0
// (go1.25; linux)"; "" without one.
func ProductOf(userAgent string) string {
	f := strings.Fields(userAgent)
	if len(f) == 0 {
		return ""
	}
	p := f[0]
	if len(p) > maxProduct {
		p = p[:maxProduct]
	}
	return p
}

// add counts one request.
func (c *callerCounters) add(r *http.Request, kind, scope string) {
	k := callerKey{ProductOf(r.Header.Get("User-Agent")), kind, strings.ToLower(scope)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[callerKey]int64{}
	}
	c.m[k]++
}

// list returns the counters sorted by kind, scope and product.
func (c *callerCounters) list() []CallerCount {
	c.mu.Lock()
	out := make([]CallerCount, 0, len(c.m))
	for k, n := range c.m {
		out = append(out, CallerCount{Product: k.product, Kind: k.kind, Scope: k.scope, Count: n})
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b CallerCount) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Scope, b.Scope), strings.Compare(a.Product, b.Product))
	})
	return out
}

// reset forgets every counter.
func (c *callerCounters) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// Callers returns the number of Resource Manager, Entra ID and blob requests by the
// product of their User-Agent (ProductOf), kind (CallerARM, CallerToken, CallerBlob) and
// scope (subscription, tenant or storage account, lower-cased), sorted by kind, scope and
// product. Admin requests are not counted; POST /_emulator/reset forgets them.
func (em *Emulator) Callers() []CallerCount { return em.callers.list() }

// MatchesProduct reports whether a caller's product is want: the same, or want followed by
// "/" and more ("strata-gateway" matches "strata-gateway/corp-gateway").
func MatchesProduct(product, want string) bool {
	return product == want || strings.HasPrefix(product, want+"/")
}
