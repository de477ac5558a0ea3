package servertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// t0 is the clock of the tests' first start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is a clock stopped at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestSelfSigned(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name string
		// first and second are the Hosts and clock of a first and a second Load on one data
		// directory.
		firstHosts, secondHosts []string
		second                  time.Time
		// regenerated is a part of the reason the second Load gives for a new certificate;
		// empty: the second Load keeps the first certificate.
		regenerated string
	}{
		{name: "restart keeps it", second: t0.Add(time.Minute)},
		{name: "restart 334 days later keeps it", second: t0.Add(334 * day)},
		{name: "within 30 days of expiry", second: t0.Add(336 * day), regenerated: "within 30 days"},
		{name: "expired", second: t0.Add(400 * day), regenerated: "expired on"},
		{name: "same host", firstHosts: []string{"strata.example"}, secondHosts: []string{"STRATA.example"}, second: t0},
		{name: "unspecified hosts add nothing", secondHosts: []string{"", "0.0.0.0", "::", "[::]"}, second: t0},
		{name: "loopback already covered", secondHosts: []string{"127.0.0.1", "::1", "localhost"}, second: t0},
		{name: "new host name", firstHosts: []string{"a.example"}, secondHosts: []string{"b.example"}, second: t0, regenerated: "host name b.example"},
		{name: "new address", secondHosts: []string{"192.0.2.7"}, second: t0, regenerated: "address 192.0.2.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first, err := Load(Options{DataDir: dir, Hosts: tt.firstHosts, Now: at(t0)})
			if err != nil {
				t.Fatal(err)
			}
			if !first.Generated || first.Regenerated != "" || !first.SelfSigned {
				t.Fatalf("first Load: Generated %v, Regenerated %q, SelfSigned %v; want true, empty, true", first.Generated, first.Regenerated, first.SelfSigned)
			}
			second, err := Load(Options{DataDir: dir, Hosts: tt.secondHosts, Now: at(tt.second)})
			if err != nil {
				t.Fatal(err)
			}
			if tt.regenerated == "" {
				if second.Generated || second.Fingerprint != first.Fingerprint {
					t.Fatalf("second Load made a new certificate (Generated %v, reason %q): want the first kept", second.Generated, second.Regenerated)
				}
				return
			}
			if !second.Generated || !strings.Contains(second.Regenerated, tt.regenerated) || second.Fingerprint == first.Fingerprint {
				t.Fatalf("second Load: Generated %v, Regenerated %q, same fingerprint %v; want a new certificate because %q",
					second.Generated, second.Regenerated, second.Fingerprint == first.Fingerprint, tt.regenerated)
			}
			for _, h := range tt.secondHosts {
				if err := second.TLS.Leaf.VerifyHostname(h); err != nil {
					t.Errorf("the new certificate does not cover %s: %v", h, err)
				}
			}
		})
	}
}

func TestSelfSignedCertificate(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(Options{DataDir: dir, Hosts: []string{"strata.example", "192.0.2.1", "0.0.0.0"}, Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.TLS.Leaf
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key %T, want ECDSA", leaf.PublicKey)
	}
	if !leaf.IsCA || !leaf.BasicConstraintsValid || leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign {
		t.Errorf("IsCA %v, key usage %v: want a CA signing and certificate signing", leaf.IsCA, leaf.KeyUsage)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("extended key usage %v, want server auth", leaf.ExtKeyUsage)
	}
	if !leaf.NotBefore.Equal(t0.Add(-time.Hour)) || !leaf.NotAfter.Equal(t0.Add(365*24*time.Hour)) {
		t.Errorf("valid %s to %s", leaf.NotBefore, leaf.NotAfter)
	}
	hostname, _ := os.Hostname()
	for _, h := range []string{"localhost", "127.0.0.1", "::1", hostname, "strata.example", "192.0.2.1"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("does not cover %q: %v", h, err)
		}
	}
	for _, ip := range leaf.IPAddresses {
		if ip.IsUnspecified() {
			t.Errorf("names the unspecified address %s", ip)
		}
	}
	// A client trusting CertPEM alone verifies the certificate.
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.CertPEM) {
		t.Fatal("CertPEM holds no certificate")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: t0}); err != nil {
		t.Errorf("verify with CertPEM as root: %v", err)
	}
	assertMode(t, filepath.Join(dir, Dir), 0o700|os.ModeDir)
	assertMode(t, filepath.Join(dir, Dir, KeyFileName), 0o600)
	assertMode(t, filepath.Join(dir, Dir, CertFileName), 0o644)
	if c.CertFile != filepath.Join(dir, Dir, CertFileName) {
		t.Errorf("CertFile %s", c.CertFile)
	}
	onDisk, _ := os.ReadFile(c.CertFile)
	if string(onDisk) != string(c.CertPEM) {
		t.Error("CertPEM is not what server.crt holds")
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != want {
		t.Errorf("%s has mode %v, want %v", path, info.Mode(), want)
	}
}

func TestSelfSignedNarrowsModes(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(Options{DataDir: dir, Now: at(t0)}); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, Dir, KeyFileName)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Options{DataDir: dir, Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Narrowed) != 2 {
		t.Errorf("Narrowed %v, want the directory and the key", c.Narrowed)
	}
	assertMode(t, key, 0o600)
	assertMode(t, filepath.Join(dir, Dir), 0o700|os.ModeDir)
}

func TestSelfSignedDamaged(t *testing.T) {
	tests := []struct {
		name   string
		damage func(certPath, keyPath string) error
		reason string
	}{
		{"key removed", func(_, k string) error { return os.Remove(k) }, "server.key is missing"},
		{"certificate removed", func(c, _ string) error { return os.Remove(c) }, "server.crt is missing"},
		{"certificate garbage", func(c, _ string) error { return os.WriteFile(c, []byte("junk"), 0o644) }, "cannot be used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Load(Options{DataDir: dir, Now: at(t0)}); err != nil {
				t.Fatal(err)
			}
			if err := tt.damage(filepath.Join(dir, Dir, CertFileName), filepath.Join(dir, Dir, KeyFileName)); err != nil {
				t.Fatal(err)
			}
			c, err := Load(Options{DataDir: dir, Now: at(t0)})
			if err != nil {
				t.Fatal(err)
			}
			if !c.Generated || !strings.Contains(c.Regenerated, tt.reason) {
				t.Errorf("Generated %v, Regenerated %q; want a new certificate because %q", c.Generated, c.Regenerated, tt.reason)
			}
			assertMode(t, filepath.Join(dir, Dir, KeyFileName), 0o600)
		})
	}
}

// writePair writes a certificate (not a CA) signed by its own key and the key, and returns
// their paths and the certificate's DER.
func writePair(t *testing.T, dir string) (certPath, keyPath string, der []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "given"},
		NotBefore: t0, NotAfter: t0.Add(time.Hour), DNSNames: []string{"given.example"}, IPAddresses: []net.IP{net.IPv4(192, 0, 2, 9)}}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath = filepath.Join(dir, "given.crt"), filepath.Join(dir, "given.key")
	writeFile(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return certPath, keyPath, der
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestGivenPair(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, der := writePair(t, dir)
	otherCert, otherKey, _ := writePair(t, t.TempDir())
	junk := filepath.Join(dir, "junk")
	writeFile(t, junk, []byte("not PEM"))
	missing := filepath.Join(dir, "missing")
	dataDir := t.TempDir()

	c, err := Load(Options{CertFile: certPath, KeyFile: keyPath, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Fingerprint != Fingerprint(der) || c.Generated || !c.SelfSigned || c.CertFile != certPath {
		t.Errorf("given pair: fingerprint %s (want %s), Generated %v, SelfSigned %v, CertFile %s", c.Fingerprint, Fingerprint(der), c.Generated, c.SelfSigned, c.CertFile)
	}
	if _, err := os.Stat(filepath.Join(dataDir, Dir)); !os.IsNotExist(err) {
		t.Errorf("a given pair made %s: %v", Dir, err)
	}

	bad := []struct {
		name          string
		certFile, key string
		want1, want2  string
	}{
		{"cert only", certPath, "", "--tls-cert and --tls-key go together", ""},
		{"key only", "", keyPath, "--tls-cert and --tls-key go together", ""},
		{"cert missing", missing, keyPath, "--tls-cert", missing},
		{"key missing", certPath, missing, "--tls-key", missing},
		{"cert not PEM", junk, keyPath, "--tls-cert " + junk, "no PEM certificate"},
		{"key not PEM", certPath, junk, "--tls-key " + junk, "--tls-cert " + certPath},
		{"key of another certificate", certPath, otherKey, "--tls-key " + otherKey, "does not match"},
		{"certificate of another key", otherCert, keyPath, "--tls-key " + keyPath, "--tls-cert " + otherCert},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Options{CertFile: tt.certFile, KeyFile: tt.key, DataDir: dataDir})
			if err == nil || !strings.Contains(err.Error(), tt.want1) || !strings.Contains(err.Error(), tt.want2) {
				t.Errorf("error %v, want one with %q and %q", err, tt.want1, tt.want2)
			}
		})
	}
}

func TestServerConfigServes(t *testing.T) {
	c, err := Load(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ServerConfig(c)
	if cfg.MinVersion != tls.VersionTLS12 || strings.Join(cfg.NextProtos, ",") != "h2,http/1.1" {
		t.Errorf("MinVersion %x, NextProtos %v", cfg.MinVersion, cfg.NextProtos)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.CertPEM)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	state := conn.ConnectionState()
	if got := Fingerprint(state.PeerCertificates[0].Raw); got != c.Fingerprint {
		t.Errorf("served %s, want %s", got, c.Fingerprint)
	}
	if state.NegotiatedProtocol != "h2" {
		t.Errorf("negotiated %q, want h2", state.NegotiatedProtocol)
	}
}

func TestFingerprint(t *testing.T) {
	der := []byte("certificate")
	sum := sha256.Sum256(der)
	got := Fingerprint(der)
	if !regexp.MustCompile(`^SHA256:([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(got) {
		t.Fatalf("Fingerprint = %s: want SHA256: and 32 uppercase hex pairs", got)
	}
	if strings.ReplaceAll(strings.TrimPrefix(got, "SHA256:"), ":", "") != strings.ToUpper(hex.EncodeToString(sum[:])) {
		t.Errorf("Fingerprint = %s, not the SHA-256 of the DER", got)
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:7080", true},
		{"127.1.2.3:7080", true},
		{"[::1]:7080", true},
		{"localhost:7080", true},
		{"LocalHost:7080", true},
		{"0.0.0.0:7080", false},
		{"[::]:7080", false},
		{":7080", false},
		{"192.168.1.10:7080", false},
		{"[2001:db8::1]:7080", false},
		{"example.com:7080", false},
		{"localhost.example.com:7080", false},
		{"128.0.0.1:7080", false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.listen); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.listen, got, tt.want)
		}
	}
}

func TestCheckInsecureHTTP(t *testing.T) {
	tests := []struct {
		listen string
		opts   Options
		want   string
	}{
		{"127.0.0.1:7080", Options{}, ""},
		{"[::1]:7080", Options{}, ""},
		{"0.0.0.0:7080", Options{}, "--insecure-http: plain HTTP is served only on a loopback address (127.0.0.1, ::1, localhost); --listen 0.0.0.0:7080 is not"},
		{":7080", Options{}, "--listen :7080 is not"},
		{"127.0.0.1:7080", Options{CertFile: "c"}, "cannot be given with --tls-cert or --tls-key"},
		{"127.0.0.1:7080", Options{KeyFile: "k"}, "cannot be given with --tls-cert or --tls-key"},
	}
	for _, tt := range tests {
		err := CheckInsecureHTTP(tt.listen, tt.opts)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckInsecureHTTP(%q, %+v) = %v, want nil", tt.listen, tt.opts, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckInsecureHTTP(%q, %+v) = %v, want %q", tt.listen, tt.opts, err, tt.want)
		}
	}
}
