package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/plan"
)

// storeBootstrapSecrets stores new bootstrap secrets for the cluster, as the controller does,
// and returns them.
func (ts *testServer) storeBootstrapSecrets(t *testing.T, name string) plan.BootstrapSecrets {
	t.Helper()
	obj, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.store.PutSecret(t.Context(), plan.BootstrapSecretName(obj.GetMetadata().UID), b); err != nil {
		t.Fatal(err)
	}
	return s
}

// setIaaSStatus writes an IaaS cluster's status as the controller would: phase, the inventory
// entry of its first control-plane VM (ready or not; none when vmReady is nil) and the API
// server's address.
func (ts *testServer) setIaaSStatus(t *testing.T, name, phase string, vmReady *bool, addr string) {
	t.Helper()
	obj, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, name)
	if err != nil {
		t.Fatal(err)
	}
	c := obj.(*v1alpha1.Cluster)
	c.Status.Phase = phase
	c.Status.ControlPlaneAddress = addr
	if vmReady != nil {
		c.Status.Inventory = []v1alpha1.InventoryItem{{Key: plan.InitMachineKey(c), Kind: string(plan.KindVirtualMachine), ID: "/subscriptions/x/vm", Managed: true, Ready: *vmReady}}
	}
	if err := ts.store.Update(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// parsedKubeconfig is a kubeconfig of one cluster and one user, decoded.
type parsedKubeconfig struct {
	cluster *clientcmdapi.Cluster
	user    *clientcmdapi.AuthInfo
	cert    *x509.Certificate
}

func parseKubeconfig(t *testing.T, b []byte) parsedKubeconfig {
	t.Helper()
	cfg, err := clientcmd.Load(b)
	if err != nil {
		t.Fatalf("the kubeconfig does not load: %v\n%s", err, b)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || len(cfg.Clusters) != 1 || len(cfg.AuthInfos) != 1 {
		t.Fatalf("kubeconfig with context %q, %d clusters, %d users", cfg.CurrentContext, len(cfg.Clusters), len(cfg.AuthInfos))
	}
	p := parsedKubeconfig{cluster: cfg.Clusters[ctx.Cluster], user: cfg.AuthInfos[ctx.AuthInfo]}
	if p.cluster == nil || p.user == nil {
		t.Fatalf("the current context %q names no cluster or user", cfg.CurrentContext)
	}
	block, _ := pem.Decode(p.user.ClientCertificateData)
	if block == nil {
		t.Fatal("the kubeconfig has no client certificate")
	}
	if p.cert, err = x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIaaSKubeconfig gets the kubeconfigs of an IaaS cluster whose CA is in the store: minted
// without a word to Azure, for the API server's address with the endpoint's name as
// tls-server-name, with a 12-hour certificate of the CA for the admin or the user, and never
// logged or stored.
func TestIaaSKubeconfig(t *testing.T) {
	ts := newTestServer(t)
	admins := ts.adminTwin(t)
	acct, prof := ts.seed()
	vms := cluster("vms", acct.Metadata.Name, prof)
	ts.create(vms)
	secrets := ts.storeBootstrapSecrets(t, "vms")
	ts.setIaaSStatus(t, "vms", "Provisioning", new(true), "127.77.3.4")
	stored, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, "vms")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(secrets.CACertPEM)
	fqdn := plan.APIServerFQDN(stored.(*v1alpha1.Cluster))

	tests := []struct {
		name   string
		srv    *testServer
		q      url.Values
		user   string
		groups []string
	}{
		{"user", ts, nil, "strata-user", []string{"strata:users"}},
		{"admin", admins, url.Values{"admin": {"true"}}, "strata-admin", []string{"system:masters"}},
	}
	var served [][]byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now()
			r := tt.srv.do(http.MethodGet, kubeconfigPath("vms", tt.q), nil, "")
			if r.code != http.StatusOK || r.header.Get("Content-Type") != KubeconfigContentType || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("got %d (%s, %s) %s", r.code, r.header.Get("Content-Type"), r.header.Get("Cache-Control"), r.body)
			}
			served = append(served, r.body)
			kc := parseKubeconfig(t, r.body)
			if kc.cluster.Server != "https://127.77.3.4:6443" || kc.cluster.TLSServerName != fqdn || string(kc.cluster.CertificateAuthorityData) != string(secrets.CACertPEM) {
				t.Errorf("cluster entry: server %q, tls-server-name %q (want %s), CA the store's: %v",
					kc.cluster.Server, kc.cluster.TLSServerName, fqdn, string(kc.cluster.CertificateAuthorityData) == string(secrets.CACertPEM))
			}
			if kc.cert.Subject.CommonName != tt.user || !slices.Equal(kc.cert.Subject.Organization, tt.groups) {
				t.Errorf("certificate subject %v, want CN %s O %v", kc.cert.Subject, tt.user, tt.groups)
			}
			if _, err := kc.cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("the client certificate does not chain to the cluster CA: %v", err)
			}
			if d := kc.cert.NotAfter.Sub(before); d < kubecert.KubeconfigValidity-time.Minute || d > kubecert.KubeconfigValidity+time.Minute {
				t.Errorf("the client certificate is valid for %s, want 12h", d)
			}
			if _, err := tls.X509KeyPair(kc.user.ClientCertificateData, kc.user.ClientKeyData); err != nil {
				t.Errorf("the client key does not match the certificate: %v", err)
			}
		})
	}
	if len(served) == 2 && string(served[0]) == string(served[1]) {
		t.Error("the user and the admin got the same kubeconfig")
	}

	// Nothing kept them: not the logs, not the cluster.
	logs := ts.logs.String()
	for _, kc := range served {
		for _, secret := range kubeconfigSecrets(t, kc)[1:] { // [0] is the CA certificate: public
			if strings.Contains(logs, secret) {
				t.Fatalf("the server's log holds a secret of the kubeconfig (%.20s...)", secret)
			}
		}
	}
	after, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, "vms")
	if err != nil {
		t.Fatal(err)
	}
	if after.GetMetadata().ResourceVersion != stored.GetMetadata().ResourceVersion {
		t.Error("serving the kubeconfig wrote the cluster")
	}
}

// TestIaaSKubeconfigRefusals checks the refusals of IaaS kubeconfigs.
func TestIaaSKubeconfigRefusals(t *testing.T) {
	ts := newTestServer(t)
	acct, prof := ts.seed()
	for _, name := range []string{"fresh", "booting", "noaddr", "nosecret"} {
		ts.create(cluster(name, acct.Metadata.Name, prof))
	}
	ts.storeBootstrapSecrets(t, "booting")
	ts.setIaaSStatus(t, "booting", "Provisioning", new(false), "")
	ts.storeBootstrapSecrets(t, "noaddr")
	ts.setIaaSStatus(t, "noaddr", "Provisioning", new(true), "")
	ts.setIaaSStatus(t, "nosecret", "Provisioning", new(true), "127.77.3.5")
	tests := []struct {
		name, cluster, reason, msg string
		code                       int
		q                          url.Values
	}{
		{"no status yet", "fresh", ReasonNotReady, `cluster "fresh" has no control plane in Azure yet (phase Pending)`, 409, nil},
		{"VM not ready", "booting", ReasonNotReady, "(phase Provisioning)", 409, nil},
		{"no address yet", "noaddr", ReasonNotReady, "has not read the address", 409, nil},
		{"no CA", "nosecret", ReasonNotReady, "no cluster CA yet", 409, nil},
		{"admin not allowed", "noaddr", ReasonForbidden, "--access-control=false", 403, url.Values{"admin": {"true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(http.MethodGet, kubeconfigPath(tt.cluster, tt.q), nil, "")
			if r.code != tt.code {
				t.Fatalf("got %d %s, want %d", r.code, r.body, tt.code)
			}
			if st := r.status(t); st.Reason != tt.reason || !strings.Contains(st.Message, tt.msg) {
				t.Errorf("Status %+v, want reason %s and a message containing %q", st, tt.reason, tt.msg)
			}
		})
	}
}

// TestIaaSAPIServerAddress checks which statuses give an address to put in a kubeconfig.
func TestIaaSAPIServerAddress(t *testing.T) {
	base := cluster("prod", "acct")
	vm := func(key string, ready bool) v1alpha1.InventoryItem {
		return v1alpha1.InventoryItem{Key: key, Kind: string(plan.KindVirtualMachine), ID: "/x", Managed: true, Ready: ready}
	}
	initVM := plan.InitMachineKey(base)
	tests := []struct {
		name     string
		items    []v1alpha1.InventoryItem
		addr     string
		wantCode int
		wantMsg  string
	}{
		{"ready", []v1alpha1.InventoryItem{vm(initVM, true)}, "127.77.0.9", 0, ""},
		{"no VM", nil, "127.77.0.9", 409, "no control plane"},
		{"VM not ready", []v1alpha1.InventoryItem{vm(initVM, false)}, "127.77.0.9", 409, "no control plane"},
		{"only a worker", []v1alpha1.InventoryItem{vm("vm/workers-0", true)}, "127.77.0.9", 409, "no control plane"},
		{"no address", []v1alpha1.InventoryItem{vm(initVM, true)}, "", 409, "has not read the address"},
		{"garbage address", []v1alpha1.InventoryItem{vm(initVM, true)}, "prod.example", 500, "unusable API server address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *base
			c.Status.Inventory, c.Status.ControlPlaneAddress = tt.items, tt.addr
			addr, err := iaasAPIServerAddress(&c)
			if tt.wantCode == 0 {
				if err != nil || addr.String() != tt.addr {
					t.Fatalf("iaasAPIServerAddress = %v, %v; want %s", addr, err, tt.addr)
				}
				return
			}
			ae, ok := err.(*apiError)
			if !ok || ae.code != tt.wantCode || !strings.Contains(ae.Error(), tt.wantMsg) {
				t.Errorf("error %v, want code %d containing %q", err, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

// exampleObjects decodes and defaults an example file.
func exampleObjects(t *testing.T, name string) []v1alpha1.Object {
	t.Helper()
	b, err := fs.ReadFile(examples.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := v1alpha1.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, o := range objs {
		v1alpha1.Default(o)
	}
	return objs
}

// runController runs a controller that checks Kubernetes on the server's store until the
// test ends.
func runController(t *testing.T, ts *testServer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := controller.New(controller.Config{
		Store: ts.store, Logger: slog.New(slog.DiscardHandler), CheckKubernetes: true,
		Resync: time.Second, PollInterval: 50 * time.Millisecond, BackoffBase: 200 * time.Millisecond, BackoffMax: 2 * time.Second,
		NewClients: func(ctx context.Context, acct *v1alpha1.CloudAccount, sub string) (controller.Clients, error) {
			return azure.NewClients(ctx, acct, sub, azure.Options{PollFrequency: 20 * time.Millisecond})
		},
	})
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
}

// TestIaaSKubeconfigWithKubernetes provisions an IaaS cluster in an emulator that runs real
// Kubernetes, then uses its kubeconfigs with client-go: the admin one lists the nodes, the
// user one is authenticated (as strata-user) but has no rights, and the API server's
// certificate chains to the CA in strata's store and names the endpoint's DNS name.
func TestIaaSKubeconfigWithKubernetes(t *testing.T) {
	env := emulatortest.Start(t, emulatortest.Kubernetes(t))
	ts := newTestServer(t)
	admins := ts.adminTwin(t)
	ts.create(env.CloudAccount(t, "emu"))
	ts.create(exampleObjects(t, "profile-iaas.yaml")[0])
	cl := exampleObjects(t, "cluster-iaas-dynamic.yaml")[0].(*v1alpha1.Cluster)
	cl.Spec.CloudAccount, cl.Spec.Azure.SubscriptionID, cl.Spec.Azure.Location = "emu", env.SubscriptionID, env.Location
	for i, n := range []int{1, 2} { // 1 control-plane machine, 2 workers
		mp := &cl.Spec.MachinePools[i]
		mp.Count, mp.Min, mp.Max = n, new(n), new(n)
	}
	env.ResourceGroup(t, cl.Spec.Azure.ResourceGroup)
	ts.create(cl)
	runController(t, ts)
	name := cl.Metadata.Name
	cl = waitRunning(t, ts, name, 3*time.Minute)

	r := admins.do(http.MethodGet, kubeconfigPath(name, url.Values{"admin": {"true"}}), nil, "")
	if r.code != http.StatusOK {
		t.Fatalf("admin kubeconfig: %d %s", r.code, r.body)
	}
	core := coreClient(t, r.body)
	nodes, err := core.Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list the nodes with the admin kubeconfig: %v", err)
	}
	if len(nodes.Items) != 3 {
		t.Errorf("%d nodes, want 3 (1 control plane, 2 workers)", len(nodes.Items))
	}

	r = ts.do(http.MethodGet, kubeconfigPath(name, nil), nil, "")
	if r.code != http.StatusOK {
		t.Fatalf("user kubeconfig: %d %s", r.code, r.body)
	}
	_, err = coreClient(t, r.body).Nodes().List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `"strata-user"`) {
		t.Errorf("the user kubeconfig listed the nodes: %v; want Forbidden for strata-user", err)
	}

	checkServingCert(t, ts, cl)
}

// waitRunning polls the cluster until it is Running.
func waitRunning(t *testing.T, ts *testServer, name string, timeout time.Duration) *v1alpha1.Cluster {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		obj, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, name)
		if err != nil {
			t.Fatal(err)
		}
		cl := obj.(*v1alpha1.Cluster)
		if cl.Status.Phase == controller.PhaseRunning && cl.Status.ObservedGeneration == cl.Metadata.Generation {
			return cl
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s not Running after %s: %+v", name, timeout, cl.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// coreClient is a client-go client of a kubeconfig.
func coreClient(t *testing.T, kc []byte) corev1client.CoreV1Interface {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 30 * time.Second
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return core
}

// checkServingCert dials the cluster's API server at its address and checks its certificate
// against the CA in strata's store alone, for the endpoint's DNS name and the address.
func checkServingCert(t *testing.T, ts *testServer, cl *v1alpha1.Cluster) {
	t.Helper()
	b, err := ts.store.GetSecret(t.Context(), plan.BootstrapSecretName(cl.Metadata.UID))
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := plan.UnmarshalBootstrapSecrets(b)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(secrets.CACertPEM)
	addr := net.JoinHostPort(cl.Status.ControlPlaneAddress, "6443")
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: plan.APIServerFQDN(cl), MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("the API server at %s does not verify against the store's CA for %s: %v", addr, plan.APIServerFQDN(cl), err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	if err := leaf.VerifyHostname(cl.Status.ControlPlaneAddress); err != nil {
		t.Errorf("the serving certificate does not name the address: %v", err)
	}
}
