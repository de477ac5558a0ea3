package proxyinject

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/proxyenv"
)

// lockedBuffer is a log destination the test reads while the server writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var proxyVars = []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// cluster is a real kube-apiserver and controller-manager with a started Manager in URL mode.
type cluster struct {
	top      *testing.T
	client   kubernetes.Interface
	h        *Handler
	cfg      Config
	m        *Manager
	network  proxyenv.ClusterNetwork
	caPEM    []byte // the proxy's CA
	caBundle []byte // the webhook's CA
	logs     *lockedBuffer
}

// TestWebhookInCluster runs the webhook against a real kube-apiserver and controller-manager:
// the pods that Deployments' ReplicaSets create are mutated (or not) by the API server.
func TestWebhookInCluster(t *testing.T) {
	c := startCluster(t)
	t.Run("labelled deployment", c.testLabelled)
	t.Run("unlabelled deployment", c.testUnlabelled)
	t.Run("SetProxy reaches new pods at once", c.testSetProxy)
	t.Run("Sync repairs a deleted configuration", c.testSync)
	t.Run("restart keeps the CA", c.testRestart)
	t.Run("Remove", c.testRemove)
	if strings.Contains(c.logs.String(), "s3cret") {
		t.Errorf("the proxy's password was logged:\n%s", c.logs.String())
	}
	t.Run("service mode", func(t *testing.T) { testServiceMode(t, c.client, c.h) })
	t.Run("replicas racing make one CA", func(t *testing.T) { testCARace(t, c.client) })
}

func startCluster(t *testing.T) *cluster {
	ctx := t.Context()
	client := kubernetes.NewForConfigOrDie(kubetest.StartWithControllers(t))
	for _, ns := range []string{"strata-system", "apps"} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the default service account of apps", func() bool {
		_, err := client.CoreV1().ServiceAccounts("apps").Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	caPEM, _, err := kubecert.NewCA("test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{top: t, client: client, caPEM: caPEM, logs: &lockedBuffer{},
		network: proxyenv.ClusterNetwork{PodCIDRs: []string{"192.168.0.0/16"}, ServiceCIDRs: []string{"10.0.0.0/24"}, APIServerHost: "10.1.0.4"}}
	c.h = NewHandler(slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := c.h.SetProxy(c.settings(), c.network); err != nil {
		t.Fatal(err)
	}
	port := kubetest.FreePort(t)
	c.cfg = Config{Client: client, Handler: c.h, ListenAddr: fmt.Sprintf("127.0.0.1:%d", port),
		URL: fmt.Sprintf("https://127.0.0.1:%d%s", port, Path), Log: slog.New(slog.NewTextHandler(c.logs, nil))}
	c.m = startManager(t, t, c.cfg)
	waitMutating(t, client, true)
	c.caBundle = webhookShape(t, client, c.cfg.URL)
	return c
}

// settings are the gateway's first settings, with a password and a CA.
func (c *cluster) settings() proxyenv.Settings {
	return proxyenv.Settings{HTTPProxy: "http://user:s3cret@proxy.corp:3128", NoProxy: []string{".corp"}, CACertificate: string(c.caPEM)}
}

func envOf(s proxyenv.Settings, n proxyenv.ClusterNetwork) map[string]string {
	m := map[string]string{}
	for _, v := range proxyenv.Env(s, n) {
		m[v.Name] = v.Value
	}
	return m
}

func (c *cluster) testLabelled(t *testing.T) {
	all := envOf(c.settings(), c.network)
	own := maps.Clone(all)
	delete(own, "https_proxy")
	own["HTTPS_PROXY"] = "http://mine:8080"
	for _, p := range deploy(t, c.client, "labelled", true, corev1.EnvVar{Name: "HTTPS_PROXY", Value: "http://mine:8080"}) {
		for _, ct := range allContainers(p) {
			want := all
			if ct.Name == "own" {
				want = own
			}
			checkProxyEnv(t, ct, want)
			if !slices.ContainsFunc(ct.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.Name == CAVolume && m.MountPath == CAMountPath && m.SubPath == CAFile && m.ReadOnly
			}) {
				t.Errorf("pod %s container %s: no CA mount in %+v", p.Name, ct.Name, ct.VolumeMounts)
			}
		}
		if p.Annotations[CAAnnotation] != string(c.caPEM) || !slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool {
			return v.Name == CAVolume && v.DownwardAPI != nil
		}) {
			t.Errorf("pod %s: no CA annotation or volume", p.Name)
		}
	}
}

func (c *cluster) testUnlabelled(t *testing.T) {
	for _, p := range deploy(t, c.client, "unlabelled", false) {
		for _, ct := range allContainers(p) {
			checkProxyEnv(t, ct, map[string]string{})
		}
		if _, ok := p.Annotations[CAAnnotation]; ok || slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == CAVolume }) {
			t.Errorf("unlabelled pod %s got the CA", p.Name)
		}
	}
}

func (c *cluster) testSetProxy(t *testing.T) {
	s := proxyenv.Settings{HTTPProxy: "http://proxy2.corp:8080", HTTPSProxy: "http://proxy3.corp:8443"}
	if err := c.h.SetProxy(s, c.network); err != nil {
		t.Fatal(err)
	}
	for _, p := range deploy(t, c.client, "after-set", true) {
		for _, ct := range allContainers(p) {
			checkProxyEnv(t, ct, envOf(s, c.network))
			if slices.ContainsFunc(ct.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == CAVolume }) {
				t.Errorf("container %s mounts a CA the gateway no longer has", ct.Name)
			}
		}
	}
}

func (c *cluster) testSync(t *testing.T) {
	if err := c.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(t.Context(), WebhookConfiguration, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.m.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := webhookShape(t, c.client, c.cfg.URL); !bytes.Equal(got, c.caBundle) {
		t.Error("the caBundle changed")
	}
}

func (c *cluster) testRestart(t *testing.T) {
	if err := c.m.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.m = startManager(t, c.top, c.cfg) // serving until the end, for Remove's test
	if got := webhookShape(t, c.client, c.cfg.URL); !bytes.Equal(got, c.caBundle) {
		t.Errorf("caBundle after a restart differs")
	}
	secret, err := c.client.CoreV1().Secrets("strata-system").Get(t.Context(), CASecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if secret.Type != corev1.SecretTypeOpaque || !bytes.Equal(secret.Data["ca.crt"], c.caBundle) {
		t.Fatalf("Secret %s of type %q: want Opaque with the caBundle", CASecret, secret.Type)
	}
	waitMutating(t, c.client, true) // the API server trusts the new serving certificate
}

func (c *cluster) testRemove(t *testing.T) {
	for range 2 {
		if err := Remove(t.Context(), c.client); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), WebhookConfiguration, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("configuration after Remove: %v", err)
	}
	waitMutating(t, c.client, false)
}

// testServiceMode checks the Service and the configuration that a Manager without URL keeps.
func testServiceMode(t *testing.T, client kubernetes.Interface, h *Handler) {
	ctx := t.Context()
	port := kubetest.FreePort(t)
	sel := map[string]string{"app.kubernetes.io/name": "strata-agent"}
	startManager(t, t, Config{Client: client, Handler: h, ListenAddr: fmt.Sprintf("127.0.0.1:%d", port), PodIP: "127.0.0.1", ServiceSelector: sel})
	svc, err := client.CoreV1().Services(DefaultNamespace).Get(ctx, DefaultService, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(svc.Spec.Selector, sel) || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.IntValue() != port {
		t.Errorf("Service %+v: want selector %v, 443 -> %d", svc.Spec, sel, port)
	}
	mwc, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, WebhookConfiguration, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cc := mwc.Webhooks[0].ClientConfig
	if cc.URL != nil || cc.Service == nil || cc.Service.Namespace != DefaultNamespace || cc.Service.Name != DefaultService ||
		cc.Service.Path == nil || *cc.Service.Path != Path || cc.Service.Port == nil || *cc.Service.Port != 443 {
		t.Errorf("clientConfig %+v: want the Service %s/%s:443%s and no URL", cc, DefaultNamespace, DefaultService, Path)
	}
	if err := Remove(ctx, client); err != nil {
		t.Fatal(err)
	}
}

// testCARace starts several ensureCA at once in a new namespace: all must get the same CA.
func testCARace(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "race"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	certs := make([][]byte, 4)
	for i := range certs {
		wg.Go(func() {
			ca, err := ensureCA(ctx, client, "race")
			if err != nil {
				t.Error(err)
				return
			}
			certs[i] = ca.CertPEM()
		})
	}
	wg.Wait()
	for _, c := range certs[1:] {
		if !bytes.Equal(c, certs[0]) {
			t.Fatal("replicas got different CAs")
		}
	}
}

// startManager starts a Manager for cfg, closed when owner (t or a parent of t) ends.
func startManager(t *testing.T, owner testing.TB, cfg Config) *Manager {
	t.Helper()
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	owner.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			owner.Error(err)
		}
	})
	return m
}

// webhookShape checks the configuration in URL mode and returns its caBundle.
func webhookShape(t *testing.T, client kubernetes.Interface, url string) []byte {
	t.Helper()
	mwc, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), WebhookConfiguration, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(mwc.Webhooks) != 1 {
		t.Fatalf("%d webhooks, want 1", len(mwc.Webhooks))
	}
	w := mwc.Webhooks[0]
	r := w.Rules
	ok := w.Name == WebhookName && w.ClientConfig.URL != nil && *w.ClientConfig.URL == url && w.ClientConfig.Service == nil &&
		len(r) == 1 && slices.Equal(r[0].Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}) &&
		slices.Equal(r[0].APIGroups, []string{""}) && slices.Equal(r[0].APIVersions, []string{"v1"}) && slices.Equal(r[0].Resources, []string{"pods"}) &&
		w.ObjectSelector != nil && maps.Equal(w.ObjectSelector.MatchLabels, map[string]string{ConnectionLabel: ConnectionProxy}) &&
		*w.SideEffects == admissionregistrationv1.SideEffectClassNone && slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) &&
		*w.FailurePolicy == admissionregistrationv1.Ignore && *w.ReinvocationPolicy == admissionregistrationv1.IfNeededReinvocationPolicy &&
		*w.TimeoutSeconds == 5 && len(w.ClientConfig.CABundle) > 0
	if !ok {
		t.Fatalf("webhook %+v is not the one expected", w)
	}
	return w.ClientConfig.CABundle
}

// waitMutating waits until a dry-run labelled pod comes back mutated (or not): the API server
// reads webhook configurations asynchronously.
func waitMutating(t *testing.T, client kubernetes.Interface, want bool) {
	t.Helper()
	pod := podWith(nil, container("probe"))
	pod.Name, pod.Namespace = "probe", "apps"
	waitFor(t, fmt.Sprintf("the webhook mutating: %v", want), func() bool {
		p, err := client.CoreV1().Pods("apps").Create(t.Context(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && (len(p.Spec.Containers[0].Env) > 0) == want
	})
}

// deploy creates a Deployment of 2 replicas with an init container and the containers "app"
// and "own" (whose env is ownEnv), labelled for the proxy or not, and returns its pods.
func deploy(t *testing.T, client kubernetes.Interface, name string, labelled bool, ownEnv ...corev1.EnvVar) []corev1.Pod {
	t.Helper()
	labels := map[string]string{"app": name}
	if labelled {
		labels[ConnectionLabel] = ConnectionProxy
	}
	replicas := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{container("init")},
					Containers:     []corev1.Container{container("app", corev1.EnvVar{Name: "FOO", Value: "bar"}), container("own", ownEnv...)},
				},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("apps").Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pods []corev1.Pod
	waitFor(t, "the pods of "+name, func() bool {
		l, err := client.CoreV1().Pods("apps").List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + name})
		pods = l.Items
		return err == nil && len(pods) == int(replicas)
	})
	return pods
}

func allContainers(p corev1.Pod) []corev1.Container {
	return append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...)
}

// checkProxyEnv checks that c's proxy variables are exactly want (FOO aside).
func checkProxyEnv(t *testing.T, c corev1.Container, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, e := range c.Env {
		if slices.Contains(proxyVars, e.Name) {
			got[e.Name] = e.Value
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("container %s: proxy variables %v, want %v", c.Name, got, want)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
