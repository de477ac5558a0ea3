package agentserver

import (
	"context"
	"fmt"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/proxyenv"
)

// agentProxyEnv is the proxy the agent's own connections take: the variables of the gateway
// that the cluster's account names, with the NO_PROXY its pods get, and the proxy's CA; nil
// without a gateway or proxy. The agent's gRPC stream goes through HTTPS_PROXY; its calls to
// the cluster's API server (the service CIDR, the API server's host) are in NO_PROXY. The
// values are secrets.
func agentProxyEnv(ctx context.Context, st objectGetter, cl *v1alpha1.Cluster) ([]proxyenv.EnvVar, []byte, error) {
	p, err := gatewayProxy(ctx, st, cl.Spec.CloudAccount)
	if err != nil || p == nil {
		return nil, nil, err
	}
	s := proxyenv.FromGateway(p)
	if !s.Enabled() {
		return nil, nil, nil
	}
	var profiles []*v1alpha1.ClusterProfile
	for _, ref := range cl.Spec.Profiles {
		key := v1alpha1.ProfileKey(ref.Name, ref.Version)
		obj, err := st.Get(ctx, v1alpha1.KindClusterProfile, key)
		if err != nil {
			return nil, nil, fmt.Errorf("profile %s: %w", key, err)
		}
		if prof, ok := obj.(*v1alpha1.ClusterProfile); ok {
			profiles = append(profiles, prof)
		}
	}
	n, err := plan.ProxyNetwork(cl, profiles)
	if err != nil {
		return nil, nil, fmt.Errorf("the agent's proxy: %w", err)
	}
	var ca []byte
	if p.CACertificate != "" {
		ca = []byte(p.CACertificate)
	}
	return proxyenv.Env(s, n), ca, nil
}
