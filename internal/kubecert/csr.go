package kubecert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// NewCA makes a self-signed CA with a new ECDSA P-256 key, valid from ClockSkew before now for
// validity, and returns its certificate and key as PEM. The key is a secret.
func NewCA(commonName string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("kubecert: generate the key of CA %s: %w", commonName, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("kubecert: generate a serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-ClockSkew).UTC(),
		NotAfter:              now.Add(validity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("kubecert: sign CA %s: %w", commonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("kubecert: encode the key of CA %s: %w", commonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// NewCSR makes a new ECDSA P-256 key and a certificate signing request of it for subject; it
// returns both as PEM. The key is a secret.
func NewCSR(subject pkix.Name) (csrPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("kubecert: generate a key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("kubecert: make a CSR: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("kubecert: encode a key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// SignClientCSR checks a PEM certificate signing request (its signature, an ECDSA P-256 or
// RSA key of at least 2048 bits) and signs a client certificate of its key for subject,
// whatever subject the request asked for: the caller decides who the certificate names. The
// certificate is valid as Issue's.
func (ca *CA) SignClientCSR(csrPEM []byte, subject pkix.Name, now time.Time, validity time.Duration) (Credential, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return Credential{}, errors.New("kubecert: the certificate signing request is not PEM")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return Credential{}, fmt.Errorf("kubecert: the certificate signing request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return Credential{}, fmt.Errorf("kubecert: the certificate signing request's signature: %w", err)
	}
	if err := checkPublicKey(csr); err != nil {
		return Credential{}, err
	}
	if validity <= 0 {
		return Credential{}, fmt.Errorf("kubecert: validity %s is not positive", validity)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return Credential{}, fmt.Errorf("kubecert: generate a serial number: %w", err)
	}
	notAfter := now.Add(validity).UTC().Truncate(time.Second)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject,
		NotBefore: now.Add(-ClockSkew).UTC(), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return Credential{}, fmt.Errorf("kubecert: sign the certificate of %s: %w", subject.CommonName, err)
	}
	return Credential{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), NotAfter: notAfter}, nil
}

// checkPublicKey accepts the keys strata's own clients make (P-256) and RSA of 2048 bits or
// more.
func checkPublicKey(csr *x509.CertificateRequest) error {
	switch pub := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() {
			return errors.New("kubecert: the certificate signing request's ECDSA key is not P-256 or P-384")
		}
	default:
		if csr.PublicKeyAlgorithm != x509.RSA {
			return fmt.Errorf("kubecert: the certificate signing request's key (%s) is not ECDSA or RSA", csr.PublicKeyAlgorithm)
		}
		if n, ok := rsaBits(csr); !ok || n < 2048 {
			return errors.New("kubecert: the certificate signing request's RSA key is shorter than 2048 bits")
		}
	}
	return nil
}

func rsaBits(csr *x509.CertificateRequest) (int, bool) {
	type sized interface{ Size() int }
	if k, ok := csr.PublicKey.(sized); ok {
		return k.Size() * 8, true
	}
	return 0, false
}
