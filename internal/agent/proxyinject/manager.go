package proxyinject

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	admissionregistrationac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/internal/kubecert"
)

// Names of what Manager keeps in the cluster.
const (
	// FieldManager is the server-side apply field manager of the agent.
	FieldManager = "strata-agent"
	// WebhookConfiguration is the MutatingWebhookConfiguration's name.
	WebhookConfiguration = "strata-proxy-injector"
	// WebhookName is the name of its one webhook.
	WebhookName = "proxy.strata.dev"
	// DefaultNamespace is the agent's namespace, DefaultService the webhook's Service.
	DefaultNamespace = "strata-system"
	DefaultService   = "strata-agent-webhook"
)

// Config configures a Manager.
type Config struct {
	// Client reaches the cluster's API. The agent needs: get and create on Secrets and
	// create and patch on Services in Namespace; get, create, patch and delete on
	// mutatingwebhookconfigurations.
	Client kubernetes.Interface
	// Handler answers the reviews.
	Handler *Handler
	// Namespace is the agent's (DefaultNamespace when empty), Service the webhook's Service
	// there (DefaultService when empty).
	Namespace, Service string
	// ListenAddr is where to serve HTTPS, such as ":9443".
	ListenAddr string
	// PodIP, when set, is put in the serving certificate.
	PodIP string
	// URL, when set, is the webhook's address for the API server (clientConfig.url, such as
	// https://127.0.0.1:9443/mutate-pods), in place of the Service; no Service is made then.
	URL string
	// ServiceSelector selects the agent's pods for the Service. Required without URL.
	ServiceSelector map[string]string
	// ServicePort is the Service's port (443 when zero); its target is ListenAddr's port.
	ServicePort int32
	// Log is where the Manager logs; nil discards.
	Log *slog.Logger
}

// Manager serves the webhook and keeps what the API server needs to call it: a CA in the
// Secret CASecret, made once and shared by all replicas; a serving certificate issued from it
// in memory (for <Service>.<Namespace>.svc, <Service>.<Namespace>.svc.cluster.local, PodIP
// and URL's host); the Service, unless URL is set, so that its port and selector always
// match the server (the agent's manifest need not carry it); and the
// MutatingWebhookConfiguration WebhookConfiguration, by server-side apply.
//
// The webhook's failurePolicy is Ignore: when no agent answers, pods are created without the
// proxy rather than not at all. A dead agent must not block pod creation in the whole cluster.
//
// Call Start once, Sync as often as the agent resyncs (it repairs a deleted or edited
// configuration), and Close at the end.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	ca   *kubecert.CA
	port int
	srv  *http.Server
	done chan error
}

// NewManager checks cfg, fills its defaults and returns a Manager that is not started.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Client == nil || cfg.Handler == nil || cfg.ListenAddr == "" {
		return nil, errors.New("proxyinject: a Manager needs a client, a handler and a listen address")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Service == "" {
		cfg.Service = DefaultService
	}
	if cfg.ServicePort == 0 {
		cfg.ServicePort = 443
	}
	if cfg.PodIP != "" && net.ParseIP(cfg.PodIP) == nil {
		return nil, fmt.Errorf("proxyinject: the pod IP %q is not an IP address", cfg.PodIP)
	}
	if cfg.URL != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			return nil, fmt.Errorf("proxyinject: the webhook URL %q is not an https URL", cfg.URL)
		}
	} else if len(cfg.ServiceSelector) == 0 {
		return nil, errors.New("proxyinject: a webhook behind a Service needs the agent pods' selector")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, log: log}, nil
}

// Start gets or makes the CA, starts serving Handler at Path (and "ok" at /healthz) with TLS
// 1.2 or later on ListenAddr, and syncs the Service and the webhook configuration. The server
// runs until Close; ctx bounds Start's own calls. On error nothing is left serving.
func (m *Manager) Start(ctx context.Context) error {
	if m.srv != nil {
		return errors.New("proxyinject: the Manager was started already")
	}
	ca, err := ensureCA(ctx, m.cfg.Client, m.cfg.Namespace)
	if err != nil {
		return err
	}
	m.ca = ca
	sc := &servingCert{ca: ca, dnsNames: m.dnsNames(), ips: m.ips(), now: time.Now}
	if _, err := sc.get(nil); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("proxyinject: listen: %w", err)
	}
	m.port = ln.Addr().(*net.TCPAddr).Port
	mux := http.NewServeMux()
	mux.Handle(Path, m.cfg.Handler)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	m.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	m.done = make(chan error, 1)
	tlsLn := tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: sc.get})
	go func() { m.done <- m.srv.Serve(tlsLn) }()
	if err := m.Sync(ctx); err != nil {
		_ = m.Close(ctx)
		return err
	}
	m.log.Info("proxy injector serving", "addr", ln.Addr().String(), "url", m.cfg.URL, "service", m.cfg.Service)
	return nil
}

// Sync applies the Service (without URL) and the webhook configuration. Start must have
// succeeded before.
func (m *Manager) Sync(ctx context.Context) error {
	if m.ca == nil {
		return errors.New("proxyinject: Sync before Start")
	}
	if m.cfg.URL == "" {
		if _, err := m.cfg.Client.CoreV1().Services(m.cfg.Namespace).Apply(ctx, m.service(),
			metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("proxyinject: apply the Service %s/%s: %w", m.cfg.Namespace, m.cfg.Service, err)
		}
	}
	if _, err := m.cfg.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Apply(ctx, m.webhookConfiguration(),
		metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("proxyinject: apply the MutatingWebhookConfiguration %s: %w", WebhookConfiguration, err)
	}
	return nil
}

// Close stops serving, waiting up to ctx for the reviews under way. It leaves the webhook
// configuration in place: another replica, or this one restarted, answers it (see Remove).
func (m *Manager) Close(ctx context.Context) error {
	if m.srv == nil {
		return nil
	}
	err := m.srv.Shutdown(ctx)
	if serveErr := <-m.done; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	m.srv = nil
	if err != nil {
		return fmt.Errorf("proxyinject: stop serving: %w", err)
	}
	return nil
}

// Remove deletes the webhook configuration, for the agent's uninstallation: from then on the
// API server calls no webhook for new pods. Objects in the agent's namespace (CASecret, the
// Service) go with the namespace. A configuration that is already gone is no error.
func Remove(ctx context.Context, client kubernetes.Interface) error {
	err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, WebhookConfiguration, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("proxyinject: delete the MutatingWebhookConfiguration %s: %w", WebhookConfiguration, err)
	}
	return nil
}

// webhookConfiguration is the MutatingWebhookConfiguration to apply.
func (m *Manager) webhookConfiguration() *admissionregistrationac.MutatingWebhookConfigurationApplyConfiguration {
	cc := admissionregistrationac.WebhookClientConfig().WithCABundle(m.ca.CertPEM()...)
	if m.cfg.URL != "" {
		cc.WithURL(m.cfg.URL)
	} else {
		cc.WithService(admissionregistrationac.ServiceReference().
			WithNamespace(m.cfg.Namespace).WithName(m.cfg.Service).WithPath(Path).WithPort(m.cfg.ServicePort))
	}
	webhook := admissionregistrationac.MutatingWebhook().
		WithName(WebhookName).
		WithClientConfig(cc).
		WithRules(admissionregistrationac.RuleWithOperations().
			WithOperations(admissionregistrationv1.Create).
			WithAPIGroups("").WithAPIVersions("v1").WithResources("pods").
			WithScope(admissionregistrationv1.NamespacedScope)).
		WithObjectSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{ConnectionLabel: ConnectionProxy})).
		WithSideEffects(admissionregistrationv1.SideEffectClassNone).
		WithAdmissionReviewVersions("v1").
		// Ignore: see Manager.
		WithFailurePolicy(admissionregistrationv1.Ignore).
		WithReinvocationPolicy(admissionregistrationv1.IfNeededReinvocationPolicy).
		WithTimeoutSeconds(5)
	return admissionregistrationac.MutatingWebhookConfiguration(WebhookConfiguration).
		WithLabels(managedLabels()).
		WithWebhooks(webhook)
}

// service is the webhook's Service: ServicePort to the listener's port on the agent's pods.
func (m *Manager) service() *corev1ac.ServiceApplyConfiguration {
	return corev1ac.Service(m.cfg.Service, m.cfg.Namespace).
		WithLabels(managedLabels()).
		WithSpec(corev1ac.ServiceSpec().
			WithSelector(m.cfg.ServiceSelector).
			WithPorts(corev1ac.ServicePort().
				WithName("webhook").WithProtocol(corev1.ProtocolTCP).
				WithPort(m.cfg.ServicePort).WithTargetPort(intstr.FromInt(m.port))))
}

// dnsNames are the serving certificate's names: the Service's and URL's host name.
func (m *Manager) dnsNames() []string {
	svc := m.cfg.Service + "." + m.cfg.Namespace + ".svc"
	names := []string{svc, svc + ".cluster.local"}
	if h := m.urlHost(); h != "" && net.ParseIP(h) == nil {
		names = append(names, h)
	}
	return names
}

// ips are the serving certificate's addresses: PodIP and URL's host when it is one.
func (m *Manager) ips() []net.IP {
	var ips []net.IP
	for _, s := range []string{m.cfg.PodIP, m.urlHost()} {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		}
	}
	return ips
}

func (m *Manager) urlHost() string {
	if m.cfg.URL == "" {
		return ""
	}
	u, err := url.Parse(m.cfg.URL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// managedLabels mark what the agent's proxy injector made.
func managedLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": FieldManager, "app.kubernetes.io/component": "proxy-injector"}
}
