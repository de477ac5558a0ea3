package controller_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agent"
	"github.com/strata-dev/strata/internal/agentmanifest"
	"github.com/strata-dev/strata/internal/agentserver"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
	"github.com/strata-dev/strata/internal/feed"
	"github.com/strata-dev/strata/internal/plan"
)

// TestAgentInstall provisions two IaaS clusters in an emulator that runs real Kubernetes and
// the agent's pods (as agents in this process), with an agent hub: "iaas", whose init VM the
// controller creates with an agent endpoint, gets its agent from cloud-init (one registration
// token minted, for the init VM's custom data; no install through the API); "legacy", whose
// init VM was made by a controller without one, gets it through the API once the grace after
// its API first answered is over. Both agents connect.
func TestAgentInstall(t *testing.T) {
	h := newHarness(t, emulatortest.Kubernetes(t), func(o *emulator.Options) { o.Kubernetes.Runner = agentRunner{} })
	installer := &countingInstaller{in: startHub(t, h)}
	ctx := context.Background()

	// "legacy": its init VM made without the agent's manifest.
	legacy := h.smallIaaS(t, "legacy")
	stop := h.runController(t, "before", func(c *controller.Config) { c.CheckKubernetes = true })
	if err := h.st.Create(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	initVM := plan.InitMachineKey(legacy)
	h.waitFor(t, "legacy", "with its init VM", 2*time.Minute, func(cl *v1alpha1.Cluster) bool {
		return slices.ContainsFunc(cl.Status.Inventory, func(it v1alpha1.InventoryItem) bool { return it.Key == initVM && it.Ready })
	})
	stop()

	h.runController(t, "with-agent", func(c *controller.Config) {
		c.CheckKubernetes, c.Agent, c.AgentInstallGrace = true, installer, 10*time.Second
	})
	iaas := h.smallIaaS(t, "iaas")
	if err := h.st.Create(ctx, iaas); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"iaas", "legacy"} {
		h.waitFor(t, name, "with its agent connected", 4*time.Minute, func(cl *v1alpha1.Cluster) bool {
			return condition(cl, controller.ConditionAgentConnected).Status == "True" && cl.Status.Agent != nil && cl.Status.Agent.Installed
		})
	}
	want := map[string]string{"iaas": "by cloud-init on the first control-plane machine", "legacy": "through the cluster's API"}
	for name, msg := range want {
		got := eventMessages(t, h, h.get(t, name), "AgentInstalled")
		if len(got) != 1 || !strings.Contains(got[0], msg) {
			t.Errorf("%s: AgentInstalled events %q, want one saying %q", name, got, msg)
		}
		if n := installer.count(name); n != 1 {
			t.Errorf("%s: %d registration tokens minted, want 1", name, n)
		}
	}

	// Deleting a cluster drops its registration tokens not used yet.
	unused, err := agentserver.MintToken(ctx, h.st, agentserver.Identity{ClusterName: "iaas", ClusterUID: h.get(t, "iaas").Metadata.UID}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h.requestDelete(t, "iaas")
	h.waitGone(t, "iaas")
	if _, err := agentserver.ConsumeToken(ctx, h.st, unused, time.Now()); !errors.Is(err, agentserver.ErrTokenRefused) {
		t.Errorf("a token of the deleted cluster: %v, want refused", err)
	}
}

// smallIaaS is the example IaaS cluster named name, with one control-plane machine and one
// worker, in a resource group of its own.
func (h *harness) smallIaaS(t *testing.T, name string) *v1alpha1.Cluster {
	t.Helper()
	cl := decodeExample(t, "cluster-iaas-dynamic.yaml")[0].(*v1alpha1.Cluster)
	cl.Metadata.Name = name
	cl.Spec.CloudAccount, cl.Spec.Azure.SubscriptionID, cl.Spec.Azure.Location = "emulator", h.env.SubscriptionID, h.env.Location
	cl.Spec.Azure.ResourceGroup = name + "-rg"
	for i := range cl.Spec.MachinePools {
		mp := &cl.Spec.MachinePools[i]
		mp.Count, mp.Min, mp.Max = 1, new(1), new(1)
	}
	h.env.ResourceGroup(t, cl.Spec.Azure.ResourceGroup)
	return cl
}

// eventMessages lists the messages of the cluster's events of a reason.
func eventMessages(t *testing.T, h *harness, cl *v1alpha1.Cluster, reason string) []string {
	t.Helper()
	evs, err := h.st.ListEvents(context.Background(), v1alpha1.KindCluster, cl.Key(), cl.Metadata.UID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Reason == reason {
			out = append(out, ev.Message)
		}
	}
	return out
}

// startHub runs an agent hub on the harness's store, serving gRPC on loopback until the test
// ends, and returns the installer of its agents' manifests.
func startHub(t *testing.T, h *harness) *agentserver.Installer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := feed.New(h.st, feed.Config{PollInterval: 100 * time.Millisecond})
	go func() { _ = f.Run(ctx) }()
	auth, err := agentserver.LoadAuthority(ctx, h.st)
	if err != nil {
		t.Fatal(err)
	}
	hub := agentserver.NewHub(agentserver.Config{Store: h.st, Authority: auth, Feed: f, Holder: "test-server",
		Heartbeat: 500 * time.Millisecond, Resync: time.Second})
	gs, err := hub.NewGRPCServer(agentserver.ServerOptions{Names: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	go func() { _ = hub.Run(ctx) }()
	t.Cleanup(gs.Stop)
	return &agentserver.Installer{Store: h.st, Authority: auth, Server: ln.Addr().String(), Image: agentmanifest.DefaultImage + ":test"}
}

// countingInstaller is an AgentInstaller that counts the manifests (tokens) made per cluster.
type countingInstaller struct {
	in *agentserver.Installer
	mu sync.Mutex
	n  map[string]int
}

func (c *countingInstaller) Manifest(ctx context.Context, cl *v1alpha1.Cluster) ([]byte, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[cl.Metadata.Name]++
	c.mu.Unlock()
	return c.in.Manifest(ctx, cl)
}

func (c *countingInstaller) Forget(ctx context.Context, cl *v1alpha1.Cluster) error {
	return c.in.Forget(ctx, cl)
}

func (c *countingInstaller) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

// agentRunner runs the agent's pods as agents in this process, with the pod's service-account
// kubeconfig the node simulator gives them (as strata agent processes get it).
type agentRunner struct{}

func (agentRunner) Claims(pod *corev1.Pod) bool {
	return len(pod.Spec.Containers) > 0 && strings.HasPrefix(pod.Spec.Containers[0].Image, agentmanifest.DefaultImage)
}

func (agentRunner) Start(_ context.Context, pod *corev1.Pod, podIP string) (func(), error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var path string
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == nodesim.KubeconfigEnv {
			path = e.Value
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = agent.Run(ctx, agent.Config{Kube: cfg, Namespace: pod.Namespace, Version: "test", PodIP: podIP,
			WebhookPort: port, WebhookSelector: map[string]string{agentmanifest.AppLabel: agentmanifest.Name},
			Heartbeat: 500 * time.Millisecond, BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second,
			Logger: slog.New(slog.DiscardHandler)})
	}()
	return func() { cancel(); <-done }, nil
}

// freePort is a free TCP port of the loopback interface.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
