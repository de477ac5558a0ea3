package agent

import (
	"context"
	"time"

	"github.com/strata-dev/strata/internal/agent/layers"
	"github.com/strata-dev/strata/internal/proxyenv"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// applyLoop makes the cluster match the desired state whenever a new one comes and every
// resync interval, and keeps the report to send. Without a desired state (no server heard
// from since the agent started) it changes nothing: the cluster keeps what it has.
func (a *Agent) applyLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		case <-timer.C:
		}
		a.mu.Lock()
		ds := a.desired
		a.mu.Unlock()
		if ds == nil {
			continue
		}
		report := a.applyOnce(ctx, ds)
		timer.Reset(nextSync(report.GetLayers(), resyncOf(ds)))
	}
}

// settleInterval is how soon the agent looks again while a layer waits for its workloads or
// for an earlier layer: the next layer should follow within seconds, not a resync later.
const settleInterval = 3 * time.Second

// nextSync is when to sync again after a pass that left the layers as reported: soon while
// one is Applying or Pending behind one that is (its workloads becoming available), at the
// resync interval when every layer is Ready or one Failed (a failure is retried at resync).
func nextSync(reported []*agentv1.LayerStatus, resync time.Duration) time.Duration {
	for _, l := range reported {
		switch layers.Phase(l.GetPhase()) {
		case layers.PhaseFailed:
			return resync
		case layers.PhaseApplying, layers.PhasePending:
			return min(settleInterval, resync)
		}
	}
	return resync
}

// resyncOf is the desired state's resync interval (default 1 min).
func resyncOf(ds *agentv1.DesiredState) time.Duration {
	if s := ds.GetResyncSeconds(); s > 0 {
		return time.Duration(s) * time.Second
	}
	return time.Minute
}

// applyOnce sets the webhook's proxy, syncs the layers and keeps the report, which it returns.
func (a *Agent) applyOnce(ctx context.Context, ds *agentv1.DesiredState) *agentv1.StatusReport {
	report := &agentv1.StatusReport{Revision: ds.GetRevision(), ProxyInjectionReady: true}
	if err := a.setProxy(ds.GetProxy()); err != nil {
		report.ProxyInjectionReady, report.Message = false, err.Error()
	}
	if err := a.webhook.Sync(ctx); err != nil {
		report.ProxyInjectionReady, report.Message = false, err.Error()
	}
	in := make([]layers.Layer, 0, len(ds.GetLayers()))
	for _, l := range ds.GetLayers() {
		in = append(in, layers.Layer{Name: l.GetName(), Version: l.GetVersion(), Digest: l.GetDigest(), Manifests: l.GetManifests()})
	}
	for _, s := range a.applier.Sync(ctx, in) {
		report.Layers = append(report.Layers, &agentv1.LayerStatus{Name: s.Name, Version: s.Version, Digest: s.Digest,
			Phase: string(s.Phase), Message: s.Message, Objects: int32(s.Objects), Available: int32(s.Available), Applies: s.Applies})
	}
	a.mu.Lock()
	a.report = report
	a.mu.Unlock()
	select {
	case a.reported <- struct{}{}:
	default:
	}
	return report
}

// setProxy gives the webhook the gateway's proxy (none when p is nil). The server's
// NO_PROXY list is complete already.
func (a *Agent) setProxy(p *agentv1.Proxy) error {
	var s proxyenv.Settings
	if p != nil {
		s = proxyenv.Settings{HTTPProxy: p.GetHttpProxy(), HTTPSProxy: p.GetHttpsProxy(), NoProxy: p.GetNoProxy(), CACertificate: p.GetCaCertificate()}
	}
	return a.inject.SetProxy(s, proxyenv.ClusterNetwork{})
}
