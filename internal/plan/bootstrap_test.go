package plan

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNewBootstrapSecrets(t *testing.T) {
	s, err := NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`).MatchString(s.Token) {
		t.Errorf("token %q", s.Token)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(s.CertificateKey) {
		t.Errorf("certificate key %q", s.CertificateKey)
	}
	block, _ := pem.Decode(s.CACertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA || cert.NotAfter.Sub(cert.NotBefore) < 10*365*24*time.Hour {
		t.Errorf("CA: IsCA %v, valid %v", cert.IsCA, cert.NotAfter.Sub(cert.NotBefore))
	}
	hash, err := s.CACertHash()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	if hash != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s", hash)
	}

	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalBootstrapSecrets(data)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.CAKeyPEM) != string(s.CAKeyPEM) || string(back.CACertPEM) != string(s.CACertPEM) || back.Token != s.Token || back.CertificateKey != s.CertificateKey {
		t.Error("the secrets changed in a round trip")
	}
}

func TestBootstrapSecretsValidate(t *testing.T) {
	good := testSecrets(t)
	other, err := NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*BootstrapSecrets)
		want   string
	}{
		{"good", func(*BootstrapSecrets) {}, ""},
		{"token", func(s *BootstrapSecrets) { s.Token = "ABCDEF.0123456789abcdef" }, "token"},
		{"certificate key", func(s *BootstrapSecrets) { s.CertificateKey = "00" }, "certificate key"},
		{"cert not PEM", func(s *BootstrapSecrets) { s.CACertPEM = []byte("x") }, "not PEM"},
		{"key of another CA", func(s *BootstrapSecrets) { s.CAKeyPEM = other.CAKeyPEM }, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.modify(&s)
			err := s.Validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), s.Token) {
				t.Error("the error shows the token")
			}
		})
	}
	if _, err := UnmarshalBootstrapSecrets([]byte("{")); err == nil {
		t.Error("bad JSON accepted")
	}
}

func TestRandomStringReadsUntilUnbiased(t *testing.T) {
	// 252..255 are rejected; 0 is "a", 35 is "9", 36 wraps to "a".
	r := strings.NewReader(string([]byte{255, 0, 252, 35, 36}))
	got, err := randomString(r, 3)
	if err != nil || got != "a9a" {
		t.Errorf("got %q, %v", got, err)
	}
}
