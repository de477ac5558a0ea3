package fromarm

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// apiServerPort is where emulated API servers listen (AKS's and kubeadm's default).
const apiServerPort = 6443

// The users of a managed cluster's static tokens: AKS's local accounts.
const (
	userClusterAdmin = "clusterAdmin"
	userClusterUser  = "clusterUser"
	groupMasters     = "system:masters"
)

// aksCluster is the cluster of a managed cluster with its agent pools.
func aksCluster(mc *arm.Resource, pools []*arm.Resource) kube.Cluster {
	props := jsonmap.Obj(mc.Body, "properties")
	hidden := jsonmap.Obj(mc.Body, hiddenKey)
	secrets := jsonmap.Obj(hidden, "secrets")
	c := kube.Cluster{
		Key:  arm.Key(mc.ID),
		Kind: kube.KindAKS,
		Name: mc.Name(),
		// currentKubernetesVersion is the resolved one (1.33.2 when the PUT asked for 1.33).
		Version:     trimV(firstOf(jsonmap.Str(props, "currentKubernetesVersion"), jsonmap.Str(props, "kubernetesVersion"))),
		CACertPEM:   pemBytes(jsonmap.Str(secrets, "ca")),
		CAKeyPEM:    pemBytes(jsonmap.Str(secrets, "caKey")),
		Address:     parseAddr(jsonmap.Str(hidden, "apiServerAddress")),
		Port:        apiServerPort,
		ServiceCIDR: jsonmap.Str(jsonmap.Obj(props, "networkProfile"), "serviceCidr"),
	}
	for _, k := range []string{"fqdn", "privateFQDN"} {
		if n := jsonmap.Str(props, k); n != "" {
			c.DNSNames = append(c.DNSNames, strings.ToLower(n))
		}
	}
	for _, t := range []struct{ key, user string }{{"adminToken", userClusterAdmin}, {"userToken", userClusterUser}} {
		if tok := jsonmap.Str(secrets, t.key); tok != "" {
			c.Tokens = append(c.Tokens, kube.Token{Token: tok, User: t.user, Groups: []string{groupMasters}})
		}
	}
	c.Nodes = aksNodes(mc, pools, c.Version)
	return c
}

// aksScope is what every node of a managed cluster shares.
type aksScope struct {
	subscription, nodeRG, region string
	// suffix is the 8 decimal digits of the cluster's VMSS names.
	suffix  string
	version string
	// running is false when the cluster is stopped or being deleted.
	running bool
}

// aksNodes returns the nodes of a managed cluster's pools, pools in name order.
func aksNodes(mc *arm.Resource, pools []*arm.Resource, version string) []nodesim.Node {
	props := jsonmap.Obj(mc.Body, "properties")
	s := aksScope{
		subscription: arm.ParseID(mc.ID).Subscription,
		nodeRG:       jsonmap.Str(props, "nodeResourceGroup"),
		region:       region(jsonmap.Str(mc.Body, "location")),
		suffix:       vmssSuffix(mc.ID),
		version:      version,
		running:      live(props),
	}
	pools = slices.Clone(pools)
	slices.SortFunc(pools, func(a, b *arm.Resource) int {
		return strings.Compare(strings.ToLower(a.Name()), strings.ToLower(b.Name()))
	})
	var nodes []nodesim.Node
	for ordinal, p := range pools {
		nodes = append(nodes, s.poolNodes(ordinal, p)...)
	}
	return nodes
}

// live reports whether a managed cluster or agent pool (properties p) runs: not stopped
// (powerState.code Stopped) and not being deleted.
func live(p map[string]any) bool {
	return !strings.EqualFold(jsonmap.Str(jsonmap.Obj(p, "powerState"), "code"), "Stopped") &&
		!strings.EqualFold(jsonmap.Str(p, "provisioningState"), "Deleting")
}

// poolNodes returns the nodes of the ordinal-th agent pool of the cluster: instances 0 to
// count-1 of its scale set, in the pool's zones round-robin.
func (s aksScope) poolNodes(ordinal int, pool *arm.Resource) []nodesim.Node {
	p := jsonmap.Obj(pool.Body, "properties")
	name := strings.ToLower(pool.Name())
	size := jsonmap.Str(p, "vmSize")
	zones := jsonmap.StringList(p["availabilityZones"])
	cpu, mem := capacity(size)
	vmss := fmt.Sprintf("aks-%s-%s-vmss", name, s.suffix)
	labels := s.poolLabels(name, p)
	var taints []corev1.Taint
	for _, t := range jsonmap.StringList(p["nodeTaints"]) {
		if taint, ok := parseAKSTaint(t); ok {
			taints = append(taints, taint)
		}
	}
	version := kubeletVersion(firstOf(jsonmap.Str(p, "currentOrchestratorVersion"), jsonmap.Str(p, "orchestratorVersion"), s.version))
	count, _ := jsonmap.Num(p["count"])
	nodes := make([]nodesim.Node, 0, max(count, 0))
	for i := range int(max(count, 0)) {
		zone := ""
		if len(zones) > 0 {
			zone = zones[i%len(zones)]
		}
		hostname := vmss + instanceSuffix(i)
		l := machineLabels(hostname, size, s.region, zone)
		maps.Copy(l, labels)
		nodes = append(nodes, nodesim.Node{
			Name:   hostname,
			Labels: l,
			Taints: slices.Clone(taints),
			ProviderID: fmt.Sprintf("azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/%d",
				s.subscription, strings.ToLower(s.nodeRG), vmss, i),
			InternalIP:     aksNodeIP(ordinal, i),
			CPU:            cpu,
			MemoryMiB:      mem,
			KubeletVersion: version,
			Running:        s.running && live(p),
		})
	}
	return nodes
}

// poolLabels are the labels AKS gives every node of a pool (name, properties p), with the
// pool's nodeLabels.
func (s aksScope) poolLabels(name string, p map[string]any) map[string]string {
	l := map[string]string{
		"kubernetes.io/role":             "agent",
		"kubernetes.azure.com/role":      "agent",
		"kubernetes.azure.com/agentpool": name,
		"agentpool":                      name,
		"kubernetes.azure.com/mode":      strings.ToLower(jsonmap.Str(p, "mode")),
		"kubernetes.azure.com/cluster":   s.nodeRG,
	}
	for k, v := range jsonmap.Obj(p, "nodeLabels") {
		if v, ok := v.(string); ok {
			l[k] = v
		}
	}
	return l
}

// vmssSuffix is the 8 decimal digits AKS puts in the names of a cluster's scale sets, derived
// from a hash of the cluster's ID.
func vmssSuffix(clusterID string) string {
	h := fnv.New32a()
	h.Write([]byte(arm.Key(clusterID)))
	return fmt.Sprintf("%08d", h.Sum32()%100_000_000)
}

// instanceSuffix is the end of a scale set instance's computer name: the index in base 36,
// zero-padded to 6 characters (vmss000000, vmss00000a, vmss000010...).
func instanceSuffix(i int) string {
	s := strconv.FormatInt(int64(i), 36)
	if len(s) < 6 {
		s = strings.Repeat("0", 6-len(s)) + s
	}
	return s
}

// aksNodeIP is the private address of the i-th node of the ordinal-th pool, in AKS's default
// node subnet 10.224.0.0/16: 10.224.<ordinal>.<i+4> (Azure keeps the first four addresses of
// a subnet). Past the 252nd node it goes on in 10.225.<ordinal>.0, 10.226..., unique but
// outside the /16.
func aksNodeIP(ordinal, i int) string {
	n := i + 4
	return fmt.Sprintf("10.%d.%d.%d", 224+n/256, ordinal%256, n%256)
}
