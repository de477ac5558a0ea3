// Package kube runs real Kubernetes inside the emulator: one etcd per emulator, and for each
// emulated cluster (AKS or IaaS) a real kube-apiserver (under an etcd prefix of its own),
// kube-controller-manager and kube-scheduler, with nodes and pod status simulated by
// nodesim. The binaries are built by `make k8s` (hack/k8s); nothing else is downloaded.
package kube

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// defaultServiceCIDR is the service range of a cluster that names none (kubeadm's default).
const defaultServiceCIDR = "10.96.0.0/12"

// Version is the Kubernetes version that `make k8s` builds (hack/k8s/go.mod).
const Version = "v1.37.2"

// DefaultBinDir is where `make k8s` puts the binaries: $STRATA_K8S_DIR, else
// ${XDG_CACHE_HOME:-~/.cache}/strata/k8s/<Version>.
func DefaultBinDir() string {
	if d := os.Getenv("STRATA_K8S_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "strata", "k8s", Version)
}

// Binaries are the programs the manager runs, all in Options.BinDir.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// Options configure a Manager.
type Options struct {
	// BinDir holds the Binaries. Required.
	BinDir string
	// Dir keeps etcd's data and each cluster's certificates and logs. Required.
	Dir string
	// Logger receives the manager's logs; nil discards them.
	Logger *slog.Logger
	// NodeGrace, LeaseInterval and Runner are given to each cluster's node simulator.
	NodeGrace     time.Duration
	LeaseInterval time.Duration
	Runner        nodesim.Runner
	// WithoutControllers runs API servers alone, and WithoutSimulator runs no node
	// simulator: for tests of those parts.
	WithoutControllers, WithoutSimulator bool
}

// Manager keeps each desired cluster's control plane running, and removes those of clusters
// that are gone. It is safe for concurrent use.
type Manager struct {
	opts Options
	log  *slog.Logger
	// loopback are the pod IPs of the Runner processes of every cluster.
	loopback *nodesim.LoopbackPool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	etcd     *etcd
	clusters map[string]*running
	applied  bool // Apply ran once: leftovers of clusters that are gone were removed
	closed   bool
}

// running is a control plane and how to stop it.
type running struct {
	cp     *controlPlane
	cancel context.CancelFunc
	done   chan struct{}
}

// CheckBinaries reports which of the Binaries are missing from dir.
func CheckBinaries(dir string) error {
	var missing []string
	for _, b := range Binaries {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s missing from %s (make k8s builds them)", strings.Join(missing, ", "), dir)
	}
	return nil
}

// New checks the binaries and returns a manager with no cluster; etcd starts with the first.
func New(opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := CheckBinaries(opts.BinDir); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("kube: no directory for etcd and the clusters")
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "clusters"), 0o700); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{opts: opts, log: opts.Logger, loopback: nodesim.NewLoopbackPool(), ctx: ctx, cancel: cancel, clusters: map[string]*running{}}, nil
}

// Apply makes the running control planes those of desired: it starts the missing ones (in the
// background), gives the running ones their nodes, and stops and removes (data included) those
// of clusters no longer desired. A cluster without an address, or without a CA that it has or
// had, is not started yet. A cluster keeps the name, version and service range it had when a
// later spec lacks them (an IaaS cluster whose init VM was replaced), as it keeps its CA, over
// restarts of the emulator too; a node without a kubelet version reports the cluster's. The
// first Apply also removes what is left of clusters that are gone.
func (m *Manager) Apply(ctx context.Context, desired []Cluster) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("kube: the manager is closed")
	}
	want := map[string]Cluster{}
	for _, c := range desired {
		if m.startable(c) {
			want[clusterHash(c.Key)] = m.withIdentity(c)
		}
	}
	for hash, r := range m.clusters {
		c, ok := want[hash]
		if ok && c.Address == r.cp.current().Address && c.Port == r.cp.current().Port {
			r.cp.setSpec(c)
			continue
		}
		m.stopLocked(hash, r, !ok)
	}
	if len(want) > 0 && m.etcd == nil {
		e, err := startEtcd(ctx, m.log, filepath.Join(m.opts.BinDir, "etcd"), m.opts.Dir)
		if err != nil {
			return err
		}
		m.etcd = e
	}
	if !m.applied && m.etcd != nil {
		m.removeLeftovers(ctx, want)
	}
	m.applied = m.applied || m.etcd != nil
	for hash, c := range want {
		if _, ok := m.clusters[hash]; !ok {
			m.startLocked(hash, c)
		}
	}
	return nil
}

// startable reports whether a cluster can be served: it has an address and port, and a CA
// given or kept from an earlier start.
func (m *Manager) startable(c Cluster) bool {
	if !c.Address.IsValid() || c.Port == 0 {
		return false
	}
	if len(c.CACertPEM) > 0 && len(c.CAKeyPEM) > 0 {
		return true
	}
	return hasAuthority(filepath.Join(m.opts.Dir, "clusters", clusterHash(c.Key)))
}

// identityFile, in a control plane's directory, keeps the identity of its cluster.
const identityFile = "identity.json"

// identity is what of a cluster a spec may stop carrying, kept as its CA is: an IaaS
// cluster's name, version and service range come from its init VM, which a rolling
// replacement deletes.
type identity struct {
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	ServiceCIDR string `json:"serviceCIDR,omitempty"`
}

// withIdentity returns c with the identity kept in its directory where c has none, and keeps
// the result for the next time; a node without a kubelet version gets the cluster's. Failing
// to read or write the record is logged: c is then served as it is.
func (m *Manager) withIdentity(c Cluster) Cluster {
	dir := filepath.Join(m.opts.Dir, "clusters", clusterHash(c.Key))
	path := filepath.Join(dir, identityFile)
	var kept identity
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &kept); err != nil {
			m.log.Warn("reading a cluster's kept identity", "key", c.Key, "err", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		m.log.Warn("reading a cluster's kept identity", "key", c.Key, "err", err)
	}
	id := identity{Name: cmp.Or(c.Name, kept.Name), Version: cmp.Or(c.Version, kept.Version),
		ServiceCIDR: cmp.Or(c.ServiceCIDR, kept.ServiceCIDR)}
	if id != kept {
		b, _ := json.Marshal(id) // strings only: does not fail
		if err := errors.Join(os.MkdirAll(dir, 0o700), os.WriteFile(path, b, 0o600)); err != nil {
			m.log.Warn("keeping a cluster's identity", "key", c.Key, "err", err)
		}
	}
	c.Name, c.Version, c.ServiceCIDR = id.Name, id.Version, id.ServiceCIDR
	if c.Version != "" && slices.ContainsFunc(c.Nodes, func(n nodesim.Node) bool { return n.KubeletVersion == "" }) {
		c.Nodes = slices.Clone(c.Nodes)
		for i := range c.Nodes {
			if c.Nodes[i].KubeletVersion == "" {
				c.Nodes[i].KubeletVersion = "v" + strings.TrimPrefix(c.Version, "v")
			}
		}
	}
	return c
}

func (m *Manager) startLocked(hash string, c Cluster) {
	ctx, cancel := context.WithCancel(m.ctx)
	cp := &controlPlane{m: m, key: c.Key, hash: hash, dir: filepath.Join(m.opts.Dir, "clusters", hash),
		log: m.log.With("cluster", c.Name, "key", c.Key), spec: c, specChanged: make(chan struct{}, 1)}
	r := &running{cp: cp, cancel: cancel, done: make(chan struct{})}
	m.clusters[hash] = r
	m.wg.Go(func() {
		defer close(r.done)
		cp.run(ctx)
	})
}

// stopLocked stops a control plane; wipe also removes its data (directory and etcd prefix),
// once it has stopped, in the background.
func (m *Manager) stopLocked(hash string, r *running, wipe bool) {
	delete(m.clusters, hash)
	r.cancel()
	if !wipe {
		<-r.done
		return
	}
	e := m.etcd
	m.wg.Go(func() {
		<-r.done
		m.wipe(e, hash)
		r.cp.log.Info("cluster API server stopped and its data removed")
	})
}

// wipe removes a cluster's etcd prefix and directory.
func (m *Manager) wipe(e *etcd, hash string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if e != nil {
		if err := e.deletePrefix(ctx, etcdPrefix(hash)); err != nil {
			m.log.Warn("removing a deleted cluster's objects", "err", err)
		}
	}
	if err := os.RemoveAll(filepath.Join(m.opts.Dir, "clusters", hash)); err != nil {
		m.log.Warn("removing a deleted cluster's directory", "err", err)
	}
}

// removeLeftovers removes the directories and etcd prefixes of clusters that are not desired,
// left by a run that stopped before it could remove them.
func (m *Manager) removeLeftovers(ctx context.Context, want map[string]Cluster) {
	entries, err := os.ReadDir(filepath.Join(m.opts.Dir, "clusters"))
	if err != nil {
		m.log.Warn("listing cluster directories", "err", err)
		return
	}
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok && e.IsDir() {
			m.wipe(m.etcd, e.Name())
		}
	}
}

// Info describes one running control plane.
type Info struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	// Version is the Kubernetes version the cluster reports (its nodes' unless they say
	// otherwise), without a leading "v"; the API server is the one built (Version).
	Version string `json:"version,omitempty"`
	// Server is the API server's URL.
	Server string `json:"server,omitempty"`
	// Ready is true once the API server answered; StartedIn is how long that took.
	Ready     bool          `json:"ready"`
	StartedIn time.Duration `json:"startedInNanoseconds"`
	// PIDs are the API server's, controller manager's and scheduler's process IDs, and
	// RSSBytes their resident memory together.
	PIDs     []int `json:"pids"`
	RSSBytes int64 `json:"rssBytes"`
}

// Clusters describes the control planes, sorted by key.
func (m *Manager) Clusters() []Info {
	m.mu.Lock()
	rs := make([]*running, 0, len(m.clusters))
	for _, r := range m.clusters {
		rs = append(rs, r)
	}
	m.mu.Unlock()
	out := make([]Info, 0, len(rs))
	for _, r := range rs {
		cp := r.cp
		cp.mu.Lock()
		in := Info{Key: cp.key, Name: cp.spec.Name, Version: cp.spec.Version, Ready: cp.ready, StartedIn: cp.started}
		if cp.config != nil {
			in.Server = cp.config.Host
		}
		for _, p := range cp.procs {
			in.PIDs = append(in.PIDs, p.pid())
			in.RSSBytes += rssBytes(p.pid())
		}
		cp.mu.Unlock()
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// RESTConfig returns the admin's client configuration of a cluster whose API server is ready.
func (m *Manager) RESTConfig(key string) (*rest.Config, bool) {
	m.mu.Lock()
	r := m.clusters[clusterHash(key)]
	m.mu.Unlock()
	if r == nil {
		return nil, false
	}
	r.cp.mu.Lock()
	defer r.cp.mu.Unlock()
	if r.cp.config == nil {
		return nil, false
	}
	return rest.CopyConfig(r.cp.config), true
}

// EtcdRSSBytes is etcd's resident memory, or 0 when it does not run.
func (m *Manager) EtcdRSSBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.etcd == nil {
		return 0
	}
	return rssBytes(m.etcd.proc.pid())
}

// Close stops every control plane and etcd; their data stays for the next start.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.etcd != nil {
		m.etcd.proc.stop()
	}
	return nil
}
