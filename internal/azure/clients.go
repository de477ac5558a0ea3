package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resourcegraph/armresourcegraph"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"golang.org/x/sync/singleflight"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Options tunes the clients of one subscription.
type Options struct {
	// Logger receives the services' log lines; nil discards them.
	Logger *slog.Logger
	// Writes and Reads are the per-second rates of the subscription's token buckets (writes
	// burst 150, reads burst 200). Zero means the defaults, below Azure's: 8 writes/s and
	// 20 reads/s.
	Writes, Reads float64
	// PollFrequency is how often long-running operations are polled when Azure gives no
	// Retry-After (default 2 s), and the longest wait
	// between two polls of a blob copy.
	PollFrequency time.Duration
	// Timeouts bound every request to Azure (Entra ID, Resource Manager, Blob); zero fields
	// take DefaultTimeouts'.
	Timeouts Timeouts
	// UserAgent, when set, is put before the SDK's User-Agent on every request (Entra ID,
	// Resource Manager, Blob): a private cloud gateway names itself with it.
	UserAgent string
	// Proxy, when set, chooses the proxy of each request instead of the environment's
	// HTTPS_PROXY and NO_PROXY (a gateway's spec.proxy).
	Proxy func(*http.Request) (*url.URL, error)
	// ProxyCA is the PEM CA of a TLS-inspecting proxy, trusted beside the system roots and the
	// account's CA bundle.
	ProxyCA string
	// SourceAddress, when set, is the local IP address requests leave from (a host with
	// several addresses, where only one is let through to Azure or to private endpoints).
	SourceAddress net.IP
	// ResourceGraph configures the drift checks made from Azure Resource Graph (on by
	// default; see GraphOptions).
	ResourceGraph GraphOptions
	// ListMaxAge is how long one list of a resource group tells which of its resources do not
	// exist yet, so that they are created without a GET first (default DefaultListMaxAge).
	ListMaxAge time.Duration
}

// Timeouts bound the stages of one HTTP request (one try: the SDK retries a failed one with
// backoff, 5 times at most).
type Timeouts struct {
	// Dial bounds opening the TCP connection.
	Dial time.Duration
	// TLSHandshake bounds the TLS handshake: a peer that accepts connections and never
	// answers is given up after it.
	TLSHandshake time.Duration
	// ResponseHeader bounds the wait for the response's headers once the request is sent.
	ResponseHeader time.Duration
	// Request bounds the whole request, the body read included.
	Request time.Duration
}

// DefaultTimeouts are the timeouts of requests to Azure: Resource Manager answers a request
// within seconds (long-running work is an operation that is polled), so a minute without
// headers means it will not answer.
var DefaultTimeouts = Timeouts{Dial: 10 * time.Second, TLSHandshake: 10 * time.Second, ResponseHeader: time.Minute, Request: 5 * time.Minute}

// withDefaults fills the zero fields from DefaultTimeouts.
func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts
	if t.Dial > 0 {
		d.Dial = t.Dial
	}
	if t.TLSHandshake > 0 {
		d.TLSHandshake = t.TLSHandshake
	}
	if t.ResponseHeader > 0 {
		d.ResponseHeader = t.ResponseHeader
	}
	if t.Request > 0 {
		d.Request = t.Request
	}
	return d
}

// newHTTPClient is the HTTP client of one account's clients: TLS trusting roots, the proxy of
// the environment, every stage of a request bounded by timeouts.
func newHTTPClient(roots *x509.CertPool, opts Options) *http.Client {
	t := opts.Timeouts.withDefaults()
	dialer := &net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}
	if opts.SourceAddress != nil {
		dialer.LocalAddr = &net.TCPAddr{IP: opts.SourceAddress}
	}
	proxy := opts.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	var rt http.RoundTripper = &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   t.TLSHandshake,
		ResponseHeaderTimeout: t.ResponseHeader,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
	}
	if opts.UserAgent != "" {
		rt = userAgentTransport{prefix: opts.UserAgent, next: rt}
	}
	return &http.Client{Transport: rt, Timeout: t.Request}
}

// userAgentTransport puts prefix before each request's User-Agent.
type userAgentTransport struct {
	prefix string
	next   http.RoundTripper
}

// RoundTrip sends a copy of req whose User-Agent starts with the prefix.
func (u userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	ua := u.prefix
	if prev := req.Header.Get("User-Agent"); prev != "" {
		ua += " " + prev
	}
	r.Header.Set("User-Agent", ua)
	return u.next.RoundTrip(r)
}

// Default rates, below Azure's per-principal buckets (writes 10/s burst 200, reads 25/s
// burst 250).
const (
	defaultWrites     = 8
	defaultReads      = 20
	writeBurst        = 150
	readBurst         = 200
	defaultPollPeriod = 2 * time.Second
)

// Clients are the Azure SDK clients of one subscription of one CloudAccount: one credential,
// one HTTP transport trusting the account's CA bundle, SDK retries honouring Retry-After, a
// per-subscription rate limiter and request counters.
type Clients struct {
	sub      string
	cred     azcore.TokenCredential
	armOpts  *arm.ClientOptions
	blobOpts *blob.ClientOptions
	log      *slog.Logger
	poll     time.Duration
	custom   bool
	rmURL    *url.URL
	suffix   string
	counter  *counter
	// durations are the recent durations of long-running operations, for their polls.
	durations opDurations

	// network, compute, storage, resources and container service (AKS) client factories.
	Network          *armnetwork.ClientFactory
	Compute          *armcompute.ClientFactory
	Storage          *armstorage.ClientFactory
	Resources        *armresources.ClientFactory
	ContainerService *armcontainerservice.ClientFactory

	// graph answers drift checks from Resource Graph snapshots of the subscription (nil when
	// off: every check is a GET).
	graph *graph
	// lists tell which resources of a resource group do not exist yet (nil for a tenant's
	// clients).
	lists *groupLists

	// lookups lets concurrent misses of a cache share one read.
	lookups singleflight.Group

	mu        sync.Mutex
	endpoints map[string]string     // storage account → primary blob endpoint
	keys      map[string]string     // storage account → key1
	zones     map[string]zonesEntry // location → zones by VM size
}

// limiters are the token buckets by subscription (and rates), shared by every Clients of the
// process, so that all the reconcilers of one subscription share its budget.
var (
	limitersMu sync.Mutex
	limiters   = map[string]*limiter{}
)

// NewClients builds the clients of a subscription from a CloudAccount: a
// ClientSecretCredential against the account's cloud (AzurePublicCloud by default; Custom
// from spec.azure.endpoints, with instance discovery disabled), TLS trusting the system roots
// plus endpoints.caBundle. Nothing is sent until a client is used (ctx is for future
// look-ups at construction).
func NewClients(ctx context.Context, acct *v1alpha1.CloudAccount, subscriptionID string, opts Options) (*Clients, error) {
	if subscriptionID == "" {
		return nil, errors.New("azure: no subscription ID")
	}
	return buildClients(acct, subscriptionID, subscriptionID, opts)
}

// NewTenantClients builds the clients of an account outside any subscription, as NewClients
// does, for the requests made at the tenant's level: Subscriptions. Their requests share a
// rate limiter of the account's tenant, not one of a subscription's. The SDK's
// subscription-scoped clients (Network, Compute...) of a tenant Clients refuse every request
// before sending it, as do Locations and the other lookups.
func NewTenantClients(ctx context.Context, acct *v1alpha1.CloudAccount, opts Options) (*Clients, error) {
	if acct == nil {
		return nil, errors.New("azure: no cloud account")
	}
	return buildClients(acct, "", "tenant/"+acct.Spec.Azure.TenantID, opts)
}

// buildClients builds the clients of a subscription ("" for a tenant's), whose ARM requests
// are paced by the limiter of limiterKey.
func buildClients(acct *v1alpha1.CloudAccount, subscriptionID, limiterKey string, opts Options) (*Clients, error) {
	ss, err := newSession(acct, opts)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("cloudAccount", acct.Metadata.Name, "subscription", subscriptionID)
	c := &Clients{sub: subscriptionID, log: log, poll: opts.PollFrequency, counter: newCounter(),
		endpoints: map[string]string{}, keys: map[string]string{}, zones: map[string]zonesEntry{},
		cred: ss.cred, custom: ss.custom, suffix: ss.suffix, rmURL: ss.rmURL}
	if c.poll <= 0 {
		c.poll = defaultPollPeriod
	}
	co := azcore.ClientOptions{
		Cloud:     ss.cloud,
		Transport: ss.http,
		// One retry layer: the SDK's. Retry-After is honoured up to MaxRetryDelay, which is
		// long enough for ARM's 429s (a Retry-After over it would return the 429 at once).
		Retry: retryOptions,
		PerCallPolicies: []policy.Policy{
			&countPolicy{c: c.counter},
			&limitPolicy{l: subscriptionLimiter(limiterKey, opts)},
		},
	}
	c.armOpts = &arm.ClientOptions{ClientOptions: co}
	// The blob service is not Resource Manager: its requests count, but do not spend the
	// subscription's ARM budget (a storage account has its own, far larger, limits).
	bo := co
	bo.PerCallPolicies = []policy.Policy{&countPolicy{c: c.counter}}
	c.blobOpts = &blob.ClientOptions{ClientOptions: bo}
	if err := c.newFactories(subscriptionID); err != nil {
		return nil, err
	}
	if subscriptionID != "" {
		c.lists = newGroupLists(c.Resources.NewClient(), opts.ListMaxAge, log)
	}
	if subscriptionID != "" && !opts.ResourceGraph.Off {
		rg, err := armresourcegraph.NewClient(c.cred, c.armOpts)
		if err != nil {
			return nil, fmt.Errorf("azure: resource graph client: %w", err)
		}
		c.graph = newGraph(rg, subscriptionID, opts.ResourceGraph, log)
	}
	return c, nil
}

// ResourceGraphQueries is how many Resource Graph requests these clients sent.
func (c *Clients) ResourceGraphQueries() int64 { return c.graph.graphQueries() }

// retryOptions are the SDK's retries of every ARM and Blob request.
var retryOptions = policy.RetryOptions{MaxRetries: 5, RetryDelay: 800 * time.Millisecond, MaxRetryDelay: 2 * time.Minute}

// newFactories makes the SDK's client factories of a subscription.
func (c *Clients) newFactories(subscriptionID string) error {
	var err error
	if c.Network, err = armnetwork.NewClientFactory(subscriptionID, c.cred, c.armOpts); err != nil {
		return fmt.Errorf("azure: network clients: %w", err)
	}
	if c.Compute, err = armcompute.NewClientFactory(subscriptionID, c.cred, c.armOpts); err != nil {
		return fmt.Errorf("azure: compute clients: %w", err)
	}
	if c.Storage, err = armstorage.NewClientFactory(subscriptionID, c.cred, c.armOpts); err != nil {
		return fmt.Errorf("azure: storage clients: %w", err)
	}
	if c.Resources, err = armresources.NewClientFactory(subscriptionID, c.cred, c.armOpts); err != nil {
		return fmt.Errorf("azure: resource clients: %w", err)
	}
	if c.ContainerService, err = armcontainerservice.NewClientFactory(subscriptionID, c.cred, c.armOpts); err != nil {
		return fmt.Errorf("azure: container service clients: %w", err)
	}
	return nil
}

// subscriptionLimiter returns the token buckets of a subscription at opts' rates, shared by
// every Clients of the process; subscriptionID is "tenant/{tenant ID}" for the buckets of a
// tenant's requests (a subscription ID is a GUID: the two never meet).
func subscriptionLimiter(subscriptionID string, opts Options) *limiter {
	writes, reads := opts.Writes, opts.Reads
	if writes <= 0 {
		writes = defaultWrites
	}
	if reads <= 0 {
		reads = defaultReads
	}
	limitersMu.Lock()
	defer limitersMu.Unlock()
	limKey := fmt.Sprintf("%s/%g/%g", strings.ToLower(subscriptionID), writes, reads)
	lim, ok := limiters[limKey]
	if !ok {
		lim = &limiter{writes: newBucket(writes, writeBurst), reads: newBucket(reads, readBurst)}
		limiters[limKey] = lim
	}
	return lim
}

// session is what every request of one account shares: its cloud, the HTTP client trusting
// the cloud's CA, and the service principal's credential.
type session struct {
	cloud  cloud.Configuration
	http   *http.Client
	cred   azcore.TokenCredential
	custom bool
	suffix string // storage suffix
	rmURL  *url.URL
}

// newSession builds an account's session. It sends nothing.
func newSession(acct *v1alpha1.CloudAccount, opts Options) (*session, error) {
	if acct == nil {
		return nil, errors.New("azure: no cloud account")
	}
	az := acct.Spec.Azure
	ss, caBundle, err := accountCloud(acct)
	if err != nil {
		return nil, err
	}
	rm, err := url.Parse(ss.cloud.Services[cloud.ResourceManager].Endpoint)
	if err != nil {
		return nil, fmt.Errorf("azure: resource manager endpoint: %w", err)
	}
	ss.rmURL = rm
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caBundle != "" && !roots.AppendCertsFromPEM([]byte(caBundle)) {
		return nil, fmt.Errorf("azure: cloud account %s: endpoints.caBundle holds no PEM certificate", acct.Metadata.Name)
	}
	if opts.ProxyCA != "" && !roots.AppendCertsFromPEM([]byte(opts.ProxyCA)) {
		return nil, errors.New("azure: the proxy's CA certificate holds no PEM certificate")
	}
	ss.http = newHTTPClient(roots, opts)
	cred, err := azidentity.NewClientSecretCredential(az.TenantID, az.ClientID, az.ClientSecret.Reveal(),
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: ss.cloud, Transport: ss.http},
			DisableInstanceDiscovery: ss.custom,
		})
	if err != nil {
		return nil, fmt.Errorf("azure: cloud account %s: credential: %w", acct.Metadata.Name, err)
	}
	ss.cred = cred
	return ss, nil
}

// accountCloud is the cloud of an account's environment, and the CA bundle it trusts.
func accountCloud(acct *v1alpha1.CloudAccount) (*session, string, error) {
	az := acct.Spec.Azure
	switch az.Environment {
	case "", v1alpha1.EnvironmentPublic:
		return &session{cloud: cloud.AzurePublic, suffix: "core.windows.net"}, "", nil
	case v1alpha1.EnvironmentUSGovernment:
		return &session{cloud: cloud.AzureGovernment, suffix: "core.usgovcloudapi.net"}, "", nil
	case v1alpha1.EnvironmentChina:
		return &session{cloud: cloud.AzureChina, suffix: "core.chinacloudapi.cn"}, "", nil
	case v1alpha1.EnvironmentCustom:
		ep := az.Endpoints
		if ep == nil || ep.ResourceManager == "" || ep.ActiveDirectory == "" {
			return nil, "", fmt.Errorf("azure: cloud account %s: environment Custom needs endpoints.resourceManager and endpoints.activeDirectory", acct.Metadata.Name)
		}
		authority := ep.ActiveDirectory
		if !strings.HasSuffix(authority, "/") {
			authority += "/"
		}
		cfg := cloud.Configuration{ActiveDirectoryAuthorityHost: authority,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: strings.TrimSuffix(ep.ResourceManager, "/"), Audience: "https://management.core.windows.net/"},
			}}
		return &session{cloud: cfg, custom: true, suffix: ep.StorageSuffix}, ep.CABundle, nil
	}
	return nil, "", fmt.Errorf("azure: cloud account %s: unknown environment %q", acct.Metadata.Name, az.Environment)
}

// Credential is the account's token credential.
func (c *Clients) Credential() azcore.TokenCredential { return c.cred }

// ARMClientOptions are the options every ARM client of c uses (cloud, transport, retries,
// limiter and counters); callers may build other SDK clients with them.
func (c *Clients) ARMClientOptions() *arm.ClientOptions { return c.armOpts }

// Requests returns how many requests were sent through c (once per call, not per SDK retry),
// keyed "METHOD type": "PUT Microsoft.Network/virtualNetworks",
// "GET Microsoft.Network/locations/operations" (LRO polls),
// "POST Microsoft.Storage/storageAccounts/listKeys" (actions), "PUT blob" (blob data plane).
func (c *Clients) Requests() map[string]int { return c.counter.snapshot() }

// Writes counts the PUT, PATCH and DELETE requests sent through c (POST actions such as
// listKeys are left out: they change nothing).
func (c *Clients) Writes() int {
	n := 0
	for k, v := range c.Requests() {
		if m, _, _ := strings.Cut(k, " "); m == http.MethodPut || m == http.MethodPatch || m == http.MethodDelete {
			n += v
		}
	}
	return n
}

// BlobEndpoint returns the blob endpoint of a storage account, ending with "/": the account's
// primaryEndpoints.blob once c has read the account; before, for a Custom cloud, the
// path-style https://{resourceManager host}/{account}/ that the strata emulator (and Azurite)
// serve; otherwise https://{account}.blob.{storageSuffix}/.
func (c *Clients) BlobEndpoint(account string) string {
	c.mu.Lock()
	ep, ok := c.endpoints[strings.ToLower(account)]
	c.mu.Unlock()
	if ok {
		return ep
	}
	if c.custom {
		return "https://" + c.rmURL.Host + "/" + url.PathEscape(account) + "/"
	}
	return "https://" + account + ".blob." + c.suffix + "/"
}

func (c *Clients) rememberEndpoint(account string, acct *armstorage.Account) {
	if acct == nil || acct.Properties == nil || acct.Properties.PrimaryEndpoints == nil || acct.Properties.PrimaryEndpoints.Blob == nil {
		return
	}
	ep := *acct.Properties.PrimaryEndpoints.Blob
	if !strings.HasSuffix(ep, "/") {
		ep += "/"
	}
	c.mu.Lock()
	c.endpoints[strings.ToLower(account)] = ep
	c.mu.Unlock()
}

// counter counts requests by method and resource type.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func newCounter() *counter { return &counter{n: map[string]int{}} }

func (k *counter) add(key string) {
	k.mu.Lock()
	k.n[key]++
	k.mu.Unlock()
}

func (k *counter) snapshot() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := make(map[string]int, len(k.n))
	for key, v := range k.n {
		m[key] = v
	}
	return m
}

type countPolicy struct{ c *counter }

func (p *countPolicy) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	p.c.add(r.Method + " " + resourceType(r.URL.Path))
	return req.Next()
}

// resourceType names the ARM resource type of a request path:
// /subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s
// → Microsoft.Network/virtualNetworks/subnets; an action adds its name; a path that is not ARM
// is "blob".
func resourceType(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) == 0 || !strings.EqualFold(segs[0], "subscriptions") {
		return "blob"
	}
	last := -1
	for i, s := range segs {
		if strings.EqualFold(s, "providers") {
			last = i
		}
	}
	if last < 0 || last+1 >= len(segs) {
		switch {
		case len(segs) == 5 && strings.EqualFold(segs[2], "resourcegroups") && strings.EqualFold(segs[4], "resources"):
			return "Microsoft.Resources/resources" // a group's list of its resources
		case len(segs) >= 3 && strings.EqualFold(segs[2], "resourcegroups"):
			return "Microsoft.Resources/resourceGroups"
		case len(segs) >= 3:
			return "Microsoft.Resources/" + segs[2]
		}
		return "Microsoft.Resources/subscriptions"
	}
	rest := segs[last+1:]
	parts := []string{rest[0]}
	for i := 1; i < len(rest); i += 2 {
		parts = append(parts, rest[i])
	}
	return strings.Join(parts, "/")
}

// limiter holds a subscription's read and write buckets.
type limiter struct{ writes, reads *bucket }

// limitPolicy paces a subscription's ARM requests with its buckets, and keeps each bucket no
// fuller than what Azure says is left of its own: servers, or other tools, that share the
// principal spend Azure's budget too, and requests bunched on their way (a new connection, a
// token fetch) can reach Azure faster than they left.
type limitPolicy struct{ l *limiter }

func (p *limitPolicy) Do(req *policy.Request) (*http.Response, error) {
	if isGraphQuery(req.Raw()) {
		// Resource Graph has its own quota, which the snapshot follows (see graph).
		return req.Next()
	}
	b, class := p.l.reads, "reads"
	switch req.Raw().Method {
	case http.MethodDelete:
		b, class = p.l.writes, "deletes"
	case http.MethodPut, http.MethodPatch, http.MethodPost:
		b, class = p.l.writes, "writes"
	}
	if err := b.take(req.Raw().Context()); err != nil {
		return nil, err
	}
	resp, err := req.Next()
	inFlight := b.done()
	if resp != nil {
		if n, err := strconv.Atoi(resp.Header.Get("x-ms-ratelimit-remaining-subscription-" + class)); err == nil {
			// The requests still on their way will spend Azure's tokens too.
			b.atMost(float64(n - inFlight))
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			// Azure processes nothing of this class before Retry-After is up.
			b.atMost(-retryAfter(resp).Seconds() * b.rate)
		}
	}
	return resp, err
}

// isGraphQuery reports whether a request is a Resource Graph query: a tenant-level POST that
// reads, paced by Resource Graph's own quota rather than the subscription's buckets.
func isGraphQuery(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.EqualFold(strings.TrimSuffix(r.URL.Path, "/"), "/providers/Microsoft.ResourceGraph/resources")
}
