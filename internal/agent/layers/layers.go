// Package layers makes a Kubernetes cluster match the ordered layers of a cluster profile. It
// is the part of strata's in-cluster agent that applies what the server rendered: each layer
// is a name, a version, a digest and multi-document YAML.
//
// An Applier applies every object with server-side apply and keeps, per layer, an inventory in
// the ApplySet form of KEP-3659: a parent ConfigMap "layer-<name>" in Options.Namespace that
// records the group-kinds and namespaces of the layer's members, and a part-of label on every
// member. With it, Sync prunes what a layer no longer contains and whole layers that are gone.
//
// Layers are applied in order: a layer is touched only once every layer before it is applied
// and available (see available for what available means per kind). A layer whose digest is
// the one its inventory records is only checked for drift: each object is read and applied
// again only when it is missing or a field its manifest sets differs in the cluster.
package layers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Layer is one layer to apply.
type Layer struct {
	// Name identifies the layer; it names its inventory ConfigMap ("layer-<Name>"), so it must
	// be a valid label value and DNS subdomain.
	Name string
	// Version is the layer's version, recorded in its inventory and reported back.
	Version string
	// Digest changes whenever the content changes. An empty digest applies every object of
	// the layer on every Sync.
	Digest string
	// Manifests is the layer's objects as multi-document YAML; empty documents are ignored.
	Manifests string
}

// Phase is the state of a layer after a Sync.
type Phase string

// The phases of a layer.
const (
	// PhasePending: not touched, waiting for an earlier layer to be Ready.
	PhasePending Phase = "Pending"
	// PhaseApplying: applied, but some of its objects are not available yet.
	PhaseApplying Phase = "Applying"
	// PhaseReady: applied and every object available.
	PhaseReady Phase = "Ready"
	// PhaseFailed: the layer could not be applied; Message says why.
	PhaseFailed Phase = "Failed"
)

// Status is what Sync made of one layer.
type Status struct {
	Name, Version, Digest string
	Phase                 Phase
	// Message says why, for Pending, Applying and Failed: the layer waited for, or the object
	// (document, kind, namespace/name) and what is wrong with it.
	Message string
	// Objects is the number of objects in the layer (0 when its manifests do not parse).
	// Pending layers report it too.
	Objects int
	// Available is how many of them are available.
	Available int
	// Applies is the number of server-side apply requests this Applier sent for the layer's
	// objects since it was created (writes of its inventory ConfigMap are not counted). It does
	// not change on a Sync that found nothing to apply.
	Applies int64
}

// Options configure an Applier.
type Options struct {
	// FieldManager is the server-side apply field manager; default "strata".
	FieldManager string
	// Namespace holds the inventory (ApplySet parent) ConfigMaps; default "strata-system". It
	// is created when missing. Every inventory there is this Applier's: layers it holds that
	// Sync is not given are pruned.
	Namespace string
	// Logger receives the Applier's logs; nil discards them.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultFieldManager = "strata"
	DefaultNamespace    = "strata-system"
)

// Applier applies layers to one cluster. Its methods are safe for concurrent use; Syncs run
// one at a time.
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	opts   Options
	log    *slog.Logger

	mu       sync.Mutex
	applies  map[string]int64 // per layer name
	nsExists map[string]bool  // namespaces seen during the current Sync
}

// New returns an Applier for the cluster cfg points to. It does not contact the cluster.
func New(cfg *rest.Config, opts Options) (*Applier, error) {
	if cfg == nil {
		return nil, errors.New("layers: nil REST config")
	}
	if opts.FieldManager == "" {
		opts.FieldManager = DefaultFieldManager
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 && cfg.Burst == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("layers: dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("layers: discovery client: %w", err)
	}
	return &Applier{
		dyn:     dyn,
		mapper:  restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		opts:    opts,
		log:     opts.Logger,
		applies: map[string]int64{},
	}, nil
}

// Sync applies layers in order and returns one Status per layer, in order. Layer N+1 is not
// touched (Pending, naming the layer it waits for) until layer N is applied and available; a
// layer that fails (invalid YAML, an object the API refuses, an unknown kind) is Failed with
// the reason and holds the following ones. Then the layers whose inventory is in
// Options.Namespace but that are not in layers are pruned entirely: their objects are deleted,
// then their inventory (failures there are logged and retried on the next Sync). Objects that
// one of layers declares are never pruned, so that an object can move between layers.
//
// Sync is safe to call repeatedly: a layer whose digest did not change is only checked for
// drift.
func (a *Applier) Sync(ctx context.Context, layers []Layer) []Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nsExists = map[string]bool{}
	plans, claims := parseAll(layers)
	statuses := make([]Status, len(layers))
	blocker := ""
	for i, l := range layers {
		if blocker != "" {
			statuses[i] = a.status(l, PhasePending, fmt.Sprintf("waiting for layer %q", blocker))
			statuses[i].Objects = len(plans[i].objs)
			continue
		}
		statuses[i] = a.syncLayer(ctx, l, plans[i], claims)
		if statuses[i].Phase != PhaseReady {
			blocker = l.Name
		}
	}
	a.pruneRemoved(ctx, layers, claims)
	return statuses
}

// syncLayer applies one layer whose predecessors are Ready.
func (a *Applier) syncLayer(ctx context.Context, l Layer, p plan, claims claimSet) Status {
	if p.err != nil {
		return a.failed(l, len(p.objs), p.err)
	}
	live, err := a.reconcile(ctx, l, p.objs, claims)
	if err != nil {
		return a.failed(l, len(p.objs), err)
	}
	st := a.status(l, PhaseReady, "")
	st.Objects = len(p.objs)
	var waiting []string
	for _, obj := range live {
		if ok, why := available(obj); ok {
			st.Available++
		} else {
			waiting = append(waiting, why)
		}
	}
	if len(waiting) > 0 {
		st.Phase, st.Message = PhaseApplying, waiting[0]
		if len(waiting) > 1 {
			st.Message += fmt.Sprintf(" (and %d more not available)", len(waiting)-1)
		}
	}
	a.log.Debug("layer synced", "layer", l.Name, "phase", st.Phase, "available", st.Available, "objects", st.Objects)
	return st
}

// status returns a layer's Status without object counts.
func (a *Applier) status(l Layer, phase Phase, msg string) Status {
	return Status{Name: l.Name, Version: l.Version, Digest: l.Digest, Phase: phase, Message: msg,
		Applies: a.applies[l.Name]}
}

// failed returns the Status of a layer that failed with err, and logs it.
func (a *Applier) failed(l Layer, objects int, err error) Status {
	a.log.Warn("layer failed", "layer", l.Name, "version", l.Version, "err", err)
	st := a.status(l, PhaseFailed, err.Error())
	st.Objects = objects
	return st
}
