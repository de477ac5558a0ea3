package azure

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"
)

// managedClusterService makes KindManagedCluster nodes real. The plan's managed cluster holds
// every pool inline, which AKS needs at creation; afterwards each pool is its own AgentPool
// node, so the inline pools are neither compared nor sent again (sending them would reset what
// the autoscaler did). A version Azure upgraded on its own (an upgrade channel) is not drift,
// and an update never sends a lower one. The HTTP proxy is compared on what strata sends only
// (see proxyUpToDate): Azure's effectiveNoProxy is read, never compared. Drift of the tags
// alone is repaired with a PATCH.
func (c *Clients) managedClusterService() service {
	cl := c.ContainerService.NewManagedClustersClient()
	return &armService[armcontainerservice.ManagedCluster, liveCluster]{
		c: c,
		get: func(ctx context.Context, id *arm.ResourceID) (*liveCluster, error) {
			var raw *http.Response
			r, err := getOrNil(cl.Get(policy.WithCaptureResponse(ctx, &raw), id.ResourceGroupName, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &liveCluster{ManagedCluster: r.ManagedCluster, effectiveNoProxy: effectiveNoProxyOf(raw)}, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armcontainerservice.ManagedCluster, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Name, *body,
				&armcontainerservice.ManagedClustersClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		tags: func(ctx context.Context, id *arm.ResourceID, tags map[string]*string) (lro, error) {
			return asLRO(cl.BeginUpdateTags(ctx, id.ResourceGroupName, id.Name, armcontainerservice.TagsObject{Tags: tags}, nil))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Name,
				&armcontainerservice.ManagedClustersClientBeginDeleteOptions{ResumeToken: resume}))
		},
		compare: func(desired *armcontainerservice.ManagedCluster, live *liveCluster) []string {
			return clusterDrift(desired, &live.ManagedCluster)
		},
		body: func(desired *armcontainerservice.ManagedCluster, live *liveCluster) *armcontainerservice.ManagedCluster {
			if live == nil {
				return desired
			}
			return clusterForCompare(desired, &live.ManagedCluster)
		},
		describe: describeCluster,
	}
}

// liveCluster is a managed cluster as read: the SDK's model, and the proxy's effectiveNoProxy,
// which Azure returns and the SDK's stable model leaves out. It encodes as the SDK's model
// (the promoted MarshalJSON), so that drift and tags see only that.
type liveCluster struct {
	armcontainerservice.ManagedCluster
	effectiveNoProxy []string
}

// effectiveNoProxyOf reads properties.httpProxyConfig.effectiveNoProxy from a managed
// cluster's response, nil when there is none.
func effectiveNoProxyOf(resp *http.Response) []string {
	if resp == nil {
		return nil
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return nil
	}
	var mc struct {
		Properties struct {
			HTTPProxyConfig struct {
				EffectiveNoProxy []string `json:"effectiveNoProxy"`
			} `json:"httpProxyConfig"`
		} `json:"properties"`
	}
	if json.Unmarshal(body, &mc) != nil {
		return nil
	}
	return mc.Properties.HTTPProxyConfig.EffectiveNoProxy
}

// describeCluster is what a managed cluster says of its control plane.
func describeCluster(live *liveCluster, o *Observation) {
	cp := &ControlPlaneObservation{EffectiveNoProxy: live.effectiveNoProxy}
	if p := live.Properties; p != nil {
		cp.KubernetesVersion = deref(p.CurrentKubernetesVersion)
		cp.FQDN = deref(p.Fqdn)
		cp.ProvisioningState = deref(p.ProvisioningState)
		if p.PowerState != nil && p.PowerState.Code != nil {
			cp.PowerState = string(*p.PowerState.Code)
		}
		if p.AutoUpgradeProfile != nil && p.AutoUpgradeProfile.UpgradeChannel != nil {
			cp.UpgradeChannel = string(*p.AutoUpgradeProfile.UpgradeChannel)
		}
	}
	if live.SKU != nil && live.SKU.Tier != nil {
		cp.SKUTier = string(*live.SKU.Tier)
	}
	o.ControlPlane = cp
	o.Running = strings.EqualFold(cp.PowerState, "Running") && strings.EqualFold(cp.ProvisioningState, "Succeeded")
}

// clusterForCompare is the desired managed cluster as it is compared with (and, on update, sent
// over) the live one: without the inline pools, with the live version when the control plane
// already runs the desired one or a later one (Azure upgraded it on its own), and with the
// HTTP proxy to send (see proxyToSend).
func clusterForCompare(desired, live *armcontainerservice.ManagedCluster) *armcontainerservice.ManagedCluster {
	d := *desired
	if d.Properties == nil {
		return &d
	}
	p := *d.Properties
	p.AgentPoolProfiles = nil
	if live != nil && live.Properties != nil {
		p.KubernetesVersion = keptVersion(p.KubernetesVersion, live.Properties.KubernetesVersion, live.Properties.CurrentKubernetesVersion)
		p.HTTPProxyConfig = proxyToSend(p.HTTPProxyConfig, live.Properties.HTTPProxyConfig)
	}
	d.Properties = &p
	return &d
}

// clusterDrift is the fields where live differs from desired: drift of all but the HTTP
// proxy, which proxyUpToDate compares.
func clusterDrift(desired, live *armcontainerservice.ManagedCluster) []string {
	d := clusterForCompare(desired, live)
	if d.Properties == nil {
		return drift(d, live)
	}
	p := *d.Properties
	proxy := p.HTTPProxyConfig
	p.HTTPProxyConfig = nil
	d.Properties = &p
	out := drift(d, live)
	var liveProxy *armcontainerservice.ManagedClusterHTTPProxyConfig
	if live.Properties != nil {
		liveProxy = live.Properties.HTTPProxyConfig
	}
	if !proxyUpToDate(proxy, liveProxy) {
		out = append(out, "properties.httpProxyConfig")
		slices.Sort(out)
	}
	return out
}

// proxyToSend is the httpProxyConfig to send over the live one: the desired one; without
// one, when the live cluster has an enabled proxy (the gateway's proxy was removed), the live
// settings with enabled false — AKS keeps a proxy's settings once set, and disables it so;
// else none.
func proxyToSend(desired, live *armcontainerservice.ManagedClusterHTTPProxyConfig) *armcontainerservice.ManagedClusterHTTPProxyConfig {
	if desired != nil || live == nil || !proxyEnabled(live) || (deref(live.HTTPProxy) == "" && deref(live.HTTPSProxy) == "") {
		return desired
	}
	return &armcontainerservice.ManagedClusterHTTPProxyConfig{
		Enabled:    new(false),
		HTTPProxy:  live.HTTPProxy,
		HTTPSProxy: live.HTTPSProxy,
		NoProxy:    live.NoProxy,
		TrustedCa:  live.TrustedCa,
	}
}

// proxyEnabled is a proxy config's enabled, true by default.
func proxyEnabled(c *armcontainerservice.ManagedClusterHTTPProxyConfig) bool {
	return c.Enabled == nil || *c.Enabled
}

// proxyUpToDate reports whether the live proxy config holds what strata sends: enabled, and
// when enabled the proxies and the CA exactly (they are case-sensitive) and noProxy as sent,
// in any order (hosts compared case-insensitively). What strata does not send is not compared,
// nor is the effectiveNoProxy that Azure computes.
func proxyUpToDate(want, live *armcontainerservice.ManagedClusterHTTPProxyConfig) bool {
	switch {
	case want == nil:
		return true
	case live == nil:
		return false
	case want.Enabled != nil && *want.Enabled != proxyEnabled(live):
		return false
	case !proxyEnabled(want):
		return true
	}
	same := func(w, l *string) bool { return w == nil || deref(w) == deref(l) }
	if !same(want.HTTPProxy, live.HTTPProxy) || !same(want.HTTPSProxy, live.HTTPSProxy) || !same(want.TrustedCa, live.TrustedCa) {
		return false
	}
	if want.NoProxy == nil {
		return true
	}
	set := func(l []*string) []string {
		out := make([]string, 0, len(l))
		for _, e := range l {
			out = append(out, strings.ToLower(strings.TrimSpace(deref(e))))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(set(want.NoProxy), set(live.NoProxy))
}

// agentPoolService makes KindAgentPool nodes real: a pool added after creation, or changed
// (count, autoscaler bounds, labels, taints, tags, version). The count of an autoscaled pool
// is the autoscaler's, never reset; a version Azure upgraded on its own is kept.
func (c *Clients) agentPoolService() service {
	cl := c.ContainerService.NewAgentPoolsClient()
	return &armService[armcontainerservice.AgentPool, armcontainerservice.AgentPool]{
		c: c,
		// A pool of the cluster's managed cluster is the cluster's.
		parent: func(id *arm.ResourceID, _ *armcontainerservice.AgentPool) string { return parentID(id) },
		get: func(ctx context.Context, id *arm.ResourceID) (*armcontainerservice.AgentPool, error) {
			r, err := getOrNil(cl.Get(ctx, id.ResourceGroupName, id.Parent.Name, id.Name, nil))
			if r == nil {
				return nil, err
			}
			return &r.AgentPool, nil
		},
		put: func(ctx context.Context, id *arm.ResourceID, body *armcontainerservice.AgentPool, resume string) (lro, error) {
			return asLRO(cl.BeginCreateOrUpdate(ctx, id.ResourceGroupName, id.Parent.Name, id.Name, *body,
				&armcontainerservice.AgentPoolsClientBeginCreateOrUpdateOptions{ResumeToken: resume}))
		},
		del: func(ctx context.Context, id *arm.ResourceID, resume string) (lro, error) {
			return asLRO(cl.BeginDelete(ctx, id.ResourceGroupName, id.Parent.Name, id.Name,
				&armcontainerservice.AgentPoolsClientBeginDeleteOptions{ResumeToken: resume}))
		},
		compare: func(desired, live *armcontainerservice.AgentPool) []string {
			return drift(poolForCompare(desired, live), live)
		},
		body: func(desired, live *armcontainerservice.AgentPool) *armcontainerservice.AgentPool {
			return poolForCompare(desired, live)
		},
		describe: func(live *armcontainerservice.AgentPool, o *Observation) {
			p := live.Properties
			if p == nil {
				return
			}
			running := p.PowerState != nil && p.PowerState.Code != nil && strings.EqualFold(string(*p.PowerState.Code), "Running")
			o.Running = running && strings.EqualFold(deref(p.ProvisioningState), "Succeeded")
		},
	}
}

// poolForCompare is the desired pool as compared with (and sent over) the live one: an
// autoscaled pool keeps the live count, and the live version when Azure upgraded past the
// desired one.
func poolForCompare(desired, live *armcontainerservice.AgentPool) *armcontainerservice.AgentPool {
	d := *desired
	if d.Properties == nil || live == nil || live.Properties == nil {
		return &d
	}
	p := *d.Properties
	lp := live.Properties
	if p.EnableAutoScaling != nil && *p.EnableAutoScaling && lp.Count != nil {
		n := *lp.Count
		if p.MinCount != nil && n < *p.MinCount {
			n = *p.MinCount
		}
		if p.MaxCount != nil && n > *p.MaxCount {
			n = *p.MaxCount
		}
		p.Count = new(n)
	}
	p.OrchestratorVersion = keptVersion(p.OrchestratorVersion, lp.OrchestratorVersion, lp.CurrentOrchestratorVersion)
	d.Properties = &p
	return &d
}

// keptVersion is the version to compare and send: the live one (as it was asked for) when what
// runs is already at the desired version or past it, else the desired one.
func keptVersion(desired, liveAsked, liveCurrent *string) *string {
	cur := deref(liveCurrent)
	if cur == "" || desired == nil || compareVersions(cur, *desired) < 0 {
		return desired
	}
	if deref(liveAsked) != "" {
		return liveAsked
	}
	return liveCurrent
}

// compareVersions orders two Kubernetes versions ("1.30", "1.30.9", "v1.31.2") numerically;
// missing parts count as 0.
func compareVersions(a, b string) int {
	parse := func(v string) []int {
		var out []int
		for part := range strings.SplitSeq(strings.TrimPrefix(v, "v"), ".") {
			n, _ := strconv.Atoi(part)
			out = append(out, n)
		}
		for len(out) < 3 {
			out = append(out, 0)
		}
		return out
	}
	return slices.Compare(parse(a), parse(b))
}

// deref is the string a pointer holds, or "".
func deref[S ~string](p *S) string {
	if p == nil {
		return ""
	}
	return string(*p)
}
