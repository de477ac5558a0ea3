package layers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

// Waits of a Sync.
const (
	// crdTimeout bounds the wait for a CRD to be Established and then served.
	crdTimeout = 30 * time.Second
	// pollInterval is the period of those waits.
	pollInterval = 100 * time.Millisecond
)

// gvrNamespaces is the resource of Namespaces.
var gvrNamespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// reconcile makes the cluster hold a layer's objects and returns them as they are live, in
// apply order: only the drifted ones are applied if the inventory records the layer's digest,
// else all of them, and then what the layer no longer has is pruned.
func (a *Applier) reconcile(ctx context.Context, l Layer, objs []*object, claims claimSet) ([]*unstructured.Unstructured, error) {
	inv, err := a.readInventory(ctx, l.Name)
	if err != nil {
		return nil, err
	}
	if err := a.prepare(objs, inv.id); err != nil {
		return nil, err
	}
	if inv.uid != "" && inv.digest != "" && inv.digest == l.Digest {
		return a.applyObjects(ctx, l.Name, objs, true)
	}
	return a.applyLayer(ctx, l, objs, inv, claims)
}

// applyLayer applies every object of a layer whose content changed, then prunes: the
// inventory first lists the old and new group-kinds and namespaces, and only the new ones
// once the old members are gone.
func (a *Applier) applyLayer(ctx context.Context, l Layer, objs []*object, old inventory, claims claimSet) ([]*unstructured.Unstructured, error) {
	next := inventory{layer: l.Name, id: old.id, digest: l.Digest, version: l.Version,
		groupKinds: groupKinds(objs), namespaces: additionalNamespaces(objs, a.opts.Namespace)}
	wide := old
	wide.groupKinds = union(old.groupKinds, next.groupKinds)
	wide.namespaces = union(old.namespaces, next.namespaces)
	uid, err := a.writeInventory(ctx, wide)
	if err != nil {
		return nil, err
	}
	live, err := a.applyObjects(ctx, l.Name, objs, false)
	if err != nil {
		return nil, err
	}
	own := make(map[objKey]bool, len(objs))
	for _, o := range objs {
		own[o.key()] = true
	}
	keep := func(k objKey) bool { return own[k] || claims.claimed(k) }
	if err := a.prune(ctx, wide, uid, keep); err != nil {
		return nil, err
	}
	if _, err := a.writeInventory(ctx, next); err != nil {
		return nil, err
	}
	return live, nil
}

// prepare maps each object to its resource, defaults or clears its namespace by scope, drops
// the fields the server owns and labels it as a member of the ApplySet id.
func (a *Applier) prepare(objs []*object, id string) error {
	for _, o := range objs {
		namespaced, err := a.scope(o, objs)
		if err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
		switch {
		case namespaced && o.u.GetNamespace() == "":
			o.u.SetNamespace("default")
		case !namespaced:
			o.u.SetNamespace("")
		}
		for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp"} {
			unstructured.RemoveNestedField(o.u.Object, "metadata", f)
		}
		unstructured.RemoveNestedField(o.u.Object, "status")
		labels := o.u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[labelPartOf] = id
		o.u.SetLabels(labels)
	}
	return nil
}

// scope resolves an object's REST mapping and tells whether it is namespaced. A kind the
// API does not serve yet is accepted if a CRD of objs defines it, with that CRD's scope.
func (a *Applier) scope(o *object, objs []*object) (bool, error) {
	m, err := a.restMapping(o.gvk.GroupKind(), o.gvk.Version)
	if err == nil {
		o.mapping = m
		return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
	}
	if !meta.IsNoMatchError(err) {
		return false, fmt.Errorf("map kind to resource: %w", err)
	}
	for _, c := range objs {
		if c.gvk.GroupKind() != gkCRD {
			continue
		}
		group, _, _ := unstructured.NestedString(c.u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(c.u.Object, "spec", "names", "kind")
		if group == o.gvk.Group && kind == o.gvk.Kind {
			s, _, _ := unstructured.NestedString(c.u.Object, "spec", "scope")
			return s == "Namespaced", nil
		}
	}
	return false, fmt.Errorf("unknown kind: %w", err)
}

// restMapping maps a group-kind (and version, if not empty) to its resource, resetting the
// discovery cache once if the kind is unknown.
func (a *Applier) restMapping(gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	var versions []string
	if version != "" {
		versions = []string{version}
	}
	m, err := a.mapper.RESTMapping(gk, versions...)
	if meta.IsNoMatchError(err) {
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gk, versions...)
	}
	return m, err
}

// applyObjects applies objs in order (with onlyDrifted, only those missing or different in
// the cluster) and returns them as they are live.
func (a *Applier) applyObjects(ctx context.Context, layer string, objs []*object, onlyDrifted bool) ([]*unstructured.Unstructured, error) {
	live := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if o.mapping == nil {
			if err := a.awaitMapping(ctx, o); err != nil {
				return nil, fmt.Errorf("%s: %w", o, err)
			}
		}
		cur, err := a.syncObject(ctx, layer, o, onlyDrifted)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
		live = append(live, cur)
	}
	return live, nil
}

// syncObject applies one object (with onlyDrifted, only if it is missing or differs) and
// returns it live; a CRD is returned once Established.
func (a *Applier) syncObject(ctx context.Context, layer string, o *object, onlyDrifted bool) (*unstructured.Unstructured, error) {
	if onlyDrifted {
		cur, err := a.resource(o).Get(ctx, o.u.GetName(), metav1.GetOptions{})
		switch {
		case err == nil && subset(desired(o.u), cur.Object):
			return cur, nil
		case err == nil:
			a.log.Info("object drifted", "layer", layer, "object", o.ref())
		case apierrors.IsNotFound(err):
			a.log.Info("object missing", "layer", layer, "object", o.ref())
		default:
			return nil, fmt.Errorf("read: %w", err)
		}
	}
	cur, err := a.apply(ctx, layer, o)
	if err != nil {
		return nil, err
	}
	if o.gvk.GroupKind() == gkCRD {
		return a.awaitEstablished(ctx, o)
	}
	return cur, nil
}

// apply server-side applies one object, creating its namespace if missing.
func (a *Applier) apply(ctx context.Context, layer string, o *object) (*unstructured.Unstructured, error) {
	if ns := o.u.GetNamespace(); ns != "" {
		if err := a.ensureNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	body, err := json.Marshal(o.u.Object)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	a.applies[layer]++
	cur, err := a.resource(o).Patch(ctx, o.u.GetName(), types.ApplyPatchType, body, a.patchOptions())
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	a.log.Debug("applied", "layer", layer, "object", o.ref())
	return cur, nil
}

// resource is the client of an object's resource (and namespace).
func (a *Applier) resource(o *object) dynamic.ResourceInterface {
	return a.dyn.Resource(o.mapping.Resource).Namespace(o.u.GetNamespace())
}

// awaitMapping resolves the mapping of a custom resource whose CRD was just applied: the API
// may serve it a moment after the CRD is Established.
func (a *Applier) awaitMapping(ctx context.Context, o *object) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, pollInterval, crdTimeout, true, func(context.Context) (bool, error) {
		m, err := a.restMapping(o.gvk.GroupKind(), o.gvk.Version)
		if meta.IsNoMatchError(err) {
			last = err
			return false, nil
		}
		o.mapping = m
		return err == nil, err
	})
	if err != nil && last != nil && wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("kind still unknown %s after its CRD was Established: %w", crdTimeout, last)
	}
	if err != nil {
		return fmt.Errorf("map kind to resource: %w", err)
	}
	return nil
}

// awaitEstablished waits until the CRD o is Established, then forgets the cached discovery so
// that its kind can be mapped.
func (a *Applier) awaitEstablished(ctx context.Context, o *object) (*unstructured.Unstructured, error) {
	var cur *unstructured.Unstructured
	why := "not read"
	err := wait.PollUntilContextTimeout(ctx, pollInterval, crdTimeout, true, func(ctx context.Context) (bool, error) {
		var err error
		cur, err = a.resource(o).Get(ctx, o.u.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("read: %w", err)
		}
		var ok bool
		ok, why = available(cur)
		return ok, nil
	})
	if err != nil && wait.Interrupted(err) && ctx.Err() == nil {
		return nil, fmt.Errorf("not Established after %s: %s", crdTimeout, why)
	}
	if err != nil {
		return nil, err
	}
	a.mapper.Reset()
	return cur, nil
}

// ensureNamespace creates the namespace ns if it does not exist (as a plain object, not a
// member of any layer).
func (a *Applier) ensureNamespace(ctx context.Context, ns string) error {
	if a.nsExists[ns] {
		return nil
	}
	_, err := a.dyn.Resource(gvrNamespaces).Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("v1")
		obj.SetKind("Namespace")
		obj.SetName(ns)
		_, err = a.dyn.Resource(gvrNamespaces).Create(ctx, obj, metav1.CreateOptions{FieldManager: a.opts.FieldManager})
		if err == nil {
			a.log.Info("created namespace", "namespace", ns)
		}
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("ensure namespace %s: %w", ns, err)
	}
	a.nsExists[ns] = true
	return nil
}
