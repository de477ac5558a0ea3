package emulator

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
	"time"

	"github.com/strata-dev/strata/internal/atomicfile"
)

// Files of the certificate authority in the state directory.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca-key.pem"
)

// authority is the emulator's certificate authority, which signs its server certificate.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// loadOrCreateCA reads the CA kept in dir, or creates it there, or in memory when dir is
// empty. The key is created once (atomicfile.LoadOrCreate), then the certificate for that key
// once (atomicfile.Create), so that emulators starting at once on one state directory all
// serve under the one CA that ca.pem holds, and ca.pem always certifies ca-key.pem.
func loadOrCreateCA(dir string) (*authority, error) {
	if dir == "" {
		keyPEM, err := newCAKeyPEM()
		if err != nil {
			return nil, err
		}
		key, _ := parseCAKey(keyPEM)
		certPEM, err := newCACertPEM(key)
		if err != nil {
			return nil, err
		}
		return parseCA(certPEM, key)
	}
	keyPEM, err := atomicfile.LoadOrCreate(filepath.Join(dir, caKeyFile), newCAKeyPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseCAKey(keyPEM)
	if err != nil {
		return nil, err
	}
	certPEM, err := loadOrCreateCACert(filepath.Join(dir, caCertFile), key)
	if err != nil {
		return nil, err
	}
	ca, err := parseCA(certPEM, key)
	if err != nil {
		return nil, err
	}
	if time.Until(ca.cert.NotAfter) < 24*time.Hour {
		return nil, fmt.Errorf("the CA in %s expires on %s: remove %s and %s to make a new one", dir, ca.cert.NotAfter.Format(time.DateOnly), caCertFile, caKeyFile)
	}
	return ca, nil
}

// loadOrCreateCACert reads the CA certificate at path, or creates it for key (mode 0644: it is
// public). A certificate of another key (ca-key.pem was removed alone) is replaced: nothing
// can be signed for it any more.
func loadOrCreateCACert(path string, key *ecdsa.PrivateKey) ([]byte, error) {
	certPEM, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if certPEM, err = newCACertPEM(key); err != nil {
			return nil, err
		}
		err = atomicfile.Create(path, certPEM, 0o644)
		if errors.Is(err, fs.ErrExist) {
			certPEM, err = os.ReadFile(path) // another emulator made it first, for this key
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the CA certificate: %w", err)
	}
	if ca, err := parseCA(certPEM, key); err == nil && !key.PublicKey.Equal(ca.cert.PublicKey) {
		if certPEM, err = newCACertPEM(key); err != nil {
			return nil, err
		}
		if err := atomicfile.Replace(path, certPEM, 0o644); err != nil {
			return nil, err
		}
	}
	return certPEM, nil
}

// newCAKeyPEM generates a CA key (P-256, SEC 1 in PEM).
func newCAKeyPEM() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the CA key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// newCACertPEM makes a self-signed CA certificate for key, valid for 10 years.
func newCACertPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Strata Emulator CA", Organization: []string{"strata emulator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating the CA certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// parseCAKey reads a CA key that newCAKeyPEM wrote.
func parseCAKey(keyPEM []byte) (*ecdsa.PrivateKey, error) {
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("reading the CA key %s: not PEM", caKeyFile)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading the CA key %s: %w", caKeyFile, err)
	}
	return key, nil
}

// parseCA reads a CA certificate in PEM and pairs it with its key.
func parseCA(certPEM []byte, key *ecdsa.PrivateKey) (*authority, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, fmt.Errorf("reading the CA certificate %s: not PEM", caCertFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading the CA certificate %s: %w", caCertFile, err)
	}
	return &authority{cert: cert, key: key, certPEM: certPEM}, nil
}

// serverCert issues a server certificate for the loopback names and the given extra hosts.
func (ca *authority) serverCert(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating the server key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "strata emulator"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating the server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
