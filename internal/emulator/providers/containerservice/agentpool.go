package containerservice

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
	"github.com/strata-dev/strata/internal/emulator/providers/compute"
)

// poolNameRe is AKS's agent pool naming rule: lowercase alphanumerics starting with a letter,
// at most 12 characters for Linux pools (6 for Windows).
var poolNameRe = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// defaultPoolSize is the VM size of a pool that names none.
const defaultPoolSize = "Standard_D2s_v3"

// nodeImageVersion is the node image every emulated pool runs.
const nodeImageVersion = "AKSUbuntu-2204gen2containerd-202601.05.0"

// invalidValue is AKS's 400 InvalidParameter "The value of parameter X is invalid."
func invalidValue(param, detail string) *arm.Error {
	msg := "The value of parameter " + param + " is invalid."
	if detail != "" {
		msg += " " + detail
	}
	e := &arm.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: msg, Target: param}
	return e
}

// poolContext is what pool validation needs to know of the cluster.
type poolContext struct {
	tx        arm.Tx
	location  arm.LocationInfo
	cpVersion string // the control plane's current version
}

// checkPoolName applies AKS's agent pool naming rule.
func checkPoolName(name, osType string) *arm.Error {
	maxLen := 12
	if strings.EqualFold(osType, "Windows") {
		maxLen = 6
	}
	if len(name) < 1 || len(name) > maxLen || !poolNameRe.MatchString(name) {
		return invalidValue("agentPoolProfile.name", "Please see https://aka.ms/aks-naming-rules for more details.")
	}
	return nil
}

// isSystem reports whether pool properties are in System mode.
func isSystem(p map[string]any) bool { return strings.EqualFold(jsonmap.Str(p, "mode"), "System") }

// preparePool checks and completes the properties p of agent pool name; old is the stored
// pool's properties on update, nil on create.
func (c poolContext) preparePool(name string, p, old map[string]any) *arm.Error {
	// A null is as if the property had not been sent: the stored value or the default stays.
	for k, v := range p {
		if v == nil {
			delete(p, k)
		}
	}
	if old != nil {
		for _, prop := range []string{"vmSize", "osType", "vnetSubnetID", "osDiskType"} {
			if v, ok := p[prop].(string); ok && jsonmap.Str(old, prop) != "" && !strings.EqualFold(v, jsonmap.Str(old, prop)) {
				return propertyChangeNotAllowed(prop)
			}
		}
		for _, prop := range []string{"maxPods", "osDiskSizeGB"} {
			v, sent := jsonmap.Num(p[prop])
			if prop == "osDiskSizeGB" && sent && v == 0 {
				sent = false // 0 asks for the default size: the pool keeps its own
				delete(p, prop)
			}
			if was, ok := jsonmap.Num(old[prop]); sent && ok && v != was {
				return propertyChangeNotAllowed(prop)
			}
		}
		if z, ok := p["availabilityZones"]; ok && !slices.Equal(jsonmap.StringList(z), jsonmap.StringList(old["availabilityZones"])) {
			return arm.Errorf(http.StatusBadRequest, "PropertyChangeNotAllowed", "Changing property 'availabilityZones' is not allowed.")
		}
		merged := jsonmap.CopyMap(old)
		for k, v := range p {
			merged[k] = v
		}
		clear(p)
		for k, v := range merged {
			p[k] = v
		}
	}
	osType := jsonmap.Str(p, "osType")
	if osType == "" {
		osType = "Linux"
	}
	if err := checkPoolName(name, osType); err != nil {
		return err
	}
	switch m := jsonmap.Str(p, "mode"); {
	case m == "", strings.EqualFold(m, "User"):
		p["mode"] = "User"
	case strings.EqualFold(m, "System"):
		p["mode"] = "System"
	default:
		return invalidValue("agentPoolProfile.mode", "Allowed values are 'System' and 'User'.")
	}
	if isSystem(p) && !strings.EqualFold(osType, "Linux") {
		return arm.Errorf(http.StatusBadRequest, "SystemPoolMustBeLinux", "System agent pool %s must use the Linux OS type.", name)
	}

	// Size and zones, against the compute SKU catalogue.
	size := jsonmap.Str(p, "vmSize")
	if size == "" {
		size = defaultPoolSize
	}
	sz, ok := compute.LookupSize(size)
	if !ok {
		return invalidValue("agentPoolProfile.vmSize", "The VM size "+size+" is not offered in location '"+c.location.Name+"'.")
	}
	p["vmSize"] = sz.Name
	zones := jsonmap.StringList(p["availabilityZones"])
	for _, z := range zones {
		if !compute.ZoneOffered(sz.Name, c.location.Name, c.location.Zones, z) {
			var ok []string
			for _, lz := range c.location.Zones {
				if compute.ZoneOffered(sz.Name, c.location.Name, c.location.Zones, lz) {
					ok = append(ok, lz)
				}
			}
			return arm.Errorf(http.StatusBadRequest, "AvailabilityZoneNotSupported",
				"The zone(s) '%s' for resource '%s' is not supported. The supported zones for location '%s' are '%s'.",
				z, name, c.location.Name, strings.Join(ok, ","))
		}
	}

	// Node counts.
	count, hasCount := jsonmap.Num(p["count"])
	auto := jsonmap.Bool(p, "enableAutoScaling", false)
	if auto {
		minC, okMin := jsonmap.Num(p["minCount"])
		maxC, okMax := jsonmap.Num(p["maxCount"])
		if !okMin || !okMax {
			return invalidValue("agentPoolProfile.minCount", "minCount and maxCount are required when enableAutoScaling is true.")
		}
		if minC < 0 || maxC > 1000 || minC > maxC {
			return invalidValue("agentPoolProfile.minCount", "minCount must be between 0 and maxCount, and maxCount at most 1000.")
		}
		if !hasCount {
			count, hasCount = minC, true
		}
		if count < minC || count > maxC {
			return invalidValue("agentPoolProfile.count", "The count must be between minCount and maxCount when enableAutoScaling is true.")
		}
	} else {
		delete(p, "minCount")
		delete(p, "maxCount")
	}
	if !hasCount {
		count = 1
	}
	if count < 0 || count > 1000 {
		return invalidValue("agentPoolProfile.count", "The count must be between 0 and 1000.")
	}
	if isSystem(p) && count < 1 {
		return invalidValue("agentPoolProfile.count", "System agent pools must have at least one node.")
	}
	p["count"] = count
	p["enableAutoScaling"] = auto

	// Version.
	want := jsonmap.Str(p, "orchestratorVersion")
	if want == "" {
		want = c.cpVersion
	}
	v, ok := ResolveVersion(want)
	if !ok {
		return versionNotSupported(want)
	}
	if pv, cv := parseVersion(v), parseVersion(c.cpVersion); pv[0] == cv[0] && pv[1] > cv[1] {
		return arm.Errorf(http.StatusBadRequest, "NodePoolMcVersionIncompatible",
			"Node pool version %s and control plane version %s are incompatible. Minor version of node pool version %d is bigger than control plane version %d. For more information, please check https://aka.ms/aks/UpgradeVersionRules",
			v, c.cpVersion, pv[1], cv[1])
	}
	if old != nil && compareVersions(v, jsonmap.Str(old, "currentOrchestratorVersion")) < 0 {
		return arm.Errorf(http.StatusBadRequest, "OperationNotAllowed",
			"Downgrading Kubernetes version %s to %s is not allowed. Available upgrades: %s. Please see https://aka.ms/aks-supported-k8s-ver for version details.",
			jsonmap.Str(old, "currentOrchestratorVersion"), v, strings.Join(upgradesOf(jsonmap.Str(old, "currentOrchestratorVersion")), ","))
	}
	p["orchestratorVersion"] = want
	p["currentOrchestratorVersion"] = v

	if err := checkPoolSettings(p); err != nil {
		return err
	}

	// Subnet.
	if sub := jsonmap.Str(p, "vnetSubnetID"); sub != "" {
		if s := c.tx.Get(sub); s == nil || !strings.EqualFold(s.Type, "Microsoft.Network/virtualNetworks/subnets") {
			return invalidValue("agentPoolProfile.vnetSubnetID", "Subnet "+sub+" was not found.")
		}
	}

	// Defaults and read-only properties.
	defaults := map[string]any{
		"type": "VirtualMachineScaleSets", "osDiskSizeGB": 128, "osDiskType": "Managed", "kubeletDiskType": "OS",
		"maxPods": 110, "osType": osType, "osSKU": "Ubuntu", "enableFIPS": false, "enableNodePublicIP": false,
		"enableEncryptionAtHost": false, "enableUltraSSD": false, "scaleSetPriority": "Regular",
		"upgradeSettings": map[string]any{"maxSurge": "10%"},
	}
	for k, v := range defaults {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	p["nodeImageVersion"] = nodeImageVersion
	p["powerState"] = map[string]any{"code": "Running"}
	p["provisioningState"] = "Succeeded"
	return nil
}

func propertyChangeNotAllowed(prop string) *arm.Error {
	return arm.Errorf(http.StatusBadRequest, "PropertyChangeNotAllowed", "Changing property '%s' is not allowed.", prop)
}

// Limits of an agent pool's settings.
const (
	minMaxPods, maxMaxPods   = 10, 250
	minOSDiskGB, maxOSDiskGB = 30, 2048
)

// taintEffects are the effects a node taint may have.
var taintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}

// taintKeyRe is a Kubernetes label key: an optional DNS subdomain prefix and a name.
var taintKeyRe = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)

// checkPoolSettings checks maxPods, the OS disk, the pool's tags, node labels and node taints,
// and puts osDiskType in AKS's casing.
func checkPoolSettings(p map[string]any) *arm.Error {
	if v, ok := p["maxPods"]; ok && v != nil {
		n, ok := jsonmap.Num(v)
		if !ok || n < minMaxPods || n > maxMaxPods {
			return invalidValue("agentPoolProfile.maxPods", fmt.Sprintf("The value %v of maxPods must be between %d and %d.", v, minMaxPods, maxMaxPods))
		}
	}
	if v, ok := p["osDiskSizeGB"]; ok && v != nil {
		n, ok := jsonmap.Num(v)
		switch {
		case ok && n == 0:
			delete(p, "osDiskSizeGB") // the default size
		case !ok || n < minOSDiskGB || n > maxOSDiskGB:
			return invalidValue("agentPoolProfile.osDiskSizeGB", fmt.Sprintf("The value %v of osDiskSizeGB must be between %d and %d.", v, minOSDiskGB, maxOSDiskGB))
		}
	}
	if v, ok := p["osDiskType"]; ok && v != nil {
		s, _ := v.(string)
		switch {
		case strings.EqualFold(s, "Managed"):
			p["osDiskType"] = "Managed"
		case strings.EqualFold(s, "Ephemeral"):
			p["osDiskType"] = "Ephemeral"
		default:
			return invalidValue("agentPoolProfile.osDiskType", "Allowed values are 'Managed' and 'Ephemeral'.")
		}
	}
	if err := arm.CheckTags(arm.TagRule{}, p["tags"]); err != nil {
		return err
	}
	if v, ok := p["nodeLabels"]; ok && v != nil {
		labels, ok := v.(map[string]any)
		if !ok {
			return invalidValue("agentPoolProfile.nodeLabels", "Node labels must be an object of strings.")
		}
		for k, l := range labels {
			if _, ok := l.(string); !ok || !taintKeyRe.MatchString(k) {
				return invalidValue("agentPoolProfile.nodeLabels", fmt.Sprintf("The node label %q is not a valid Kubernetes label.", k))
			}
		}
	}
	if v, ok := p["nodeTaints"]; ok && v != nil {
		taints, ok := v.([]any)
		if !ok {
			return invalidValue("agentPoolProfile.nodeTaints", "Node taints must be an array of strings.")
		}
		for _, t := range taints {
			s, _ := t.(string)
			if !validTaint(s) {
				return invalidValue("agentPoolProfile.nodeTaints",
					fmt.Sprintf("The taint %q is invalid: a taint is key=value:effect or key:effect, with the effect NoSchedule, PreferNoSchedule or NoExecute.", s))
			}
		}
	}
	return nil
}

// validTaint reports whether s is a node taint, key[=value]:effect.
func validTaint(s string) bool {
	kv, effect, ok := strings.Cut(s, ":")
	if !ok || !slices.Contains(taintEffects, effect) {
		return false
	}
	key, _, _ := strings.Cut(kv, "=")
	return taintKeyRe.MatchString(key)
}
