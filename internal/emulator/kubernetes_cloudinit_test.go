package emulator_test

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

// cloudInitManifest is what the init VM's cloud-init applies after kubeadm init in
// TestKubernetesCloudInitManifests: a namespace, an object in it and one without a namespace.
const cloudInitManifest = `---
apiVersion: v1
kind: Namespace
metadata:
  name: strata-system
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: applied
  namespace: strata-system
data:
  by: cloud-init
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: applied-default
data:
  by: cloud-init
`

// TestKubernetesCloudInitManifests provisions two IaaS clusters as strata plans them, one
// whose init VM's cloud-init applies a manifest after kubeadm init and one without: the first
// gets the manifest's objects, server-side applied by field manager strata, the second none.
// After a restart of the emulator, the manifest is not applied again.
func TestKubernetesCloudInitManifests(t *testing.T) {
	env := emulatortest.Start(t, emulatortest.Kubernetes(t))
	var with, without *kubernetes.Clientset
	var wg sync.WaitGroup
	wg.Go(func() { with = provisionIaaS(t, env, "with-manifest", []byte(cloudInitManifest)) })
	wg.Go(func() { without = provisionIaaS(t, env, "without-manifest", nil) })
	wg.Wait()
	if t.Failed() {
		return
	}
	ctx := context.Background()
	waitUntil(t, "the manifest's objects", func() bool {
		_, err := with.CoreV1().ConfigMaps("default").Get(ctx, "applied-default", metav1.GetOptions{})
		return err == nil
	})
	cm, err := with.CoreV1().ConfigMaps("strata-system").Get(ctx, "applied", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ConfigMap strata-system/applied: %v", err)
	}
	if cm.Data["by"] != "cloud-init" || !slices.ContainsFunc(cm.ManagedFields, func(f metav1.ManagedFieldsEntry) bool {
		return f.Manager == "strata" && f.Operation == metav1.ManagedFieldsOperationApply
	}) {
		t.Errorf("ConfigMap strata-system/applied: data %v, managed fields %+v; want server-side applied by strata", cm.Data, cm.ManagedFields)
	}
	if _, err := without.CoreV1().Namespaces().Get(ctx, "strata-system", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the cluster without a manifest has namespace strata-system: %v", err)
	}

	// Applied once in the cluster's life: a deleted object stays deleted across a restart.
	if err := with.CoreV1().ConfigMaps("strata-system").Delete(ctx, "applied", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.Restart(t)
	with = clusterClient(t, env, "with-manifest")
	waitUntil(t, "the API server after the restart", func() bool {
		_, err := with.CoreV1().ConfigMaps("default").Get(ctx, "applied-default", metav1.GetOptions{})
		return err == nil
	})
	time.Sleep(2 * time.Second) // what runs after the API server's start has run
	if _, err := with.CoreV1().ConfigMaps("strata-system").Get(ctx, "applied", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after a restart the manifest was applied again: %v", err)
	}
}

// iaasCluster is the example IaaS cluster named name, with one control-plane machine and
// one worker, in the emulator's subscription and a resource group of its own.
func iaasCluster(t *testing.T, env *emulatortest.Env, name string) *v1alpha1.Cluster {
	t.Helper()
	cl := decodeExample[*v1alpha1.Cluster](t, "cluster-iaas-dynamic.yaml")
	cl.Metadata.Name, cl.Metadata.UID = name, "uid-"+name
	cl.Spec.Azure.SubscriptionID, cl.Spec.Azure.Location = env.SubscriptionID, env.Location
	cl.Spec.Azure.ResourceGroup = name + "-rg"
	for i := range cl.Spec.MachinePools {
		mp := &cl.Spec.MachinePools[i]
		mp.Count, mp.Min, mp.Max = 1, nil, nil
	}
	return cl
}

// provisionIaaS plans the IaaS cluster name as strata does, with the agent's manifest (nil
// for none), creates its resources in the emulator and returns a client of its API server.
func provisionIaaS(t *testing.T, env *emulatortest.Env, name string, agentManifest []byte) *kubernetes.Clientset {
	t.Helper()
	ctx := context.Background()
	cl := iaasCluster(t, env, name)
	env.ResourceGroup(t, cl.Spec.Azure.ResourceGroup)
	acct := env.CloudAccount(t, "emulator")
	clients, err := azure.NewClients(ctx, acct, env.SubscriptionID, azure.Options{PollFrequency: 20 * time.Millisecond})
	if err != nil {
		t.Error(err)
		return nil
	}
	zones, err := clients.ZonesBySize(ctx, env.Location)
	if err != nil {
		t.Error(err)
		return nil
	}
	secrets, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Error(err)
		return nil
	}
	g, err := plan.Build(plan.Input{Cluster: cl, Secrets: secrets, AgentManifest: agentManifest,
		Profiles: []*v1alpha1.ClusterProfile{decodeExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")},
		Env:      plan.Environment{Zones: zones, ImageBaseURL: controller.DefaultImageBaseURL(acct), BlobEndpoint: clients.BlobEndpoint}})
	if err != nil {
		t.Error(err)
		return nil
	}
	applier, inv := clients.Applier(), &memInventory{owner: plan.OwnerTagValue(cl)}
	for _, n := range g.Nodes { // in dependency order
		if _, err := applier.Apply(ctx, n, inv); err != nil {
			t.Errorf("%s: %v", n.Key, err)
			return nil
		}
	}
	return clusterClient(t, env, name)
}

// clusterClient waits for the API server of the IaaS cluster name and returns its client.
func clusterClient(t *testing.T, env *emulatortest.Env, name string) *kubernetes.Clientset {
	t.Helper()
	key := "iaas/" + strings.ToLower(plan.APIServerEndpoint(iaasCluster(t, env, name)))
	var c *kubernetes.Clientset
	waitUntil(t, "the API server of "+name, func() bool {
		cfg, ok := env.Emulator.Kubernetes().RESTConfig(key)
		if ok {
			c = kubernetes.NewForConfigOrDie(cfg)
		}
		return ok
	})
	return c
}

// decodeExample decodes and defaults the one object of an example file.
func decodeExample[T v1alpha1.Object](t *testing.T, name string) T {
	t.Helper()
	data, err := examples.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := v1alpha1.Decode(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("decoding %s: %v (%d objects)", name, err, len(objs))
	}
	v1alpha1.Default(objs[0])
	o, ok := objs[0].(T)
	if !ok {
		t.Fatalf("%s holds a %T", name, objs[0])
	}
	return o
}

// waitUntil polls cond until it holds, failing the test after two minutes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// memInventory is an azure.Inventory in memory.
type memInventory struct {
	owner   string
	mu      sync.Mutex
	managed []string
	tokens  map[string]string
}

func (m *memInventory) Owner() string { return m.owner }

func (m *memInventory) Manages(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.ContainsFunc(m.managed, func(s string) bool { return strings.EqualFold(s, id) })
}

func (m *memInventory) Claim(_ context.Context, n *plan.Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.Managed {
		m.managed = append(m.managed, n.ID)
	}
	return nil
}

func (m *memInventory) Token(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[key]
}

func (m *memInventory) SaveToken(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = map[string]string{}
	}
	m.tokens[key] = token
	return nil
}
