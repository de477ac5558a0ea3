package scalebench

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/controller"
	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/provisionbench"
	"github.com/strata-dev/strata/internal/store"
)

// provision creates the clusters in waves of Options.Wave, each wave once the previous one is
// all Running, and counts the Azure resources of the fleet.
func (r *run) provision(ctx context.Context, res *Result) error {
	if r.o.ProvisionProfile != nil {
		if err := pprof.StartCPUProfile(r.o.ProvisionProfile); err != nil {
			return fmt.Errorf("start the CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	for lo := 0; lo < r.o.Clusters; lo += r.o.Wave {
		hi := min(lo+r.o.Wave, r.o.Clusters)
		t0 := time.Now()
		if err := r.createClusters(ctx, lo, hi); err != nil {
			return err
		}
		err := provisionbench.Wait(ctx, fmt.Sprintf("clusters %d to %d", lo, hi-1), func() bool { return r.obs.runningCount() >= hi })
		if err != nil {
			return err
		}
		res.Waves = append(res.Waves, time.Since(t0))
		r.progress("clusters %d-%d Running in %s (%d in all)", lo, hi-1, time.Since(t0).Round(time.Millisecond), hi)
	}
	res.Provision = time.Since(start)
	res.Resources = fleetResources(r.em.Engine().Snapshot().Resources)
	return nil
}

// createClusters applies clusters lo to hi-1 at once.
func (r *run) createClusters(ctx context.Context, lo, hi int) error {
	errs := make([]error, hi-lo)
	var wg sync.WaitGroup
	for i := lo; i < hi; i++ {
		wg.Go(func() {
			if _, _, err := r.api.Apply(ctx, r.fleet.Cluster(i), client.WriteOptions{}); err != nil {
				errs[i-lo] = fmt.Errorf("apply cluster %s: %w", r.fleet.Names[i], err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fleetResources counts the resources in the clusters' resource groups, the groups excepted.
func fleetResources(resources []arm.StoredResource) int {
	n := 0
	for _, res := range resources {
		id := arm.ParseID(res.ID)
		if strings.HasPrefix(id.ResourceGroup, "bench-") && !strings.EqualFold(res.Type, arm.TypeResourceGroup) {
			n++
		}
	}
	return n
}

// change adds a tag to one cluster of the fleet while it resyncs, and measures how long the
// tag takes to reach one of the cluster's VMs in Azure.
func (r *run) change(ctx context.Context, res *Result) error {
	name := r.fleet.Names[r.o.Clusters/2]
	obj, err := r.api.Get(ctx, v1alpha1.KindCluster, name)
	if err != nil {
		return fmt.Errorf("read cluster %s: %w", name, err)
	}
	cl, ok := obj.(*v1alpha1.Cluster)
	if !ok {
		return fmt.Errorf("read cluster %s: unexpected %T", name, obj)
	}
	vm := ""
	for _, it := range cl.Status.Inventory {
		if it.Kind == string(plan.KindVirtualMachine) && it.ID != "" {
			vm = it.ID
		}
	}
	if vm == "" {
		return fmt.Errorf("cluster %s has no VM in its inventory", name)
	}
	value := fmt.Sprint(time.Now().UnixNano())
	cl.Spec.Tags = append(cl.Spec.Tags, "scale-probe:"+value)
	start := time.Now()
	if _, _, err := r.api.Apply(ctx, cl, client.WriteOptions{}); err != nil {
		return fmt.Errorf("apply cluster %s: %w", name, err)
	}
	err = provisionbench.Wait(ctx, "the tag on "+vm, func() bool { return tagOf(r.em.Engine().Resource(vm), "scale-probe") == value })
	if err != nil {
		return err
	}
	res.Change = time.Since(start)
	res.ChangedCluster = name
	return nil
}

// tagOf is a resource's tag, or "".
func tagOf(res *arm.Resource, key string) string {
	if res == nil {
		return ""
	}
	tags, _ := res.Body["tags"].(map[string]any)
	v, _ := tags[key].(string)
	return v
}

// observer is the controller's store, watched: it counts the clusters written Running and
// the passes over clusters (one lease release each).
type observer struct {
	store.Store
	mu      sync.Mutex
	running map[string]bool
	passes  int
	updates int // of clusters
}

func newObserver(st store.Store) *observer {
	return &observer{Store: st, running: map[string]bool{}}
}

// Update notes a cluster written Running.
func (o *observer) Update(ctx context.Context, obj v1alpha1.Object) error {
	err := o.Store.Update(ctx, obj)
	if cl, ok := obj.(*v1alpha1.Cluster); ok && err == nil {
		o.mu.Lock()
		o.updates++
		if cl.Status.Phase == controller.PhaseRunning {
			o.running[cl.Key()] = true
		}
		o.mu.Unlock()
	}
	return err
}

// ReleaseLease counts the end of a pass over a cluster.
func (o *observer) ReleaseLease(ctx context.Context, name, holder string) error {
	err := o.Store.ReleaseLease(ctx, name, holder)
	if strings.HasPrefix(name, "cluster/") {
		o.mu.Lock()
		o.passes++
		o.mu.Unlock()
	}
	return err
}

func (o *observer) runningCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.running)
}

// counts returns the passes and the updates of clusters so far.
func (o *observer) counts() (passes, updates int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.passes, o.updates
}
