// Package servertls gives the strata server the certificate it serves HTTPS with: a pair the
// operator names (--tls-cert, --tls-key), or else a self-signed certificate kept in the data
// directory, made on first start, kept across restarts and made again only when it nears its
// expiry or no longer covers the address the server listens on. It also says which listen
// addresses are loopback, where plain HTTP may be served (--insecure-http).
package servertls

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/datadir"
)

// Options say where the certificate comes from.
type Options struct {
	// CertFile and KeyFile name a PEM certificate (chain) and its key (--tls-cert, --tls-key):
	// both or neither. Neither: the self-signed certificate of DataDir.
	CertFile, KeyFile string
	// DataDir holds the self-signed certificate, in tls/server.crt and tls/server.key.
	DataDir string
	// Hosts are names or addresses the self-signed certificate must cover besides localhost,
	// 127.0.0.1, ::1 and the host name: the host of --listen. An empty or unspecified host
	// ("", 0.0.0.0, ::) adds nothing.
	Hosts []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Certificate is the certificate the server serves.
type Certificate struct {
	// TLS is the certificate chain and key, with its Leaf parsed.
	TLS tls.Certificate
	// CertPEM is the certificate chain in PEM: public, what a client trusts.
	CertPEM []byte
	// CertFile is the file the certificate was read from or written to.
	CertFile string
	// Fingerprint is the SHA-256 of the leaf certificate (see Fingerprint).
	Fingerprint string
	// SelfSigned is true when the leaf certificate signed itself.
	SelfSigned bool
	// Generated is true when the self-signed certificate was made by this Load.
	Generated bool
	// Regenerated, when not empty, says why a self-signed certificate kept in the data
	// directory was replaced by a new one (Generated is then true): clients that trusted the
	// old one must trust the new one.
	Regenerated string
	// Narrowed are the modes of the tls directory and key file that Load narrowed because
	// they let group or others in.
	Narrowed []datadir.Change
}

// Load returns the certificate given by opts.CertFile and opts.KeyFile, or else the
// self-signed certificate kept in opts.DataDir, made or made again when needed.
func Load(opts Options) (*Certificate, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.CertFile != "" && opts.KeyFile != "":
		return loadPair(opts.CertFile, opts.KeyFile)
	case opts.CertFile != "" || opts.KeyFile != "":
		return nil, errors.New("--tls-cert and --tls-key go together: give both, or neither for a self-signed certificate kept in the data directory")
	case opts.DataDir == "":
		return nil, errors.New("TLS: no data directory to keep the self-signed certificate in, and no --tls-cert and --tls-key")
	}
	return loadOrGenerate(opts)
}

// loadPair reads the certificate chain and key the operator gave, naming the flag of the
// file that is wrong.
func loadPair(certFile, keyFile string) (*Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert: %w", err)
	}
	if b, _ := pem.Decode(certPEM); b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("--tls-cert %s: no PEM certificate (-----BEGIN CERTIFICATE-----) at its start", certFile)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--tls-key %s with --tls-cert %s: %w", keyFile, certFile, err)
	}
	if err := parseLeaf(&pair); err != nil {
		return nil, fmt.Errorf("--tls-cert %s: %w", certFile, err)
	}
	return newCertificate(pair, certPEM, certFile), nil
}

// newCertificate describes a parsed pair.
func newCertificate(pair tls.Certificate, certPEM []byte, certFile string) *Certificate {
	leaf := pair.Leaf
	return &Certificate{
		TLS:         pair,
		CertPEM:     certPEM,
		CertFile:    certFile,
		Fingerprint: Fingerprint(leaf.Raw),
		SelfSigned: bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
			leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil,
	}
}

// ServerConfig is the TLS configuration serving c: TLS 1.2 or later, HTTP/2 or HTTP/1.1.
func ServerConfig(c *Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{c.TLS},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// Fingerprint is the SHA-256 of a certificate's DER as openssl prints it, uppercase hex pairs
// separated by colons, after "SHA256:": SHA256:AB:CD:... Clients pin a certificate by it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	b.WriteString("SHA256:")
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// parseLeaf parses the first certificate of a pair when tls.X509KeyPair left Leaf empty.
func parseLeaf(pair *tls.Certificate) error {
	if pair.Leaf != nil {
		return nil
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return err
	}
	pair.Leaf = leaf
	return nil
}
