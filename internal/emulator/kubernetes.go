package emulator

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/kube/fromarm"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// KubernetesOptions turn on real Kubernetes inside the emulated clusters: each AKS cluster and
// each IaaS cluster (from the kubeadm cloud-init of its VMs) gets a real kube-apiserver,
// controller manager and scheduler, sharing one etcd, with simulated nodes.
type KubernetesOptions struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and kube-scheduler (`make
	// k8s`; kube.DefaultBinDir). Empty: Kubernetes is off.
	BinDir string
	// NodeGrace is how long the Node of a deleted VM stays NotReady before it is deleted;
	// LeaseInterval is how often node leases are renewed. Zero: the simulator's defaults.
	NodeGrace, LeaseInterval time.Duration
	// Runner runs the pods whose image it claims as local processes.
	Runner nodesim.Runner
}

// kubernetesSyncEvery is how often a failed Apply is tried again (a change of the cloud is
// acted on at once).
const kubernetesSyncEvery = 5 * time.Second

func (opts Options) kubernetesOn() bool { return opts.Kubernetes.BinDir != "" }

// startKubernetes starts the manager of the clusters' control planes and the loop that keeps
// them as the cloud's resources say. Data lives in the state directory's kubernetes/ (or a
// temporary directory removed on Close).
func (em *Emulator) startKubernetes() error {
	ko := em.opts.Kubernetes
	dir := filepath.Join(em.opts.StateDir, "kubernetes")
	if em.opts.StateDir == "" {
		tmp, err := os.MkdirTemp("", "strata-emulator-kubernetes-")
		if err != nil {
			return fmt.Errorf("kubernetes: %w", err)
		}
		dir, em.kubeTemp = tmp, tmp
	}
	m, err := kube.New(kube.Options{BinDir: ko.BinDir, Dir: dir, Logger: em.log.With("component", "kubernetes"),
		NodeGrace: ko.NodeGrace, LeaseInterval: ko.LeaseInterval, Runner: ko.Runner})
	if err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	em.kube = m
	ctx, cancel := context.WithCancel(context.Background())
	em.kubeStop = cancel
	em.kubeDone = make(chan struct{})
	go em.syncKubernetes(ctx)
	em.wakeKubernetes()
	return nil
}

// wakeKubernetes asks the sync loop to look at the cloud again.
func (em *Emulator) wakeKubernetes() {
	if em.kubeWake == nil {
		return
	}
	select {
	case em.kubeWake <- struct{}{}:
	default:
	}
}

// syncKubernetes applies the clusters the cloud's resources describe to the manager after
// each change (debounced), and again every kubernetesSyncEvery until an Apply succeeded.
func (em *Emulator) syncKubernetes(ctx context.Context) {
	defer close(em.kubeDone)
	tick := time.NewTicker(kubernetesSyncEvery)
	defer tick.Stop()
	var last []kube.Cluster
	applied := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-em.kubeWake:
			time.Sleep(50 * time.Millisecond) // let a burst of changes land
		case <-tick.C:
		}
		clusters := fromarm.Clusters(em.engine.ResourcesOfTypes(fromarm.Types...))
		if applied && reflect.DeepEqual(clusters, last) {
			continue // the tick only retries a failed Apply
		}
		err := em.kube.Apply(ctx, clusters)
		if err != nil && ctx.Err() == nil {
			em.log.Warn("kubernetes: applying the clusters", "err", err)
		}
		last, applied = clusters, err == nil
	}
}

// closeKubernetes stops the loop and every control plane.
func (em *Emulator) closeKubernetes() error {
	if em.kube == nil {
		return nil
	}
	em.kubeStop()
	<-em.kubeDone
	err := em.kube.Close()
	if em.kubeTemp != "" {
		_ = os.RemoveAll(em.kubeTemp)
	}
	return err
}

// Kubernetes returns the manager of the clusters' control planes, or nil when Kubernetes is off.
func (em *Emulator) Kubernetes() *kube.Manager { return em.kube }

// KubernetesBinaries decides where the Kubernetes binaries come from: dir when given, else
// kube.DefaultBinDir(). With on false, or when the default directory lacks them, Kubernetes is
// off (binDir ""), and note says why in one line; a given dir that lacks them is an error.
func KubernetesBinaries(on bool, dir string) (binDir, note string, err error) {
	if !on {
		return "", "off (--kubernetes=false)", nil
	}
	given := dir != ""
	if !given {
		dir = kube.DefaultBinDir()
	}
	if err := kube.CheckBinaries(dir); err != nil {
		if given {
			return "", "", fmt.Errorf("--kubernetes-bin: %w", err)
		}
		return "", fmt.Sprintf("off: %v, in about 11 minutes the first time; --kubernetes=false silences this", err), nil
	}
	return dir, fmt.Sprintf("on: Kubernetes %s from %s", kube.Version, dir), nil
}

// kubernetesInfo is what GET /_emulator/kubernetes answers.
type kubernetesInfo struct {
	Enabled      bool        `json:"enabled"`
	EtcdRSSBytes int64       `json:"etcdRSSBytes"`
	Clusters     []kube.Info `json:"clusters"`
}

// adminKubernetes lists the clusters' control planes: where they answer, whether they are
// ready, how long they took to start and their memory.
func (em *Emulator) adminKubernetes(w http.ResponseWriter, _ *http.Request) {
	info := kubernetesInfo{Clusters: []kube.Info{}}
	if em.kube != nil {
		info.Enabled, info.EtcdRSSBytes, info.Clusters = true, em.kube.EtcdRSSBytes(), em.kube.Clusters()
	}
	writeAdmin(w, http.StatusOK, info)
}
