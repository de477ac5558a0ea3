package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestRequestTextIsText sends, on each store, keys and query parameters that are not UTF-8 or
// hold a control character to every route that takes them: each is refused with 400 naming
// the key or the parameter and the rule, before the store sees it, and nothing changes.
// PostgreSQL's text cannot hold such bytes, and answered 500.
func TestRequestTextIsText(t *testing.T) {
	const sub = "?subscriptionID=8f4b1c2d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	for _, sto := range testStores {
		t.Run(sto.name, func(t *testing.T) {
			ts := newTestServerOn(t, sto.open(t))
			ts.create(gateway("pcg"))
			before := ts.do(http.MethodGet, kindPath(v1alpha1.KindPrivateCloudGateway), nil, "")
			gateways, clusters := kindPath(v1alpha1.KindPrivateCloudGateway), kindPath(v1alpha1.KindCluster)
			tests := []struct {
				method, path, field string
			}{
				{http.MethodGet, clusters + "/%ff", "key"},
				{http.MethodGet, clusters + "/a%00b", "key"},
				{http.MethodGet, clusters + "/a%1bb", "key"},
				{http.MethodDelete, gateways + "/%ff", "key"},
				{http.MethodPut, gateways + "/%ff", "key"},
				{http.MethodGet, clusters + "/%ff/events", "key"},
				{http.MethodGet, kindPath(v1alpha1.KindCloudAccount) + "/%ff/lookups/locations" + sub, "key"},
				{http.MethodGet, clusters + "/%ff/kubeconfig", "key"},
				{http.MethodGet, clusters + "?name=%ff", "name"},
				{http.MethodGet, clusters + "?continue=%ff", "continue"},
				{http.MethodGet, clusters + "?continue=a%00", "continue"},
				{http.MethodGet, clusters + "?watch=true&name=%ff", "name"},
				{http.MethodGet, clusters + "?watch=true&resourceVersion=1&name=x%00", "name"},
			}
			for _, tc := range tests {
				code, st := sendOnce(t, tc.method, ts.url+tc.path, encode(t, gateway("pcg")))
				if code != http.StatusBadRequest || st.Reason != ReasonBadRequest || len(st.Errors) != 1 ||
					st.Errors[0].Field != tc.field || st.Errors[0].Rule != v1alpha1.RuleFormat {
					t.Errorf("%s %s: %d %+v, want 400 with a format error at %s", tc.method, tc.path, code, st, tc.field)
				}
			}
			if after := ts.do(http.MethodGet, gateways, nil, ""); string(after.body) != string(before.body) {
				t.Errorf("the refused requests changed the gateways:\n%s\n%s", before.body, after.body)
			}
		})
	}
}

// sendOnce sends one request and decodes its Status, or fails when no answer ends within 10 s
// (a watch that was served).
func sendOnce(t *testing.T, method, rawURL string, body []byte) (int, Status) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	var st Status
	_ = json.Unmarshal(data, &st)
	return resp.StatusCode, st
}

// TestCheckRequestText checks the rule on its own: UTF-8 without control characters, in the
// key and in every value of every query parameter.
func TestCheckRequestText(t *testing.T) {
	tests := []struct {
		key    string
		query  url.Values
		fields []string
	}{
		{"web", url.Values{"name": {"web"}}, nil},
		{"base@1.0.0", nil, nil},
		{"", url.Values{"continue": {""}}, nil},
		{"ünïcödé", url.Values{"name": {"✓"}}, nil},
		{"\xff", nil, []string{"key"}},
		{"a\x00b", nil, []string{"key"}},
		{"a\tb", nil, []string{"key"}},
		{"a\u0085b", nil, []string{"key"}},
		{"web", url.Values{"name": {"ok", "\xfe"}}, []string{"name"}},
		{"\x7f", url.Values{"name": {"\x00"}, "continue": {"\xff"}, "limit": {"5"}}, []string{"key", "continue", "name"}},
	}
	for _, tc := range tests {
		err := checkRequestText(tc.key, tc.query)
		var got []string
		if err != nil {
			if err.code != http.StatusBadRequest || err.reason != ReasonBadRequest {
				t.Errorf("%q %v: %d %s, want 400 BadRequest", tc.key, tc.query, err.code, err.reason)
			}
			for _, e := range err.errors {
				got = append(got, e.Field)
				if e.Rule != v1alpha1.RuleFormat {
					t.Errorf("%q %v: rule %s, want %s", tc.key, tc.query, e.Rule, v1alpha1.RuleFormat)
				}
				named := "query parameter " + e.Field + ": "
				if e.Field == "key" {
					named = "the key in the path: "
				}
				if !strings.Contains(err.message, named) {
					t.Errorf("%q %v: message %q does not name %q", tc.key, tc.query, err.message, named)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
			t.Errorf("checkRequestText(%q, %v) refused %v, want %v", tc.key, tc.query, got, tc.fields)
		}
	}
}
