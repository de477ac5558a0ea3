package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/strata-dev/strata/internal/atomicfile"
	"github.com/strata-dev/strata/internal/kubecert"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// Files of the gateway's identity in its data directory: its certificate and key (0600), the
// CA it trusts the server with, and the gateway's name.
const (
	certFile = "gateway.crt"
	keyFile  = "gateway.key"
	caFile   = "ca.crt"
)

// identity is the gateway's client certificate, kept in its data directory.
type identity struct {
	dir  string
	name string

	mu   sync.Mutex
	cert *tls.Certificate
	leaf *x509.Certificate
}

// loadIdentity reads the identity of dir; absent, ok is false.
func loadIdentity(dir string) (id *identity, ok bool, err error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, certFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("gateway identity: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, false, fmt.Errorf("gateway identity: %w", err)
	}
	id = &identity{dir: dir}
	if err := id.use(certPEM, keyPEM); err != nil {
		return nil, false, err
	}
	if time.Now().After(id.leaf.NotAfter) {
		return nil, false, nil // expired: register again
	}
	return id, true, nil
}

// use parses and takes a certificate and key.
func (id *identity) use(certPEM, keyPEM []byte) error {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("gateway identity: %w", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return fmt.Errorf("gateway identity: %w", err)
	}
	if len(leaf.Subject.OrganizationalUnit) != 1 {
		return errors.New("gateway identity: the certificate names no gateway")
	}
	id.mu.Lock()
	id.cert, id.leaf, id.name = &c, leaf, leaf.Subject.OrganizationalUnit[0]
	id.mu.Unlock()
	return nil
}

// save writes a certificate and key (0600) and uses them.
func (id *identity) save(certPEM, keyPEM []byte) error {
	if err := atomicfile.Replace(filepath.Join(id.dir, keyFile), keyPEM, 0o600); err != nil {
		return fmt.Errorf("gateway identity: %w", err)
	}
	if err := atomicfile.Replace(filepath.Join(id.dir, certFile), certPEM, 0o600); err != nil {
		return fmt.Errorf("gateway identity: %w", err)
	}
	return id.use(certPEM, keyPEM)
}

// clientCertificate is tls.Config.GetClientCertificate: the current certificate.
func (id *identity) clientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.cert, nil
}

// renewAt is when a third of the certificate's validity is left.
func (id *identity) renewAt() time.Time {
	id.mu.Lock()
	defer id.mu.Unlock()
	life := id.leaf.NotAfter.Sub(id.leaf.NotBefore.Add(kubecert.ClockSkew))
	return id.leaf.NotAfter.Add(-life / 3)
}

// newCSR is a CSR of a new key.
func newCSR() (csrPEM, keyPEM []byte, err error) {
	return kubecert.NewCSR(pkix.Name{CommonName: "strata-gateway"})
}

// register spends the token for a certificate, kept in dir with the server's CA.
func register(ctx context.Context, c gatewayv1.GatewayRegistrationServiceClient, dir, token string) (*identity, error) {
	csr, key, err := newCSR()
	if err != nil {
		return nil, err
	}
	resp, err := c.Register(ctx, &gatewayv1.RegisterRequest{Token: token, Csr: csr})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if err := atomicfile.Replace(filepath.Join(dir, caFile), resp.GetCa(), 0o644); err != nil {
		return nil, fmt.Errorf("gateway identity: %w", err)
	}
	id := &identity{dir: dir}
	return id, id.save(resp.GetCertificate(), key)
}

// renew asks for a new certificate of a new key.
func (id *identity) renew(ctx context.Context, c gatewayv1.GatewayServiceClient) error {
	csr, key, err := newCSR()
	if err != nil {
		return err
	}
	resp, err := c.Renew(ctx, &gatewayv1.RenewRequest{Csr: csr})
	if err != nil {
		return fmt.Errorf("renew the certificate: %w", err)
	}
	return id.save(resp.GetCertificate(), key)
}

// Registered reports whether dir holds a gateway identity that has not expired: a replica
// started on it needs no registration token.
func Registered(dir string) bool {
	_, ok, err := loadIdentity(dir)
	return err == nil && ok
}
