package agentserver

import (
	"fmt"
	"slices"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
)

// Condition types the hub writes on a cluster.
const (
	// ConditionAgentConnected is True while the cluster's agent holds its stream.
	ConditionAgentConnected = "AgentConnected"
	// ConditionLayersReady is True when every layer the agent was sent is applied and its
	// workloads are available.
	ConditionLayersReady = "LayersReady"
)

// Layer phases, as agents report them.
const (
	PhasePending  = "Pending"
	PhaseApplying = "Applying"
	PhaseReady    = "Ready"
	PhaseFailed   = "Failed"
)

// statusEvent is an event the hub records on the cluster after a status change.
type statusEvent struct {
	typ, reason, message string
}

// markConnected records the agent's connection in s.
func markConnected(s *v1alpha1.ClusterStatus, hello *agentv1.Hello, server string, now time.Time) []statusEvent {
	a := agentOf(s)
	was := a.Connected
	a.Connected, a.Version, a.KubernetesVersion, a.Server = true, hello.GetAgentVersion(), hello.GetKubernetesVersion(), server
	t := now.UTC().Truncate(time.Second)
	a.LastHeartbeat = &t
	v1alpha1.SetCondition(&s.Status, ConditionAgentConnected, "True", "Connected",
		fmt.Sprintf("agent %s connected to server %s (Kubernetes %s)", a.Version, server, a.KubernetesVersion), now)
	if was {
		return nil
	}
	return []statusEvent{{"Normal", "AgentConnected", fmt.Sprintf("agent %s connected to server %s", a.Version, server)}}
}

// markDisconnected records that the agent's stream ended, with why.
func markDisconnected(s *v1alpha1.ClusterStatus, lastHeartbeat time.Time, why string, now time.Time) []statusEvent {
	a := agentOf(s)
	a.Connected = false
	t := lastHeartbeat.UTC().Truncate(time.Second)
	a.LastHeartbeat = &t
	v1alpha1.SetCondition(&s.Status, ConditionAgentConnected, "False", "Disconnected",
		fmt.Sprintf("the agent's stream ended (%s); last heartbeat %s; the cluster keeps what it last applied", why, t.Format(time.RFC3339)), now)
	return []statusEvent{{"Warning", "AgentDisconnected", "the agent's stream ended: " + why}}
}

// markHeartbeat moves the stored last heartbeat forward.
func markHeartbeat(s *v1alpha1.ClusterStatus, at time.Time) {
	t := at.UTC().Truncate(time.Second)
	agentOf(s).LastHeartbeat = &t
}

func agentOf(s *v1alpha1.ClusterStatus) *v1alpha1.AgentStatus {
	if s.Agent == nil {
		s.Agent = &v1alpha1.AgentStatus{}
	}
	return s.Agent
}

// applyReport writes an agent's status report into s: status.layers, LayersReady, and
// events for the layers that became Ready or Failed.
func applyReport(s *v1alpha1.ClusterStatus, r *agentv1.StatusReport, profiles map[string]string, now time.Time) []statusEvent {
	prev := map[string]v1alpha1.LayerStatus{}
	for _, l := range s.Layers {
		prev[l.Name] = l
	}
	layers := make([]v1alpha1.LayerStatus, 0, len(r.GetLayers()))
	var events []statusEvent
	for _, l := range r.GetLayers() {
		ls := v1alpha1.LayerStatus{Profile: profiles[l.GetName()], Name: l.GetName(), Version: l.GetVersion(), Phase: l.GetPhase(),
			Message: l.GetMessage(), Objects: int(l.GetObjects()), Available: int(l.GetAvailable())}
		layers = append(layers, ls)
		events = append(events, layerEvents(prev[ls.Name], ls)...)
	}
	s.Layers = layers
	agentOf(s).Revision = r.GetRevision()
	status, reason, msg := layersCondition(layers)
	v1alpha1.SetCondition(&s.Status, ConditionLayersReady, status, reason, msg, now)
	return events
}

// layerEvents are the events of a layer's change of phase.
func layerEvents(before, after v1alpha1.LayerStatus) []statusEvent {
	if before.Phase == after.Phase && before.Version == after.Version {
		return nil
	}
	switch after.Phase {
	case PhaseReady:
		return []statusEvent{{"Normal", "LayerApplied", fmt.Sprintf("layer %s %s applied: %d objects, all available", after.Name, after.Version, after.Objects)}}
	case PhaseFailed:
		return []statusEvent{{"Warning", "LayerFailed", fmt.Sprintf("layer %s %s failed: %s", after.Name, after.Version, after.Message)}}
	}
	return nil
}

// layersCondition is LayersReady's status, reason and message for the layers.
func layersCondition(layers []v1alpha1.LayerStatus) (status, reason, msg string) {
	if i := slices.IndexFunc(layers, func(l v1alpha1.LayerStatus) bool { return l.Phase == PhaseFailed }); i >= 0 {
		l := layers[i]
		return "False", "LayerFailed", fmt.Sprintf("layer %s %s failed: %s", l.Name, l.Version, l.Message)
	}
	if i := slices.IndexFunc(layers, func(l v1alpha1.LayerStatus) bool { return l.Phase != PhaseReady }); i >= 0 {
		l := layers[i]
		msg := fmt.Sprintf("layer %s %s is %s", l.Name, l.Version, l.Phase)
		if l.Message != "" {
			msg += ": " + l.Message
		}
		return "False", "LayersApplying", msg
	}
	if len(layers) == 0 {
		return "True", "NoLayers", "the cluster's profiles have no network, storage or addon layer"
	}
	return "True", "LayersReady", fmt.Sprintf("%d layers applied and available", len(layers))
}
