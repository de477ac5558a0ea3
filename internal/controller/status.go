package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/store"
)

// pass is one reconciliation of one cluster. It keeps the status being built and writes it to
// the store; the controller holds the cluster's lease, so the status is its alone and a
// conflicting write (a user changing the spec meanwhile) is retried over the newer object.
type pass struct {
	c   *Controller
	log *slog.Logger

	mu        sync.Mutex
	cur       *v1alpha1.Cluster // the object as last read or written
	status    v1alpha1.ClusterStatus
	finalizer int    // +1: ours must be present, -1: must be absent, 0: keep as is
	changes   uint64 // how many changes were made to status and finalizer
	written   uint64 // how many of them the store holds

	// clients are the cluster's account's clients, secrets its bootstrap secrets (IaaS), as
	// provision loaded them.
	clients Clients
	secrets plan.BootstrapSecrets
	// retained are the inventory keys of an IaaS cluster's old machines and images that a
	// rolling replacement keeps out of the graph and removes itself (prepareMachines).
	retained map[string]bool
	// pools are an IaaS cluster's pools in effect: the spec's, with the counts its
	// autoscaler chose (prepareMachines).
	pools []v1alpha1.MachinePool
	// surplus are the machines of slots beyond their pool's count, drained and deleted
	// after the graph ran (prepareMachines, removeSurplus).
	surplus []retirement

	// writeMu lets one status write out at a time: changes made meanwhile by the pass's other
	// tasks wait and go out together in the next write (a group commit), rather than one
	// synchronous write each.
	writeMu sync.Mutex
}

func newPass(c *Controller, cl *v1alpha1.Cluster) *pass {
	return &pass{c: c, log: c.log.With("cluster", cl.Key()), cur: cl, status: cl.Status.Clone()}
}

// update changes the status under the lock and returns once the store holds the change.
func (p *pass) update(ctx context.Context, f func(s *v1alpha1.ClusterStatus)) error {
	return p.flush(ctx, p.change(f))
}

// persist writes the status (and finalizer change) when they differ from the stored object.
func (p *pass) persist(ctx context.Context) error {
	return p.flush(ctx, p.change(nil))
}

// change applies f (when not nil) to the status under the lock and returns the change's
// number, for flush.
func (p *pass) change(f func(s *v1alpha1.ClusterStatus)) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f != nil {
		f(&p.status)
	}
	p.changes++
	return p.changes
}

// flush returns once the store holds the first want changes: at once when a write made while
// this one waited for its turn covered them, otherwise after writing every change made so far.
func (p *pass) flush(ctx context.Context, want uint64) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		if p.written >= want {
			p.mu.Unlock()
			return nil
		}
		obj, seq, fin := p.cur, p.changes, p.finalizer
		status := p.status.Clone()
		p.mu.Unlock()

		finalizers := obj.Metadata.Finalizers
		switch has := slices.Contains(finalizers, Finalizer); {
		case fin > 0 && !has:
			finalizers = append(slices.Clone(finalizers), Finalizer)
		case fin < 0 && has:
			finalizers = slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool { return f == Finalizer })
		}
		keepHubFields(&status, obj.Status)
		if reflect.DeepEqual(obj.Status, status) && slices.Equal(finalizers, obj.Metadata.Finalizers) {
			p.mu.Lock()
			p.written = seq
			p.mu.Unlock()
			return nil
		}
		next := *obj
		next.Metadata.Finalizers = finalizers
		next.Status = status
		keepHubFields(&next.Status, obj.Status)
		err := p.c.cfg.Store.Update(ctx, &next)
		if err == nil {
			p.mu.Lock()
			p.cur, p.written = &next, seq
			p.mu.Unlock()
			return nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 20 {
			return fmt.Errorf("write the status of cluster %q: %w", obj.Key(), err)
		}
		fresh, err := p.c.cfg.Store.Get(ctx, v1alpha1.KindCluster, obj.Key())
		if err != nil {
			return fmt.Errorf("reread cluster %q: %w", obj.Key(), err)
		}
		cl, ok := fresh.(*v1alpha1.Cluster)
		if !ok {
			return fmt.Errorf("reread cluster %q: unexpected %T", obj.Key(), fresh)
		}
		p.mu.Lock()
		p.cur = cl
		p.mu.Unlock()
	}
}

// keepHubFields keeps in s what the agent hub owns of the stored status: the agent's state
// (but whether strata installed it, which the controller owns), the layers, and conditions
// AgentConnected and LayersReady. The controller's copy of them may be older than the store's.
func keepHubFields(s *v1alpha1.ClusterStatus, stored v1alpha1.ClusterStatus) {
	installed := s.Agent != nil && s.Agent.Installed
	s.Agent, s.Layers = nil, stored.Layers
	if stored.Agent != nil || installed {
		a := v1alpha1.AgentStatus{}
		if stored.Agent != nil {
			a = *stored.Agent
		}
		a.Installed = a.Installed || installed
		s.Agent = &a
	}
	for _, typ := range []string{ConditionAgentConnected, ConditionLayersReady} {
		want, have := statusCondition(&stored.Status, typ), statusCondition(&s.Status, typ)
		switch {
		case want != nil && have != nil:
			*have = *want
		case want != nil:
			s.Conditions = append(s.Conditions, *want)
		case have != nil:
			s.Conditions = slices.DeleteFunc(s.Conditions, func(c v1alpha1.Condition) bool { return c.Type == typ })
		}
	}
}

// event records an event on the cluster; failures are only logged. Messages never carry
// secrets: they name resources and repeat Azure's error codes and messages.
func (p *pass) event(ctx context.Context, typ, reason, msg string) {
	p.mu.Lock()
	key, uid := p.cur.Key(), p.cur.Metadata.UID
	p.mu.Unlock()
	err := p.c.cfg.Store.RecordEvent(ctx, store.Event{
		Kind: v1alpha1.KindCluster, Key: key, UID: uid, Type: typ, Reason: reason, Message: msg, Time: time.Now().UTC(),
	})
	if err != nil {
		p.log.Warn("record event", "reason", reason, "error", err)
	}
}

// setCondition sets a condition, keeping its transition time when its status is unchanged.
func setCondition(s *v1alpha1.ClusterStatus, typ, status, reason, msg string) {
	setStatusCondition(&s.Status, typ, status, reason, msg)
}

// setStatusCondition is setCondition for any kind's status.
func setStatusCondition(s *v1alpha1.Status, typ, status, reason, msg string) {
	v1alpha1.SetCondition(s, typ, status, reason, msg, time.Now())
}

// statusCondition returns the condition of the type, or nil.
func statusCondition(s *v1alpha1.Status, typ string) *v1alpha1.Condition {
	return v1alpha1.FindCondition(s, typ)
}

// failure is the reason and message of a condition for an error: Azure's error code and
// message when Azure refused, AdoptedResourceNotFound or AdoptedResourceMismatch when a user's
// resource is missing or not as described, ResourceNameConflict when a resource strata would
// create exists and is someone else's, else fallback and the error's text.
func failure(err error, fallback string) (reason, msg string) {
	var conflict *azure.ConflictError
	if errors.As(err, &conflict) {
		return ReasonResourceNameConflict, conflict.Error()
	}
	var adopted *azure.AdoptedError
	if errors.As(err, &adopted) {
		if adopted.Field == "" {
			return "AdoptedResourceNotFound", err.Error()
		}
		return "AdoptedResourceMismatch", err.Error()
	}
	if code, m, ok := azure.ErrorCode(err); ok && code != "" {
		if m == "" {
			m = err.Error()
		}
		return code, m
	}
	return fallback, err.Error()
}

// item returns the inventory entry of a key, or nil.
func item(s *v1alpha1.ClusterStatus, key string) *v1alpha1.InventoryItem {
	for i := range s.Inventory {
		if s.Inventory[i].Key == key {
			return &s.Inventory[i]
		}
	}
	return nil
}

// removeItem drops the inventory entry of a key.
func removeItem(s *v1alpha1.ClusterStatus, key string) {
	s.Inventory = slices.DeleteFunc(s.Inventory, func(it v1alpha1.InventoryItem) bool { return it.Key == key })
}

// Token returns a node's saved resume token (azure.ResumeTokens).
func (p *pass) Token(key string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if it := item(&p.status, key); it != nil {
		return it.ResumeToken
	}
	return ""
}

// SaveToken persists a node's resume token in its inventory entry (azure.ResumeTokens). A
// token is written before it returns; clearing one (the operation ended) is left to the next
// status write, which every pass makes: a stale token left by a crash meanwhile resumes an
// operation that is over, which answers at once.
func (p *pass) SaveToken(ctx context.Context, key, token string) error {
	set := func(s *v1alpha1.ClusterStatus) {
		if it := item(s, key); it != nil {
			it.ResumeToken = token
		}
	}
	if token == "" {
		p.change(set)
		return nil
	}
	return p.update(ctx, set)
}

// Owner is the value of the cluster's owner tag (azure.Inventory).
func (p *pass) Owner() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return plan.OwnerTagValue(p.cur)
}

// Manages reports whether the inventory holds the resource ID as managed (azure.Inventory).
func (p *pass) Manages(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.status.Inventory, func(it v1alpha1.InventoryItem) bool {
		return it.Managed && strings.EqualFold(it.ID, id)
	})
}

// Claim records a node in the inventory (azure.Inventory) and returns once the store holds it,
// so that a crash after the write that follows leaves its ID behind for deletion. An entry of
// the key with another ID, kind or managed flag is replaced; a matching one is kept as it is.
func (p *pass) Claim(ctx context.Context, n *plan.Node) error {
	p.mu.Lock()
	same := records(item(&p.status, n.Key), n)
	p.mu.Unlock()
	if same {
		return nil
	}
	return p.update(ctx, func(s *v1alpha1.ClusterStatus) { putItem(s, n, false) })
}

// records reports whether an inventory entry (nil: none) records the node as it is planned:
// its ID, kind and managed flag.
func records(it *v1alpha1.InventoryItem, n *plan.Node) bool {
	return it != nil && it.ID == n.ID && it.Kind == string(n.Kind) && it.Managed == n.Managed
}

// putItem sets the inventory entry of a node, replacing one of the same key; ready says the
// resource exists as planned. The entry keeps the node's template (what a VM is built from).
func putItem(s *v1alpha1.ClusterStatus, n *plan.Node, ready bool) {
	entry := v1alpha1.InventoryItem{Key: n.Key, Kind: string(n.Kind), ID: n.ID, Managed: n.Managed, Ready: ready, Template: n.Template}
	if it := item(s, n.Key); it != nil {
		*it = entry
		return
	}
	s.Inventory = append(s.Inventory, entry)
}

var _ azure.Inventory = (*pass)(nil)
