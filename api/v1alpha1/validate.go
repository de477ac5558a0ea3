package v1alpha1

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Validate checks every rule of a new object (after Default) and returns all broken rules at
// once, each with its field path. With a non-nil Resolver it also checks that the objects it
// refers to exist and fit; a nil Resolver skips those checks.
func Validate(ctx context.Context, obj Object, r Resolver) ErrorList {
	return validate(ctx, obj, r, nil)
}

// ValidateUpdate checks a replacement of old by obj: every rule of Validate, plus the fields that
// cannot change after creation. old is the stored object, secret included, so that an update
// may leave the client secret out to keep it. The Resolver also serves the profiles old pinned,
// to compare the managed control plane before and after.
func ValidateUpdate(ctx context.Context, old, obj Object, r Resolver) ErrorList {
	errs := validate(ctx, obj, r, old)
	if o, ok := obj.(*Cluster); ok {
		if prev, ok := old.(*Cluster); ok {
			validateClusterUpdate(ctx, prev, o, r, &errs)
		}
	}
	return errs
}

func validate(ctx context.Context, obj Object, r Resolver, old Object) ErrorList {
	var errs ErrorList
	validateMeta(obj, &errs)
	switch o := obj.(type) {
	case *CloudAccount:
		prev, _ := old.(*CloudAccount)
		validateCloudAccount(ctx, o, r, prev, &errs)
	case *PrivateCloudGateway:
		validateGateway(o, &errs)
		if prev, ok := old.(*PrivateCloudGateway); ok {
			checkProxyPasswordUpdate(&errs, "spec.proxy", prev.Spec.Proxy, o.Spec.Proxy)
		}
	case *ClusterProfile:
		validateProfile(o, &errs)
	case *Cluster:
		validateCluster(ctx, o, r, &errs)
	case *Role:
		validateRole(o, &errs)
	case *TagFilter:
		validateTagFilter(o, &errs)
	case *User:
		validateUser(o, &errs)
	case *Team:
		validateTeam(o, &errs)
	case *RoleBinding:
		validateRoleBinding(ctx, o, r, &errs)
	case *APIKey:
		prev, _ := old.(*APIKey)
		validateAPIKey(ctx, o, r, prev, &errs)
	}
	return errs
}

// validateClusterUpdate refuses changes to the fields fixed at creation, and the changes each
// type of cluster cannot make in place: for AKS, what AKS does not allow to the managed control
// plane, its Kubernetes version and existing node pools; for a self-managed cluster, what
// would need its machines replaced (CheckSelfManagedUpdate).
func validateClusterUpdate(ctx context.Context, old, o *Cluster, r Resolver, errs *ErrorList) {
	immutable := func(p Path, before, after any) {
		if !reflect.DeepEqual(before, after) {
			errs.Add(p, RuleImmutable, "cannot change after the cluster is created; create a new cluster instead")
		}
	}
	immutable("spec.cloudAccount", old.Spec.CloudAccount, o.Spec.CloudAccount)
	immutable("spec.azure.type", old.Spec.Azure.Type, o.Spec.Azure.Type)
	immutable("spec.azure.subscriptionID", old.Spec.Azure.SubscriptionID, o.Spec.Azure.SubscriptionID)
	immutable("spec.azure.resourceGroup", old.Spec.Azure.ResourceGroup, o.Spec.Azure.ResourceGroup)
	immutable("spec.azure.location", old.Spec.Azure.Location, o.Spec.Azure.Location)
	immutable("spec.azure.placement", old.Spec.Azure.Placement, o.Spec.Azure.Placement)
	immutable("spec.azure.storage", old.Spec.Azure.Storage, o.Spec.Azure.Storage)
	checkAPIServerLBUpdate(errs, old, o)
	if o.Spec.Azure.Type != old.Spec.Azure.Type {
		return
	}
	switch o.Spec.Azure.Type {
	case ClusterTypeAKS:
		validateAKSUpdate(ctx, old, o, r, errs)
	case ClusterTypeIaaS:
		*errs = append(*errs, CheckSelfManagedUpdate(old, resolveProfiles(ctx, old, r), o, resolveProfiles(ctx, o, r))...)
	}
}

// validateAKSUpdate refuses the changes AKS does not allow to existing node pools, the
// Kubernetes version and the managed control plane.
func validateAKSUpdate(ctx context.Context, old, o *Cluster, r Resolver, errs *ErrorList) {
	checkAKSPoolUpdate(errs, "spec.machinePools", old.Spec.MachinePools, o.Spec.MachinePools)
	if r == nil {
		return
	}
	// Without the kubernetes layer, or with values that do not parse, there is nothing to
	// compare: validation of the new object reports why.
	before, ok := effectiveKubernetesLayer(ctx, old, r)
	if !ok {
		return
	}
	after, ok := effectiveKubernetesLayer(ctx, o, r)
	if !ok {
		return
	}
	checkKubernetesVersionUpdate(errs, Path("spec.profiles").Index(after.ref).Child("version"), before.layer.Version, after.layer.Version)
	prev, okBefore := before.controlPlane()
	next, okAfter := after.controlPlane()
	if okBefore && okAfter {
		checkManagedControlPlaneUpdate(errs, after.path.Child("managedControlPlane"), prev, next)
	}
}

// checkManagedControlPlaneUpdate refuses the changes AKS does not allow, with CAPZ's messages:
// turning off Entra ID, auto upgrades by removal, the OIDC issuer, workload identity by removal,
// and removing an add-on.
func checkManagedControlPlaneUpdate(errs *ErrorList, p Path, before, after *ManagedControlPlane) {
	if aad := before.AADProfile; aad != nil && aad.Managed {
		switch {
		case after.AADProfile == nil:
			errs.Add(p.Child("aadProfile"), RuleImmutable, "field cannot be nil, cannot disable AADProfile: Entra ID integration cannot be turned off once on")
		case !after.AADProfile.Managed:
			errs.Add(p.Child("aadProfile").Child("managed"), RuleImmutable, "cannot set AADProfile.Managed to false: Entra ID integration cannot be turned off once on")
		}
	}
	if before.AutoUpgradeProfile != nil && after.AutoUpgradeProfile == nil {
		errs.Add(p.Child("autoUpgradeProfile"), RuleImmutable, "field cannot be set to nil, to disable auto upgrades set the channel to none")
	}
	if oidcIssuerEnabled(before) && !oidcIssuerEnabled(after) {
		op := p.Child("oidcIssuerProfile")
		if after.OIDCIssuerProfile != nil {
			op = op.Child("enabled")
		}
		errs.Add(op, RuleImmutable, "the OIDC issuer cannot be disabled once enabled: AKS does not allow turning it off")
	}
	if workloadIdentityEnabled(before) && (after.SecurityProfile == nil || after.SecurityProfile.WorkloadIdentity == nil) {
		errs.Add(p.Child("securityProfile").Child("workloadIdentity"), RuleImmutable, "to disable workload identity set securityProfile.workloadIdentity.enabled to false; removing the block is not allowed")
	}
	kept := map[string]bool{}
	for _, a := range after.AddonProfiles {
		kept[a.Name] = true
	}
	for i, a := range before.AddonProfiles {
		if !kept[a.Name] {
			errs.Add(p.Child("addonProfiles"), RuleImmutable, "cannot remove addonProfile %s, to disable this add-on set addonProfiles[%d].enabled to false", a.Name, i)
		}
	}
}

// checkKubernetesVersionUpdate refuses a Kubernetes version older than before, or more than one
// minor version newer. Versions that do not parse are not compared.
func checkKubernetesVersionUpdate(errs *ErrorList, p Path, before, after string) {
	b, okBefore := parseKubernetesVersion(before)
	a, okAfter := parseKubernetesVersion(after)
	if !okBefore || !okAfter {
		return
	}
	switch {
	case a.compare(b) < 0:
		errs.Add(p, RuleRange, "field version cannot be downgraded: the kubernetes layer goes from %s to the older %s", before, after)
	case a.major != b.major || a.minor > b.minor+1:
		errs.Add(p, RuleRange, "AKS upgrades the control plane one minor version at a time: from %d.%d go to %d.%d first", b.major, b.minor, b.major, b.minor+1)
	}
}

// kubernetesVersion is the numeric part of a Kubernetes version.
type kubernetesVersion struct{ major, minor, patch int }

var kubernetesVersionPattern = regexp.MustCompile(`^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$`)

// parseKubernetesVersion reads major.minor[.patch], with an optional leading v; a pre-release
// or build suffix is ignored.
func parseKubernetesVersion(s string) (kubernetesVersion, bool) {
	m := kubernetesVersionPattern.FindStringSubmatch(s)
	if m == nil {
		return kubernetesVersion{}, false
	}
	var n [3]int
	for i, part := range m[1:] {
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(part)
		if err != nil {
			return kubernetesVersion{}, false
		}
		n[i] = v
	}
	return kubernetesVersion{major: n[0], minor: n[1], patch: n[2]}, true
}

// compare returns -1, 0 or 1 as v is older than, the same as or newer than w.
func (v kubernetesVersion) compare(w kubernetesVersion) int {
	return cmp.Or(cmp.Compare(v.major, w.major), cmp.Compare(v.minor, w.minor), cmp.Compare(v.patch, w.patch))
}

// checkAKSPoolUpdate refuses changes AKS cannot make in place to a node pool that exists before
// and after (matched by name). Pools may be added and removed; count, min, max, labels, taints
// and system may change.
func checkAKSPoolUpdate(errs *ErrorList, p Path, old, pools []MachinePool) {
	existingPools(old, pools, func(i int, was, mp *MachinePool) {
		pp := p.Index(i)
		fixed := func(field Path, changed bool, before string) {
			if changed {
				errs.Add(field, RuleImmutable, "cannot change on an existing AKS node pool (it was %s): Azure does not allow it in place; add a pool with the new value and remove this one", before)
			}
		}
		fixed(pp.Child("instanceType"), mp.InstanceType != was.InstanceType, was.InstanceType)
		fixed(pp.Child("zones"), !sameSet(mp.Zones, was.Zones), describeZones(was.Zones))
		fixed(pp.Child("osDisk").Child("sizeGB"), mp.OSDisk.SizeGB != was.OSDisk.SizeGB, fmt.Sprintf("%d GB", was.OSDisk.SizeGB))
		fixed(pp.Child("osDisk").Child("type"), mp.OSDisk.Type != was.OSDisk.Type, was.OSDisk.Type)
		fixed(pp.Child("maxPods"), !equalPtr(mp.MaxPods, was.MaxPods), describeMaxPods(was.MaxPods))
	})
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func equalPtr(a, b *int) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func describeZones(z []string) string {
	if len(z) == 0 {
		return "every zone of the region"
	}
	return "[" + strings.Join(z, ", ") + "]"
}

func describeMaxPods(n *int) string {
	if n == nil {
		return "Azure's default"
	}
	return strconv.Itoa(*n)
}

// clusterLayer is a layer of a cluster's pinned profiles, with the cluster's overrides of its
// values.
type clusterLayer struct {
	layer Layer
	// ref is the index in spec.profiles of the profile holding the layer, and profile that
	// profile.
	ref     int
	profile *ClusterProfile
	// path names the cluster's overrides of the layer: spec.profiles[ref].values["name"].
	path Path
	// values are the layer's values with the overrides merged over them; nil when either does
	// not parse.
	values map[string]any
}

// resolveProfiles looks up the profiles c pins, in the order of spec.profiles; an entry is nil
// when its profile cannot be found (or r is nil).
func resolveProfiles(ctx context.Context, c *Cluster, r Resolver) []*ClusterProfile {
	out := make([]*ClusterProfile, len(c.Spec.Profiles))
	if r == nil {
		return out
	}
	for i, ref := range c.Spec.Profiles {
		obj, err := r.Lookup(ctx, KindClusterProfile, ProfileKey(ref.Name, ref.Version))
		if prof, ok := obj.(*ClusterProfile); ok && err == nil {
			out[i] = prof
		}
	}
	return out
}

// findLayer returns the first layer of a type in the profiles a cluster pins (profiles[i] is
// the profile of spec.profiles[i], nil when unknown), as the plan reads it. It returns false
// when no known profile holds one.
func findLayer(c *Cluster, profiles []*ClusterProfile, layerType string) (clusterLayer, bool) {
	for i, prof := range profiles {
		if prof == nil || i >= len(c.Spec.Profiles) {
			continue
		}
		ref := c.Spec.Profiles[i]
		for _, l := range prof.Spec.Layers {
			if l.Type != layerType {
				continue
			}
			cl := clusterLayer{layer: l, ref: i, profile: prof, path: Path("spec.profiles").Index(i).Child("values").Key(l.Name)}
			base, berr := ParseValues(l.Values)
			override, oerr := ParseValues(ref.Values[l.Name])
			if berr == nil && oerr == nil {
				cl.values = MergeValues(base, override)
			}
			return cl, true
		}
	}
	return clusterLayer{}, false
}

// effectiveKubernetesLayer finds the kubernetes layer of the profiles a cluster pins. It returns
// false when no profile that can be looked up holds one.
func effectiveKubernetesLayer(ctx context.Context, c *Cluster, r Resolver) (clusterLayer, bool) {
	return findLayer(c, resolveProfiles(ctx, c, r), LayerKubernetes)
}

// controlPlane decodes the layer's managedControlPlane block without checking its values, an
// absent block as one with every option off. It returns false when the values or the block do
// not decode.
func (l clusterLayer) controlPlane() (*ManagedControlPlane, bool) {
	if l.values == nil {
		return nil, false
	}
	var errs ErrorList
	mcp := decodeManagedControlPlane(&errs, l.path, l.values)
	if len(errs) > 0 {
		return nil, false
	}
	if mcp == nil {
		mcp = &ManagedControlPlane{}
	}
	return mcp, true
}

// EffectiveManagedControlPlane returns the managedControlPlane of an AKS cluster: its kubernetes
// layer's values with the cluster's overrides merged over them. The path names the overrides of
// that layer. It returns nil when the block is absent, invalid, or its profile cannot be found.
func EffectiveManagedControlPlane(ctx context.Context, c *Cluster, r Resolver) (*ManagedControlPlane, Path) {
	l, ok := effectiveKubernetesLayer(ctx, c, r)
	if !ok {
		return nil, ""
	}
	if l.values == nil {
		return nil, l.path
	}
	var discard ErrorList
	return ParseManagedControlPlane(&discard, l.path, l.values), l.path
}
