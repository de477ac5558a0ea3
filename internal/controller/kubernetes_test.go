package controller_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// kubeCounter counts the requests sent to the clusters' API servers, by host, and fails
// those to the hosts in down as an unreachable server would.
type kubeCounter struct {
	mu     sync.Mutex
	byHost map[string]int
	down   map[string]bool
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// wrap is controller.Config.WrapKubernetesTransport.
func (k *kubeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		k.mu.Lock()
		if k.byHost == nil {
			k.byHost = map[string]int{}
		}
		k.byHost[r.URL.Host]++
		down := k.down[r.URL.Host]
		k.mu.Unlock()
		if down {
			return nil, errors.New("dial tcp " + r.URL.Host + ": connect: connection refused (test)")
		}
		return rt.RoundTrip(r)
	})
}

// setDown makes the requests to host fail, or pass again.
func (k *kubeCounter) setDown(host string, down bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.down == nil {
		k.down = map[string]bool{}
	}
	k.down[host] = down
}

// to is how many requests were sent to host.
func (k *kubeCounter) to(host string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.byHost[host]
}

// total is how many requests were sent to any cluster.
func (k *kubeCounter) total() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, v := range k.byHost {
		n += v
	}
	return n
}

// TestKubernetesReady provisions an IaaS and an AKS cluster in an emulator that runs real
// Kubernetes, with the controller reading the clusters' APIs: each is Running only with
// KubernetesReady True and as many Ready nodes as it has machines; an idle resync then sends
// no Azure write and at most two requests to each cluster's API per pass.
func TestKubernetesReady(t *testing.T) {
	h := newHarness(t, emulatortest.Kubernetes(t))
	var kube kubeCounter
	h.runController(t, "test", func(c *controller.Config) {
		c.CheckKubernetes = true
		c.WrapKubernetesTransport = kube.wrap
	})
	ctx := context.Background()
	clusters := []struct {
		file  string
		nodes int
	}{{"cluster-iaas-dynamic.yaml", 6}, {"cluster-aks.yaml", 4}}
	names := make([]string, len(clusters))
	for i, c := range clusters {
		cl := h.cluster(t, c.file)
		if err := h.st.Create(ctx, cl); err != nil {
			t.Fatal(err)
		}
		names[i] = cl.Key()
	}
	entra := h.entraOnlyCluster(t)
	for i, c := range clusters {
		cl := h.waitFor(t, names[i], "Running", 4*time.Minute, func(cl *v1alpha1.Cluster) bool {
			return cl.Status.Phase == controller.PhaseRunning && cl.Status.ObservedGeneration == cl.Metadata.Generation
		})
		checkKubernetesStatus(t, cl, c.nodes)
	}
	// Without local accounts, strata cannot read the API: Running on Azure's word alone.
	cl := h.waitRunning(t, entra)
	if kc := condition(cl, controller.ConditionKubernetesReady); kc.Status != "Unknown" || kc.Reason != controller.ReasonLocalAccountsDisabled ||
		!strings.Contains(kc.Message, "Entra ID identity") || cl.Status.Kubernetes != nil {
		t.Errorf("cluster %s without local accounts: KubernetesReady %+v, status.kubernetes %+v", entra, kc, cl.Status.Kubernetes)
	}

	// Idle resyncs: no Azure write, no status write, at most 2 API requests per pass (the
	// version and the nodes), and one more on the IaaS cluster, whose workers autoscale (min 2,
	// max 6): its autoscaler's list of the pods.
	iaasHost := net.JoinHostPort(h.get(t, names[0]).Status.ControlPlaneAddress, "6443")
	writes, kubeBefore, iaasBefore := h.writes(), kube.total(), kube.to(iaasHost)
	passesBefore, lbBefore := h.passes(t), h.lbReads(t)
	rvs := map[string]string{}
	for _, n := range names {
		rvs[n] = h.get(t, n).Metadata.ResourceVersion
	}
	deadline := time.Now().Add(30 * time.Second)
	for h.passes(t) < passesBefore+9 || h.lbReads(t) < lbBefore+3 { // three resyncs of each cluster, about
		if time.Now().After(deadline) {
			t.Fatal("fewer than three resyncs of each cluster in 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	passes, iaasPasses := h.passes(t)-passesBefore, h.lbReads(t)-lbBefore
	iaasRequests := kube.to(iaasHost) - iaasBefore
	t.Logf("%d passes, %d requests to the clusters' APIs; IaaS cluster: %d passes, %d requests", passes, kube.total()-kubeBefore, iaasPasses, iaasRequests)
	if iaasRequests == 0 || iaasRequests > 3*(iaasPasses+1) {
		t.Errorf("%d requests to the IaaS cluster's API in %d passes, want 1 to 3 per pass", iaasRequests, iaasPasses)
	}
	if w := h.writes() - writes; w != 0 {
		t.Errorf("idle resyncs sent %d Azure write(s)", w)
	}
	// A pass may be under way at either end of the window: one more pass's requests.
	if n := kube.total() - kubeBefore; n == 0 || n > 2*(passes+2)+iaasPasses+1 {
		t.Errorf("%d requests to the clusters' APIs in %d passes (%d of the IaaS cluster), want 1 to 2 per pass and 1 more per IaaS pass", n, passes, iaasPasses)
	}
	for _, n := range names {
		if rv := h.get(t, n).Metadata.ResourceVersion; rv != rvs[n] {
			t.Errorf("idle resync wrote cluster %s: resourceVersion %s -> %s", n, rvs[n], rv)
		}
	}
	if ok, _ := h.env.Requests(t, http.MethodPost, typeManagedCluster); ok > 1 {
		t.Errorf("%d POSTs on the managed clusters (listClusterAdminCredential): the admin kubeconfig is not cached, or was asked for the cluster without local accounts", ok)
	}
	apiDownAndBack(t, h, &kube, names[0])
}

// apiDownAndBack makes a Running cluster's API unreachable: it stays Running with
// KubernetesReady and Ready False and a KubernetesNotReady event, without an Azure write;
// once the API answers again, both are True again.
func apiDownAndBack(t *testing.T, h *harness, kube *kubeCounter, name string) {
	t.Helper()
	host := net.JoinHostPort(h.get(t, name).Status.ControlPlaneAddress, "6443")
	writes := h.writes()
	kube.setDown(host, true)
	cl := h.waitFor(t, name, "KubernetesReady False", time.Minute, func(cl *v1alpha1.Cluster) bool {
		return condition(cl, controller.ConditionKubernetesReady).Status == "False"
	})
	kc, ready := condition(cl, controller.ConditionKubernetesReady), condition(cl, controller.ConditionReady)
	if cl.Status.Phase != controller.PhaseRunning || kc.Reason != controller.ReasonAPIServerUnreachable ||
		ready.Status != "False" || ready.Reason != controller.ReasonAPIServerUnreachable || cl.Status.Kubernetes != nil {
		t.Errorf("API down: phase %s, KubernetesReady %+v, Ready %+v, status.kubernetes %+v; want Running, both False (APIServerUnreachable), none",
			cl.Status.Phase, kc, ready, cl.Status.Kubernetes)
	}
	kube.setDown(host, false)
	cl = h.waitFor(t, name, "KubernetesReady True again", time.Minute, func(cl *v1alpha1.Cluster) bool {
		return condition(cl, controller.ConditionKubernetesReady).Status == "True" && condition(cl, controller.ConditionReady).Status == "True"
	})
	if cl.Status.Phase != controller.PhaseRunning || cl.Status.Kubernetes == nil {
		t.Errorf("API back: phase %s, status.kubernetes %+v", cl.Status.Phase, cl.Status.Kubernetes)
	}
	if w := h.writes() - writes; w != 0 {
		t.Errorf("the API's outage caused %d Azure write(s)", w)
	}
	// The events follow the status write that shows the change.
	deadline := time.Now().Add(10 * time.Second)
	for {
		reasons := eventReasons(t, h, cl)
		if slices.Contains(reasons, "KubernetesNotReady") && slices.Contains(reasons, "KubernetesReady") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("events %v, want KubernetesNotReady and KubernetesReady", reasons)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eventReasons lists the reasons of the cluster's events.
func eventReasons(t *testing.T, h *harness, cl *v1alpha1.Cluster) []string {
	t.Helper()
	evs, err := h.st.ListEvents(context.Background(), v1alpha1.KindCluster, cl.Key(), cl.Metadata.UID)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, ev := range evs {
		reasons = append(reasons, ev.Reason)
	}
	return reasons
}

// condition returns the cluster's condition of a type (a zero one when absent).
func condition(cl *v1alpha1.Cluster, typ string) v1alpha1.Condition {
	for _, c := range cl.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return v1alpha1.Condition{}
}

// entraOnlyCluster creates the example AKS cluster, named aks-entra in a resource group of
// its own, with its local accounts disabled, and returns its name.
func (h *harness) entraOnlyCluster(t *testing.T) string {
	t.Helper()
	cl := h.cluster(t, "cluster-aks.yaml")
	cl.Metadata.Name = "aks-entra"
	cl.Spec.Azure.ResourceGroup = "aks-entra-rg"
	h.env.ResourceGroup(t, cl.Spec.Azure.ResourceGroup)
	cl.Spec.Profiles[0].Values = map[string]string{"kubernetes": "managedControlPlane:\n  aadProfile:\n    managed: true\n" +
		"    adminGroupObjectIDs: [f0df6ea5-e4b2-42ad-9167-9d9975b8e0f6]\n    disableLocalAccounts: true\n"}
	if err := h.st.Create(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	return cl.Key()
}

// checkKubernetesStatus checks a Running cluster's KubernetesReady, status.kubernetes and,
// for IaaS, controlPlaneAddress.
func checkKubernetesStatus(t *testing.T, cl *v1alpha1.Cluster, nodes int) {
	t.Helper()
	var kc, ready *v1alpha1.Condition
	for i := range cl.Status.Conditions {
		switch c := &cl.Status.Conditions[i]; c.Type {
		case controller.ConditionKubernetesReady:
			kc = c
		case controller.ConditionReady:
			ready = c
		}
	}
	if kc == nil || kc.Status != "True" || kc.Reason != controller.ReasonNodesReady {
		t.Fatalf("cluster %s: KubernetesReady %+v", cl.Key(), kc)
	}
	t.Logf("cluster %s: KubernetesReady %s %s: %s; address %q", cl.Key(), kc.Status, kc.Reason, kc.Message, cl.Status.ControlPlaneAddress)
	if ready == nil || ready.Status != "True" {
		t.Errorf("cluster %s: Ready %+v", cl.Key(), ready)
	}
	k := cl.Status.Kubernetes
	if k == nil || k.Version == "" || k.NodesTotal != nodes || k.NodesReady != nodes {
		t.Errorf("cluster %s: status.kubernetes %+v, want %d of %d nodes Ready", cl.Key(), k, nodes, nodes)
	}
	if cl.Spec.Azure.Type == v1alpha1.ClusterTypeIaaS {
		if a, err := netip.ParseAddr(cl.Status.ControlPlaneAddress); err != nil || !a.IsLoopback() {
			t.Errorf("cluster %s: controlPlaneAddress %q, want the emulator's loopback address", cl.Key(), cl.Status.ControlPlaneAddress)
		}
	}
}

// lbReads counts the reads of load balancers: one per pass over an IaaS cluster.
func (h *harness) lbReads(t *testing.T) int {
	t.Helper()
	lb, _ := h.env.Requests(t, http.MethodGet, typeLB)
	return int(lb)
}

// passes counts the passes of the controller, as the reads of the resource each pass reads
// once: an IaaS cluster's load balancer, an AKS cluster's managed cluster.
func (h *harness) passes(t *testing.T) int {
	t.Helper()
	lb, _ := h.env.Requests(t, http.MethodGet, typeLB)
	mc, _ := h.env.Requests(t, http.MethodGet, typeManagedCluster)
	return int(lb + mc)
}
