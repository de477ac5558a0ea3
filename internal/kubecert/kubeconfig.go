package kubecert

import (
	"errors"
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig is what a kubeconfig of one cluster, one user and one context holds.
type Kubeconfig struct {
	// Cluster names the cluster, the user (Cluster + "-" + the identity's user) and the
	// context.
	Cluster string
	// Server is the API server's URL, https://ADDRESS:PORT.
	Server string
	// TLSServerName is the name the API server's certificate is checked against when the
	// server is named by an address the certificate may not name (tls-server-name).
	TLSServerName string
	// CAPEM is the cluster CA, the only one trusted.
	CAPEM []byte
	// User is the credential's user name, for the kubeconfig's user entry.
	User string
	// Credential is the client certificate and key.
	Credential Credential
}

// Bytes encodes the kubeconfig as YAML (clientcmd's form). The bytes are a secret.
func (k Kubeconfig) Bytes() ([]byte, error) {
	if k.Cluster == "" || k.Server == "" || len(k.CAPEM) == 0 || len(k.Credential.CertPEM) == 0 || len(k.Credential.KeyPEM) == 0 {
		return nil, errors.New("kubecert: a kubeconfig needs a cluster name, a server, a CA and a credential")
	}
	user := k.Cluster + "-" + k.User
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{k.Cluster: {
			Server:                   k.Server,
			TLSServerName:            k.TLSServerName,
			CertificateAuthorityData: k.CAPEM,
		}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{user: {
			ClientCertificateData: k.Credential.CertPEM,
			ClientKeyData:         k.Credential.KeyPEM,
		}},
		Contexts:       map[string]*clientcmdapi.Context{user + "@" + k.Cluster: {Cluster: k.Cluster, AuthInfo: user}},
		CurrentContext: user + "@" + k.Cluster,
	}
	b, err := clientcmd.Write(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubecert: encode the kubeconfig: %w", err)
	}
	return b, nil
}
