package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/flow"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/store"
)

// creationRank orders kinds as they are created; deletion walks it backwards (VMs, NICs and OS
// disks, the load balancer, subnets, NAT gateways, public IPs, NSGs, the VNet, then the image,
// the copied VHD, the container and the storage account) when the plan cannot give the real
// dependencies.
var creationRank = map[string]int{
	string(plan.KindResourceGroup):        0,
	string(plan.KindStorageAccount):       1,
	string(plan.KindBlobContainer):        2,
	string(plan.KindBlobCopy):             3,
	string(plan.KindImage):                4,
	string(plan.KindVirtualNetwork):       5,
	string(plan.KindNetworkSecurityGroup): 6,
	string(plan.KindPublicIPAddress):      7,
	string(plan.KindNatGateway):           8,
	string(plan.KindSubnet):               9,
	string(plan.KindLoadBalancer):         10,
	string(plan.KindPrivateDNSZone):       10, // its links and record are deleted before it
	string(plan.KindPrivateDNSLink):       11,
	string(plan.KindPrivateDNSRecord):     11,
	string(plan.KindNetworkInterface):     11,
	string(plan.KindOSDisk):               11, // deleted after its VM, which takes it along
	string(plan.KindVirtualMachine):       12,
	string(plan.KindManagedCluster):       13,
	string(plan.KindAgentPool):            14,
}

// delete removes every Azure resource strata created for the cluster, then its secrets, its
// finalizer and the object itself. Adopted resources are never touched.
func (p *pass) delete(ctx context.Context) (time.Duration, error) {
	cl := p.cur
	if !slices.Contains(cl.Metadata.Finalizers, Finalizer) {
		// Not ours, or released by a pass that stopped before removing the object.
		return p.removeObject(ctx, 0)
	}
	if p.status.Phase != PhaseDeleting {
		p.status.Phase = PhaseDeleting
		p.event(ctx, store.EventNormal, "Deleting", "deleting the Azure resources strata created")
	}
	if err := p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		setCondition(s, ConditionReady, "False", "Deleting", "the cluster is being deleted")
	}); err != nil {
		return 0, err
	}

	var managed []v1alpha1.InventoryItem
	for _, it := range p.status.Inventory {
		if it.Managed {
			managed = append(managed, it)
		}
	}
	if len(managed) > 0 {
		acct, err := p.loadAccount(ctx)
		if err != nil {
			return 0, p.deleteFailed(ctx, err, "ReferenceNotFound")
		}
		sub := cl.Spec.Azure.SubscriptionID
		clients, err := p.c.clientsFor(ctx, acct, sub)
		if err != nil {
			return 0, p.deleteFailed(ctx, fmt.Errorf("cloud account %q: %w", acct.Key(), err), "InvalidCredentials")
		}
		g := p.planForDeletion(ctx, clients, acct)
		if err := p.deleteItems(ctx, managed, g, clients.Applier()); err != nil {
			return 0, p.deleteFailed(ctx, err, "DeleteFailed")
		}
	}

	// Every managed resource is gone; adopted ones are simply forgotten.
	if err := p.c.cfg.Store.DeleteSecret(ctx, plan.BootstrapSecretName(cl.Metadata.UID)); err != nil {
		return 0, fmt.Errorf("delete the bootstrap secrets: %w", err)
	}
	if p.c.cfg.Agent != nil {
		if err := p.c.cfg.Agent.Forget(ctx, cl); err != nil {
			return 0, fmt.Errorf("forget the agent's registration tokens: %w", err)
		}
	}
	p.event(ctx, store.EventNormal, "Deleted", fmt.Sprintf("deleted %d Azure resource(s); adopted resources were left as they were", len(managed)))
	p.finalizer = -1
	if err := p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		s.Inventory = nil
		if s.Progress != nil {
			s.Progress.Step = "deleted"
		}
	}); err != nil {
		return 0, err
	}
	return p.removeObject(ctx, len(managed))
}

// removeObject deletes the cluster object once no finalizer is left on it.
func (p *pass) removeObject(ctx context.Context, deleted int) (time.Duration, error) {
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		obj := p.cur
		p.mu.Unlock()
		if len(obj.Metadata.Finalizers) > 0 {
			return p.c.cfg.Resync, nil // another finalizer's owner finishes the deletion
		}
		err := p.c.cfg.Store.Delete(ctx, v1alpha1.KindCluster, obj.Key(), obj.Metadata.ResourceVersion)
		switch {
		case err == nil, errors.Is(err, store.ErrNotFound):
			p.log.Info("cluster deleted", "resources", deleted)
			return p.c.cfg.Resync, nil
		case !errors.Is(err, store.ErrConflict) || attempt >= 10:
			return 0, fmt.Errorf("delete cluster %q: %w", obj.Key(), err)
		}
		fresh, err := p.c.cfg.Store.Get(ctx, v1alpha1.KindCluster, obj.Key())
		if err != nil {
			return 0, fmt.Errorf("reread cluster %q: %w", obj.Key(), err)
		}
		cl, ok := fresh.(*v1alpha1.Cluster)
		if !ok {
			return 0, fmt.Errorf("reread cluster %q: unexpected %T", obj.Key(), fresh)
		}
		p.mu.Lock()
		p.cur = cl
		p.mu.Unlock()
	}
}

// deleteFailed records a failed deletion on the Ready condition.
func (p *pass) deleteFailed(ctx context.Context, err error, fallback string) error {
	reason, msg := failure(err, fallback)
	werr := p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		setCondition(s, ConditionReady, "False", reason, msg)
	})
	p.event(ctx, store.EventWarning, "DeleteFailed", reason+": "+msg)
	return errors.Join(err, werr)
}

// planForDeletion rebuilds the cluster's graph for the dependency order of deletion, or
// returns nil when it cannot (the kind order is used then).
func (p *pass) planForDeletion(ctx context.Context, clients Clients, acct *v1alpha1.CloudAccount) *plan.Graph {
	profiles, err := p.loadProfiles(ctx)
	if err != nil {
		p.log.Info("no plan for the order of deletion: using the kind order", "error", err)
		return nil
	}
	var secrets plan.BootstrapSecrets
	if p.cur.Spec.Azure.Type == v1alpha1.ClusterTypeIaaS {
		b, err := p.c.cfg.Store.GetSecret(ctx, plan.BootstrapSecretName(p.cur.Metadata.UID))
		if err != nil {
			return nil
		}
		if secrets, err = plan.UnmarshalBootstrapSecrets(b); err != nil {
			return nil
		}
	}
	zones, err := clients.ZonesBySize(ctx, p.cur.Spec.Azure.Location)
	if err != nil {
		return nil
	}
	in := plan.Input{
		Cluster:  p.cur,
		Profiles: profiles,
		Env:      plan.Environment{Zones: zones, ImageBaseURL: p.c.cfg.ImageBaseURL(acct), BlobEndpoint: clients.BlobEndpoint},
		Secrets:  secrets,
	}
	// The gateway's network is part of the plan of a private cluster (its DNS zone's link).
	if gw, err := p.gateway(ctx, acct); err == nil && gw != nil {
		in.GatewayNetwork = gw.Spec.Network
	}
	g, err := plan.Build(in)
	if err != nil {
		p.log.Info("no plan for the order of deletion: using the kind order", "error", err)
		return nil
	}
	return g
}

// deleteItems deletes the managed resources of items, dependants first: in the graph's order
// when g holds every item, else in the kind order. Each deleted item leaves the inventory.
func (p *pass) deleteItems(ctx context.Context, items []v1alpha1.InventoryItem, g *plan.Graph, applier azure.Applier) error {
	var managed []v1alpha1.InventoryItem
	for _, it := range items {
		if it.Managed {
			managed = append(managed, it)
		} else if err := p.update(ctx, func(s *v1alpha1.ClusterStatus) { removeItem(s, it.Key) }); err != nil {
			return err
		}
	}
	if len(managed) == 0 {
		return nil
	}
	deps := creationDeps(managed, g)
	goesWithParent := withParent(managed)
	tasks := make([]flow.Task, 0, len(managed))
	for _, it := range managed {
		n := &plan.Node{Key: it.Key, Kind: plan.Kind(it.Kind), ID: it.ID, Managed: true}
		if g != nil {
			if gn := g.Node(it.Key); gn != nil && gn.ID == it.ID && gn.Managed {
				n = gn
			}
		}
		tasks = append(tasks, flow.Task{
			ID:        it.Key,
			DependsOn: deps[it.Key],
			Timeout:   p.c.cfg.TaskTimeout,
			Run: func(ctx context.Context) error {
				_ = p.update(ctx, func(s *v1alpha1.ClusterStatus) {
					if s.Progress != nil {
						s.Progress.Step = "deleting " + it.Key
					}
				})
				if goesWithParent[it.Key] {
					// Deleted with its parent, which is deleted in this same walk (after it).
				} else if err := applier.Delete(ctx, n, p); err != nil {
					return fmt.Errorf("delete %s %s: %w", it.Kind, it.Key, err)
				}
				return p.update(ctx, func(s *v1alpha1.ClusterStatus) {
					removeItem(s, it.Key)
					if s.Progress != nil && s.Progress.Done > 0 {
						s.Progress.Done--
					}
				})
			},
		})
	}
	fg, err := flow.NewReversed(tasks...)
	if err != nil {
		return fmt.Errorf("order of deletion: %w", err)
	}
	return fg.Run(ctx, flow.Options{Parallelism: p.c.cfg.Parallelism}).Err()
}

// withParent returns the keys of the items that Azure deletes with a parent resource that is
// among items too: an AKS cluster's agent pools go with the managed cluster (deleting them one
// by one would be slower, and AKS refuses to delete the last system pool).
func withParent(items []v1alpha1.InventoryItem) map[string]bool {
	clusters := map[string]bool{}
	for _, it := range items {
		if it.Kind == string(plan.KindManagedCluster) {
			clusters[strings.ToLower(it.ID)] = true
		}
	}
	out := map[string]bool{}
	for _, it := range items {
		if it.Kind != string(plan.KindAgentPool) {
			continue
		}
		if parent, _, ok := strings.Cut(strings.ToLower(it.ID), "/agentpools/"); ok && clusters[parent] {
			out[it.Key] = true
		}
	}
	return out
}

// creationDeps gives each item the items it was created after: through g's dependencies
// (followed transitively across nodes that are not items) when g holds every item, else by
// kind rank.
func creationDeps(items []v1alpha1.InventoryItem, g *plan.Graph) map[string][]string {
	in := map[string]bool{}
	for _, it := range items {
		in[it.Key] = true
	}
	deps := map[string][]string{}
	useGraph := g != nil
	for _, it := range items {
		if useGraph && g.Node(it.Key) == nil {
			useGraph = false
		}
	}
	if useGraph {
		for _, it := range items {
			seen := map[string]bool{}
			var walk func(key string)
			walk = func(key string) {
				n := g.Node(key)
				if n == nil {
					return
				}
				for _, d := range n.DependsOn {
					if seen[d] {
						continue
					}
					seen[d] = true
					if in[d] {
						deps[it.Key] = append(deps[it.Key], d)
					}
					walk(d)
				}
			}
			walk(it.Key)
		}
		return deps
	}
	for _, it := range items {
		for _, other := range items {
			if creationRank[other.Kind] < creationRank[it.Kind] {
				deps[it.Key] = append(deps[it.Key], other.Key)
			}
		}
	}
	return deps
}
