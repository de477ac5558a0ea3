package charts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/strata-dev/strata/internal/atomicfile"
)

// fetchTimeout bounds one download of a chart: the index and the archive, or the OCI pull.
const fetchTimeout = 5 * time.Minute

// archive returns the chart archive of ref from the cache, downloading it into the cache first
// when it is not there. Concurrent calls for one Ref share one download; each returns when
// the download ends or its own ctx does.
func (r *Renderer) archive(ctx context.Context, ref Ref) ([]byte, error) {
	path := r.cachePath(ref)
	data, err := os.ReadFile(path)
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the cache: %w", err)
	}
	done := r.flights.DoChan(path, func() (any, error) { return r.fetchOnce(ctx, ref, path) })
	select {
	case res := <-done:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]byte), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the download: %w", context.Cause(ctx))
	}
}

// fetchOnce downloads the archive of ref, checks that it is a chart of ref's name and version,
// and keeps it at path, unless a download that ended meanwhile already did. The download is
// not cancelled with ctx, since other callers may wait for it, but ends after fetchTimeout.
func (r *Renderer) fetchOnce(ctx context.Context, ref Ref, path string) ([]byte, error) {
	if data, err := os.ReadFile(path); err == nil {
		return data, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	start := time.Now()
	var data []byte
	var err error
	if ref.oci() {
		data, err = r.pull(ctx, ref)
	} else {
		data, err = r.download(ctx, ref)
	}
	if err != nil {
		return nil, err
	}
	if _, err := loadChart(data, ref); err != nil {
		return nil, fmt.Errorf("downloaded archive: %w", err)
	}
	if err := atomicfile.Replace(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("keep the archive in the cache: %w", err)
	}
	r.log.Info("chart downloaded", "chart", ref.String(), "bytes", len(data),
		"duration", time.Since(start).Round(time.Millisecond), "cache", path)
	return data, nil
}

// cachePath is where the archive of ref is kept: a file named after the chart's name and
// version, sanitized, and a hash of the repository (without user or password), the name and
// the version, so that two repositories' charts of one name never share a file.
func (r *Renderer) cachePath(ref Ref) string {
	sum := sha256.Sum256([]byte(cacheRepository(ref.Repository) + "\x00" + ref.Name + "\x00" + ref.Version))
	name := fmt.Sprintf("%s-%s-%s.tgz", sanitize(ref.Name), sanitize(ref.Version), hex.EncodeToString(sum[:10]))
	return filepath.Join(r.cacheDir, name)
}

// cacheRepository is the repository URL without its user information and trailing slash: a
// changed password must not download a chart again.
func cacheRepository(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.User = nil
	return strings.TrimSuffix(u.String(), "/")
}

// sanitize keeps letters, digits, '.', '_' and '-' of s, replaces anything else with '_' and
// cuts the result at 64 bytes.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// loadChart loads a chart archive with Helm's loader (which bounds its decompressed size) and
// checks that it is the chart ref names.
func loadChart(data []byte, ref Ref) (*chart.Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("load the chart archive: %w", err)
	}
	if ch.Metadata.Name != ref.Name || ch.Metadata.Version != ref.Version {
		return nil, fmt.Errorf("the archive holds chart %s %s, not %s %s",
			ch.Metadata.Name, ch.Metadata.Version, ref.Name, ref.Version)
	}
	return ch, nil
}
