package controller

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/flow"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/proxyenv"
	"github.com/strata-dev/strata/internal/store"
)

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

	in, err := p.planInput(ctx, acct, profiles, clients, zones)
	if err != nil {
		return 0, err
	}
	if cl.Spec.Azure.Type == v1alpha1.ClusterTypeIaaS {
		if err := p.prepareMachines(ctx, &in); err != nil {
			return 0, err
		}
	}
	g, err := plan.Build(in)
	if err != nil {
		return 0, p.fail(ctx, ConditionReady, "InvalidPlan", fmt.Errorf("plan: %w", err), true)
	}
	p.clients, p.secrets = clients, in.Secrets
	return p.applyGraph(ctx, g, clients.Applier(), gen)
}

// planInput is what plan.Build needs: with the account's lookups, the cluster's bootstrap
// secrets (IaaS: AKS makes its own nodes join), the proxy of its account's gateway, and the
// agent's manifest when the init VM may be created by this pass (see initAgentManifest).
func (p *pass) planInput(ctx context.Context, acct *v1alpha1.CloudAccount, profiles []*v1alpha1.ClusterProfile,
	clients Clients, zones map[string][]string) (plan.Input, error) {
	in := plan.Input{
		Cluster:  p.cur,
		Profiles: profiles,
		Env: plan.Environment{
			Zones:        zones,
			ImageBaseURL: p.c.cfg.ImageBaseURL(acct),
			BlobEndpoint: clients.BlobEndpoint,
		},
	}
	var err error
	if p.cur.Spec.Azure.Type == v1alpha1.ClusterTypeIaaS {
		if in.Secrets, err = p.bootstrapSecrets(ctx); err != nil {
			return plan.Input{}, err
		}
	}
	var gw *v1alpha1.PrivateCloudGateway
	if gw, err = p.gateway(ctx, acct); err != nil {
		return plan.Input{}, p.fail(ctx, ConditionAccountValid, "ReferenceNotFound", err, false)
	}
	in.Proxy = gatewayProxy(gw)
	if gw != nil {
		in.GatewayNetwork = gw.Spec.Network
	}
	if in.AgentManifest, err = p.initAgentManifest(ctx); err != nil {
		return plan.Input{}, err
	}
	return in, nil
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

// gatewayProxy is the proxy the cluster inherits from its account's private cloud gateway,
// with its passwords, or nil.
func gatewayProxy(gw *v1alpha1.PrivateCloudGateway) *proxyenv.Settings {
	if gw == nil || gw.Spec.Proxy == nil {
		return nil
	}
	s := proxyenv.FromGateway(gw.Spec.Proxy)
	if !s.Enabled() {
		return nil
	}
	return &s
}

// gateway is the private cloud gateway the account names, or nil. A gateway named but not
// stored is an error: the cluster would be built without the proxy its network needs.
func (p *pass) gateway(ctx context.Context, acct *v1alpha1.CloudAccount) (*v1alpha1.PrivateCloudGateway, error) {
	if acct.Spec.Gateway == "" {
		return nil, nil
	}
	obj, err := p.c.cfg.Store.Get(ctx, v1alpha1.KindPrivateCloudGateway, acct.Spec.Gateway)
	if err != nil {
		return nil, fmt.Errorf("private cloud gateway %q of cloud account %q: %w", acct.Spec.Gateway, acct.Key(), err)
	}
	gw, _ := obj.(*v1alpha1.PrivateCloudGateway)
	return gw, nil
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
	name := plan.BootstrapSecretName(p.cur.Metadata.UID)
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
	case plan.KindLoadBalancer, plan.KindManagedCluster, plan.KindPrivateDNSZone, plan.KindPrivateDNSLink, plan.KindPrivateDNSRecord:
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
// graph, observes what runs (and the cluster's Kubernetes) and writes the resulting status.
func (p *pass) applyGraph(ctx context.Context, g *plan.Graph, applier azure.Applier, gen int64) (time.Duration, error) {
	if err := p.startProgress(ctx, g); err != nil {
		return 0, err
	}
	p.mu.Lock()
	atRest := readsFromGraph(&p.status, gen)
	p.mu.Unlock()
	applyCtx := ctx
	if !atRest {
		applyCtx = azure.FreshReads(ctx)
	}
	result, observed, err := p.runGraph(applyCtx, g, applier)
	if err != nil {
		return 0, err
	}
	o := &outcome{nodes: g.Nodes, result: result, runErr: result.Err(), gen: gen,
		aks: p.cur.Spec.Azure.Type == v1alpha1.ClusterTypeAKS}
	p.observe(ctx, g, o, applier, observed)

	prev := p.status.Clone()
	var reason, msg, phase string
	err = p.update(ctx, func(s *v1alpha1.ClusterStatus) {
		reason, msg = o.setStatus(s)
		if s.Upgrade != nil && s.Phase == PhaseRunning {
			s.Phase = PhaseUpdating
		}
		phase = s.Phase
	})
	p.recordTransitions(ctx, o, prev, phase, reason, msg, len(g.Nodes))
	if err != nil {
		return 0, err
	}
	if e := errors.Join(o.runErr, o.gcErr, o.observeErr, o.rolloutErr); e != nil {
		return 0, e
	}
	return p.requeueAfter(o, phase), nil
}

// readsFromGraph decides whether a pass may take the live resources from the subscription's
// Resource Graph snapshot: only a pass of a cluster at rest — Running with its generation
// applied, no upgrade, repair or drain under way, its Kubernetes ready (or not checked).
// Anything under way needs Azure's state now (a VM deleted by hand makes a node NotReady,
// and the pass that follows must see the VM gone), not as of the last snapshot.
func readsFromGraph(s *v1alpha1.ClusterStatus, gen int64) bool {
	if s.Phase != PhaseRunning || s.ObservedGeneration != gen || s.Upgrade != nil || len(s.Repairing) > 0 {
		return false
	}
	for _, sc := range s.Scale {
		if sc.Draining != "" {
			return false
		}
	}
	c := statusCondition(&s.Status, ConditionKubernetesReady)
	return c == nil || c.Status == "True"
}

// observe fills o with what the pass sees once the graph ran: the removal of what left it,
// what runs, the API server's address (IaaS) and endpoint, and, when the controller checks
// it, the cluster's Kubernetes.
func (p *pass) observe(ctx context.Context, g *plan.Graph, o *outcome, applier azure.Applier, observed map[string]*azure.Observation) {
	if o.runErr == nil {
		o.gcErr = p.removeGone(ctx, g, applier)
		p.observeRunning(ctx, o, applier, observed)
		if !o.aks {
			o.address = p.apiServerAddress(ctx, g, applier, observed)
		}
	}
	o.endpoint = controlPlaneEndpoint(p.cur, o.controlPlane)
	if p.c.cfg.CheckKubernetes {
		ob := p.observeKubernetes(ctx, g, o)
		if ob.err == nil && ob.controlPlaneUp && ob.noAccessReason == "" {
			o.kubeNodes = ob.nodes
		}
		d := decideKubernetes(ob)
		o.kube = &d
	}
	if o.runErr == nil && o.gcErr == nil && !o.aks {
		o.rolloutErr = errors.Join(p.advanceRollout(ctx, g, o, applier), p.autoscale(ctx, g, o))
	}
	if p.c.cfg.Agent != nil {
		p.mu.Lock()
		d := decideAgent(&p.cur.Status)
		p.mu.Unlock()
		o.agent = &d
	}
}

// apiServerAddress is the IP address of the API server's public IP: as its Apply read it,
// else (it was written in this pass) read now; "" when unknown.
func (p *pass) apiServerAddress(ctx context.Context, g *plan.Graph, applier azure.Applier, observed map[string]*azure.Observation) string {
	if ip := plan.APIServerAddress(p.cur); ip != "" {
		return ip // an internal load balancer's static private IP
	}
	for _, n := range g.Nodes {
		if n.Kind != plan.KindPublicIPAddress || n.Role != plan.RoleAPIServer {
			continue
		}
		if ob := observed[n.Key]; ob != nil {
			return ob.Address
		}
		ob, err := applier.Observe(ctx, n)
		if err != nil {
			p.log.Warn("read the API server's address", "key", n.Key, "error", err)
			return ""
		}
		return ob.Address
	}
	return ""
}

// recordTransitions records the events of the pass's changes: Running, Failed, and a Running
// cluster's Kubernetes becoming not ready (KubernetesNotReady) or ready again.
func (p *pass) recordTransitions(ctx context.Context, o *outcome, prev v1alpha1.ClusterStatus, phase, reason, msg string, resources int) {
	switch {
	case phase == PhaseRunning && prev.Phase != PhaseRunning:
		p.event(ctx, store.EventNormal, "Running", fmt.Sprintf("%d resource(s) provisioned; API server at %s", resources, o.endpoint))
		p.log.Info("cluster running", "resources", resources, "endpoint", o.endpoint)
	case o.permanent() && prev.Phase != PhaseFailed:
		p.event(ctx, store.EventWarning, "Failed", reason+": "+msg)
	}
	if o.kube == nil || phase != PhaseRunning || prev.Phase != PhaseRunning {
		return
	}
	was := ""
	if c := statusCondition(&prev.Status, ConditionKubernetesReady); c != nil {
		was = c.Status
	}
	switch {
	case was == "True" && o.kube.status == "False":
		p.event(ctx, store.EventWarning, "KubernetesNotReady", o.kube.reason+": "+o.kube.message)
	case was == "False" && o.kube.status == "True":
		p.event(ctx, store.EventNormal, "KubernetesReady", o.kube.message)
	}
}

// requeueAfter is when the cluster is due again: soon while something does not run yet
// (BootingRequeue), a little later while a Running cluster's Kubernetes is not ready
// (KubernetesRequeue, at most Resync), else at the next resync.
func (p *pass) requeueAfter(o *outcome, phase string) time.Duration {
	kubeReady := o.kube == nil || o.kube.ready
	agentReady := o.agent == nil || o.agent.ready // the hub's writes wake the cluster at once
	switch {
	case !o.allRunning() || (!kubeReady && phase != PhaseRunning) || p.status.Upgrade != nil || len(p.status.Repairing) > 0:
		return p.c.cfg.BootingRequeue
	case !kubeReady || !agentReady:
		return min(p.c.cfg.KubernetesRequeue, p.c.cfg.Resync)
	}
	if d := scaleRequeue(p.status.Scale, p.pools, p.c.cfg.BootingRequeue, p.c.cfg.KubernetesRequeue, time.Now()); d > 0 {
		return min(d, p.c.cfg.Resync)
	}
	return p.c.cfg.Resync
}

// startProgress sets the progress to the graph's size, counting what is already ready.
func (p *pass) startProgress(ctx context.Context, g *plan.Graph) error {
	return p.update(ctx, func(s *v1alpha1.ClusterStatus) {
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
	})
}

// runGraph applies every node of g with flow, each as soon as those it depends on are done, and
// records a DriftRepaired event for each node that was ready and needed a write. It returns
// the run's result and, by key, what each Apply that wrote nothing observed.
func (p *pass) runGraph(ctx context.Context, g *plan.Graph, applier azure.Applier) (*flow.Result, map[string]*azure.Observation, error) {
	var mu sync.Mutex
	var repaired []string
	observed := map[string]*azure.Observation{}
	var tails map[string]time.Duration // each node's priority for the subscription's budget
	tasks := make([]flow.Task, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		tasks = append(tasks, flow.Task{
			ID:        n.Key,
			DependsOn: n.DependsOn,
			Timeout:   p.c.cfg.TaskTimeout,
			Run: func(ctx context.Context) error {
				wasReady := p.recordStart(n)
				res, err := applier.Apply(azure.WithPriority(ctx, tails[n.Key]), n, p)
				if err != nil {
					return fmt.Errorf("%s %s: %w", n.Kind, n.Key, err)
				}
				mu.Lock()
				if res.Wrote && wasReady {
					repaired = append(repaired, n.Key)
				}
				if res.Observed != nil {
					observed[n.Key] = res.Observed
				}
				mu.Unlock()
				return p.recordDone(ctx, n)
			},
		})
	}
	fg, err := flow.New(tasks...)
	if err != nil {
		return nil, nil, p.fail(ctx, ConditionReady, "InvalidPlan", fmt.Errorf("plan graph: %w", err), false)
	}
	tails = fg.Tails(nodeCosts(g, applier))
	result := fg.Run(ctx, flow.Options{Parallelism: p.c.cfg.Parallelism})
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	for _, key := range repaired {
		p.event(ctx, store.EventNormal, "DriftRepaired", fmt.Sprintf("%s was not as planned and was repaired", key))
	}
	return result, observed, nil
}

// unknownCost is what a node whose kind of create the applier has not seen yet counts for in
// the tails of a graph.
const unknownCost = time.Second

// nodeCosts returns what each node of g counts for in the tails of the graph (flow.Tails): how
// long the applier has seen Azure take to create one of its kind, or unknownCost. The tails
// are the priorities of the nodes' requests when the subscription's budget runs short, so
// that a storage account that the image and every VM wait on goes before an NSG.
func nodeCosts(g *plan.Graph, applier azure.Applier) func(key string) time.Duration {
	est, _ := applier.(azure.Estimator)
	kinds := make(map[string]plan.Kind, len(g.Nodes))
	for _, n := range g.Nodes {
		kinds[n.Key] = n.Kind
	}
	return func(key string) time.Duration {
		if est != nil {
			if d := est.Estimate(kinds[key]); d > 0 {
				return d
			}
		}
		return unknownCost
	}
}

// removeGone deletes the managed resources that left the graph (a pool scaled down), but those
// a rolling replacement retains, dependants first.
func (p *pass) removeGone(ctx context.Context, g *plan.Graph, applier azure.Applier) error {
	keys := map[string]bool{}
	for _, n := range g.Nodes {
		keys[n.Key] = true
	}
	var gone []v1alpha1.InventoryItem
	p.mu.Lock()
	for _, it := range p.status.Inventory {
		if !keys[it.Key] && !p.retained[it.Key] {
			gone = append(gone, it)
		}
	}
	p.mu.Unlock()
	err := p.deleteItems(ctx, gone, nil, applier)
	if err == nil && len(gone) > 0 {
		p.event(ctx, store.EventNormal, "ResourcesRemoved", fmt.Sprintf("deleted %d resource(s) no longer in the plan", len(gone)))
	}
	return err
}

// observeRunning counts, by category, the nodes that run (VMs, the managed cluster, agent
// pools) and those running, into o; those that needed no write were seen by their Apply
// already (observed), the others are read now.
func (p *pass) observeRunning(ctx context.Context, o *outcome, applier azure.Applier, observed map[string]*azure.Observation) {
	o.total, o.running = map[string]int{}, map[string]int{}
	for _, n := range o.nodes {
		if !runs(n.Kind) {
			continue
		}
		cat := category(n)
		o.total[cat]++
		obs := observed[n.Key]
		if obs == nil {
			ob, err := applier.Observe(ctx, n)
			if err != nil {
				o.observeErr = errors.Join(o.observeErr, fmt.Errorf("observe %s: %w", n.Key, err))
				continue
			}
			obs = &ob
		}
		if obs.Running {
			o.running[cat]++
		}
		if obs.ControlPlane != nil {
			o.controlPlane = obs.ControlPlane
		}
	}
}

// recordStart shows the node as the pass's current step and reports whether its inventory
// entry says it was ready. It records nothing: a managed node is recorded by its service
// (Claim) once its resource is known to be the cluster's, before the first write to it, so
// that a resource found to be someone else's never enters the inventory.
func (p *pass) recordStart(n *plan.Node) bool {
	wasReady := false
	p.change(func(s *v1alpha1.ClusterStatus) {
		if it := item(s, n.Key); records(it, n) {
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
		if !records(it, n) {
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
