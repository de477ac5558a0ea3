package plan

import (
	"fmt"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/proxyenv"
)

// ProxyNetwork is what a cluster must reach without its gateway's proxy: its pod and service
// ranges (the kubernetes layer's), its node subnets (the user's for static placement, the ones
// strata makes otherwise; for AKS, none that strata chooses) and its API server's host.
func ProxyNetwork(c *v1alpha1.Cluster, profiles []*v1alpha1.ClusterProfile) (proxyenv.ClusterNetwork, error) {
	k8s, err := findLayer(c, profiles, v1alpha1.LayerKubernetes)
	if err != nil {
		return proxyenv.ClusterNetwork{}, err
	}
	if k8s == nil {
		return proxyenv.ClusterNetwork{}, fmt.Errorf("no pinned profile has a kubernetes layer")
	}
	n := proxyenv.ClusterNetwork{
		PodCIDRs:     []string{orDefault(stringAt(k8s.values, "pack", "podCIDR"), v1alpha1.DefaultPodCIDR)},
		ServiceCIDRs: []string{orDefault(stringAt(k8s.values, "pack", "serviceClusterIpRange"), v1alpha1.DefaultServiceCIDR)},
	}
	if c.Spec.Azure.Type == v1alpha1.ClusterTypeAKS {
		return n, nil
	}
	if p := c.Spec.Azure.Placement; p != nil && p.ControlPlaneSubnet != nil && p.WorkerSubnet != nil {
		n.NodeSubnetCIDRs = []string{p.ControlPlaneSubnet.CIDR, p.WorkerSubnet.CIDR}
	} else {
		n.NodeSubnetCIDRs = []string{DynamicControlPlaneCIDR, DynamicWorkersCIDR}
	}
	n.APIServerHost = APIServerFQDN(c)
	return n, nil
}
