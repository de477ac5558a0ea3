package fromarm

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
	"github.com/strata-dev/strata/internal/emulator/kube"
	"github.com/strata-dev/strata/internal/emulator/kube/nodesim"
)

// iaasKeyPrefix starts the Key of a self-managed cluster, followed by its lower-case API
// server endpoint.
const iaasKeyPrefix = "iaas/"

// Power states the compute provider keeps in a VM's hidden state.
const (
	powerRunning     = "running"
	powerStopped     = "stopped"
	powerDeallocated = "deallocated"
)

// machine is one VM of a self-managed cluster and what its cloud-init says.
type machine struct {
	vm     *arm.Resource
	config machineConfig
}

// iaasClusters returns the self-managed clusters of the VMs whose cloud-init bootstraps
// kubeadm, one per API server endpoint.
func iaasClusters(x *index) []kube.Cluster {
	groups := map[string][]machine{}
	for _, vm := range x.vms {
		cd := jsonmap.Str(jsonmap.Obj(vm.Body, hiddenKey), "customData")
		cfg, ok := parseCustomData(cd)
		if !ok {
			continue
		}
		ep := strings.ToLower(cfg.endpoint)
		groups[ep] = append(groups[ep], machine{vm, cfg})
	}
	var out []kube.Cluster
	for _, ep := range slices.Sorted(maps.Keys(groups)) {
		out = append(out, iaasCluster(ep, groups[ep], x))
	}
	return out
}

// iaasCluster is the cluster of the machines (sorted by ID) whose API server endpoint is ep
// (lower-case).
func iaasCluster(ep string, machines []machine, x *index) kube.Cluster {
	host, port := splitEndpoint(ep)
	c := kube.Cluster{Key: iaasKeyPrefix + ep, Kind: kube.KindIaaS, Address: x.publicAddress(host), Port: port}
	if _, err := netip.ParseAddr(host); err != nil {
		c.DNSNames = []string{host}
	}
	// A replaced init VM may briefly coexist with its successor: the first by ID wins.
	if i := slices.IndexFunc(machines, func(m machine) bool { return m.config.init }); i >= 0 {
		cfg := machines[i].config
		c.Name, c.Version, c.ServiceCIDR = cfg.clusterName, trimV(cfg.version), cfg.serviceCIDR
		c.CACertPEM, c.CAKeyPEM = cfg.caCertPEM, cfg.caKeyPEM
		c.Manifests = cfg.manifests
	} else {
		c.Version = lowestControlPlaneVersion(machines)
	}
	for _, m := range machines {
		c.Nodes = append(c.Nodes, x.vmNode(m, firstOf(m.config.kubeletVersion, c.Version)))
	}
	slices.SortFunc(c.Nodes, func(a, b nodesim.Node) int { return strings.Compare(a.Name, b.Name) })
	return c
}

// lowestControlPlaneVersion is the lowest of the versions the control-plane machines declare
// (without a leading "v"): the version a control plane without its init machine serves at
// least, as it is upgraded machine by machine. It is "" when a control-plane machine declares
// none (or no valid one), as machines of an older strata do: that one is of the version the
// cluster had, which the caller keeps.
func lowestControlPlaneVersion(machines []machine) string {
	var low *version.Version
	lowest := ""
	for _, m := range machines {
		if !m.config.controlPlane {
			continue
		}
		v, err := version.ParseGeneric(m.config.kubeletVersion)
		if err != nil {
			return ""
		}
		if low == nil || v.LessThan(low) {
			low, lowest = v, m.config.kubeletVersion
		}
	}
	return lowest
}

// splitEndpoint splits host:port; without a valid port, the port is 6443.
func splitEndpoint(ep string) (string, int) {
	host, p, err := net.SplitHostPort(ep)
	if err != nil {
		return ep, apiServerPort
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return host, apiServerPort
	}
	return host, port
}

// vmNode is the node of a machine whose kubelet is of Kubernetes version kubelet.
func (x *index) vmNode(m machine, kubelet string) nodesim.Node {
	vm := m.vm
	props := jsonmap.Obj(vm.Body, "properties")
	name := strings.ToLower(firstOf(jsonmap.Str(jsonmap.Obj(props, "osProfile"), "computerName"), vm.Name()))
	size := jsonmap.Str(jsonmap.Obj(props, "hardwareProfile"), "vmSize")
	zone := ""
	if z := jsonmap.StringList(vm.Body["zones"]); len(z) > 0 {
		zone = z[0]
	}
	labels := machineLabels(name, size, region(jsonmap.Str(vm.Body, "location")), zone)
	if m.config.controlPlane {
		// kubeadm's mark-control-plane phase.
		labels["node-role.kubernetes.io/control-plane"] = ""
		labels[corev1.LabelNodeExcludeBalancers] = ""
	}
	maps.Copy(labels, m.config.labels)
	power := firstOf(jsonmap.Str(jsonmap.Obj(vm.Body, hiddenKey), "powerState"), powerRunning)
	deleting := strings.EqualFold(jsonmap.Str(props, "provisioningState"), "Deleting")
	id := arm.ParseID(vm.ID)
	cpu, mem := capacity(size)
	return nodesim.Node{
		Name:   name,
		Labels: labels,
		Taints: slices.Clone(m.config.taints),
		ProviderID: fmt.Sprintf("azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s",
			id.Subscription, id.ResourceGroup, id.Name),
		InternalIP:     x.privateIP(props),
		CPU:            cpu,
		MemoryMiB:      mem,
		KubeletVersion: kubeletVersion(kubelet),
		Running:        power == powerRunning && !deleting,
		Shutdown:       power == powerStopped || power == powerDeallocated,
	}
}

// publicAddress is the address of the public IP whose DNS name is host, or the zero address.
func (x *index) publicAddress(host string) netip.Addr {
	for _, pip := range x.pips {
		p := jsonmap.Obj(pip.Body, "properties")
		if strings.EqualFold(jsonmap.Str(jsonmap.Obj(p, "dnsSettings"), "fqdn"), host) {
			if a := parseAddr(jsonmap.Str(p, "ipAddress")); a.IsValid() {
				return a
			}
		}
	}
	return netip.Addr{}
}

// privateIP is the private address of a VM (properties props): that of the primary IP
// configuration of its primary network interface (each the first when none is marked
// primary), or "" when the interface is not among the resources.
func (x *index) privateIP(props map[string]any) string {
	ref := primary(jsonmap.List(jsonmap.Obj(props, "networkProfile"), "networkInterfaces"))
	nic := x.nics[arm.Key(jsonmap.Str(ref, "id"))]
	if nic == nil {
		return ""
	}
	cfg := primary(jsonmap.List(jsonmap.Obj(nic.Body, "properties"), "ipConfigurations"))
	return jsonmap.Str(jsonmap.Obj(cfg, "properties"), "privateIPAddress")
}

// primary returns the entry of a list of sub-resources whose properties.primary is true, else
// the first, or nil.
func primary(list []any) map[string]any {
	var first map[string]any
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m == nil {
			continue
		}
		if jsonmap.Bool(jsonmap.Obj(m, "properties"), "primary", false) {
			return m
		}
		if first == nil {
			first = m
		}
	}
	return first
}
