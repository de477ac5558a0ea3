package kube

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// etcd is the emulator's one etcd: every cluster's API server keeps its objects under a prefix
// of its own.
type etcd struct {
	proc    *process
	url     string // http://127.0.0.1:port
	logPath string
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startEtcd starts etcd with its data in dir/etcd, on free loopback ports, and waits until it
// answers. Its data survives a restart; fsync is off (the emulator's data is disposable).
func startEtcd(ctx context.Context, log *slog.Logger, bin, dir string) (*etcd, error) {
	var lastErr error
	for range 3 { // a port found free may be taken before etcd binds it
		client, err1 := freePort()
		peer, err2 := freePort()
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("etcd: %w", err1)
		}
		e, err := tryEtcd(ctx, log, bin, dir, client, peer)
		if err == nil {
			return e, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryEtcd(ctx context.Context, log *slog.Logger, bin, dir string, client, peer int) (*etcd, error) {
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	data := filepath.Join(dir, "etcd")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	args := []string{"--name=emulator", "--data-dir=" + data,
		"--listen-client-urls=" + clientURL, "--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=emulator=" + peerURL, "--unsafe-no-fsync", "--log-level=warn",
		"--quota-backend-bytes=8589934592", "--auto-compaction-mode=periodic", "--auto-compaction-retention=5m"}
	logPath := filepath.Join(dir, "etcd.log")
	p, err := startProcess(log, bin, args, logPath)
	if err != nil {
		return nil, err
	}
	e := &etcd{proc: p, url: clientURL, logPath: logPath}
	if err := waitFor(ctx, 30*time.Second, p, logPath, func(ctx context.Context) error {
		return e.health(ctx)
	}); err != nil {
		p.stop()
		return nil, fmt.Errorf("etcd: %w", err)
	}
	return e, nil
}

// health asks etcd whether it serves.
func (e *etcd) health(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd health: %s", resp.Status)
	}
	return nil
}

// deletePrefix removes every key under prefix, through etcd's JSON gateway.
func (e *etcd) deletePrefix(ctx context.Context, prefix string) error {
	end := []byte(prefix)
	end[len(end)-1]++
	body, _ := json.Marshal(map[string]string{
		"key":       base64.StdEncoding.EncodeToString([]byte(prefix)),
		"range_end": base64.StdEncoding.EncodeToString(end),
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/v3/kv/deleterange", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("deleting %s from etcd: %w", prefix, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("deleting %s from etcd: %s: %s", prefix, resp.Status, msg)
	}
	return nil
}

// waitFor calls check until it succeeds, the process ends, ctx is done or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, p *process, logPath string, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if p.exited() {
			return errExited(p, logPath)
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v; the end of %s:\n%s", timeout, last, logPath, tail(logPath, 15))
		case <-tick.C:
		case <-p.done:
		}
	}
}
