package v1alpha1

import (
	"net/netip"
	"reflect"
	"strings"
)

// Types of the API server load balancer, and its IP allocation methods.
const (
	APIServerLBPublic   = "Public"
	APIServerLBInternal = "Internal"
	IPAllocationStatic  = "Static"
	IPAllocationDynamic = "Dynamic"
)

// The default private DNS name of an Internal API server is
// "{PrivateDNSRecord}.{cluster}.{PrivateDNSDomain}": the A record apiserver in the zone
// {cluster}.strata.internal, a zone of the cluster's own (like CAPZ's apiserver.{cluster}.capz.io),
// so that two clusters never share one.
const (
	PrivateDNSRecord = "apiserver"
	PrivateDNSDomain = "strata.internal"
)

// Azure keeps the first four addresses of every subnet (the network address, the default
// gateway and two for Azure DNS) and its last (broadcast): none can be a static IP.
const azureReservedLeadingAddresses = 4

// DefaultPrivateDNSName is the private DNS name of an Internal API server that names none.
func DefaultPrivateDNSName(cluster string) string {
	return PrivateDNSRecord + "." + cluster + "." + PrivateDNSDomain
}

// SplitPrivateDNSName splits a private DNS name into its first label, the A record, and the
// rest, the private DNS zone.
func SplitPrivateDNSName(name string) (record, zone string) {
	record, zone, _ = strings.Cut(name, ".")
	return record, zone
}

// InternalAPIServer returns the Internal API server load balancer of an IaaS cluster with its
// defaults filled (a copy), or nil when the cluster's API server is public.
func InternalAPIServer(c *Cluster) *APIServerLB {
	lb := c.Spec.Azure.APIServerLB
	if c.Spec.Azure.Type != ClusterTypeIaaS || lb == nil || lb.Type != APIServerLBInternal {
		return nil
	}
	out := *lb
	defaultAPIServerLB(&out, c)
	return &out
}

// defaultAPIServerLB fills what an API server load balancer may leave out: the type
// (Public), and for an Internal one the allocation method (Static), the private DNS name
// (DefaultPrivateDNSName) and the zone's resource group (the cluster's). It is idempotent.
func defaultAPIServerLB(lb *APIServerLB, c *Cluster) {
	if lb.Type == "" {
		lb.Type = APIServerLBPublic
	}
	if lb.Type != APIServerLBInternal {
		return
	}
	if lb.IPAllocationMethod == "" {
		lb.IPAllocationMethod = IPAllocationStatic
	}
	if lb.PrivateDNSName == "" && c.Metadata.Name != "" {
		lb.PrivateDNSName = DefaultPrivateDNSName(c.Metadata.Name)
	}
	if lb.PrivateDNSZoneResourceGroup == "" {
		lb.PrivateDNSZoneResourceGroup = c.Spec.Azure.ResourceGroup
	}
}

// checkAPIServerLB checks spec.azure.apiServerLB (at p): iaas clusters only; a type of
// Public or Internal; on a Public one none of the Internal one's fields; an Internal one needs
// static placement and a static IPv4 address that Azure lets a load balancer take in the
// control-plane subnet, and a private DNS name of a record and a zone of two labels or more.
func checkAPIServerLB(errs *ErrorList, p Path, az *ClusterAzure) {
	lb := az.APIServerLB
	if az.Type != ClusterTypeIaaS {
		errs.Add(p, RuleForbidden, "the API server load balancer applies only to iaas clusters: AKS runs its API server itself (a private AKS cluster is set in its API server access profile)")
		return
	}
	checkEnum(errs, p.Child("type"), lb.Type, APIServerLBPublic, APIServerLBInternal)
	if lb.Type != APIServerLBInternal {
		for _, f := range []struct{ name, v string }{
			{"ipAllocationMethod", lb.IPAllocationMethod}, {"staticIP", lb.StaticIP},
			{"privateDNSName", lb.PrivateDNSName}, {"privateDNSZoneResourceGroup", lb.PrivateDNSZoneResourceGroup},
		} {
			if f.v != "" && lb.Type == APIServerLBPublic {
				errs.Add(p.Child(f.name), RuleForbidden, "applies only to an Internal load balancer: a Public one's frontend is a public IP strata creates")
			}
		}
		return
	}
	if az.Placement == nil {
		errs.Add("spec.azure.placement", RuleRequired, "an Internal API server load balancer needs static placement: its frontend takes a static address of the control-plane subnet of your virtual network")
	}
	switch lb.IPAllocationMethod {
	case "", IPAllocationStatic:
	case IPAllocationDynamic:
		errs.Add(p.Child("ipAllocationMethod"), RuleForbidden, "Dynamic is no longer supported: a static IP is required (set staticIP to an unused address of the control-plane subnet)")
	default:
		checkEnum(errs, p.Child("ipAllocationMethod"), lb.IPAllocationMethod, IPAllocationStatic)
	}
	checkStaticIP(errs, p.Child("staticIP"), lb.StaticIP, az.Placement)
	if lb.PrivateDNSName != "" {
		checkPrivateDNSName(errs, p.Child("privateDNSName"), lb.PrivateDNSName)
	}
	if lb.PrivateDNSZoneResourceGroup != "" {
		checkResourceGroup(errs, p.Child("privateDNSZoneResourceGroup"), lb.PrivateDNSZoneResourceGroup)
	}
}

// checkStaticIP checks the Internal load balancer's address: required, IPv4, inside the
// control-plane subnet (when the placement's is valid) and not one Azure reserves there.
func checkStaticIP(errs *ErrorList, p Path, v string, pl *StaticPlacement) {
	if v == "" {
		errs.Add(p, RuleRequired, "a static IP is required for an Internal load balancer: an unused address of the control-plane subnet")
		return
	}
	addr, err := netip.ParseAddr(v)
	if err != nil || !addr.Is4() || addr.Zone() != "" {
		errs.Add(p, RuleFormat, "%q must be an IPv4 address such as 10.0.0.10", v)
		return
	}
	if pl == nil || pl.ControlPlaneSubnet == nil {
		return
	}
	subnet, err := netip.ParsePrefix(pl.ControlPlaneSubnet.CIDR)
	if err != nil || !subnet.Addr().Is4() || subnet.Masked() != subnet {
		return // the placement's own error
	}
	if !subnet.Contains(addr) {
		errs.Add(p, RuleOutsideRange, "%s is not inside the control-plane subnet %s (spec.azure.placement.controlPlaneSubnet.cidr): the load balancer's frontend is in that subnet", addr, subnet)
		return
	}
	a, first := addr.As4(), subnet.Addr().As4()
	offset := be32(a) - be32(first)
	last := uint32(1)<<(32-subnet.Bits()) - 1
	if offset < azureReservedLeadingAddresses || offset == last {
		errs.Add(p, RuleReserved, "%s is reserved by Azure in %s: the first four addresses of a subnet and its last cannot be assigned", addr, subnet)
	}
}

// be32 is an IPv4 address as a number.
func be32(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// checkPrivateDNSName checks a private DNS name: a lowercase DNS name of at most 253
// characters and labels of at most 63, with a record label and a zone of at least two labels
// (Azure refuses single-label private zones).
func checkPrivateDNSName(errs *ErrorList, p Path, v string) {
	labels := strings.Split(v, ".")
	switch {
	case len(v) > 253:
		errs.Add(p, RuleTooLong, "must be at most 253 characters, got %d", len(v))
	case !dnsName.MatchString(v):
		errs.Add(p, RuleFormat, "%q must be a lowercase DNS name: labels of letters, digits and '-', separated by '.'", v)
	case len(labels) < 3:
		errs.Add(p, RuleFormat, "%q needs at least three labels: the first is the API server's record, the rest the private DNS zone, which Azure wants of two labels or more (e.g. apiserver.c1.corp.example)", v)
	default:
		for _, l := range labels {
			if len(l) > 63 {
				errs.Add(p, RuleTooLong, "label %q is %d characters: DNS allows at most 63", l, len(l))
				return
			}
		}
	}
}

// checkAPIServerLBUpdate refuses any change of the API server load balancer: its type, address
// and name are in every machine's kubeadm configuration and in the API server's certificate.
// An absent block and a Public one without fields are the same.
func checkAPIServerLBUpdate(errs *ErrorList, old, c *Cluster) {
	effective := func(c *Cluster) APIServerLB {
		if c.Spec.Azure.APIServerLB == nil {
			return APIServerLB{Type: APIServerLBPublic}
		}
		lb := *c.Spec.Azure.APIServerLB
		defaultAPIServerLB(&lb, c)
		return lb
	}
	if !reflect.DeepEqual(effective(old), effective(c)) {
		errs.Add("spec.azure.apiServerLB", RuleImmutable, "cannot change after the cluster is created: the API server's address and name are built into its machines and certificate; create a new cluster instead")
	}
}

// GatewayStorageWarning returns the warning of a self-managed (iaas) cluster whose cloud
// account is bound to a private cloud gateway (gatewayBound) and whose node image goes to a
// storage account strata creates (no spec.azure.storage), which is reachable from everywhere;
// "" when there is nothing to warn of. The server gives it at field spec.azure.storage.
func GatewayStorageWarning(c *Cluster, gatewayBound bool) string {
	if c == nil || !gatewayBound || c.Spec.Azure.Type != ClusterTypeIaaS || c.Spec.Azure.Storage != nil {
		return ""
	}
	return "gateway-bound cluster uses an auto-created storage account reachable from everywhere; strata recommends a custom storage account (spec.azure.storage.account) restricted to the gateway's VNet with public access disabled"
}
