package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v4/pkg/registry"
)

// ociRegistry is a read-only OCI distribution registry on loopback over TLS, just enough for
// a pull: manifests by tag or digest and blobs by digest, GET and HEAD. It holds one chart,
// pushed the way Helm pushes one (a config of the chart's metadata and a layer of the
// archive).
type ociRegistry struct {
	*httptest.Server
	mu      sync.Mutex
	objects map[string]ociObject // by path
	hits    int
}

type ociObject struct {
	mediaType string
	data      []byte
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// newOCIRegistry serves testdata/charts/demo as <host>/charts/demo:1.2.3; corrupt changes the
// layer served after its digest is taken.
func newOCIRegistry(t *testing.T, corrupt bool) *ociRegistry {
	t.Helper()
	archive, ch := packageChart(t, "demo")
	config, err := json.Marshal(ch.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	descriptor := func(mediaType string, data []byte) map[string]any {
		return map[string]any{"mediaType": mediaType, "digest": digestOf(data), "size": len(data)}
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor(registry.ConfigMediaType, config),
		"layers":        []any{descriptor(registry.ChartLayerMediaType, archive)},
	})
	if err != nil {
		t.Fatal(err)
	}
	served := archive
	if corrupt {
		served = append([]byte{}, archive...)
		served[len(served)/2] ^= 0xff
	}
	m := ociObject{"application/vnd.oci.image.manifest.v1+json", manifest}
	reg := &ociRegistry{objects: map[string]ociObject{
		"/v2/charts/demo/manifests/1.2.3":                 m,
		"/v2/charts/demo/manifests/" + digestOf(manifest): m,
		"/v2/charts/demo/blobs/" + digestOf(config):       {registry.ConfigMediaType, config},
		"/v2/charts/demo/blobs/" + digestOf(archive):      {registry.ChartLayerMediaType, served},
	}}
	reg.Server = httptest.NewTLSServer(reg)
	t.Cleanup(reg.Close)
	return reg
}

func (reg *ociRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	reg.mu.Lock()
	reg.hits++
	obj, ok := reg.objects[req.URL.Path]
	reg.mu.Unlock()
	if req.URL.Path == "/v2/" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if !ok || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
		http.Error(w, `{"errors":[{"code":"NAME_UNKNOWN"}]}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", obj.mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(obj.data)))
	if strings.Contains(req.URL.Path, "/manifests/") {
		w.Header().Set("Docker-Content-Digest", digestOf(obj.data))
	}
	if req.Method == http.MethodGet {
		_, _ = w.Write(obj.data)
	}
}

func (reg *ociRegistry) requests() int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.hits
}

func ociRef(reg *ociRegistry) Ref {
	return Ref{Repository: "oci://" + strings.TrimPrefix(reg.URL, "https://") + "/charts", Name: "demo", Version: "1.2.3"}
}

func TestRenderPullsFromAnOCIRegistryOnce(t *testing.T) {
	reg := newOCIRegistry(t, false)
	r := newRenderer(t, reg.Server, "", nil)
	out, err := r.Render(t.Context(), ociRef(reg), "web", "apps", "greeting: from-oci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `greeting: "from-oci"`) || !strings.HasPrefix(out, "---\n# Source: demo/crds/widgets.yaml\n") {
		t.Errorf("output:\n%s", out)
	}
	pulled := reg.requests()
	if _, err := r.Render(t.Context(), ociRef(reg), "web", "apps", ""); err != nil {
		t.Fatal(err)
	}
	if reg.requests() != pulled {
		t.Errorf("the second Render made %d requests, want none", reg.requests()-pulled)
	}
}

func TestOCIPullErrors(t *testing.T) {
	corrupt := newOCIRegistry(t, true)
	_, err := newRenderer(t, corrupt.Server, "", nil).Render(t.Context(), ociRef(corrupt), "web", "apps", "")
	if err == nil || !strings.Contains(err.Error(), "digest") {
		t.Errorf("a layer that is not its digest: err = %v", err)
	}
	reg := newOCIRegistry(t, false)
	missing := ociRef(reg)
	missing.Version = "9.9.9"
	_, err = newRenderer(t, reg.Server, "", nil).Render(t.Context(), missing, "web", "apps", "")
	if err == nil || !strings.Contains(err.Error(), "demo 9.9.9: pull "+missing.Repository+"/demo:9.9.9: ") {
		t.Errorf("a missing tag: err = %v", err)
	}
}

func TestOCIRefs(t *testing.T) {
	for _, tc := range []struct {
		repository string
		ok         bool
	}{
		{"oci://registry.example/charts", true},
		{"oci://registry.example:5000/a/b", true},
		{"oci://user:pw@registry.example/charts", false},
		{"oci://registry.example/charts?x=1", false},
		{"oci:///charts", false},
	} {
		err := Ref{Repository: tc.repository, Name: "demo", Version: "1.2.3+build.1"}.validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.repository, err)
		}
	}
}
