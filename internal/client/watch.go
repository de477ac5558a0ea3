package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// The types of a watch event.
const (
	WatchAdded    = "ADDED"
	WatchModified = "MODIFIED"
	WatchDeleted  = "DELETED"
	watchError    = "ERROR"
)

// ReasonExpired is the reason of a watch from a resourceVersion whose changes the server no
// longer keeps (HTTP 410): list again and watch from the list's resourceVersion.
const ReasonExpired = "Expired"

// IsExpired reports whether err is the server saying that a watch must list again.
func IsExpired(err error) bool { return ReasonOf(err) == ReasonExpired }

// maxWatchLine bounds one event of a watch response.
const maxWatchLine = 16 << 20

// WatchOptions narrow a Watch.
type WatchOptions struct {
	// Name keeps the objects with this metadata.name (every version of a ClusterProfile).
	Name string
	// ResourceVersion starts the watch after it, as a list's or an object's resourceVersion;
	// empty starts with the objects as they are, each as an ADDED event.
	ResourceVersion string
}

// WatchEvent is one change of a watch: an object added, modified or deleted (as it last was).
type WatchEvent struct {
	Type   string
	Object v1alpha1.Object
}

// Watch is a stream of changes. Read it with Next, and Close it when done.
type Watch struct {
	kind string
	body io.ReadCloser
	sc   *bufio.Scanner
	stop context.CancelFunc
}

// Watch streams the changes of the objects of a kind. It fails with an APIError of reason
// Expired (IsExpired) when the server no longer keeps the changes after opts.ResourceVersion.
// The stream has no timeout; it ends with ctx, with Close, or when the server ends it.
func (c *Client) Watch(ctx context.Context, kind string, opts WatchOptions) (*Watch, error) {
	plural := v1alpha1.Plural(kind)
	if plural == "" {
		return nil, fmt.Errorf("watch: unknown kind %q", kind)
	}
	q := url.Values{"watch": {"true"}}
	if opts.Name != "" {
		q.Set("name", opts.Name)
	}
	if opts.ResourceVersion != "" {
		q.Set("resourceVersion", opts.ResourceVersion)
	}
	ctx, stop := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.apiURL("/"+plural, q), nil)
	if err != nil {
		stop()
		return nil, fmt.Errorf("watch %s: build request: %w", plural, err)
	}
	req.Header.Set("Accept", "application/json")
	// A watch lasts: no timeout for the whole exchange, only the one of the connection.
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		err = c.transportError(ctx, err) // before stop, which would make it a cancellation
		stop()
		return nil, fmt.Errorf("watch %s: %w", plural, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		defer stop()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, fmt.Errorf("watch %s: %w", plural, parseAPIError(resp.StatusCode, data))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxWatchLine)
	return &Watch{kind: kind, body: resp.Body, sc: sc, stop: stop}, nil
}

// Next returns the next change, waiting for it. It returns io.EOF when the server ended the
// stream (watch again from the last resourceVersion), an APIError when the server ended it
// with an error (IsExpired: list again), and the context's error when it ended.
func (w *Watch) Next() (WatchEvent, error) {
	if !w.sc.Scan() {
		if err := w.sc.Err(); err != nil {
			return WatchEvent{}, fmt.Errorf("read the watch: %w", err)
		}
		return WatchEvent{}, io.EOF
	}
	var line struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(w.sc.Bytes(), &line); err != nil {
		return WatchEvent{}, fmt.Errorf("decode the server's watch event: %w", err)
	}
	switch line.Type {
	case WatchAdded, WatchModified, WatchDeleted:
	case watchError:
		var st struct {
			Code int `json:"code"`
		}
		_ = json.Unmarshal(line.Object, &st)
		return WatchEvent{}, parseAPIError(st.Code, line.Object)
	default:
		return WatchEvent{}, fmt.Errorf("decode the server's watch event: unknown type %q", line.Type)
	}
	obj, err := decodeObject(w.kind, line.Object)
	if err != nil {
		return WatchEvent{}, err
	}
	return WatchEvent{Type: line.Type, Object: obj}, nil
}

// Close ends the watch.
func (w *Watch) Close() error {
	w.stop()
	err := w.body.Close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
