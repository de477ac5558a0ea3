package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
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
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

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
	if acct == nil {
		return nil, errors.New("azure: no cloud account")
	}
	if subscriptionID == "" {
		return nil, errors.New("azure: no subscription ID")
	}
	az := acct.Spec.Azure
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("cloudAccount", acct.Metadata.Name, "subscription", subscriptionID)
	c := &Clients{sub: subscriptionID, log: log, poll: opts.PollFrequency, counter: newCounter(),
		endpoints: map[string]string{}, keys: map[string]string{}, zones: map[string]zonesEntry{}}
	if c.poll <= 0 {
		c.poll = defaultPollPeriod
	}

	var cfg cloud.Configuration
	var caBundle string
	switch az.Environment {
	case "", v1alpha1.EnvironmentPublic:
		cfg, c.suffix = cloud.AzurePublic, "core.windows.net"
	case v1alpha1.EnvironmentUSGovernment:
		cfg, c.suffix = cloud.AzureGovernment, "core.usgovcloudapi.net"
	case v1alpha1.EnvironmentChina:
		cfg, c.suffix = cloud.AzureChina, "core.chinacloudapi.cn"
	case v1alpha1.EnvironmentCustom:
		ep := az.Endpoints
		if ep == nil || ep.ResourceManager == "" || ep.ActiveDirectory == "" {
			return nil, fmt.Errorf("azure: cloud account %s: environment Custom needs endpoints.resourceManager and endpoints.activeDirectory", acct.Metadata.Name)
		}
		authority := ep.ActiveDirectory
		if !strings.HasSuffix(authority, "/") {
			authority += "/"
		}
		cfg = cloud.Configuration{ActiveDirectoryAuthorityHost: authority,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: strings.TrimSuffix(ep.ResourceManager, "/"), Audience: "https://management.core.windows.net/"},
			}}
		c.custom, c.suffix, caBundle = true, ep.StorageSuffix, ep.CABundle
	default:
		return nil, fmt.Errorf("azure: cloud account %s: unknown environment %q", acct.Metadata.Name, az.Environment)
	}
	rm, err := url.Parse(cfg.Services[cloud.ResourceManager].Endpoint)
	if err != nil {
		return nil, fmt.Errorf("azure: resource manager endpoint: %w", err)
	}
	c.rmURL = rm

	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caBundle != "" && !roots.AppendCertsFromPEM([]byte(caBundle)) {
		return nil, fmt.Errorf("azure: cloud account %s: endpoints.caBundle holds no PEM certificate", acct.Metadata.Name)
	}
	transport := &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		},
		Timeout: 5 * time.Minute,
	}

	writes, reads := opts.Writes, opts.Reads
	if writes <= 0 {
		writes = defaultWrites
	}
	if reads <= 0 {
		reads = defaultReads
	}
	limitersMu.Lock()
	limKey := fmt.Sprintf("%s/%g/%g", strings.ToLower(subscriptionID), writes, reads)
	lim, ok := limiters[limKey]
	if !ok {
		lim = &limiter{writes: newBucket(writes, writeBurst), reads: newBucket(reads, readBurst)}
		limiters[limKey] = lim
	}
	limitersMu.Unlock()

	co := azcore.ClientOptions{
		Cloud:     cfg,
		Transport: transport,
		// One retry layer: the SDK's. Retry-After is honoured up to MaxRetryDelay, which is
		// long enough for ARM's 429s (a Retry-After over it would return the 429 at once).
		Retry: policy.RetryOptions{MaxRetries: 5, RetryDelay: 800 * time.Millisecond, MaxRetryDelay: 2 * time.Minute},
		PerCallPolicies: []policy.Policy{
			&countPolicy{c: c.counter},
			&limitPolicy{l: lim},
		},
	}
	cred, err := azidentity.NewClientSecretCredential(az.TenantID, az.ClientID, az.ClientSecret.Reveal(),
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cfg, Transport: transport},
			DisableInstanceDiscovery: c.custom,
		})
	if err != nil {
		return nil, fmt.Errorf("azure: cloud account %s: credential: %w", acct.Metadata.Name, err)
	}
	c.cred = cred
	c.armOpts = &arm.ClientOptions{ClientOptions: co}
	// The blob service is not Resource Manager: its requests count, but do not spend the
	// subscription's ARM budget (a storage account has its own, far larger, limits).
	bo := co
	bo.PerCallPolicies = []policy.Policy{&countPolicy{c: c.counter}}
	c.blobOpts = &blob.ClientOptions{ClientOptions: bo}

	if c.Network, err = armnetwork.NewClientFactory(subscriptionID, cred, c.armOpts); err != nil {
		return nil, fmt.Errorf("azure: network clients: %w", err)
	}
	if c.Compute, err = armcompute.NewClientFactory(subscriptionID, cred, c.armOpts); err != nil {
		return nil, fmt.Errorf("azure: compute clients: %w", err)
	}
	if c.Storage, err = armstorage.NewClientFactory(subscriptionID, cred, c.armOpts); err != nil {
		return nil, fmt.Errorf("azure: storage clients: %w", err)
	}
	if c.Resources, err = armresources.NewClientFactory(subscriptionID, cred, c.armOpts); err != nil {
		return nil, fmt.Errorf("azure: resource clients: %w", err)
	}
	if c.ContainerService, err = armcontainerservice.NewClientFactory(subscriptionID, cred, c.armOpts); err != nil {
		return nil, fmt.Errorf("azure: container service clients: %w", err)
	}
	return c, nil
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

// bucket is a token bucket: rate tokens a second, at most burst kept. inFlight counts the
// requests that took a token and have not been answered yet.
type bucket struct {
	mu       sync.Mutex
	rate     float64
	burst    float64
	tokens   float64
	last     time.Time
	inFlight int
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// done records the answer to a request that took a token, and returns how many are still
// waiting for theirs.
func (b *bucket) done() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight--
	return b.inFlight
}

// refill adds the tokens earned since the last change; b.mu is held.
func (b *bucket) refill() {
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// atMost lowers the tokens to n when there are more (a negative n makes the next callers wait
// until the bucket has refilled to zero).
func (b *bucket) atMost(n float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.tokens = min(b.tokens, n)
}

// take takes a token, waiting for one when the bucket is empty, and counts the request in
// flight until done.
func (b *bucket) take(ctx context.Context) error {
	b.mu.Lock()
	b.refill()
	b.tokens--
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	var err error
	if d > 0 {
		err = sleep(ctx, d)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.tokens++ // give back the token never used
		return err
	}
	b.inFlight++
	return nil
}
