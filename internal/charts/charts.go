// Package charts renders the Helm charts that profile layers name. A chart is fetched once from
// its chart repository (an https:// repository with an index.yaml, or an oci:// registry), kept
// in a cache directory, and rendered with values by Helm's own SDK (helm.sh/helm/v4): its chart
// loader, template engine and manifest sorter, with what `helm install` would create on a fresh
// install as the result.
//
// The server renders; the cluster's agent applies. Nothing here talks to a Kubernetes cluster:
// the capabilities templates see (.Capabilities.KubeVersion and .APIVersions) come from
// Options, and the template function lookup finds nothing.
package charts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// DefaultKubeVersion is the Kubernetes version charts are rendered for when Options does not
// name one.
const DefaultKubeVersion = "v1.37.2"

// Ref names one version of a chart.
type Ref struct {
	// Repository is an https:// chart repository (the URL its index.yaml is under) or an
	// oci:// registry path under which the chart is a repository named Name, tagged Version.
	Repository string
	// Name is the chart's name, as in its Chart.yaml.
	Name string
	// Version is the chart's exact version, as in its Chart.yaml: no ranges.
	Version string
}

// String returns the repository, the name and the version, without any password or query of
// the repository URL: it is what errors and logs name.
func (r Ref) String() string {
	return fmt.Sprintf("%s %s %s", redactURL(r.Repository), r.Name, r.Version)
}

// oci reports whether the chart is in an OCI registry.
func (r Ref) oci() bool { return strings.HasPrefix(r.Repository, "oci://") }

// validate checks that r can name a chart: a repository URL of a scheme this package fetches
// from, with a host, and a name and a version that fit in a path and an OCI tag.
func (r Ref) validate() error {
	u, err := url.Parse(r.Repository)
	switch {
	case err != nil:
		return fmt.Errorf("repository is not a URL: %w", err)
	case u.Scheme != "https" && u.Scheme != "oci":
		return fmt.Errorf("repository %q: the scheme must be https:// or oci://", redactURL(r.Repository))
	case u.Host == "":
		return fmt.Errorf("repository %q has no host", redactURL(r.Repository))
	case u.Scheme == "oci" && (u.User != nil || u.RawQuery != "" || u.Fragment != ""):
		return errors.New("an oci:// repository is host/path only: no user, query or fragment")
	case r.Name == "" || strings.ContainsAny(r.Name, "/\\:@ ") || r.Name == "." || r.Name == "..":
		return fmt.Errorf("chart name %q is empty or not a single path segment", r.Name)
	case r.Version == "" || strings.ContainsAny(r.Version, "/\\:@ "):
		return fmt.Errorf("version %q is empty or not a single path segment", r.Version)
	}
	return nil
}

// Options configures a Renderer.
type Options struct {
	// CacheDir is the directory fetched chart archives are kept in, one file per Ref; it is
	// created if missing. Required.
	CacheDir string
	// HTTPClient makes the requests to chart repositories and OCI registries (a test passes
	// one that trusts its CA). Nil means a client like http.DefaultClient with timeouts.
	HTTPClient *http.Client
	// Logger receives one line per download; nil discards. Credentials are never logged.
	Logger *slog.Logger
	// KubeVersion is the Kubernetes version templates see in .Capabilities.KubeVersion and
	// charts' kubeVersion constraints are checked against; empty means DefaultKubeVersion.
	KubeVersion string
	// APIVersions are API versions ("monitoring.coreos.com/v1", or with a kind:
	// "monitoring.coreos.com/v1/ServiceMonitor") that .Capabilities.APIVersions.Has reports
	// besides the built-in ones of Kubernetes.
	APIVersions []string
}

// Renderer fetches, caches and renders charts. It is safe for concurrent use.
type Renderer struct {
	cacheDir string
	http     *http.Client
	log      *slog.Logger
	caps     *common.Capabilities
	flights  singleflight.Group // keyed by cache path: one download per Ref at a time
}

// New returns a Renderer for opts, creating opts.CacheDir if needed.
func New(opts Options) (*Renderer, error) {
	if opts.CacheDir == "" {
		return nil, errors.New("charts: Options.CacheDir is required")
	}
	if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("charts: create the cache directory: %w", err)
	}
	kubeVersion := opts.KubeVersion
	if kubeVersion == "" {
		kubeVersion = DefaultKubeVersion
	}
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("charts: Kubernetes version %q: %w", kubeVersion, err)
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	caps.APIVersions = append(append(common.VersionSet{}, caps.APIVersions...), opts.APIVersions...)
	r := &Renderer{cacheDir: opts.CacheDir, http: opts.HTTPClient, log: opts.Logger, caps: caps}
	if r.http == nil {
		r.http = defaultHTTPClient()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// defaultHTTPClient is http.DefaultClient with timeouts: to connect, for the TLS handshake,
// for the response headers and, as a last resort, for a whole request.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t, Timeout: fetchTimeout}
}

// Render returns the manifests of chart ref rendered with values (YAML text: the layer's values
// already merged with the cluster's) for a release named release in namespace ns, as one
// multi-document YAML string, each document headed by "# Source: <chart path>" as in
// `helm template`. The order is what `helm install` creates: the CRDs of the chart's crds/
// directories first, then its pre-install hooks (by hook weight), then the other manifests in
// Helm's install order (Namespaces, ..., ConfigMaps, ..., Deployments, ...), then its
// post-install hooks. Hooks of other events only (tests, upgrade, delete, rollback) are left
// out. Values are checked against the chart's values.schema.json files when those are
// self-contained (see externalSchemaRef).
//
// The archive of ref is downloaded at most once: concurrent calls for one Ref share a download,
// it is checked against the digest the repository's index gives (OCI content always has one),
// and later calls, of this Renderer or of another on the same CacheDir, read the cache. ctx
// bounds the call; a download that other calls wait for goes on (at most fetchTimeout) when
// the call that started it returns.
func (r *Renderer) Render(ctx context.Context, ref Ref, release, ns string, values string) (string, error) {
	if err := ref.validate(); err != nil {
		return "", fmt.Errorf("chart %s: %w", ref, err)
	}
	if err := chartutil.ValidateReleaseName(release); err != nil {
		return "", fmt.Errorf("chart %s: release %q: %w", ref, release, err)
	}
	if ns == "" {
		return "", fmt.Errorf("chart %s: release %s: the namespace is empty", ref, release)
	}
	vals, err := common.ReadValues([]byte(values))
	if err != nil {
		return "", fmt.Errorf("chart %s: the values are not valid YAML (a mapping): %w", ref, err)
	}
	archive, err := r.archive(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", ref, err)
	}
	ch, err := loadChart(archive, ref)
	if err != nil {
		return "", fmt.Errorf("chart %s: cached archive %s: %w", ref, r.cachePath(ref), err)
	}
	out, err := r.render(ctx, ch, vals, release, ns)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", ref, err)
	}
	return out, nil
}

// redactURL returns raw without the password of its user and without its query (which may
// hold a token); a placeholder when it does not parse, as it may hold anything.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	return u.Redacted()
}
