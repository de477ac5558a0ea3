package v1alpha1

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// replaceMachines ends the message of a change of what a self-managed cluster's machines are
// built from while a rolling replacement of them is under way (a format taking the cluster's
// name): strata replaces the machines toward one template at a time, so a new one waits until
// every machine is on the current one. Outside a replacement such a change is allowed, within
// the kubeadm version rules (see CheckSelfManagedUpdate), and starts one.
const replaceMachines = "wait until it finishes (strata describe cluster %s shows its progress), then apply the change again"

// CheckSelfManagedUpdate returns what an update of a self-managed (iaas) cluster may not change.
//
// What its machines are built from, the kubernetes layer's version and the OS layer's version
// and image (from a profile version or an override), may change: strata then replaces the
// machines one at a time (a rolling replacement, see status.upgrade), so the change is allowed
// as kubeadm can make it: the kubernetes version may move a patch up, or one minor version up,
// not down and not past a minor version (kubeadm upgrades one minor version at a time, and
// etcd and the API server do not go back), and a version must parse as major.minor.patch to be
// compared. While a rolling replacement is under way (old's status.upgrade), none of them may
// change. The pod and service ranges may not change at all: every node and pod was given
// addresses from them.
//
// On a pool with machines, what Azure cannot change on a VM in place (size, zones, OS disk) and
// what nodes take only when they join (labels, taints) stay refused, as do another
// control-plane pool, which would be a new etcd, and the SSH key. oldProfiles and profiles are
// the profiles old and c pin, in the order of their spec.profiles, nil for one not found. What
// strata changes in place (tags, counts, autoscaler bounds, pools added or removed, add-on and
// network layers) stays allowed.
func CheckSelfManagedUpdate(old *Cluster, oldProfiles []*ClusterProfile, c *Cluster, profiles []*ClusterProfile) ErrorList {
	var errs ErrorList
	for _, layerType := range []string{LayerOS, LayerKubernetes} {
		before, okBefore := findLayer(old, oldProfiles, layerType)
		after, okAfter := findLayer(c, profiles, layerType)
		if okBefore && okAfter && before.values != nil && after.values != nil {
			checkNodeInputs(&errs, old, before, after)
		}
	}
	checkSelfManagedPools(&errs, "spec.machinePools", old.Spec.MachinePools, c.Spec.MachinePools)
	if old.Spec.Azure.SSHPublicKey != c.Spec.Azure.SSHPublicKey {
		errs.Add("spec.azure.sshPublicKey", RuleImmutable, "cannot change on a self-managed cluster: Azure does not change the SSH keys of an existing Linux VM (PropertyChangeNotAllowed); create a new cluster")
	}
	return errs
}

// nodeInput is a value of a layer that a self-managed cluster's machines are built from (see
// internal/plan: the VM image and the kubeadm configuration in the VMs' custom data).
type nodeInput struct {
	layerType, name string
	// value reads it from a layer, normalized as the plan reads it.
	value func(l clusterLayer) string
	// template says the value is part of the machine template: a change replaces the machines.
	// Any other value is immutable, for why.
	template bool
	why      string
}

var nodeInputs = []nodeInput{
	{LayerOS, "version", layerVersionOf, true, ""},
	{LayerOS, "image.vhd", valueAt("image", "vhd"), true, ""},
	{LayerOS, "image.vhdURL", valueAt("image", "vhdURL"), true, ""},
	{LayerOS, "image.hyperVGeneration", hyperVGeneration, true, ""},
	{LayerKubernetes, "version", layerVersionOf, true, ""},
	{LayerKubernetes, "pack.podCIDR", valueOr(DefaultPodCIDR, "pack", "podCIDR"), false,
		"the pod and service ranges of a running cluster cannot change: create a new cluster"},
	{LayerKubernetes, "pack.serviceClusterIpRange", valueOr(DefaultServiceCIDR, "pack", "serviceClusterIpRange"), false,
		"the pod and service ranges of a running cluster cannot change: create a new cluster"},
}

func layerVersionOf(l clusterLayer) string { return strings.TrimPrefix(l.layer.Version, "v") }

func valueAt(path ...string) func(clusterLayer) string { return valueOr("", path...) }

func valueOr(def string, path ...string) func(clusterLayer) string {
	return func(l clusterLayer) string {
		var v any = l.values
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if s, ok := v.(string); ok && s != "" {
			return s
		}
		return def
	}
}

// hyperVGeneration is V1 when the values say so, else V2, as the plan reads it.
func hyperVGeneration(l clusterLayer) string {
	if strings.EqualFold(valueAt("image", "hyperVGeneration")(l), "V1") {
		return "V1"
	}
	return "V2"
}

// checkNodeInputs reports the changes of node inputs of a layer between before (the layer of
// old, the cluster before the update) and after that the cluster cannot take, at the field that
// changed them (see changedBy): a change of the machine template while old's rolling
// replacement is under way, a kubernetes version that kubeadm cannot upgrade to, and, once per
// layer, a change of an immutable value.
func checkNodeInputs(errs *ErrorList, old *Cluster, before, after clusterLayer) {
	var template, immutable []string
	var why string
	for _, in := range nodeInputs {
		if in.layerType != after.layer.Type {
			continue
		}
		b, a := in.value(before), in.value(after)
		if b == a {
			continue
		}
		change := fmt.Sprintf("%s from %s to %s", in.name, orNone(b), orNone(a))
		if in.template {
			template = append(template, change)
		} else {
			immutable, why = append(immutable, change), in.why
		}
	}
	field := changedBy(before, after)
	switch up := old.Status.Upgrade; {
	case len(template) > 0 && up != nil:
		errs.Add(field, RuleConflict, "the %s layer %q changes %s while a rolling replacement of the machines from %s to %s is under way: "+replaceMachines,
			after.layer.Type, after.layer.Name, strings.Join(template, ", "), up.From, up.To, old.Metadata.Name)
	case after.layer.Type == LayerKubernetes:
		checkKubeadmUpgrade(errs, field, after.layer.Name, before.layer.Version, after.layer.Version)
	}
	if len(immutable) > 0 {
		errs.Add(field, RuleImmutable, "the %s layer %q changes %s, which the machines were built with: %s",
			after.layer.Type, after.layer.Name, strings.Join(immutable, ", "), why)
	}
}

// checkKubeadmUpgrade refuses at p a change of the version of the kubernetes layer name from
// before to after that kubeadm cannot make by replacing the machines: a version that does not
// parse as major.minor.patch (with an optional leading v), a downgrade, and a step of more than
// one minor version or of a major version. The same version in another spelling (v1.30.4 for
// 1.30.4) is no change.
func checkKubeadmUpgrade(errs *ErrorList, p Path, name, before, after string) {
	if before == after {
		return
	}
	b, okBefore := parseStrictVersion(before)
	a, okAfter := parseStrictVersion(after)
	switch {
	case !okAfter:
		errs.Add(p, RuleFormat, "the kubernetes layer %q goes from %s to %q, which is not a version major.minor.patch (such as 1.31.2): strata cannot tell whether kubeadm can upgrade to it", name, before, after)
	case !okBefore:
		errs.Add(p, RuleFormat, "the kubernetes layer %q goes from %q, which is not a version major.minor.patch (such as 1.31.2), to %s: strata cannot tell whether kubeadm can upgrade from it; create a new cluster", name, before, after)
	case a.compare(b) < 0:
		errs.Add(p, RuleRange, "the kubernetes layer %q goes from %s down to %s: kubeadm does not downgrade a cluster (etcd and the API server's stored objects do not go back); pin a profile with %s or later", name, before, after, b)
	case a.major != b.major:
		errs.Add(p, RuleRange, "the kubernetes layer %q goes from %s to %s, another major version: kubeadm upgrades one minor version at a time", name, before, after)
	case a.minor > b.minor+1:
		errs.Add(p, RuleRange, "the kubernetes layer %q goes from %s to %s, which skips %s: kubeadm upgrades one minor version at a time; upgrade to %d.%d first",
			name, before, after, skippedMinors(b, a), b.major, b.minor+1)
	}
}

// skippedMinors names the minor versions between b and a, e.g. "1.31" or "1.31 to 1.32".
func skippedMinors(b, a kubernetesVersion) string {
	first, last := b.minor+1, a.minor-1
	if first == last {
		return fmt.Sprintf("%d.%d", b.major, first)
	}
	return fmt.Sprintf("%d.%d to %d.%d", b.major, first, b.major, last)
}

var strictVersionPattern = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)$`)

// parseStrictVersion reads major.minor.patch, numbers with an optional leading v and nothing
// else: what kubeadm is upgraded between.
func parseStrictVersion(s string) (kubernetesVersion, bool) {
	m := strictVersionPattern.FindStringSubmatch(s)
	if m == nil {
		return kubernetesVersion{}, false
	}
	var n [3]int
	for i, part := range m[1:] {
		v, err := strconv.Atoi(part)
		if err != nil {
			return kubernetesVersion{}, false
		}
		n[i] = v
	}
	return kubernetesVersion{major: n[0], minor: n[1], patch: n[2]}, true
}

// String returns major.minor.patch.
func (v kubernetesVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

// changedBy is the field of the new cluster that changed a layer: the profile pinned at its
// place when that is another profile or version than the layer came from before, else the
// overrides of its values.
func changedBy(before, after clusterLayer) Path {
	p := Path("spec.profiles").Index(after.ref)
	switch {
	case after.profile.Metadata.Name != before.profile.Metadata.Name:
		return p.Child("name")
	case after.profile.Spec.Version != before.profile.Spec.Version:
		return p.Child("version")
	}
	return after.path
}

// checkSelfManagedPools refuses the changes of a self-managed cluster's pools that its machines
// cannot take: on a pool that exists before and after (by name) and has machines, a VM size,
// zones or OS disk that Azure cannot change in place, and labels or taints that nodes take only
// when they join; and a control-plane pool of another name, a new control plane.
func checkSelfManagedPools(errs *ErrorList, p Path, old, pools []MachinePool) {
	existingPools(old, pools, func(i int, was, mp *MachinePool) {
		if was.Count == 0 {
			return // no machine yet: the next ones are made as the pool now says
		}
		pp := p.Index(i)
		fixed := func(field Path, changed bool, before, why string) {
			if changed {
				errs.Add(field, RuleImmutable, "cannot change on a pool with machines (it was %s): %s; add a pool with the new value and remove this one", before, why)
			}
		}
		fixed(pp.Child("instanceType"), mp.InstanceType != was.InstanceType, was.InstanceType, "Azure resizes a VM only by restarting it, and strata replaces machines only for a new Kubernetes version or OS image")
		fixed(pp.Child("zones"), !sameSet(mp.Zones, was.Zones), describeZones(was.Zones), "Azure cannot move a VM to another zone")
		fixed(pp.Child("osDisk").Child("sizeGB"), mp.OSDisk.SizeGB != was.OSDisk.SizeGB, fmt.Sprintf("%d GB", was.OSDisk.SizeGB), "Azure resizes an OS disk only while its VM is deallocated, and never shrinks one")
		fixed(pp.Child("osDisk").Child("type"), mp.OSDisk.Type != was.OSDisk.Type, was.OSDisk.Type, "Azure changes an OS disk's type only while its VM is deallocated")
		joined := func(field string, changed bool) {
			if changed {
				errs.Add(pp.Child(field), RuleUnsupported, "a pool's %s reach its nodes only when they join the cluster, and strata replaces machines only for a new Kubernetes version or OS image: add a pool with the new %s and remove this one", field, field)
			}
		}
		joined("labels", !maps.Equal(mp.Labels, was.Labels))
		joined("taints", !reflect.DeepEqual(mp.Taints, was.Taints) && (len(mp.Taints) > 0 || len(was.Taints) > 0))
	})
	checkControlPlanePoolKept(errs, p, old, pools)
}

// checkControlPlanePoolKept refuses a control-plane pool of another name than before: its
// machines would all be replaced by new ones, with a new etcd.
func checkControlPlanePoolKept(errs *ErrorList, p Path, old, pools []MachinePool) {
	var before string
	for _, mp := range old {
		if mp.ControlPlane {
			before = mp.Name
		}
	}
	for i, mp := range pools {
		if mp.ControlPlane && before != "" && mp.Name != before {
			errs.Add(p.Index(i).Child("name"), RuleImmutable, "the control-plane pool %q cannot be renamed or replaced: its machines hold the cluster's etcd, and a pool of another name would be a new, empty control plane", before)
		}
	}
}

// existingPools calls f for each pool of pools that old has too, by name, with its index in
// pools and both versions.
func existingPools(old, pools []MachinePool, f func(i int, was, mp *MachinePool)) {
	prev := map[string]*MachinePool{}
	for i := range old {
		prev[old[i].Name] = &old[i]
	}
	for i := range pools {
		if was, ok := prev[pools[i].Name]; ok {
			f(i, was, &pools[i])
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
