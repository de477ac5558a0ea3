package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []string
	}{
		{"none", nil, nil},
		{"one", []string{`299 - "the groups are ignored"`}, []string{"the groups are ignored"}},
		{"escaped quotes and backslashes", []string{`299 - "Cluster \"web\": a\\b"`}, []string{`Cluster "web": a\b`}},
		{"several headers", []string{`299 - "a"`, `299 - "b"`}, []string{"a", "b"}},
		{"several in one value, with a date", []string{`299 - "a" "Sat, 01 Jan 2000 00:00:00 GMT", 299 strata:7080 "b"`}, []string{"a", "b"}},
		{"other codes are not ours to print", []string{`110 - "Response is stale"`, `299 - "kept"`}, []string{"kept"}},
		{"UTF-8 text", []string{`299 - "zone « 1 » listed twice"`}, []string{"zone « 1 » listed twice"}},
		{"unreadable value", []string{`299 - unquoted`, `299 - "after"`}, []string{"after"}},
		{"unterminated", []string{`299 - "no end`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseWarnings(tc.values); !slices.Equal(got, tc.want) {
				t.Fatalf("parseWarnings(%q) = %q, want %q", tc.values, got, tc.want)
			}
		})
	}
}

// TestWarningHandler checks that every response's warnings reach the handler, also those of a
// response that is an error.
func TestWarningHandler(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `299 - "first"`)
		w.Header().Add("Warning", `299 - "second"`)
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set(ApplyResultHeader, "created")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"apiVersion":"strata.dev/v1alpha1","kind":"PrivateCloudGateway","metadata":{"name":"g"},"spec":{}}`))
	}))
	defer srv.Close()
	var got []string
	c, err := New(srv.URL, WithWarningHandler(func(text string) { got = append(got, text) }))
	if err != nil {
		t.Fatal(err)
	}
	gw := v1alpha1.New(v1alpha1.KindPrivateCloudGateway)
	gw.GetMetadata().Name = "g"
	if _, _, err := c.Apply(context.Background(), gw, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), v1alpha1.KindPrivateCloudGateway, "g"); err == nil {
		t.Fatal("get of a 404 succeeded")
	}
	if want := []string{"first", "second", "first", "second"}; !slices.Equal(got, want) {
		t.Fatalf("warnings = %q, want %q", got, want)
	}
}
