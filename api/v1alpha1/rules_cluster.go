package v1alpha1

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/ssh"
)

// Tags strata puts on every Azure resource it creates, besides the cluster's own.
const (
	// TagOwner marks a resource as created and owned by a strata cluster.
	TagOwner = "strata.dev_cluster"
	// TagRole says what the resource is for in the cluster (apiserver, nodes, ...).
	TagRole = "strata.dev_role"
	// SystemTagPrefix starts every tag name reserved for strata.
	SystemTagPrefix = "strata.dev"
	// SystemTagCount is how many tags strata adds to each resource.
	SystemTagCount = 2
	// MaxTagsPerResource is Azure's limit of tags on one resource.
	MaxTagsPerResource = 50
	// MaxTagNameLength and MaxTagValueLength are Azure's limits; storage accounts allow only
	// MaxStorageTagNameLength characters in a tag name.
	MaxTagNameLength        = 512
	MaxTagValueLength       = 256
	MaxStorageTagNameLength = 128
)

// ReservedTagNames are the tag names (and name prefixes, in any case) that Azure reserves.
var ReservedTagNames = []string{"azure", "microsoft", "windows"}

// Zones are the availability zones a pool may name.
var Zones = []string{"1", "2", "3"}

// OSDiskTypes are the managed disk types of an OS disk of an iaas cluster's node.
var OSDiskTypes = []string{"Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "StandardSSD_ZRS", "Premium_ZRS"}

// AKSOSDiskTypes are the OS disk types of an AKS node pool: AKS picks the disk SKU itself.
var AKSOSDiskTypes = []string{"Managed", "Ephemeral"}

// Limits of a node's OS disk in GB, and of the pods an AKS node runs.
const (
	minOSDiskSizeGB         = 30
	maxOSDiskSizeGB         = 4095
	maxAKSOSDiskSizeGB      = 2048
	minAKSMaxPods           = 10
	maxAKSMaxPods           = 250
	minAKSSystemPoolMaxPods = 30
)

// TaintEffects are the effects of a Kubernetes taint.
var TaintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}

// Tag is a parsed cluster tag.
type Tag struct{ Key, Value string }

// ParseTag splits a "key:value" tag. It does not validate the parts.
func ParseTag(s string) (Tag, bool) {
	k, v, ok := strings.Cut(s, ":")
	return Tag{Key: k, Value: v}, ok
}

func validateCluster(ctx context.Context, o *Cluster, r Resolver, errs *ErrorList) {
	s := &o.Spec
	az := &s.Azure
	checkName(errs, "spec.cloudAccount", s.CloudAccount)
	if dns1123Label.MatchString(s.CloudAccount) {
		checkExists(ctx, r, errs, "spec.cloudAccount", KindCloudAccount, s.CloudAccount)
	}
	checkEnum(errs, "spec.azure.type", az.Type, ClusterTypeIaaS, ClusterTypeAKS)
	checkGUID(errs, "spec.azure.subscriptionID", az.SubscriptionID)
	checkResourceGroup(errs, "spec.azure.resourceGroup", az.ResourceGroup)
	checkLocation(errs, "spec.azure.location", az.Location)
	checkSSHKey(errs, "spec.azure.sshPublicKey", az.SSHPublicKey)
	if az.Placement != nil {
		checkPlacement(errs, "spec.azure.placement", az.Placement)
	}
	if az.Storage != nil {
		checkStorage(errs, "spec.azure.storage", az)
	}
	if az.APIServerLB != nil {
		checkAPIServerLB(errs, "spec.azure.apiServerLB", az)
	}
	checkTags(errs, "spec.tags", s.Tags, az.Type == ClusterTypeIaaS && az.Storage == nil)
	checkPools(errs, "spec.machinePools", az.Type, s.MachinePools)
	checkDynamicNetworkName(errs, o)
	if az.Type == ClusterTypeIaaS {
		checkVMNames(errs, "spec.machinePools", o.Metadata.Name, s.MachinePools)
		checkSubnetCapacity(errs, o)
	}
	checkProfileRefs(ctx, r, errs, o)
}

// checkSSHKey checks an OpenSSH RSA public key of at least 2048 bits, as Azure requires.
func checkSSHKey(errs *ErrorList, p Path, v string) {
	if !required(errs, p, v) {
		return
	}
	key, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(v))
	if err != nil {
		errs.Add(p, RuleFormat, "does not parse as an OpenSSH public key (ssh-rsa AAAA...): %v", err)
		return
	}
	if strings.TrimSpace(string(rest)) != "" {
		errs.Add(p, RuleFormat, "must hold exactly one public key")
		return
	}
	if key.Type() != ssh.KeyAlgoRSA {
		errs.Add(p, RuleFormat, "must be an RSA public key (ssh-rsa), got %s: Azure accepts only RSA keys for Linux VMs and AKS", key.Type())
		return
	}
	if ck, ok := key.(ssh.CryptoPublicKey); ok {
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
			errs.Add(p, RuleFormat, "RSA key has %d bits: Azure requires at least 2048", rk.N.BitLen())
		}
	}
}

func checkPlacement(errs *ErrorList, p Path, pl *StaticPlacement) {
	var missing []string
	if pl.ResourceGroup == "" {
		missing = append(missing, "resourceGroup")
	}
	if pl.VirtualNetwork == "" {
		missing = append(missing, "virtualNetwork")
	}
	if pl.CIDR == "" {
		missing = append(missing, "cidr")
	}
	if pl.ControlPlaneSubnet == nil {
		missing = append(missing, "controlPlaneSubnet")
	}
	if pl.WorkerSubnet == nil {
		missing = append(missing, "workerSubnet")
	}
	if len(missing) > 0 {
		errs.Add(p, RuleAllOrNothing, "static placement needs resourceGroup, virtualNetwork, cidr, controlPlaneSubnet and workerSubnet together (omit placement for dynamic placement); missing: %s", strings.Join(missing, ", "))
		return
	}
	checkResourceGroup(errs, p.Child("resourceGroup"), pl.ResourceGroup)
	checkNetName(errs, p.Child("virtualNetwork"), pl.VirtualNetwork, 64)
	vnet, vnetOK := parseIPv4Prefix(errs, p.Child("cidr"), pl.CIDR)
	if vnetOK && (vnet.Bits() < 8 || vnet.Bits() > 29) {
		errs.Add(p.Child("cidr"), RuleRange, "%s: a virtual network's prefix must be between /8 and /29", vnet)
		vnetOK = false
	}
	type subnet struct {
		path   Path
		pfx    netip.Prefix
		ok     bool
		subnet *Subnet
	}
	subs := []subnet{{path: p.Child("controlPlaneSubnet"), subnet: pl.ControlPlaneSubnet}, {path: p.Child("workerSubnet"), subnet: pl.WorkerSubnet}}
	for i := range subs {
		sn := subs[i].subnet
		sp := subs[i].path
		var miss []string
		for _, f := range []struct{ name, v string }{{"name", sn.Name}, {"cidr", sn.CIDR}, {"securityGroup", sn.SecurityGroup}} {
			if f.v == "" {
				miss = append(miss, f.name)
			}
		}
		if len(miss) > 0 {
			errs.Add(sp, RuleAllOrNothing, "a static subnet needs name, cidr and securityGroup (the user's network security group of that subnet); missing: %s", strings.Join(miss, ", "))
			continue
		}
		checkNetName(errs, sp.Child("name"), sn.Name, 80)
		checkNetName(errs, sp.Child("securityGroup"), sn.SecurityGroup, 80)
		pfx, ok := parseIPv4Prefix(errs, sp.Child("cidr"), sn.CIDR)
		if ok && pfx.Bits() > 29 {
			errs.Add(sp.Child("cidr"), RuleRange, "%s is too small: Azure subnets need a prefix of /29 or larger", pfx)
			ok = false
		}
		if ok && vnetOK && !(vnet.Bits() <= pfx.Bits() && vnet.Contains(pfx.Addr())) {
			errs.Add(sp.Child("cidr"), RuleOutsideRange, "%s is not inside the virtual network %s", pfx, vnet)
			ok = false
		}
		subs[i].pfx, subs[i].ok = pfx, ok
	}
	cp, wk := subs[0], subs[1]
	if cp.ok && wk.ok && cp.pfx.Overlaps(wk.pfx) {
		errs.Add(wk.path.Child("cidr"), RuleOverlap, "%s overlaps the control-plane subnet %s", wk.pfx, cp.pfx)
	}
	if cp.subnet.Name != "" && strings.EqualFold(cp.subnet.Name, wk.subnet.Name) {
		errs.Add(wk.path.Child("name"), RuleDuplicate, "the worker subnet must differ from the control-plane subnet %q", cp.subnet.Name)
	}
	if cp.subnet.SecurityGroup != "" && strings.EqualFold(cp.subnet.SecurityGroup, wk.subnet.SecurityGroup) {
		errs.Add(wk.path.Child("securityGroup"), RuleDuplicate, "the worker subnet needs its own network security group, not the control plane's %q", cp.subnet.SecurityGroup)
	}
}

func checkStorage(errs *ErrorList, p Path, az *ClusterAzure) {
	st := az.Storage
	if az.Type == ClusterTypeAKS {
		errs.Add(p, RuleForbidden, "custom storage applies only to iaas clusters: AKS manages its node images")
		return
	}
	checkStorageAccountName(errs, p.Child("account"), st.Account)
	if c := st.Container; c != "" {
		switch {
		case len(c) < 3 || len(c) > 63:
			errs.Add(p.Child("container"), RuleFormat, "%q must be 3-63 characters long", c)
		case !containerName.MatchString(c):
			errs.Add(p.Child("container"), RuleFormat, "%q must be lowercase letters, digits and '-', starting and ending with a letter or digit", c)
		case strings.Contains(c, "--"):
			errs.Add(p.Child("container"), RuleFormat, "%q must not contain two hyphens in a row", c)
		}
	}
}

// checkTags checks the cluster's "key:value" tags against strata's and Azure's rules.
// storageAccount says a storage account will carry the tags, which limits names to 128 characters.
func checkTags(errs *ErrorList, p Path, tags []string, storageAccount bool) {
	if max := MaxTagsPerResource - SystemTagCount; len(tags) > max {
		errs.Add(p, RuleTooMany, "%s given: at most %d, since Azure allows %d tags per resource and strata adds %d of its own", plural(len(tags), "tag"), max, MaxTagsPerResource, SystemTagCount)
	}
	seen := map[string]int{}
	for i, raw := range tags {
		ip := p.Index(i)
		t, ok := ParseTag(raw)
		switch {
		case !ok:
			errs.Add(ip, RuleFormat, "tag %q must be in key:value form, e.g. department:finance", raw)
			continue
		case strings.Contains(t.Value, ":"):
			errs.Add(ip, RuleFormat, "tag %q has more than one ':': use key:value with no ':' in the value", raw)
			continue
		case strings.TrimSpace(t.Key) == "":
			errs.Add(ip, RuleFormat, "tag %q has an empty key: use key:value, e.g. department:finance", raw)
			continue
		}
		lower := strings.ToLower(t.Key)
		reserved := ""
		for _, r := range append(ReservedTagNames, SystemTagPrefix) {
			if strings.HasPrefix(lower, r) {
				reserved = r
			}
		}
		if reserved != "" {
			errs.Add(ip, RuleReserved, "tag %q uses the reserved name %q: tag keys may not be or start with azure, microsoft, windows or strata.dev (in any case)", raw, reserved)
			continue
		}
		if bad := forbiddenTagChars(t.Key); bad != "" {
			errs.Add(ip, RuleFormat, "tag %q: the key contains %s, which Azure forbids in tag names (< > %% & \\ ? / and control characters)", raw, bad)
			continue
		}
		if hasControl(t.Value) {
			errs.Add(ip, RuleFormat, "tag %q: the value contains control characters", raw)
			continue
		}
		switch {
		case len(t.Key) > MaxTagNameLength:
			errs.Add(ip, RuleTooLong, "tag key is %d characters: Azure allows at most %d", len(t.Key), MaxTagNameLength)
		case storageAccount && len(t.Key) > MaxStorageTagNameLength:
			errs.Add(ip, RuleTooLong, "tag key is %d characters: the cluster's storage account allows at most %d", len(t.Key), MaxStorageTagNameLength)
		case len(t.Value) > MaxTagValueLength:
			errs.Add(ip, RuleTooLong, "tag value is %d characters: Azure allows at most %d", len(t.Value), MaxTagValueLength)
		}
		if j, dup := seen[lower]; dup {
			errs.Add(ip, RuleDuplicate, "tag key %q is already set by spec.tags[%d]: Azure tag names are case-insensitive", t.Key, j)
			continue
		}
		seen[lower] = i
	}
}

func forbiddenTagChars(s string) string {
	var bad []string
	for _, r := range s {
		if strings.ContainsRune(`<>%&\?/`, r) {
			bad = append(bad, fmt.Sprintf("%q", r))
		} else if unicode.IsControl(r) {
			bad = append(bad, "a control character")
		}
	}
	return strings.Join(bad, ", ")
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func checkPools(errs *ErrorList, p Path, clusterType string, pools []MachinePool) {
	if len(pools) == 0 {
		errs.Add(p, RuleRequired, "a cluster needs at least one machine pool")
		return
	}
	checkMaxItems(errs, p, len(pools), MaxMachinePools, "AKS's limit of node pools per cluster, which strata keeps for every cluster")
	names := map[string]int{}
	controlPlanes, systemNodes := 0, 0
	for i := range pools {
		mp := &pools[i]
		pp := p.Index(i)
		checkPoolName(errs, pp.Child("name"), clusterType, mp.Name)
		if j, dup := names[mp.Name]; dup && mp.Name != "" {
			errs.Add(pp.Child("name"), RuleDuplicate, "pool name %q is already used by spec.machinePools[%d]", mp.Name, j)
		} else {
			names[mp.Name] = i
		}
		checkPool(errs, pp, clusterType, mp)
		switch clusterType {
		case ClusterTypeIaaS:
			checkIaaSPool(errs, pp, mp)
			if mp.ControlPlane {
				controlPlanes++
			}
		case ClusterTypeAKS:
			checkAKSPool(errs, pp, mp)
			if mp.System && mp.Count >= 1 {
				systemNodes++
			}
		}
	}
	switch clusterType {
	case ClusterTypeIaaS:
		if controlPlanes != 1 {
			errs.Add(p, RuleCount, "an iaas cluster needs exactly one pool with controlPlane: true, found %d", controlPlanes)
		}
	case ClusterTypeAKS:
		if systemNodes == 0 {
			errs.Add(p, RuleCount, "an aks cluster needs at least one pool with system: true and count of 1 or more")
		}
	}
}

// checkPoolName checks a pool's name: a DNS-1123 label, and for AKS what AKS takes.
func checkPoolName(errs *ErrorList, p Path, clusterType, name string) {
	if clusterType != ClusterTypeAKS {
		checkName(errs, p, name)
		return
	}
	switch {
	case !required(errs, p, name):
	case len(name) > 12:
		errs.Add(p, RuleTooLong, "AKS node pool names can be at most 12 characters, got %d", len(name))
	case !aksPoolName.MatchString(name):
		errs.Add(p, RuleFormat, "%q: AKS node pool names are lowercase letters and digits, starting with a letter", name)
	}
}

// checkPool checks what every pool has: size, VM size, zones, OS disk, taints and labels.
func checkPool(errs *ErrorList, pp Path, clusterType string, mp *MachinePool) {
	checkPoolSize(errs, pp, mp)
	if mp.InstanceType != "" && (len(mp.InstanceType) > 64 || !vmSize.MatchString(mp.InstanceType)) {
		errs.Add(pp.Child("instanceType"), RuleFormat, "%q must be an Azure VM size such as Standard_D2s_v3", mp.InstanceType)
	}
	zones := map[string]bool{}
	for j, z := range mp.Zones {
		if zones[z] {
			errs.Add(pp.Child("zones").Index(j), RuleDuplicate, "zone %q is listed twice", z)
			continue
		}
		zones[z] = true
		checkEnum(errs, pp.Child("zones").Index(j), z, Zones...)
	}
	checkOSDisk(errs, pp.Child("osDisk"), clusterType, mp.OSDisk)
	checkTaints(errs, pp.Child("taints"), mp.Taints)
	checkLabels(errs, pp.Child("labels"), mp.Labels)
}

// checkIaaSPool checks what an iaas cluster's pool may not be: a system pool, a pool with
// maxPods, a pool whose rolling replacement could not proceed, or a control-plane pool that
// breaks etcd quorum or autoscales.
func checkIaaSPool(errs *ErrorList, pp Path, mp *MachinePool) {
	if mp.System {
		errs.Add(pp.Child("system"), RuleForbidden, "system pools are an AKS notion; an iaas cluster marks its control-plane pool with controlPlane: true")
	}
	if mp.MaxPods != nil {
		errs.Add(pp.Child("maxPods"), RuleForbidden, "maxPods applies to AKS node pools: strata does not set the pod limit of an iaas cluster's nodes")
	}
	checkRollingReplacement(errs, pp, mp)
	if !mp.ControlPlane {
		return
	}
	if mp.Count%2 == 0 || mp.Count < 1 || mp.Count > 5 {
		errs.Add(pp.Child("count"), RuleRange, "the control-plane pool needs an odd number of nodes (1, 3 or 5) to keep etcd quorum, got %d", mp.Count)
	}
	if (mp.Min != nil && *mp.Min != mp.Count) || (mp.Max != nil && *mp.Max != mp.Count) {
		errs.Add(pp, RuleForbidden, "the control-plane pool does not autoscale: min and max must equal count")
	}
}

// MaxDrainTimeout bounds a pool's drainTimeout: a rolling replacement waits that long at most
// for each node, and a day is already longer than any PodDisruptionBudget should hold one.
const MaxDrainTimeout = 24 * time.Hour

// checkRollingReplacement checks an iaas pool's settings of a rolling replacement of its
// machines: maxSurge and maxUnavailable are not negative and, with their defaults, not both 0,
// which would replace nothing; drainTimeout is a Go duration above 0 and at most
// MaxDrainTimeout; repairAfter a Go duration from 0 (no repair) to MaxDrainTimeout. The
// control-plane pool ignores maxSurge and maxUnavailable (its machines are
// replaced one at a time, new member first), so they are only checked not to be negative there.
func checkRollingReplacement(errs *ErrorList, pp Path, mp *MachinePool) {
	negative := false
	for _, f := range []struct {
		name string
		v    *int
	}{{"maxSurge", mp.MaxSurge}, {"maxUnavailable", mp.MaxUnavailable}} {
		if f.v != nil && *f.v < 0 {
			errs.Add(pp.Child(f.name), RuleRange, "%d is below 0: %s counts machines", *f.v, f.name)
			negative = true
		}
	}
	// maxSurge is 0 only when given: unset, it is 1.
	if !negative && !mp.ControlPlane && mp.Surge() == 0 && mp.Unavailable() == 0 {
		errs.Add(pp.Child("maxSurge"), RuleRange, "maxSurge and maxUnavailable cannot both be 0 (maxUnavailable defaults to %d): a rolling replacement could not make progress, as it could neither add a new machine nor take an old one away", DefaultMaxUnavailable)
	}
	if mp.DrainTimeout != "" {
		p := pp.Child("drainTimeout")
		d, err := time.ParseDuration(mp.DrainTimeout)
		switch {
		case err != nil:
			errs.Add(p, RuleFormat, "%q is not a duration such as 10m or 1h30m", mp.DrainTimeout)
		case d <= 0 || d > MaxDrainTimeout:
			errs.Add(p, RuleRange, "%s is outside (0, 24h]: a drain needs time, and a node is not kept draining for more than a day", mp.DrainTimeout)
		}
	}
	if mp.RepairAfter != "" {
		p := pp.Child("repairAfter")
		d, err := time.ParseDuration(mp.RepairAfter)
		switch {
		case err != nil:
			errs.Add(p, RuleFormat, "%q is not a duration such as 10m or 1h30m (0 turns repair off)", mp.RepairAfter)
		case d < 0 || d > MaxDrainTimeout:
			errs.Add(p, RuleRange, "%s is outside [0, 24h]: 0 turns repair off", mp.RepairAfter)
		}
	}
	checkScaleDownAfter(errs, pp, mp)
}

// checkScaleDownAfter checks an iaas pool's scaleDownAfter: a Go duration in (0, 24h], on a
// worker pool (the control-plane pool does not autoscale).
func checkScaleDownAfter(errs *ErrorList, pp Path, mp *MachinePool) {
	if mp.ScaleDownAfter == "" {
		return
	}
	p := pp.Child("scaleDownAfter")
	d, err := time.ParseDuration(mp.ScaleDownAfter)
	switch {
	case mp.ControlPlane:
		errs.Add(p, RuleForbidden, "the control-plane pool does not autoscale")
	case err != nil:
		errs.Add(p, RuleFormat, "%q is not a duration such as 10m or 1h30m", mp.ScaleDownAfter)
	case d <= 0 || d > MaxDrainTimeout:
		errs.Add(p, RuleRange, "%s is outside (0, 24h]", mp.ScaleDownAfter)
	}
}

// checkAKSPool checks what AKS takes of a node pool: no control plane, none of the settings of
// an iaas pool's rolling replacement, maxPods within AKS's range, no label AKS reserves, and system pools that keep a node and take no taints.
func checkAKSPool(errs *ErrorList, pp Path, mp *MachinePool) {
	if mp.ControlPlane {
		errs.Add(pp.Child("controlPlane"), RuleForbidden, "AKS runs the control plane itself; mark a node pool system: true instead")
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"maxSurge", mp.MaxSurge != nil}, {"maxUnavailable", mp.MaxUnavailable != nil}, {"drainTimeout", mp.DrainTimeout != ""}, {"repairAfter", mp.RepairAfter != ""}, {"scaleDownAfter", mp.ScaleDownAfter != ""}} {
		if f.set {
			errs.Add(pp.Child(f.name), RuleForbidden, "%s applies to an iaas cluster's machines: AKS upgrades, repairs and autoscales its node pools itself, with its own settings, which strata does not set", f.name)
		}
	}
	if n := mp.MaxPods; n != nil {
		switch {
		case *n < minAKSMaxPods || *n > maxAKSMaxPods:
			errs.Add(pp.Child("maxPods"), RuleRange, "MaxPods must be between %d and %d, got %d", minAKSMaxPods, maxAKSMaxPods, *n)
		case mp.System && *n < minAKSSystemPoolMaxPods:
			errs.Add(pp.Child("maxPods"), RuleRange, "AKS system pools need room for at least %d pods: the cluster's system pods run there, got %d", minAKSSystemPoolMaxPods, *n)
		}
	}
	for _, k := range sortedKeysOf(mp.Labels) {
		if strings.HasPrefix(k, "kubernetes.azure.com") {
			errs.Add(pp.Child("labels").Key(k), RuleReserved, "label keys starting with kubernetes.azure.com are reserved by AKS")
		}
	}
	if !mp.System {
		return
	}
	if len(mp.Taints) > 0 {
		errs.Add(pp.Child("taints"), RuleForbidden, "AKS system pools take no taints: they must run the cluster's system pods")
	}
	if mp.Min != nil && *mp.Min < 1 {
		errs.Add(pp.Child("min"), RuleRange, "a system pool keeps at least one node: min must be 1 or more")
	}
}

// checkOSDisk checks a pool's OS disk: a managed disk type on iaas clusters, Managed or
// Ephemeral on aks clusters, where the disk is also smaller.
func checkOSDisk(errs *ErrorList, p Path, clusterType string, d OSDisk) {
	types, maxSize := OSDiskTypes, maxOSDiskSizeGB
	if clusterType == ClusterTypeAKS {
		types, maxSize = AKSOSDiskTypes, maxAKSOSDiskSizeGB
	}
	if d.SizeGB < minOSDiskSizeGB || d.SizeGB > maxSize {
		errs.Add(p.Child("sizeGB"), RuleRange, "%d is outside %d-%d GB", d.SizeGB, minOSDiskSizeGB, maxSize)
	}
	checkEnum(errs, p.Child("type"), d.Type, types...)
}

// checkPoolSize checks 0 <= min <= count <= max <= 1000.
func checkPoolSize(errs *ErrorList, p Path, mp *MachinePool) {
	const limit = 1000
	if mp.Count < 0 || mp.Count > limit {
		errs.Add(p.Child("count"), RuleRange, "%d is outside 0-%d", mp.Count, limit)
	}
	if mp.Min != nil {
		switch {
		case *mp.Min < 0 && *mp.Min != mp.Count: // a defaulted min repeats count's error
			errs.Add(p.Child("min"), RuleRange, "%d is below 0", *mp.Min)
		case *mp.Min > mp.Count:
			errs.Add(p.Child("min"), RuleRange, "min %d is above count %d: need 0 <= min <= count <= max <= %d", *mp.Min, mp.Count, limit)
		}
	}
	if mp.Max != nil {
		switch {
		case *mp.Max > limit && *mp.Max != mp.Count:
			errs.Add(p.Child("max"), RuleRange, "%d is above %d", *mp.Max, limit)
		case *mp.Max < mp.Count:
			errs.Add(p.Child("max"), RuleRange, "max %d is below count %d: need 0 <= min <= count <= max <= %d", *mp.Max, mp.Count, limit)
		}
	}
}

func checkTaints(errs *ErrorList, p Path, taints []Taint) {
	seen := map[string]bool{}
	for i, t := range taints {
		tp := p.Index(i)
		if required(errs, tp.Child("key"), t.Key) {
			checkLabelKey(errs, tp.Child("key"), t.Key)
		}
		if t.Value != "" && (len(t.Value) > 63 || !labelName.MatchString(t.Value)) {
			errs.Add(tp.Child("value"), RuleFormat, "taint value %q must be at most 63 letters, digits, '-', '_' and '.'", t.Value)
		}
		if required(errs, tp.Child("effect"), t.Effect) {
			checkEnum(errs, tp.Child("effect"), t.Effect, TaintEffects...)
		}
		id := t.Key + ":" + t.Effect
		if seen[id] {
			errs.Add(tp, RuleDuplicate, "taint %s with effect %s is listed twice", t.Key, t.Effect)
		}
		seen[id] = true
	}
}

// checkProfileRefs checks the pinned profiles: they exist, fit the cluster's type, hold exactly
// one kubernetes layer between them, the value overrides name their layers, and the values
// strata reads from a layer are valid once the overrides are merged over the profile's.
func checkProfileRefs(ctx context.Context, r Resolver, errs *ErrorList, o *Cluster) {
	p := Path("spec.profiles")
	if len(o.Spec.Profiles) == 0 {
		errs.Add(p, RuleRequired, "a cluster needs at least one profile")
		return
	}
	if !checkMaxItems(errs, p, len(o.Spec.Profiles), MaxProfilesPerCluster, "strata's bound of profiles per cluster") {
		return // none is looked up
	}
	names := map[string]int{}
	allResolved := true
	kubernetesLayers := 0
	for i, ref := range o.Spec.Profiles {
		pp := p.Index(i)
		checkName(errs, pp.Child("name"), ref.Name)
		checkSemver(errs, pp.Child("version"), ref.Version)
		if j, dup := names[ref.Name]; dup && ref.Name != "" {
			errs.Add(pp.Child("name"), RuleDuplicate, "profile %q is already pinned by spec.profiles[%d]: a cluster uses one version of a profile", ref.Name, j)
		}
		names[ref.Name] = i
		overrides := map[string]map[string]any{}
		for _, layer := range sortedKeysOf(ref.Values) {
			if v, ok := parseValues(errs, pp.Child("values").Key(layer), ref.Values[layer]); ok {
				overrides[layer] = v
			}
		}
		var prof *ClusterProfile
		if dns1123Label.MatchString(ref.Name) && isVersion(ref.Version) {
			prof, _ = checkExists(ctx, r, errs, pp, KindClusterProfile, ProfileKey(ref.Name, ref.Version)).(*ClusterProfile)
		}
		if prof == nil {
			allResolved = false
			continue
		}
		if want := profileCloudFor(o.Spec.Azure.Type); want != "" && prof.Spec.Cloud != want && prof.Spec.Cloud != ProfileCloudAll {
			errs.Add(pp, RuleMismatch, "profile %s is for cloud %s and cannot be used on an %s cluster (needs cloud %s or all)", prof.Key(), prof.Spec.Cloud, o.Spec.Azure.Type, want)
		}
		for _, l := range prof.Spec.Layers {
			if l.Type == LayerKubernetes {
				kubernetesLayers++
			}
		}
		checkOverrides(errs, pp.Child("values"), ref, prof, overrides)
	}
	if allResolved && kubernetesLayers != 1 {
		errs.Add(p, RuleCount, "the cluster's profiles hold %s between them: exactly one is needed", plural(kubernetesLayers, "kubernetes layer"))
	}
}

// checkOverrides checks a pinned profile's value overrides at p (parsed in overrides): each
// names a layer of the profile, and the values strata reads from a layer are valid once the
// override is merged over them.
func checkOverrides(errs *ErrorList, p Path, ref ProfileRef, prof *ClusterProfile, overrides map[string]map[string]any) {
	layers := map[string]bool{}
	for _, l := range prof.Spec.Layers {
		layers[l.Name] = true
	}
	for _, name := range sortedKeysOf(ref.Values) {
		if !layers[name] {
			errs.Add(p.Key(name), RuleNotFound, "profile %s has no layer %q", prof.Key(), name)
		}
	}
	for _, l := range prof.Spec.Layers {
		over, ok := overrides[l.Name]
		if !ok {
			continue // the profile's own validation checked its values
		}
		base, err := ParseValues(l.Values)
		if err != nil {
			continue // the profile's own validation reports it
		}
		checkLayerValues(errs, p.Key(l.Name), prof.Spec.Cloud, l.Type, MergeValues(base, over))
	}
}

func profileCloudFor(clusterType string) string {
	switch clusterType {
	case ClusterTypeIaaS:
		return ProfileCloudAzure
	case ClusterTypeAKS:
		return ProfileCloudAKS
	}
	return ""
}
