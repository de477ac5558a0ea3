package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// These tests check the wire format of each call against a small HTTP handler that plays the
// server's part of the contract. The CLI's end-to-end tests run the real server.

const accountYAML = `apiVersion: strata.dev/v1alpha1
kind: CloudAccount
metadata:
  name: azure-prod
spec:
  azure:
    tenantID: 0c263486-ca8b-474c-81ef-346c7ebeea82
    clientID: 0074ad29-0377-473f-8280-fc6c8872b24d
    clientSecret: s3cret-value
`

func decodeOne(t *testing.T, text string) v1alpha1.Object {
	t.Helper()
	obj, errs := v1alpha1.DecodeObject([]byte(text))
	if errs != nil {
		t.Fatal(errs)
	}
	return obj
}

func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestApplySendsSecretAndReadsResult(t *testing.T) {
	var got struct {
		method, path, query, contentType string
		body                             map[string]any
	}
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.query = r.Method, r.URL.Path, r.URL.RawQuery
		got.contentType = r.Header.Get("Content-Type")
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &got.body); err != nil {
			t.Errorf("body is not JSON: %v\n%s", err, data)
		}
		w.Header().Set(ApplyResultHeader, "created")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"apiVersion":"strata.dev/v1alpha1","kind":"CloudAccount","metadata":{"name":"azure-prod","uid":"u1","resourceVersion":"7"},
			"spec":{"azure":{"tenantID":"0c263486-ca8b-474c-81ef-346c7ebeea82","clientID":"0074ad29-0377-473f-8280-fc6c8872b24d","clientSecretSet":true,"environment":"AzurePublicCloud"}},
			"futureField":1}`)
	})
	obj := decodeOne(t, accountYAML)
	out, result, err := c.Apply(context.Background(), obj, WriteOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.method != http.MethodPut || got.path != "/api/v1alpha1/cloudaccounts/azure-prod" || got.query != "dryRun=true" || got.contentType != "application/json" {
		t.Errorf("request = %s %s?%s (%s)", got.method, got.path, got.query, got.contentType)
	}
	az := got.body["spec"].(map[string]any)["azure"].(map[string]any)
	if az["clientSecret"] != "s3cret-value" {
		t.Errorf("the secret was not sent: %v", az)
	}
	if _, ok := az["clientSecretSet"]; ok {
		t.Errorf("clientSecretSet was sent: %v", az)
	}
	if result != Created {
		t.Errorf("result = %q, want created", result)
	}
	ca := out.(*v1alpha1.CloudAccount)
	if !ca.Spec.Azure.ClientSecretSet || ca.Metadata.UID != "u1" || ca.Kind != v1alpha1.KindCloudAccount {
		t.Errorf("returned object = %+v", ca)
	}
}

func TestApplyResultWithoutHeader(t *testing.T) {
	status := http.StatusCreated
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1alpha1/clusterprofiles/base@1.0.0" || r.URL.RawQuery != "" {
			t.Errorf("path = %s?%s", r.URL.Path, r.URL.RawQuery)
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"kind":"ClusterProfile","metadata":{"name":"base"},"spec":{"version":"1.0.0"}}`)
	})
	p := v1alpha1.New(v1alpha1.KindClusterProfile).(*v1alpha1.ClusterProfile)
	p.Metadata.Name, p.Spec.Version = "base", "1.0.0"
	for want, code := range map[ApplyResult]int{Created: http.StatusCreated, Configured: http.StatusOK} {
		status = code
		if _, result, err := c.Apply(context.Background(), p, WriteOptions{}); err != nil || result != want {
			t.Errorf("HTTP %d: result %q, %v; want %q", code, result, err, want)
		}
	}
}

func TestAPIErrors(t *testing.T) {
	var status int
	var body string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	ctx := context.Background()

	status, body = 422, `{"kind":"Status","code":422,"reason":"Invalid","message":"Cluster demo is invalid",
		"errors":[{"field":"spec.tags[0]","rule":"reserved","message":"uses the reserved name"}]}`
	_, err := c.Get(ctx, v1alpha1.KindCluster, "demo")
	var ae *APIError
	if !errors.As(err, &ae) || !IsInvalid(err) {
		t.Fatalf("error = %#v", err)
	}
	if ae.Code != 422 || ae.Message != "Cluster demo is invalid" || len(ae.Errors) != 1 ||
		ae.Errors[0] != (v1alpha1.FieldError{Field: "spec.tags[0]", Rule: v1alpha1.RuleReserved, Message: "uses the reserved name"}) {
		t.Errorf("APIError = %+v", ae)
	}
	if !strings.Contains(err.Error(), "spec.tags[0]: uses the reserved name") {
		t.Errorf("Error() = %q", err)
	}

	status, body = 409, `{"kind":"Status","code":409,"reason":"InUse","message":"used by cluster/demo"}`
	if _, err := c.Delete(ctx, v1alpha1.KindCloudAccount, "azure-prod"); !IsInUse(err) || IsNotFound(err) {
		t.Errorf("InUse error = %v", err)
	}

	status, body = 502, "<html>bad gateway</html>"
	_, err = c.Get(ctx, v1alpha1.KindCluster, "demo")
	if !errors.As(err, &ae) || ae.Reason != ReasonInternal || !strings.Contains(ae.Message, "bad gateway") || errors.Is(err, ErrUnreachable) {
		t.Errorf("non-JSON error = %#v", err)
	}

	status, body = 404, ""
	if _, err := c.Get(ctx, v1alpha1.KindCluster, "gone"); !IsNotFound(err) {
		t.Errorf("empty 404 = %v", err)
	}
}

func TestListAllFollowsPages(t *testing.T) {
	var queries []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1alpha1/clusterprofiles" {
			t.Errorf("path = %s", r.URL.Path)
		}
		queries = append(queries, r.URL.RawQuery)
		switch r.URL.Query().Get("continue") {
		case "":
			io.WriteString(w, `{"apiVersion":"strata.dev/v1alpha1","kind":"List","continue":"base@1.0.0",
				"items":[{"kind":"ClusterProfile","metadata":{"name":"base"},"spec":{"version":"1.0.0"}}]}`)
		case "base@1.0.0":
			io.WriteString(w, `{"apiVersion":"strata.dev/v1alpha1","kind":"List","continue":"",
				"items":[{"kind":"ClusterProfile","metadata":{"name":"base"},"spec":{"version":"1.1.0"}}]}`)
		}
	})
	objs, err := c.ListAll(context.Background(), v1alpha1.KindClusterProfile, ListOptions{Name: "base", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Key() != "base@1.0.0" || objs[1].Key() != "base@1.1.0" {
		t.Errorf("objects = %v", objs)
	}
	if len(queries) != 2 || queries[0] != "limit=1&name=base" || queries[1] != "continue=base%401.0.0&limit=1&name=base" {
		t.Errorf("queries = %q", queries)
	}
}

func TestEvents(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1alpha1/clusters/demo/events" || r.URL.Query().Get("uid") != "u" {
			t.Errorf("path = %s, uid = %q", r.URL.Path, r.URL.Query().Get("uid"))
		}
		io.WriteString(w, `{"items":[{"kind":"Cluster","key":"demo","uid":"u","type":"Normal","reason":"Created","message":"m","time":"2026-05-01T12:00:00Z"}]}`)
	})
	evs, err := c.Events(context.Background(), v1alpha1.KindCluster, "demo", "u")
	if err != nil || len(evs) != 1 || evs[0].Reason != "Created" || !evs[0].Time.Equal(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("events = %+v, %v", evs, err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New(addr) // no scheme: https
	if err != nil {
		t.Fatal(err)
	}
	if c.Server() != "https://"+addr {
		t.Errorf("Server() = %q", c.Server())
	}
	_, err = c.List(context.Background(), v1alpha1.KindCluster, ListOptions{})
	var ue *UnreachableError
	if !errors.Is(err, ErrUnreachable) || !errors.As(err, &ue) || ue.Cause() != "connection refused" || ue.Server != "https://"+addr {
		t.Errorf("error = %#v", err)
	}
	if err := c.Healthz(context.Background()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Healthz error = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, v1alpha1.KindCluster, "x"); errors.Is(err, ErrUnreachable) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

func TestNewRejectsBadAddresses(t *testing.T) {
	for _, s := range []string{"", "ftp://host", "http://", "http://[::1"} {
		if _, err := New(s); err == nil {
			t.Errorf("New(%q) succeeded", s)
		}
	}
	c, err := New("https://strata.example.com/base/?x=1")
	if err != nil || c.Server() != "https://strata.example.com/base" {
		t.Errorf("New = %v, %v", c, err)
	}
	if _, err := c.Get(context.Background(), v1alpha1.KindCluster, "a/b"); err == nil {
		t.Error("a name with '/' was accepted")
	}
	if _, err := c.Get(context.Background(), "Pod", "a"); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

func TestCreate(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1alpha1/cloudaccounts" || r.URL.RawQuery != "" {
			t.Errorf("request = %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
		}
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"kind":"Status","code":409,"reason":"AlreadyExists","message":"CloudAccount \"azure-prod\" already exists"}`)
	})
	_, err := c.Create(context.Background(), decodeOne(t, accountYAML), WriteOptions{})
	if !IsAlreadyExists(err) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("error = %v", err)
	}
}

// TestDecodeObject checks that a returned object decodes leniently, with its kind checked.
func TestDecodeObject(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr string // empty when the object must decode
	}{
		{"same kind", `{"apiVersion":"strata.dev/v1alpha1","kind":"PrivateCloudGateway","metadata":{"name":"pcg"}}`, ""},
		{"no kind", `{"metadata":{"name":"pcg"}}`, ""},
		{"empty kind", `{"kind":"","metadata":{"name":"pcg"}}`, ""},
		{"unknown field", `{"kind":"PrivateCloudGateway","metadata":{"name":"pcg"},"newField":1}`, ""},
		{"other kind", `{"kind":"Cluster","metadata":{"name":"pcg"}}`, `got kind "Cluster", want "PrivateCloudGateway"`},
		{"malformed", `{"kind":`, "decode the server's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := decodeObject(v1alpha1.KindPrivateCloudGateway, json.RawMessage(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tm := obj.GetTypeMeta()
			if tm.Kind != v1alpha1.KindPrivateCloudGateway || tm.APIVersion != v1alpha1.GroupVersion || obj.Key() != "pcg" {
				t.Errorf("decoded %s %s %q", tm.APIVersion, tm.Kind, obj.Key())
			}
		})
	}
	if _, err := decodeObject("Pod", json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), `unknown kind "Pod"`) {
		t.Errorf("unknown kind: %v", err)
	}
}
