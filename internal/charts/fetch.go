package charts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
	"sigs.k8s.io/yaml"
)

// Size limits of what a repository sends.
const (
	maxIndexBytes   = 256 << 20 // an index.yaml: those of big public repositories are tens of MiB
	maxArchiveBytes = 64 << 20  // a chart archive
)

// errNotInIndex is what an index without the name or the version of a Ref gives.
var errNotInIndex = errors.New("not in the repository index")

// download fetches the archive of ref from its https:// chart repository: the index first,
// then the first URL the index lists for the version (relative to the repository URL when it
// is relative), checked against the digest the index gives, if any.
func (r *Renderer) download(ctx context.Context, ref Ref) ([]byte, error) {
	cv, err := r.indexEntry(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(cv.URLs) == 0 {
		return nil, errors.New("the repository index lists no URL for the version")
	}
	chartURL, err := resolveURL(ref.Repository, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("the chart URL of the repository index: %w", err)
	}
	if u, err := url.Parse(chartURL); err != nil || u.Scheme != "https" {
		return nil, fmt.Errorf("the repository index lists chart URL %s: only https:// is fetched", redactURL(chartURL))
	}
	data, err := r.get(ctx, chartURL, maxArchiveBytes)
	if err != nil {
		return nil, err
	}
	if want := strings.TrimPrefix(cv.Digest, "sha256:"); want != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, want) {
			return nil, fmt.Errorf("digest mismatch: the repository index gives sha256 %s, %s has %s",
				want, redactURL(chartURL), got)
		}
	}
	return data, nil
}

// index is what this package reads of a chart repository's index.yaml: the entries of Helm's
// repo.IndexFile. (Helm's own loader, helm.sh/helm/v4/pkg/repo/v1, imports Helm's CLI
// environment and with it kustomize, which imports Go's plugin package: linked in, that turns
// off the linker's dead-code elimination and adds some 145 MB to the strata binary.)
type index struct {
	APIVersion string                  `json:"apiVersion"`
	Entries    map[string][]indexEntry `json:"entries"`
}

// indexEntry is one version of a chart in an index: Helm's repo.ChartVersion, in part.
type indexEntry struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest"`
	Removed bool     `json:"removed"`
}

// indexEntry reads the index of ref's repository and returns the entry of ref's exact name and
// version. Like Helm, it reads an index in JSON or YAML.
func (r *Renderer) indexEntry(ctx context.Context, ref Ref) (*indexEntry, error) {
	indexURL, err := resolveURL(ref.Repository, "index.yaml")
	if err != nil {
		return nil, fmt.Errorf("the index URL: %w", err)
	}
	data, err := r.get(ctx, indexURL, maxIndexBytes)
	if err != nil {
		return nil, err
	}
	var idx index
	if err := yaml.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("the repository index %s: %w", redactURL(indexURL), err)
	}
	if idx.APIVersion == "" {
		return nil, fmt.Errorf("the repository index %s has no apiVersion: not a chart repository index", redactURL(indexURL))
	}
	versions, ok := idx.Entries[ref.Name]
	if !ok {
		return nil, fmt.Errorf("chart name %w", errNotInIndex)
	}
	for i, cv := range versions {
		if cv.Version == ref.Version && !cv.Removed {
			return &versions[i], nil
		}
	}
	return nil, fmt.Errorf("version %w", errNotInIndex)
}

// resolveURL resolves ref, which the index of the repository at base lists, against base as
// a directory, as Helm's repo.ResolveReferenceURL does: an absolute ref is itself, and a
// relative one keeps the user and the query of base.
func resolveURL(base, ref string) (string, error) {
	refURL, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", redactURL(ref), err)
	}
	if refURL.IsAbs() {
		return ref, nil
	}
	baseURL, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", redactURL(base), err)
	}
	baseURL.RawPath = strings.TrimSuffix(baseURL.RawPath, "/") + "/"
	baseURL.Path = strings.TrimSuffix(baseURL.Path, "/") + "/"
	resolved := baseURL.ResolveReference(refURL)
	resolved.RawQuery = baseURL.RawQuery
	return resolved.String(), nil
}

// get returns the body of a GET of rawURL, which must answer 200 with at most limit bytes.
func (r *Renderer) get(ctx context.Context, rawURL string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redactURL(rawURL), err)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) { // it names the URL without the password, with the query
			uerr.URL = redactURL(uerr.URL)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", redactURL(rawURL), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read the body: %w", redactURL(rawURL), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: the body is larger than %d bytes", redactURL(rawURL), limit)
	}
	return data, nil
}

// pull fetches the archive of ref from its oci:// registry with Helm's registry client, as
// oci://<host/path>/<name>:<version> ('+' in the version is '_' in the tag, as Helm pushes
// it), over HTTPS only and anonymously: no credentials of the machine (Helm's or Docker's
// login) are used. ORAS checks every blob against its digest.
func (r *Renderer) pull(ctx context.Context, ref Ref) ([]byte, error) {
	hc := *r.http
	hc.Transport = ctxTransport{ctx: ctx, base: r.http.Transport}
	client, err := registry.NewClient(
		registry.ClientOptHTTPClient(&hc),
		registry.ClientOptAuthorizer(auth.Client{Client: &hc, Cache: auth.NewCache()}),
		registry.ClientOptCredentialsFile(filepath.Join(r.cacheDir, "registry-credentials-unused.json")),
		registry.ClientOptWriter(io.Discard),
	)
	if err != nil {
		return nil, fmt.Errorf("the registry client: %w", err)
	}
	target := strings.TrimSuffix(ref.Repository, "/") + "/" + ref.Name + ":" + ref.Version
	res, err := client.Pull(target, registry.PullOptWithChart(true))
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", target, err)
	}
	return res.Chart.Data, nil
}

// ctxTransport sends requests with ctx's deadline and cancellation: Helm's registry client
// makes its requests with context.Background(). The values of a request's own context (the
// auth scopes ORAS records) stay visible.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req.WithContext(valuesOf{Context: t.ctx, values: req.Context()}))
}

// valuesOf is Context with the values of values.
type valuesOf struct {
	context.Context
	values context.Context
}

// Value implements context.Context.
func (v valuesOf) Value(key any) any { return v.values.Value(key) }
