package kube

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
	"github.com/strata-dev/strata/internal/kubecert"
)

// Files of a control plane's directory.
const (
	caCertFile = "ca.crt"
	caKeyFile  = "ca.key"
	saKeyFile  = "sa.key"
	saPubFile  = "sa.pub"
)

// apiServerReadyTimeout bounds an API server's start.
const apiServerReadyTimeout = 90 * time.Second

// controlPlane is one cluster's API server, controller manager, scheduler and node simulator.
type controlPlane struct {
	m    *Manager
	key  string
	hash string // names the directory and the etcd prefix
	dir  string
	log  *slog.Logger

	// specChanged is signalled (without blocking) when setSpec records a new spec.
	specChanged chan struct{}

	mu      sync.Mutex
	spec    Cluster
	sim     *nodesim.Simulator
	config  *rest.Config // the admin's, once the API server answered
	started time.Duration
	procs   []*process
	ready   bool
}

// clusterHash is the short name of a cluster's directory and etcd prefix.
func clusterHash(key string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(key)))
	return hex.EncodeToString(sum[:8])
}

// etcdPrefix is where a cluster's API server keeps its objects.
func etcdPrefix(hash string) string { return "/clusters/" + hash + "/" }

// setSpec records the latest desired state; the node simulator gets the nodes at once.
func (cp *controlPlane) setSpec(c Cluster) {
	cp.mu.Lock()
	cp.spec = c
	sim := cp.sim
	cp.mu.Unlock()
	if sim != nil {
		sim.SetNodes(c.Nodes)
	}
	select {
	case cp.specChanged <- struct{}{}:
	default:
	}
}

func (cp *controlPlane) current() Cluster {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.spec
}

// run keeps the control plane up until ctx is done: a process that dies takes the others
// down and all start again after a backoff.
func (cp *controlPlane) run(ctx context.Context) {
	backoff := time.Second
	for {
		err := cp.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		cp.log.Warn("cluster API server stopped; starting it again", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// runOnce starts the processes, waits for the API server, applies what the cluster's
// cloud-init applies after kubeadm init (runCloudInit), runs the node simulator and returns
// when a process ends or ctx is done (then it stops them all).
func (cp *controlPlane) runOnce(ctx context.Context) error {
	start := time.Now()
	spec := cp.current()
	files, err := cp.prepare(spec)
	if err != nil {
		return err
	}
	defer cp.stopProcesses()
	if err := cp.startAPIServer(ctx, spec, files); err != nil {
		return err
	}
	if !cp.m.opts.WithoutControllers {
		if err := cp.startControllers(files); err != nil {
			return err
		}
	}
	ciCtx, stopCloudInit := context.WithCancel(ctx)
	ciDone := make(chan struct{})
	go func() { defer close(ciDone); cp.runCloudInit(ciCtx, files.admin) }()
	defer func() { stopCloudInit(); <-ciDone }()
	if cp.m.opts.WithoutSimulator {
		cp.mu.Lock()
		cp.config, cp.ready, cp.started = files.admin, true, time.Since(start)
		cp.mu.Unlock()
		return cp.supervise(ctx)
	}
	client, err := kubernetes.NewForConfig(files.admin)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	sim := nodesim.New(client, nodesim.Options{Logger: cp.log.With("component", "nodesim"),
		Grace: cp.m.opts.NodeGrace, LeaseInterval: cp.m.opts.LeaseInterval, Runner: cp.m.opts.Runner,
		APIServer: files.admin.Host, APIServerCA: files.admin.CAData, Loopback: cp.m.loopback})
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan struct{})
	go func() { _ = sim.Run(simCtx); close(simDone) }()
	defer func() { stopSim(); <-simDone }()
	cp.mu.Lock()
	cp.sim, cp.config, cp.ready, cp.started = sim, files.admin, true, time.Since(start)
	nodes := cp.spec.Nodes
	cp.mu.Unlock()
	sim.SetNodes(nodes)
	cp.log.Info("cluster API server ready", "address", net.JoinHostPort(spec.Address.String(), strconv.Itoa(spec.Port)), "in", time.Since(start).Round(time.Millisecond))
	return cp.supervise(ctx)
}

// supervise waits until ctx is done or one of the processes ends.
func (cp *controlPlane) supervise(ctx context.Context) error {
	cp.mu.Lock()
	procs := cp.procs
	cp.mu.Unlock()
	ended := make(chan *process, len(procs))
	for _, p := range procs {
		go func() {
			select {
			case <-p.done:
				ended <- p
			case <-ctx.Done():
			}
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case p := <-ended:
		return errExited(p, filepath.Join(cp.dir, p.name+".log"))
	}
}

// stopProcesses stops the scheduler and controller manager, then the API server.
func (cp *controlPlane) stopProcesses() {
	cp.mu.Lock()
	procs := cp.procs
	cp.procs, cp.sim, cp.config, cp.ready = nil, nil, nil, false
	cp.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// files are the paths a control plane's processes are given.
type files struct {
	dir        string
	kubeconfig string
	tokens     string // "" without tokens
	admin      *rest.Config
}

// prepare writes the CA (or reads the one kept from an earlier start), the service account
// key, fresh serving and admin certificates, the token file and the admin kubeconfig.
func (cp *controlPlane) prepare(spec Cluster) (files, error) {
	f := files{dir: cp.dir}
	if err := os.MkdirAll(cp.dir, 0o700); err != nil {
		return f, fmt.Errorf("cluster directory: %w", err)
	}
	ca, err := cp.authority(spec)
	if err != nil {
		return f, err
	}
	if err := ensureServiceAccountKey(cp.dir); err != nil {
		return f, err
	}
	srv, err := serving(ca, spec.DNSNames, spec.Address, serviceIP(spec.ServiceCIDR))
	if err != nil {
		return f, err
	}
	admin, err := ca.Issue(kubecert.Identity{User: "strata-emulator", Groups: []string{"system:masters"}}, time.Now(), certValidity)
	if err != nil {
		return f, err
	}
	writes := map[string][]byte{"apiserver.crt": srv.CertPEM, "apiserver.key": srv.KeyPEM,
		"admin.crt": admin.CertPEM, "admin.key": admin.KeyPEM}
	for name, b := range writes {
		if err := os.WriteFile(filepath.Join(cp.dir, name), b, 0o600); err != nil {
			return f, fmt.Errorf("writing %s: %w", name, err)
		}
	}
	if len(spec.Tokens) > 0 {
		f.tokens = filepath.Join(cp.dir, "tokens.csv")
		if err := writeTokens(f.tokens, spec.Tokens); err != nil {
			return f, err
		}
	}
	server := "https://" + net.JoinHostPort(spec.Address.String(), strconv.Itoa(spec.Port))
	f.admin = &rest.Config{Host: server, TLSClientConfig: rest.TLSClientConfig{
		CAData: ca.CertPEM(), CertData: admin.CertPEM, KeyData: admin.KeyPEM}, QPS: 50, Burst: 100}
	f.kubeconfig = filepath.Join(cp.dir, "admin.kubeconfig")
	return f, writeKubeconfig(f.kubeconfig, spec.Name, f.admin)
}

// authority returns the cluster CA: the spec's, kept in the directory for when the spec no
// longer carries it (an IaaS cluster whose first control-plane VM was deleted), else the kept one.
func (cp *controlPlane) authority(spec Cluster) (*kubecert.CA, error) {
	certPath, keyPath := filepath.Join(cp.dir, caCertFile), filepath.Join(cp.dir, caKeyFile)
	if len(spec.CACertPEM) > 0 && len(spec.CAKeyPEM) > 0 {
		if err := os.WriteFile(certPath, spec.CACertPEM, 0o644); err != nil {
			return nil, fmt.Errorf("writing the cluster CA: %w", err)
		}
		if err := os.WriteFile(keyPath, spec.CAKeyPEM, 0o600); err != nil {
			return nil, fmt.Errorf("writing the cluster CA key: %w", err)
		}
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("the cluster has no CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("the cluster has no CA key: %w", err)
	}
	return kubecert.ParseCA(certPEM, keyPEM)
}

// hasAuthority reports whether the directory keeps a CA from an earlier start.
func hasAuthority(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, caKeyFile))
	return err == nil
}

func ensureServiceAccountKey(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, saKeyFile)); err == nil {
		return nil
	}
	key, pub, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, saPubFile), pub, 0o644); err != nil {
		return fmt.Errorf("writing the service account public key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, saKeyFile), key, 0o600); err != nil {
		return fmt.Errorf("writing the service account key: %w", err)
	}
	return nil
}

// writeTokens writes the API server's static token file: token,user,uid,"groups".
func writeTokens(path string, tokens []Token) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing the token file: %w", err)
	}
	w := csv.NewWriter(f)
	for _, t := range tokens {
		_ = w.Write([]string{t.Token, t.User, t.User, strings.Join(t.Groups, ",")})
	}
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}

// writeKubeconfig writes the admin kubeconfig the controller manager and scheduler use.
func writeKubeconfig(path, name string, cfg *rest.Config) error {
	if name == "" {
		name = "cluster"
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "admin"}
	kc.CurrentContext = name
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("writing the admin kubeconfig: %w", err)
	}
	return os.Chmod(path, 0o600)
}

// serviceIP is the first address of the service range: the kubernetes service's.
func serviceIP(cidr string) netip.Addr {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Addr{}
	}
	return p.Masked().Addr().Next()
}

// startAPIServer starts kube-apiserver and waits until /readyz answers.
func (cp *controlPlane) startAPIServer(ctx context.Context, spec Cluster, f files) error {
	cidr := spec.ServiceCIDR
	if cidr == "" {
		cidr = defaultServiceCIDR
	}
	addr := spec.Address.String()
	d := f.dir
	args := []string{
		"--etcd-servers=" + cp.m.etcd.url, "--etcd-prefix=" + etcdPrefix(cp.hash),
		"--bind-address=" + addr, "--advertise-address=" + addr, "--secure-port=" + strconv.Itoa(spec.Port),
		"--tls-cert-file=" + filepath.Join(d, "apiserver.crt"), "--tls-private-key-file=" + filepath.Join(d, "apiserver.key"),
		"--client-ca-file=" + filepath.Join(d, caCertFile),
		"--service-account-key-file=" + filepath.Join(d, saPubFile),
		"--service-account-signing-key-file=" + filepath.Join(d, saKeyFile),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + cidr, "--authorization-mode=Node,RBAC",
		"--endpoint-reconciler-type=none", "--enable-aggregator-routing=true", "--allow-privileged=true",
		"--profiling=false", "--v=0",
	}
	if f.tokens != "" {
		args = append(args, "--token-auth-file="+f.tokens)
	}
	logPath := filepath.Join(d, "kube-apiserver.log")
	p, err := startProcess(cp.log, filepath.Join(cp.m.opts.BinDir, "kube-apiserver"), args, logPath)
	if err != nil {
		return err
	}
	cp.addProcess(p)
	httpc, err := readyzClient(f.admin)
	if err != nil {
		return err
	}
	err = waitFor(ctx, apiServerReadyTimeout, p, logPath, func(ctx context.Context) error {
		return get(ctx, httpc, f.admin.Host+"/readyz")
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver of %s: %w", spec.Name, err)
	}
	return nil
}

// startControllers starts kube-controller-manager and kube-scheduler.
func (cp *controlPlane) startControllers(f files) error {
	d := f.dir
	cm := []string{"--kubeconfig=" + f.kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file=" + filepath.Join(d, saKeyFile),
		"--root-ca-file=" + filepath.Join(d, caCertFile),
		"--cluster-signing-cert-file=" + filepath.Join(d, caCertFile),
		"--cluster-signing-key-file=" + filepath.Join(d, caKeyFile),
		"--use-service-account-credentials=true", "--v=0"}
	sched := []string{"--kubeconfig=" + f.kubeconfig, "--leader-elect=false", "--secure-port=0", "--v=0"}
	for _, c := range []struct {
		name string
		args []string
	}{{"kube-controller-manager", cm}, {"kube-scheduler", sched}} {
		p, err := startProcess(cp.log, filepath.Join(cp.m.opts.BinDir, c.name), c.args, filepath.Join(d, c.name+".log"))
		if err != nil {
			return err
		}
		cp.addProcess(p)
	}
	return nil
}

func (cp *controlPlane) addProcess(p *process) {
	cp.mu.Lock()
	cp.procs = append(cp.procs, p)
	cp.mu.Unlock()
}

// readyzClient is an HTTP client with the admin's certificate that trusts only the cluster CA.
func readyzClient(cfg *rest.Config) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cfg.CAData) {
		return nil, errors.New("the cluster CA is not PEM")
	}
	cert, err := tls.X509KeyPair(cfg.CertData, cfg.KeyData)
	if err != nil {
		return nil, fmt.Errorf("the admin certificate: %w", err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}}, nil
}

func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
