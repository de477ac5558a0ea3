// Package emulatortest starts an in-process strata Azure emulator for tests and gives
// clients of the official Azure SDK that talk to it over HTTPS.
package emulatortest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/kube"
)

// DefaultLocation is the region Env.ResourceGroup uses.
const DefaultLocation = "westeurope"

// Env is a running emulator and what a test needs to talk to it.
type Env struct {
	// URL is the emulator's base URL, https://127.0.0.1:PORT.
	URL      string
	Emulator *emulator.Emulator
	// The default service principal and subscription.
	TenantID, ClientID, ClientSecret, SubscriptionID string
	// Location is DefaultLocation.
	Location string
	// Cred is a real azidentity.ClientSecretCredential against the emulator.
	Cred azcore.TokenCredential
	// ClientOptions point the SDK at the emulator, trust its CA and retry quickly.
	ClientOptions *azarm.ClientOptions
	// HTTPClient trusts the emulator's CA.
	HTTPClient *http.Client
	// StateDir is the emulator's state directory.
	StateDir string
	// AdminToken is the bearer token of the admin endpoints, which Admin sends.
	AdminToken string

	opts emulator.Options
}

// Start starts an emulator on 127.0.0.1:0 with latency zero, generous throttling (100 times
// Azure's buckets), seed 1 and a temporary state directory; opts change those options. The
// emulator stops when the test ends.
func Start(t testing.TB, opts ...func(*emulator.Options)) *Env {
	t.Helper()
	o := emulator.Options{
		StateDir:      t.TempDir(),
		Listen:        "127.0.0.1:0",
		Latency:       "zero",
		Seed:          1,
		Throttling:    true,
		ThrottleScale: 100,
		SaveDelay:     20 * time.Millisecond,
		Logger:        slog.New(slog.DiscardHandler),
	}
	for _, f := range opts {
		f(&o)
	}
	e := &Env{opts: o, StateDir: o.StateDir, Location: DefaultLocation}
	e.start(t)
	return e
}

func (e *Env) start(t testing.TB) {
	t.Helper()
	var em *emulator.Emulator
	for try := 0; ; try++ {
		var err error
		if em, err = emulator.New(e.opts); err != nil {
			t.Fatalf("emulator: %v", err)
		}
		err = em.Start(context.Background())
		if err == nil {
			break
		}
		_ = em.Close()
		// A restart on the same port may find it still taken for a moment.
		if try >= 50 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("emulator: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		// Idle keep-alive connections would hold up the graceful shutdown.
		if e.HTTPClient != nil && e.Emulator == em {
			e.HTTPClient.CloseIdleConnections()
		}
		if err := em.Close(); err != nil {
			t.Errorf("closing the emulator: %v", err)
		}
	})
	sp := em.Principals()[0]
	e.Emulator, e.URL = em, em.URL()
	e.TenantID, e.ClientID, e.ClientSecret = sp.TenantID, sp.ClientID, sp.Secret
	e.SubscriptionID = em.Subscriptions()[0]
	e.AdminToken = em.AdminToken()
	e.HTTPClient = &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: em.CAPool(), MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true},
		Timeout:   60 * time.Second,
	}
	e.ClientOptions = e.NewClientOptions(policy.RetryOptions{MaxRetries: 6, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 2 * time.Second})
	cred, err := e.NewCredential(e.TenantID, e.ClientID, e.ClientSecret)
	if err != nil {
		t.Fatalf("credential: %v", err)
	}
	e.Cred = cred
}

// Cloud returns the azcore cloud configuration of the emulator.
func (e *Env) Cloud() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: e.URL + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: e.URL, Audience: "https://management.core.windows.net/"},
		},
	}
}

// NewClientOptions returns ARM client options with other retry settings
// (policy.RetryOptions{MaxRetries: -1} disables retries).
func (e *Env) NewClientOptions(retry policy.RetryOptions) *azarm.ClientOptions {
	return &azarm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: e.Cloud(), Transport: e.HTTPClient, Retry: retry}}
}

// NewCredential returns a ClientSecretCredential against the emulator.
func (e *Env) NewCredential(tenant, clientID, secret string) (*azidentity.ClientSecretCredential, error) {
	return azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: e.Cloud(), Transport: e.HTTPClient},
		DisableInstanceDiscovery: true,
	})
}

// ResourceGroup creates (or updates) a resource group in Env.Location through armresources
// and returns its ID.
func (e *Env) ResourceGroup(t testing.TB, name string) string {
	t.Helper()
	c, err := armresources.NewResourceGroupsClient(e.SubscriptionID, e.Cred, e.ClientOptions)
	if err != nil {
		t.Fatalf("resource groups client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rg, err := c.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to.Ptr(e.Location)}, nil)
	if err != nil {
		t.Fatalf("creating resource group %s: %v", name, err)
	}
	return *rg.ID
}

// Admin calls an admin endpoint (path under /_emulator/, e.g. "/_emulator/faults") with the
// admin token and in as the JSON body (nil for none), decodes the answer into out (when not
// nil) and returns the status.
func (e *Env) Admin(t testing.TB, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("admin %s %s: %v", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		t.Fatalf("admin %s %s: %v", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.AdminToken)
	resp, err := e.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("admin %s %s: %v", method, path, err)
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("admin %s %s: decoding %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// Counters returns the resource manager's request counters (GET /_emulator/counters).
func (e *Env) Counters(t testing.TB) []arm.Counter {
	t.Helper()
	var out struct{ Counters []arm.Counter }
	if code := e.Admin(t, http.MethodGet, "/_emulator/counters", nil, &out); code != http.StatusOK {
		t.Fatalf("emulator counters: HTTP %d", code)
	}
	return out.Counters
}

// Requests counts the resource manager's requests of a method and a resource type ("" for
// any; the type compared case-insensitively): ok those it answered with a 2xx, all of them.
func (e *Env) Requests(t testing.TB, method, typ string) (ok, all int64) {
	t.Helper()
	for _, c := range e.Counters(t) {
		if (method == "" || c.Method == method) && (typ == "" || strings.EqualFold(c.Type, typ)) {
			all += c.Count
			if c.Status >= 200 && c.Status < 300 {
				ok += c.Count
			}
		}
	}
	return ok, all
}

// OperationsInFlight counts the resources with a long-running operation under way.
func (e *Env) OperationsInFlight() int {
	n := 0
	for _, r := range e.Emulator.Engine().Snapshot().Resources {
		if r.Operation != "" {
			n++
		}
	}
	return n
}

// Restart closes the emulator and starts a new one on the same state directory and port;
// Env's fields then describe the new one.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.HTTPClient.CloseIdleConnections()
	if err := e.Emulator.Close(); err != nil {
		t.Fatalf("closing the emulator: %v", err)
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatalf("emulator URL: %v", err)
	}
	e.opts.Listen = u.Host
	e.start(t)
}

// ResponseError returns err as the SDK's *azcore.ResponseError, failing the test when it is
// anything else.
func ResponseError(t testing.TB, err error) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want an *azcore.ResponseError, got %v", err)
	}
	return re
}

// WantCode fails the test unless err is an Azure error with the error code, and returns it.
func WantCode(t testing.TB, err error, code string) *azcore.ResponseError {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got success", code)
	}
	re := ResponseError(t, err)
	if re.ErrorCode != code {
		t.Fatalf("want error code %s, got %s (%v)", code, re.ErrorCode, err)
	}
	return re
}

// Must returns a function that passes on a value and fails the test on an error, for calls
// such as Must[armcompute.VirtualMachinesClientGetResponse](t)(client.Get(...)).
func Must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// CloudAccount returns the strata CloudAccount of the emulator's default service principal
// (environment Custom, the emulator's endpoints and CA), decoded from the YAML that
// `strata emulator` prints, so tests use what users get.
func (e *Env) CloudAccount(t testing.TB, name string) *v1alpha1.CloudAccount {
	t.Helper()
	obj, errs := v1alpha1.DecodeObject([]byte(e.Emulator.CloudAccountYAML(name)))
	if errs != nil {
		t.Fatalf("the emulator's CloudAccount does not decode: %v", errs)
	}
	v1alpha1.Default(obj)
	return obj.(*v1alpha1.CloudAccount)
}

// Kubernetes is an option of Start that runs real Kubernetes inside the emulated clusters,
// from the binaries `make k8s` builds (the test fails when they are missing), with a node
// grace of 3 s and leases renewed every second so that tests see node changes quickly.
func Kubernetes(t testing.TB) func(*emulator.Options) {
	t.Helper()
	bin := kube.DefaultBinDir()
	if err := kube.CheckBinaries(bin); err != nil {
		t.Fatalf("emulatortest: real Kubernetes: %v", err)
	}
	return func(o *emulator.Options) {
		o.Kubernetes = emulator.KubernetesOptions{BinDir: bin, NodeGrace: 3 * time.Second, LeaseInterval: time.Second}
	}
}
