package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store"
	"github.com/strata-dev/strata/internal/store/sqlite"
	"github.com/strata-dev/strata/internal/store/storetest"
)

// lockedBuffer is a bytes.Buffer written by a command while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLines waits until out holds n lines and returns them, each with its spaces collapsed.
func waitLines(t *testing.T, out *lockedBuffer, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		if len(lines) >= n && out.String() != "" {
			for i, l := range lines {
				lines[i] = strings.Join(strings.Fields(l), " ")
			}
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d lines of output within 10s, got:\n%s", n, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// watchServer is a real server on a SQLite file whose feed reads the store only when the
// server's store writes, and a second store on the same file ("another server") whose writes
// stay unread until then.
type watchServer struct {
	url           string
	st, elsewhere store.Store
	// stop stops the server as a shutdown does: its watches end, then it stops answering.
	stop func()
}

func newWatchServer(t *testing.T, cfg feed.Config) *watchServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "strata.db")
	sealer := storetest.NewSealer(t)
	open := func() store.Store {
		st, err := sqlite.Open(t.Context(), path, sealer)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st, elsewhere := open(), open()
	cfg.PollInterval = time.Hour
	srv := server.New(server.Config{Store: st, Feed: feed.New(st, cfg)})
	hs := httptest.NewServer(srv.Handler())
	feedCtx, stopFeed := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = srv.RunFeed(feedCtx)
	}()
	stop := func() {
		stopFeed()
		<-ran
		hs.Close()
	}
	t.Cleanup(stop)
	return &watchServer{url: hs.URL, st: st, elsewhere: elsewhere, stop: stop}
}

// startGetWatch runs strata with args until the test ends, and returns its output.
func startGetWatch(t *testing.T, args ...string) (out, errOut *lockedBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut = &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		root := NewRoot(Streams{In: strings.NewReader(""), Out: out, Err: errOut})
		done <- Execute(ctx, root, args)
	}()
	code := -1
	stop = func() int {
		if code < 0 {
			cancel()
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return out, errOut, stop
}

func gatewayObj(name string) v1alpha1.Object {
	return storetest.NewObject(v1alpha1.KindPrivateCloudGateway, name)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// firstFields keeps the first two fields of each line.
func firstFields(lines []string) string {
	var got []string
	for _, l := range lines {
		f := strings.Fields(l)
		got = append(got, f[0]+" "+f[1])
	}
	return strings.Join(got, "\n")
}

// TestGetWatchListsAgainWhenExpired runs `get -w` against a real server whose feed falls
// behind the store's retention: the server ends the watch with 410 Expired, and get lists again
// and prints what changed meanwhile (added, modified, deleted) before it goes on watching.
func TestGetWatchListsAgainWhenExpired(t *testing.T) {
	ws := newWatchServer(t, feed.Config{})
	a := gatewayObj("a")
	must(t, ws.st.Create(t.Context(), a))
	must(t, ws.st.Create(t.Context(), gatewayObj("c")))
	out, errOut, stop := startGetWatch(t, "--server", ws.url, "get", "gateways", "-w", "--output-watch-events")
	waitLines(t, out, 3)
	// Wait until the watch runs: a write through the server's store shows.
	must(t, ws.st.Create(t.Context(), gatewayObj("first")))
	waitLines(t, out, 4)

	// Written elsewhere and pruned before the feed reads it.
	must(t, ws.elsewhere.Create(t.Context(), gatewayObj("b")))
	a.GetStatus().Phase = "Ready"
	must(t, ws.elsewhere.Update(t.Context(), a))
	must(t, ws.elsewhere.Delete(t.Context(), v1alpha1.KindPrivateCloudGateway, "c", ""))
	must(t, ws.elsewhere.PruneChanges(t.Context(), time.Now().Add(time.Second)))
	must(t, ws.st.Create(t.Context(), gatewayObj("d")))
	waitLines(t, out, 8)
	must(t, ws.st.Delete(t.Context(), v1alpha1.KindPrivateCloudGateway, "d", ""))

	want := strings.Join([]string{
		"EVENT NAME",
		"ADDED a", "ADDED c", // the list
		"ADDED first",                                   // watched
		"MODIFIED a", "ADDED b", "ADDED d", "DELETED c", // listed again after 410
		"DELETED d", // watched again
	}, "\n")
	if got := firstFields(waitLines(t, out, 9)); got != want {
		t.Errorf("get -w printed\n%s\nwant\n%s\nstderr: %s", out, want, errOut)
	}
	if code := stop(); code != 0 {
		t.Errorf("get -w exited %d after its context ended; stderr: %s", code, errOut)
	}
}

// TestGetWatchResumesAfterDrop runs `get -w` against a server whose watches may hold one change
// waiting: three changes read at once drop the watch, and get watches again from the last
// change it printed, missing none.
func TestGetWatchResumesAfterDrop(t *testing.T) {
	ws := newWatchServer(t, feed.Config{Buffer: 1})
	out, errOut, _ := startGetWatch(t, "--server", ws.url, "get", "gateways", "-w", "--output-watch-events")
	must(t, ws.st.Create(t.Context(), gatewayObj("first")))
	waitLines(t, out, 2)
	for _, name := range []string{"x", "y"} {
		must(t, ws.elsewhere.Create(t.Context(), gatewayObj(name)))
	}
	must(t, ws.st.Create(t.Context(), gatewayObj("z")))
	want := "EVENT NAME\nADDED first\nADDED x\nADDED y\nADDED z"
	if got := firstFields(waitLines(t, out, 5)); got != want {
		t.Errorf("get -w printed\n%s\nwant\n%s\nstderr: %s", out, want, errOut)
	}
}

// TestGetWatchServerGone stops the server under a running `get -w`: the stream ends, the watch
// cannot start again, and get exits 1 saying the server cannot be reached.
func TestGetWatchServerGone(t *testing.T) {
	ws := newWatchServer(t, feed.Config{})
	must(t, ws.st.Create(t.Context(), gatewayObj("a")))
	out, errOut, stop := startGetWatch(t, "--server", ws.url, "get", "gateways", "-w")
	waitLines(t, out, 2)
	// Wait until the watch runs: a write through the server's store shows. Stopped before
	// the watch reached it, the server would refuse the watch (503) rather than be gone.
	must(t, ws.st.Create(t.Context(), gatewayObj("b")))
	waitLines(t, out, 3)
	ws.stop()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "cannot reach the strata server") {
		if time.Now().After(deadline) {
			t.Fatalf("get -w after the server stopped: stderr %q", errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := stop(); code != 1 {
		t.Errorf("get -w exited %d when the server could not be reached, want 1", code)
	}
}

// TestWatchPrinterColumns checks the table of get -w: the first rows set the widths, a later
// wider value widens its column from then on.
func TestWatchPrinterColumns(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-5 * time.Minute)
	gw := func(name, proxy string) v1alpha1.Object {
		o := gatewayObj(name).(*v1alpha1.PrivateCloudGateway)
		o.Metadata.CreationTimestamp = &created
		o.Spec.Proxy.HTTPSProxy = proxy
		return o
	}
	var b strings.Builder
	p := &watchPrinter{w: &b, kind: v1alpha1.KindPrivateCloudGateway, output: "table", events: true, now: func() time.Time { return now }}
	first := []v1alpha1.Object{gw("a", "http://p:1"), gw("bb", "http://proxy:3128")}
	p.widen(first)
	for _, o := range first {
		must(t, p.print("ADDED", o))
	}
	must(t, p.print("MODIFIED", gw("a-much-longer-name", "http://p:1")))
	must(t, p.print("DELETED", gw("bb", "http://proxy:3128")))
	// The EVENT column is as wide as its widest value from the start.
	want := "" +
		"EVENT      NAME   PHASE    REPLICAS   PROXY               AGE\n" +
		"ADDED      a      <none>   0          http://p:1          5m\n" +
		"ADDED      bb     <none>   0          http://proxy:3128   5m\n" +
		"MODIFIED   a-much-longer-name   <none>   0          http://p:1          5m\n" +
		"DELETED    bb                   <none>   0          http://proxy:3128   5m\n"
	if b.String() != want {
		t.Errorf("get -w table:\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWatchTableIsGetTable: the first rows of get -w are laid out as get's table of the same
// objects, values that are not ASCII included (a column is as wide as its characters, as in
// get's table, not its bytes).
func TestWatchTableIsGetTable(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-5 * time.Minute)
	var objs []v1alpha1.Object
	for _, proxy := range []string{"http://prøxy-é:3128", "http://p:1"} {
		o := gatewayObj("gw-" + proxy[len(proxy)-1:]).(*v1alpha1.PrivateCloudGateway)
		o.Metadata.CreationTimestamp = &created
		o.Spec.Proxy.HTTPSProxy = proxy
		objs = append(objs, o)
	}
	var get, watch strings.Builder
	must(t, printTable(&get, v1alpha1.KindPrivateCloudGateway, objs, now, false))
	p := &watchPrinter{w: &watch, kind: v1alpha1.KindPrivateCloudGateway, output: "table", now: func() time.Time { return now }}
	p.widen(objs)
	for _, o := range objs {
		must(t, p.print("ADDED", o))
	}
	if watch.String() != get.String() {
		t.Errorf("get -w table:\n%s\nget table:\n%s", watch.String(), get.String())
	}
}
