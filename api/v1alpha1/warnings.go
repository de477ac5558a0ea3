package v1alpha1

import "context"

// Check validates obj, as an update of old when old is not nil, and returns beside the broken
// rules the warnings: what a valid object asks for that will not happen as written. A warning
// is a FieldError like an error (field, rule, message) but refuses nothing. Validate and
// ValidateUpdate return the errors alone.
func Check(ctx context.Context, old, obj Object, r Resolver) (errs, warnings ErrorList) {
	if old == nil {
		errs = Validate(ctx, obj, r)
	} else {
		errs = ValidateUpdate(ctx, old, obj, r)
	}
	return errs, Warnings(ctx, obj, r)
}

// Warnings returns the warnings of obj. With a nil Resolver, those that depend on other objects
// (a cluster's, on its profiles and its cloud account) are left out.
func Warnings(ctx context.Context, obj Object, r Resolver) ErrorList {
	var w ErrorList
	switch o := obj.(type) {
	case *ClusterProfile:
		if o.Spec.Cloud != ProfileCloudAKS {
			break
		}
		for i, l := range o.Spec.Layers {
			values, err := ParseValues(l.Values)
			if l.Type != LayerKubernetes || err != nil {
				continue
			}
			p := Path("spec.layers").Index(i).Child("values")
			var discard ErrorList // validation reports them
			warnManagedControlPlane(&w, p.Child("managedControlPlane"), decodeManagedControlPlane(&discard, p, values))
		}
	case *CloudAccount:
		if r != nil {
			warnGatewayNeverConnected(ctx, &w, o, r)
		}
	case *Cluster:
		warnControlPlaneRollout(&w, o)
		if r == nil {
			break
		}
		warnDynamicPlacementBehindGateway(ctx, &w, o, r)
		warnPublicStorageBehindGateway(ctx, &w, o, r)
		if o.Spec.Azure.Type != ClusterTypeAKS {
			break
		}
		if l, ok := effectiveKubernetesLayer(ctx, o, r); ok {
			if mcp, ok := l.controlPlane(); ok {
				warnManagedControlPlane(&w, l.path.Child("managedControlPlane"), mcp)
			}
		}
	}
	return w
}

// warnManagedControlPlane warns of admin groups given without AKS-managed Entra ID: AKS takes
// admin groups only with it, so strata does not send them (the seed's second example).
func warnManagedControlPlane(w *ErrorList, p Path, mcp *ManagedControlPlane) {
	if mcp == nil || mcp.AADProfile == nil || mcp.AADProfile.Managed || len(mcp.AADProfile.AdminGroupObjectIDs) == 0 {
		return
	}
	w.Add(p.Child("aadProfile").Child("adminGroupObjectIDs"), RuleIgnored,
		"ignored: admin groups take effect only with aadProfile.managed: true (AKS-managed Entra ID); with managed: false the cluster has local accounts and Kubernetes RBAC, and strata does not send these %s to AKS",
		plural(len(mcp.AADProfile.AdminGroupObjectIDs), "group"))
}

// warnDynamicPlacementBehindGateway warns of a self-managed cluster placed dynamically whose
// cloud account names a private cloud gateway: strata creates the cluster's virtual network,
// which is not peered with the gateway's, so the agent and the pods the gateway's proxy is
// injected into may not reach that proxy. An account that cannot be read is validation's.
func warnDynamicPlacementBehindGateway(ctx context.Context, w *ErrorList, c *Cluster, r Resolver) {
	if c.Spec.Azure.Type != ClusterTypeIaaS || c.Spec.Azure.Placement != nil || c.Spec.CloudAccount == "" {
		return
	}
	obj, err := r.Lookup(ctx, KindCloudAccount, c.Spec.CloudAccount)
	if err != nil {
		return
	}
	account, ok := obj.(*CloudAccount)
	if !ok || account.Spec.Gateway == "" {
		return
	}
	w.Add("spec.cloudAccount", RuleMismatch,
		"cloud account %q goes through private cloud gateway %q, but the cluster's network is created by strata and may not route to the gateway's proxy: use static placement in the gateway's network (spec.azure.placement)",
		account.Metadata.Name, account.Spec.Gateway)
}

// warnPublicStorageBehindGateway warns about a gateway-bound IaaS cluster whose storage
// account strata creates: reachable from everywhere (GatewayStorageWarning).
func warnPublicStorageBehindGateway(ctx context.Context, w *ErrorList, c *Cluster, r Resolver) {
	if c.Spec.CloudAccount == "" {
		return
	}
	obj, err := r.Lookup(ctx, KindCloudAccount, c.Spec.CloudAccount)
	if err != nil {
		return
	}
	account, ok := obj.(*CloudAccount)
	if text := GatewayStorageWarning(c, ok && account.Spec.Gateway != ""); text != "" {
		w.Add("spec.azure.storage", RuleMismatch, "%s", text)
	}
}

// warnGatewayNeverConnected warns of an account bound to a private cloud gateway that no
// replica has ever connected for: nothing of the account is provisioned until one does.
func warnGatewayNeverConnected(ctx context.Context, w *ErrorList, a *CloudAccount, r Resolver) {
	if a.Spec.Gateway == "" {
		return
	}
	obj, err := r.Lookup(ctx, KindPrivateCloudGateway, a.Spec.Gateway)
	if err != nil {
		return
	}
	if gw, ok := obj.(*PrivateCloudGateway); ok && gw.Status.LastHeartbeat == nil {
		w.Add("spec.gateway", RuleMismatch,
			"private cloud gateway %q has never connected: the account's clusters wait until a replica registers (strata gateway token %s, then strata gateway; see docs/gateway.md)",
			a.Spec.Gateway, a.Spec.Gateway)
	}
}

// warnControlPlaneRollout warns of maxSurge or maxUnavailable on an iaas cluster's
// control-plane pool: its machines are replaced one at a time, new etcd member first, whatever
// they say.
func warnControlPlaneRollout(w *ErrorList, c *Cluster) {
	if c.Spec.Azure.Type != ClusterTypeIaaS {
		return
	}
	for i, mp := range c.Spec.MachinePools {
		if !mp.ControlPlane {
			continue
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"maxSurge", mp.MaxSurge != nil}, {"maxUnavailable", mp.MaxUnavailable != nil}} {
			if f.set {
				w.Add(Path("spec.machinePools").Index(i).Child(f.name), RuleIgnored,
					"ignored: the control-plane pool's machines are replaced one at a time, the new etcd member joined before the old one leaves, whatever %s says", f.name)
			}
		}
	}
}
