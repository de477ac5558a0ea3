package plan

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"time"
)

// BootstrapSecretName is the store name of the sealed bootstrap secrets of the cluster of
// the UID.
func BootstrapSecretName(uid string) string { return "cluster/" + uid + "/bootstrap" }

// CAValidity is how long a cluster's CA is valid.
const CAValidity = 10 * 365 * 24 * time.Hour

var (
	tokenPattern          = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	certificateKeyPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// NewBootstrapSecrets generates a cluster's bootstrap secrets: an ECDSA P-256 Kubernetes CA
// valid for ten years, a kubeadm bootstrap token and a certificate key. The token, the
// certificate key and the CA's serial number are read from r; the CA's key comes from the
// system's secure random source whatever r is (crypto/ecdsa ignores a custom reader since
// Go 1.26).
func NewBootstrapSecrets(r io.Reader) (BootstrapSecrets, error) {
	var s BootstrapSecrets
	tokenID, err := randomString(r, 6)
	if err != nil {
		return s, err
	}
	tokenSecret, err := randomString(r, 16)
	if err != nil {
		return s, err
	}
	s.Token = tokenID + "." + tokenSecret
	key := make([]byte, 32)
	if _, err := io.ReadFull(r, key); err != nil {
		return s, fmt.Errorf("plan: reading random bytes: %w", err)
	}
	s.CertificateKey = hex.EncodeToString(key)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), r)
	if err != nil {
		return s, fmt.Errorf("plan: generating the CA key: %w", err)
	}
	serial := make([]byte, 16)
	if _, err := io.ReadFull(r, serial); err != nil {
		return s, fmt.Errorf("plan: reading random bytes: %w", err)
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(r, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		return s, fmt.Errorf("plan: signing the CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return s, fmt.Errorf("plan: encoding the CA key: %w", err)
	}
	s.CACertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	s.CAKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return s, nil
}

// randomString returns n characters of [a-z0-9] read from r, without modulo bias.
func randomString(r io.Reader, n int) (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, n)
	buf := make([]byte, 1)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("plan: reading random bytes: %w", err)
		}
		if buf[0] >= 252 { // 252 = 7*36
			continue
		}
		out = append(out, alphabet[int(buf[0])%len(alphabet)])
	}
	return string(out), nil
}

// secretsJSON is the stored form of BootstrapSecrets.
type secretsJSON struct {
	CACert         string `json:"caCert"`
	CAKey          string `json:"caKey"`
	Token          string `json:"token"`
	CertificateKey string `json:"certificateKey"`
}

// Marshal encodes the secrets as JSON, for the store's sealed secret.
func (s BootstrapSecrets) Marshal() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(secretsJSON{CACert: string(s.CACertPEM), CAKey: string(s.CAKeyPEM), Token: s.Token, CertificateKey: s.CertificateKey})
}

// UnmarshalBootstrapSecrets decodes and validates what Marshal encoded.
func UnmarshalBootstrapSecrets(data []byte) (BootstrapSecrets, error) {
	var j secretsJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return BootstrapSecrets{}, fmt.Errorf("plan: decoding bootstrap secrets: %w", err)
	}
	s := BootstrapSecrets{CACertPEM: []byte(j.CACert), CAKeyPEM: []byte(j.CAKey), Token: j.Token, CertificateKey: j.CertificateKey}
	if err := s.Validate(); err != nil {
		return BootstrapSecrets{}, err
	}
	return s, nil
}

// Validate checks the secrets' formats and that the CA key matches the CA certificate. Its
// errors never include the secrets.
func (s BootstrapSecrets) Validate() error {
	if !tokenPattern.MatchString(s.Token) {
		return errors.New("plan: bootstrap secrets: the token is not of the form [a-z0-9]{6}.[a-z0-9]{16}")
	}
	if !certificateKeyPattern.MatchString(s.CertificateKey) {
		return errors.New("plan: bootstrap secrets: the certificate key is not 64 hex digits")
	}
	cert, err := s.caCert()
	if err != nil {
		return err
	}
	block, _ := pem.Decode(s.CAKeyPEM)
	if block == nil {
		return errors.New("plan: bootstrap secrets: the CA key is not PEM")
	}
	var key crypto.Signer
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		var k any
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		if err == nil {
			switch k := k.(type) {
			case *ecdsa.PrivateKey:
				key = k
			case *rsa.PrivateKey:
				key = k
			default:
				err = errors.New("not an ECDSA or RSA key")
			}
		}
	default:
		err = fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return fmt.Errorf("plan: bootstrap secrets: the CA key: %w", err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return errors.New("plan: bootstrap secrets: the CA key does not match the CA certificate")
	}
	return nil
}

// caCert parses the CA certificate.
func (s BootstrapSecrets) caCert() (*x509.Certificate, error) {
	block, _ := pem.Decode(s.CACertPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("plan: bootstrap secrets: the CA certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("plan: bootstrap secrets: the CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("plan: bootstrap secrets: the CA certificate is not a CA")
	}
	return cert, nil
}

// CACertHash is kubeadm's discovery-token-ca-cert-hash of the CA: "sha256:" and the hex
// SHA-256 of the certificate's DER SubjectPublicKeyInfo.
func (s BootstrapSecrets) CACertHash() (string, error) {
	cert, err := s.caCert()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
