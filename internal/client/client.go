// Package client is a small typed HTTP client for the strata server's REST API
// (/api/v1alpha1). Every call takes a context. Errors the server reports come back as *APIError,
// carrying the HTTP code, the reason, the message and the field errors; a server that cannot be
// reached at all comes back as *UnreachableError (errors.Is(err, ErrUnreachable) is true).
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// APIPath is the base path of the REST API.
const APIPath = "/api/v1alpha1"

// ApplyResultHeader is the response header of a PUT that says what the server did.
const ApplyResultHeader = "Strata-Apply-Result"

// maxErrorBody bounds how much of a non-JSON error response is kept in an APIError message.
const maxErrorBody = 512

// Client talks to one strata server. It is safe for concurrent use.
type Client struct {
	base *url.URL
	http *http.Client
	// warn, when set, receives the server's warnings (WithWarningHandler).
	warn func(text string)
	// apiKey, when set, is sent with every request (WithAPIKey).
	apiKey string
	// rootCAs, when rootCAsSet, are the PEM certificates trusted for https (WithRootCAs).
	rootCAs    []byte
	rootCAsSet bool
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc instead of a default client with a
// 30-second timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// New returns a client of the server at server, such as "http://127.0.0.1:7080". A server given
// without a scheme ("127.0.0.1:7080") is taken to be https, as strata server serves.
func New(server string, opts ...Option) (*Client, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return nil, errors.New("no server address given")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid server address %q: %w", server, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid server address %q: the scheme must be http or https", server)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid server address %q: no host", server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	if c.rootCAsSet {
		if err := c.trustRootCAs(); err != nil {
			return nil, err
		}
	}
	if c.apiKey != "" {
		hc := *c.http // the caller's client stays as it is
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		hc.Transport = bearer{token: c.apiKey, base: base}
		c.http = &hc
	}
	return c, nil
}

// WithAPIKey sends the API key token with every request, as "Authorization: Bearer".
func WithAPIKey(token string) Option { return func(c *Client) { c.apiKey = token } }

// WithRootCAs makes the client trust the certificates in pemCerts, and only them, for https:
// a server's self-signed certificate (<data-dir>/tls/server.crt), or the CA that signed it.
// New fails when pemCerts holds no certificate, or when the HTTP client given with
// WithHTTPClient has a transport other than *http.Transport.
func WithRootCAs(pemCerts []byte) Option {
	return func(c *Client) { c.rootCAs, c.rootCAsSet = pemCerts, true }
}

// trustRootCAs replaces c's HTTP client by a copy whose transport, a clone of the one it
// had (or of http.DefaultTransport), trusts c.rootCAs.
func (c *Client) trustRootCAs() error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.rootCAs) {
		return errors.New("the trusted certificates given hold no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	hc := *c.http // the caller's client stays as it is
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	t, ok := base.(*http.Transport)
	if !ok {
		return fmt.Errorf("cannot set the trusted certificates on an HTTP transport of type %T", base)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t.TLSClientConfig.RootCAs = pool
	hc.Transport = t
	c.http = &hc
	return nil
}

// bearer is a transport that adds the API key to each request.
type bearer struct {
	token string
	base  http.RoundTripper
}

// RoundTrip sends a copy of req with the key.
func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(req)
}

// Server returns the server's base address.
func (c *Client) Server() string { return c.base.String() }

// ListOptions narrow a List.
type ListOptions struct {
	// Name keeps only the objects with this metadata.name (all versions of a ClusterProfile).
	Name string
	// Limit caps the number of objects of one page; 0 lets the server choose.
	Limit int
	// Continue resumes after the previous page, from its List.Continue.
	Continue string
}

// List is one page of objects of one kind.
type List struct {
	Items []v1alpha1.Object
	// Continue is set when more objects follow.
	Continue string
	// ResourceVersion is the resourceVersion of the last write the page reflects: a Watch
	// from it gets the changes that followed.
	ResourceVersion string
}

// WriteOptions modify a create or an apply.
type WriteOptions struct {
	// DryRun asks the server to decode, default and validate the object without storing it.
	DryRun bool
}

// ApplyResult says what an apply did.
type ApplyResult string

// The apply results of the Strata-Apply-Result header.
const (
	Created    ApplyResult = "created"
	Configured ApplyResult = "configured"
	Unchanged  ApplyResult = "unchanged"
)

// Event is something that happened to an object.
type Event struct {
	Kind    string    `json:"kind"`
	Key     string    `json:"key"`
	UID     string    `json:"uid,omitempty"`
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// Get returns the object of a kind with a key (a name, or "name@version" for a ClusterProfile).
func (c *Client) Get(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	p, err := c.objectPath(kind, key)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodGet, p, nil, nil, &raw); err != nil {
		return nil, fmt.Errorf("get %s %q: %w", kind, key, err)
	}
	obj, err := decodeObject(kind, raw)
	if err != nil {
		return nil, fmt.Errorf("get %s %q: %w", kind, key, err)
	}
	return obj, nil
}

// List returns one page of the objects of a kind.
func (c *Client) List(ctx context.Context, kind string, opts ListOptions) (*List, error) {
	plural := v1alpha1.Plural(kind)
	if plural == "" {
		return nil, fmt.Errorf("list: unknown kind %q", kind)
	}
	q := url.Values{}
	if opts.Name != "" {
		q.Set("name", opts.Name)
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Continue != "" {
		q.Set("continue", opts.Continue)
	}
	var body struct {
		Kind            string            `json:"kind"`
		Items           []json.RawMessage `json:"items"`
		Continue        string            `json:"continue"`
		ResourceVersion string            `json:"resourceVersion"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/"+plural, q, nil, &body); err != nil {
		return nil, fmt.Errorf("list %s: %w", plural, err)
	}
	list := &List{Continue: body.Continue, ResourceVersion: body.ResourceVersion, Items: make([]v1alpha1.Object, 0, len(body.Items))}
	for i, raw := range body.Items {
		obj, err := decodeObject(kind, raw)
		if err != nil {
			return nil, fmt.Errorf("list %s: item %d: %w", plural, i, err)
		}
		list.Items = append(list.Items, obj)
	}
	return list, nil
}

// ListAll returns every object of a kind, following the pages.
func (c *Client) ListAll(ctx context.Context, kind string, opts ListOptions) ([]v1alpha1.Object, error) {
	all, _, err := c.ListAllWithVersion(ctx, kind, opts)
	return all, err
}

// ListAllWithVersion returns every object of a kind, following the pages, and the
// resourceVersion of the first page: a Watch from it misses no change made since.
func (c *Client) ListAllWithVersion(ctx context.Context, kind string, opts ListOptions) ([]v1alpha1.Object, string, error) {
	var all []v1alpha1.Object
	var rv string
	seen := map[string]bool{}
	for {
		page, err := c.List(ctx, kind, opts)
		if err != nil {
			return nil, "", err
		}
		if rv == "" {
			rv = page.ResourceVersion
		}
		all = append(all, page.Items...)
		if page.Continue == "" {
			return all, rv, nil
		}
		if seen[page.Continue] {
			return nil, "", fmt.Errorf("list %s: the server returned the continue token %q twice", kind, page.Continue)
		}
		seen[page.Continue] = true
		opts.Continue = page.Continue
	}
}

// Create stores a new object (POST). It fails with an AlreadyExists APIError when the key is taken.
func (c *Client) Create(ctx context.Context, obj v1alpha1.Object, opts WriteOptions) (v1alpha1.Object, error) {
	kind := obj.GetTypeMeta().Kind
	plural := v1alpha1.Plural(kind)
	if plural == "" {
		return nil, fmt.Errorf("create: unknown kind %q", kind)
	}
	body, err := v1alpha1.MarshalWithSecret(obj)
	if err != nil {
		return nil, fmt.Errorf("create %s %q: %w", kind, obj.Key(), err)
	}
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodPost, "/"+plural, writeQuery(opts), body, &raw); err != nil {
		return nil, fmt.Errorf("create %s %q: %w", kind, obj.Key(), err)
	}
	out, err := decodeObject(kind, raw)
	if err != nil {
		return nil, fmt.Errorf("create %s %q: %w", kind, obj.Key(), err)
	}
	return out, nil
}

// Apply creates the object or replaces the stored one (PUT), and reports which of the two
// happened, or that nothing changed.
func (c *Client) Apply(ctx context.Context, obj v1alpha1.Object, opts WriteOptions) (v1alpha1.Object, ApplyResult, error) {
	kind := obj.GetTypeMeta().Kind
	p, err := c.objectPath(kind, obj.Key())
	if err != nil {
		return nil, "", err
	}
	body, err := v1alpha1.MarshalWithSecret(obj)
	if err != nil {
		return nil, "", fmt.Errorf("apply %s %q: %w", kind, obj.Key(), err)
	}
	var raw json.RawMessage
	resp, err := c.do(ctx, http.MethodPut, p, writeQuery(opts), body, &raw)
	if err != nil {
		return nil, "", fmt.Errorf("apply %s %q: %w", kind, obj.Key(), err)
	}
	out, err := decodeObject(kind, raw)
	if err != nil {
		return nil, "", fmt.Errorf("apply %s %q: %w", kind, obj.Key(), err)
	}
	result := ApplyResult(strings.ToLower(strings.TrimSpace(resp.Header.Get(ApplyResultHeader))))
	if result == "" {
		// A server that does not send the header still tells creation by its status code.
		result = Configured
		if resp.StatusCode == http.StatusCreated {
			result = Created
		}
	}
	return out, result, nil
}

// Delete deletes an object and returns it as the server last saw it: with deletionTimestamp set,
// and still stored when it has finalizers left.
func (c *Client) Delete(ctx context.Context, kind, key string) (v1alpha1.Object, error) {
	p, err := c.objectPath(kind, key)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodDelete, p, nil, nil, &raw); err != nil {
		return nil, fmt.Errorf("delete %s %q: %w", kind, key, err)
	}
	obj, err := decodeObject(kind, raw)
	if err != nil {
		return nil, fmt.Errorf("delete %s %q: %w", kind, key, err)
	}
	return obj, nil
}

// Events returns the events of an object, oldest first: those of the object of that uid, or
// when uid is empty, of the object stored under the key.
func (c *Client) Events(ctx context.Context, kind, key, uid string) ([]Event, error) {
	p, err := c.objectPath(kind, key)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if uid != "" {
		q = url.Values{"uid": {uid}}
	}
	var body struct {
		Items []Event `json:"items"`
	}
	if _, err := c.do(ctx, http.MethodGet, p+"/events", q, nil, &body); err != nil {
		return nil, fmt.Errorf("events of %s %q: %w", kind, key, err)
	}
	return body.Items, nil
}

// Healthz checks that the server is up.
func (c *Client) Healthz(ctx context.Context) error {
	if err := c.probe(ctx, "/healthz"); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	return nil
}

// Readyz checks that the server is ready to serve (its store answers).
func (c *Client) Readyz(ctx context.Context) error {
	if err := c.probe(ctx, "/readyz"); err != nil {
		return fmt.Errorf("readiness check: %w", err)
	}
	return nil
}

func (c *Client) probe(ctx context.Context, path string) error {
	u := *c.base
	u.Path += path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode != http.StatusOK {
		return &APIError{Code: resp.StatusCode, Reason: reasonFor(resp.StatusCode), Message: strings.TrimSpace(string(data))}
	}
	return nil
}

// decodeObject decodes an object the server returned. It is lenient, unlike v1alpha1.Decode:
// a newer server may add fields this client does not know.
func decodeObject(kind string, raw json.RawMessage) (v1alpha1.Object, error) {
	obj := v1alpha1.New(kind)
	if obj == nil {
		return nil, fmt.Errorf("decode the server's response: unknown kind %q", kind)
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("decode the server's %s: %w", kind, err)
	}
	tmeta := obj.GetTypeMeta()
	if tmeta.Kind != "" && tmeta.Kind != kind {
		return nil, fmt.Errorf("decode the server's response: got kind %q, want %q", tmeta.Kind, kind)
	}
	tmeta.APIVersion, tmeta.Kind = v1alpha1.GroupVersion, kind
	return obj, nil
}

func writeQuery(opts WriteOptions) url.Values {
	if !opts.DryRun {
		return nil
	}
	return url.Values{"dryRun": {"true"}}
}

func (c *Client) objectPath(kind, key string) (string, error) {
	plural := v1alpha1.Plural(kind)
	if plural == "" {
		return "", fmt.Errorf("unknown kind %q", kind)
	}
	if key == "" || strings.ContainsAny(key, "/?#") {
		return "", fmt.Errorf("invalid %s name %q", kind, key)
	}
	return "/" + plural + "/" + key, nil
}

// apiURL is the URL of APIPath+path (unescaped) with the query q.
func (c *Client) apiURL(path string, q url.Values) string {
	u := *c.base
	u.Path += APIPath + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return u.String()
}

// do sends a request to APIPath+path (unescaped) and decodes a successful JSON response into out.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.apiURL(path, q), rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, c.transportError(ctx, fmt.Errorf("read the response: %w", err))
	}
	if c.warn != nil {
		for _, text := range parseWarnings(resp.Header.Values("Warning")) {
			c.warn(text)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, parseAPIError(resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("decode the server's response (HTTP %d): %w", resp.StatusCode, err)
		}
	}
	return resp, nil
}

// transportError wraps a failure to exchange a request with the server. A canceled or expired
// context is reported as such; anything else means the server could not be reached.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	return &UnreachableError{Server: c.Server(), Err: err}
}
