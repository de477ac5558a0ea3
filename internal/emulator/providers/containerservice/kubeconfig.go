package containerservice

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// AKS's first-party application IDs that kubelogin uses for AAD-enabled clusters.
const (
	aksServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"
	azureCLIAppID  = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
)

// clusterSecrets are the credentials minted for a cluster when it is created: a CA and, for
// the admin and the user kubeconfigs, a client certificate signed by it and a token.
type clusterSecrets struct {
	CA, CAKey, AdminCert, AdminKey, UserCert, UserKey, AdminToken, UserToken string
}

func (s clusterSecrets) toMap() map[string]any {
	return map[string]any{"ca": s.CA, "caKey": s.CAKey, "adminCert": s.AdminCert, "adminKey": s.AdminKey,
		"userCert": s.UserCert, "userKey": s.UserKey, "adminToken": s.AdminToken, "userToken": s.UserToken}
}

func secretsFrom(m map[string]any) clusterSecrets {
	return clusterSecrets{CA: jsonmap.Str(m, "ca"), CAKey: jsonmap.Str(m, "caKey"), AdminCert: jsonmap.Str(m, "adminCert"), AdminKey: jsonmap.Str(m, "adminKey"),
		UserCert: jsonmap.Str(m, "userCert"), UserKey: jsonmap.Str(m, "userKey"), AdminToken: jsonmap.Str(m, "adminToken"), UserToken: jsonmap.Str(m, "userToken")}
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// newClusterSecrets mints a cluster CA and client certificates (ECDSA P-256, valid ten years
// like AKS's) and the tokens, taken from token (32 hex digits each).
func newClusterSecrets(token func() string) (clusterSecrets, error) {
	now := time.Now().Add(-time.Hour)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return clusterSecrets{}, fmt.Errorf("generating the cluster CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ca"},
		NotBefore:             now,
		NotAfter:              now.AddDate(30, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return clusterSecrets{}, fmt.Errorf("signing the cluster CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return clusterSecrets{}, fmt.Errorf("parsing the cluster CA: %w", err)
	}
	client := func(serial int64, cn string) (string, string, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", fmt.Errorf("generating the %s key: %w", cn, err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn, Organization: []string{"system:masters"}},
			NotBefore:    now,
			NotAfter:     now.AddDate(10, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return "", "", fmt.Errorf("signing the %s certificate: %w", cn, err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return "", "", fmt.Errorf("encoding the %s key: %w", cn, err)
		}
		return pemOf("CERTIFICATE", der), pemOf("EC PRIVATE KEY", keyDER), nil
	}
	caKeyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return clusterSecrets{}, fmt.Errorf("encoding the cluster CA key: %w", err)
	}
	s := clusterSecrets{CA: pemOf("CERTIFICATE", caDER), CAKey: pemOf("EC PRIVATE KEY", caKeyDER), AdminToken: token(), UserToken: token()}
	if s.AdminCert, s.AdminKey, err = client(2, "masterclient"); err != nil {
		return clusterSecrets{}, err
	}
	if s.UserCert, s.UserKey, err = client(3, "masterclient"); err != nil {
		return clusterSecrets{}, err
	}
	return s, nil
}

// kubeconfigSpec is what one kubeconfig says.
type kubeconfigSpec struct {
	Cluster string // the cluster's name in the file
	Context string
	User    string
	Server  string // https://{fqdn}:443
	CA      string // PEM
	// Certificate authentication (local accounts).
	ClientCert, ClientKey, Token string
	// AAD authentication through kubelogin (user credentials of AAD-enabled clusters).
	TenantID string
	AAD      bool
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// renderKubeconfig writes a kubeconfig YAML in the layout AKS returns.
func renderKubeconfig(s kubeconfigSpec) ([]byte, error) {
	user := map[string]any{}
	if s.AAD {
		tenant := s.TenantID
		if tenant == "" {
			tenant = "common"
		}
		user["exec"] = map[string]any{
			"apiVersion": "client.authentication.k8s.io/v1beta1",
			"command":    "kubelogin",
			"args": []any{"get-token", "--environment", "AzurePublicCloud", "--server-id", aksServerAppID,
				"--client-id", azureCLIAppID, "--tenant-id", tenant, "--login", "devicecode"},
			"env":                nil,
			"installHint":        "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n",
			"interactiveMode":    "IfAvailable",
			"provideClusterInfo": false,
		}
	} else {
		user["client-certificate-data"] = b64(s.ClientCert)
		user["client-key-data"] = b64(s.ClientKey)
		user["token"] = s.Token
	}
	cfg := map[string]any{
		"apiVersion": "v1",
		"kind":       "Config",
		"clusters": []any{map[string]any{"name": s.Cluster, "cluster": map[string]any{
			"certificate-authority-data": b64(s.CA),
			"server":                     s.Server,
		}}},
		"contexts": []any{map[string]any{"name": s.Context, "context": map[string]any{
			"cluster": s.Cluster,
			"user":    s.User,
		}}},
		"current-context": s.Context,
		"preferences":     map[string]any{},
		"users":           []any{map[string]any{"name": s.User, "user": user}},
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding the kubeconfig: %w", err)
	}
	return out, nil
}
