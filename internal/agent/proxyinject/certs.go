package proxyinject

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/internal/kubecert"
)

// CASecret is the Secret, in the agent's namespace, that keeps the webhook's CA certificate
// (key ca.crt) and its private key (key ca.key).
const CASecret = "strata-agent-webhook-ca"

const (
	caValidity      = 10 * 365 * 24 * time.Hour
	servingValidity = 365 * 24 * time.Hour
	// renewBefore is how long before its expiry the serving certificate is replaced.
	renewBefore = 30 * 24 * time.Hour
)

// ensureCA returns the webhook's CA from CASecret, creating the Secret with a new CA the first
// time. Replicas racing to create it converge on the one that was created first.
func ensureCA(ctx context.Context, client kubernetes.Interface, namespace string) (*kubecert.CA, error) {
	secrets := client.CoreV1().Secrets(namespace)
	s, err := secrets.Get(ctx, CASecret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s, err = createCASecret(ctx, client, namespace)
		if apierrors.IsAlreadyExists(err) {
			s, err = secrets.Get(ctx, CASecret, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("proxyinject: the CA Secret %s/%s: %w", namespace, CASecret, err)
	}
	ca, err := kubecert.ParseCA(s.Data["ca.crt"], s.Data["ca.key"])
	if err != nil {
		return nil, fmt.Errorf("proxyinject: the CA Secret %s/%s (delete it to have a new CA made): %w", namespace, CASecret, err)
	}
	return ca, nil
}

// createCASecret creates CASecret with a new CA.
func createCASecret(ctx context.Context, client kubernetes.Interface, namespace string) (*corev1.Secret, error) {
	certPEM, keyPEM, err := kubecert.NewCA("strata-agent-webhook-ca", time.Now(), caValidity)
	if err != nil {
		return nil, err
	}
	return client.CoreV1().Secrets(namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: CASecret, Namespace: namespace, Labels: managedLabels()},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"ca.crt": certPEM, "ca.key": keyPEM},
	}, metav1.CreateOptions{FieldManager: FieldManager})
}

// servingCert is the webhook's serving certificate, kept in memory and issued again by the CA
// when it nears its expiry.
type servingCert struct {
	ca       *kubecert.CA
	dnsNames []string
	ips      []net.IP
	now      func() time.Time

	mu       sync.Mutex
	cert     *tls.Certificate
	issued   time.Time
	notAfter time.Time
}

// get is a tls.Config.GetCertificate.
func (s *servingCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	// Issued at most once an hour: a CA near its own end caps NotAfter, which must not make
	// every handshake sign a new certificate.
	if s.cert != nil && (now.Before(s.notAfter.Add(-renewBefore)) || now.Before(s.issued.Add(time.Hour))) {
		return s.cert, nil
	}
	cred, err := s.ca.IssueServing("strata-agent-webhook", s.dnsNames, s.ips, now, servingValidity)
	if err != nil {
		return nil, fmt.Errorf("proxyinject: issue the serving certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(cred.CertPEM, cred.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("proxyinject: load the serving certificate: %w", err)
	}
	s.cert, s.issued, s.notAfter = &cert, now, cred.NotAfter
	return s.cert, nil
}

// checkCAPEM checks that caPEM is one or more PEM certificates and small enough for an
// annotation.
func checkCAPEM(caPEM string) error {
	if len(caPEM) > maxCABytes {
		return fmt.Errorf("proxyinject: the proxy's CA certificate has %d bytes, more than %d", len(caPEM), maxCABytes)
	}
	rest, n := []byte(caPEM), 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("proxyinject: the proxy's CA certificate holds a PEM block %q", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("proxyinject: the proxy's CA certificate: %w", err)
		}
		n++
	}
	if n == 0 {
		return errors.New("proxyinject: the proxy's CA certificate is not PEM")
	}
	return nil
}
