package kubecert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-dev/strata/internal/plan"
)

// testCA is a cluster CA as strata makes one.
func testCA(t *testing.T) (plan.BootstrapSecrets, *CA) {
	t.Helper()
	s, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := ParseCA(s.CACertPEM, s.CAKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return s, ca
}

func parseCert(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(p)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", p)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIssue(t *testing.T) {
	s, ca := testCA(t)
	// The cluster CA is made now (plan.NewBootstrapSecrets): a fixed date would fall outside
	// its validity one day. Certificates hold whole seconds.
	now := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name     string
		id       Identity
		validity time.Duration
	}{
		{"admin", Admin, KubeconfigValidity},
		{"user", User, KubeconfigValidity},
		{"controller", Controller, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := ca.Issue(tt.id, now, tt.validity)
			if err != nil {
				t.Fatal(err)
			}
			cert := parseCert(t, cred.CertPEM)
			if cert.Subject.CommonName != tt.id.User || !slices.Equal(cert.Subject.Organization, tt.id.Groups) {
				t.Errorf("subject %v, want CN %s O %v", cert.Subject, tt.id.User, tt.id.Groups)
			}
			if want := now.Add(tt.validity); !cert.NotAfter.Equal(want) || !cred.NotAfter.Equal(want) {
				t.Errorf("expires %s (credential says %s), want %s", cert.NotAfter, cred.NotAfter, want)
			}
			if want := now.Add(-ClockSkew); !cert.NotBefore.Equal(want) {
				t.Errorf("valid from %s, want %s", cert.NotBefore, want)
			}
			if _, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || cert.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("key %T, want ECDSA", cert.PublicKey)
			} else if cert.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P256() {
				t.Error("key not on P-256")
			}
			if cert.IsCA || !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
				t.Errorf("IsCA %v, ext key usage %v: want a client certificate", cert.IsCA, cert.ExtKeyUsage)
			}
			// It chains to the cluster's CA, while valid only.
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(s.CACertPEM)
			verify := func(at time.Time) error {
				_, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
				return err
			}
			if err := verify(now); err != nil {
				t.Errorf("does not chain to the CA: %v", err)
			}
			if err := verify(now.Add(tt.validity - time.Second)); err != nil {
				t.Errorf("not valid a second before it expires: %v", err)
			}
			if err := verify(now.Add(tt.validity + time.Second)); err == nil {
				t.Error("still valid a second after it expires")
			}
			// The key is the certificate's.
			pair, err := tls.X509KeyPair(cred.CertPEM, cred.KeyPEM)
			if err != nil || pair.Leaf == nil {
				t.Fatalf("the key does not match the certificate: %v", err)
			}
		})
	}
}

func TestIssueDoesNotOutliveTheCA(t *testing.T) {
	_, ca := testCA(t)
	now := time.Now()
	cred, err := ca.Issue(Admin, now, 20*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseCert(t, cred.CertPEM).NotAfter; !got.Equal(ca.cert.NotAfter) {
		t.Errorf("expires %s, after the CA (%s)", got, ca.cert.NotAfter)
	}
}

func TestIssueRefuses(t *testing.T) {
	_, ca := testCA(t)
	if _, err := ca.Issue(Identity{}, time.Now(), time.Hour); err == nil {
		t.Error("a certificate without a user name was issued")
	}
	if _, err := ca.Issue(Admin, time.Now(), 0); err == nil {
		t.Error("a certificate of no validity was issued")
	}
}

func TestParseCA(t *testing.T) {
	s, _ := testCA(t)
	other, _ := testCA(t)
	tests := []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"good", s.CACertPEM, s.CAKeyPEM, ""},
		{"cert not PEM", []byte("x"), s.CAKeyPEM, "not PEM"},
		{"key not PEM", s.CACertPEM, []byte("x"), "not PEM"},
		{"key of another CA", s.CACertPEM, other.CAKeyPEM, "does not match"},
		{"key is a certificate", s.CACertPEM, s.CACertPEM, "unexpected PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCA(tt.cert, tt.key)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			for _, line := range strings.Split(string(tt.key), "\n")[1:] {
				if err != nil && len(line) > 8 && strings.Contains(err.Error(), line) {
					t.Error("the error reveals the key")
				}
			}
		})
	}
}

// servingCert is an API server's serving certificate signed by the CA, for name and 127.0.0.1.
func servingCert(t *testing.T, s plan.BootstrapSecrets, name string) tls.Certificate {
	t.Helper()
	caCert := parseCert(t, s.CACertPEM)
	block, _ := pem.Decode(s.CAKeyPEM)
	caKey, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{name}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestKubeconfigAgainstAServer checks that a kubeconfig made from the CA reaches an API server
// whose certificate the CA signed, by address with tls-server-name, and authenticates as its
// identity; and that nothing else is trusted.
func TestKubeconfigAgainstAServer(t *testing.T) {
	s, ca := testCA(t)
	const fqdn = "prod-0123abcd.westeurope.cloudapp.azure.com"
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.TLS.PeerCertificates[0]
		_, _ = io.WriteString(w, c.Subject.CommonName+" "+strings.Join(c.Subject.Organization, ","))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{servingCert(t, s, fqdn)}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	srv.StartTLS()
	defer srv.Close()

	cred, err := ca.Issue(Admin, time.Now(), KubeconfigValidity)
	if err != nil {
		t.Fatal(err)
	}
	kc := Kubeconfig{Cluster: "prod", Server: srv.URL, TLSServerName: fqdn, CAPEM: ca.CertPEM(), User: Admin.User, Credential: cred}
	b, err := kc.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tls-server-name: " + fqdn, "server: " + srv.URL, "current-context: prod-strata-admin@prod"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the kubeconfig lacks %q:\n%s", want, b)
		}
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.URL + "/version")
	if err != nil {
		t.Fatalf("the kubeconfig does not reach the server: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "strata-admin system:masters" {
		t.Errorf("the server saw %q", body)
	}

	// A kubeconfig naming another host fails: the certificate is checked against
	// tls-server-name.
	kc.TLSServerName = "other.example"
	b, _ = kc.Bytes()
	cfg, _ = clientcmd.RESTConfigFromKubeConfig(b)
	hc, _ = rest.HTTPClientFor(cfg)
	if resp, err := hc.Get(srv.URL + "/version"); err == nil {
		resp.Body.Close()
		t.Error("a server certificate without the TLS server name was accepted")
	}
}

func TestKubeconfigRefusesIncomplete(t *testing.T) {
	if _, err := (Kubeconfig{Cluster: "x", Server: "https://127.0.0.1:6443"}).Bytes(); err == nil {
		t.Error("a kubeconfig without CA or credential was encoded")
	}
}

// TestIssueServing mints a serving certificate that chains to the CA for its names and
// address, for server authentication only.
func TestIssueServing(t *testing.T) {
	_, ca := testCA(t)
	now := time.Now()
	cred, err := ca.IssueServing("kube-apiserver", []string{"api.example.test"}, []net.IP{net.ParseIP("127.77.0.9")}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCert(t, cred.CertPEM)
	for _, name := range []string{"api.example.test", "127.77.0.9"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool(), CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate for %s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "other.example.test", Roots: ca.Pool(), CurrentTime: now}); err == nil {
		t.Error("the serving certificate verifies for a name it does not carry")
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "api.example.test", Roots: ca.Pool(), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the serving certificate is good for client authentication")
	}
	if _, err := ca.IssueServing("kube-apiserver", nil, nil, now, time.Hour); err == nil {
		t.Error("a serving certificate without a name or address was minted")
	}
}
