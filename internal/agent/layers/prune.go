package layers

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// prune deletes the members of inv's ApplySet that keep does not keep: the objects labelled
// part-of its id, of its group-kinds, cluster-wide or in the parent's and its additional
// namespaces. Custom resources go first and Namespaces last.
func (a *Applier) prune(ctx context.Context, inv inventory, parent types.UID, keep func(objKey) bool) error {
	for _, name := range pruneOrder(inv.groupKinds) {
		gk := schema.ParseGroupKind(name)
		m, err := a.restMapping(gk, "")
		if meta.IsNoMatchError(err) {
			a.log.Debug("prune: kind not served, nothing to delete", "layer", inv.layer, "kind", name)
			continue
		}
		if err != nil {
			return fmt.Errorf("prune %s: map kind to resource: %w", name, err)
		}
		namespaces := []string{""}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			namespaces = union([]string{a.opts.Namespace}, inv.namespaces)
		}
		for _, ns := range namespaces {
			if err := a.pruneIn(ctx, m, ns, inv, parent, keep); err != nil {
				return err
			}
		}
		if gk == gkCRD {
			a.mapper.Reset()
		}
	}
	return nil
}

// pruneOrder sorts group-kinds for deletion: CRDs and Namespaces last.
func pruneOrder(gks []string) []string {
	rank := func(s string) int {
		switch schema.ParseGroupKind(s) {
		case gkCRD:
			return 1
		case gkNamespace:
			return 2
		}
		return 0
	}
	out := slices.Clone(gks)
	slices.SortStableFunc(out, func(x, y string) int { return rank(x) - rank(y) })
	return out
}

// pruneIn deletes the members of one resource in one namespace ("" for all or cluster scope).
func (a *Applier) pruneIn(ctx context.Context, m *meta.RESTMapping, ns string, inv inventory, parent types.UID, keep func(objKey) bool) error {
	list, err := a.dyn.Resource(m.Resource).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: labelPartOf + "=" + inv.id})
	if apierrors.IsNotFound(err) {
		// The resource is no longer served (its CRD was deleted, and its objects with it).
		return nil
	}
	if err != nil {
		return fmt.Errorf("prune: list %s in %q: %w", m.Resource.Resource, ns, err)
	}
	for i := range list.Items {
		item := &list.Items[i]
		k := objKey{Group: m.GroupVersionKind.Group, Kind: m.GroupVersionKind.Kind, Namespace: item.GetNamespace(), Name: item.GetName()}
		if keep(k) || item.GetDeletionTimestamp() != nil {
			continue
		}
		ref := objRef(k.Kind, k.Namespace, k.Name)
		for _, o := range item.GetOwnerReferences() {
			if o.UID != parent {
				return fmt.Errorf("prune %s: it has an owner (%s %s) that is not the layer's inventory", ref, o.Kind, o.Name)
			}
		}
		if err := a.deleteObject(ctx, m.Resource, item); err != nil {
			return fmt.Errorf("prune %s: %w", ref, err)
		}
		a.log.Info("pruned", "layer", inv.layer, "object", ref)
	}
	return nil
}

// deleteObject deletes obj in the background, unless it was replaced by another object of
// the same name meanwhile.
func (a *Applier) deleteObject(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	bg, uid := metav1.DeletePropagationBackground, obj.GetUID()
	err := a.dyn.Resource(gvr).Namespace(obj.GetNamespace()).Delete(ctx, obj.GetName(),
		metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// pruneRemoved prunes entirely the layers whose inventory is in Options.Namespace but that are
// not in layers: their members (except those claims holds), then their inventory. Errors are
// logged; the next Sync tries again.
func (a *Applier) pruneRemoved(ctx context.Context, layers []Layer, claims claimSet) {
	list, err := a.configMaps().List(ctx, metav1.ListOptions{LabelSelector: labelLayer})
	if err != nil {
		a.log.Error("list inventories", "namespace", a.opts.Namespace, "err", err)
		return
	}
	current := make(map[string]bool, len(layers))
	for _, l := range layers {
		current[l.Name] = true
	}
	for i := range list.Items {
		cm := &list.Items[i]
		name := cm.GetLabels()[labelLayer]
		if current[name] || cm.GetName() != inventoryName(name) {
			continue
		}
		if err := a.removeLayer(ctx, cm, name, claims); err != nil {
			a.log.Error("remove layer", "layer", name, "err", err)
			continue
		}
		a.log.Info("layer removed", "layer", name)
	}
}

// removeLayer deletes the members of a removed layer, then its inventory ConfigMap cm.
func (a *Applier) removeLayer(ctx context.Context, cm *unstructured.Unstructured, layer string, claims claimSet) error {
	inv, err := a.inventoryFrom(cm, layer)
	if err != nil {
		return err
	}
	if err := a.prune(ctx, inv, cm.GetUID(), claims.claimed); err != nil {
		return err
	}
	if err := a.deleteObject(ctx, gvrConfigMaps, cm); err != nil {
		return fmt.Errorf("inventory ConfigMap %s/%s: %w", cm.GetNamespace(), cm.GetName(), err)
	}
	return nil
}
