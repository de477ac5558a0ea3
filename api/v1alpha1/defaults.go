package v1alpha1

import (
	"slices"

	"github.com/strata-dev/strata/internal/authz"
)

// Defaults applied to fields a user leaves out.
const (
	DefaultProfileVersion = "1.0.0"
	DefaultInstanceType   = "Standard_D2s_v3"
	DefaultOSDiskSizeGB   = 60
	DefaultOSDiskType     = "Standard_LRS"
	// DefaultAKSOSDiskType is the OS disk type of an AKS node pool.
	DefaultAKSOSDiskType = "Managed"
)

// Default fills the fields a user may leave out. It runs after decoding and before validation,
// and is idempotent.
func Default(obj Object) {
	switch o := obj.(type) {
	case *CloudAccount:
		if o.Spec.Azure.Environment == "" {
			o.Spec.Azure.Environment = EnvironmentPublic
		}
	case *PrivateCloudGateway:
		if px := o.Spec.Proxy; px != nil && (px.HTTPProxy != "" || px.HTTPSProxy != "") {
			if px.HTTPSProxy == "" {
				px.HTTPSProxy, px.HTTPSProxyPassword = px.HTTPProxy, px.HTTPProxyPassword
			}
			// Pods cannot reach Azure's instance metadata through a proxy.
			if !slices.Contains(px.NoProxy, InstanceMetadataIP) {
				px.NoProxy = append(px.NoProxy, InstanceMetadataIP)
			}
		}
	case *TagFilter:
		defaultTagFilter(o)
	case *APIKey:
		// One spelling of the instant, so that an apply in another zone changes nothing.
		o.Spec.ExpiresAt = o.Spec.ExpiresAt.UTC()
	case *ClusterProfile:
		if o.Spec.Version == "" {
			o.Spec.Version = DefaultProfileVersion
		}
	case *Cluster:
		if lb := o.Spec.Azure.APIServerLB; lb != nil {
			defaultAPIServerLB(lb, o)
		}
		for i := range o.Spec.MachinePools {
			mp := &o.Spec.MachinePools[i]
			if mp.Min == nil {
				mp.Min = new(mp.Count)
			}
			if mp.Max == nil {
				mp.Max = new(mp.Count)
			}
			if mp.InstanceType == "" {
				mp.InstanceType = DefaultInstanceType
			}
			if mp.OSDisk.SizeGB == 0 {
				mp.OSDisk.SizeGB = DefaultOSDiskSizeGB
			}
			if mp.OSDisk.Type == "" {
				mp.OSDisk.Type = DefaultOSDiskType
				if o.Spec.Azure.Type == ClusterTypeAKS {
					mp.OSDisk.Type = DefaultAKSOSDiskType
				}
			}
		}
	}
}

// defaultTagFilter sets a filter's conjunction to "and" and its clauses' operator to "eq" when
// they are left out, as Palette does.
func defaultTagFilter(o *TagFilter) {
	if o.Spec.Conjunction == "" {
		o.Spec.Conjunction = authz.ConjunctionAnd
	}
	for i := range o.Spec.Filters {
		if o.Spec.Filters[i].Operator == "" {
			o.Spec.Filters[i].Operator = authz.OperatorEq
		}
	}
}
