package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/kubecert"
	"github.com/strata-dev/strata/internal/tunnel"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// identity is the agent's server address, the server's CA and the agent's certificate.
type identity struct {
	client    kubernetes.Interface
	namespace string
	log       *slog.Logger
	server    string
	roots     *x509.CertPool

	mu   sync.Mutex
	cert *tls.Certificate
	leaf *x509.Certificate

	// dialer is made by the first dial and kept: it counts failed gRPC attempts across
	// connections and falls back to the WebSocket transport.
	dialerOnce sync.Once
	dialer     *tunnel.Dialer
	dialerErr  error
}

// loadIdentity reads the agent's configuration Secret (waiting for it) and its identity,
// registering with the token when it has none.
func loadIdentity(ctx context.Context, client kubernetes.Interface, ns string, log *slog.Logger) (*identity, error) {
	cfg, err := waitSecret(ctx, client, ns, ConfigSecret, log)
	if err != nil {
		return nil, err
	}
	id := &identity{client: client, namespace: ns, log: log, server: string(cfg.Data["server"]), roots: x509.NewCertPool()}
	if id.server == "" || !id.roots.AppendCertsFromPEM(cfg.Data["ca.crt"]) {
		return nil, fmt.Errorf("agent: Secret %s/%s needs server and ca.crt", ns, ConfigSecret)
	}
	if s, err := client.CoreV1().Secrets(ns).Get(ctx, IdentitySecret, metav1.GetOptions{}); err == nil {
		if err := id.use(s.Data["tls.crt"], s.Data["tls.key"]); err == nil && time.Now().Before(id.leaf.NotAfter) {
			return id, nil
		}
		log.Warn("the stored identity is unusable or expired: registering again")
	}
	return id, id.register(ctx, string(cfg.Data["token"]))
}

// waitSecret reads a Secret, waiting until it exists.
func waitSecret(ctx context.Context, client kubernetes.Interface, ns, name string, log *slog.Logger) (*corev1.Secret, error) {
	for {
		s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return s, nil
		}
		log.Info("waiting for the agent's Secret", "secret", ns+"/"+name, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// register spends the token for a certificate, keeps it in the identity Secret, and removes
// the spent token from the configuration Secret. It retries until ctx ends or the server
// refuses the token.
func (id *identity) register(ctx context.Context, token string) error {
	if token == "" {
		return fmt.Errorf("agent: no identity and no registration token in Secret %s/%s", id.namespace, ConfigSecret)
	}
	csr, key, err := kubecert.NewCSR(pkix.Name{CommonName: "strata-agent"})
	if err != nil {
		return err
	}
	resp, err := retry(ctx, id.log, "register", func(ctx context.Context, cc *grpc.ClientConn) (*agentv1.RegisterResponse, error) {
		return agentv1.NewRegistrationServiceClient(cc).Register(ctx, &agentv1.RegisterRequest{Token: token, Csr: csr})
	}, id.dial)
	if err != nil {
		return fmt.Errorf("agent: register: %w", err)
	}
	if err := id.store(ctx, resp.GetCertificate(), key); err != nil {
		return err
	}
	id.log.Info("registered", "cluster", resp.GetClusterName(), "expires", id.notAfter())
	return id.forgetToken(ctx)
}

// renew asks for a new certificate of a new key over the mutual-TLS connection.
func (id *identity) renew(ctx context.Context) error {
	csr, key, err := kubecert.NewCSR(pkix.Name{CommonName: "strata-agent"})
	if err != nil {
		return err
	}
	cc, err := id.dial(true)
	if err != nil {
		return err
	}
	defer cc.Close()
	resp, err := agentv1.NewAgentServiceClient(cc).Renew(ctx, &agentv1.RenewRequest{Csr: csr})
	if err != nil {
		return fmt.Errorf("agent: renew the certificate: %w", err)
	}
	if err := id.store(ctx, resp.GetCertificate(), key); err != nil {
		return err
	}
	id.log.Info("certificate renewed", "expires", id.notAfter())
	return nil
}

// store keeps a certificate and key in the identity Secret and uses them from now on.
func (id *identity) store(ctx context.Context, certPEM, keyPEM []byte) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: IdentitySecret, Namespace: id.namespace},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}}
	secrets := id.client.CoreV1().Secrets(id.namespace)
	_, err := secrets.Update(ctx, s, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = secrets.Create(ctx, s, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("agent: keep the identity in Secret %s/%s: %w", id.namespace, IdentitySecret, err)
	}
	return id.use(certPEM, keyPEM)
}

// forgetToken removes the spent token from the configuration Secret.
func (id *identity) forgetToken(ctx context.Context) error {
	secrets := id.client.CoreV1().Secrets(id.namespace)
	s, err := secrets.Get(ctx, ConfigSecret, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("agent: read Secret %s: %w", ConfigSecret, err)
	}
	delete(s.Data, "token")
	if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		id.log.Warn("remove the spent registration token", "error", err)
	}
	return nil
}

// use parses and takes a certificate and key.
func (id *identity) use(certPEM, keyPEM []byte) error {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("agent: the identity: %w", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return fmt.Errorf("agent: the identity: %w", err)
	}
	id.mu.Lock()
	id.cert, id.leaf = &c, leaf
	id.mu.Unlock()
	return nil
}

// notAfter is when the certificate expires; renewAt when the agent renews it (a third of its
// validity left).
func (id *identity) notAfter() time.Time {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.leaf.NotAfter
}

func (id *identity) renewAt() time.Time {
	id.mu.Lock()
	defer id.mu.Unlock()
	life := id.leaf.NotAfter.Sub(id.leaf.NotBefore.Add(kubecert.ClockSkew))
	return id.leaf.NotAfter.Add(-life / 3)
}

// clientCertificate is tls.Config.GetClientCertificate: the current certificate.
func (id *identity) clientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if id.cert == nil {
		return &tls.Certificate{}, nil
	}
	return id.cert, nil
}

// ProxyCAEnv is the environment variable of the proxy's CA (PEM), for a proxy that intercepts
// TLS or is reached over https; else the configuration Secret's key ProxyCAKey gives it.
const (
	ProxyCAEnv = "STRATA_PROXY_CA"
	ProxyCAKey = agentmanifest.ProxyCAKey
)

// dial connects to the server over TLS, presenting the certificate when withCert is set,
// through the tunnel's Dialer: the proxy from HTTPS_PROXY and NO_PROXY, gRPC over HTTP/2 with
// the WebSocket transport as fallback after 10 failed attempts (a proxy that intercepts TLS
// or speaks only HTTP/1.1), back to gRPC once it passes again.
func (id *identity) dial(withCert bool) (*grpc.ClientConn, error) {
	id.dialerOnce.Do(func() {
		proxyCA := []byte(os.Getenv(ProxyCAEnv))
		if len(proxyCA) == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if s, err := id.client.CoreV1().Secrets(id.namespace).Get(ctx, ConfigSecret, metav1.GetOptions{}); err == nil {
				proxyCA = s.Data[ProxyCAKey]
			} else {
				id.log.Warn("read the proxy CA from the agent's Secret", "secret", id.namespace+"/"+ConfigSecret, "error", err)
			}
			cancel()
		}
		id.dialer, id.dialerErr = tunnel.NewDialer(tunnel.Config{Server: id.server, RootCAs: id.roots,
			GetClientCertificate: id.clientCertificate, ProxyCA: proxyCA, Logger: id.log, UserAgent: "strata-agent"})
	})
	if id.dialerErr != nil {
		return nil, fmt.Errorf("agent: dial %s: %w", id.server, id.dialerErr)
	}
	cc, err := id.dialer.NewClient(withCert)
	if err != nil {
		return nil, fmt.Errorf("agent: dial %s: %w", id.server, err)
	}
	return cc, nil
}

// retry calls f over a new connection until it succeeds, ctx ends, or the server refuses for
// good (Unauthenticated, InvalidArgument), waiting with backoff between attempts.
func retry[T any](ctx context.Context, log *slog.Logger, what string, f func(context.Context, *grpc.ClientConn) (T, error), dial func(bool) (*grpc.ClientConn, error)) (T, error) {
	var zero T
	b := newBackoff(time.Second, time.Minute)
	for {
		cc, err := dial(false)
		if err == nil {
			var v T
			v, err = f(ctx, cc)
			cc.Close()
			if err == nil {
				return v, nil
			}
			if permanent(err) {
				return zero, err
			}
		}
		wait := b.next()
		log.Warn(what+" failed; retrying", "error", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return zero, errors.Join(ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}
