package layers

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/strata-dev/strata/internal/emulator/kube/kubetest"
)

var (
	gvrSecrets         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrServices        = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrServiceAccounts = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	gvrClusterRoles    = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	gvrDeployments     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrCRDs            = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	gvrWidgets         = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
)

// cluster is a real API server for a test, with a dynamic client to look at it.
type cluster struct {
	t   *testing.T
	cfg *rest.Config
	dyn dynamic.Interface
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	cfg := kubetest.Start(t)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, cfg: cfg, dyn: dyn}
}

// applier returns an Applier for the cluster whose inventory is in namespace ("" for the
// default), logging to the test.
func (c *cluster) applier(namespace string) *Applier {
	c.t.Helper()
	log := slog.New(slog.NewTextHandler(c.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(c.cfg, Options{Namespace: namespace, Logger: log})
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

// get returns an object, or nil if it does not exist.
func (c *cluster) get(gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	c.t.Helper()
	obj, err := c.dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		c.t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return obj
}

// gone reports whether an object does not exist or is being deleted.
func (c *cluster) gone(gvr schema.GroupVersionResource, ns, name string) bool {
	obj := c.get(gvr, ns, name)
	return obj == nil || obj.GetDeletionTimestamp() != nil
}

// want is what a test expects of a layer's Status.
type want struct {
	phase              Phase
	objects, available int
	applies            int64
	message            string // substring
}

// check compares statuses with wants, by position.
func check(t *testing.T, step string, got []Status, wants ...want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("%s: %d statuses, want %d: %+v", step, len(got), len(wants), got)
	}
	for i, w := range wants {
		g := got[i]
		if g.Phase != w.phase || g.Objects != w.objects || g.Available != w.available || g.Applies != w.applies ||
			!strings.Contains(g.Message, w.message) || (w.message == "" && g.Message != "") {
			t.Errorf("%s: layer %s: got %s objects=%d available=%d applies=%d %q; want %s objects=%d available=%d applies=%d %q",
				step, g.Name, g.Phase, g.Objects, g.Available, g.Applies, g.Message,
				w.phase, w.objects, w.available, w.applies, w.message)
		}
	}
}

const baseV1 = `
# Source: base/templates/ns.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: team-a
data:
  color: blue
---
# a namespace that does not exist yet: created, not a member
apiVersion: v1
kind: ConfigMap
metadata:
  name: extra
  namespace: team-b
data:
  k: v
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: layers-test-reader
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
`

const appsV1 = `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: team-a
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Secret
metadata:
  name: token
  namespace: team-a
stringData:
  token: s3cret
`

// TestSyncAppliesDriftAndPrunes follows two layers through their life on one API server:
// applied, synced again without writes, repaired after a deletion and after a change made in
// the cluster, changed (pruning an object), and removed.
func TestSyncAppliesDriftAndPrunes(t *testing.T) {
	c := startCluster(t)
	a := c.applier("")
	ctx := context.Background()
	base := Layer{Name: "base", Version: "1.0.0", Digest: "sha256:b1", Manifests: baseV1}
	apps := Layer{Name: "apps", Version: "2.0.0", Digest: "sha256:a1", Manifests: appsV1}

	check(t, "first sync", a.Sync(ctx, []Layer{base, apps}),
		want{phase: PhaseReady, objects: 5, available: 5, applies: 5},
		want{phase: PhaseReady, objects: 2, available: 2, applies: 2})
	checkFirstApply(t, c)

	check(t, "same layers again", a.Sync(ctx, []Layer{base, apps}),
		want{phase: PhaseReady, objects: 5, available: 5, applies: 5},
		want{phase: PhaseReady, objects: 2, available: 2, applies: 2})

	if err := c.dyn.Resource(gvrConfigMaps).Namespace("team-a").Delete(ctx, "settings", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	check(t, "after a deletion", a.Sync(ctx, []Layer{base, apps}),
		want{phase: PhaseReady, objects: 5, available: 5, applies: 6},
		want{phase: PhaseReady, objects: 2, available: 2, applies: 2})
	if c.get(gvrConfigMaps, "team-a", "settings") == nil {
		t.Error("team-a/settings was not applied again")
	}

	cm := c.get(gvrConfigMaps, "team-a", "settings")
	_ = unstructured.SetNestedField(cm.Object, "red", "data", "color")
	if _, err := c.dyn.Resource(gvrConfigMaps).Namespace("team-a").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	check(t, "after a change in the cluster", a.Sync(ctx, []Layer{base, apps}),
		want{phase: PhaseReady, objects: 5, available: 5, applies: 7},
		want{phase: PhaseReady, objects: 2, available: 2, applies: 2})
	if got, _, _ := unstructured.NestedString(c.get(gvrConfigMaps, "team-a", "settings").Object, "data", "color"); got != "blue" {
		t.Errorf("data.color = %q after sync, want blue", got)
	}

	checkNewDigestPrunes(t, c, a, apps)
	checkRemovedLayers(t, c, a)
}

// checkFirstApply checks the objects, namespaces and inventory of the first sync.
func checkFirstApply(t *testing.T, c *cluster) {
	t.Helper()
	parent := c.get(gvrConfigMaps, DefaultNamespace, "layer-base")
	if parent == nil {
		t.Fatal("no inventory ConfigMap strata-system/layer-base")
	}
	id := applySetID("layer-base", DefaultNamespace, "ConfigMap", "")
	if got := parent.GetLabels(); got[labelApplySetID] != id || got[labelLayer] != "base" {
		t.Errorf("inventory labels = %v, want id %s and layer base", got, id)
	}
	wantAnn := map[string]string{
		annTooling:    "strata/v1",
		annGroupKinds: "ClusterRole.rbac.authorization.k8s.io,ConfigMap,Namespace,ServiceAccount",
		annNamespaces: "default,team-a,team-b",
		annDigest:     "sha256:b1",
		annVersion:    "1.0.0",
	}
	for k, v := range wantAnn {
		if got := parent.GetAnnotations()[k]; got != v {
			t.Errorf("inventory annotation %s = %q, want %q", k, got, v)
		}
	}
	members := []struct {
		gvr      schema.GroupVersionResource
		ns, name string
	}{
		{gvrNamespaces, "", "team-a"}, {gvrConfigMaps, "team-a", "settings"}, {gvrConfigMaps, "team-b", "extra"},
		{gvrServiceAccounts, "default", "robot"}, {gvrClusterRoles, "", "layers-test-reader"},
	}
	for _, m := range members {
		obj := c.get(m.gvr, m.ns, m.name)
		if obj == nil || obj.GetLabels()[labelPartOf] != id {
			t.Errorf("%s %s/%s: missing or not labelled %s=%s", m.gvr.Resource, m.ns, m.name, labelPartOf, id)
		}
	}
	if ns := c.get(gvrNamespaces, "", "team-b"); ns == nil || ns.GetLabels()[labelPartOf] != "" {
		t.Errorf("namespace team-b: want it created and not a member, got %v", ns)
	}
	if got, _, _ := unstructured.NestedString(c.get(gvrSecrets, "team-a", "token").Object, "data", "token"); got != "czNjcmV0" {
		t.Errorf("secret data.token = %q", got)
	}
}

// baseV2 is baseV1 without the ConfigMap team-b/extra and the ClusterRole.
func baseV2() string {
	docs := strings.Split(baseV1, "---")
	return strings.Join([]string{docs[0], docs[1], docs[3]}, "---")
}

// checkNewDigestPrunes changes the base layer's digest and content: what it no longer has
// is deleted, except the namespace created for it, and its inventory shrinks.
func checkNewDigestPrunes(t *testing.T, c *cluster, a *Applier, apps Layer) {
	t.Helper()
	base := Layer{Name: "base", Version: "1.1.0", Digest: "sha256:b2", Manifests: baseV2()}
	check(t, "new digest", a.Sync(context.Background(), []Layer{base, apps}),
		want{phase: PhaseReady, objects: 3, available: 3, applies: 10},
		want{phase: PhaseReady, objects: 2, available: 2, applies: 2})
	if c.get(gvrConfigMaps, "team-b", "extra") != nil || c.get(gvrClusterRoles, "", "layers-test-reader") != nil {
		t.Error("the objects removed from the layer were not pruned")
	}
	if c.gone(gvrNamespaces, "", "team-b") {
		t.Error("namespace team-b, created for an object but not one, was pruned")
	}
	if c.get(gvrConfigMaps, "team-a", "settings") == nil || c.get(gvrServiceAccounts, "default", "robot") == nil {
		t.Error("objects still in the layer were deleted")
	}
	ann := c.get(gvrConfigMaps, DefaultNamespace, "layer-base").GetAnnotations()
	if ann[annGroupKinds] != "ConfigMap,Namespace,ServiceAccount" || ann[annNamespaces] != "default,team-a" ||
		ann[annDigest] != "sha256:b2" || ann[annVersion] != "1.1.0" {
		t.Errorf("inventory annotations after the new digest: %v", ann)
	}
}

// checkRemovedLayers drops the apps layer, then every layer: each is pruned entirely.
func checkRemovedLayers(t *testing.T, c *cluster, a *Applier) {
	t.Helper()
	base := Layer{Name: "base", Version: "1.1.0", Digest: "sha256:b2", Manifests: baseV2()}
	check(t, "apps removed", a.Sync(context.Background(), []Layer{base}),
		want{phase: PhaseReady, objects: 3, available: 3, applies: 10})
	if c.get(gvrServices, "team-a", "web") != nil || c.get(gvrSecrets, "team-a", "token") != nil {
		t.Error("the objects of the removed layer apps are still there")
	}
	if c.get(gvrConfigMaps, DefaultNamespace, "layer-apps") != nil {
		t.Error("the inventory of the removed layer apps is still there")
	}

	check(t, "all removed", a.Sync(context.Background(), nil))
	if c.get(gvrServiceAccounts, "default", "robot") != nil || !c.gone(gvrNamespaces, "", "team-a") {
		t.Error("the objects of the removed layer base are still there")
	}
	if c.get(gvrConfigMaps, DefaultNamespace, "layer-base") != nil {
		t.Error("the inventory of the removed layer base is still there")
	}
	if c.gone(gvrNamespaces, "", "default") {
		t.Error("namespace default was pruned")
	}
}

// TestSyncFailures checks that a layer that cannot be applied is Failed, naming the document
// and why, and that the next layer waits for it.
func TestSyncFailures(t *testing.T) {
	c := startCluster(t)
	tests := []struct {
		name, manifests, message string
	}{
		{"invalid YAML", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\nkind: [oops\n", "document 2: invalid YAML"},
		{"not an object", "apiVersion: v1\nkind: ConfigMap\n", "document 1: not a Kubernetes object: metadata.name is missing"},
		{"spec is a number", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: 5\n", "document 1 (Deployment default/web): apply: "},
		{"unknown kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\napiVersion: example.org/v1\nkind: Gadget\nmetadata: {name: g}\n", `document 2 (Gadget g): unknown kind: no matches for kind "Gadget" in version "example.org/v1"`},
		{"invalid field", "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\nspec: {ports: [{port: 99999}]}\n", "document 1 (Service default/svc): apply: "},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.applier(fmt.Sprintf("inventory-%d", i))
			first := Layer{Name: "first", Digest: "1", Manifests: fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first-%d}\n", i)}
			bad := Layer{Name: "bad", Digest: "1", Manifests: tt.manifests}
			next := Layer{Name: "next", Digest: "1", Manifests: fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: next-%d}\n", i)}
			got := a.Sync(context.Background(), []Layer{first, bad, next})
			if got[1].Phase != PhaseFailed || !strings.Contains(got[1].Message, tt.message) {
				t.Errorf("bad layer: %s %q, want Failed %q", got[1].Phase, got[1].Message, tt.message)
			}
			if got[0].Phase != PhaseReady {
				t.Errorf("first layer: %s %q", got[0].Phase, got[0].Message)
			}
			if got[2].Phase != PhasePending || got[2].Message != `waiting for layer "bad"` || got[2].Applies != 0 {
				t.Errorf("next layer: %+v, want Pending waiting for layer \"bad\"", got[2])
			}
			if c.get(gvrConfigMaps, "default", fmt.Sprintf("next-%d", i)) != nil {
				t.Error("the layer after the failed one was applied")
			}
		})
	}
}

const webDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        resources: {requests: {cpu: 0.1, memory: 64Mi}, limits: {cpu: 1}}
`

// TestSyncWaitsForAvailability checks that a layer whose Deployment is not available is
// Applying and holds the next layer Pending until it is (the API server runs without
// controllers: the test writes the Deployment's status).
func TestSyncWaitsForAvailability(t *testing.T) {
	c := startCluster(t)
	a := c.applier("")
	ctx := context.Background()
	layers := []Layer{
		{Name: "workloads", Version: "1", Digest: "w1", Manifests: webDeployment},
		{Name: "after", Version: "1", Digest: "x1", Manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n"},
	}
	check(t, "first sync", a.Sync(ctx, layers),
		want{phase: PhaseApplying, objects: 1, available: 0, applies: 1, message: "Deployment shop/web: generation 1 not observed yet"},
		want{phase: PhasePending, objects: 1, message: `waiting for layer "workloads"`})

	setStatus := func(available int64) {
		t.Helper()
		d := c.get(gvrDeployments, "shop", "web")
		d.Object["status"] = map[string]any{"observedGeneration": d.GetGeneration(), "replicas": int64(2),
			"updatedReplicas": int64(2), "readyReplicas": available, "availableReplicas": available}
		if _, err := c.dyn.Resource(gvrDeployments).Namespace("shop").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(0)
	check(t, "observed, none available", a.Sync(ctx, layers),
		want{phase: PhaseApplying, objects: 1, available: 0, applies: 1, message: "Deployment shop/web: 0 of 2 replicas available"},
		want{phase: PhasePending, objects: 1, message: `waiting for layer "workloads"`})
	if c.get(gvrConfigMaps, "default", "after") != nil {
		t.Error("the layer after an unavailable one was applied")
	}

	setStatus(2)
	check(t, "available", a.Sync(ctx, layers),
		want{phase: PhaseReady, objects: 1, available: 1, applies: 1},
		want{phase: PhaseReady, objects: 1, available: 1, applies: 1})
}

const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
status:
  acceptedNames: {kind: "", plural: ""}
  conditions: []
  storedVersions: []
`

// TestSyncCRD applies a CRD and a custom resource of it in one layer, and another custom
// resource in the next layer, then removes both layers.
func TestSyncCRD(t *testing.T) {
	c := startCluster(t)
	a := c.applier("")
	ctx := context.Background()
	// The custom resource comes first in the manifests: it is applied after its CRD anyway.
	layers := []Layer{
		{Name: "crd", Digest: "c1", Manifests: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: small}\nspec: {size: 1}\n---\n" + widgetCRD},
		{Name: "uses", Digest: "u1", Manifests: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: big, namespace: garage}\nspec: {size: 10, color: red}\n"},
	}
	check(t, "first sync", a.Sync(ctx, layers),
		want{phase: PhaseReady, objects: 2, available: 2, applies: 2},
		want{phase: PhaseReady, objects: 1, available: 1, applies: 1})
	if w := c.get(gvrWidgets, "default", "small"); w == nil {
		t.Error("widget default/small was not created")
	}
	if w := c.get(gvrWidgets, "garage", "big"); w == nil {
		t.Error("widget garage/big was not created")
	}
	check(t, "again", a.Sync(ctx, layers),
		want{phase: PhaseReady, objects: 2, available: 2, applies: 2},
		want{phase: PhaseReady, objects: 1, available: 1, applies: 1})
	ann := c.get(gvrConfigMaps, DefaultNamespace, "layer-crd").GetAnnotations()
	if ann[annGroupKinds] != "CustomResourceDefinition.apiextensions.k8s.io,Widget.example.com" || ann[annNamespaces] != "default" {
		t.Errorf("inventory annotations: %v", ann)
	}

	check(t, "removed", a.Sync(ctx, nil))
	if !c.gone(gvrCRDs, "", "widgets.example.com") {
		t.Error("the CRD of the removed layer is still there")
	}
	for _, l := range []string{"layer-crd", "layer-uses"} {
		if c.get(gvrConfigMaps, DefaultNamespace, l) != nil {
			t.Errorf("inventory %s is still there", l)
		}
	}
}
