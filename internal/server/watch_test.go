package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/postgres"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// watchStream is a watch response being read.
type watchStream struct {
	t      *testing.T
	resp   *http.Response
	cancel context.CancelFunc
	lines  chan string
	// raw holds every line read, for the secret check.
	raw []string
}

// event is a decoded watch line: its type, and the kind, key and resourceVersion of its object.
type event struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// startWatch sends a watch request and fails the test unless it answers 200.
func (ts *testServer) startWatch(t *testing.T, kind, query string) *watchStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.url+kindPath(kind)+"?watch=true"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("watch %s%s: %d %s", kind, query, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("watch Content-Type %q", ct)
	}
	ws := &watchStream{t: t, resp: resp, cancel: cancel, lines: make(chan string, 100)}
	go func() {
		defer close(ws.lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			ws.lines <- sc.Text()
		}
	}()
	t.Cleanup(ws.close)
	return ws
}

// close ends the watch on the client's side.
func (ws *watchStream) close() {
	ws.cancel()
	ws.resp.Body.Close()
}

// next reads n events, as "TYPE key@rv" (the key from the object's name, and version for a
// profile).
func (ws *watchStream) next(n int) []string {
	ws.t.Helper()
	var out []string
	for range n {
		select {
		case line, ok := <-ws.lines:
			if !ok {
				ws.t.Fatalf("the watch ended after %v", out)
			}
			ws.raw = append(ws.raw, line)
			var ev event
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				ws.t.Fatalf("watch line %q: %v", line, err)
			}
			var obj struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name            string `json:"name"`
					ResourceVersion string `json:"resourceVersion"`
				} `json:"metadata"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(ev.Object, &obj); err != nil {
				ws.t.Fatal(err)
			}
			if ev.Type == WatchError {
				out = append(out, fmt.Sprintf("%s %s", ev.Type, obj.Reason))
				continue
			}
			out = append(out, fmt.Sprintf("%s %s %s@%s", ev.Type, obj.Kind, obj.Metadata.Name, obj.Metadata.ResourceVersion))
		case <-time.After(10 * time.Second):
			ws.t.Fatalf("no watch event within 10s after %v", out)
		}
	}
	return out
}

// ended waits for the end of the stream.
func (ws *watchStream) ended() {
	ws.t.Helper()
	select {
	case line, ok := <-ws.lines:
		if ok {
			ws.t.Fatalf("watch line %q, want the end of the stream", line)
		}
	case <-time.After(10 * time.Second):
		ws.t.Fatal("the watch did not end within 10s")
	}
}

// listVersion lists kind and returns the list's resourceVersion.
func (ts *testServer) listVersion(t *testing.T, kind string) string {
	t.Helper()
	r := ts.do(http.MethodGet, kindPath(kind), nil, "")
	var list List
	if err := json.Unmarshal(r.body, &struct {
		ResourceVersion *string `json:"resourceVersion"`
	}{&list.ResourceVersion}); err != nil || r.code != http.StatusOK || list.ResourceVersion == "" {
		t.Fatalf("list %s: %d %s", kind, r.code, r.body)
	}
	return list.ResourceVersion
}

func rvOf(t *testing.T, r *response, kind string) string {
	t.Helper()
	return r.object(t, kind).GetMetadata().ResourceVersion
}

// TestWatchOverHTTP watches gateways from a list's resourceVersion while they are created,
// changed and deleted through the API, on each store: one line per change, in order, with the
// object and the write's resourceVersion; accounts' secrets never in the stream.
func TestWatchOverHTTP(t *testing.T) {
	for _, sto := range testStores {
		t.Run(sto.name, func(t *testing.T) {
			ts := newTestServerOn(t, sto.open(t))
			ts.create(gateway("before"))
			ws := ts.startWatch(t, v1alpha1.KindPrivateCloudGateway, "&resourceVersion="+ts.listVersion(t, v1alpha1.KindPrivateCloudGateway))
			accounts := ts.startWatch(t, v1alpha1.KindCloudAccount, "&resourceVersion="+ts.listVersion(t, v1alpha1.KindCloudAccount))

			gw := gateway("pcg")
			created := ts.create(gw)
			ts.create(account("acct", "", "watched-secret-value"))
			gw.Spec.Network.VirtualNetwork = "other-vnet"
			changed := ts.apply(gw, "")
			deleted := ts.do(http.MethodDelete, objPath(gw), nil, "")
			ts.get(v1alpha1.KindPrivateCloudGateway, "pcg", http.StatusNotFound)
			got := ws.next(3)
			deletedRV := strings.TrimPrefix(got[2], "DELETED PrivateCloudGateway pcg@")
			want := []string{
				"ADDED PrivateCloudGateway pcg@" + created.GetMetadata().ResourceVersion,
				"MODIFIED PrivateCloudGateway pcg@" + rvOf(t, changed, v1alpha1.KindPrivateCloudGateway),
				"DELETED PrivateCloudGateway pcg@" + deletedRV,
			}
			d, _ := strconv.Atoi(deletedRV)
			m, _ := strconv.Atoi(rvOf(t, changed, v1alpha1.KindPrivateCloudGateway))
			if !slices.Equal(got, want) || d <= m || deleted.code != http.StatusOK {
				t.Errorf("watch events %v, want %v", got, want)
			}
			if got := accounts.next(1); len(got) != 1 || !strings.HasPrefix(got[0], "ADDED CloudAccount acct@") {
				t.Errorf("account watch: %v", got)
			}
			if !strings.Contains(accounts.raw[0], `"clientSecretSet":true`) || strings.Contains(accounts.raw[0], "watched-secret-value") {
				t.Errorf("account in the watch: %s", accounts.raw[0])
			}
			sealed := gateway("sealed")
			sealed.Spec.Proxy.HTTPProxy = "http://svc:watched-proxy-password@proxy.corp.example:3128"
			ts.create(sealed)
			if got := ws.next(1); len(got) != 1 || !strings.HasPrefix(got[0], "ADDED PrivateCloudGateway sealed@") {
				t.Fatalf("watch of a gateway with a proxy password: %v", got)
			}
			line := ws.raw[len(ws.raw)-1]
			if !strings.Contains(line, `"httpProxyPasswordSet":true`) || strings.Contains(line, "watched-proxy-password") {
				t.Errorf("gateway in the watch: %s", line)
			}
		})
	}
}

// TestWatchFromNow watches without a resourceVersion: the objects as they are come first, as
// ADDED, then the changes; name= keeps one name.
func TestWatchFromNow(t *testing.T) {
	ts := newTestServer(t)
	a := ts.create(profile("base", "1.0.0"))
	ts.create(profile("other", "1.0.0"))
	all := ts.startWatch(t, v1alpha1.KindClusterProfile, "")
	base := ts.startWatch(t, v1alpha1.KindClusterProfile, "&name=base")
	b := ts.create(profile("base", "2.0.0"))
	want := []string{
		"ADDED ClusterProfile base@" + a.GetMetadata().ResourceVersion,
		"ADDED ClusterProfile base@" + b.GetMetadata().ResourceVersion,
	}
	if got := base.next(2); !slices.Equal(got, want) {
		t.Errorf("watch of base: %v, want %v", got, want)
	}
	if got := all.next(3); len(got) != 3 || got[0] != want[0] || !strings.HasPrefix(got[1], "ADDED ClusterProfile other@") || got[2] != want[1] {
		t.Errorf("watch of every profile: %v", got)
	}
}

// TestWatchErrors checks the answers to watches that cannot be served: bad parameters, a
// resourceVersion whose changes were pruned (410 Expired, which tells the client to list
// again), and the end of the stream when the server stops.
func TestWatchErrors(t *testing.T) {
	ts := newTestServer(t)
	ts.create(gateway("first"))
	old := ts.listVersion(t, v1alpha1.KindPrivateCloudGateway)
	ts.create(gateway("pcg"))
	// The feed hands out pcg's change before the prune: a feed that read it before the prune
	// and hands it out after a watch from old started would serve that watch (nothing it
	// needs is lost) instead of answering 410.
	caughtUp := ts.startWatch(t, v1alpha1.KindPrivateCloudGateway, "&resourceVersion="+old)
	if got := caughtUp.next(1); len(got) != 1 || !strings.HasPrefix(got[0], "ADDED PrivateCloudGateway pcg@") {
		t.Fatalf("watch from %s before the prune: %v", old, got)
	}
	caughtUp.close()
	if err := ts.store.PruneChanges(t.Context(), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	now := ts.listVersion(t, v1alpha1.KindPrivateCloudGateway)
	tests := []struct {
		query  string
		code   int
		reason string
	}{
		{"?watch=maybe", http.StatusBadRequest, ReasonBadRequest},
		{"?watch=true&resourceVersion=x", http.StatusBadRequest, ReasonBadRequest},
		{"?watch=true&resourceVersion=-4", http.StatusBadRequest, ReasonBadRequest},
		{"?watch=true&resourceVersion=999999", http.StatusBadRequest, ReasonBadRequest},
		{"?watch=true&resourceVersion=" + old, http.StatusGone, ReasonExpired},
	}
	for _, tc := range tests {
		r := ts.do(http.MethodGet, kindPath(v1alpha1.KindPrivateCloudGateway)+tc.query, nil, "")
		if st := r.status(t); r.code != tc.code || st.Reason != tc.reason {
			t.Errorf("GET %s: %d %s, want %d %s", tc.query, r.code, r.body, tc.code, tc.reason)
		}
	}
	ws := ts.startWatch(t, v1alpha1.KindPrivateCloudGateway, "&resourceVersion="+now)
	ts.stopFeed()
	ws.ended()
	r := ts.do(http.MethodGet, kindPath(v1alpha1.KindPrivateCloudGateway)+"?watch=true", nil, "")
	if st := r.status(t); r.code != http.StatusServiceUnavailable || st.Reason != ReasonServiceUnavailable {
		t.Errorf("watch of a stopped server: %d %s", r.code, r.body)
	}
}

// TestWatchTooMany checks that a server with as many watches as its feed allows refuses one
// more with 429, and takes it again once a watch ends.
func TestWatchTooMany(t *testing.T) {
	ts := newTestServerWithFeed(t, openSQLite(t), feed.Config{MaxWatchers: 1})
	first := ts.startWatch(t, v1alpha1.KindCluster, "")
	r := ts.do(http.MethodGet, kindPath(v1alpha1.KindCluster)+"?watch=true", nil, "")
	if st := r.status(t); r.code != http.StatusTooManyRequests || st.Reason != ReasonTooManyRequests {
		t.Fatalf("a second watch: %d %s", r.code, r.body)
	}
	first.close()
	// The server sees the client go, and ends its watch.
	deadline := time.Now().Add(10 * time.Second)
	for code := 0; code != http.StatusOK; {
		code = ts.watchStatus(t, v1alpha1.KindCluster)
		if code != http.StatusOK && code != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("a watch after the first ended: %d", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// watchStatus starts a watch and returns its status code, closing it at once.
func (ts *testServer) watchStatus(t *testing.T, kind string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.url+kindPath(kind)+"?watch=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestWatchOtherServer runs two servers on one PostgreSQL database: a change written through
// the second, and a status written by its controller (straight into its store), reach a watch
// of the first.
func TestWatchOtherServer(t *testing.T) {
	_, url := storetest.PostgresSchema(t)
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), url, testSealer(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	a, b := newTestServerOn(t, open()), newTestServerOn(t, open())
	ws := a.startWatch(t, v1alpha1.KindPrivateCloudGateway, "&resourceVersion="+a.listVersion(t, v1alpha1.KindPrivateCloudGateway))
	created := b.create(gateway("pcg"))
	obj, err := b.store.Get(t.Context(), v1alpha1.KindPrivateCloudGateway, "pcg")
	if err != nil {
		t.Fatal(err)
	}
	obj.GetStatus().Phase = "Ready"
	if err := b.store.Update(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ADDED PrivateCloudGateway pcg@" + created.GetMetadata().ResourceVersion,
		"MODIFIED PrivateCloudGateway pcg@" + obj.GetMetadata().ResourceVersion,
	}
	if got := ws.next(2); !slices.Equal(got, want) {
		t.Errorf("watch on the first server: %v, want %v", got, want)
	}
}

// TestServeEndsWatches checks that Serve runs the change feed, and that when its context ends
// the watches end with it, so that the shutdown completes instead of waiting for them.
func TestServeEndsWatches(t *testing.T) {
	srv := New(Config{Store: openSQLite(t)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	ts := &testServer{t: t, srv: srv, url: "http://" + ln.Addr().String()}
	ws := ts.startWatch(t, v1alpha1.KindPrivateCloudGateway, "")
	ts.create(gateway("pcg"))
	if got := ws.next(1); len(got) != 1 || !strings.HasPrefix(got[0], "ADDED PrivateCloudGateway pcg@") {
		t.Fatalf("watch through Serve: %v", got)
	}
	cancel()
	ws.ended()
	if err := <-done; err != nil {
		t.Errorf("Serve returned %v with a watch open, want nil", err)
	}
}
