package gatewayserver

import (
	"context"
	"reflect"
	"slices"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// Phases and conditions of a gateway, and the condition of the clusters bound to one.
const (
	PhasePending      = "Pending"
	PhaseRunning      = "Running"
	PhaseDisconnected = "Disconnected"

	ConditionConnected = "Connected"
	// ConditionGatewayConnected is on every cluster whose account names a gateway: True
	// while the gateway is Running.
	ConditionGatewayConnected = "GatewayConnected"
)

// observation is what the server knows of a gateway at one moment.
type observation struct {
	replicas []string
	version  string
	now      time.Time
	// stale is how old a heartbeat written by another server may be and still count.
	stale time.Duration
	// persist is how often lastHeartbeat is written while connected.
	persist time.Duration
}

// gatewayStatus is a gateway's status from its previous one and what this server sees:
// Running while a replica is connected here (or another server wrote a heartbeat less than
// stale ago), Pending if no replica ever was, else Disconnected.
func gatewayStatus(prev v1alpha1.GatewayStatus, gen int64, o observation) v1alpha1.GatewayStatus {
	next := prev
	next.ObservedGeneration = gen
	next.Conditions = slices.Clone(prev.Conditions)
	switch {
	case len(o.replicas) > 0:
		next.Phase, next.Replicas, next.Version = PhaseRunning, o.replicas, o.version
		if prev.LastHeartbeat == nil || o.now.Sub(*prev.LastHeartbeat) >= o.persist || prev.Phase != PhaseRunning {
			t := o.now.UTC().Truncate(time.Second)
			next.LastHeartbeat = &t
		}
		v1alpha1.SetCondition(&next.Status, ConditionConnected, "True", "Connected", "a replica holds its stream to the server", o.now)
	case prev.LastHeartbeat != nil && prev.Phase == PhaseRunning && o.now.Sub(*prev.LastHeartbeat) < o.stale:
		// another server's replica, or one that just left: wait for the heartbeat to age
	case prev.LastHeartbeat == nil:
		next.Phase, next.Replicas = PhasePending, nil
		v1alpha1.SetCondition(&next.Status, ConditionConnected, "False", "NeverRegistered",
			"no replica has connected yet: mint a token with `strata gateway token NAME` and start `strata gateway`", o.now)
	default:
		next.Phase, next.Replicas = PhaseDisconnected, nil
		v1alpha1.SetCondition(&next.Status, ConditionConnected, "False", "Disconnected",
			"no replica holds a stream: the last heartbeat was at "+prev.LastHeartbeat.Format(time.RFC3339), o.now)
	}
	return next
}

// clusterCondition is the GatewayConnected condition of a cluster bound to a gateway in the
// given phase (empty: the gateway does not exist).
func clusterCondition(gateway, phase string) (statusValue, reason, message string) {
	switch phase {
	case PhaseRunning:
		return "True", "GatewayRunning", "private cloud gateway " + gateway + " is running"
	case PhaseDisconnected:
		return "False", "GatewayDisconnected", "private cloud gateway " + gateway + " is disconnected: the cluster keeps its last state until it returns"
	}
	return "False", "GatewayNotRegistered", "private cloud gateway " + gateway + " has never connected: nothing is provisioned until it does"
}

// Run keeps the gateways' statuses, and their clusters' GatewayConnected conditions, until
// ctx ends.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		if err := s.sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("gateway statuses", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.kick:
		}
	}
}

// sync writes every gateway's status, then its clusters' conditions.
func (s *Server) sync(ctx context.Context) error {
	phases := map[string]string{}
	err := s.each(ctx, v1alpha1.KindPrivateCloudGateway, func(obj v1alpha1.Object) error {
		gw := obj.(*v1alpha1.PrivateCloudGateway)
		replicas, version := s.connected(gw.Metadata.Name)
		next := gatewayStatus(gw.Status, gw.Metadata.Generation, observation{replicas: replicas, version: version,
			now: time.Now(), stale: 3 * s.cfg.Heartbeat, persist: 4 * s.cfg.Heartbeat})
		phases[gw.Metadata.Name] = next.Phase
		if sameGatewayStatus(gw.Status, next) {
			return nil
		}
		gw.Status = next
		return s.cfg.Store.Update(ctx, gw)
	})
	if err != nil {
		return err
	}
	return s.syncClusters(ctx, phases)
}

func (s *Server) syncClusters(ctx context.Context, phases map[string]string) error {
	gatewayOf := map[string]string{}
	err := s.each(ctx, v1alpha1.KindCloudAccount, func(obj v1alpha1.Object) error {
		gatewayOf[obj.GetMetadata().Name] = obj.(*v1alpha1.CloudAccount).Spec.Gateway
		return nil
	})
	if err != nil {
		return err
	}
	return s.each(ctx, v1alpha1.KindCluster, func(obj v1alpha1.Object) error {
		cl := obj.(*v1alpha1.Cluster)
		gw := gatewayOf[cl.Spec.CloudAccount]
		if gw == "" {
			return nil
		}
		st, reason, msg := clusterCondition(gw, phases[gw])
		if c := v1alpha1.FindCondition(&cl.Status.Status, ConditionGatewayConnected); c != nil && c.Status == st && c.Reason == reason {
			return nil
		}
		v1alpha1.SetCondition(&cl.Status.Status, ConditionGatewayConnected, st, reason, msg, time.Now())
		if cl.Status.Phase == "" {
			cl.Status.Phase = PhasePending
		}
		err := s.cfg.Store.Update(ctx, cl)
		if err != nil && !errorsIsConflict(err) {
			return err
		}
		return nil // a conflict is written at the next sync
	})
}

// sameGatewayStatus reports whether two statuses are equal but for conditions' times.
func sameGatewayStatus(a, b v1alpha1.GatewayStatus) bool {
	if a.Phase != b.Phase || a.Version != b.Version || a.ObservedGeneration != b.ObservedGeneration ||
		!slices.Equal(a.Replicas, b.Replicas) || !reflect.DeepEqual(a.LastHeartbeat, b.LastHeartbeat) {
		return false
	}
	ca, cb := v1alpha1.FindCondition(&a.Status, ConditionConnected), v1alpha1.FindCondition(&b.Status, ConditionConnected)
	return (ca == nil) == (cb == nil) && (ca == nil || (ca.Status == cb.Status && ca.Reason == cb.Reason && ca.Message == cb.Message))
}

// each calls f with every stored object of kind.
func (s *Server) each(ctx context.Context, kind string, f func(v1alpha1.Object) error) error {
	var opts store.ListOptions
	for {
		page, err := s.cfg.Store.List(ctx, kind, opts)
		if err != nil {
			return err
		}
		for _, obj := range page.Items {
			if err := f(obj); err != nil {
				return err
			}
		}
		if page.Continue == "" {
			return nil
		}
		opts.Continue = page.Continue
	}
}
