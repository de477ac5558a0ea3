package arm

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Subscription is one subscription the emulated cloud offers, owned by one tenant.
type Subscription struct {
	ID          string `json:"id"`
	TenantID    string `json:"tenantId"`
	DisplayName string `json:"displayName"`
}

// Principal is the caller of an ARM request, as its access token names it.
type Principal struct {
	TenantID string
	// ObjectID identifies the caller (the service principal's client or object ID); it keys
	// the throttling buckets.
	ObjectID string
}

// EngineOptions configure an Engine.
type EngineOptions struct {
	Logger *slog.Logger
	// Seed makes fault injection, LRO outcomes, latency jitter and Tx.Seed deterministic.
	Seed uint64
	// Latency times long-running operations; nil completes them at once.
	Latency *LatencyModel
	// Throttle configures Azure's token buckets.
	Throttle ThrottleOptions
	// Faults are injected into matching requests.
	Faults []FaultRule
	// Locations offered to every subscription; nil means DefaultLocations.
	Locations []LocationInfo
	// Subscriptions that exist. A request for another one gets 404 SubscriptionNotFound.
	Subscriptions []Subscription
	// Authenticate checks a request's credentials; nil accepts every request as an anonymous
	// principal of any tenant.
	Authenticate func(r *http.Request) (Principal, *Error)
	// Host is the host:port used in URLs built outside a request (completed operations'
	// side effects); requests use their own Host.
	Host string
	// OnChange is called (outside the engine's lock) after each change of the stored state,
	// e.g. to schedule saving it.
	OnChange func()
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Engine is the ARM front door and resource store of the emulator. It is safe for concurrent
// use.
type Engine struct {
	log      *slog.Logger
	seed     uint64
	now      func() time.Time
	auth     func(r *http.Request) (Principal, *Error)
	onChange func()

	mu        sync.Mutex // the cloud's lock: store, operations, counters, buckets, faults
	types     map[string]*ResourceType
	namespace map[string]bool
	routes    []compiledRoute
	typeNames atomic.Pointer[[]string]
	locations []LocationInfo
	host      string
	latency   *LatencyModel
	throttle  *throttler
	faults    *faultSet
	counters  map[counterKey]int64
	st        *store
	hist      history // past versions, for ResourcesAsOf
	ops       map[string]*Operation
	reqSeq    uint64
	etagSeq   uint64

	timer   *time.Timer
	timerAt time.Time
	closed  bool

	subMu    sync.RWMutex // guards subs and subOrder; taken after mu, never before
	subs     map[string]Subscription
	subOrder []string
}

// NewEngine returns an engine with no resource types registered.
func NewEngine(opts EngineOptions) *Engine {
	e := &Engine{
		log:       opts.Logger,
		seed:      opts.Seed,
		now:       opts.Now,
		auth:      opts.Authenticate,
		onChange:  opts.OnChange,
		types:     map[string]*ResourceType{},
		namespace: map[string]bool{},
		subs:      map[string]Subscription{},
		locations: opts.Locations,
		host:      opts.Host,
		latency:   opts.Latency,
		counters:  map[counterKey]int64{},
		st:        newStore(),
		ops:       map[string]*Operation{},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.locations == nil {
		e.locations = DefaultLocations()
	}
	if e.latency == nil {
		e.latency = NewLatencyModel(LatencyZero, 1)
	}
	e.throttle = newThrottler(opts.Throttle)
	e.faults = newFaultSet(opts.Faults)
	for _, s := range opts.Subscriptions {
		e.addSubscriptionLocked(s)
	}
	return e
}

// Register adds resource types. Registering a type twice replaces it.
func (e *Engine) Register(types ...ResourceType) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range types {
		t := types[i]
		e.types[strings.ToLower(t.Type)] = &t
		ns, _, _ := strings.Cut(t.Type, "/")
		e.namespace[strings.ToLower(ns)] = true
	}
	names := make([]string, 0, len(e.types))
	for _, t := range e.types {
		names = append(names, t.Type)
	}
	slices.Sort(names)
	e.typeNames.Store(&names)
}

// ResourceTypes returns the full names of the registered types, sorted. It does not take the
// engine's lock, so hooks and routes may call it.
func (e *Engine) ResourceTypes() []string {
	if p := e.typeNames.Load(); p != nil {
		return append([]string(nil), (*p)...)
	}
	return nil
}

// AddRoutes adds extra ARM endpoints, matched before resource paths in the order added.
func (e *Engine) AddRoutes(routes ...Route) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range routes {
		e.routes = append(e.routes, compileRoute(r))
	}
}

// AddSubscription adds (or renames) a subscription. It does not take the engine's lock.
func (e *Engine) AddSubscription(s Subscription) {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	e.addSubscriptionLocked(s)
}

func (e *Engine) addSubscriptionLocked(s Subscription) {
	k := strings.ToLower(s.ID)
	if _, ok := e.subs[k]; !ok {
		e.subOrder = append(e.subOrder, k)
	}
	if s.DisplayName == "" {
		s.DisplayName = "Strata emulator subscription"
	}
	e.subs[k] = s
}

// Subscriptions returns the subscriptions in the order they were added. It does not take the
// engine's lock, so hooks and routes may call it.
func (e *Engine) Subscriptions() []Subscription {
	e.subMu.RLock()
	defer e.subMu.RUnlock()
	out := make([]Subscription, 0, len(e.subOrder))
	for _, k := range e.subOrder {
		out = append(out, e.subs[k])
	}
	return out
}

// subscription returns a subscription by ID (any casing).
func (e *Engine) subscription(id string) (Subscription, bool) {
	e.subMu.RLock()
	defer e.subMu.RUnlock()
	s, ok := e.subs[strings.ToLower(id)]
	return s, ok
}

// Locations returns the regions the engine offers. It does not take the engine's lock.
func (e *Engine) Locations() []LocationInfo {
	return append([]LocationInfo(nil), e.locations...)
}

// SetHost sets the host:port used in URLs built outside a request.
func (e *Engine) SetHost(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.host = host
}
