package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// cloudInitMarker is the file of a control plane's directory saying that the cluster's
// Manifests were applied: they are applied once in the cluster's life, as cloud-init runs its
// commands once, and not again after a restart of the emulator.
const cloudInitMarker = "cloud-init-applied"

// fieldManager is the field manager of what the manager applies of a cluster's cloud-init, as
// strata's cloud-init applies it (kubectl apply --server-side --field-manager=strata).
const fieldManager = "strata"

// Bounds of the retries of a failed apply.
const (
	cloudInitRetryMin = time.Second
	cloudInitRetryMax = 30 * time.Second
)

// runCloudInit plays what the init machine's cloud-init does once kubeadm init is done: it
// applies the spec's Manifests to the API server of cfg (ready), once in the cluster's life,
// retrying a failure until ctx ends. A spec without manifests waits for one that has some (the
// init VM may appear after the control plane started on a kept CA). What fails is logged
// without the manifests, which may hold secrets.
func (cp *controlPlane) runCloudInit(ctx context.Context, cfg *rest.Config) {
	marker := filepath.Join(cp.dir, cloudInitMarker)
	wait := cloudInitRetryMin
	for {
		if _, err := os.Stat(marker); err == nil {
			return
		}
		manifests := cp.current().Manifests
		if len(manifests) > 0 {
			n, err := applyManifests(ctx, cfg, manifests)
			if err == nil {
				if err := os.WriteFile(marker, nil, 0o600); err != nil {
					cp.log.Warn("cloud-init: recording that the manifests were applied", "err", err)
				}
				cp.log.Info("cloud-init: applied the manifests after kubeadm init", "objects", n)
				return
			}
			if ctx.Err() != nil {
				return
			}
			cp.log.Warn("cloud-init: applying the manifests after kubeadm init; trying again", "err", err, "in", wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-cp.specChanged:
		case <-time.After(wait):
			wait = min(2*wait, cloudInitRetryMax)
		}
	}
}

// applyManifests server-side applies every object of the manifests, in order, as kubectl
// apply --server-side --force-conflicts does (a namespaced object without a namespace goes to
// "default"), and returns how many it applied. Its errors name the objects, never their
// content.
func applyManifests(ctx context.Context, cfg *rest.Config, manifests [][]byte) (int, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return 0, fmt.Errorf("discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return 0, fmt.Errorf("dynamic client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	n := 0
	for i, m := range manifests {
		objs, err := decodeManifest(m)
		if err != nil {
			return n, fmt.Errorf("manifest %d: %w", i+1, err)
		}
		for _, u := range objs {
			if err := applyObject(ctx, dyn, mapper, u); err != nil {
				return n, fmt.Errorf("manifest %d: %s %s: %w", i+1, u.GetKind(), u.GetName(), err)
			}
			n++
		}
	}
	return n, nil
}

// applyObject server-side applies one object (field manager fieldManager, forcing conflicts).
func applyObject(ctx context.Context, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		mapper.Reset() // a kind a CRD applied just before serves
		mapping, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := u.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		u.SetNamespace(ns)
		ri = dyn.Resource(mapping.Resource).Namespace(ns)
	}
	body, err := u.MarshalJSON()
	if err != nil {
		return errors.New("the object does not encode")
	}
	force := true
	_, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: fieldManager, Force: &force})
	return err
}

// decodeManifest splits multi-document YAML into objects, skipping empty documents. Its errors
// say which document does not parse, not what it holds.
func decodeManifest(manifest []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var out []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d does not parse", doc)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d is not valid YAML", doc)
		}
		if js = bytes.TrimSpace(js); string(js) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil || u.GetName() == "" {
			return nil, fmt.Errorf("document %d is not a Kubernetes object with a name", doc)
		}
		out = append(out, u)
	}
}
