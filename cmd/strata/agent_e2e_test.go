package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agent"
	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
	"github.com/strata-dev/strata/internal/kubecert"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// agentAddonsProfile is an add-on profile of two layers: a ConfigMap, then a Deployment.
const agentAddonsProfile = `apiVersion: strata.dev/v1alpha1
kind: ClusterProfile
metadata:
  name: e2e-addons
spec:
  version: 1.0.0
  cloud: all
  type: add-on
  layers:
    - name: settings
      type: addon
      version: 1.0.0
      manifests:
        - name: settings
          content: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              namespace: e2e
            data:
              greeting: hello
    - name: app
      type: addon
      version: 1.0.0
      manifests:
        - name: app
          content: |
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: app
              namespace: e2e
            spec:
              replicas: 1
              selector:
                matchLabels: {app: app}
              template:
                metadata:
                  labels: {app: app}
                spec:
                  containers:
                    - name: app
                      image: registry.k8s.io/pause:3.10
`

// TestAgentsSurviveServerSIGKILL runs the real server process with its agent endpoint, the
// emulator's real API servers and the real agent processes (the node simulator runs the
// agent's pod as `strata agent`): the agent registers and the cluster is Running with its
// layers; its registration token, already spent, is refused; its certificate is renewed; a
// layer's object deleted in the cluster comes back; and after a SIGKILL of the server and a
// restart on the same data directory and address, the agent reconnects and applies nothing;
// a new profile version re-applies only its changed layer and prunes what left it; and a
// layer that cannot be applied fails with its reason and holds the next one.
func TestAgentsSurviveServerSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Latency = "fast" }, emulatortest.Kubernetes(t),
		func(o *emulator.Options) {
			o.Kubernetes.Runner = &nodesim.ProcessRunner{Images: map[string]string{agentmanifest.DefaultImage: strataBin}}
		})
	env.ResourceGroup(t, "agents-rg")
	cluster := strings.Replace(iaasClusterYAML(t, "agents", env.SubscriptionID, "agents-rg", 1, 1),
		"      version: 1.0.0\n", "      version: 1.0.0\n    - name: e2e-addons\n      version: 1.0.0\n", 1)
	dir := writeManifests(t, env, map[string]string{"agents": cluster})
	if err := os.WriteFile(filepath.Join(dir, "2-profile-addons.yaml"), []byte(agentAddonsProfile), 0o600); err != nil {
		t.Fatal(err)
	}
	agentAddr := freeAddress(t)
	srv := newRestartableServer(t, "server", []string{"--data-dir", t.TempDir(), "--check-kubernetes=true",
		"--agent-listen", agentAddr, "--agent-cert-validity", "9s", "--agent-resync", "2s", "--lease-ttl", "2s"}, nil)
	if r := strata(t, srv.URL, "", "apply", "-f", dir); r.Code != 0 {
		t.Fatalf("apply: %s", r)
	}
	waitRunning(t, srv.URL, []string{"agents"}, 5*time.Minute, srv.logs)
	kc := kubeClient(t, srv.URL, "agents")
	if _, err := kc.CoreV1().ConfigMaps("e2e").Get(context.Background(), "settings", metav1.GetOptions{}); err != nil {
		t.Fatalf("the add-on layer's ConfigMap: %v", err)
	}

	t.Run("its spent registration token is refused", func(t *testing.T) { checkTokenSpent(t, kc) })
	t.Run("its certificate is renewed", func(t *testing.T) {
		first := agentCertificate(t, kc)
		eventually(t, time.Minute, "a renewed certificate", func() error {
			if agentCertificate(t, kc) == first {
				return fmt.Errorf("the identity Secret holds the first certificate")
			}
			return nil
		})
	})
	t.Run("a deleted layer object comes back", func(t *testing.T) {
		if err := kc.CoreV1().ConfigMaps("e2e").Delete(context.Background(), "settings", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "the ConfigMap re-applied", func() error {
			_, err := kc.CoreV1().ConfigMaps("e2e").Get(context.Background(), "settings", metav1.GetOptions{})
			return err
		})
	})
	t.Run("after a SIGKILL of the server it reconnects and applies nothing", func(t *testing.T) {
		checkReconnectAfterSIGKILL(t, srv, kc)
	})
	t.Run("a new profile version re-applies the changed layer only and prunes", func(t *testing.T) {
		checkNewProfileVersion(t, srv, kc)
	})
	t.Run("a failing layer says why and holds the next one", func(t *testing.T) {
		checkFailingLayer(t, srv)
	})
}

// pinAddons applies version of the add-on profile, made from agentAddonsProfile with the
// settings layer's manifest replaced, and pins it on the cluster.
func pinAddons(t *testing.T, srv *restartableServer, version, settings string) {
	t.Helper()
	i := strings.Index(agentAddonsProfile, "            apiVersion: v1\n            kind: ConfigMap")
	j := strings.Index(agentAddonsProfile, "    - name: app\n")
	head := strings.Replace(agentAddonsProfile[:i], "spec:\n  version: 1.0.0\n", "spec:\n  version: "+version+"\n", 1)
	head = strings.Replace(head, "    - name: settings\n      type: addon\n      version: 1.0.0\n",
		"    - name: settings\n      type: addon\n      version: "+version+"\n", 1)
	body := head + settings + agentAddonsProfile[j:]
	if r := strata(t, srv.URL, body, "apply", "-f", "-"); r.Code != 0 {
		t.Fatalf("apply e2e-addons %s: %s", version, r)
	}
	editCluster(t, srv.URL, "agents", func(c *v1alpha1.Cluster) {
		for i := range c.Spec.Profiles {
			if c.Spec.Profiles[i].Name == "e2e-addons" {
				c.Spec.Profiles[i].Version = version
			}
		}
	})
}

// checkNewProfileVersion pins a version whose settings layer holds another ConfigMap: that
// one is applied, the old one pruned, and the app layer's Deployment left as it was.
func checkNewProfileVersion(t *testing.T, srv *restartableServer, kc kubernetes.Interface) {
	ctx := context.Background()
	dep, err := kc.AppsV1().Deployments("e2e").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pinAddons(t, srv, "1.1.0", `            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings-v2
              namespace: e2e
            data:
              greeting: hi
`)
	eventually(t, time.Minute, "settings-v2 applied and settings pruned", func() error {
		if _, err := kc.CoreV1().ConfigMaps("e2e").Get(ctx, "settings-v2", metav1.GetOptions{}); err != nil {
			return err
		}
		if _, err := kc.CoreV1().ConfigMaps("e2e").Get(ctx, "settings", metav1.GetOptions{}); err == nil {
			return fmt.Errorf("the ConfigMap settings, no longer in the layer, is still there")
		}
		return nil
	})
	waitRunning(t, srv.URL, []string{"agents"}, time.Minute, srv.logs)
	after, err := kc.AppsV1().Deployments("e2e").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != dep.ResourceVersion || after.UID != dep.UID {
		t.Errorf("the unchanged app layer's Deployment was written: resourceVersion %s, was %s", after.ResourceVersion, dep.ResourceVersion)
	}
}

// checkFailingLayer pins a version whose settings layer holds an object of a kind the
// cluster does not serve: the layer is Failed with the reason, the app layer after it waits.
func checkFailingLayer(t *testing.T, srv *restartableServer) {
	pinAddons(t, srv, "1.2.0", `            apiVersion: example.com/v1
            kind: NoSuchKind
            metadata:
              name: broken
              namespace: e2e
`)
	eventually(t, time.Minute, "the settings layer Failed, the app layer Pending", func() error {
		c, err := clientFor(srv.URL)
		if err != nil {
			return err
		}
		obj, err := c.Get(context.Background(), v1alpha1.KindCluster, "agents")
		if err != nil {
			return err
		}
		phases := map[string]v1alpha1.LayerStatus{}
		for _, l := range obj.(*v1alpha1.Cluster).Status.Layers {
			phases[l.Name] = l
		}
		settings, app := phases["settings"], phases["app"]
		if settings.Phase != "Failed" || !strings.Contains(settings.Message, "NoSuchKind") || app.Phase != "Pending" {
			return fmt.Errorf("settings %s (%q), app %s (%q)", settings.Phase, settings.Message, app.Phase, app.Message)
		}
		return nil
	})
}

// checkTokenSpent asserts that the token in the agent's config Secret, spent by its
// registration, is refused by the server's endpoint.
func checkTokenSpent(t *testing.T, kc kubernetes.Interface) {
	sec, err := kc.CoreV1().Secrets(agentmanifest.Namespace).Get(context.Background(), agentmanifest.ConfigSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sec.Data["ca.crt"])
	addr := string(sec.Data["server"])
	host, _, _ := strings.Cut(addr, ":")
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: host})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	csr, _, err := kubecert.NewCSR(pkix.Name{CommonName: "thief"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = agentv1.NewRegistrationServiceClient(cc).Register(ctx, &agentv1.RegisterRequest{Token: string(sec.Data["token"]), Csr: csr})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("register with the spent token: %v, want Unauthenticated", err)
	}
}

// agentCertificate is the certificate in the agent's identity Secret.
func agentCertificate(t *testing.T, kc kubernetes.Interface) string {
	t.Helper()
	sec, err := kc.CoreV1().Secrets(agentmanifest.Namespace).Get(context.Background(), agent.IdentitySecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(sec.Data["tls.crt"])
}

// checkReconnectAfterSIGKILL kills the server with SIGKILL, starts it again on the same data
// directory and agent address, waits for the agent to reconnect and for a few of its resyncs,
// and asserts that it applied nothing: the restarted server counts no layer apply, and the
// layer's objects are the same objects at the same resource versions.
func checkReconnectAfterSIGKILL(t *testing.T, srv *restartableServer, kc kubernetes.Interface) {
	before := layerObjectVersions(t, kc)
	srv.kill()
	srv.start()
	eventually(t, 2*time.Minute, "the agent connected to the restarted server", func() error {
		if n := metricSum(t, srv.URL, "strata_agents_connected"); n != 1 {
			return fmt.Errorf("strata_agents_connected %v", n)
		}
		return nil
	})
	time.Sleep(3 * 2 * time.Second) // three of the agent's resyncs (--agent-resync 2s)
	if n := metricSum(t, srv.URL, "strata_agent_layer_applies_total"); n != 0 {
		t.Errorf("the agent applied %v objects after the restart, want none", n)
	}
	if after := layerObjectVersions(t, kc); after != before {
		t.Errorf("layer objects changed across the restart:\nbefore %s\nafter  %s", before, after)
	}
	waitRunning(t, srv.URL, []string{"agents"}, time.Minute, srv.logs)
}

// layerObjectVersions names the add-on layers' objects with their UIDs and resource versions.
func layerObjectVersions(t *testing.T, kc kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	cm, err := kc.CoreV1().ConfigMaps("e2e").Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := kc.AppsV1().Deployments("e2e").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("configmap %s@%s deployment %s@%s (generation %d)", cm.UID, cm.ResourceVersion, dep.UID, dep.ResourceVersion, dep.Generation)
}

// metricSum sums a metric's samples on the server's /metrics (0 when absent).
func metricSum(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := getWithCredentials(url, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	sum := 0.0
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{[^}]*\})? (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("%s: %v", m[0], err)
		}
		sum += v
	}
	return sum
}
