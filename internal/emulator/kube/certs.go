package kube

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/strata-dev/strata/internal/kubecert"
)

// certValidity is how long the certificates the emulator mints for a control plane last; they
// are minted again at every start.
const certValidity = 365 * 24 * time.Hour

// serving mints the API server's serving certificate: the names of the kubernetes service,
// the cluster's DNS names, its address and the service's cluster IP.
func serving(ca *kubecert.CA, dnsNames []string, ips ...netip.Addr) (kubecert.Credential, error) {
	names := append([]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local", "localhost"}, dnsNames...)
	var addrs []net.IP
	for _, ip := range ips {
		if ip.IsValid() {
			addrs = append(addrs, net.IP(ip.AsSlice()))
		}
	}
	return ca.IssueServing("kube-apiserver", names, addrs, time.Now(), certValidity)
}

// newServiceAccountKey generates the key that signs the cluster's service account tokens
// (RSA 2048, as kubeadm's sa.key).
func newServiceAccountKey() (keyPEM, pubPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the service account public key: %w", err)
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	return keyPEM, pubPEM, nil
}
