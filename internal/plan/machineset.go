package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Generations of machines and images. A rolling replacement (a new Kubernetes version or OS
// image, a repair) gives a machine slot — the i-th machine of a pool — a new machine of the
// next generation beside the old one, and a new image a new generation of the copied VHD and
// image resource. Generation 0 keeps the names strata always gave (cluster-pool-i,
// cluster-os-image); generation g > 0 adds "-g<g>" to the name and the key.

// SkipMachine, as a slot's generation in Input.Machines, leaves the slot's machine out of the
// graph: an older machine kept as it is until a rolling replacement reaches it.
const SkipMachine = -1

// Slot names a pool's i-th machine: "workers-2".
func Slot(pool string, i int) string { return pool + "-" + strconv.Itoa(i) }

// generationSuffix is what a generation adds to names and keys.
func generationSuffix(gen int) string {
	if gen == 0 {
		return ""
	}
	return "-g" + strconv.Itoa(gen)
}

// MachineKeys are the graph keys of a slot's machine of a generation: its VM, NIC and OS disk.
func MachineKeys(slot string, gen int) (vm, nic, osDisk string) {
	s := slot + generationSuffix(gen)
	return keyVirtualMachinePfx + s, keyNICPrefix + s, keyOSDiskPfx + s
}

// MachineOfKey reads the slot and generation of a VM, NIC or OS disk key of a cluster whose
// pools are pools ("vm/workers-2-g1" → "workers-2", 1). ok is false for other keys.
func MachineOfKey(key string, pools []string) (slot string, gen int, ok bool) {
	var rest string
	for _, pfx := range []string{keyVirtualMachinePfx, keyNICPrefix, keyOSDiskPfx} {
		if r, found := strings.CutPrefix(key, pfx); found {
			rest, ok = r, true
		}
	}
	if !ok {
		return "", 0, false
	}
	if i := strings.LastIndex(rest, "-g"); i > 0 {
		if g, err := strconv.Atoi(rest[i+2:]); err == nil && g > 0 && isSlot(rest[:i], pools) {
			return rest[:i], g, true
		}
	}
	if isSlot(rest, pools) {
		return rest, 0, true
	}
	return "", 0, false
}

// isSlot reports whether s is "pool-i" of one of the pools.
func isSlot(s string, pools []string) bool {
	for _, p := range pools {
		if n, ok := strings.CutPrefix(s, p+"-"); ok {
			if i, err := strconv.Atoi(n); err == nil && i >= 0 && strconv.Itoa(i) == n {
				return true
			}
		}
	}
	return false
}

// ImageOfKey reads the generation of a key of the node image or of its VHD copy ("image-g2"
// → 2); ok is false for other keys.
func ImageOfKey(key string) (gen int, ok bool) {
	for _, k := range []string{keyImage, keyVHDCopy} {
		if key == k {
			return 0, true
		}
		if g, found := strings.CutPrefix(key, k+"-g"); found {
			if n, err := strconv.Atoi(g); err == nil && n > 0 && strconv.Itoa(n) == g {
				return n, true
			}
		}
	}
	return 0, false
}

// TemplateImage is the image fingerprint a MachineTemplate holds, "" when none.
func TemplateImage(template string) string {
	_, rest, ok := strings.Cut(template, "(image ")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(rest, ")")
}

// imageKeys are the keys of the VHD copy and the image of a generation.
func imageKeys(gen int) (vhd, image string) {
	return keyVHDCopy + generationSuffix(gen), keyImage + generationSuffix(gen)
}

// MachineTemplate describes what an IaaS cluster's machines are built from: its Kubernetes
// version and OS image, with a fingerprint of the image's inputs, e.g. "kubernetes 1.30.4,
// os ubuntu 22.04.5 (image 1f2e3d4c)". Machines built from another template are replaced by
// a rolling replacement. It does no I/O.
func MachineTemplate(in Input) (string, error) {
	l, err := readLayers(in.Cluster, in.Profiles)
	if err != nil {
		return "", fmt.Errorf("plan: cluster %s: %w", in.Cluster.Metadata.Name, err)
	}
	return l.machineTemplate(), nil
}

// machineTemplate is MachineTemplate of the layers.
func (l layers) machineTemplate() string {
	return fmt.Sprintf("kubernetes %s, os %s %s (image %s)", strings.TrimPrefix(l.kubernetesVersion, "v"),
		l.osName, strings.TrimPrefix(l.osVersion, "v"), l.imageFingerprint())
}

// ImageFingerprint is the fingerprint of the inputs of an IaaS cluster's node image (the
// VHD's source and the Hyper-V generation): the Template of its image and VHD copy nodes.
func ImageFingerprint(in Input) (string, error) {
	l, err := readLayers(in.Cluster, in.Profiles)
	if err != nil {
		return "", fmt.Errorf("plan: cluster %s: %w", in.Cluster.Metadata.Name, err)
	}
	return l.imageFingerprint(), nil
}

// imageFingerprint is the first 8 hex digits of the SHA-256 of the image's inputs.
func (l layers) imageFingerprint() string {
	sum := sha256.Sum256([]byte(l.vhdURL + "\x00" + l.vhd + "\x00" + l.hyperVGeneration))
	return hex.EncodeToString(sum[:4])
}

// IsControlPlaneVM reports whether key is the graph key of a VM of the cluster's control-plane
// pool, of any generation.
func IsControlPlaneVM(c *v1alpha1.Cluster, key string) bool {
	if !strings.HasPrefix(key, keyVirtualMachinePfx) {
		return false
	}
	for _, mp := range c.Spec.MachinePools {
		if mp.ControlPlane {
			_, _, ok := MachineOfKey(key, []string{mp.Name})
			return ok
		}
	}
	return false
}
