package charts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// demo is the Ref of testdata/charts/demo in a repository served at base.
func demo(base string) Ref { return Ref{Repository: base + "/repo", Name: "demo", Version: "1.2.3"} }

// packageChart packages testdata/charts/<name> with Helm, as `helm package` does, and returns
// the archive and the chart.
func packageChart(t *testing.T, name string) ([]byte, *chart.Chart) {
	t.Helper()
	ch, err := loader.LoadDir(filepath.Join("testdata", "charts", name))
	if err != nil {
		t.Fatal(err)
	}
	file, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data, ch
}

// repoServer is a chart repository on loopback over TLS that counts the requests per path.
type repoServer struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	hits  map[string]int
	delay time.Duration // before answering a chart archive
}

// newRepo serves the demo chart under /repo: the index (made by Helm's repo package, with the
// archive's digest, then changed by edit if not nil) and the archive under /repo/charts/.
func newRepo(t *testing.T, edit func(*repo.IndexFile)) *repoServer {
	t.Helper()
	archive, ch := packageChart(t, "demo")
	sum := sha256.Sum256(archive)
	index := repo.NewIndexFile()
	if err := index.MustAdd(ch.Metadata, "charts/demo-1.2.3.tgz", "", hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(index)
	}
	indexFile := filepath.Join(t.TempDir(), "index.yaml")
	if err := index.WriteFile(indexFile, 0o644); err != nil {
		t.Fatal(err)
	}
	indexData, err := os.ReadFile(indexFile)
	if err != nil {
		t.Fatal(err)
	}
	s := &repoServer{hits: map[string]int{}, files: map[string][]byte{
		"/repo/index.yaml":            indexData,
		"/repo/charts/demo-1.2.3.tgz": archive,
	}}
	s.Server = httptest.NewTLSServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *repoServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	s.hits[req.URL.Path]++
	data, ok := s.files[req.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	if strings.HasSuffix(req.URL.Path, ".tgz") {
		time.Sleep(s.delay)
	}
	_, _ = w.Write(data)
}

// requests returns the number of requests so far per path.
func (s *repoServer) requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.hits {
		out[k] = v
	}
	return out
}

// newRenderer returns a Renderer that trusts srv, caching in dir (a new directory if "").
func newRenderer(t *testing.T, srv *httptest.Server, dir string, log *bytes.Buffer) *Renderer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	opts := Options{CacheDir: dir, HTTPClient: srv.Client()}
	if log != nil {
		opts.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRenderOverridesDefaultsInInstallOrder(t *testing.T) {
	srv := newRepo(t, nil)
	r := newRenderer(t, srv.Server, "", nil)
	out, err := r.Render(t.Context(), demo(srv.URL), "web", "apps", "replicaCount: 3\ngreeting: hi\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"replicas: 3",                                 // overridden
		`greeting: "hi"`,                              // overridden
		`image: "registry.example/demo:2.0.0"`,        // default of values.yaml
		"name: web-demo\n  namespace: apps",           // release name and namespace
		`kubeVersion: "v1.37.2"`,                      // the default capabilities
		"# Source: demo/templates/settings.yaml\n",    // headed as helm template does
		"kind: CustomResourceDefinition",              // crds/ kept
		"helm.sh/hook: pre-install",                   // the install hook kept
		"name: widgets.demo.example\nspec:\n  group:", // CRD verbatim
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "helm.sh/hook: test") {
		t.Errorf("the test hook is rendered:\n%s", out)
	}
	// Install order: the CRD, the pre-install hook, then the ConfigMap before the Deployment
	// although its file sorts after.
	order := []string{"kind: CustomResourceDefinition", "kind: Job", "kind: ConfigMap", "kind: Deployment"}
	last := -1
	for _, kind := range order {
		i := strings.Index(out, kind)
		if i < last {
			t.Fatalf("%s is out of order %v:\n%s", kind, order, out)
		}
		last = i
	}
	if !strings.HasPrefix(out, "---\n# Source: demo/crds/widgets.yaml\n") {
		t.Errorf("the output does not begin with the CRD:\n%s", out)
	}
}

func TestRenderDownloadsOnceThenReadsTheCache(t *testing.T) {
	srv := newRepo(t, nil)
	var log bytes.Buffer
	r := newRenderer(t, srv.Server, "", &log)
	first, err := r.Render(t.Context(), demo(srv.URL), "web", "apps", "")
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Render(t.Context(), demo(srv.URL), "web", "apps", "replicaCount: 2")
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.requests(); got["/repo/index.yaml"] != 1 || got["/repo/charts/demo-1.2.3.tgz"] != 1 || len(got) != 2 {
		t.Errorf("requests = %v, want the index and the archive once", got)
	}
	if !strings.Contains(first, "replicas: 1") || !strings.Contains(second, "replicas: 2") {
		t.Errorf("the values of each call are not the ones rendered:\n%s\n%s", first, second)
	}
	if n := strings.Count(log.String(), "chart downloaded"); n != 1 {
		t.Errorf("%d download log lines, want 1:\n%s", n, log.String())
	}
}

func TestConcurrentRendersShareOneDownload(t *testing.T) {
	srv := newRepo(t, nil)
	srv.delay = 200 * time.Millisecond // the callers arrive while the archive downloads
	r := newRenderer(t, srv.Server, "", nil)
	const callers = 8
	outs := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { outs[i], errs[i] = r.Render(t.Context(), demo(srv.URL), "web", "apps", "") })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if outs[i] != outs[0] {
			t.Errorf("caller %d rendered something else", i)
		}
	}
	if got := srv.requests(); got["/repo/index.yaml"] != 1 || got["/repo/charts/demo-1.2.3.tgz"] != 1 {
		t.Errorf("requests = %v, want the index and the archive once", got)
	}
}

func TestTheCacheOutlivesTheRenderer(t *testing.T) {
	srv := newRepo(t, nil)
	dir := t.TempDir()
	want, err := newRenderer(t, srv.Server, dir, nil).Render(t.Context(), demo(srv.URL), "web", "apps", "")
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // a new Renderer on the same directory needs no repository any more
	got, err := newRenderer(t, srv.Server, dir, nil).Render(t.Context(), demo(srv.URL), "web", "apps", "")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("rendered from the cache:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderErrors(t *testing.T) {
	srv := newRepo(t, nil)
	badDigest := newRepo(t, func(i *repo.IndexFile) { i.Entries["demo"][0].Digest = strings.Repeat("0", 64) })
	ctx := t.Context()
	for _, tc := range []struct {
		name   string
		srv    *repoServer
		ref    Ref
		values string
		want   []string
	}{
		{"missing version", srv, Ref{srv.URL + "/repo", "demo", "9.9.9"}, "",
			[]string{"chart " + srv.URL + "/repo demo 9.9.9: version not in the repository index"}},
		{"a version range is not a version", srv, Ref{srv.URL + "/repo", "demo", "^1.2.0"}, "",
			[]string{"version not in the repository index"}},
		{"missing chart", srv, Ref{srv.URL + "/repo", "other", "1.2.3"}, "",
			[]string{"chart name not in the repository index"}},
		{"404", srv, Ref{srv.URL + "/nothing", "demo", "1.2.3"}, "",
			[]string{"chart " + srv.URL + "/nothing demo 1.2.3: GET " + srv.URL + "/nothing/index.yaml: 404 Not Found"}},
		{"digest mismatch", badDigest, demo(badDigest.URL), "",
			[]string{"digest mismatch: the repository index gives sha256 0000", "demo-1.2.3.tgz has "}},
		{"invalid values", srv, demo(srv.URL), "replicaCount: [3",
			[]string{"chart " + srv.URL + "/repo demo 1.2.3: the values are not valid YAML"}},
		{"values not a mapping", srv, demo(srv.URL), "- 3",
			[]string{"the values are not valid YAML"}},
		{"values against the schema", srv, demo(srv.URL), "replicaCount: many",
			[]string{"values: values don't meet the specifications of the schema", "replicaCount"}},
		{"template error", srv, demo(srv.URL), "fail: true",
			[]string{"render: ", "demo/templates/settings.yaml", "values asked this template to fail"}},
		{"plain http", srv, Ref{"http://127.0.0.1/repo", "demo", "1.2.3"}, "",
			[]string{"the scheme must be https:// or oci://"}},
		{"no name", srv, Ref{srv.URL + "/repo", "", "1.2.3"}, "",
			[]string{`chart name "" is empty`}},
		{"a name that is a path", srv, Ref{srv.URL + "/repo", "../demo", "1.2.3"}, "",
			[]string{"not a single path segment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := newRenderer(t, tc.srv.Server, dir, nil).Render(ctx, tc.ref, "web", "apps", tc.values)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\nlacks %q", err, want)
				}
			}
			if tc.name == "digest mismatch" {
				if cached, _ := filepath.Glob(filepath.Join(dir, "*.tgz")); len(cached) > 0 {
					t.Errorf("an archive that failed its digest is cached: %v", cached)
				}
			}
		})
	}
}

func TestRenderChecksTheKubernetesVersion(t *testing.T) {
	srv := newRepo(t, nil)
	r, err := New(Options{CacheDir: t.TempDir(), HTTPClient: srv.Client(), KubeVersion: "v1.29.4"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Render(t.Context(), demo(srv.URL), "web", "apps", "")
	if err == nil || !strings.Contains(err.Error(), "the chart requires Kubernetes >=1.30.0-0, not v1.29.4") {
		t.Fatalf("err = %v", err)
	}
	r, err = New(Options{CacheDir: t.TempDir(), HTTPClient: srv.Client(), KubeVersion: "v1.38.1"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Render(t.Context(), demo(srv.URL), "web", "apps", "")
	if err != nil || !strings.Contains(out, `kubeVersion: "v1.38.1"`) {
		t.Fatalf("err = %v, out:\n%s", err, out)
	}
}

func TestCredentialsOfTheRepositoryURLAreNeverShown(t *testing.T) {
	srv := newRepo(t, nil)
	var log bytes.Buffer
	r := newRenderer(t, srv.Server, "", &log)
	withUser := strings.Replace(srv.URL, "https://", "https://reader:s3cret@", 1) + "/repo"
	if _, err := r.Render(t.Context(), Ref{withUser + "?token=t0ken", "demo", "1.2.3"}, "web", "apps", ""); err != nil {
		t.Fatal(err)
	}
	_, err := r.Render(t.Context(), Ref{withUser, "demo", "9.9.9"}, "web", "apps", "")
	if err == nil {
		t.Fatal("no error")
	}
	// A request that fails: net/http names the URL without the password but with the query.
	_, unreachable := r.Render(t.Context(), Ref{"https://reader:s3cret@127.0.0.1:1/repo?token=t0ken", "demo", "1.2.3"}, "web", "apps", "")
	if unreachable == nil {
		t.Fatal("no error from an unreachable repository")
	}
	for _, text := range []string{err.Error(), unreachable.Error(), log.String()} {
		if strings.Contains(text, "s3cret") || strings.Contains(text, "t0ken") {
			t.Errorf("a credential is shown: %s", text)
		}
		if !strings.Contains(text, "reader:xxxxx@") {
			t.Errorf("the redacted repository is not named: %s", text)
		}
	}
}

func TestContextEndsTheWaitNotTheSharedDownload(t *testing.T) {
	srv := newRepo(t, nil)
	srv.delay = 300 * time.Millisecond
	r := newRenderer(t, srv.Server, "", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Render(ctx, demo(srv.URL), "web", "apps", ""); err == nil || !strings.Contains(err.Error(), "wait for the download") {
		t.Fatalf("err = %v, want the wait ended", err)
	}
	if _, err := r.Render(t.Context(), demo(srv.URL), "web", "apps", ""); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()["/repo/charts/demo-1.2.3.tgz"]; got != 1 {
		t.Errorf("the archive was requested %d times, want 1: the first download went on", got)
	}
}

func TestNewNeedsACacheDir(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("no error")
	}
	if _, err := New(Options{CacheDir: t.TempDir(), KubeVersion: "one"}); err == nil {
		t.Fatal("no error for a Kubernetes version that does not parse")
	}
}

func TestResolveURL(t *testing.T) {
	for _, tc := range []struct{ base, ref, want string }{
		{"https://h/charts", "demo-1.tgz", "https://h/charts/demo-1.tgz"},
		{"https://h/charts/", "sub/demo-1.tgz", "https://h/charts/sub/demo-1.tgz"},
		{"https://u:p@h/charts?sig=x", "demo-1.tgz", "https://u:p@h/charts/demo-1.tgz?sig=x"},
		{"https://h/charts", "https://cdn/demo-1.tgz", "https://cdn/demo-1.tgz"},
		{"https://h/charts", "/abs/demo-1.tgz", "https://h/abs/demo-1.tgz"},
	} {
		got, err := resolveURL(tc.base, tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("resolveURL(%q, %q) = %q, %v; want %q", tc.base, tc.ref, got, err, tc.want)
		}
	}
}

func TestExternalRef(t *testing.T) {
	for _, tc := range []struct{ schema, want string }{
		{`{"$schema":"https://json-schema.org/draft-07/schema#","properties":{"a":{"$ref":"#/definitions/a"}}}`, ""},
		{`{"$id":"https://example.com/values.json","type":"object"}`, ""},
		{`{"properties":{"a":{"$ref":"file:///etc/passwd"}}}`, "$ref=file:///etc/passwd"},
		{`{"allOf":[{"$ref":"other.json"}]}`, "$ref=other.json"},
		{`{"$schema":"http://10.0.0.1/meta"}`, "$schema=http://10.0.0.1/meta"},
		{`{"$dynamicRef":"https://example.com/x"}`, "$dynamicRef=https://example.com/x"},
		{`{"$vocabulary":{"https://example.com/v":true}}`, "$vocabulary"},
	} {
		ch := &chart.Chart{Metadata: &chart.Metadata{Name: "c"}, Schema: []byte(tc.schema)}
		got := externalSchemaRef(ch)
		if tc.want == "" && got != "" || tc.want != "" && !strings.HasSuffix(got, tc.want) {
			t.Errorf("externalSchemaRef(%s) = %q, want %q", tc.schema, got, tc.want)
		}
	}
}

func TestAnExternalSchemaIsNotLoaded(t *testing.T) {
	// A chart whose schema points at a file of the server: values are not validated (a warning
	// says so) rather than the file read.
	archive, _ := packageChart(t, "demo")
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	ch.Schema = []byte(`{"properties":{"replicaCount":{"$ref":"file:///nonexistent/schema.json"}}}`)
	var log bytes.Buffer
	r, err := New(Options{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.render(t.Context(), ch, map[string]any{"replicaCount": 2}, "web", "apps"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "not checked against the chart's schema") {
		t.Errorf("no warning: %s", log.String())
	}
}
