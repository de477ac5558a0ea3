package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/store"
)

// The matrix's tag sets: for each principal's filter, objects that match it, that do not, and
// that lack the keys it tests.
var matrixTagSets = []struct {
	name string
	tags map[string]string
}{
	{"finprod", map[string]string{"department": "finance", "env": "prod"}},
	{"hrprod", map[string]string{"department": "hr", "env": "prod"}},
	{"prod", map[string]string{"env": "prod"}},
	{"findev", map[string]string{"department": "finance", "env": "dev"}},
	{"none", nil},
}

// matrixKinds are the kinds of the matrix, each with a constructor of an object named name
// with the tags (a cluster's spec.tags, another kind's labels).
var matrixKinds = []struct {
	kind string
	make func(name string, tags map[string]string) v1alpha1.Object
}{
	{v1alpha1.KindCluster, func(name string, tags map[string]string) v1alpha1.Object {
		c := cluster(name, "acct-finprod", profile("prof-finprod", "1.0.0"))
		c.Spec.Tags = nil
		for _, k := range slices.Sorted(mapsKeys(tags)) {
			c.Spec.Tags = append(c.Spec.Tags, k+":"+tags[k])
		}
		return c
	}},
	// Accounts are bound to a gateway: their lookups (use) are refused past authorization at
	// once (409 GatewayBound, this server having no agent endpoint), without reaching Azure.
	{v1alpha1.KindCloudAccount, func(name string, tags map[string]string) v1alpha1.Object {
		return labelled(account(name, "gw-finprod", testSecret), tags)
	}},
	{v1alpha1.KindClusterProfile, func(name string, tags map[string]string) v1alpha1.Object {
		return labelled(profile(name, "1.0.0"), tags)
	}},
	{v1alpha1.KindPrivateCloudGateway, func(name string, tags map[string]string) v1alpha1.Object {
		return labelled(gateway(name), tags)
	}},
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func labelled(obj v1alpha1.Object, tags map[string]string) v1alpha1.Object {
	if len(tags) > 0 {
		obj.GetMetadata().Labels = map[string]string{}
		for k, v := range tags {
			obj.GetMetadata().Labels[k] = v
		}
	}
	return obj
}

// prefixes name the matrix's objects by kind.
var prefixes = map[string]string{v1alpha1.KindCluster: "cl", v1alpha1.KindCloudAccount: "acct",
	v1alpha1.KindClusterProfile: "prof", v1alpha1.KindPrivateCloudGateway: "gw"}

// matrixName is the name of the matrix's object of kind with tag set set.
func matrixName(kind, set string) string { return prefixes[kind] + "-" + set }

// grant is what the matrix expects a principal to be allowed: the verbs of each kind, on the
// objects of the tag sets listed.
type grant struct {
	verbs map[string][]string
	sets  []string
}

var everySet = []string{"finprod", "hrprod", "prod", "findev", "none"}

// matrixPrincipals are issue 14's four principals and what each may do, written out by hand
// (not computed with package authz: the test checks the server against the semantics).
var matrixPrincipals = []struct {
	name  string
	grant grant
}{
	{"alice", grant{verbs: map[string][]string{
		v1alpha1.KindCluster:             {"get", "list", "create", "update", "delete", "kubeconfig"},
		v1alpha1.KindCloudAccount:        {"get", "list", "create", "update", "delete", "use"},
		v1alpha1.KindClusterProfile:      {"get", "list", "create", "update", "delete"},
		v1alpha1.KindPrivateCloudGateway: {"get", "list", "create", "update", "delete", "token"},
	}, sets: everySet}},
	{"bob", grant{verbs: map[string][]string{
		v1alpha1.KindCluster:        {"get", "list", "create", "update", "delete", "kubeconfig"},
		v1alpha1.KindCloudAccount:   {"get", "list", "use"},
		v1alpha1.KindClusterProfile: {"get", "list"},
	}, sets: []string{"finprod", "findev"}}},
	{"carol", grant{verbs: map[string][]string{
		v1alpha1.KindCluster: {"get", "list"},
	}, sets: []string{"hrprod", "prod"}}},
	{"dave", grant{}},
}

// allows reports whether g allows verb on kind's objects of tag set.
func (g grant) allows(kind, verb, set string) bool {
	return slices.Contains(g.verbs[kind], verb) && slices.Contains(g.sets, set)
}

// accessServer is a server with access control on st, and the admin's key.
type accessServer struct {
	*testServer
	admin string
}

func newAccessServer(t *testing.T, st store.Store, opts ...func(*Config)) *accessServer {
	t.Helper()
	logs := &syncBuffer{}
	changes := feed.New(st, feed.Config{PollInterval: 100 * time.Millisecond})
	cfg := Config{Store: st, Feed: changes, AccessControl: true}
	for _, o := range opts {
		o(&cfg)
	}
	srv := New(cfg)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = srv.RunFeed(ctx) }()
	t.Cleanup(func() { stop(); <-ran })
	token, err := Bootstrap(context.Background(), st, "alice", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return &accessServer{testServer: &testServer{t: t, srv: srv, store: st, url: hs.URL, logs: logs}, admin: token}
}

// as sends a request with the key token.
func (as *accessServer) as(token, method, path string, body []byte) *response {
	as.t.Helper()
	req, err := http.NewRequest(method, as.url+path, bytes.NewReader(body))
	if err != nil {
		as.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		as.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return &response{code: resp.StatusCode, header: resp.Header, body: data}
}

// must sends a request as the admin and fails the test unless it gets a 2xx.
func (as *accessServer) must(method, path string, body []byte) *response {
	as.t.Helper()
	r := as.as(as.admin, method, path, body)
	if r.code/100 != 2 {
		as.t.Fatalf("%s %s as admin: %d %s", method, path, r.code, r.body)
	}
	return r
}

// key makes an API key for user, through the API, as the admin.
func (as *accessServer) key(user string) string {
	as.t.Helper()
	body := fmt.Sprintf(`{"spec":{"user":%q,"expiresAt":%q}}`, user, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	r := as.must(http.MethodPost, kindPath(v1alpha1.KindAPIKey), []byte(body))
	var out struct{ Token string }
	if err := json.Unmarshal(r.body, &out); err != nil || out.Token == "" {
		as.t.Fatalf("API key of %s: %s (%v)", user, r.body, err)
	}
	return out.Token
}

// setUpMatrix stores the principals, their bindings and filters, and the matrix's objects,
// through the API as the admin; it returns each principal's key.
func setUpMatrix(t *testing.T, as *accessServer) map[string]string {
	t.Helper()
	docs := []string{
		`{"apiVersion":"strata.dev/v1alpha1","kind":"User","metadata":{"name":"bob"},"spec":{}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"User","metadata":{"name":"carol"},"spec":{}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"User","metadata":{"name":"dave"},"spec":{}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"Team","metadata":{"name":"viewers"},"spec":{"members":["carol"]}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"TagFilter","metadata":{"name":"finance"},"spec":{"filters":[{"key":"department","values":["finance"]}]}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"TagFilter","metadata":{"name":"prod-not-finance"},"spec":{"conjunction":"and","filters":[{"key":"env","values":["prod"]},{"key":"department","values":["finance"],"negation":true}]}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"RoleBinding","metadata":{"name":"finance-editors"},"spec":{"subject":{"user":"bob"},"role":"cluster-editor","filter":"finance"}}`,
		`{"apiVersion":"strata.dev/v1alpha1","kind":"RoleBinding","metadata":{"name":"prod-viewers"},"spec":{"subject":{"team":"viewers"},"role":"cluster-viewer","filter":"prod-not-finance"}}`,
	}
	for _, d := range docs {
		var head struct{ Kind string }
		_ = json.Unmarshal([]byte(d), &head)
		as.must(http.MethodPost, kindPath(head.Kind), []byte(d))
	}
	for _, k := range []string{v1alpha1.KindPrivateCloudGateway, v1alpha1.KindCloudAccount, v1alpha1.KindClusterProfile, v1alpha1.KindCluster} {
		for _, mk := range matrixKinds {
			if mk.kind != k {
				continue
			}
			for _, set := range matrixTagSets {
				as.must(http.MethodPost, kindPath(k), encode(t, mk.make(matrixName(k, set.name), set.tags)))
			}
		}
	}
	keys := map[string]string{"alice": as.admin}
	for _, p := range []string{"bob", "carol", "dave"} {
		keys[p] = as.key(p)
	}
	return keys
}

// TestAccessMatrix walks issue 14's matrix over the real HTTP API, on SQLite and PostgreSQL:
// four principals (an admin; a cluster editor with filter department:finance; a viewer,
// through a team, with env:prod AND NOT department:finance; a user with no grant) × the kinds
// × their verbs × objects with matching, non-matching and missing tags. Every cell is
// asserted: 2xx (or the verb's own refusal past authorization) where allowed, 404 where the
// object may not be seen, 403 where it may be seen but not acted on, and the lists' contents.
func TestAccessMatrix(t *testing.T) {
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			as := newAccessServer(t, ts.open(t))
			keys := setUpMatrix(t, as)
			cells := 0
			for _, p := range matrixPrincipals {
				for _, mk := range matrixKinds {
					cells += checkReads(t, as, keys[p.name], p.name, p.grant, mk.kind)
					cells += checkActions(t, as, keys[p.name], p.name, p.grant, mk.kind)
					cells += checkWrites(t, as, keys[p.name], p.name, p.grant, mk)
				}
			}
			for _, name := range []string{"dave", "carol", "bob", "alice"} {
				for _, p := range matrixPrincipals {
					if p.name == name {
						cells += checkDeletes(t, as, keys[name], name, p.grant)
					}
				}
			}
			t.Logf("%d cells", cells)
		})
	}
}

// checkReads asserts get on each object and the list's contents.
func checkReads(t *testing.T, as *accessServer, key, who string, g grant, kind string) int {
	t.Helper()
	cells := 0
	var want []string
	for _, set := range matrixTagSets {
		name := matrixName(kind, set.name)
		r := as.as(key, http.MethodGet, objectPath(kind, name), nil)
		wantCode := http.StatusNotFound
		if g.allows(kind, "get", set.name) {
			wantCode = http.StatusOK
			want = append(want, name)
		}
		if r.code != wantCode {
			t.Errorf("%s get %s %s: %d, want %d (%s)", who, kind, name, r.code, wantCode, r.body)
		}
		cells++
	}
	r := as.as(key, http.MethodGet, kindPath(kind), nil)
	if !slices.Contains(g.verbs[kind], "list") {
		if r.code != http.StatusForbidden {
			t.Errorf("%s list %s: %d, want 403 (%s)", who, kind, r.code, r.body)
		}
		return cells + 1
	}
	var list struct{ Items []json.RawMessage }
	if r.code != http.StatusOK || json.Unmarshal(r.body, &list) != nil {
		t.Fatalf("%s list %s: %d %s", who, kind, r.code, r.body)
	}
	var got []string
	for _, it := range list.Items {
		var o struct{ Metadata struct{ Name string } }
		_ = json.Unmarshal(it, &o)
		if strings.HasPrefix(o.Metadata.Name, prefixes[kind]+"-") && !strings.Contains(o.Metadata.Name, "-new-") {
			got = append(got, o.Metadata.Name)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s list %s: %v, want %v", who, kind, got, want)
	}
	return cells + 1
}

// objectPath is the API path of the matrix's object of kind named name.
func objectPath(kind, name string) string {
	if kind == v1alpha1.KindClusterProfile {
		name = v1alpha1.ProfileKey(name, "1.0.0")
	}
	return kindPath(kind) + "/" + name
}

// expected is the code a request on an object of set gets: 404 when who may not get it, else
// allowedCode when verb is allowed, else 403.
func expected(g grant, kind, verb, set string, allowedCode int) int {
	switch {
	case !g.allows(kind, "get", set):
		return http.StatusNotFound
	case g.allows(kind, verb, set):
		return allowedCode
	}
	return http.StatusForbidden
}

// checkActions asserts update, and the kinds' own verbs (kubeconfig, use, token), on each
// object. Where allowed they get past authorization to the verb's own answer: the cluster is
// not provisioned (409), the account's gateway cannot be reached (409), the server has no
// agent endpoint (409).
func checkActions(t *testing.T, as *accessServer, key, who string, g grant, kind string) int {
	t.Helper()
	cells := 0
	for _, set := range matrixTagSets {
		name := matrixName(kind, set.name)
		cur := as.must(http.MethodGet, objectPath(kind, name), nil).object(t, kind)
		cur.GetMetadata().ResourceVersion = ""
		labels := map[string]string{"touched-by": who}
		for k, v := range cur.GetMetadata().Labels {
			labels[k] = v
		}
		cur.GetMetadata().Labels = labels
		check := func(verb string, r *response, allowed int) {
			t.Helper()
			if want := expected(g, kind, verb, set.name, allowed); r.code != want {
				t.Errorf("%s %s %s %s: %d, want %d (%s)", who, verb, kind, name, r.code, want, r.body)
			}
			cells++
		}
		check("update", as.as(key, http.MethodPut, objectPath(kind, name), encode(t, cur)), http.StatusOK)
		switch kind {
		case v1alpha1.KindCluster:
			check("kubeconfig", as.as(key, http.MethodGet, objectPath(kind, name)+"/kubeconfig", nil), http.StatusConflict)
		case v1alpha1.KindCloudAccount:
			q := url.Values{"subscriptionID": {"8f4b1c2d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}}
			check("use", as.as(key, http.MethodGet, objectPath(kind, name)+"/lookups/locations?"+q.Encode(), nil), http.StatusConflict)
		case v1alpha1.KindPrivateCloudGateway:
			check("token", as.as(key, http.MethodPost, objectPath(kind, name)+"/token", nil), http.StatusConflict)
		}
	}
	return cells
}

// checkWrites asserts create with each tag set: allowed only within the principal's scope.
func checkWrites(t *testing.T, as *accessServer, key, who string, g grant, mk struct {
	kind string
	make func(name string, tags map[string]string) v1alpha1.Object
}) int {
	t.Helper()
	for _, set := range matrixTagSets {
		obj := mk.make(prefixes[mk.kind]+"-new-"+who+"-"+set.name, set.tags)
		r := as.as(key, http.MethodPost, kindPath(mk.kind), encode(t, obj))
		want := http.StatusForbidden
		if g.allows(mk.kind, "create", set.name) {
			want = http.StatusCreated
		}
		if r.code != want {
			t.Errorf("%s create %s with tags %s: %d, want %d (%s)", who, mk.kind, set.name, r.code, want, r.body)
		}
	}
	return len(matrixTagSets)
}

// checkDeletes asserts delete on each object; an object deleted is made again, as the admin,
// for the principals after.
func checkDeletes(t *testing.T, as *accessServer, key, who string, g grant) int {
	t.Helper()
	cells := 0
	for _, mk := range matrixKinds {
		for _, set := range matrixTagSets {
			name := matrixName(mk.kind, set.name)
			r := as.as(key, http.MethodDelete, objectPath(mk.kind, name), nil)
			// Allowed, the object is deleted or, in use, refused past authorization (409).
			want := expected(g, mk.kind, "delete", set.name, 0)
			if ok := r.code == want || (want == 0 && (r.code == http.StatusOK || r.code == http.StatusConflict)); !ok {
				t.Errorf("%s delete %s %s: %d, want %d (0: 200 or 409) (%s)", who, mk.kind, name, r.code, want, r.body)
			}
			if r.code == http.StatusOK {
				as.must(http.MethodPost, kindPath(mk.kind), encode(t, mk.make(name, set.tags)))
			}
			cells++
		}
	}
	return cells
}

// TestTagEscalationRefused: the finance editor can neither retag a finance cluster to
// department:hr nor create an untagged cluster (403 naming the tag); the admin can both.
func TestTagEscalationRefused(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	retag := func(key string) *response {
		c := as.must(http.MethodGet, objectPath(v1alpha1.KindCluster, "cl-finprod"), nil).object(t, v1alpha1.KindCluster).(*v1alpha1.Cluster)
		c.Metadata.ResourceVersion = ""
		c.Spec.Tags = []string{"department:hr", "env:prod"}
		return as.as(key, http.MethodPut, objectPath(v1alpha1.KindCluster, "cl-finprod"), encode(t, c))
	}
	untagged := func(key, name string) *response {
		c := cluster(name, "acct-finprod", profile("prof-finprod", "1.0.0"))
		c.Spec.Tags = nil
		return as.as(key, http.MethodPost, kindPath(v1alpha1.KindCluster), encode(t, c))
	}
	if r := retag(keys["bob"]); r.code != http.StatusForbidden || !strings.Contains(r.status(t).Message, "department:hr") {
		t.Errorf("bob retags a finance cluster to department:hr: %d %s, want 403 naming the tag", r.code, r.body)
	}
	if r := untagged(keys["bob"], "bob-untagged"); r.code != http.StatusForbidden || !strings.Contains(r.status(t).Message, "department") {
		t.Errorf("bob creates an untagged cluster: %d %s, want 403 naming the missing tag", r.code, r.body)
	}
	c := as.must(http.MethodGet, objectPath(v1alpha1.KindCluster, "cl-finprod"), nil).object(t, v1alpha1.KindCluster).(*v1alpha1.Cluster)
	if !slices.Contains(c.Spec.Tags, "department:finance") {
		t.Fatalf("the refused retag changed the cluster: %v", c.Spec.Tags)
	}
	if r := retag(keys["alice"]); r.code != http.StatusOK {
		t.Errorf("the admin retags: %d %s", r.code, r.body)
	}
	if r := untagged(keys["alice"], "alice-untagged"); r.code != http.StatusCreated {
		t.Errorf("the admin creates an untagged cluster: %d %s", r.code, r.body)
	}
	// Out of bob's scope now, the retagged cluster is absent to him.
	if r := as.as(keys["bob"], http.MethodGet, objectPath(v1alpha1.KindCluster, "cl-finprod"), nil); r.code != http.StatusNotFound {
		t.Errorf("bob gets the retagged cluster: %d, want 404", r.code)
	}
}

// TestWatchShowsOnlyWhatTheCallerSees: a watch lists and streams only the objects its caller
// may get; an object retagged out of the caller's sight is sent as deleted, one retagged into
// it as it changes.
func TestWatchShowsOnlyWhatTheCallerSees(t *testing.T) {
	as := newAccessServer(t, openSQLite(t))
	keys := setUpMatrix(t, as)
	// A missing event fails the test within a minute rather than hang it.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, as.url+kindPath(v1alpha1.KindCluster)+"?watch=true", nil)
	req.Header.Set("Authorization", "Bearer "+keys["carol"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("carol's watch: %v %v", resp, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	next := func() string {
		t.Helper()
		var ev struct {
			Type   string
			Object struct{ Metadata struct{ Name string } }
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("watch: %v", err)
		}
		return ev.Type + " " + ev.Object.Metadata.Name
	}
	got := []string{next(), next()}
	sort.Strings(got)
	if want := []string{"ADDED cl-hrprod", "ADDED cl-prod"}; !slices.Equal(got, want) {
		t.Fatalf("carol's initial list %v, want %v", got, want)
	}
	change := func(name string, f func(c *v1alpha1.Cluster)) {
		c := as.must(http.MethodGet, objectPath(v1alpha1.KindCluster, name), nil).object(t, v1alpha1.KindCluster).(*v1alpha1.Cluster)
		c.Metadata.ResourceVersion = ""
		f(c)
		as.must(http.MethodPut, objectPath(v1alpha1.KindCluster, name), encode(t, c))
	}
	label := func(c *v1alpha1.Cluster) { c.Metadata.Labels = map[string]string{"touched": "yes"} }
	change("cl-finprod", label) // not carol's: not sent
	change("cl-hrprod", label)
	if got := next(); got != "MODIFIED cl-hrprod" {
		t.Fatalf("after changes of cl-finprod and cl-hrprod, carol got %q", got)
	}
	change("cl-hrprod", func(c *v1alpha1.Cluster) { c.Spec.Tags = []string{"department:finance", "env:prod"} })
	if got := next(); got != "DELETED cl-hrprod" {
		t.Fatalf("cl-hrprod retagged out of carol's sight: %q, want DELETED", got)
	}
	change("cl-findev", func(c *v1alpha1.Cluster) { c.Spec.Tags = []string{"department:hr", "env:prod"} })
	if got := next(); got != "MODIFIED cl-findev" {
		t.Fatalf("cl-findev retagged into carol's sight: %q", got)
	}
}
