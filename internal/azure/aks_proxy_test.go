package azure

import (
	"crypto/rand"
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/examples"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
	"github.com/strata-dev/strata/internal/proxyenv"
)

const typeManagedClusters = "Microsoft.ContainerService/managedClusters"

// aksProxyGraph plans the example AKS cluster into the emulator's subscription, region and
// resource group rg, behind proxy (nil: none), with one node per pool.
func aksProxyGraph(t *testing.T, env *emulatortest.Env, c *Clients, rg string, proxy *proxyenv.Settings) *plan.Graph {
	t.Helper()
	decode := func(name string) v1alpha1.Object {
		b, err := fs.ReadFile(examples.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := v1alpha1.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v1alpha1.Default(objs[0])
		return objs[0]
	}
	cl := decode("cluster-aks.yaml").(*v1alpha1.Cluster)
	cl.Metadata.UID = "uid-proxy"
	cl.Spec.Azure.SubscriptionID, cl.Spec.Azure.Location, cl.Spec.Azure.ResourceGroup = env.SubscriptionID, env.Location, rg
	for i := range cl.Spec.MachinePools {
		mp := &cl.Spec.MachinePools[i]
		mp.Count, mp.Min, mp.Max = 1, nil, nil
	}
	secrets, err := plan.NewBootstrapSecrets(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	zones, err := c.ZonesBySize(testCtx(t), env.Location)
	if err != nil {
		t.Fatal(err)
	}
	g, err := plan.Build(plan.Input{
		Cluster:  cl,
		Profiles: []*v1alpha1.ClusterProfile{decode("profile-aks.yaml").(*v1alpha1.ClusterProfile)},
		Env:      plan.Environment{Zones: zones, BlobEndpoint: c.BlobEndpoint},
		Secrets:  secrets,
		Proxy:    proxy,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// storedProxy is the httpProxyConfig the emulator stored for the managed cluster id (what the
// PUT carried), and the sequence number of the cluster's last write.
func storedProxy(t *testing.T, env *emulatortest.Env, id string) (map[string]any, uint64) {
	t.Helper()
	for _, r := range env.Emulator.Engine().Snapshot().Resources {
		if strings.EqualFold(r.ID, id) {
			props, _ := r.Body["properties"].(map[string]any)
			cfg, _ := props["httpProxyConfig"].(map[string]any)
			return cfg, r.Seq
		}
	}
	t.Fatalf("no managed cluster %s in the emulator", id)
	return nil, 0
}

// TestManagedClusterProxy applies an AKS cluster behind a proxy: the PUT carries
// httpProxyConfig and Azure's effectiveNoProxy is observed; applying the same graph again
// sends no write; a changed proxy sends one PUT, and so does removing it (which disables the
// proxy); each is followed by an apply that sends nothing.
func TestManagedClusterProxy(t *testing.T) {
	env := emulatortest.Start(t)
	c := newClients(t, env)
	ap := c.Applier()
	ctx := testCtx(t)
	env.ResourceGroup(t, "aks-proxy")
	inv := &memInventory{owner: "uid-proxy"}
	first := &proxyenv.Settings{HTTPProxy: "http://proxy.corp.example:3128", NoProxy: []string{".corp.example"}}
	g := aksProxyGraph(t, env, c, "aks-proxy", first)
	applyAll(t, ap, g, inv)
	mc := g.Node("managed-cluster")

	cfg, _ := storedProxy(t, env, mc.ID)
	noProxy, _ := cfg["noProxy"].([]any)
	if cfg["httpProxy"] != first.HTTPProxy || cfg["httpsProxy"] != first.HTTPProxy || !slices.Contains(noProxy, any(".corp.example")) ||
		!slices.Contains(noProxy, any(v1alpha1.InstanceMetadataIP)) {
		t.Fatalf("stored httpProxyConfig = %v, want the gateway's proxy and noProxy", cfg)
	}
	o, err := ap.Observe(ctx, mc)
	if err != nil || o.ControlPlane == nil {
		t.Fatalf("Observe = %+v, %v", o, err)
	}
	if eff := o.ControlPlane.EffectiveNoProxy; !slices.Contains(eff, ".corp.example") || !slices.Contains(eff, "konnectivity") {
		t.Errorf("effectiveNoProxy = %v, want the noProxy sent and AKS's additions", eff)
	}
	if !o.UpToDate {
		t.Error("the managed cluster is not up to date right after its PUT: effectiveNoProxy is compared")
	}

	steps := []struct {
		name  string
		proxy *proxyenv.Settings
		check func(cfg map[string]any) bool
	}{
		{"another noProxy", &proxyenv.Settings{HTTPProxy: first.HTTPProxy, NoProxy: []string{".corp.example", "git.example"}},
			func(cfg map[string]any) bool { return slices.Contains(cfg["noProxy"].([]any), any("git.example")) }},
		{"another proxy", &proxyenv.Settings{HTTPProxy: "http://proxy2.corp.example:3128", HTTPSProxy: "https://proxy2.corp.example:3129"},
			func(cfg map[string]any) bool { return cfg["httpsProxy"] == "https://proxy2.corp.example:3129" }},
		{"proxy removed: disabled", nil, func(cfg map[string]any) bool { return cfg["enabled"] == false }},
	}
	applyAgain(t, ap, g, inv, c, env, "same proxy")
	for _, st := range steps {
		g := aksProxyGraph(t, env, c, "aks-proxy", st.proxy)
		puts := writes(c, typeManagedClusters)
		r, err := ap.Apply(ctx, g.Node("managed-cluster"), inv)
		if err != nil || !r.Wrote {
			t.Fatalf("%s: Apply = %+v, %v, want a write", st.name, r, err)
		}
		if got := writes(c, typeManagedClusters) - puts; got != 1 {
			t.Errorf("%s: %d writes of the managed cluster, want one PUT: %v", st.name, got, c.Requests())
		}
		if cfg, _ := storedProxy(t, env, mc.ID); !st.check(cfg) {
			t.Errorf("%s: stored httpProxyConfig = %v", st.name, cfg)
		}
		applyAgain(t, ap, g, inv, c, env, st.name)
	}
}

// applyAgain applies every node of g and checks that nothing was written.
func applyAgain(t *testing.T, ap Applier, g *plan.Graph, inv Inventory, c *Clients, env *emulatortest.Env, step string) {
	t.Helper()
	before := c.Writes()
	_, seq := storedProxy(t, env, g.Node("managed-cluster").ID)
	for _, n := range g.Nodes {
		if r, err := ap.Apply(testCtx(t), n, inv); err != nil || r.Wrote {
			t.Errorf("%s, again: %s: Apply = %+v, %v, want no write", step, n.Key, r, err)
		}
	}
	if got := c.Writes() - before; got != 0 {
		t.Errorf("%s, again: %d writes: %v", step, got, c.Requests())
	}
	if _, after := storedProxy(t, env, g.Node("managed-cluster").ID); after != seq {
		t.Errorf("%s, again: the managed cluster was written", step)
	}
}

func TestProxyUpToDate(t *testing.T) {
	cfg := func(enabled *bool, http, https, ca string, noProxy ...string) *armcontainerservice.ManagedClusterHTTPProxyConfig {
		c := &armcontainerservice.ManagedClusterHTTPProxyConfig{Enabled: enabled, NoProxy: to.SliceOfPtrs(noProxy...)}
		for _, f := range []struct {
			p **string
			v string
		}{{&c.HTTPProxy, http}, {&c.HTTPSProxy, https}, {&c.TrustedCa, ca}} {
			if f.v != "" {
				*f.p = to.Ptr(f.v)
			}
		}
		return c
	}
	on, off := to.Ptr(true), to.Ptr(false)
	want := cfg(on, "http://p:1", "http://p:1", "Q0E=", "a", "10.0.0.0/8")
	tests := []struct {
		name       string
		want, live *armcontainerservice.ManagedClusterHTTPProxyConfig
		upToDate   bool
	}{
		{"no proxy wanted", nil, cfg(on, "http://p:1", "", ""), true},
		{"none live", want, nil, false},
		{"same, enabled by default", want, cfg(nil, "http://p:1", "http://p:1", "Q0E=", "a", "10.0.0.0/8"), true},
		{"noProxy in another order and case", want, cfg(on, "http://p:1", "http://p:1", "Q0E=", "10.0.0.0/8", "A"), true},
		{"noProxy entry added", want, cfg(on, "http://p:1", "http://p:1", "Q0E=", "a", "10.0.0.0/8", "b"), false},
		{"password changed in case only", cfg(on, "http://u:PW@p:1", "", ""), cfg(on, "http://u:pw@p:1", "", ""), false},
		{"another CA", want, cfg(on, "http://p:1", "http://p:1", "Q0I=", "a", "10.0.0.0/8"), false},
		{"disabled live", want, cfg(off, "http://p:1", "http://p:1", "Q0E=", "a", "10.0.0.0/8"), false},
		{"CA not sent, one live", cfg(on, "http://p:1", "", "", "a"), cfg(on, "http://p:1", "http://p:1", "Q0E=", "a"), true},
		{"disable sent, disabled live", cfg(off, "http://p:1", "", ""), cfg(off, "http://x:2", "", ""), true},
	}
	for _, tt := range tests {
		if got := proxyUpToDate(tt.want, tt.live); got != tt.upToDate {
			t.Errorf("%s: proxyUpToDate = %v, want %v", tt.name, got, tt.upToDate)
		}
	}
}

func TestProxyToSend(t *testing.T) {
	live := &armcontainerservice.ManagedClusterHTTPProxyConfig{HTTPProxy: to.Ptr("http://p:1"), NoProxy: to.SliceOfPtrs("a"), TrustedCa: to.Ptr("Q0E=")}
	desired := &armcontainerservice.ManagedClusterHTTPProxyConfig{HTTPProxy: to.Ptr("http://q:1")}
	disabled := &armcontainerservice.ManagedClusterHTTPProxyConfig{Enabled: to.Ptr(false), HTTPProxy: to.Ptr("http://p:1")}
	tests := []struct {
		name          string
		desired, live *armcontainerservice.ManagedClusterHTTPProxyConfig
		want          string // JSON of the config to send
	}{
		{"desired wins", desired, live, `{"httpProxy":"http://q:1"}`},
		{"no proxy anywhere", nil, nil, `null`},
		{"removed: the live settings, disabled", nil, live, `{"enabled":false,"httpProxy":"http://p:1","noProxy":["a"],"trustedCa":"Q0E="}`},
		{"already disabled", nil, disabled, `null`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(proxyToSend(tt.desired, tt.live))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: proxyToSend = %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
}

// TestLiveClusterEncoding checks that a live cluster encodes as the SDK's model alone, so that
// drift and the owner tag see nothing else.
func TestLiveClusterEncoding(t *testing.T) {
	mc := armcontainerservice.ManagedCluster{Location: to.Ptr("westeurope"), Tags: map[string]*string{v1alpha1.TagOwner: to.Ptr("u")}}
	a, _ := json.Marshal(mc)
	b, _ := json.Marshal(&liveCluster{ManagedCluster: mc, effectiveNoProxy: []string{"x"}})
	if string(a) != string(b) {
		t.Errorf("live cluster encodes as %s, want %s", b, a)
	}
	if tagsOf(&liveCluster{ManagedCluster: mc})[v1alpha1.TagOwner] == nil {
		t.Error("the owner tag of a live cluster is not seen")
	}
}
