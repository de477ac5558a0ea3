package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/servertls"
)

// These tests start `strata server` on its own, as the harness's startServer checks health
// over plain HTTP, and look only at /healthz, which stays open with --access-control.

// tlsServerProcess is a `strata server` started by runStrataServer.
type tlsServerProcess struct {
	out  *syncBuffer
	stop func()
}

// runStrataServer starts `strata server --listen addr --data-dir dataDir` with args and waits
// until it says where it listens. stop (also run when the test ends) stops it with SIGTERM.
func runStrataServer(t *testing.T, addr, dataDir string, args ...string) *tlsServerProcess {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(strataBin, append([]string{"server", "--listen", addr, "--data-dir", dataDir, "--check-kubernetes=false"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("server exited with %v after SIGTERM; output:\n%s", err, out)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("server did not stop within 20s of SIGTERM; output:\n%s", out)
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "listening on") {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("server exited before it listened: %v; output:\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not listening after 20s; output:\n%s", out)
		}
	}
	return &tlsServerProcess{out: out, stop: stop}
}

// certificateLine matches the line naming a self-signed certificate.
var certificateLine = regexp.MustCompile(`(?m)^TLS certificate (\S+) \(self-signed\), fingerprint (SHA256:[0-9A-F:]+)$`)

// httpsClient trusts the PEM certificates of the file rootFile, or the system's when it is "".
func httpsClient(t *testing.T, rootFile string) *http.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if rootFile != "" {
		pemCerts, err := os.ReadFile(rootFile)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemCerts) {
			t.Fatalf("%s holds no certificate", rootFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// healthz gets url/healthz with hc and returns the response, its body closed.
func healthz(hc *http.Client, url string) (*http.Response, error) {
	resp, err := hc.Get(url + "/healthz")
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

func TestTLSSelfSigned(t *testing.T) {
	dataDir := t.TempDir()
	addr := freeAddress(t)
	srv := runStrataServer(t, addr, dataDir)
	out := srv.out.String()
	if !strings.Contains(out, "strata server listening on https://"+addr+" (store: sqlite ") {
		t.Fatalf("no https listening line in:\n%s", out)
	}
	m := certificateLine.FindStringSubmatch(out)
	crt := filepath.Join(dataDir, servertls.Dir, servertls.CertFileName)
	if m == nil || m[1] != crt {
		t.Fatalf("no line `TLS certificate %s (self-signed), fingerprint ...` in:\n%s", crt, out)
	}
	fingerprint := m[2]
	if !strings.Contains(out, "made a self-signed TLS certificate") {
		t.Errorf("the first start does not log that it made the certificate:\n%s", out)
	}

	resp, err := healthz(httpsClient(t, crt), "https://"+addr)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz trusting %s: %v %v", crt, resp, err)
	}
	if got := servertls.Fingerprint(resp.TLS.PeerCertificates[0].Raw); got != fingerprint {
		t.Errorf("served certificate %s, printed %s", got, fingerprint)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("served %s, want HTTP/2", resp.Proto)
	}
	var unknown x509.UnknownAuthorityError
	if _, err := healthz(httpsClient(t, ""), "https://"+addr); !errors.As(err, &unknown) {
		t.Errorf("GET /healthz without trusting the certificate: %v, want an unknown-authority error", err)
	}
	if resp, err := healthz(httpsClient(t, ""), "http://"+addr); err == nil && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP answered %d", resp.StatusCode)
	}
	assertFileMode(t, filepath.Join(dataDir, servertls.Dir, servertls.KeyFileName), 0o600)

	// A restart on the same data directory serves the same certificate.
	srv.stop()
	again := runStrataServer(t, addr, dataDir)
	m = certificateLine.FindStringSubmatch(again.out.String())
	if m == nil || m[2] != fingerprint {
		t.Errorf("after a restart, fingerprint %v, want %s; output:\n%s", m, fingerprint, again.out)
	}
	if strings.Contains(again.out.String(), "self-signed TLS certificate") {
		t.Errorf("the restart made a certificate:\n%s", again.out)
	}
	if resp, err := healthz(httpsClient(t, crt), "https://"+addr); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz after the restart: %v %v", resp, err)
	}
}

func assertFileMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != want {
		t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
	}
}

func TestTLSInsecureHTTPRefused(t *testing.T) {
	_, port, _ := net.SplitHostPort(freeAddress(t))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all interfaces", []string{"--insecure-http", "--listen", "0.0.0.0:" + port},
			"--insecure-http: plain HTTP is served only on a loopback address (127.0.0.1, ::1, localhost); --listen 0.0.0.0:" + port + " is not"},
		{"no host", []string{"--insecure-http", "--listen", ":" + port}, "--listen :" + port + " is not"},
		{"with a certificate", []string{"--insecure-http", "--listen", "127.0.0.1:" + port, "--tls-cert", "c.pem", "--tls-key", "k.pem"},
			"cannot be given with --tls-cert or --tls-key"},
		{"certificate without key", []string{"--listen", "127.0.0.1:" + port, "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := append([]string{"server", "--data-dir", t.TempDir(), "--check-kubernetes=false"}, tt.args...)
			out, err := exec.CommandContext(ctx, strataBin, args...).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(string(out), tt.want) {
				t.Errorf("strata %s: %v, output:\n%s\nwant a failure saying %q", strings.Join(args, " "), err, out, tt.want)
			}
		})
	}
}

func TestTLSInsecureHTTPOnLoopback(t *testing.T) {
	addr := freeAddress(t)
	dataDir := t.TempDir()
	srv := runStrataServer(t, addr, dataDir, "--insecure-http")
	out := srv.out.String()
	if !strings.Contains(out, "strata server listening on http://"+addr+" (store: ") || strings.Contains(out, "TLS certificate") {
		t.Errorf("output:\n%s\nwant an http listening line and no certificate", out)
	}
	if resp, err := healthz(http.DefaultClient, "http://"+addr); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET http://%s/healthz: %v %v", addr, resp, err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, servertls.Dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--insecure-http made %s: %v", servertls.Dir, err)
	}
}

func TestTLSGivenCertificate(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile, leafDER := writeSignedPair(t, dir)
	addr := freeAddress(t)
	dataDir := t.TempDir()
	srv := runStrataServer(t, addr, dataDir, "--tls-cert", certFile, "--tls-key", keyFile)
	out := srv.out.String()
	if !strings.Contains(out, "strata server listening on https://"+addr) || strings.Contains(out, "TLS certificate") {
		t.Errorf("output:\n%s\nwant an https listening line and no self-signed certificate line", out)
	}
	resp, err := healthz(httpsClient(t, caFile), "https://"+addr)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz trusting the CA: %v %v", resp, err)
	}
	if got, want := servertls.Fingerprint(resp.TLS.PeerCertificates[0].Raw), servertls.Fingerprint(leafDER); got != want {
		t.Errorf("served %s, want the given certificate %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dataDir, servertls.Dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a given certificate made %s: %v", servertls.Dir, err)
	}
}

// writeSignedPair writes a CA certificate and a server certificate for 127.0.0.1 it signed, with
// the server's key, and returns their files and the server certificate's DER.
func writeSignedPair(t *testing.T, dir string) (caFile, certFile, keyFile string, leafDER []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "strata test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err = x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	for path, block := range map[string]*pem.Block{
		caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		certFile: {Type: "CERTIFICATE", Bytes: leafDER},
		keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile, leafDER
}
