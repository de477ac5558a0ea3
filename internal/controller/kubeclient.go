package controller

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"k8s.io/client-go/dynamic"
	"net"
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/plan"
)

// controllerCertValidity is how long the client certificate strata mints for itself to read an
// IaaS cluster's API is valid; it is minted again, in memory, once a third of it is left.
const controllerCertValidity = time.Hour

// kubeClient is the cached client of one cluster's API. Its credentials live in memory only.
type kubeClient struct {
	// key says what it was built from (the cluster's UID and generation for AKS; UID, CA and
	// address for IaaS): another key builds a new client.
	key       string
	core      corev1client.CoreV1Interface
	dyn       dynamic.Interface
	transport *http.Transport
	// noAccessReason and noAccessMessage, when set, say why there is no client for this key
	// (Azure refused the admin kubeconfig: the cluster has no local accounts).
	noAccessReason, noAccessMessage string

	// answeredMu guards answered: when the controller first read the cluster's API through
	// this client (the start of an IaaS agent's grace: DefaultAgentInstallGrace). In memory
	// only: a new client (a restart, a new API address) starts it again.
	answeredMu sync.Mutex
	answered   time.Time
}

// firstAnswer records now as when the API first answered, unless an earlier time is, and
// returns that time.
func (k *kubeClient) firstAnswer(now time.Time) time.Time {
	k.answeredMu.Lock()
	defer k.answeredMu.Unlock()
	if k.answered.IsZero() {
		k.answered = now
	}
	return k.answered
}

// close drops the client's idle connections.
func (k *kubeClient) close() {
	if k != nil && k.transport != nil {
		k.transport.CloseIdleConnections()
	}
}

// observeKubernetes reads the cluster's API once its control plane runs in Azure: GET
// /version and one list of nodes (from the API server's cache), nothing before.
func (p *pass) observeKubernetes(ctx context.Context, g *plan.Graph, o *outcome) kubeObservation {
	ob := kubeObservation{controlPlaneUp: controlPlaneUp(o)}
	if !ob.controlPlaneUp {
		return ob
	}
	if o.aks {
		ob.minNodes = aksMinNodes(p.cur.Spec.MachinePools)
	} else {
		ob.machines = append(machineNames(g), p.retainedMachineNames()...)
	}
	kc := p.kubeClientFor(ctx, g, o)
	if kc.noAccessReason != "" {
		ob.noAccessReason, ob.noAccessMessage = kc.noAccessReason, kc.noAccessMessage
		return ob
	}
	rctx, cancel := context.WithTimeout(ctx, 2*p.c.cfg.KubernetesTimeout)
	defer cancel()
	ob.version, ob.nodes, ob.err = readKubernetes(rctx, kc.core)
	if ob.err == nil {
		p.installAgent(ctx, kc)
	}
	if ob.err != nil && o.aks && apierrors.IsUnauthorized(ob.err) {
		// The admin credentials changed (rotated): the next pass asks Azure again.
		p.c.dropKubeClient(p.cur.Key())
	}
	return ob
}

// controlPlaneUp reports whether the cluster's control plane runs in Azure: every node of the
// ControlPlaneReady category that runs (IaaS control-plane VMs, the AKS managed cluster) does.
func controlPlaneUp(o *outcome) bool {
	if o.runErr != nil || o.observeErr != nil {
		return false
	}
	total := o.total[ConditionControlPlaneReady]
	return total > 0 && o.running[ConditionControlPlaneReady] == total
}

// machineNames are the names of an IaaS cluster's planned VMs: their node names.
func machineNames(g *plan.Graph) []string {
	out := []string{}
	for _, n := range g.Nodes {
		if n.Kind == plan.KindVirtualMachine {
			out = append(out, path.Base(n.ID))
		}
	}
	return out
}

// readKubernetes reads the API server's version and lists the nodes, served from the API
// server's cache (resourceVersion 0): two requests.
func readKubernetes(ctx context.Context, core corev1client.CoreV1Interface) (string, []nodeInfo, error) {
	raw, err := core.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", nil, fmt.Errorf("GET /version: %w", err)
	}
	var info version.Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return "", nil, fmt.Errorf("GET /version: %w", err)
	}
	list, err := core.Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return info.GitVersion, nil, fmt.Errorf("list the nodes: %w", err)
	}
	nodes := make([]nodeInfo, 0, len(list.Items))
	for i := range list.Items {
		n := &list.Items[i]
		_, drained := n.Annotations[drainStartedAnnotation]
		info := nodeInfo{name: n.Name, drained: drained, node: n}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				info.ready, info.since = c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
			}
		}
		nodes = append(nodes, info)
	}
	return info.GitVersion, nodes, nil
}

// kubeClientFor returns the cluster's cached client, built anew when what it is built from
// changed; a client that cannot be built is one with a noAccessReason.
func (p *pass) kubeClientFor(ctx context.Context, g *plan.Graph, o *outcome) *kubeClient {
	name := p.cur.Key()
	key, build := p.iaasClientSource(o)
	if o.aks {
		key, build = p.aksClientSource(g)
	}
	if kc := p.c.cachedKubeClient(name, key); kc != nil {
		return kc
	}
	kc, err := build(ctx)
	if err != nil {
		return &kubeClient{noAccessReason: ReasonCredentialsUnavailable, noAccessMessage: err.Error()}
	}
	kc.key = key
	if kc.noAccessReason != "" && kc.noAccessReason != ReasonLocalAccountsDisabled {
		return kc // not cached: tried again next pass
	}
	p.c.storeKubeClient(name, kc)
	return kc
}

// iaasClientSource is the cache key of an IaaS cluster's client (its UID, CA and API server
// address) and how to build it: with a client certificate the controller mints from the CA,
// to the load balancer's address, checking the API server's certificate against the CA alone
// and the endpoint's DNS name.
func (p *pass) iaasClientSource(o *outcome) (string, func(context.Context) (*kubeClient, error)) {
	cl, secrets := p.cur, p.secrets
	addr := o.address
	if addr == "" {
		addr = p.status.ControlPlaneAddress
	}
	sum := sha256.Sum256(secrets.CACertPEM)
	key := cl.Metadata.UID + "\x00" + hex.EncodeToString(sum[:]) + "\x00" + addr
	return key, func(context.Context) (*kubeClient, error) {
		if addr == "" {
			return nil, errors.New("the address of the API server's load balancer is not known yet")
		}
		ca, err := kubecert.ParseCA(secrets.CACertPEM, secrets.CAKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("the cluster CA: %w", err)
		}
		cert := &rotatingCert{ca: ca}
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.Pool(), ServerName: plan.APIServerFQDN(cl),
			GetClientCertificate: cert.get}
		host := "https://" + net.JoinHostPort(addr, strconv.Itoa(plan.APIServerPort))
		return p.c.newKubeClient(host, &rest.Config{}, tlsConf)
	}
}

// aksClientSource is the cache key of an AKS cluster's client (its UID and generation) and
// how to build it: from the admin kubeconfig Azure lists, kept in memory only. A cluster
// without local accounts has none.
func (p *pass) aksClientSource(g *plan.Graph) (string, func(context.Context) (*kubeClient, error)) {
	cl := p.cur
	key := cl.Metadata.UID + "\x00" + strconv.FormatInt(cl.Metadata.Generation, 10)
	return key, func(ctx context.Context) (*kubeClient, error) {
		mc := managedClusterNode(g)
		if mc == nil {
			return nil, errors.New("the plan has no managed cluster")
		}
		if spec, ok := mc.Spec.(armcontainerservice.ManagedCluster); ok && spec.Properties != nil &&
			spec.Properties.DisableLocalAccounts != nil && *spec.Properties.DisableLocalAccounts {
			return &kubeClient{noAccessReason: ReasonLocalAccountsDisabled, noAccessMessage: localAccountsMessage}, nil
		}
		id, err := arm.ParseResourceID(mc.ID)
		if err != nil {
			return nil, fmt.Errorf("managed cluster ID %q: %w", mc.ID, err)
		}
		kctx, cancel := context.WithTimeout(ctx, p.c.cfg.KubernetesTimeout)
		defer cancel()
		kc, err := p.clients.Kubeconfig(kctx, id.ResourceGroupName, id.Name, true)
		if errors.Is(err, azure.ErrLocalAccountsDisabled) {
			return &kubeClient{noAccessReason: ReasonLocalAccountsDisabled, noAccessMessage: localAccountsMessage}, nil
		}
		if err != nil {
			reason, msg := failure(err, ReasonCredentialsUnavailable)
			return &kubeClient{noAccessReason: ReasonCredentialsUnavailable, noAccessMessage: "the admin kubeconfig: " + reason + ": " + msg}, nil
		}
		return p.c.kubeClientFromKubeconfig(kc)
	}
}

// localAccountsMessage is KubernetesReady's message for an AKS cluster without local accounts.
const localAccountsMessage = "the cluster's local accounts are disabled (aadProfile.disableLocalAccounts): strata cannot read its API without an Entra ID identity, so its phase follows Azure alone"

// managedClusterNode returns the graph's managed cluster, or nil.
func managedClusterNode(g *plan.Graph) *plan.Node {
	for _, n := range g.Nodes {
		if n.Kind == plan.KindManagedCluster {
			return n
		}
	}
	return nil
}

// kubeClientFromKubeconfig builds a client from an admin kubeconfig: its server, CA (the only
// one trusted) and client certificate or token. A kubeconfig that would read local files,
// run a plugin or skip the server's certificate check is refused.
func (c *Controller) kubeClientFromKubeconfig(kc []byte) (*kubeClient, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return nil, fmt.Errorf("the admin kubeconfig: %w", err)
	}
	t := cfg.TLSClientConfig
	switch {
	case cfg.ExecProvider != nil || cfg.AuthProvider != nil:
		return nil, errors.New("the admin kubeconfig signs in with a plugin")
	case t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || cfg.BearerTokenFile != "":
		return nil, errors.New("the admin kubeconfig names local files")
	case t.Insecure || len(t.CAData) == 0:
		return nil, errors.New("the admin kubeconfig names no CA of the cluster")
	}
	tlsConf, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("the admin kubeconfig's TLS settings: %w", err)
	}
	tlsConf.MinVersion = max(tlsConf.MinVersion, tls.VersionTLS12)
	return c.newKubeClient(cfg.Host, &rest.Config{BearerToken: cfg.BearerToken, Username: cfg.Username, Password: cfg.Password}, tlsConf)
}

// newKubeClient builds a client of host over a transport of its own with tlsConf, the
// authentication of auth (a token, if any) and the controller's timeout.
func (c *Controller) newKubeClient(host string, auth *rest.Config, tlsConf *tls.Config) (*kubeClient, error) {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: c.cfg.KubernetesTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: c.cfg.KubernetesTimeout,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 2,
		ForceAttemptHTTP2:   true,
	}
	cfg := rest.CopyConfig(auth)
	cfg.Host, cfg.UserAgent, cfg.Timeout = host, "strata-controller", c.cfg.KubernetesTimeout
	rt, err := rest.HTTPWrappersForConfig(cfg, tr)
	if err != nil {
		return nil, fmt.Errorf("the API client: %w", err)
	}
	if c.cfg.WrapKubernetesTransport != nil {
		rt = c.cfg.WrapKubernetesTransport(rt)
	}
	hc := &http.Client{Transport: rt, Timeout: c.cfg.KubernetesTimeout}
	core, err := corev1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("the API client: %w", err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("the API client: %w", err)
	}
	return &kubeClient{core: core, dyn: dyn, transport: tr}, nil
}

// cachedKubeClient returns the cluster's client if it was built from key.
func (c *Controller) cachedKubeClient(cluster, key string) *kubeClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if kc := c.kube[cluster]; kc != nil && kc.key == key {
		return kc
	}
	return nil
}

// storeKubeClient caches the cluster's client, closing the one it replaces.
func (c *Controller) storeKubeClient(cluster string, kc *kubeClient) {
	c.mu.Lock()
	old := c.kube[cluster]
	c.kube[cluster] = kc
	c.mu.Unlock()
	if old != kc {
		old.close()
	}
}

// dropKubeClient forgets the cluster's client.
func (c *Controller) dropKubeClient(cluster string) {
	c.mu.Lock()
	old := c.kube[cluster]
	delete(c.kube, cluster)
	c.mu.Unlock()
	old.close()
}

// rotatingCert is the controller's client certificate of an IaaS cluster, minted from its CA
// in memory and minted again when a third of its validity is left.
type rotatingCert struct {
	ca       *kubecert.CA
	mu       sync.Mutex
	cur      *tls.Certificate
	notAfter time.Time
}

// get is tls.Config.GetClientCertificate.
func (r *rotatingCert) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.cur != nil && r.notAfter.Sub(now) > controllerCertValidity/3 {
		return r.cur, nil
	}
	cred, err := r.ca.Issue(kubecert.Controller, now, controllerCertValidity)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(cred.CertPEM, cred.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("kubecert: the client certificate: %w", err)
	}
	r.cur, r.notAfter = &pair, cred.NotAfter
	return r.cur, nil
}
