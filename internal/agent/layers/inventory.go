package layers

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Labels and annotations of the inventory (KEP-3659 ApplySets, and strata's own).
const (
	// labelApplySetID marks an ApplySet parent; its value is the ApplySet's id.
	labelApplySetID = "applyset.kubernetes.io/id"
	// labelPartOf marks an ApplySet member; its value is the ApplySet's id.
	labelPartOf = "applyset.kubernetes.io/part-of"
	// labelLayer marks an inventory ConfigMap with its layer's name.
	labelLayer = "strata.dev/layer"

	annTooling    = "applyset.kubernetes.io/tooling"
	annGroupKinds = "applyset.kubernetes.io/contains-group-kinds"
	annNamespaces = "applyset.kubernetes.io/additional-namespaces"
	annDigest     = "strata.dev/layer-digest"
	annVersion    = "strata.dev/layer-version"

	// tooling is the value of annTooling on strata's ApplySets.
	tooling = "strata/v1"
)

// gvrConfigMaps is the resource of inventory objects.
var gvrConfigMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// inventoryName is the name of a layer's inventory ConfigMap.
func inventoryName(layer string) string { return "layer-" + layer }

// applySetID returns the KEP-3659 id of the ApplySet whose parent is the object
// namespace/name of the group-kind: "applyset-" + base64url(sha256("<name>.<namespace>.<kind>.<group>"))
// + "-v1", unpadded, as kubectl computes it. Inventories are ConfigMaps (kind "ConfigMap", group "").
func applySetID(name, namespace, kind, group string) string {
	sum := sha256.Sum256([]byte(name + "." + namespace + "." + kind + "." + group))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

// inventory is what a layer's ApplySet parent records.
type inventory struct {
	layer           string
	id              string
	uid             types.UID // empty when the parent does not exist
	digest, version string    // of the last layer content applied and pruned completely
	groupKinds      []string  // sorted GroupKind strings ("Deployment.apps", "ConfigMap")
	namespaces      []string  // sorted namespaces of members other than the parent's
}

// configMaps is the client of inventory ConfigMaps.
func (a *Applier) configMaps() dynamic.ResourceInterface {
	return a.dyn.Resource(gvrConfigMaps).Namespace(a.opts.Namespace)
}

// readInventory returns a layer's inventory; an empty one (no uid) if it does not exist.
func (a *Applier) readInventory(ctx context.Context, layer string) (inventory, error) {
	name := inventoryName(layer)
	cm, err := a.configMaps().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return inventory{layer: layer, id: applySetID(name, a.opts.Namespace, "ConfigMap", "")}, nil
	}
	if err != nil {
		return inventory{}, fmt.Errorf("read inventory ConfigMap %s/%s: %w", a.opts.Namespace, name, err)
	}
	return a.inventoryFrom(cm, layer)
}

// inventoryFrom reads the inventory of a layer from its parent ConfigMap, refusing one that
// another tool manages or whose id is not the one its name gives.
func (a *Applier) inventoryFrom(cm *unstructured.Unstructured, layer string) (inventory, error) {
	inv := inventory{layer: layer, id: applySetID(cm.GetName(), cm.GetNamespace(), "ConfigMap", ""), uid: cm.GetUID()}
	ann := cm.GetAnnotations()
	where := "inventory ConfigMap " + cm.GetNamespace() + "/" + cm.GetName()
	if t := ann[annTooling]; t != "" && t != tooling {
		return inventory{}, fmt.Errorf("%s: the ApplySet belongs to %q, not %s", where, t, tooling)
	}
	if id := cm.GetLabels()[labelApplySetID]; id != "" && id != inv.id {
		return inventory{}, fmt.Errorf("%s: label %s=%s is not the id of the ConfigMap (%s)", where, labelApplySetID, id, inv.id)
	}
	inv.digest, inv.version = ann[annDigest], ann[annVersion]
	inv.groupKinds, inv.namespaces = splitList(ann[annGroupKinds]), splitList(ann[annNamespaces])
	return inv, nil
}

// writeInventory server-side applies a layer's parent ConfigMap with inv's annotations,
// creating Options.Namespace if needed, and returns the ConfigMap's uid.
func (a *Applier) writeInventory(ctx context.Context, inv inventory) (types.UID, error) {
	if err := a.ensureNamespace(ctx, a.opts.Namespace); err != nil {
		return "", err
	}
	ann := map[string]any{
		annTooling:    tooling,
		annGroupKinds: strings.Join(inv.groupKinds, ","),
		annNamespaces: strings.Join(inv.namespaces, ","),
	}
	if inv.digest != "" {
		ann[annDigest], ann[annVersion] = inv.digest, inv.version
	}
	name := inventoryName(inv.layer)
	body, err := json.Marshal(map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":        name,
			"namespace":   a.opts.Namespace,
			"labels":      map[string]any{labelApplySetID: inv.id, labelLayer: inv.layer},
			"annotations": ann,
		},
	})
	if err != nil {
		return "", fmt.Errorf("encode inventory ConfigMap: %w", err)
	}
	cm, err := a.configMaps().Patch(ctx, name, types.ApplyPatchType, body, a.patchOptions())
	if err != nil {
		return "", fmt.Errorf("write inventory ConfigMap %s/%s: %w", a.opts.Namespace, name, err)
	}
	return cm.GetUID(), nil
}

// patchOptions are the options of every server-side apply.
func (a *Applier) patchOptions() metav1.PatchOptions {
	force := true
	return metav1.PatchOptions{FieldManager: a.opts.FieldManager, Force: &force}
}

// groupKinds returns the sorted group-kinds of objs, as the contains-group-kinds annotation
// lists them.
func groupKinds(objs []*object) []string {
	var gks []string
	for _, o := range objs {
		gks = append(gks, o.gvk.GroupKind().String())
	}
	return union(gks)
}

// additionalNamespaces returns the sorted namespaces of objs other than parentNS.
func additionalNamespaces(objs []*object, parentNS string) []string {
	var nss []string
	for _, o := range objs {
		if ns := o.u.GetNamespace(); ns != "" && ns != parentNS {
			nss = append(nss, ns)
		}
	}
	return union(nss)
}

// union returns the sorted, distinct strings of the lists.
func union(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// splitList splits a comma-separated annotation value; nil for "".
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
