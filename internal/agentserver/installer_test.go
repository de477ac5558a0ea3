package agentserver_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/strata-dev/strata/api/v1alpha1"
	examplefiles "github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// TestInstallerManifestCarriesTheGatewayProxy: the manifest of a cluster whose account names
// a gateway (the examples' iaas-static behind corp-gateway) gives the agent the gateway's
// proxy, with the cluster's NO_PROXY and the proxy's CA, through its Secret; a cluster of an account without a
// gateway (iaas-dynamic) gets none.
func TestInstallerManifestCarriesTheGatewayProxy(t *testing.T) {
	ctx := context.Background()
	const proxyCA = "-----BEGIN CERTIFICATE-----\nMIIBcorpproxy\n-----END CERTIFICATE-----\n"
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, name := range []string{"gateway.yaml", "cloudaccount.yaml", "cloudaccount-corp.yaml", "profile-iaas.yaml",
		"profile-proxy-demo.yaml", "cluster-iaas-static.yaml", "cluster-iaas-dynamic.yaml"} {
		data, err := fs.ReadFile(examplefiles.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := v1alpha1.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if gw, ok := o.(*v1alpha1.PrivateCloudGateway); ok {
				gw.Spec.Proxy.CACertificate = proxyCA
			}
			mustCreate(t, st, o)
		}
	}
	auth, err := agentserver.LoadAuthority(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	in := &agentserver.Installer{Store: st, Authority: auth, Server: "strata.example:7443", Image: "example.com/strata:v1"}

	static := agentEnv(t, in, getCluster(t, st, "iaas-static"))
	const proxy = "http://proxy.corp.example.com:3128"
	if static.secret["HTTPS_PROXY"] != proxy || static.secret["https_proxy"] != proxy || static.secret["HTTP_PROXY"] != proxy {
		t.Errorf("iaas-static: Secret proxy variables %v", static.secret)
	}
	noProxy := strings.Split(static.secret["NO_PROXY"], ",")
	for _, want := range []string{"10.96.0.0/12", "172.16.0.0/16", "10.10.0.0/24", "10.10.1.0/24", ".svc", "169.254.169.254"} {
		if !contains(noProxy, want) {
			t.Errorf("iaas-static: NO_PROXY %q lacks %s", static.secret["NO_PROXY"], want)
		}
	}
	if static.secret[agentmanifest.ProxyCAKey] != proxyCA {
		t.Errorf("iaas-static: the Secret's %s is %q, want the gateway proxy's CA", agentmanifest.ProxyCAKey, static.secret[agentmanifest.ProxyCAKey])
	}
	if len(static.fromSecret) != 6 {
		t.Errorf("iaas-static: the agent takes %v from its Secret, want the six proxy variables", static.fromSecret)
	}
	if dynamic := agentEnv(t, in, getCluster(t, st, "iaas-dynamic")); len(dynamic.fromSecret) != 0 || dynamic.secret["HTTPS_PROXY"] != "" || dynamic.secret[agentmanifest.ProxyCAKey] != "" {
		t.Errorf("iaas-dynamic (no gateway): proxy %v, variables %v", dynamic.secret, dynamic.fromSecret)
	}
}

// installed is what a manifest gives the agent: its Secret's data and the variables it
// takes from the Secret.
type installed struct {
	secret     map[string]string
	fromSecret []string
}

func agentEnv(t *testing.T, in *agentserver.Installer, cl *v1alpha1.Cluster) installed {
	t.Helper()
	b, err := in.Manifest(context.Background(), cl)
	if err != nil {
		t.Fatalf("manifest of %s: %v", cl.Metadata.Name, err)
	}
	docs, err := v1alpha1.Decodable(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var sec corev1.Secret
	var dep appsv1.Deployment
	for _, doc := range docs {
		var head struct{ Kind string }
		_ = json.Unmarshal(doc, &head)
		switch head.Kind {
		case "Secret":
			_ = json.Unmarshal(doc, &sec)
		case "Deployment":
			_ = json.Unmarshal(doc, &dep)
		}
	}
	out := installed{secret: sec.StringData}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			out.fromSecret = append(out.fromSecret, e.Name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
