package server

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v9"
	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/plan"
)

// twin returns a second Server on ts's store and log buffer, with cfg changed by mod.
func (ts *testServer) twin(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{Store: ts.store, Logger: logger}
	mod(&cfg)
	srv := New(cfg)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testServer{t: t, srv: srv, store: ts.store, url: hs.URL, logs: ts.logs}
}

// adminTwin is a twin of ts with access control on, sending an administrator's key: the
// server that serves admin kubeconfigs.
func (ts *testServer) adminTwin(t *testing.T) *testServer {
	t.Helper()
	twin := ts.twin(t, func(c *Config) { c.AccessControl = true })
	key, err := Bootstrap(t.Context(), ts.store, "admin", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	twin.apiKey = key
	return twin
}

// aksManagedCluster creates an AKS managed cluster in the emulator through the SDK and returns
// its ARM ID.
func aksManagedCluster(t *testing.T, env *emulatortest.Env, rg, name string, disableLocalAccounts bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mc, err := armcontainerservice.NewManagedClustersClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	body := armcontainerservice.ManagedCluster{
		Location: to.Ptr(env.Location),
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Properties: &armcontainerservice.ManagedClusterProperties{
			DNSPrefix: to.Ptr(name),
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{{
				Name: to.Ptr("system"), Mode: to.Ptr(armcontainerservice.AgentPoolModeSystem),
				Count: to.Ptr[int32](1), VMSize: to.Ptr("Standard_D4s_v3"),
			}},
			LinuxProfile: &armcontainerservice.LinuxProfile{AdminUsername: to.Ptr("azureuser"), SSH: &armcontainerservice.SSHConfiguration{
				PublicKeys: []*armcontainerservice.SSHPublicKey{{KeyData: to.Ptr(sshKey)}}}},
		},
	}
	if disableLocalAccounts {
		body.Properties.DisableLocalAccounts = to.Ptr(true)
		body.Properties.AADProfile = &armcontainerservice.ManagedClusterAADProfile{Managed: to.Ptr(true), EnableAzureRBAC: to.Ptr(true),
			AdminGroupObjectIDs: []*string{to.Ptr("6f2c8e5a-3d41-4b7e-9a2f-1c5d7e9b0a13")}}
	}
	p, err := mc.BeginCreateOrUpdate(ctx, rg, name, body, nil)
	if err != nil {
		t.Fatalf("create managed cluster %s: %v", name, err)
	}
	res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("create managed cluster %s: %v", name, err)
	}
	return *res.ID
}

// azureKubeconfig returns the kubeconfig the emulator lists for a managed cluster, asked
// directly through the SDK.
func azureKubeconfig(t *testing.T, env *emulatortest.Env, rg, name string, admin bool) []byte {
	t.Helper()
	mc, err := armcontainerservice.NewManagedClustersClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	var res armcontainerservice.CredentialResults
	if admin {
		r, err := mc.ListClusterAdminCredentials(t.Context(), rg, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		res = r.CredentialResults
	} else {
		r, err := mc.ListClusterUserCredentials(t.Context(), rg, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		res = r.CredentialResults
	}
	if len(res.Kubeconfigs) != 1 || len(res.Kubeconfigs[0].Value) == 0 {
		t.Fatalf("the emulator lists %d kubeconfigs", len(res.Kubeconfigs))
	}
	return res.Kubeconfigs[0].Value
}

// aksProfile is an aks profile whose kubernetes layer holds managedControlPlane.
func aksProfile(name, values string) *v1alpha1.ClusterProfile {
	o := v1alpha1.New(v1alpha1.KindClusterProfile).(*v1alpha1.ClusterProfile)
	o.Metadata.Name = name
	o.Spec = v1alpha1.ClusterProfileSpec{
		Version: "1.0.0",
		Cloud:   v1alpha1.ProfileCloudAKS,
		Type:    v1alpha1.ProfileTypeInfra,
		Layers:  []v1alpha1.Layer{{Name: "kubernetes", Type: v1alpha1.LayerKubernetes, Version: "1.30.4", Values: values}},
	}
	return o
}

// aksCluster is an aks Cluster in the emulator's subscription.
func aksCluster(name, acct, sub, rg string, prof *v1alpha1.ClusterProfile) *v1alpha1.Cluster {
	c := cluster(name, acct, prof)
	c.Spec.Azure.Type = v1alpha1.ClusterTypeAKS
	c.Spec.Azure.SubscriptionID = sub
	c.Spec.Azure.ResourceGroup = rg
	c.Spec.MachinePools = []v1alpha1.MachinePool{{Name: "system", System: true, Count: 1}}
	return c
}

// setInventory writes a cluster's status as the reconciler would: phase, and one
// ManagedCluster inventory item (none when id is empty).
func (ts *testServer) setInventory(t *testing.T, name, phase, id string, ready bool) {
	t.Helper()
	obj, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, name)
	if err != nil {
		t.Fatal(err)
	}
	c := obj.(*v1alpha1.Cluster)
	c.Status.Phase = phase
	c.Status.Inventory = []v1alpha1.InventoryItem{{Key: "resourcegroup", Kind: string(plan.KindResourceGroup), ID: "/subscriptions/x/resourceGroups/y", Ready: true}}
	if id != "" {
		c.Status.Inventory = append(c.Status.Inventory, v1alpha1.InventoryItem{Key: "managedcluster", Kind: string(plan.KindManagedCluster), ID: id, Managed: true, Ready: ready})
	}
	if err := ts.store.Update(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// armRequests returns how many requests the emulator's resource manager has answered.
func armRequests(t *testing.T, env *emulatortest.Env) int64 {
	t.Helper()
	_, all := env.Requests(t, "", "")
	return all
}

func kubeconfigPath(cluster string, q url.Values) string {
	p := kindPath(v1alpha1.KindCluster) + "/" + cluster + "/kubeconfig"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// kubeconfigSecrets returns the secret values of a kubeconfig: the CA, client certificate and
// key data and the token, each on one line as a log would hold them.
func kubeconfigSecrets(t *testing.T, kc []byte) []string {
	t.Helper()
	var cfg struct {
		Clusters []struct {
			Cluster struct {
				Server string `json:"server"`
				CA     string `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			User struct {
				Cert  string `json:"client-certificate-data"`
				Key   string `json:"client-key-data"`
				Token string `json:"token"`
			} `json:"user"`
		} `json:"users"`
	}
	if err := yaml.Unmarshal(kc, &cfg); err != nil {
		t.Fatalf("the kubeconfig is not YAML: %v\n%s", err, kc)
	}
	if len(cfg.Clusters) != 1 || len(cfg.Users) != 1 {
		t.Fatalf("kubeconfig with %d clusters and %d users:\n%s", len(cfg.Clusters), len(cfg.Users), kc)
	}
	u := cfg.Users[0].User
	var out []string
	for _, s := range []string{cfg.Clusters[0].Cluster.CA, u.Cert, u.Key, u.Token} {
		if s != "" {
			out = append(out, s)
		}
	}
	// The PEM key itself, as a log of the decoded data would show it.
	if key, err := base64.StdEncoding.DecodeString(u.Key); err == nil && len(key) > 0 {
		lines := strings.Split(strings.TrimSpace(string(key)), "\n")
		if len(lines) > 2 {
			out = append(out, lines[1])
		}
	}
	if len(out) < 4 {
		t.Fatalf("the kubeconfig has too few secrets to check the logs with: %q", out)
	}
	return out
}

// kubeconfigEnv is an emulator with two managed clusters in kc-rg, aks-one (local accounts
// on) and aks-aad (Entra ID only), and a strata server holding the emulator's cloud account
// "emu" and these clusters:
//   - aks: ready, on aks-one;
//   - nolocal: ready, on aks-one, local accounts disabled by its override of the profile's
//     values, so that only strata's own check can refuse its admin kubeconfig;
//   - entra: ready, on aks-aad, local accounts disabled by its profile;
//   - azure-nolocal: ready, on aks-aad, local accounts on in its profile: only Azure refuses;
//   - pending: provisioning, its managed cluster not ready yet;
//   - fresh: no status yet;
//   - gone: ready, but its managed cluster does not exist in Azure;
//   - vms: an iaas cluster, not provisioned.
type kubeconfigEnv struct {
	env    *emulatortest.Env
	ts     *testServer
	rg, mc string
}

func newKubeconfigEnv(t *testing.T) *kubeconfigEnv {
	t.Helper()
	env := emulatortest.Start(t)
	ts := newTestServer(t)
	ts.create(env.CloudAccount(t, "emu"))
	const rg = "kc-rg"
	env.ResourceGroup(t, rg)
	mcID := aksManagedCluster(t, env, rg, "aks-one", false)
	aadID := aksManagedCluster(t, env, rg, "aks-aad", true)
	sub := env.SubscriptionID

	local := aksProfile("aks", "managedControlPlane:\n  sku: Standard\n")
	ts.create(local)
	noLocal := aksProfile("aks-entra", "managedControlPlane:\n  aadProfile:\n    managed: true\n    adminGroupObjectIDs: [6f2c8e5a-3d41-4b7e-9a2f-1c5d7e9b0a13]\n    disableLocalAccounts: true\n")
	ts.create(noLocal)

	ts.create(aksCluster("aks", "emu", sub, rg, local))
	ts.setInventory(t, "aks", "Running", mcID, true)
	// nolocal disables local accounts through its override of the profile's values.
	nl := aksCluster("nolocal", "emu", sub, rg, local)
	nl.Spec.Profiles[0].Values = map[string]string{"kubernetes": "managedControlPlane:\n  aadProfile:\n    managed: true\n    adminGroupObjectIDs: [6f2c8e5a-3d41-4b7e-9a2f-1c5d7e9b0a13]\n    disableLocalAccounts: true\n"}
	ts.create(nl)
	ts.setInventory(t, "nolocal", "Running", mcID, true)
	ts.create(aksCluster("entra", "emu", sub, rg, noLocal))
	ts.setInventory(t, "entra", "Running", aadID, true)
	ts.create(aksCluster("azure-nolocal", "emu", sub, rg, local))
	ts.setInventory(t, "azure-nolocal", "Running", aadID, true)
	ts.create(aksCluster("pending", "emu", sub, rg, local))
	ts.setInventory(t, "pending", "Provisioning", mcID, false)
	ts.create(aksCluster("fresh", "emu", sub, rg, local))
	ts.create(aksCluster("gone", "emu", sub, rg, local))
	ts.setInventory(t, "gone", "Running", strings.Replace(mcID, "/aks-one", "/aks-gone", 1), true)
	iaas := profile("iaas", "1.0.0")
	ts.create(iaas)
	ts.create(cluster("vms", "emu", iaas))
	return &kubeconfigEnv{env: env, ts: ts, rg: rg, mc: "aks-one"}
}

func TestKubeconfig(t *testing.T) {
	k := newKubeconfigEnv(t)
	ts, env := k.ts, k.env
	admins := ts.adminTwin(t)
	wantUser := azureKubeconfig(t, env, k.rg, k.mc, false)
	wantAdmin := azureKubeconfig(t, env, k.rg, k.mc, true)
	if string(wantUser) == string(wantAdmin) {
		t.Fatal("the emulator's user and admin kubeconfigs are the same: the test could not tell them apart")
	}
	stored, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, "aks")
	if err != nil {
		t.Fatal(err)
	}
	eventsBefore := len(ts.events(v1alpha1.KindCluster, "aks"))

	served := []struct {
		name string
		srv  *testServer
		q    url.Values
		want []byte
	}{
		{"user", ts, nil, wantUser},
		{"user with admin=false", ts, url.Values{"admin": {"false"}}, wantUser},
		{"user where admin is allowed", admins, nil, wantUser},
		{"admin where allowed", admins, url.Values{"admin": {"true"}}, wantAdmin},
	}
	for _, tt := range served {
		t.Run(tt.name, func(t *testing.T) {
			before := armRequests(t, env)
			r := tt.srv.do(http.MethodGet, kubeconfigPath("aks", tt.q), nil, "")
			if r.code != http.StatusOK {
				t.Fatalf("got %d %s", r.code, r.body)
			}
			if string(r.body) != string(tt.want) {
				t.Errorf("kubeconfig:\n%s\nwant Azure's:\n%s", r.body, tt.want)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/yaml" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			var cfg map[string]any
			if err := yaml.Unmarshal(r.body, &cfg); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			clusters, _ := cfg["clusters"].([]any)
			if len(clusters) == 0 {
				t.Fatalf("no clusters in %s", r.body)
			}
			c0, _ := clusters[0].(map[string]any)["cluster"].(map[string]any)
			server, _ := c0["server"].(string)
			if u, err := url.Parse(server); err != nil || u.Scheme != "https" || u.Host == "" {
				t.Errorf("clusters[0].cluster.server = %q, want an https URL", server)
			}
			if armRequests(t, env) <= before {
				t.Error("the emulator counted no request: the request counter cannot show that refusals send nothing")
			}
		})
	}

	refused := []struct {
		name    string
		srv     *testServer
		path    string
		code    int
		reason  string
		message string // a part of the message
		noAzure bool   // refused before any request to Azure
	}{
		{"admin not allowed", ts, kubeconfigPath("aks", url.Values{"admin": {"true"}}), 403, ReasonForbidden, "--access-control=false", true},
		{"admin not allowed, unknown cluster", ts, kubeconfigPath("nope", url.Values{"admin": {"1"}}), 403, ReasonForbidden, "cluster.kubeconfig-admin", true},
		{"admin of a cluster without local accounts", admins, kubeconfigPath("nolocal", url.Values{"admin": {"true"}}), 409, ReasonLocalAccountsDisabled, "disableLocalAccounts", true},
		{"admin of a profile without local accounts", admins, kubeconfigPath("entra", url.Values{"admin": {"true"}}), 409, ReasonLocalAccountsDisabled, `"entra"`, true},
		{"admin refused by Azure", admins, kubeconfigPath("azure-nolocal", url.Values{"admin": {"true"}}), 409, ReasonLocalAccountsDisabled, `"azure-nolocal"`, false},
		{"iaas cluster not provisioned", ts, kubeconfigPath("vms", nil), 409, ReasonNotReady, `cluster "vms" has no control plane in Azure yet (phase Pending)`, true},
		{"not ready", ts, kubeconfigPath("pending", nil), 409, ReasonNotReady, `cluster "pending" has no managed cluster in Azure yet (phase Provisioning)`, true},
		{"no status yet", ts, kubeconfigPath("fresh", nil), 409, ReasonNotReady, "(phase Pending)", true},
		{"unknown cluster", ts, kubeconfigPath("nope", nil), 404, ReasonNotFound, `"nope"`, true},
		{"not a cluster", ts, kindPath(v1alpha1.KindCloudAccount) + "/emu/kubeconfig", 404, ReasonNotFound, "clusters/{name}/kubeconfig", true},
		{"bad admin", ts, kubeconfigPath("aks", url.Values{"admin": {"yes please"}}), 400, ReasonBadRequest, "admin", true},
		{"admin twice", ts, kubeconfigPath("aks", url.Values{"admin": {"false", "false"}}), 400, ReasonBadRequest, "2 times", true},
		{"unknown parameter", ts, kubeconfigPath("aks", url.Values{"user": {"me"}}), 400, ReasonBadRequest, `"user"`, true},
		{"missing in Azure", ts, kubeconfigPath("gone", nil), 502, ReasonAzureError, "ResourceNotFound", false},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before := armRequests(t, env)
			r := tt.srv.do(http.MethodGet, tt.path, nil, "")
			if r.code != tt.code {
				t.Fatalf("got %d %s, want %d", r.code, r.body, tt.code)
			}
			st := r.status(t)
			if st.Reason != tt.reason || !strings.Contains(st.Message, tt.message) {
				t.Errorf("Status %+v, want reason %s and a message containing %q", st, tt.reason, tt.message)
			}
			switch after := armRequests(t, env); {
			case tt.noAzure && after != before:
				t.Errorf("%d requests were sent to Azure before the refusal", after-before)
			case !tt.noAzure && after == before:
				t.Error("nothing was sent to Azure: the answer is not Azure's")
			}
		})
	}
	if r := ts.do(http.MethodPost, kubeconfigPath("aks", nil), nil, ""); r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
		t.Errorf("POST on a kubeconfig: got %d (Allow %q) %s", r.code, r.header.Get("Allow"), r.body)
	}

	// Nothing kept the kubeconfigs: not the logs, not the cluster, not its events.
	logs := ts.logs.String()
	if !strings.Contains(logs, "/kubeconfig") {
		t.Fatalf("the server logged no kubeconfig request, so the log check below proves nothing:\n%s", logs)
	}
	for _, kc := range [][]byte{wantUser, wantAdmin} {
		for _, secret := range kubeconfigSecrets(t, kc) {
			if strings.Contains(logs, secret) {
				t.Fatalf("the server's log holds a secret of the kubeconfig (%.20s...)", secret)
			}
		}
	}
	after, err := ts.store.Get(t.Context(), v1alpha1.KindCluster, "aks")
	if err != nil {
		t.Fatal(err)
	}
	if after.GetMetadata().ResourceVersion != stored.GetMetadata().ResourceVersion {
		t.Errorf("serving the kubeconfig wrote the cluster: resourceVersion %s, then %s", stored.GetMetadata().ResourceVersion, after.GetMetadata().ResourceVersion)
	}
	if n := len(ts.events(v1alpha1.KindCluster, "aks")); n != eventsBefore {
		t.Errorf("serving the kubeconfig recorded %d events", n-eventsBefore)
	}
}

// TestManagedClusterID checks which inventories give a managed cluster to ask Azure about.
func TestManagedClusterID(t *testing.T) {
	const sub = "8f4b1c2d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	good := "/subscriptions/" + sub + "/resourceGroups/rg-1/providers/Microsoft.ContainerService/managedClusters/prod"
	tests := []struct {
		name      string
		items     []v1alpha1.InventoryItem
		wantCode  int
		wantRG    string
		wantName  string
		wantInMsg string
	}{
		{"ready", []v1alpha1.InventoryItem{
			{Kind: string(plan.KindResourceGroup), ID: "/subscriptions/" + sub + "/resourceGroups/rg-1", Ready: true},
			{Kind: string(plan.KindManagedCluster), ID: good, Ready: true},
		}, 0, "rg-1", "prod", ""},
		{"not ready", []v1alpha1.InventoryItem{{Kind: string(plan.KindManagedCluster), ID: good}}, 409, "", "", "phase Provisioning"},
		{"only an agent pool", []v1alpha1.InventoryItem{{Kind: string(plan.KindAgentPool), ID: good + "/agentPools/system", Ready: true}}, 409, "", "", "no managed cluster"},
		{"agent pool ID", []v1alpha1.InventoryItem{{Kind: string(plan.KindManagedCluster), ID: good + "/agentPools/system", Ready: true}}, 500, "", "", "unusable managed cluster ID"},
		{"other subscription", []v1alpha1.InventoryItem{{Kind: string(plan.KindManagedCluster), ID: strings.Replace(good, sub, "00000000-0000-0000-0000-000000000000", 1), Ready: true}}, 500, "", "", "unusable"},
		{"garbage", []v1alpha1.InventoryItem{{Kind: string(plan.KindManagedCluster), ID: "prod", Ready: true}}, 500, "", "", "unusable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := v1alpha1.New(v1alpha1.KindCluster).(*v1alpha1.Cluster)
			c.Metadata.Name = "prod"
			c.Spec.Azure.SubscriptionID = sub
			c.Status.Phase = "Provisioning"
			c.Status.Inventory = tt.items
			id, err := managedClusterID(c)
			if tt.wantCode == 0 {
				if err != nil || id.ResourceGroupName != tt.wantRG || id.Name != tt.wantName {
					t.Fatalf("managedClusterID = %v, %v; want %s/%s", id, err, tt.wantRG, tt.wantName)
				}
				return
			}
			ae, ok := err.(*apiError)
			if !ok || ae.code != tt.wantCode || !strings.Contains(ae.Error(), tt.wantInMsg) {
				t.Errorf("managedClusterID error = %v, want code %d containing %q", err, tt.wantCode, tt.wantInMsg)
			}
		})
	}
}
