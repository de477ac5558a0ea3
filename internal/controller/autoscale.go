package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/store"
)

// autoscale runs the autoscaler's step of a pass (see scale.go), once the graph ran and the
// rolling replacement had its turn: it goes on with the drains under way (a pool's count
// drops once its node is drained; the next pass removes the machine, and its Node after it:
// removeSurplus),
// then decides on the Nodes and pods the pass read. It does nothing while a rolling
// replacement or a repair is under way, or when the server does not read the cluster's API.
func (p *pass) autoscale(ctx context.Context, g *plan.Graph, o *outcome) error {
	p.mu.Lock()
	s := p.status.Clone()
	p.mu.Unlock()
	if len(s.Scale) == 0 || s.Upgrade != nil || len(s.Repairing) > 0 {
		return nil
	}
	kc, err := p.rolloutClient(ctx, g, o)
	if errors.Is(err, errRolloutWaits) || (err == nil && kc == nil) {
		return nil
	}
	if err != nil {
		return err
	}
	nodes := nodesByName(o.kubeNodes)
	scale, err := p.endDrains(ctx, kc, s.Scale)
	if err != nil {
		return err
	}
	pods, err := kc.core.Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("autoscale: list the pods: %w", err)
	}
	d := decideScale(scaleInput{pools: p.pools, slots: slotsOf(p.pools, &s), scale: scale, nodes: nodes, pods: pods.Items, now: time.Now()})
	for _, msg := range d.events {
		p.event(ctx, store.EventNormal, "Autoscaled", msg)
	}
	if slices.EqualFunc(d.scale, s.Scale, samePoolScale) {
		return nil
	}
	return p.update(ctx, func(st *v1alpha1.ClusterStatus) { st.Scale = d.scale })
}

// endDrains goes on with the drains of the nodes the autoscaler removes: a drained node's
// pool loses its last machine (Count drops by one). It returns the entries as they are then.
func (p *pass) endDrains(ctx context.Context, kc *kubeClient, scale []v1alpha1.PoolScale) ([]v1alpha1.PoolScale, error) {
	out := slices.Clone(scale)
	for i := range out {
		e := &out[i]
		if e.Draining == "" {
			continue
		}
		timeout := p.drainTimeout(e.Pool)
		res, err := drainNode(ctx, kc.core, e.Draining, timeout, time.Now())
		if err != nil {
			return nil, fmt.Errorf("autoscale: drain %s: %w", e.Draining, err)
		}
		if !res.drained {
			continue
		}
		if res.timedOut {
			p.event(ctx, store.EventWarning, "DrainTimedOut", fmt.Sprintf("node %s still had %d pod(s) to evict after %s (the pool's drainTimeout): removing its machine", e.Draining, res.left, timeout))
		}
		p.event(ctx, store.EventNormal, "Autoscaled", fmt.Sprintf("pool %s: node %s drained: %d → %d machines", e.Pool, e.Draining, e.Count, e.Count-1))
		e.Reason = "scaled down: node " + e.Draining + " was unneeded"
		e.Count, e.Draining, e.UnneededSince = e.Count-1, "", nil
	}
	return out, nil
}

// samePoolScale reports whether two entries say the same.
func samePoolScale(a, b v1alpha1.PoolScale) bool {
	sameTime := (a.UnneededSince == nil) == (b.UnneededSince == nil) &&
		(a.UnneededSince == nil || a.UnneededSince.Equal(*b.UnneededSince))
	a.UnneededSince, b.UnneededSince = nil, nil
	return sameTime && a == b
}

// scaleRequeue is how soon an IaaS cluster whose pools autoscale is due again, 0 when none
// does: soon while a node drains, when its unneeded time is up (at most every
// KubernetesRequeue while one is unneeded), else every KubernetesRequeue to see pending pods.
func scaleRequeue(scale []v1alpha1.PoolScale, pools []v1alpha1.MachinePool, booting, every time.Duration, now time.Time) time.Duration {
	if len(scale) == 0 {
		return 0
	}
	next := every
	for _, e := range scale {
		switch {
		case e.Draining != "":
			return booting
		case e.UnneededSince != nil:
			if mp := poolNamed(pools, e.Pool); mp != nil {
				next = min(next, max(booting, e.UnneededSince.Add(mp.ScaleDown()).Sub(now)))
			}
		}
	}
	return next
}
