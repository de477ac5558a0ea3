package v1alpha1

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
)

// replaceMachines ends the message of a change that needs a self-managed cluster's machines
// replaced.
const replaceMachines = "rolling upgrade of self-managed clusters is not supported yet: create a new cluster or pin the previous profile version"

// CheckSelfManagedUpdate returns what an update of a self-managed (iaas) cluster may not change
// while strata cannot replace its machines: the values its machines are built from (the
// kubernetes layer's version, pod and service ranges, the OS layer's version and image, from a
// profile version or an override), on a pool with machines what Azure cannot change on a VM in
// place (size, zones, OS disk) and what nodes take only when they join (labels, taints), the
// control-plane pool, which holds etcd, and the SSH key. oldProfiles and profiles are the
// profiles old and c pin, in the order of their spec.profiles, nil for one not found. What
// strata changes in place (tags, counts, autoscaler bounds, pools added or removed, add-on and
// network layers) stays allowed.
func CheckSelfManagedUpdate(old *Cluster, oldProfiles []*ClusterProfile, c *Cluster, profiles []*ClusterProfile) ErrorList {
	var errs ErrorList
	for _, layerType := range []string{LayerOS, LayerKubernetes} {
		before, okBefore := findLayer(old, oldProfiles, layerType)
		after, okAfter := findLayer(c, profiles, layerType)
		if okBefore && okAfter && before.values != nil && after.values != nil {
			checkNodeInputs(&errs, before, after)
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
	rule  Rule
	why   string
}

var nodeInputs = []nodeInput{
	{LayerOS, "version", layerVersionOf, RuleUnsupported, replaceMachines},
	{LayerOS, "image.vhd", valueAt("image", "vhd"), RuleUnsupported, replaceMachines},
	{LayerOS, "image.vhdURL", valueAt("image", "vhdURL"), RuleUnsupported, replaceMachines},
	{LayerOS, "image.hyperVGeneration", hyperVGeneration, RuleUnsupported, replaceMachines},
	{LayerKubernetes, "version", layerVersionOf, RuleUnsupported, replaceMachines},
	{LayerKubernetes, "pack.podCIDR", valueOr(DefaultPodCIDR, "pack", "podCIDR"), RuleImmutable,
		"the pod and service ranges of a running cluster cannot change: create a new cluster"},
	{LayerKubernetes, "pack.serviceClusterIpRange", valueOr(DefaultServiceCIDR, "pack", "serviceClusterIpRange"), RuleImmutable,
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

// checkNodeInputs reports, once per rule, the node inputs of a layer that differ between before
// (the layer of the cluster before the update) and after, at the field that changed them: the pinned profile when the
// layer comes from another profile or version, else the cluster's overrides of the layer.
func checkNodeInputs(errs *ErrorList, before, after clusterLayer) {
	changed := map[Rule][]string{}
	why := map[Rule]string{}
	for _, in := range nodeInputs {
		if in.layerType != after.layer.Type {
			continue
		}
		if b, a := in.value(before), in.value(after); b != a {
			changed[in.rule] = append(changed[in.rule], fmt.Sprintf("%s from %s to %s", in.name, orNone(b), orNone(a)))
			why[in.rule] = in.why
		}
	}
	for _, rule := range []Rule{RuleUnsupported, RuleImmutable} {
		if len(changed[rule]) > 0 {
			errs.Add(changedBy(before, after), rule, "the %s layer %q changes %s, which the machines were built with: %s",
				after.layer.Type, after.layer.Name, strings.Join(changed[rule], ", "), why[rule])
		}
	}
}

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
		fixed(pp.Child("instanceType"), mp.InstanceType != was.InstanceType, was.InstanceType, "Azure resizes a VM only by restarting it, and strata does not restart or replace nodes yet")
		fixed(pp.Child("zones"), !sameSet(mp.Zones, was.Zones), describeZones(was.Zones), "Azure cannot move a VM to another zone")
		fixed(pp.Child("osDisk").Child("sizeGB"), mp.OSDisk.SizeGB != was.OSDisk.SizeGB, fmt.Sprintf("%d GB", was.OSDisk.SizeGB), "Azure resizes an OS disk only while its VM is deallocated, and never shrinks one")
		fixed(pp.Child("osDisk").Child("type"), mp.OSDisk.Type != was.OSDisk.Type, was.OSDisk.Type, "Azure changes an OS disk's type only while its VM is deallocated")
		joined := func(field string, changed bool) {
			if changed {
				errs.Add(pp.Child(field), RuleUnsupported, "a pool's %s reach its nodes only when they join the cluster, and strata does not update or replace nodes yet: add a pool with the new %s and remove this one", field, field)
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
