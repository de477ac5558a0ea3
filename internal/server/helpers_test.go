package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/postgres"
	"github.com/strata-dev/strata/internal/store/sqlite"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// sshKey is a valid 2048-bit RSA public key (the private half is not kept anywhere).
const sshKey = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCdlJjCe084qOjY4anLE/LbUJnGQJWJRvgxswlChrTrMN+QnMW/8GkQn6je7DkM0rPoc9cL827XcnYyHTSbqjwPFB1lLl6lLicUDMMPC1BSqgEQFqlcK0XRubSEDEcpZw/Gxpx/xoDAw4qUsFzR1qB3HTFbMjBiuk68fqslgU70iZ6nMpyRw48i7cmkLugrvHuKlnAfeIO2xm5DHuRE37brLyiPhIQJWGrJ/tb1sAzxVIU1aB0gIIhxVN05Bbr8wmucYWbkJ/2UbDFVyQbKB6jBO1vMiwLdnj42w3+gSUurQQHnU0TlUE0eom60EEohtq8RA9nT1TieFAoZYkBd4HaH strata-test"

// testSecret is the client secret of the test accounts.
const testSecret = "test-client-secret"

func gateway(name string) *v1alpha1.PrivateCloudGateway {
	o := v1alpha1.New(v1alpha1.KindPrivateCloudGateway).(*v1alpha1.PrivateCloudGateway)
	o.Metadata.Name = name
	o.Spec.Proxy = &v1alpha1.ProxySettings{
		HTTPProxy: "http://proxy.corp.example:3128",
		NoProxy:   []string{".svc", "10.0.0.0/8"},
	}
	o.Spec.Network = &v1alpha1.GatewayNetwork{ResourceGroup: "network-rg", VirtualNetwork: "corp-vnet"}
	return o
}

func account(name, gw, secret string) *v1alpha1.CloudAccount {
	o := v1alpha1.New(v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount)
	o.Metadata.Name = name
	o.Spec.Azure = v1alpha1.AzureCredentials{
		TenantID:     "72f988bf-86f1-41af-91ab-2d7cd011db47",
		ClientID:     "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		ClientSecret: v1alpha1.NewSecret(secret),
	}
	o.Spec.Gateway = gw
	return o
}

func profile(name, version string) *v1alpha1.ClusterProfile {
	o := v1alpha1.New(v1alpha1.KindClusterProfile).(*v1alpha1.ClusterProfile)
	o.Metadata.Name = name
	o.Spec = v1alpha1.ClusterProfileSpec{
		Version: version,
		Cloud:   v1alpha1.ProfileCloudAzure,
		Type:    v1alpha1.ProfileTypeInfra,
		Layers: []v1alpha1.Layer{
			{Name: "ubuntu", Type: v1alpha1.LayerOS, Version: "22.04"},
			{Name: "kubernetes", Type: v1alpha1.LayerKubernetes, Version: "1.30.4"},
			{Name: "calico", Type: v1alpha1.LayerNetwork, Version: "3.28.0"},
		},
	}
	return o
}

func cluster(name, acct string, profiles ...*v1alpha1.ClusterProfile) *v1alpha1.Cluster {
	o := v1alpha1.New(v1alpha1.KindCluster).(*v1alpha1.Cluster)
	o.Metadata.Name = name
	o.Spec.CloudAccount = acct
	for _, p := range profiles {
		o.Spec.Profiles = append(o.Spec.Profiles, v1alpha1.ProfileRef{Name: p.Metadata.Name, Version: p.Spec.Version})
	}
	o.Spec.Tags = []string{"department:finance"}
	o.Spec.Azure = v1alpha1.ClusterAzure{
		Type:           v1alpha1.ClusterTypeIaaS,
		SubscriptionID: "8f4b1c2d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
		ResourceGroup:  "strata-clusters",
		Location:       "westeurope",
		SSHPublicKey:   sshKey,
	}
	o.Spec.MachinePools = []v1alpha1.MachinePool{
		{Name: "control-plane", ControlPlane: true, Count: 1},
		{Name: "workers", Count: 2},
	}
	return o
}

// encode returns the JSON body of obj, its write-only secrets included (json.Marshal leaves
// them out).
func encode(t testing.TB, obj v1alpha1.Object) []byte {
	t.Helper()
	data, err := v1alpha1.MarshalWithSecret(obj)
	if err != nil {
		t.Fatalf("encode %s: %v", obj.Key(), err)
	}
	return data
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a Server on a fresh SQLite store, served over real HTTP.
type testServer struct {
	t     testing.TB
	srv   *Server
	store store.Store
	url   string
	logs  *syncBuffer
	// apiKey, when set, is sent with every request of do.
	apiKey string
	// stopFeed stops the server's change feed, as a shutdown does.
	stopFeed func()
	mu       sync.Mutex
	bodies   []string // every response body, for the secret test
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	return newTestServerOn(t, openSQLite(t))
}

// testSealer is the sealer of the test stores.
func testSealer(t testing.TB) *secrets.Sealer {
	t.Helper()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return sealer
}

// openSQLite opens a store in a fresh SQLite file, closed when the test ends.
func openSQLite(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "strata.db"), testSealer(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// testStores are the stores a test runs on: SQLite, and PostgreSQL in a schema of its own.
var testStores = []struct {
	name string
	open func(t testing.TB) store.Store
}{
	{"sqlite", openSQLite},
	{"postgres", func(t testing.TB) store.Store { return openPostgres(t, testSealer(t)) }},
}

// openPostgres opens a postgres store in a new schema, dropped when the test ends. Without
// PostgreSQL at $STRATA_TEST_POSTGRES the test is skipped, or fails under CI=true.
func openPostgres(t testing.TB, sealer *secrets.Sealer) store.Store {
	t.Helper()
	_, url := storetest.PostgresSchema(t)
	st, err := postgres.Open(context.Background(), url, sealer)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newTestServerOn serves st over real HTTP.
func newTestServerOn(t testing.TB, st store.Store) *testServer {
	t.Helper()
	return newTestServerWithFeed(t, st, feed.Config{})
}

// newTestServerWithFeed serves st over real HTTP, with a change feed of cfg (by default
// polling every 100 ms, logging to the server's log).
func newTestServerWithFeed(t testing.TB, st store.Store, cfg feed.Config) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Logger = logger
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	changes := feed.New(st, cfg)
	srv := New(Config{Store: st, Logger: logger, Feed: changes})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	// The feed stops first, which ends the watches that hs.Close would wait for.
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = srv.RunFeed(ctx)
	}()
	stopFeed := func() {
		stop()
		<-ran
	}
	t.Cleanup(stopFeed)
	return &testServer{t: t, srv: srv, store: st, url: hs.URL, logs: logs, stopFeed: stopFeed}
}

// response is what a request got back.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// status decodes an error response.
func (r *response) status(t testing.TB) Status {
	t.Helper()
	var st Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("decode Status from %q: %v", r.body, err)
	}
	return st
}

// object decodes an object response of kind leniently.
func (r *response) object(t testing.TB, kind string) v1alpha1.Object {
	t.Helper()
	obj := v1alpha1.New(kind)
	if err := json.Unmarshal(r.body, obj); err != nil {
		t.Fatalf("decode %s from %q: %v", kind, r.body, err)
	}
	return obj
}

// do sends a request to path (relative to the server) with an optional body and content type.
func (ts *testServer) do(method, path string, body []byte, contentType string) *response {
	ts.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// A request that never ends (a watch served where an error was expected) fails the test
	// instead of hanging it until the package's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if ts.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+ts.apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	ts.mu.Lock()
	ts.bodies = append(ts.bodies, string(data))
	ts.mu.Unlock()
	return &response{code: resp.StatusCode, header: resp.Header, body: data}
}

// objPath returns the API path of an object.
func objPath(obj v1alpha1.Object) string {
	return APIPath + "/" + v1alpha1.Plural(obj.GetTypeMeta().Kind) + "/" + obj.Key()
}

func kindPath(kind string) string { return APIPath + "/" + v1alpha1.Plural(kind) }

// create POSTs obj and fails the test unless it gets 201.
func (ts *testServer) create(obj v1alpha1.Object) v1alpha1.Object {
	ts.t.Helper()
	r := ts.do(http.MethodPost, kindPath(obj.GetTypeMeta().Kind), encode(ts.t, obj), "application/json")
	if r.code != http.StatusCreated {
		ts.t.Fatalf("create %s %s: got %d %s", obj.GetTypeMeta().Kind, obj.Key(), r.code, r.body)
	}
	return r.object(ts.t, obj.GetTypeMeta().Kind)
}

// apply PUTs obj and returns the response.
func (ts *testServer) apply(obj v1alpha1.Object, query string) *response {
	ts.t.Helper()
	return ts.do(http.MethodPut, objPath(obj)+query, encode(ts.t, obj), "application/json")
}

// get GETs an object and fails the test unless it gets wantCode.
func (ts *testServer) get(kind, key string, wantCode int) *response {
	ts.t.Helper()
	r := ts.do(http.MethodGet, kindPath(kind)+"/"+key, nil, "")
	if r.code != wantCode {
		ts.t.Fatalf("get %s %s: got %d %s, want %d", kind, key, r.code, r.body, wantCode)
	}
	return r
}

// seed creates a gateway "pcg", an account "account" using it and the profile "iaas@1.0.0".
func (ts *testServer) seed() (*v1alpha1.CloudAccount, *v1alpha1.ClusterProfile) {
	ts.t.Helper()
	ts.create(gateway("pcg"))
	acct := account("account", "pcg", testSecret)
	ts.create(acct)
	prof := profile("iaas", "1.0.0")
	ts.create(prof)
	return acct, prof
}

// events returns the event reasons of an object.
func (ts *testServer) events(kind, key string) []string {
	ts.t.Helper()
	r := ts.do(http.MethodGet, kindPath(kind)+"/"+key+"/events", nil, "")
	if r.code != http.StatusOK {
		ts.t.Fatalf("events of %s %s: got %d %s", kind, key, r.code, r.body)
	}
	var list struct {
		Items []struct {
			Reason  string `json:"reason"`
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		ts.t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Type != "Normal" {
			ts.t.Errorf("event %s of %s %s has type %q", e.Reason, kind, key, e.Type)
		}
		out = append(out, e.Reason)
	}
	return out
}

// hasError reports whether a Status lists an error at field with rule.
func hasError(st Status, field string, rule v1alpha1.Rule) bool {
	for _, e := range st.Errors {
		if e.Field == field && e.Rule == rule {
			return true
		}
	}
	return false
}

func mustContain(t testing.TB, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s %q does not contain %q", what, s, sub)
	}
}
