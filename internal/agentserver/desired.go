package agentserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/proxyenv"
	agentv1 "github.com/strata-dev/strata/proto/strata/agent/v1"
	"sigs.k8s.io/yaml"
)

// ChartRenderer renders a layer's Helm chart with its values into manifests.
type ChartRenderer interface {
	Render(ctx context.Context, chart v1alpha1.Chart, release, namespace, values string) (string, error)
}

// desiredInput is what a cluster's desired state is made of.
type desiredInput struct {
	cluster  *v1alpha1.Cluster
	profiles []*v1alpha1.ClusterProfile
	// proxy is the gateway's proxy with its passwords, or nil.
	proxy         *v1alpha1.ProxySettings
	resyncSeconds int32
}

// appliedTypes are the layer types the agent applies; the os and kubernetes layers are
// strata's provisioning's.
var appliedTypes = map[string]bool{v1alpha1.LayerNetwork: true, v1alpha1.LayerStorage: true, v1alpha1.LayerAddon: true}

// buildDesired makes a cluster's desired state: its applied layers in profile order, each
// with its manifests and its chart rendered with the layer's values merged with the cluster's
// override, and the proxy of its gateway. It also returns each layer's profile, by name.
func buildDesired(ctx context.Context, in desiredInput, charts ChartRenderer) (*agentv1.DesiredState, map[string]string, error) {
	ds := &agentv1.DesiredState{ResyncSeconds: in.resyncSeconds}
	profileOf := map[string]string{}
	for i, prof := range in.profiles {
		ref := in.cluster.Spec.Profiles[i]
		for _, l := range prof.Spec.Layers {
			if !appliedTypes[l.Type] {
				continue
			}
			manifests, err := layerManifests(ctx, l, ref.Values[l.Name], charts)
			if err != nil {
				return nil, nil, fmt.Errorf("profile %s, layer %s: %w", prof.Key(), l.Name, err)
			}
			layer := &agentv1.Layer{Profile: prof.Key(), Name: l.Name, Type: l.Type, Version: l.Version, Manifests: manifests}
			layer.Digest = digest(layer.GetProfile(), layer.GetName(), layer.GetVersion(), manifests)
			ds.Layers = append(ds.Layers, layer)
			profileOf[l.Name] = prof.Key()
		}
	}
	if in.proxy != nil {
		px, err := desiredProxy(in)
		if err != nil {
			return nil, nil, err
		}
		ds.Proxy = px
	}
	ds.Revision = revision(ds)
	return ds, profileOf, nil
}

// layerManifests joins a layer's manifests, then its chart's rendering.
func layerManifests(ctx context.Context, l v1alpha1.Layer, override string, charts ChartRenderer) (string, error) {
	var b strings.Builder
	for _, m := range l.Manifests {
		b.WriteString("---\n# manifest " + m.Name + "\n")
		b.WriteString(strings.TrimSpace(m.Content) + "\n")
	}
	if l.Chart == nil {
		return b.String(), nil
	}
	if charts == nil {
		return "", fmt.Errorf("chart %s %s: this server renders no charts", l.Chart.Name, l.Chart.Version)
	}
	values, err := mergedValues(l.Values, override)
	if err != nil {
		return "", err
	}
	ns := l.Chart.Namespace
	if ns == "" {
		ns = l.Name
	}
	out, err := charts.Render(ctx, *l.Chart, l.Name, ns, values)
	if err != nil {
		return "", err
	}
	b.WriteString("---\n" + out)
	return b.String(), nil
}

// mergedValues is a layer's values with the cluster's override merged over them, as YAML.
func mergedValues(values, override string) (string, error) {
	base, err := v1alpha1.ParseValues(values)
	if err != nil {
		return "", fmt.Errorf("values: %w", err)
	}
	over, err := v1alpha1.ParseValues(override)
	if err != nil {
		return "", fmt.Errorf("the cluster's override: %w", err)
	}
	out, err := yaml.Marshal(v1alpha1.MergeValues(base, over))
	if err != nil {
		return "", fmt.Errorf("values: %w", err)
	}
	return string(out), nil
}

// desiredProxy is the gateway's proxy as the cluster's pods get it.
func desiredProxy(in desiredInput) (*agentv1.Proxy, error) {
	s := proxyenv.FromGateway(in.proxy)
	if !s.Enabled() {
		return nil, nil
	}
	n, err := plan.ProxyNetwork(in.cluster, in.profiles)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	https := s.HTTPSProxy
	if https == "" {
		https = s.HTTPProxy
	}
	return &agentv1.Proxy{HttpProxy: s.HTTPProxy, HttpsProxy: https, NoProxy: proxyenv.NoProxy(s, n), CaCertificate: s.CACertificate}, nil
}

// digest hashes strings, each length-prefixed.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// revision names a desired state: it changes when a layer's digest, the layers' order, the
// proxy or the resync interval does.
func revision(ds *agentv1.DesiredState) string {
	parts := []string{fmt.Sprint(ds.GetResyncSeconds())}
	for _, l := range ds.GetLayers() {
		parts = append(parts, l.GetName(), l.GetDigest())
	}
	if p := ds.GetProxy(); p != nil {
		parts = append(parts, p.GetHttpProxy(), p.GetHttpsProxy(), strings.Join(p.GetNoProxy(), ","), p.GetCaCertificate())
	}
	return digest(parts...)
}
