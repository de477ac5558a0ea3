package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// TestCRUD creates, reads, lists, updates and deletes an object of every kind.
func TestCRUD(t *testing.T) {
	tests := []struct {
		name string
		// deps are created first; obj is the object under test.
		deps   func() []v1alpha1.Object
		obj    func() v1alpha1.Object
		change func(v1alpha1.Object) // a spec change
	}{
		{
			name: "PrivateCloudGateway",
			obj:  func() v1alpha1.Object { return gateway("pcg") },
			change: func(o v1alpha1.Object) {
				o.(*v1alpha1.PrivateCloudGateway).Spec.Proxy.HTTPProxy = "http://other-proxy.corp.example:8080"
			},
		},
		{
			name: "CloudAccount",
			deps: func() []v1alpha1.Object { return []v1alpha1.Object{gateway("pcg")} },
			obj:  func() v1alpha1.Object { return account("account", "pcg", testSecret) },
			change: func(o v1alpha1.Object) {
				o.(*v1alpha1.CloudAccount).Spec.Azure.ClientID = "11111111-2222-3333-4444-555555555555"
			},
		},
		{
			name: "ClusterProfile",
			obj:  func() v1alpha1.Object { return profile("iaas", "1.2.0") },
			change: func(o v1alpha1.Object) {
				o.(*v1alpha1.ClusterProfile).Spec.Layers[1].Version = "1.30.5"
			},
		},
		{
			name: "Cluster",
			deps: func() []v1alpha1.Object {
				return []v1alpha1.Object{account("account", "", testSecret), profile("iaas", "1.0.0")}
			},
			obj: func() v1alpha1.Object { return cluster("prod", "account", profile("iaas", "1.0.0")) },
			change: func(o v1alpha1.Object) {
				o.(*v1alpha1.Cluster).Spec.MachinePools[1].Count = 4
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			if tt.deps != nil {
				for _, d := range tt.deps() {
					ts.create(d)
				}
			}
			obj := tt.obj()
			kind, key := obj.GetTypeMeta().Kind, obj.Key()

			created := ts.create(obj)
			m := created.GetMetadata()
			if m.UID == "" || m.ResourceVersion == "" || m.Generation != 1 || m.CreationTimestamp == nil || m.DeletionTimestamp != nil {
				t.Fatalf("created metadata = %+v", *m)
			}

			got := ts.get(kind, key, http.StatusOK).object(t, kind)
			if got.GetMetadata().UID != m.UID || got.GetMetadata().ResourceVersion != m.ResourceVersion {
				t.Errorf("get returned %+v, created %+v", *got.GetMetadata(), *m)
			}

			r := ts.do(http.MethodGet, kindPath(kind), nil, "")
			if r.code != http.StatusOK {
				t.Fatalf("list: %d %s", r.code, r.body)
			}
			var list struct {
				APIVersion string            `json:"apiVersion"`
				Kind       string            `json:"kind"`
				Items      []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(r.body, &list); err != nil {
				t.Fatal(err)
			}
			if list.APIVersion != v1alpha1.GroupVersion || list.Kind != "List" || len(list.Items) != 1 {
				t.Errorf("list = %s", r.body)
			}

			// A labels-only change: configured, same generation.
			obj.GetMetadata().Labels = map[string]string{"team": "platform"}
			r = ts.apply(obj, "")
			if r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
				t.Fatalf("labels update: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
			}
			upd := r.object(t, kind)
			if upd.GetMetadata().Generation != 1 || upd.GetMetadata().Labels["team"] != "platform" {
				t.Errorf("labels update: metadata %+v", *upd.GetMetadata())
			}
			if upd.GetMetadata().UID != m.UID || !upd.GetMetadata().CreationTimestamp.Equal(*m.CreationTimestamp) {
				t.Errorf("labels update changed uid or creationTimestamp: %+v", *upd.GetMetadata())
			}

			// A spec change: the generation moves.
			tt.change(obj)
			r = ts.apply(obj, "")
			if r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
				t.Fatalf("spec update: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
			}
			if g := r.object(t, kind).GetMetadata().Generation; g != 2 {
				t.Errorf("spec update: generation %d, want 2", g)
			}

			r = ts.do(http.MethodDelete, objPath(obj), nil, "")
			if r.code != http.StatusOK {
				t.Fatalf("delete: %d %s", r.code, r.body)
			}
			if r.object(t, kind).GetMetadata().DeletionTimestamp == nil {
				t.Errorf("delete returned no deletionTimestamp: %s", r.body)
			}
			ts.get(kind, key, http.StatusNotFound)
			want := []string{EventCreated, EventUpdated, EventDeletionRequested, EventDeleted}
			if got := ts.events(kind, key); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("events = %v, want %v", got, want)
			}
		})
	}
}

// TestApplyResults checks the Strata-Apply-Result of PUT: created, unchanged, configured.
func TestApplyResults(t *testing.T) {
	ts := newTestServer(t)
	ts.seed()
	c := cluster("prod", "account", profile("iaas", "1.0.0"))

	r := ts.apply(c, "")
	if r.code != http.StatusCreated || r.header.Get(ApplyResultHeader) != ApplyCreated {
		t.Fatalf("first apply: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
	rv := r.object(t, v1alpha1.KindCluster).GetMetadata().ResourceVersion

	r = ts.apply(c, "")
	if r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyUnchanged {
		t.Fatalf("same apply: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
	if got := r.object(t, v1alpha1.KindCluster).GetMetadata().ResourceVersion; got != rv {
		t.Errorf("unchanged apply returned resourceVersion %s, want %s", got, rv)
	}
	if got := ts.get(v1alpha1.KindCluster, "prod", http.StatusOK).object(t, v1alpha1.KindCluster).GetMetadata().ResourceVersion; got != rv {
		t.Errorf("unchanged apply moved the stored resourceVersion from %s to %s", rv, got)
	}
	// Server-owned fields in the body do not make a difference.
	c.Metadata.UID, c.Metadata.Generation = "someone-elses-uid", 42
	c.Status.Phase = "Running"
	if r = ts.apply(c, ""); r.header.Get(ApplyResultHeader) != ApplyUnchanged {
		t.Errorf("apply with server-owned fields: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}

	c.Spec.Tags = append(c.Spec.Tags, "env:prod")
	r = ts.apply(c, "")
	if r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
		t.Fatalf("changed apply: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
	got := r.object(t, v1alpha1.KindCluster)
	if got.GetMetadata().ResourceVersion == rv || got.GetMetadata().Generation != 2 {
		t.Errorf("changed apply: metadata %+v", *got.GetMetadata())
	}
	if got.GetMetadata().UID == "someone-elses-uid" || got.GetStatus().Phase != "" {
		t.Errorf("changed apply took server-owned fields from the body: %s", r.body)
	}

	// An account applied without its secret keeps the stored one.
	acct := account("account", "pcg", "")
	r = ts.apply(acct, "")
	if r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyUnchanged {
		t.Fatalf("account without secret: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
	if !r.object(t, v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount).Spec.Azure.ClientSecretSet {
		t.Errorf("account without secret: clientSecretSet is false")
	}
	acct.Metadata.Labels = map[string]string{"team": "a"}
	if r = ts.apply(acct, ""); r.header.Get(ApplyResultHeader) != ApplyConfigured {
		t.Fatalf("account labels without secret: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
	stored, err := ts.store.Get(context.Background(), v1alpha1.KindCloudAccount, "account")
	if err != nil {
		t.Fatal(err)
	}
	if s := stored.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret.Reveal(); s != testSecret {
		t.Errorf("stored secret after an update without one = %q, want the original", s)
	}
	if g := stored.GetMetadata().Generation; g != 1 {
		t.Errorf("labels-only account update moved the generation to %d", g)
	}
}

// TestStaleResourceVersion checks the resourceVersion precondition of PUT.
func TestStaleResourceVersion(t *testing.T) {
	ts := newTestServer(t)
	gw := gateway("pcg")
	first := ts.create(gw)
	staleRV := first.GetMetadata().ResourceVersion

	gw.Metadata.Labels = map[string]string{"v": "2"}
	gw.Metadata.ResourceVersion = staleRV
	r := ts.apply(gw, "")
	if r.code != http.StatusOK {
		t.Fatalf("apply with the current resourceVersion: %d %s", r.code, r.body)
	}
	current := r.object(t, v1alpha1.KindPrivateCloudGateway).GetMetadata().ResourceVersion

	gw.Metadata.Labels = map[string]string{"v": "3"}
	gw.Spec.Network.VirtualNetwork = "other-vnet"
	gw.Metadata.ResourceVersion = staleRV
	r = ts.apply(gw, "")
	if st := r.status(t); r.code != http.StatusConflict || st.Reason != ReasonConflict {
		t.Fatalf("apply with a stale resourceVersion: %d %s", r.code, r.body)
	}
	got := ts.get(v1alpha1.KindPrivateCloudGateway, "pcg", http.StatusOK).object(t, v1alpha1.KindPrivateCloudGateway).(*v1alpha1.PrivateCloudGateway)
	if got.Metadata.ResourceVersion != current || got.Metadata.Labels["v"] != "2" || got.Spec.Network.VirtualNetwork != "corp-vnet" {
		t.Errorf("a refused apply changed the object: %+v %+v", got.Metadata, got.Spec.Network)
	}

	// A precondition on an absent object is stale too.
	other := gateway("absent")
	other.Metadata.ResourceVersion = current
	if r = ts.apply(other, ""); r.code != http.StatusConflict {
		t.Errorf("apply of an absent object with a resourceVersion: %d %s", r.code, r.body)
	}
	ts.get(v1alpha1.KindPrivateCloudGateway, "absent", http.StatusNotFound)
}

// TestBadRequests checks the 400s (and friends) of malformed requests.
func TestBadRequests(t *testing.T) {
	ts := newTestServer(t)
	gwJSON := string(encode(t, gateway("pcg")))
	withField := strings.Replace(gwJSON, `"spec":{`, `"spec":{"colour":"blue",`, 1)
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string
		code        int
		reason      string
		field       string // an error expected at this field, if set
		rule        v1alpha1.Rule
	}{
		{"unknown field", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway), withField, "application/json",
			400, ReasonBadRequest, "spec.colour", v1alpha1.RuleUnknownField},
		{"unknown nested field", http.MethodPut, kindPath(v1alpha1.KindPrivateCloudGateway) + "/pcg",
			strings.Replace(gwJSON, `"network":{`, `"network":{"subnet":"x",`, 1), "application/json",
			400, ReasonBadRequest, "spec.network.subnet", v1alpha1.RuleUnknownField},
		{"bad JSON", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway), `{"apiVersion": "strata.dev/v1alpha1",`, "application/json",
			400, ReasonBadRequest, "", ""},
		{"YAML sent as JSON", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway), "apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\n", "application/json",
			400, ReasonBadRequest, "", ""},
		{"wrong type", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway),
			strings.Replace(gwJSON, `"noProxy":[`, `"noProxy":7,"x":[`, 1), "application/json",
			400, ReasonBadRequest, "spec.proxy.noProxy", v1alpha1.RuleType},
		{"kind mismatch", http.MethodPost, kindPath(v1alpha1.KindCluster), gwJSON, "application/json",
			400, ReasonBadRequest, "kind", v1alpha1.RuleMismatch},
		{"kind mismatch on PUT", http.MethodPut, kindPath(v1alpha1.KindCloudAccount) + "/pcg", gwJSON, "application/json",
			400, ReasonBadRequest, "kind", v1alpha1.RuleMismatch},
		{"unknown kind", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway),
			strings.Replace(gwJSON, `"kind":"PrivateCloudGateway"`, `"kind":"Gateway"`, 1), "application/json",
			400, ReasonBadRequest, "kind", v1alpha1.RuleEnum},
		{"wrong apiVersion", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway),
			strings.Replace(gwJSON, v1alpha1.GroupVersion, "strata.dev/v1", 1), "application/json",
			400, ReasonBadRequest, "apiVersion", v1alpha1.RuleEnum},
		{"key mismatch", http.MethodPut, kindPath(v1alpha1.KindPrivateCloudGateway) + "/other", gwJSON, "application/json",
			400, ReasonBadRequest, "metadata.name", v1alpha1.RuleMismatch},
		{"empty body", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway), "", "",
			400, ReasonBadRequest, "", v1alpha1.RuleRequired},
		{"list of objects", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway), "[" + gwJSON + "]", "application/json",
			400, ReasonBadRequest, "", v1alpha1.RuleType},
		{"two YAML documents", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway),
			"apiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata: {name: a}\n---\napiVersion: strata.dev/v1alpha1\nkind: PrivateCloudGateway\nmetadata: {name: b}\n",
			"application/yaml", 400, ReasonBadRequest, "", ""},
		{"unsupported content type", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway), gwJSON, "text/plain",
			415, ReasonUnsupportedMedia, "", ""},
		{"bad dryRun", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway) + "?dryRun=perhaps", gwJSON, "application/json",
			400, ReasonBadRequest, "", ""},
		{"bad limit", http.MethodGet, kindPath(v1alpha1.KindPrivateCloudGateway) + "?limit=many", "", "",
			400, ReasonBadRequest, "", ""},
		{"body too large", http.MethodPost, kindPath(v1alpha1.KindPrivateCloudGateway),
			`{"pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, "application/json", 413, ReasonTooLarge, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" || tt.method != http.MethodGet {
				body = []byte(tt.body)
			}
			r := ts.do(tt.method, tt.path, body, tt.contentType)
			if r.code != tt.code {
				t.Fatalf("got %d %s, want %d", r.code, r.body, tt.code)
			}
			st := r.status(t)
			if st.Reason != tt.reason || st.Code != tt.code || st.Kind != "Status" || st.APIVersion != v1alpha1.GroupVersion || st.Message == "" {
				t.Errorf("status = %+v", st)
			}
			if tt.rule != "" && !hasError(st, tt.field, tt.rule) {
				t.Errorf("no error %s at %q in %s", tt.rule, tt.field, r.body)
			}
		})
	}
	// Nothing was stored by any of them.
	r := ts.do(http.MethodGet, kindPath(v1alpha1.KindPrivateCloudGateway), nil, "")
	if !strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("bad requests stored something: %s", r.body)
	}
}

// TestYAMLBody creates an object from a YAML file.
func TestYAMLBody(t *testing.T) {
	ts := newTestServer(t)
	ts.seed()
	body, err := os.ReadFile("testdata/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := ts.do(http.MethodPost, kindPath(v1alpha1.KindCluster), body, "application/yaml")
	if r.code != http.StatusCreated {
		t.Fatalf("create from YAML: %d %s", r.code, r.body)
	}
	c := r.object(t, v1alpha1.KindCluster).(*v1alpha1.Cluster)
	if c.Metadata.Name != "from-yaml" || len(c.Spec.MachinePools) != 2 {
		t.Errorf("created %+v", c)
	}
	// Defaults were applied.
	if mp := c.Spec.MachinePools[1]; mp.InstanceType == "" || mp.Min == nil || mp.Max == nil {
		t.Errorf("defaults not applied: %+v", mp)
	}
	r = ts.do(http.MethodPut, kindPath(v1alpha1.KindCluster)+"/from-yaml", body, "application/yaml; charset=utf-8")
	if r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyUnchanged {
		t.Errorf("apply of the same YAML: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
}

// TestNotFoundAndMethods checks 404s and 405s.
func TestNotFoundAndMethods(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		method, path string
		code         int
		reason       string
		contains     string
	}{
		{http.MethodGet, kindPath(v1alpha1.KindCluster) + "/nope", 404, ReasonNotFound, `Cluster "nope" not found`},
		{http.MethodGet, kindPath(v1alpha1.KindClusterProfile) + "/iaas@9.9.9", 404, ReasonNotFound, `ClusterProfile "iaas@9.9.9" not found`},
		{http.MethodDelete, kindPath(v1alpha1.KindCloudAccount) + "/nope", 404, ReasonNotFound, "not found"},
		{http.MethodGet, kindPath(v1alpha1.KindCluster) + "/nope/events", 404, ReasonNotFound, "not found"},
		{http.MethodGet, APIPath + "/widgets", 404, ReasonNotFound, "clusters (Cluster)"},
		{http.MethodGet, APIPath + "/widgets/x", 404, ReasonNotFound, "cloudaccounts (CloudAccount)"},
		{http.MethodGet, "/api/v2/clusters", 404, ReasonNotFound, APIPath},
		{http.MethodPatch, kindPath(v1alpha1.KindCluster) + "/x", 405, ReasonMethodNotAllowed, "PATCH"},
		{http.MethodDelete, kindPath(v1alpha1.KindCluster), 405, ReasonMethodNotAllowed, "DELETE"},
		{http.MethodPost, kindPath(v1alpha1.KindCluster) + "/x/events", 405, ReasonMethodNotAllowed, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := ts.do(tt.method, tt.path, nil, "")
			if r.code != tt.code {
				t.Fatalf("got %d %s, want %d", r.code, r.body, tt.code)
			}
			st := r.status(t)
			if st.Reason != tt.reason {
				t.Errorf("reason %q, want %q", st.Reason, tt.reason)
			}
			mustContain(t, "message", st.Message, tt.contains)
			if tt.code == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without Allow header")
			}
		})
	}
}

// TestAlreadyExists checks that POST refuses a taken key.
func TestAlreadyExists(t *testing.T) {
	ts := newTestServer(t)
	ts.create(profile("iaas", "1.0.0"))
	ts.create(profile("iaas", "1.1.0")) // another version: another key
	r := ts.do(http.MethodPost, kindPath(v1alpha1.KindClusterProfile), encode(t, profile("iaas", "1.0.0")), "application/json")
	if st := r.status(t); r.code != http.StatusConflict || st.Reason != ReasonAlreadyExists {
		t.Fatalf("second create: %d %s", r.code, r.body)
	}
	mustContain(t, "message", r.status(t).Message, "iaas@1.0.0")
	r = ts.do(http.MethodGet, kindPath(v1alpha1.KindClusterProfile)+"?name=iaas", nil, "")
	if n := strings.Count(string(r.body), `"name":"iaas"`); n != 2 {
		t.Errorf("list ?name=iaas: %d profiles, want 2: %s", n, r.body)
	}
}

// TestListPaging checks limit and continue, and the name filter.
func TestListPaging(t *testing.T) {
	ts := newTestServer(t)
	for _, n := range []string{"a", "b", "c"} {
		ts.create(gateway(n))
	}
	var page struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
		Continue string `json:"continue"`
	}
	var names []string
	next := ""
	for i := 0; i < 5; i++ {
		r := ts.do(http.MethodGet, kindPath(v1alpha1.KindPrivateCloudGateway)+"?limit=2&continue="+next, nil, "")
		if r.code != 200 {
			t.Fatalf("list: %d %s", r.code, r.body)
		}
		page.Continue = ""
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 2 {
			t.Fatalf("page of %d items with limit 2", len(page.Items))
		}
		for _, it := range page.Items {
			names = append(names, it.Metadata.Name)
		}
		if page.Continue == "" {
			break
		}
		next = page.Continue
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Errorf("paged names = %v", names)
	}
	r := ts.do(http.MethodGet, kindPath(v1alpha1.KindPrivateCloudGateway)+"?name=b", nil, "")
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Metadata.Name != "b" {
		t.Errorf("list ?name=b = %s", r.body)
	}
}

// TestValidation checks the 422s, with references resolved in the store.
func TestValidation(t *testing.T) {
	ts := newTestServer(t)
	ts.seed()
	prof := profile("iaas", "1.0.0")
	tests := []struct {
		name  string
		obj   v1alpha1.Object
		field string
		rule  v1alpha1.Rule
	}{
		{"missing cloud account", cluster("c1", "ghost", prof), "spec.cloudAccount", v1alpha1.RuleNotFound},
		{"missing profile version", cluster("c2", "account", profile("iaas", "9.0.0")), "spec.profiles[0]", v1alpha1.RuleNotFound},
		{"reserved tag", func() v1alpha1.Object {
			c := cluster("c3", "account", prof)
			c.Spec.Tags = []string{"azure-owner:me"}
			return c
		}(), "spec.tags[0]", v1alpha1.RuleReserved},
		{"missing gateway", account("a2", "ghost-gw", testSecret), "spec.gateway", v1alpha1.RuleNotFound},
		{"missing client secret", account("a3", "", ""), "spec.azure.clientSecret", v1alpha1.RuleRequired},
		{"bad name", gateway("Not_A_Name"), "metadata.name", v1alpha1.RuleFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{http.MethodPost, http.MethodPut} {
				path := kindPath(tt.obj.GetTypeMeta().Kind)
				if method == http.MethodPut {
					path = objPath(tt.obj)
				}
				r := ts.do(method, path, encode(t, tt.obj), "application/json")
				if r.code != http.StatusUnprocessableEntity {
					t.Fatalf("%s: got %d %s, want 422", method, r.code, r.body)
				}
				st := r.status(t)
				if st.Reason != ReasonInvalid || !hasError(st, tt.field, tt.rule) {
					t.Errorf("%s: no %s error at %s: %s", method, tt.rule, tt.field, r.body)
				}
				want := fmt.Sprintf("%s %q is invalid: ", tt.obj.GetTypeMeta().Kind, tt.obj.Key())
				mustContain(t, "message", st.Message, want)
			}
			ts.get(tt.obj.GetTypeMeta().Kind, tt.obj.Key(), http.StatusNotFound)
		})
	}

	// Every error is reported at once.
	c := cluster("many", "ghost", prof)
	c.Spec.Tags = []string{"azure:x", "microsoft:y"}
	r := ts.do(http.MethodPost, kindPath(v1alpha1.KindCluster), encode(t, c), "application/json")
	if st := r.status(t); r.code != 422 || len(st.Errors) < 3 || st.Message != fmt.Sprintf("Cluster \"many\" is invalid: %d errors", len(st.Errors)) {
		t.Errorf("several errors: %d %s", r.code, r.body)
	}

	// An update is validated too, with the update rules.
	good := cluster("good", "account", prof)
	ts.create(good)
	good.Spec.Azure.Location = "northeurope"
	r = ts.apply(good, "")
	if st := r.status(t); r.code != 422 || !hasError(st, "spec.azure.location", v1alpha1.RuleImmutable) {
		t.Errorf("immutable change: %d %s", r.code, r.body)
	}
}

// TestDeleteInUse checks that objects in use are not deleted.
func TestDeleteInUse(t *testing.T) {
	ts := newTestServer(t)
	_, prof := ts.seed()
	ts.create(cluster("prod", "account", prof))
	ts.create(cluster("staging", "account", prof))

	tests := []struct {
		kind, key string
		users     []string
	}{
		{v1alpha1.KindCloudAccount, "account", []string{`Cluster "prod"`, `Cluster "staging"`}},
		{v1alpha1.KindClusterProfile, "iaas@1.0.0", []string{`Cluster "prod"`, `Cluster "staging"`}},
		{v1alpha1.KindPrivateCloudGateway, "pcg", []string{`CloudAccount "account"`}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			r := ts.do(http.MethodDelete, kindPath(tt.kind)+"/"+tt.key, nil, "")
			st := r.status(t)
			if r.code != http.StatusConflict || st.Reason != ReasonInUse {
				t.Fatalf("delete in use: %d %s", r.code, r.body)
			}
			for _, u := range tt.users {
				mustContain(t, "message", st.Message, u)
			}
			got := ts.get(tt.kind, tt.key, http.StatusOK).object(t, tt.kind)
			if got.GetMetadata().DeletionTimestamp != nil {
				t.Errorf("a refused delete marked the object")
			}
		})
	}

	// Once the users are gone, the deletes go through, in order.
	for _, p := range []string{"clusters/prod", "clusters/staging", "cloudaccounts/account", "clusterprofiles/iaas@1.0.0", "privatecloudgateways/pcg"} {
		if r := ts.do(http.MethodDelete, APIPath+"/"+p, nil, ""); r.code != http.StatusOK {
			t.Errorf("delete %s: %d %s", p, r.code, r.body)
		}
	}
}

// TestProfileInUseIsFrozen checks that a pinned profile version's spec cannot change.
func TestProfileInUseIsFrozen(t *testing.T) {
	ts := newTestServer(t)
	_, prof := ts.seed()
	ts.create(cluster("prod", "account", prof))

	changed := profile("iaas", "1.0.0")
	changed.Spec.Layers[1].Version = "1.31.0"
	r := ts.apply(changed, "")
	st := r.status(t)
	if r.code != http.StatusConflict || st.Reason != ReasonInUse {
		t.Fatalf("change of a pinned profile: %d %s", r.code, r.body)
	}
	mustContain(t, "message", st.Message, `Cluster "prod"`)
	mustContain(t, "message", st.Message, "new version")
	if r = ts.apply(changed, "?dryRun=true"); r.code != http.StatusConflict {
		t.Errorf("dry run of a change of a pinned profile: %d %s", r.code, r.body)
	}

	labelled := profile("iaas", "1.0.0")
	labelled.Metadata.Labels = map[string]string{"stage": "stable"}
	if r = ts.apply(labelled, ""); r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
		t.Errorf("labels change of a pinned profile: %d %s", r.code, r.body)
	}

	// A new version is fine, and so is changing a version no cluster pins.
	next := profile("iaas", "1.1.0")
	next.Spec.Layers[1].Version = "1.31.0"
	if r = ts.apply(next, ""); r.code != http.StatusCreated {
		t.Fatalf("new version: %d %s", r.code, r.body)
	}
	next.Spec.Layers[1].Version = "1.31.1"
	if r = ts.apply(next, ""); r.code != http.StatusOK {
		t.Errorf("change of an unpinned version: %d %s", r.code, r.body)
	}
}

// TestDeleteWithFinalizer checks that an object with finalizers is only marked.
func TestDeleteWithFinalizer(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	gw := gateway("pcg")
	gw.Metadata.Finalizers = []string{"strata.dev/reconciler"}
	if err := ts.store.Create(ctx, gw); err != nil {
		t.Fatal(err)
	}

	r := ts.do(http.MethodDelete, objPath(gw), nil, "")
	if r.code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	marked := r.object(t, v1alpha1.KindPrivateCloudGateway)
	if marked.GetMetadata().DeletionTimestamp == nil {
		t.Fatalf("delete did not set deletionTimestamp: %s", r.body)
	}
	got := ts.get(v1alpha1.KindPrivateCloudGateway, "pcg", http.StatusOK).object(t, v1alpha1.KindPrivateCloudGateway)
	if got.GetMetadata().DeletionTimestamp == nil || len(got.GetMetadata().Finalizers) != 1 {
		t.Errorf("stored after delete: %+v", *got.GetMetadata())
	}

	// It cannot be changed while it is being deleted.
	gw.Metadata.Labels = map[string]string{"x": "y"}
	r = ts.apply(gw, "")
	if st := r.status(t); r.code != http.StatusConflict || st.Reason != ReasonConflict || !strings.Contains(st.Message, "being deleted") {
		t.Errorf("update while being deleted: %d %s", r.code, r.body)
	}

	// A second delete is a no-op.
	r = ts.do(http.MethodDelete, objPath(gw), nil, "")
	if r.code != http.StatusOK || r.object(t, v1alpha1.KindPrivateCloudGateway).GetMetadata().ResourceVersion != got.GetMetadata().ResourceVersion {
		t.Errorf("second delete: %d %s", r.code, r.body)
	}
	if ev := ts.events(v1alpha1.KindPrivateCloudGateway, "pcg"); strings.Join(ev, ",") != EventDeletionRequested {
		t.Errorf("events = %v, want only %s", ev, EventDeletionRequested)
	}
}

// TestDryRun checks that dry runs validate and store nothing.
func TestDryRun(t *testing.T) {
	ts := newTestServer(t)
	ts.seed()
	c := cluster("prod", "account", profile("iaas", "1.0.0"))

	r := ts.do(http.MethodPost, kindPath(v1alpha1.KindCluster)+"?dryRun=true", encode(t, c), "application/json")
	if r.code != http.StatusOK {
		t.Fatalf("POST dry run: %d %s", r.code, r.body)
	}
	if mp := r.object(t, v1alpha1.KindCluster).(*v1alpha1.Cluster).Spec.MachinePools[0]; mp.InstanceType != v1alpha1.DefaultInstanceType {
		t.Errorf("dry run did not default: %+v", mp)
	}
	r = ts.apply(c, "?dryRun=true")
	if r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyCreated {
		t.Fatalf("PUT dry run: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
	ts.get(v1alpha1.KindCluster, "prod", http.StatusNotFound)
	if r = ts.do(http.MethodGet, kindPath(v1alpha1.KindCluster)+"/prod/events", nil, ""); r.code != http.StatusNotFound {
		t.Errorf("a dry run recorded events: %d %s", r.code, r.body)
	}

	created := ts.create(c)
	c.Spec.MachinePools[1].Count = 7
	r = ts.apply(c, "?dryRun=true")
	if r.code != http.StatusOK || r.header.Get(ApplyResultHeader) != ApplyConfigured {
		t.Fatalf("PUT dry run of an update: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
	got := ts.get(v1alpha1.KindCluster, "prod", http.StatusOK).object(t, v1alpha1.KindCluster).(*v1alpha1.Cluster)
	if got.Metadata.ResourceVersion != created.GetMetadata().ResourceVersion || got.Spec.MachinePools[1].Count != 2 {
		t.Errorf("a dry-run update changed the object: rv %s, count %d", got.Metadata.ResourceVersion, got.Spec.MachinePools[1].Count)
	}

	bad := cluster("bad", "ghost", profile("iaas", "1.0.0"))
	if r = ts.do(http.MethodPost, kindPath(v1alpha1.KindCluster)+"?dryRun=true", encode(t, bad), "application/json"); r.code != 422 {
		t.Errorf("dry run of an invalid object: %d %s", r.code, r.body)
	}
}

// TestEventsAfterDelete checks that an object's events outlive it.
func TestEventsAfterDelete(t *testing.T) {
	ts := newTestServer(t)
	p := profile("edge", "0.1.0")
	ts.create(p)
	p.Spec.Layers[2].Version = "3.29.0"
	if r := ts.apply(p, ""); r.code != 200 {
		t.Fatalf("update: %d %s", r.code, r.body)
	}
	if r := ts.do(http.MethodDelete, objPath(p), nil, ""); r.code != 200 {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	want := []string{EventCreated, EventUpdated, EventDeletionRequested, EventDeleted}
	if got := ts.events(v1alpha1.KindClusterProfile, "edge@0.1.0"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v, want %v", got, want)
	}
	// The same name created again starts a history of its own: see TestEventsBelongToUID.
}

// TestSecretNeverLeaks checks that the client secret is in no response and no log line.
func TestSecretNeverLeaks(t *testing.T) {
	const secret = "Zx9-very-distinctive-s3cret-Qw7"
	const rotated = "Rt4-rotated-distinctive-s3cret-Lp2"
	ts := newTestServer(t)
	ts.create(gateway("pcg"))
	acctPath := kindPath(v1alpha1.KindCloudAccount)

	// Dry run, create, get, list.
	a := account("account", "pcg", secret)
	for _, q := range []string{"?dryRun=true", ""} {
		r := ts.do(http.MethodPost, acctPath+q, encode(t, a), "application/json")
		if r.code != http.StatusOK && r.code != http.StatusCreated {
			t.Fatalf("POST%s: %d %s", q, r.code, r.body)
		}
		if !r.object(t, v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount).Spec.Azure.ClientSecretSet {
			t.Errorf("POST%s: clientSecretSet is false: %s", q, r.body)
		}
	}
	r := ts.get(v1alpha1.KindCloudAccount, "account", http.StatusOK)
	if !r.object(t, v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount).Spec.Azure.ClientSecretSet {
		t.Errorf("GET: clientSecretSet is false: %s", r.body)
	}
	if r = ts.do(http.MethodGet, acctPath, nil, ""); !strings.Contains(string(r.body), `"clientSecretSet":true`) {
		t.Errorf("list: no clientSecretSet: %s", r.body)
	}

	// Error paths with the secret in the body: already exists, unknown field, kind mismatch, key
	// mismatch, invalid object, bad JSON around it.
	body := string(encode(t, a))
	for _, req := range []struct {
		method, path, body, contentType string
		code                            int
	}{
		{http.MethodPost, acctPath, body, "application/json", http.StatusConflict},
		{http.MethodPost, acctPath, strings.Replace(body, `"clientSecret"`, `"clientSecrets":"x","clientSecret"`, 1), "application/json", http.StatusBadRequest},
		{http.MethodPost, kindPath(v1alpha1.KindCluster), body, "application/json", http.StatusBadRequest},
		{http.MethodPut, acctPath + "/other", body, "application/json", http.StatusBadRequest},
		{http.MethodPost, acctPath, strings.Replace(body, `"clientSecret":"`, `"clientSecret":`, 1), "application/json", http.StatusBadRequest},
		{http.MethodPost, acctPath, strings.Replace(body, `"clientSecret":"`, `"clientSecret":["`, 1), "", http.StatusBadRequest},
		{http.MethodPost, acctPath, "apiVersion: strata.dev/v1alpha1\nkind: CloudAccount\nmetadata: {name: yaml-account}\nspec:\n  azure:\n    clientSecret: " + secret + "\n", "application/yaml", http.StatusUnprocessableEntity},
	} {
		if r := ts.do(req.method, req.path, []byte(req.body), req.contentType); r.code != req.code {
			t.Errorf("%s %s: got %d %s, want %d", req.method, req.path, r.code, r.body, req.code)
		}
	}
	bad := account("invalid", "pcg", secret)
	bad.Spec.Azure.TenantID = "not-a-guid"
	if r = ts.do(http.MethodPost, acctPath, encode(t, bad), "application/json"); r.code != 422 {
		t.Errorf("invalid account: %d %s", r.code, r.body)
	}

	// Updates: unchanged, labels, rotation, without secret.
	if r = ts.apply(a, ""); r.header.Get(ApplyResultHeader) != ApplyUnchanged {
		t.Errorf("same secret: %q %s", r.header.Get(ApplyResultHeader), r.body)
	}
	a.Metadata.Labels = map[string]string{"team": "a"}
	ts.apply(a, "?dryRun=true")
	ts.apply(a, "")
	rot := account("account", "pcg", rotated)
	rot.Metadata.Labels = a.Metadata.Labels
	r = ts.apply(rot, "")
	if r.code != 200 || r.header.Get(ApplyResultHeader) != ApplyConfigured || r.object(t, v1alpha1.KindCloudAccount).GetMetadata().Generation != 2 {
		t.Errorf("rotation: %d %q %s", r.code, r.header.Get(ApplyResultHeader), r.body)
	}
	stored, err := ts.store.Get(context.Background(), v1alpha1.KindCloudAccount, "account")
	if err != nil {
		t.Fatal(err)
	}
	if got := stored.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret.Reveal(); got != rotated {
		t.Errorf("stored secret after rotation = %q", got)
	}
	r = ts.apply(account("account", "pcg", ""), "")
	if r.code != 200 || !r.object(t, v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount).Spec.Azure.ClientSecretSet {
		t.Errorf("apply without secret: %d %s", r.code, r.body)
	}

	// Events, in-use delete, delete.
	ts.events(v1alpha1.KindCloudAccount, "account")
	ts.create(profile("iaas", "1.0.0"))
	ts.create(cluster("prod", "account", profile("iaas", "1.0.0")))
	ts.do(http.MethodDelete, acctPath+"/account", nil, "")
	ts.do(http.MethodDelete, kindPath(v1alpha1.KindCluster)+"/prod", nil, "")
	ts.do(http.MethodDelete, acctPath+"/account", nil, "")
	ts.events(v1alpha1.KindCloudAccount, "account")
	ts.do(http.MethodGet, "/metrics", nil, "")

	ts.mu.Lock()
	bodies := ts.bodies
	ts.mu.Unlock()
	if len(bodies) < 20 {
		t.Fatalf("only %d responses recorded", len(bodies))
	}
	for i, b := range bodies {
		for _, s := range []string{secret, rotated} {
			if strings.Contains(b, s) {
				t.Errorf("response %d holds the secret: %s", i, b)
			}
		}
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, `"msg":"request"`) {
		t.Fatalf("no request log lines captured: %q", logs)
	}
	for _, s := range []string{secret, rotated} {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold the secret:\n%s", logs)
		}
	}
}

// TestServerOwnedFieldsIgnored checks that a create ignores what only the server sets.
func TestServerOwnedFieldsIgnored(t *testing.T) {
	ts := newTestServer(t)
	gw := gateway("pcg")
	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	gw.Metadata.UID = "my-uid"
	gw.Metadata.Generation = 9
	gw.Metadata.ResourceVersion = "12345"
	gw.Metadata.CreationTimestamp = &past
	gw.Metadata.DeletionTimestamp = &past
	gw.Metadata.Finalizers = []string{"mine"}
	gw.Status = v1alpha1.GatewayStatus{Status: v1alpha1.Status{Phase: "Ready", ObservedGeneration: 9}}
	got := ts.create(gw)
	m := got.GetMetadata()
	if m.UID == "my-uid" || m.Generation != 1 || m.ResourceVersion == "12345" || m.CreationTimestamp.Equal(past) ||
		m.DeletionTimestamp != nil || len(m.Finalizers) != 0 || got.GetStatus().Phase != "" {
		t.Errorf("create kept server-owned fields: %+v %+v", *m, *got.GetStatus())
	}

	// An update keeps the stored status and finalizers.
	ctx := context.Background()
	stored, err := ts.store.Get(ctx, v1alpha1.KindPrivateCloudGateway, "pcg")
	if err != nil {
		t.Fatal(err)
	}
	stored.GetMetadata().Finalizers = []string{"strata.dev/reconciler"}
	stored.GetStatus().Phase = "Ready"
	if err := ts.store.Update(ctx, stored); err != nil {
		t.Fatal(err)
	}
	upd := gateway("pcg")
	upd.Spec.Network.VirtualNetwork = "vnet2"
	upd.Status.Phase = "Broken"
	r := ts.apply(upd, "")
	got = r.object(t, v1alpha1.KindPrivateCloudGateway)
	if r.code != 200 || got.GetStatus().Phase != "Ready" || len(got.GetMetadata().Finalizers) != 1 || got.GetMetadata().UID != m.UID {
		t.Errorf("update: %d %s", r.code, r.body)
	}
}

// TestHealthAndMetrics checks /healthz, /readyz and /metrics.
func TestHealthAndMetrics(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do(http.MethodGet, "/healthz", nil, "")
	if r.code != 200 || strings.TrimSpace(string(r.body)) != "ok" {
		t.Errorf("/healthz: %d %q", r.code, r.body)
	}
	if r = ts.do(http.MethodGet, "/readyz", nil, ""); r.code != 200 {
		t.Errorf("/readyz: %d %q", r.code, r.body)
	}
	ts.create(gateway("pcg"))
	ts.get(v1alpha1.KindPrivateCloudGateway, "nope", http.StatusNotFound)
	r = ts.do(http.MethodGet, "/metrics", nil, "")
	if r.code != 200 {
		t.Fatalf("/metrics: %d", r.code)
	}
	for _, want := range []string{
		`strata_http_requests_total{code="201",kind="PrivateCloudGateway",method="POST"} 1`,
		`strata_http_requests_total{code="404",kind="PrivateCloudGateway",method="GET"} 1`,
		`strata_http_requests_total{code="200",kind="",method="GET"} 2`,
		`strata_http_request_duration_seconds_bucket{kind="PrivateCloudGateway",method="POST",le="+Inf"} 1`,
		`go_goroutines`,
	} {
		mustContain(t, "/metrics", string(r.body), want)
	}
	logs := ts.logs.String()
	for _, want := range []string{`"method":"POST"`, `"path":"/api/v1alpha1/privatecloudgateways"`, `"status":201`, `"duration":`} {
		mustContain(t, "logs", logs, want)
	}

	// With the store closed, /readyz fails and the API answers 500 without details.
	if err := ts.store.Close(); err != nil {
		t.Fatal(err)
	}
	if r = ts.do(http.MethodGet, "/readyz", nil, ""); r.code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with a closed store: %d %q", r.code, r.body)
	}
	r = ts.do(http.MethodGet, kindPath(v1alpha1.KindPrivateCloudGateway)+"/pcg", nil, "")
	if st := r.status(t); r.code != 500 || st.Reason != ReasonInternal || strings.Contains(st.Message, "closed") {
		t.Errorf("GET with a closed store: %d %s", r.code, r.body)
	}
	mustContain(t, "logs", ts.logs.String(), `"msg":"request failed"`)
}

// TestServeShutsDown checks that Serve stops gracefully when its context ends.
func TestServeShutsDown(t *testing.T) {
	ts := newTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

// TestServeShutsDownInFlight checks that Serve, when its context ends, lets a request in flight
// finish with its normal answer: a request whose body is still arriving when the context ends
// is created, and Serve returns nil once it is answered.
func TestServeShutsDownInFlight(t *testing.T) {
	ts := newTestServer(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The request is written by hand so that its size is known: once the server has read all
	// that was sent (the header and half the body) and asks for more, its handler is reading
	// the body. (A request whose header is still being read when shutdown begins is not in
	// flight: net/http drops it.)
	body := encode(t, gateway("slow"))
	half := len(body) / 2
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		kindPath(v1alpha1.KindPrivateCloudGateway), len(body))
	ln := &readNotifyListener{Listener: inner, want: int64(len(head) + half), waiting: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head+string(body[:half])); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ln.waiting: // the handler is reading the body
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not read the request")
	}

	cancel()
	time.Sleep(100 * time.Millisecond) // let the shutdown begin
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight at shutdown got no answer: %v", err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("the request in flight at shutdown: %d %s, want 201", resp.StatusCode, answer)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its last request")
	}
}

// readNotifyListener closes waiting when a connection it accepted, having read want bytes,
// asks for more.
type readNotifyListener struct {
	net.Listener
	want    int64
	waiting chan struct{}
	once    sync.Once
}

// Accept implements net.Listener.
func (l *readNotifyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readNotifyConn{Conn: c, l: l}, nil
}

type readNotifyConn struct {
	net.Conn
	l    *readNotifyListener
	read atomic.Int64
}

// Read implements net.Conn.
func (c *readNotifyConn) Read(p []byte) (int, error) {
	if c.read.Load() >= c.l.want {
		c.l.once.Do(func() { close(c.l.waiting) })
	}
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// TestResolverStoreFailure checks that a store failure during validation is a 500, not a 422.
func TestResolverStoreFailure(t *testing.T) {
	ts := newTestServer(t)
	res := &storeResolver{store: ts.store}
	if _, err := res.Lookup(context.Background(), v1alpha1.KindCloudAccount, "nope"); !errors.Is(err, v1alpha1.ErrNotFound) {
		t.Errorf("Lookup of a missing object = %v, want v1alpha1.ErrNotFound", err)
	}
	_ = ts.store.Close()
	_, err := res.Lookup(context.Background(), v1alpha1.KindCloudAccount, "nope")
	if !errors.Is(err, v1alpha1.ErrUnresolvable) || res.err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lookup on a closed store = %v (kept %v)", err, res.err)
	}
}

// TestUpdateKeepsClusterStatus checks that a user's replacement of a Cluster keeps the whole
// stored status, inventory included, and that a status sent by the user is ignored.
func TestUpdateKeepsClusterStatus(t *testing.T) {
	ts := newTestServer(t)
	acct, prof := ts.seed()
	c := cluster("web", acct.Metadata.Name, prof)
	ts.create(c)
	stored, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, "web")
	if err != nil {
		t.Fatal(err)
	}
	sc := stored.(*v1alpha1.Cluster)
	sc.Status.Inventory = []v1alpha1.InventoryItem{{Key: "vnet", Kind: "VirtualNetwork", ID: "/subscriptions/x/vnet", Managed: true}}
	sc.Status.Phase = "Provisioning"
	if err := ts.store.Update(t.Context(), sc); err != nil {
		t.Fatal(err)
	}
	c.Spec.Tags = []string{"team:web"}
	c.Status.Inventory = nil
	c.Status.Phase = "Hacked"
	if r := ts.apply(c, ""); r.code != http.StatusOK {
		t.Fatalf("apply: %d %s", r.code, r.body)
	}
	got := ts.get(v1alpha1.KindCluster, "web", http.StatusOK).object(t, v1alpha1.KindCluster).(*v1alpha1.Cluster)
	if got.Status.Phase != "Provisioning" || len(got.Status.Inventory) != 1 || got.Status.Inventory[0].Key != "vnet" {
		t.Fatalf("status after a user update: %+v", got.Status)
	}
}
