package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const gatewayJSON = `{"apiVersion":"strata.dev/v1alpha1","kind":"PrivateCloudGateway","metadata":{"name":"pcg","resourceVersion":"%s"},"spec":{}}`

// TestWatchReadsEvents checks the request of a watch and the decoding of its lines, across
// pauses longer than the client's request timeout, up to the server's ERROR line.
func TestWatchReadsEvents(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Path + "?" + r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		flush := func(line string) {
			io.WriteString(w, line+"\n")
			w.(http.Flusher).Flush()
		}
		flush(`{"type":"ADDED","object":` + fmt.Sprintf(gatewayJSON, "5") + `}`)
		time.Sleep(300 * time.Millisecond) // longer than the client's timeout
		flush(`{"type":"MODIFIED","object":` + fmt.Sprintf(gatewayJSON, "6") + `}`)
		flush(`{"type":"DELETED","object":` + fmt.Sprintf(gatewayJSON, "7") + `}`)
		flush(`{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"list again"}}`)
	}))
	defer srv.Close()
	c, err := New(srv.URL, WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(context.Background(), "PrivateCloudGateway", WatchOptions{Name: "pcg", ResourceVersion: "4"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if query != "/api/v1alpha1/privatecloudgateways?name=pcg&resourceVersion=4&watch=true" {
		t.Errorf("request %s", query)
	}
	for _, want := range []string{"ADDED/5", "MODIFIED/6", "DELETED/7"} {
		ev, err := w.Next()
		if err != nil {
			t.Fatalf("next, want %s: %v", want, err)
		}
		if got := ev.Type + "/" + ev.Object.GetMetadata().ResourceVersion; got != want || ev.Object.GetTypeMeta().Kind != "PrivateCloudGateway" {
			t.Errorf("event %s of kind %s, want %s", got, ev.Object.GetTypeMeta().Kind, want)
		}
	}
	_, err = w.Next()
	var ae *APIError
	if !IsExpired(err) || !errors.As(err, &ae) || ae.Code != http.StatusGone {
		t.Errorf("the ERROR line gave %v, want an Expired APIError with code 410", err)
	}
	if _, err := w.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the end: %v, want io.EOF", err)
	}
}

// TestWatchRefused checks that a watch the server refuses is an APIError.
func TestWatchRefused(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusGone)
		io.WriteString(w, `{"kind":"Status","code":410,"reason":"Expired","message":"the changes after resourceVersion 3 are no longer kept"}`)
	})
	if _, err := c.Watch(context.Background(), "Cluster", WatchOptions{ResourceVersion: "3"}); !IsExpired(err) {
		t.Errorf("watch answered 410: %v, want IsExpired", err)
	}
	if _, err := c.Watch(context.Background(), "Nope", WatchOptions{}); err == nil {
		t.Error("watch of an unknown kind succeeded")
	}
}
