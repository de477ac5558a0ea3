package servertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/atomicfile"
	"github.com/strata-dev/strata/internal/datadir"
)

// Files of the self-signed certificate: Dir is under the data directory, the files in Dir.
const (
	Dir          = "tls"
	CertFileName = "server.crt"
	KeyFileName  = "server.key"
)

const (
	// validity is how long a self-signed certificate is valid.
	validity = 365 * 24 * time.Hour
	// renewBefore is how long before its expiry a self-signed certificate is made again.
	renewBefore = 30 * 24 * time.Hour
)

// loadOrGenerate returns the self-signed certificate kept in the data directory, or makes one
// when there is none or the kept one cannot serve: expired or expiring within renewBefore, not
// covering one of opts.Hosts, or unreadable. The tls directory is kept 0700, the key 0600.
func loadOrGenerate(opts Options) (*Certificate, error) {
	dir := filepath.Join(opts.DataDir, Dir)
	var narrowed []datadir.Change
	c, err := datadir.Prepare(dir)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate directory: %w", err)
	}
	if c != nil {
		narrowed = append(narrowed, *c)
	}
	certPath, keyPath := filepath.Join(dir, CertFileName), filepath.Join(dir, KeyFileName)
	changes, err := datadir.Restrict(keyPath)
	narrowed = append(narrowed, changes...)
	if err != nil {
		return nil, fmt.Errorf("TLS key: %w", err)
	}
	now := opts.Now()
	cert, reason, err := loadKept(certPath, keyPath, now, opts.Hosts)
	if err != nil {
		return nil, err
	}
	if cert == nil {
		if cert, err = generate(certPath, keyPath, now, opts.Hosts); err != nil {
			return nil, err
		}
		cert.Generated, cert.Regenerated = true, reason
	}
	cert.Narrowed = narrowed
	return cert, nil
}

// loadKept reads the certificate and key kept in the data directory. It returns no
// certificate when there is none to keep, with the reason when there was one (empty when
// neither file exists).
func loadKept(certPath, keyPath string, now time.Time, hosts []string) (*Certificate, string, error) {
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return nil, "", nil
	case errors.Is(certErr, fs.ErrNotExist):
		return nil, certPath + " is missing", nil
	case errors.Is(keyErr, fs.ErrNotExist):
		return nil, keyPath + " is missing", nil
	case certErr != nil:
		return nil, "", fmt.Errorf("TLS certificate: %w", certErr)
	case keyErr != nil:
		return nil, "", fmt.Errorf("TLS key: %w", keyErr)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err == nil {
		err = parseLeaf(&pair)
	}
	if err != nil {
		return nil, fmt.Sprintf("the kept certificate and key cannot be used: %v", err), nil
	}
	if reason := renewal(pair.Leaf, now, hosts); reason != "" {
		return nil, reason, nil
	}
	return newCertificate(pair, certPEM, certPath), "", nil
}

// renewal says why leaf must be made again at now, or returns "" when it can be kept.
func renewal(leaf *x509.Certificate, now time.Time, hosts []string) string {
	left := leaf.NotAfter.Sub(now)
	switch {
	case left <= 0:
		return "it expired on " + leaf.NotAfter.UTC().Format(time.DateOnly)
	case left < renewBefore:
		return fmt.Sprintf("it expires on %s, within %d days", leaf.NotAfter.UTC().Format(time.DateOnly), int(renewBefore.Hours()/24))
	}
	for _, h := range hosts {
		ip, name := parseHost(h)
		switch {
		case ip != nil && leaf.VerifyHostname(ip.String()) != nil:
			return "it does not cover the address " + ip.String()
		case name != "" && leaf.VerifyHostname(name) != nil:
			return "it does not cover the host name " + name
		}
	}
	return ""
}

// generate makes a key and a self-signed certificate for it and writes them, each atomically,
// the key with mode 0600 and the certificate, which is public, 0644.
func generate(certPath, keyPath string, now time.Time, hosts []string) (*Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the TLS key: %w", err)
	}
	tmpl, err := template(now, hosts)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create the self-signed TLS certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode the TLS key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := atomicfile.Replace(keyPath, keyPEM, datadir.FileMode); err != nil {
		return nil, fmt.Errorf("TLS key: %w", err)
	}
	if err := atomicfile.Replace(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err == nil {
		err = parseLeaf(&pair)
	}
	if err != nil {
		return nil, fmt.Errorf("read back the self-signed TLS certificate: %w", err)
	}
	return newCertificate(pair, certPEM, certPath), nil
}

// template is the self-signed certificate made at now: its own root (CA, signing nothing
// else), for server authentication, naming localhost, the loopback addresses, the host name
// and hosts.
func template(now time.Time, hosts []string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate a certificate serial number: %w", err)
	}
	hostname, _ := os.Hostname()
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "strata server", Organization: []string{"strata (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1", hostname}, hosts...) {
		ip, name := parseHost(h)
		switch {
		case ip != nil && !seen[ip.String()]:
			seen[ip.String()] = true
			t.IPAddresses = append(t.IPAddresses, ip)
		case name != "" && !seen[name]:
			seen[name] = true
			t.DNSNames = append(t.DNSNames, name)
		}
	}
	return t, nil
}

// parseHost reads a host a certificate names: an IP address (brackets and zone dropped), or
// a host name (lower case), or neither for an empty or unspecified host.
func parseHost(h string) (net.IP, string) {
	h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]")
	addr, _, _ := strings.Cut(h, "%")
	if ip := net.ParseIP(addr); ip != nil {
		if ip.IsUnspecified() {
			return nil, ""
		}
		return ip, ""
	}
	return nil, strings.ToLower(strings.TrimSuffix(h, "."))
}
