package controller

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/flow"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/store"
)

// bootstrapSecretName is the store name of a cluster's sealed bootstrap secrets.
func bootstrapSecretName(uid string) string { return "cluster/" + uid + "/bootstrap" }

// provision makes the cluster's Azure resources match its spec and observes them.
func (p *pass) provision(ctx context.Context) (time.Duration, error) {
	cl := p.cur
	gen := cl.Metadata.Generation
	// The phase of this pass.
	switch st := p.status.Phase; {
	case st == PhaseRunning && gen != p.status.ObservedGeneration:
		p.status.Phase = PhaseUpdating
		p.event(ctx, store.EventNormal, "Updating", fmt.Sprintf("applying generation %d", gen))
	case st == "" || st == PhasePending:
		p.status.Phase = PhaseProvisioning
		p.event(ctx, store.EventNormal, "Provisioning", fmt.Sprintf("provisioning in resource group %s, %s", cl.Spec.Azure.ResourceGroup, cl.Spec.Azure.Location))
	}

	acct, profiles, err := p.load(ctx)
	if err != nil {
		return 0, p.fail(ctx, ConditionAccountValid, "ReferenceNotFound", err, false)
	}
	sub, location := cl.Spec.Azure.SubscriptionID, cl.Spec.Azure.Location
	clients, err := p.c.clientsFor(ctx, acct, sub)
	if err != nil {
		return 0, p.fail(ctx, ConditionAccountValid, "InvalidCredentials", fmt.Errorf("cloud account %q: %w", acct.Key(), err), true)
	}
	zones, err := clients.ZonesBySize(ctx, location)
	if err != nil {
		p.c.forgetClients(acct, sub)
		return 0, p.fail(ctx, ConditionAccountValid, "AzureRequestFailed", fmt.Errorf("cloud account %q: list the VM sizes of %s: %w", acct.Key(), location, err), true)
	}
	setCondition(&p.status, ConditionAccountValid, "True", "CredentialsAccepted", fmt.Sprintf("signed in to subscription %s", sub))

	// The finalizer is committed before the first write to Azure, so that no resource can
	// be created for a cluster that could disappear without deleting it.
	p.finalizer = 1
	if err := p.persist(ctx); err != nil {
		return 0, err
	}

	// AKS makes its own nodes join: only IaaS clusters have bootstrap secrets.
	var secrets plan.BootstrapSecrets
	if cl.Spec.Azure.Type == v1alpha1.ClusterTypeIaaS {
		if secrets, err = p.bootstrapSecrets(ctx); err != nil {
			return 0, err
		}
	}
	g, err := plan.Build(plan.Input{
		Cluster:  p.cur,
		Profiles: profiles,
		Env: plan.Environment{
			Zones:        zones,
			ImageBaseURL: p.c.cfg.ImageBaseURL(acct),
			BlobEndpoint: clients.BlobEndpoint,
		},
		Secrets: secrets,
	})
	if err != nil {
		return 0, p.fail(ctx, ConditionReady, "InvalidPlan", fmt.Errorf("plan: %w", err), true)
	}
	return p.applyGraph(ctx, g, clients.Applier(), gen)
}

// load reads the cluster's account (secret opened) and pinned profiles.
func (p *pass) load(ctx context.Context) (*v1alpha1.CloudAccount, []*v1alpha1.ClusterProfile, error) {
	acct, err := p.loadAccount(ctx)
	if err != nil {
		return nil, nil, err
	}
	profiles, err := p.loadProfiles(ctx)
	if err != nil {
		return nil, nil, err
	}
	return acct, profiles, nil
}

// loadAccount reads the cluster's account, its secret opened.
func (p *pass) loadAccount(ctx context.Context) (*v1alpha1.CloudAccount, error) {
	name := p.cur.Spec.CloudAccount
	obj, err := p.c.cfg.Store.Get(ctx, v1alpha1.KindCloudAccount, name)
	if err != nil {
		return nil, fmt.Errorf("cloud account %q: %w", name, err)
	}
	acct, ok := obj.(*v1alpha1.CloudAccount)
	if !ok {
		return nil, fmt.Errorf("cloud account %q: unexpected %T", name, obj)
	}
	return acct, nil
}

// loadProfiles reads the cluster's pinned profile versions.
func (p *pass) loadProfiles(ctx context.Context) ([]*v1alpha1.ClusterProfile, error) {
	spec := p.cur.Spec
	profiles := make([]*v1alpha1.ClusterProfile, 0, len(spec.Profiles))
	for _, ref := range spec.Profiles {
		key := v1alpha1.ProfileKey(ref.Name, ref.Version)
		obj, err := p.c.cfg.Store.Get(ctx, v1alpha1.KindClusterProfile, key)
		if err != nil {
			return nil, fmt.Errorf("cluster profile %s: %w", key, err)
		}
		prof, ok := obj.(*v1alpha1.ClusterProfile)
		if !ok {
			return nil, fmt.Errorf("cluster profile %s: unexpected %T", key, obj)
		}
		profiles = append(profiles, prof)
	}
	return profiles, nil
}

// bootstrapSecrets returns the cluster's sealed bootstrap secrets, made on first use.
func (p *pass) bootstrapSecrets(ctx context.Context) (plan.BootstrapSecrets, error) {
	name := bootstrapSecretName(p.cur.Metadata.UID)
	b, err := p.c.cfg.Store.GetSecret(ctx, name)
	switch {
	case err == nil:
		s, err := plan.UnmarshalBootstrapSecrets(b)
		if err != nil {
			return plan.BootstrapSecrets{}, fmt.Errorf("open the bootstrap secrets: %w", err)
		}
		return s, nil
	case !errors.Is(err, store.ErrNotFound):
		return plan.BootstrapSecrets{}, fmt.Errorf("read the bootstrap secrets: %w", err)
	}
	s, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		return plan.BootstrapSecrets{}, fmt.Errorf("generate the bootstrap secrets: %w", err)
	}
	b, err = s.Marshal()
	if err != nil {
		return plan.BootstrapSecrets{}, fmt.Errorf("encode the bootstrap secrets: %w", err)
	}
	if err := p.c.cfg.Store.PutSecret(ctx, name, b); err != nil {
		return plan.BootstrapSecrets{}, fmt.Errorf("store the bootstrap secrets: %w", err)
	}
	return s, nil
}

// fail records err on a condition (and on Ready), marks the cluster Failed when the error is
// permanent, writes the status and returns err.
func (p *pass) fail(ctx context.Context, cond, fallback string, err error, azureCall bool) error {
	reason, msg := fallback, err.Error()
	if azureCall {
		reason, msg = failure(err, fallback)
	}
	permanent := !azureCall || azure.IsPermanent(err)
	prevPhase := p.status.Phase
	werr := p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		setCondition(s, cond, "False", reason, msg)
		if cond != ConditionReady {
			setCondition(s, ConditionReady, "False", reason, msg)
		}
		if permanent {
			s.Phase = PhaseFailed
		}
	})
	if permanent && prevPhase != PhaseFailed {
		p.event(ctx, store.EventWarning, "Failed", reason+": "+msg)
	}
	return errors.Join(err, werr)
}

// Categories of nodes, one per condition.
var categoryConditions = []string{ConditionNetworkReady, ConditionStorageReady, ConditionControlPlaneReady, ConditionNodePoolsReady}

// category is the condition a node counts towards.
func category(n *plan.Node) string {
	switch n.Kind {
	case plan.KindStorageAccount, plan.KindBlobContainer, plan.KindBlobCopy, plan.KindImage:
		return ConditionStorageReady
	case plan.KindLoadBalancer, plan.KindManagedCluster:
		return ConditionControlPlaneReady
	case plan.KindAgentPool:
		return ConditionNodePoolsReady
	case plan.KindPublicIPAddress:
		if n.Role == plan.RoleAPIServer {
			return ConditionControlPlaneReady
		}
		return ConditionNetworkReady
	case plan.KindNetworkInterface, plan.KindVirtualMachine, plan.KindOSDisk:
		if n.Role == plan.RoleControlPlane {
			return ConditionControlPlaneReady
		}
		return ConditionNodePoolsReady
	}
	return ConditionNetworkReady
}

// runs reports whether nodes of the kind run, so that a cluster is Running only once each one
// does: VMs, and an AKS cluster's managed cluster and agent pools.
func runs(k plan.Kind) bool {
	return k == plan.KindVirtualMachine || k == plan.KindManagedCluster || k == plan.KindAgentPool
}

// applyGraph applies every node with flow, removes the managed resources that left the
// graph, observes the VMs and writes the resulting status.
func (p *pass) applyGraph(ctx context.Context, g *plan.Graph, applier azure.Applier, gen int64) (time.Duration, error) {
	keys := map[string]bool{}
	for _, n := range g.Nodes {
		keys[n.Key] = true
	}
	// Progress starts from what is already ready.
	if err := p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		done := 0
		for _, n := range g.Nodes {
			if it := item(s, n.Key); it != nil && it.Ready && it.ID == n.ID {
				done++
			}
		}
		if s.Progress == nil || s.Progress.Done != done || s.Progress.Total != len(g.Nodes) {
			step := "checking resources"
			if s.Progress != nil && s.Progress.Step != "" && done == len(g.Nodes) {
				step = s.Progress.Step
			}
			s.Progress = &v1alpha1.Progress{Done: done, Total: len(g.Nodes), Step: step}
		}
	}); err != nil {
		return 0, err
	}

	var resultsMu sync.Mutex
	var repaired []string
	observed := map[string]*azure.Observation{} // by key, what an Apply that wrote nothing saw
	tasks := make([]flow.Task, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		tasks = append(tasks, flow.Task{
			ID:        n.Key,
			DependsOn: n.DependsOn,
			Timeout:   p.c.cfg.TaskTimeout,
			Run: func(ctx context.Context) error {
				wasReady := p.recordStart(n)
				res, err := applier.Apply(ctx, n, p)
				if err != nil {
					return fmt.Errorf("%s %s: %w", n.Kind, n.Key, err)
				}
				resultsMu.Lock()
				if res.Wrote && wasReady {
					repaired = append(repaired, n.Key)
				}
				if res.Observed != nil {
					observed[n.Key] = res.Observed
				}
				resultsMu.Unlock()
				return p.recordDone(ctx, n)
			},
		})
	}
	fg, err := flow.New(tasks...)
	if err != nil {
		return 0, p.fail(ctx, ConditionReady, "InvalidPlan", fmt.Errorf("plan graph: %w", err), false)
	}
	result := fg.Run(ctx, flow.Options{Parallelism: p.c.cfg.Parallelism})
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	for _, key := range repaired {
		p.event(ctx, store.EventNormal, "DriftRepaired", fmt.Sprintf("%s was not as planned and was repaired", key))
	}
	runErr := result.Err()

	// Managed resources that left the graph (a pool scaled down) are deleted, dependants first.
	var gcErr error
	if runErr == nil {
		var gone []v1alpha1.InventoryItem
		p.mu.Lock()
		for _, it := range p.status.Inventory {
			if !keys[it.Key] {
				gone = append(gone, it)
			}
		}
		p.mu.Unlock()
		gcErr = p.deleteItems(ctx, gone, nil, applier)
		if gcErr == nil && len(gone) > 0 {
			p.event(ctx, store.EventNormal, "ResourcesRemoved", fmt.Sprintf("deleted %d resource(s) no longer in the plan", len(gone)))
		}
	}

	// Observe what runs (VMs, the managed cluster, agent pools): those that needed no write
	// were seen by their Apply already.
	failed := map[string]bool{}
	for _, k := range result.Failed {
		failed[k] = true
	}
	succeeded := map[string]bool{}
	for _, k := range result.Succeeded {
		succeeded[k] = true
	}
	vmTotal := map[string]int{}
	vmRunning := map[string]int{}
	var controlPlane *azure.ControlPlaneObservation
	var observeErr error
	if runErr == nil {
		for _, n := range g.Nodes {
			if !runs(n.Kind) {
				continue
			}
			cat := category(n)
			vmTotal[cat]++
			obs := observed[n.Key]
			if obs == nil {
				o, err := applier.Observe(ctx, n)
				if err != nil {
					observeErr = errors.Join(observeErr, fmt.Errorf("observe %s: %w", n.Key, err))
					continue
				}
				obs = &o
			}
			if obs.Running {
				vmRunning[cat]++
			}
			if obs.ControlPlane != nil {
				controlPlane = obs.ControlPlane
			}
		}
	}

	allRunning := runErr == nil && gcErr == nil && observeErr == nil
	for cat, total := range vmTotal {
		if vmRunning[cat] < total {
			allRunning = false
		}
	}
	permanent := false
	for _, k := range result.Failed {
		if azure.IsPermanent(result.Errors[k]) {
			permanent = true
		}
	}
	endpoint := plan.APIServerEndpoint(p.cur)
	if p.cur.Spec.Azure.Type == v1alpha1.ClusterTypeAKS {
		endpoint = ""
		if controlPlane != nil && controlPlane.FQDN != "" {
			endpoint = controlPlane.FQDN + ":443"
		}
	}
	prevPhase := p.status.Phase
	var firstReason, firstMsg string
	err = p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		for _, cat := range categoryConditions {
			var errs []error
			waiting, total := 0, 0
			for _, n := range g.Nodes {
				if category(n) != cat {
					continue
				}
				total++
				switch {
				case failed[n.Key]:
					errs = append(errs, result.Errors[n.Key])
				case !succeeded[n.Key]:
					waiting++
				}
			}
			if total == 0 && p.cur.Spec.Azure.Type == v1alpha1.ClusterTypeAKS {
				continue // AKS stores no node image: StorageReady does not apply
			}
			switch {
			case len(errs) > 0:
				reason, msg := failure(errs[0], "ProvisioningFailed")
				if len(errs) > 1 {
					msg = fmt.Sprintf("%s (and %d more failure(s))", msg, len(errs)-1)
				}
				setCondition(s, cat, "False", reason, msg)
			case waiting > 0:
				setCondition(s, cat, "False", "WaitingForDependencies", fmt.Sprintf("%d of %d resource(s) wait for a failed dependency", waiting, total))
			case vmRunning[cat] < vmTotal[cat] && p.cur.Spec.Azure.Type == v1alpha1.ClusterTypeAKS:
				setCondition(s, cat, "False", "NotRunning", fmt.Sprintf("%d of %d running and not busy in Azure", vmRunning[cat], vmTotal[cat]))
			case vmRunning[cat] < vmTotal[cat]:
				setCondition(s, cat, "False", "VirtualMachinesStarting", fmt.Sprintf("%d of %d virtual machine(s) running", vmRunning[cat], vmTotal[cat]))
			default:
				setCondition(s, cat, "True", "Provisioned", fmt.Sprintf("%d resource(s) as planned", total))
			}
		}
		setConflictCondition(s, result.Failed, result.Errors)
		switch {
		case allRunning:
			setCondition(s, ConditionReady, "True", "Running", "every planned resource exists as planned and every VM is running")
			s.Phase = PhaseRunning
			s.ControlPlaneEndpoint = endpoint
		default:
			reason, msg := "Provisioning", "resources are being provisioned"
			for _, cat := range categoryConditions {
				if c := statusCondition(&s.Status, cat); c != nil && c.Status != "True" {
					reason, msg = c.Reason, c.Message
					break
				}
			}
			switch {
			case gcErr != nil:
				reason, msg = failure(gcErr, "DeleteFailed")
			case observeErr != nil:
				reason, msg = failure(observeErr, "ObserveFailed")
			}
			setCondition(s, ConditionReady, "False", reason, msg)
			firstReason, firstMsg = reason, msg
			switch {
			case permanent:
				s.Phase = PhaseFailed
			case s.Phase == PhaseFailed || s.Phase == PhaseRunning:
				s.Phase = PhaseProvisioning
			}
		}
		if controlPlane != nil {
			s.ManagedControlPlane = &v1alpha1.ManagedControlPlaneStatus{
				KubernetesVersion: controlPlane.KubernetesVersion,
				PowerState:        controlPlane.PowerState,
				ProvisioningState: controlPlane.ProvisioningState,
				FQDN:              controlPlane.FQDN,
				SKUTier:           controlPlane.SKUTier,
				UpgradeChannel:    controlPlane.UpgradeChannel,
			}
		}
		s.ObservedGeneration = gen
		if s.Progress != nil && allRunning {
			s.Progress.Step = "running"
		}
	})
	switch {
	case allRunning && prevPhase != PhaseRunning:
		p.event(ctx, store.EventNormal, "Running", fmt.Sprintf("%d resource(s) provisioned; API server at %s", len(g.Nodes), endpoint))
		p.log.Info("cluster running", "resources", len(g.Nodes), "endpoint", endpoint)
	case permanent && prevPhase != PhaseFailed:
		p.event(ctx, store.EventWarning, "Failed", firstReason+": "+firstMsg)
	}
	if err != nil {
		return 0, err
	}
	if e := errors.Join(runErr, gcErr, observeErr); e != nil {
		return 0, e
	}
	if !allRunning {
		return p.c.cfg.BootingRequeue, nil
	}
	return p.c.cfg.Resync, nil
}

// setConflictCondition sets ResourceNameConflict True, naming each resource (ID and owner tag)
// that a failed node found to be someone else's, or removes the condition when there is none.
func setConflictCondition(s *v1alpha1.ClusterStatus, failed []string, errs map[string]error) {
	var msgs []string
	for _, key := range slices.Sorted(slices.Values(failed)) {
		var ce *azure.ConflictError
		if errors.As(errs[key], &ce) {
			msgs = append(msgs, ce.Error())
		}
	}
	if len(msgs) == 0 {
		s.Conditions = slices.DeleteFunc(s.Conditions, func(c v1alpha1.Condition) bool { return c.Type == ConditionResourceNameConflict })
		return
	}
	setCondition(s, ConditionResourceNameConflict, "True", ReasonResourceNameConflict, strings.Join(msgs, "; "))
}

// recordStart shows the node as the pass's current step and reports whether its inventory
// entry says it was ready. It records nothing: a managed node is recorded by its service
// (Claim) once its resource is known to be the cluster's, before the first write to it, so
// that a resource found to be someone else's never enters the inventory.
func (p *pass) recordStart(n *plan.Node) bool {
	wasReady := false
	p.change(func(s *v1alpha1.ClusterStatus) {
		if it := item(s, n.Key); it != nil && it.ID == n.ID && it.Kind == string(n.Kind) && it.Managed == n.Managed {
			wasReady = it.Ready
			return
		}
		if s.Progress != nil {
			s.Progress.Step = "creating " + n.Key
		}
	})
	return wasReady
}

// recordDone marks a node ready and counts it, recording it in the inventory if its service
// did not (an adopted node, verified).
func (p *pass) recordDone(ctx context.Context, n *plan.Node) error {
	return p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		it := item(s, n.Key)
		if it != nil && it.Ready && it.ID == n.ID {
			return
		}
		if it == nil || it.ID != n.ID || it.Kind != string(n.Kind) || it.Managed != n.Managed {
			putItem(s, n, true)
		} else {
			it.Ready, it.ResumeToken = true, ""
		}
		if s.Progress != nil {
			s.Progress.Done = min(s.Progress.Done+1, s.Progress.Total)
			s.Progress.Step = n.Key + " ready"
		}
	})
}
