// Package kubecert mints short-lived Kubernetes client certificates signed by a cluster's CA
// (the CA strata generates for an IaaS cluster: plan.BootstrapSecrets) and writes the
// kubeconfigs that carry them. It does no I/O: keys come from crypto/rand, times from the
// caller. Everything it returns but the CA certificate is a secret: callers must not log it,
// store it in plain text or put it in an event.
package kubecert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// KubeconfigValidity is how long the client certificate of a kubeconfig strata serves is
// valid: twelve hours, after which the user asks for a new kubeconfig.
const KubeconfigValidity = 12 * time.Hour

// ClockSkew is how far before its issue time a certificate is already valid, so that an API
// server whose clock is a little behind strata's accepts it at once.
const ClockSkew = 5 * time.Minute

// Identity is the Kubernetes user a client certificate authenticates: its common name is the
// user name, its organizations the groups.
type Identity struct {
	User   string
	Groups []string
}

// The identities of the certificates strata mints.
var (
	// Admin is the admin kubeconfig's user: cluster-admin through the system:masters group,
	// as kubeadm's admin.conf.
	Admin = Identity{User: "strata-admin", Groups: []string{"system:masters"}}
	// User is the user kubeconfig's: the group strata:users, which has no rights until the
	// cluster's admin binds it to a role (kubectl create clusterrolebinding ... --group
	// strata:users).
	User = Identity{User: "strata-user", Groups: []string{"strata:users"}}
	// Controller is strata's own, to read the cluster's version and nodes.
	Controller = Identity{User: "strata-controller", Groups: []string{"system:masters"}}
)

// CA is a cluster's certificate authority: its certificate and signing key.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// ParseCA parses a CA certificate and its key (PEM: EC PRIVATE KEY, RSA PRIVATE KEY or
// PKCS #8 PRIVATE KEY) and checks that they match. Its errors never include the key.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("kubecert: the CA certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("kubecert: the CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("kubecert: the CA certificate is not a CA")
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("kubecert: the CA key does not match the CA certificate")
	}
	return &CA{cert: cert, certPEM: certPEM, key: key}, nil
}

// parseKey parses a PEM private key that can sign.
func parseKey(keyPEM []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("kubecert: the CA key is not PEM")
	}
	var k any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		err = fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("kubecert: the CA key: %w", err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	}
	return nil, errors.New("kubecert: the CA key is not an ECDSA or RSA key")
}

// CertPEM is the CA certificate, PEM-encoded: what a client trusts.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// Pool is a certificate pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Credential is a client certificate and its private key, PEM-encoded. The key is a secret.
type Credential struct {
	CertPEM, KeyPEM []byte
	// NotAfter is when the certificate expires.
	NotAfter time.Time
}

// Issue mints a client certificate for id with a new ECDSA P-256 key, signed by the CA, valid
// from ClockSkew before now until now plus validity (never past the CA's own expiry).
func (ca *CA) Issue(id Identity, now time.Time, validity time.Duration) (Credential, error) {
	if id.User == "" {
		return Credential{}, errors.New("kubecert: a client certificate needs a user name")
	}
	return ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: id.User, Organization: id.Groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, now, validity)
}

// IssueServing mints an API server's serving certificate for the names and addresses, with a
// new ECDSA P-256 key, valid as Issue's.
func (ca *CA) IssueServing(cn string, dnsNames []string, ips []net.IP, now time.Time, validity time.Duration) (Credential, error) {
	if len(dnsNames) == 0 && len(ips) == 0 {
		return Credential{}, errors.New("kubecert: a serving certificate needs a name or an address")
	}
	return ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		DNSNames:    dnsNames,
		IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, now, validity)
}

// sign completes tmpl (serial number, validity, key usage), signs it with a new P-256 key and
// returns both.
func (ca *CA) sign(tmpl *x509.Certificate, now time.Time, validity time.Duration) (Credential, error) {
	if validity <= 0 {
		return Credential{}, fmt.Errorf("kubecert: validity %s is not positive", validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Credential{}, fmt.Errorf("kubecert: generate the key of %s: %w", tmpl.Subject.CommonName, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return Credential{}, fmt.Errorf("kubecert: generate a serial number: %w", err)
	}
	notAfter := now.Add(validity).UTC().Truncate(time.Second)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-ClockSkew).UTC()
	tmpl.NotAfter = notAfter
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return Credential{}, fmt.Errorf("kubecert: sign the certificate of %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Credential{}, fmt.Errorf("kubecert: encode the key of %s: %w", tmpl.Subject.CommonName, err)
	}
	return Credential{
		CertPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		NotAfter: notAfter,
	}, nil
}
