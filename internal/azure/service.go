package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/strata-dev/strata/internal/plan"
)

// service makes the nodes of one kind real.
type service interface {
	apply(ctx context.Context, n *plan.Node, inv Inventory) (Result, error)
	delete(ctx context.Context, n *plan.Node, inv Inventory) error
	observe(ctx context.Context, n *plan.Node) (Observation, error)
}

// dispatcher is the Applier of a Clients: one service per plan.Kind.
type dispatcher struct {
	c        *Clients
	services map[plan.Kind]service
}

// Applier returns the Applier that makes plan nodes real with these clients.
func (c *Clients) Applier() Applier {
	return &dispatcher{c: c, services: map[plan.Kind]service{
		plan.KindResourceGroup:        c.resourceGroupService(),
		plan.KindVirtualNetwork:       c.vnetService(),
		plan.KindSubnet:               c.subnetService(),
		plan.KindNetworkSecurityGroup: c.nsgService(),
		plan.KindPublicIPAddress:      c.publicIPService(),
		plan.KindNatGateway:           c.natGatewayService(),
		plan.KindLoadBalancer:         c.loadBalancerService(),
		plan.KindNetworkInterface:     c.nicService(),
		plan.KindStorageAccount:       c.storageAccountService(),
		plan.KindBlobContainer:        c.containerService(),
		plan.KindBlobCopy:             c.blobCopyService(),
		plan.KindImage:                c.imageService(),
		plan.KindVirtualMachine:       c.vmService(),
		plan.KindOSDisk:               c.osDiskService(),
		plan.KindManagedCluster:       c.managedClusterService(),
		plan.KindAgentPool:            c.agentPoolService(),
		plan.KindPrivateDNSZone:       c.privateDNSZoneService(),
		plan.KindPrivateDNSLink:       c.privateDNSLinkService(),
		plan.KindPrivateDNSRecord:     c.privateDNSRecordService(),
	}}
}

func (d *dispatcher) service(n *plan.Node) (service, error) {
	if n == nil {
		return nil, errors.New("azure: nil node")
	}
	s, ok := d.services[n.Kind]
	if !ok {
		return nil, fmt.Errorf("azure: node %s: unknown kind %q", n.Key, n.Kind)
	}
	return s, nil
}

// Estimate implements Estimator.
func (d *dispatcher) Estimate(kind plan.Kind) time.Duration {
	return d.c.durations.typical(string(kind) + " create")
}

// Apply implements Applier.
func (d *dispatcher) Apply(ctx context.Context, n *plan.Node, inv Inventory) (Result, error) {
	s, err := d.service(n)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	r, err := s.apply(ctx, n, inv)
	d.c.log.LogAttrs(ctx, slog.LevelDebug, "apply", slog.String("key", n.Key), slog.String("kind", string(n.Kind)),
		slog.Bool("wrote", r.Wrote), slog.Duration("took", time.Since(start)), slog.Any("error", err))
	return r, err
}

// Delete implements Applier.
func (d *dispatcher) Delete(ctx context.Context, n *plan.Node, inv Inventory) error {
	s, err := d.service(n)
	if err != nil {
		return err
	}
	if !n.Managed || n.Kind == plan.KindResourceGroup {
		return fmt.Errorf("azure: %s %s is adopted: strata never deletes it", n.Kind, n.ID)
	}
	err = s.delete(ctx, n, inv)
	d.c.log.LogAttrs(ctx, slog.LevelDebug, "delete", slog.String("key", n.Key), slog.String("kind", string(n.Kind)), slog.Any("error", err))
	return err
}

// Observe implements Applier.
func (d *dispatcher) Observe(ctx context.Context, n *plan.Node) (Observation, error) {
	s, err := d.service(n)
	if err != nil {
		return Observation{}, err
	}
	return s.observe(ctx, n)
}

// armService is the generic service of an ARM resource whose desired model is D and live
// model L (the same type but for storage accounts).
type armService[D, L any] struct {
	c *Clients
	// get returns the live resource, or nil when it does not exist.
	get func(ctx context.Context, id *arm.ResourceID) (*L, error)
	// put creates or updates; resume, when not empty, resumes the saved operation instead.
	put func(ctx context.Context, id *arm.ResourceID, body *D, resume string) (lro, error)
	// del deletes; resume as for put.
	del func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error)
	// body computes what to send from desired and the live resource (nil when absent);
	// nil means desired as it is.
	body func(desired *D, live *L) *D
	// tags, when set, repairs a resource whose only drift is its tags (a VM PATCH rather than
	// a PUT).
	tags func(ctx context.Context, id *arm.ResourceID, tags map[string]*string) (lro, error)
	// compare, when set, replaces drift: the fields where live differs from desired, for
	// kinds where some differences are not drift (an autoscaled pool's count, a version Azure
	// upgraded on its own).
	compare func(desired *D, live *L) []string
	// describe fills what the live resource says beyond existence and drift: whether it runs
	// (a VM's power state, read with its instance view; an AKS cluster's) and what Azure
	// reports of a managed control plane.
	describe func(live *L, o *Observation)
	// adoptedOnly: the kind is never written (resource groups), whatever Node.Managed says.
	adoptedOnly bool
	// parent, for kinds whose ownership follows another resource's (they have no tags of
	// their own, or are made by Azure with it), returns that resource's ID: a subnet's VNet, a
	// container's storage account, an agent pool's managed cluster.
	parent func(id *arm.ResourceID, live *L) string
	// fromRow, when set, is told of a live resource read from Resource Graph instead of a
	// GET, for what get remembers of it (a storage account's blob endpoint).
	fromRow func(id *arm.ResourceID, live *L)
	// implicit: Azure makes the resource with another one (a VM's OS disk); strata never
	// creates it, so a missing one is an error, and while parent names the resource it is
	// attached to, Delete leaves it to Azure, which deletes it with that one.
	implicit bool
}

func (s *armService[D, L]) parse(n *plan.Node) (*arm.ResourceID, error) {
	if err := checkSegments(n.ID); err != nil {
		return nil, fmt.Errorf("azure: %s %s: bad resource ID %q: %w", n.Kind, n.Key, n.ID, err)
	}
	id, err := arm.ParseResourceID(n.ID)
	if err != nil {
		return nil, fmt.Errorf("azure: %s %s: bad resource ID %q: %w", n.Kind, n.Key, n.ID, err)
	}
	return id, nil
}

// checkSegments refuses a resource ID with an empty, "." or ".." segment: the SDK escapes each
// name it puts in a path, but "." and ".." survive escaping, and a server may resolve them to
// another path. The names of a plan come from validated specs; this holds whatever the input.
func checkSegments(id string) error {
	for i, seg := range strings.Split(strings.TrimPrefix(id, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("segment %d is %q", i+1, seg)
		}
	}
	return nil
}

func (s *armService[D, L]) desired(n *plan.Node) (*D, error) {
	switch v := n.Spec.(type) {
	case *D:
		if v != nil {
			return v, nil
		}
	case D:
		return &v, nil
	}
	var zero D
	return nil, fmt.Errorf("azure: %s %s: spec is %T, want %T", n.Kind, n.Key, n.Spec, &zero)
}

// run waits for an operation, keeping its resume token saved meanwhile. verb (create, update,
// delete) names what the operation does, for its poll schedule; resumed says it was started
// by an earlier attempt, so that its duration is unknown.
func (c *Clients) run(ctx context.Context, n *plan.Node, tokens ResumeTokens, op lro, verb string, resumed bool) error {
	started := time.Now()
	c.lists.wrote(n.ID)
	defer c.graph.wrote(n.ID) // Resource Graph shows the write only seconds after it ends
	tok, err := op.token()
	if err != nil {
		return fmt.Errorf("azure: %s %s: resume token: %w", n.Kind, n.ID, err)
	}
	if tok != "" && tokens != nil {
		if err := tokens.SaveToken(ctx, n.Key, tok); err != nil {
			return fmt.Errorf("azure: %s %s: saving the resume token: %w", n.Kind, n.ID, err)
		}
	}
	sched := c.durations.schedule(string(n.Kind)+" "+verb, started, resumed)
	if err := op.wait(ctx, sched, c.poll); err != nil {
		if ctx.Err() == nil && tokens != nil {
			// The operation is over (failed): a later attempt starts afresh.
			_ = tokens.SaveToken(context.WithoutCancel(ctx), n.Key, "")
		}
		return err
	}
	if tokens != nil {
		if err := tokens.SaveToken(ctx, n.Key, ""); err != nil {
			return fmt.Errorf("azure: %s %s: clearing the resume token: %w", n.Kind, n.ID, err)
		}
	}
	return nil
}

// savedToken returns the node's saved token, if any.
func savedToken(tokens ResumeTokens, n *plan.Node) string {
	if tokens == nil {
		return ""
	}
	return tokens.Token(n.Key)
}

func (s *armService[D, L]) apply(ctx context.Context, n *plan.Node, inv Inventory) (Result, error) {
	id, err := s.parse(n)
	if err != nil {
		return Result{}, err
	}
	if !n.Managed || s.adoptedOnly {
		return Result{}, s.verify(ctx, n, id)
	}
	if inv == nil {
		return Result{}, fmt.Errorf("azure: %s %s: no inventory to record it in", n.Kind, n.Key)
	}
	if res, resumed, err := s.resume(ctx, n, id, inv); resumed || err != nil {
		return res, err
	}
	desired, err := s.desired(n)
	if err != nil {
		return Result{}, err
	}
	live, diff, err := s.read(ctx, n, id, desired, inv)
	if err != nil {
		return Result{}, fmt.Errorf("azure: reading %s %s: %w", n.Kind, n.ID, err)
	}
	if live == nil && s.implicit {
		return Result{}, fmt.Errorf("azure: %s %s: %w", n.Kind, n.ID, errMadeByAzure)
	}
	if err := s.claim(ctx, n, id, live, inv); err != nil {
		return Result{}, err
	}
	var op lro
	if live != nil {
		if len(diff) == 0 {
			o := s.observedAsDesired(n, live)
			return Result{Observed: &o}, nil
		}
		s.c.log.InfoContext(ctx, "repairing drift", "key", n.Key, "kind", n.Kind, "fields", diff)
		if s.tags != nil && len(diff) == 1 && diff[0] == "tags" {
			op, err = s.tags(ctx, id, tagsOf(desired))
		}
	} else {
		s.c.log.InfoContext(ctx, "creating", "key", n.Key, "kind", n.Kind)
	}
	if op == nil && err == nil {
		body := desired
		if s.body != nil {
			body = s.body(desired, live)
		}
		op, err = s.put(ctx, id, body, "")
	}
	if err != nil {
		return Result{Wrote: true}, fmt.Errorf("azure: writing %s %s: %w", n.Kind, n.ID, err)
	}
	verb := "create"
	if live != nil {
		verb = "update"
	}
	if err := s.c.run(ctx, n, inv, op, verb, false); err != nil {
		return Result{Wrote: true}, fmt.Errorf("azure: writing %s %s: %w", n.Kind, n.ID, err)
	}
	return Result{Wrote: true}, nil
}

// read returns the live resource of a node strata manages, and how it differs from desired:
// as the subscription's Resource Graph snapshot shows it when that is as desired (no request),
// else by a GET. A row that differs from desired is not trusted (Resource Graph lags, and may
// miss a repair strata just made): the GET decides. A resource the inventory does not hold
// is absent without a GET when a recent list of its resource group did not show it
// (groupLists); otherwise the ownership check is made on a GET.
func (s *armService[D, L]) read(ctx context.Context, n *plan.Node, id *arm.ResourceID, desired *D, inv Inventory) (*L, []string, error) {
	managed := inv.Manages(n.ID)
	if !managed && !s.implicit && s.c.lists.absent(ctx, id) {
		return nil, nil, nil
	}
	if managed {
		if live, asDesired := s.fromGraph(ctx, n, id, desired); asDesired {
			return live, nil, nil
		}
	}
	live, err := s.get(ctx, id)
	if live == nil || err != nil {
		return nil, nil, err
	}
	return live, s.diff(desired, live), nil
}

// fromGraph returns the node's live resource as the Resource Graph snapshot shows it, and
// whether the snapshot shows it as desired; when it does not (or the row must not be used, see
// graph.row), the resource is read with a GET. The generic drift compares JSON forms, which the
// row already is: it is decoded into the SDK's model only for a kind that reads the live
// resource (compare, describe, fromRow), as that decode is most of a resync's cost at a
// thousand clusters; for any other kind the zero L stands for the resource, since nothing
// reads a live resource found as desired but those.
func (s *armService[D, L]) fromGraph(ctx context.Context, n *plan.Node, id *arm.ResourceID, desired *D) (*L, bool) {
	raw := s.c.graph.row(ctx, n.ID)
	if raw == nil {
		return nil, false
	}
	if s.compare == nil {
		var row map[string]any
		if err := json.Unmarshal(raw, &row); err != nil {
			s.c.log.DebugContext(ctx, "Resource Graph row not understood: reading the resource", "key", n.Key, "error", err)
			return nil, false
		}
		if len(driftOfMaps(toMap(desired), row)) > 0 {
			return nil, false
		}
		if s.describe == nil && s.fromRow == nil {
			return new(L), true
		}
	}
	var live L
	if err := json.Unmarshal(raw, &live); err != nil {
		s.c.log.DebugContext(ctx, "Resource Graph row not understood: reading the resource", "key", n.Key, "error", err)
		return nil, false
	}
	if s.compare != nil && len(s.compare(desired, &live)) > 0 {
		return nil, false
	}
	if s.fromRow != nil {
		s.fromRow(id, &live)
	}
	return &live, true
}

// resume resumes the operation whose token the inventory saved for n, if any: resumed says
// it did. A token that does not resume this operation (e.g. a delete's) is dropped.
func (s *armService[D, L]) resume(ctx context.Context, n *plan.Node, id *arm.ResourceID, inv Inventory) (res Result, resumed bool, err error) {
	tok := savedToken(inv, n)
	if tok == "" {
		return Result{}, false, nil
	}
	op, err := s.put(ctx, id, new(D), tok) // the body is not sent: the token resumes
	if err == nil {
		s.c.log.InfoContext(ctx, "resuming operation", "key", n.Key, "kind", n.Kind)
		if err := s.c.run(ctx, n, inv, op, "create", true); err != nil {
			return Result{Wrote: true}, true, fmt.Errorf("azure: %s %s: resumed operation: %w", n.Kind, n.ID, err)
		}
		return Result{Wrote: true}, true, nil
	}
	s.c.log.WarnContext(ctx, "dropping an unusable resume token", "key", n.Key, "error", err)
	if err := inv.SaveToken(ctx, n.Key, ""); err != nil {
		return Result{}, false, fmt.Errorf("azure: %s %s: clearing the resume token: %w", n.Kind, n.ID, err)
	}
	return Result{}, false, nil
}

// claim records n in the inventory once its resource is known to be this cluster's: absent
// (strata is about to create it), or existing and owned (see owned). An existing resource that
// is not the cluster's is a *ConflictError, and nothing is recorded.
func (s *armService[D, L]) claim(ctx context.Context, n *plan.Node, id *arm.ResourceID, live *L, inv Inventory) error {
	if live == nil || inv.Manages(n.ID) {
		return claim(ctx, n, inv, false, ownerFacts{}, "")
	}
	f := ownerFacts{Want: inv.Owner()}
	f.Tag, f.Tagged = ownerTag(tagsOf(live))
	parent := ""
	if s.parent != nil {
		parent = s.parent(id, live)
		f.ParentRecorded = parent != "" && inv.Manages(parent)
	}
	return claim(ctx, n, inv, true, f, parent)
}

func (s *armService[D, L]) verify(ctx context.Context, n *plan.Node, id *arm.ResourceID) error {
	live, err := s.get(ctx, id)
	if err != nil {
		return fmt.Errorf("azure: reading adopted %s %s: %w", n.Kind, n.ID, err)
	}
	return checkAdopted(n, live)
}

// checkAdopted checks that an adopted resource exists and holds what n.Expect says.
func checkAdopted[L any](n *plan.Node, live *L) error {
	if live == nil {
		return &AdoptedError{Kind: n.Kind, ID: n.ID}
	}
	m := toMap(live)
	keys := make([]string, 0, len(n.Expect))
	for k := range n.Expect {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		want := n.Expect[key]
		field, anyOf := expectedField(n.Kind, key)
		if field == "" {
			continue // existence alone, checked above
		}
		got, _ := lookupField(m, field)
		if anyOf && slices.ContainsFunc(strings.Split(got, ","), func(g string) bool { return sameValue(field, want, g) }) {
			continue
		}
		if !sameValue(field, want, got) {
			return &AdoptedError{Kind: n.Kind, ID: n.ID, Field: field, Want: want, Got: got}
		}
	}
	return nil
}

// expectedField maps a key of plan.Node.Expect to the field of the live resource it speaks of:
// a VNet's expected prefix is one of addressSpace.addressPrefixes (anyOf), a subnet's is its
// addressPrefix, its NSG the ID under networkSecurityGroup.id; ExpectExists names no field.
// Other keys are field paths themselves.
func expectedField(kind plan.Kind, key string) (field string, anyOf bool) {
	switch {
	case key == plan.ExpectExists:
		return "", false
	case key == plan.ExpectAddressPrefix && kind == plan.KindVirtualNetwork:
		return "addressSpace.addressPrefixes", true
	case key == plan.ExpectNetworkSecurityGroup:
		return "networkSecurityGroup.id", false
	}
	return key, false
}

func (s *armService[D, L]) delete(ctx context.Context, n *plan.Node, inv Inventory) error {
	id, err := s.parse(n)
	if err != nil {
		return err
	}
	if tok := savedToken(inv, n); tok != "" {
		op, err := s.del(ctx, id, tok)
		if err == nil {
			if err := s.c.run(ctx, n, inv, op, "delete", true); err != nil && !isNotFound(err) {
				return fmt.Errorf("azure: deleting %s %s (resumed): %w", n.Kind, n.ID, err)
			}
			return nil
		}
		s.c.log.WarnContext(ctx, "dropping an unusable resume token", "key", n.Key, "error", err)
		if err := inv.SaveToken(ctx, n.Key, ""); err != nil {
			return fmt.Errorf("azure: %s %s: clearing the resume token: %w", n.Kind, n.ID, err)
		}
	}
	live, err := s.get(ctx, id)
	if err != nil {
		return fmt.Errorf("azure: reading %s %s: %w", n.Kind, n.ID, err)
	}
	if live == nil {
		return nil
	}
	if s.implicit && s.parent != nil {
		if parent := s.parent(id, live); parent != "" {
			s.c.log.InfoContext(ctx, "leaving the resource to the deletion of the one it is attached to", "key", n.Key, "kind", n.Kind, "parent", parent)
			return nil
		}
	}
	if owner, tagged := ownerTag(tagsOf(live)); tagged && inv != nil && owner != inv.Owner() {
		// Not the resource strata made: someone replaced it since, under the same name.
		s.c.log.WarnContext(ctx, "not deleting a resource of another owner", "key", n.Key, "kind", n.Kind, "id", n.ID, "owner", owner)
		return nil
	}
	s.c.log.InfoContext(ctx, "deleting", "key", n.Key, "kind", n.Kind)
	op, err := s.del(ctx, id, "")
	if err == nil {
		err = s.c.run(ctx, n, inv, op, "delete", false)
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("azure: deleting %s %s: %w", n.Kind, n.ID, err)
	}
	return nil
}

func (s *armService[D, L]) observe(ctx context.Context, n *plan.Node) (Observation, error) {
	id, err := s.parse(n)
	if err != nil {
		return Observation{}, err
	}
	live, err := s.get(ctx, id)
	if err != nil {
		return Observation{}, fmt.Errorf("azure: reading %s %s: %w", n.Kind, n.ID, err)
	}
	if live == nil {
		return Observation{}, nil
	}
	return s.observed(n, live), nil
}

// observedAsDesired is what a live resource found as desired says of its node: observed,
// without comparing them again.
func (s *armService[D, L]) observedAsDesired(n *plan.Node, live *L) Observation {
	if !n.Managed || s.adoptedOnly {
		return s.observed(n, live)
	}
	o := Observation{Exists: true, UpToDate: true}
	if s.describe != nil {
		s.describe(live, &o)
	}
	return o
}

// observed is what a live resource says of its node.
func (s *armService[D, L]) observed(n *plan.Node, live *L) Observation {
	o := Observation{Exists: true}
	if n.Managed && !s.adoptedOnly {
		if d, err := s.desired(n); err == nil {
			o.UpToDate = len(s.diff(d, live)) == 0
		}
	} else {
		o.UpToDate = checkAdopted(n, live) == nil
	}
	if s.describe != nil {
		s.describe(live, &o)
	}
	return o
}

// diff is compare, or drift when the kind has no compare of its own.
func (s *armService[D, L]) diff(desired *D, live *L) []string {
	if s.compare != nil {
		return s.compare(desired, live)
	}
	return drift(desired, live)
}

// getOrNil turns a 404 into (nil, nil).
func getOrNil[T any](v T, err error) (*T, error) {
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return &v, nil
}

// toMap is the JSON form of an SDK model.
func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// tagsOf returns the tags of an SDK model.
func tagsOf(v any) map[string]*string {
	m := toMap(v)
	tags := map[string]*string{}
	if t, ok := m["tags"].(map[string]any); ok {
		for k, v := range t {
			s, _ := v.(string)
			tags[k] = &s
		}
	}
	return tags
}

// neverReturned are the fields Azure accepts but never returns: their absence is no drift.
var neverReturned = map[string]bool{
	"customData": true, "adminPassword": true, "userData": true, "etag": true,
	"provisioningState": true, "protectedSettings": true,
}

// drift returns the top-level fields (of the JSON form, "tags" or "properties.x...") where
// live differs from desired. Only what desired sets is compared, so read-only and
// server-filled fields never count; tags must match exactly; strings compare
// case-insensitively (Azure's names, enums and IDs are) but tag values.
func drift(desired, live any) []string {
	return driftOfMaps(toMap(desired), toMap(live))
}

// driftOfMaps is drift of the JSON forms d (desired) and l (live).
func driftOfMaps(d, l map[string]any) []string {
	var out []string
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if neverReturned[k] || k == "id" || k == "name" || k == "type" {
			continue
		}
		if k == "tags" {
			if !sameTags(d[k], l[k]) {
				out = append(out, "tags")
			}
			continue
		}
		if k == "properties" {
			dp, _ := d[k].(map[string]any)
			lp, _ := l[k].(map[string]any)
			pk := make([]string, 0, len(dp))
			for p := range dp {
				pk = append(pk, p)
			}
			sort.Strings(pk)
			for _, p := range pk {
				if !neverReturned[p] && !covers(p, dp[p], lp[p]) {
					out = append(out, "properties."+p)
				}
			}
			continue
		}
		if !covers(k, d[k], l[k]) {
			out = append(out, k)
		}
	}
	return out
}

func sameTags(d, l any) bool {
	dm, _ := d.(map[string]any)
	lm, _ := l.(map[string]any)
	if len(dm) != len(lm) {
		return false
	}
	for k, v := range dm {
		lv, ok := lm[k]
		if !ok {
			// Tag names are case-insensitive.
			for lk, x := range lm {
				if strings.EqualFold(lk, k) {
					lv, ok = x, true
				}
			}
		}
		if !ok || lv != v {
			return false
		}
	}
	return true
}

// covers reports whether live holds everything desired sets.
func covers(key string, desired, live any) bool {
	switch d := desired.(type) {
	case nil:
		return true
	case map[string]any:
		if len(d) == 0 {
			return true
		}
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range d {
			if neverReturned[k] {
				continue
			}
			if k == "tags" {
				if !sameTags(v, l[k]) {
					return false
				}
				continue
			}
			if !covers(k, v, lookupFold(l, k)) {
				return false
			}
		}
		return true
	case []any:
		l, _ := live.([]any)
		if len(d) != len(l) {
			return false
		}
		for i, dv := range d {
			lv := l[i]
			if name := nameOf(dv); name != "" {
				lv = nil
				for _, x := range l {
					if strings.EqualFold(nameOf(x), name) {
						lv = x
					}
				}
			}
			if !covers(key, dv, lv) {
				return false
			}
		}
		return true
	case string:
		l, ok := live.(string)
		return ok && sameValue(key, d, l)
	default:
		return desired == live
	}
}

func nameOf(v any) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m["name"].(string)
		return s
	}
	return ""
}

func lookupFold(m map[string]any, k string) any {
	if v, ok := m[k]; ok {
		return v
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v
		}
	}
	return nil
}

// sameValue compares two strings as Azure does: case-insensitively, locations without spaces.
func sameValue(key, want, got string) bool {
	if strings.EqualFold(key, "location") {
		norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
		return norm(want) == norm(got)
	}
	return strings.EqualFold(want, got)
}

// lookupField finds an Expect field in a resource's JSON form: a top-level key, a key of
// properties, or a dotted path ("addressSpace.addressPrefixes"); lists are joined with ",".
func lookupField(m map[string]any, field string) (string, bool) {
	try := func(root map[string]any) (any, bool) {
		var cur any = root
		for part := range strings.SplitSeq(field, ".") {
			mm, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur = lookupFold(mm, part); cur == nil {
				return nil, false
			}
		}
		return cur, true
	}
	v, ok := try(m)
	if !ok {
		if p, isMap := m["properties"].(map[string]any); isMap {
			v, ok = try(p)
		}
	}
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, ","), true
	default:
		b, _ := json.Marshal(x)
		return string(b), true
	}
}
