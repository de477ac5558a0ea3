package fromarm

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/strata-dev/strata/internal/emulator/providers/compute"
)

// Capacity of a machine whose size the compute catalogue does not know.
const (
	defaultCPU       = 2
	defaultMemoryMiB = 8192
)

// Labels the kubelet sets besides the stable ones (corev1 has no constant for them).
const (
	labelOSBeta   = "beta.kubernetes.io/os"
	labelArchBeta = "beta.kubernetes.io/arch"
)

// capacity returns the CPUs and the memory (MiB) of a VM size.
func capacity(size string) (cpu, memoryMiB int64) {
	if s, ok := compute.LookupSize(size); ok {
		return int64(s.VCPUs), int64(s.MemoryGB * 1024)
	}
	return defaultCPU, defaultMemoryMiB
}

// region is the region name of an ARM location as the Azure labels carry it: lower-case,
// without spaces ("West Europe" → westeurope).
func region(location string) string {
	return strings.ToLower(strings.ReplaceAll(location, " ", ""))
}

// zoneLabel is the zone label of a machine in zone ("1") of region: "westeurope-1", or "0"
// for a machine in no zone (Azure reports its fault domain there).
func zoneLabel(region, zone string) string {
	if zone == "" {
		return "0"
	}
	return region + "-" + zone
}

// machineLabels are the labels the kubelet and Azure's cloud controller manager give every
// node: hostname, OS and architecture, instance type, region and zone.
func machineLabels(hostname, size, region, zone string) map[string]string {
	z := zoneLabel(region, zone)
	return map[string]string{
		corev1.LabelHostname:                hostname,
		corev1.LabelOSStable:                "linux",
		corev1.LabelArchStable:              "amd64",
		labelOSBeta:                         "linux",
		labelArchBeta:                       "amd64",
		corev1.LabelInstanceTypeStable:      size,
		corev1.LabelInstanceType:            size,
		corev1.LabelTopologyRegion:          region,
		corev1.LabelFailureDomainBetaRegion: region,
		corev1.LabelTopologyZone:            z,
		corev1.LabelFailureDomainBetaZone:   z,
	}
}

// parseNodeLabels reads the kubelet's --node-labels value, "k1=v1,k2=v2".
func parseNodeLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "" {
			out[k] = v
		}
	}
	return out
}

// parseAKSTaint reads an AKS node taint, "key=value:Effect" or "key:Effect".
func parseAKSTaint(s string) (corev1.Taint, bool) {
	kv, effect, ok := strings.Cut(s, ":")
	if !ok || effect == "" {
		return corev1.Taint{}, false
	}
	k, v, _ := strings.Cut(kv, "=")
	if k == "" {
		return corev1.Taint{}, false
	}
	return corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)}, true
}

// parseAddr parses an IP address; anything else gives the zero address.
func parseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

// kubeletVersion is the version a kubelet of a Kubernetes version reports: v1.30.4.
func kubeletVersion(version string) string {
	if version == "" {
		return ""
	}
	return "v" + trimV(version)
}

// trimV drops a leading "v" from a version.
func trimV(version string) string { return strings.TrimPrefix(version, "v") }

// firstOf returns the first non-empty string.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// pemBytes is a PEM string as bytes, nil when empty.
func pemBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
