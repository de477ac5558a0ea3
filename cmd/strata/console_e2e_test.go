package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/kube"
)

// chromiumPath is Debian's Chromium, which the Makefile installs for this test.
const chromiumPath = "/usr/bin/chromium"

// TestConsole drives the web console in headless Chromium against a quickstart with real
// Kubernetes and no example clusters: password sign-in, a static-placement IaaS cluster
// created through the wizard from the subscription's lookups, its phase live in the fleet and
// on its page, its kubeconfig downloaded, a pool scaled, the cluster deleted; the server's
// validation shown at the wizard's fields; a user restricted to department:finance seeing only
// that and refused a sales cluster. No request of the page leaves the server's origin.
func TestConsole(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("the console's browser test needs Chromium at %s (make installs it): %v", chromiumPath, err)
	}
	bin := kube.DefaultBinDir()
	if err := kube.CheckBinaries(bin); err != nil {
		t.Fatalf("real Kubernetes: %v", err)
	}
	start := time.Now()
	shots := os.Getenv("STRATA_CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	dataDir, addr := t.TempDir(), freeAddress(t)
	server := "https://" + addr
	q := startQuickstart(t, exec.Command(strataBin, "quickstart", "--data-dir", dataDir, "--listen", addr,
		"--kubernetes-bin", bin, "--example-clusters=false"))
	q.waitFor(t, q.serving, "quickstart serves", 2*time.Minute)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("quickstart stdout:\n%s\nstderr:\n%s", q.out, q.logs)
		}
	})
	admin := &apiCaller{t: t, server: server, key: adminKeyOf(t, server), http: trustingClient(serverCA(dataDir))}
	cl, err := clientFor(server)
	if err != nil {
		t.Fatal(err)
	}

	// Users: alice may do everything; fin sees and makes only clusters tagged department:finance.
	const alicePassword, finPassword = "alice-console-password", "fin-console-password"
	admin.put("/users/alice", obj("User", "alice", map[string]any{"displayName": "Alice"}))
	admin.put("/users/alice/password", map[string]any{"password": alicePassword})
	admin.put("/rolebindings/alice-admin", obj("RoleBinding", "alice-admin", map[string]any{"subject": map[string]any{"user": "alice"}, "role": "admin"}))
	admin.put("/users/fin", obj("User", "fin", map[string]any{}))
	admin.put("/users/fin/password", map[string]any{"password": finPassword})
	admin.put("/roles/finance-operator", obj("Role", "finance-operator", map[string]any{"permissions": []string{
		"cluster.get", "cluster.list", "cluster.create", "cluster.update", "cluster.delete", "cluster.kubeconfig"}}))
	admin.put("/roles/account-user", obj("Role", "account-user", map[string]any{"permissions": []string{
		"cloudAccount.get", "cloudAccount.list", "cloudAccount.use", "clusterProfile.get", "clusterProfile.list", "clusterProfile.use"}}))
	admin.put("/tagfilters/finance", obj("TagFilter", "finance", map[string]any{"filters": []any{map[string]any{"key": "department", "values": []string{"finance"}}}}))
	admin.put("/rolebindings/fin-finance", obj("RoleBinding", "fin-finance", map[string]any{"subject": map[string]any{"user": "fin"}, "role": "finance-operator", "filter": "finance"}))
	admin.put("/rolebindings/fin-accounts", obj("RoleBinding", "fin-accounts", map[string]any{"subject": map[string]any{"user": "fin"}, "role": "account-user"}))

	// The user's network, in a resource group other than the cluster's, and storage (which
	// strata finds in the cluster's resource group), made with
	// the emulator's Resource Manager as a service principal of the test.
	em := newEmulatorAdmin(t, dataDir, q.emulatorURL(t))
	var info struct{ Subscriptions []struct{ ID string } }
	em.do(t, http.MethodGet, "/_emulator/info", nil, &info)
	if len(info.Subscriptions) == 0 {
		t.Fatal("the emulator offers no subscription")
	}
	sub := info.Subscriptions[0].ID
	az := em.armClients(t, sub)
	ctx := context.Background()
	placement := &v1alpha1.StaticPlacement{ResourceGroup: "console-net-rg", VirtualNetwork: "console-vnet", CIDR: "10.20.0.0/16",
		ControlPlaneSubnet: &v1alpha1.Subnet{Name: "console-cp", CIDR: "10.20.0.0/24", SecurityGroup: "console-cp-nsg"},
		WorkerSubnet:       &v1alpha1.Subnet{Name: "console-workers", CIDR: "10.20.1.0/24", SecurityGroup: "console-workers-nsg"}}
	for _, rg := range []string{"console-rg", "console-net-rg"} {
		if _, err := az.resourceGroup(ctx, rg, quickstartLocation); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := az.userNetwork(ctx, placement, quickstartLocation); err != nil {
		t.Fatal(err)
	}
	if _, err := az.userStorage(ctx, "console-rg", &v1alpha1.CustomStorage{Account: "consolevhds", Container: "vhds"}, quickstartLocation); err != nil {
		t.Fatal(err)
	}

	// Two clusters of an account whose secret is wrong (they fail fast, which is enough to be
	// listed), one per department.
	acct, err := cl.Get(ctx, v1alpha1.KindCloudAccount, quickstartAccount)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(acct.(*v1alpha1.CloudAccount).Spec)
	var broken map[string]any
	if err := json.Unmarshal(spec, &broken); err != nil {
		t.Fatal(err)
	}
	azure := broken["azure"].(map[string]any)
	delete(azure, "clientSecretSet")
	azure["clientSecret"] = "not-the-secret"
	admin.put("/cloudaccounts/broken", obj("CloudAccount", "broken", broken))
	sshKey := exampleSSHKey(t)
	for _, c := range [][2]string{{"fin-a", "department:finance"}, {"sales-a", "department:sales"}} {
		admin.put("/clusters/"+c[0], obj("Cluster", c[0], map[string]any{
			"cloudAccount": "broken", "profiles": []any{map[string]any{"name": "iaas-base", "version": "1.0.0"}}, "tags": []string{c[1]},
			"azure":        map[string]any{"type": "iaas", "subscriptionID": sub, "resourceGroup": "console-rg", "location": quickstartLocation, "sshPublicKey": sshKey},
			"machinePools": []any{map[string]any{"name": "control-plane", "controlPlane": true, "count": 1}, map[string]any{"name": "workers", "count": 1}},
		}))
	}

	b := newBrowser(t, server, dataDir)
	shot := func(ctx context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if len(png) < 8 || !bytes.Equal(png[:8], []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("screenshot %s is not a PNG", name)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// --- fin: only the finance cluster; a sales cluster refused by the server's dry run ---
	finCtx := b.tab(t, true)
	b.signIn(t, finCtx, "fin", finPassword)
	b.waitText(t, finCtx, `#fleet tr[data-cluster="fin-a"] [data-field="tags"]`, "department:finance")
	if n := b.eval(t, finCtx, `document.querySelectorAll('#fleet tr[data-cluster]').length`); n != "1" {
		t.Errorf("fin sees %s clusters in the fleet, want only fin-a", n)
	}
	b.do(t, finCtx, chromedp.Navigate(server+"/#/create"))
	b.waitVisible(t, finCtx, "#f-name")
	b.typeInto(t, finCtx, "#f-name", "sales-b")
	b.typeInto(t, finCtx, "#f-tags", "department:sales")
	b.click(t, finCtx, "#wizard-next")
	msg := b.waitText(t, finCtx, "#wizard-errors", "department")
	if !strings.Contains(msg, "sales") {
		t.Errorf("the wizard's error for a sales cluster: %q", msg)
	}
	b.assertDisabled(t, finCtx, "#wizard-create")
	b.assertStep(t, finCtx, "Basics")

	// --- alice ---
	fleet := b.tab(t, false)
	b.do(t, fleet, chromedp.Navigate(server+"/"))
	b.waitVisible(t, fleet, "#signin-user")
	shot(fleet, "signin")
	b.typeInto(t, fleet, "#signin-user", "alice")
	b.typeInto(t, fleet, "#signin-password", "wrong-password-here")
	b.click(t, fleet, "#signin-submit")
	b.waitText(t, fleet, "#signin-error", "Wrong user name or password")
	b.signIn(t, fleet, "alice", alicePassword)
	b.waitText(t, fleet, "#whoami", "alice")
	b.waitText(t, fleet, `#fleet tr[data-cluster="sales-a"]`, "sales-a")
	b.eval(t, fleet, `window.__consoleLoaded = 'yes'`)
	shot(fleet, "fleet")

	wiz := b.tab(t, false)
	b.do(t, wiz, chromedp.Navigate(server+"/#/clusters"))
	b.waitVisible(t, wiz, "#create-cluster")
	b.click(t, wiz, "#create-cluster")
	b.waitVisible(t, wiz, "#f-name")
	// The server's rules, at their fields.
	b.typeInto(t, wiz, "#f-name", "Web_1")
	b.click(t, wiz, "#wizard-next")
	b.waitText(t, wiz, `[data-error-for="metadata.name"]`, "")
	b.assertDisabled(t, wiz, "#wizard-create")
	b.assertStep(t, wiz, "Basics")
	shot(wiz, "wizard-1-basics")
	b.typeInto(t, wiz, "#f-name", "web1")
	b.typeInto(t, wiz, "#f-tags", "department:eng\nenv:test")
	b.pick(t, wiz, "#f-account", quickstartAccount)
	b.next(t, wiz, "Profiles")
	b.waitText(t, wiz, `[data-step="1"]`, "kubernetes")
	shot(wiz, "wizard-2-profiles")
	b.next(t, wiz, "Layer values")
	shot(wiz, "wizard-3-values")
	b.next(t, wiz, "Cluster config")
	b.pick(t, wiz, "#f-subscription", sub)
	b.pick(t, wiz, "#f-location", quickstartLocation)
	b.pick(t, wiz, "#f-resourceGroup", "console-rg")
	b.typeInto(t, wiz, "#f-ssh", sshKey)
	vnetOption := `#f-vnet option[value="console-net-rg/console-vnet"]`
	if b.eval(t, wiz, fmt.Sprintf(`String(!!document.querySelector(%q))`, vnetOption)) != "false" {
		t.Fatal("the VNet is offered before its lookup ran")
	}
	b.pick(t, wiz, "#f-placement", "static")
	label := b.waitText(t, wiz, vnetOption, "console-cp")
	if !strings.Contains(label, "console-workers 10.20.1.0/24") {
		t.Errorf("the VNet's option %q does not show its subnets", label)
	}
	if g := b.eval(t, wiz, fmt.Sprintf(`document.querySelector(%q).parentElement.label`, vnetOption)); g != "console-net-rg" {
		t.Errorf("the VNet's option is in group %q, want its resource group console-net-rg", g)
	}
	b.pick(t, wiz, "#f-vnet", "console-net-rg/console-vnet")
	b.pick(t, wiz, "#f-cp-subnet", "console-cp")
	b.pick(t, wiz, "#f-worker-subnet", "console-workers")
	if v := b.eval(t, wiz, `document.querySelector('#f-worker-nsg').value + ' ' + document.querySelector('#f-worker-subnet-cidr').value`); v != "console-workers-nsg 10.20.1.0/24" {
		t.Errorf("the worker subnet's NSG and CIDR from the lookup: %q", v)
	}
	b.pick(t, wiz, "#f-storage-account", "consolevhds")
	b.pick(t, wiz, "#f-container", "vhds")
	// A bad CIDR is refused by the server at its field; fixed, Next goes on.
	b.typeInto(t, wiz, "#f-cp-subnet-cidr", "10.20.0.1/24")
	b.click(t, wiz, "#wizard-next")
	b.waitText(t, wiz, `[data-error-for="spec.azure.placement.controlPlaneSubnet.cidr"]`, "")
	b.assertStep(t, wiz, "Cluster config")
	b.typeInto(t, wiz, "#f-cp-subnet-cidr", "10.20.0.0/24")
	shot(wiz, "wizard-4-config")
	b.next(t, wiz, "Node pools")
	shot(wiz, "wizard-5-pools")
	b.next(t, wiz, "Review")
	b.click(t, wiz, "#show-cli")
	b.waitText(t, wiz, "#cli-command", "strata apply -f cluster.yaml")
	b.waitEnabled(t, wiz, "#wizard-create")
	shot(wiz, "wizard-6-review")
	// The YAML view edits the same object.
	b.click(t, wiz, "#toggle-yaml")
	yml := b.eval(t, wiz, `document.querySelector('#wizard-yaml').value`)
	if !strings.Contains(yml, "virtualNetwork: console-vnet") || !strings.Contains(yml, "container: vhds") {
		t.Fatalf("the wizard's YAML:\n%s", yml)
	}
	b.typeInto(t, wiz, "#wizard-yaml", "spec: [")
	b.click(t, wiz, "#toggle-yaml")
	b.waitText(t, wiz, "#wizard-yaml-error", "YAML")
	b.typeInto(t, wiz, "#wizard-yaml", yml)
	b.click(t, wiz, "#toggle-yaml")
	b.waitEnabled(t, wiz, "#wizard-create")
	b.click(t, wiz, "#wizard-create")

	// The cluster page and the fleet follow it to Running, live.
	b.waitText(t, wiz, "#cluster-phase", "")
	b.eval(t, wiz, `window.__consoleLoaded = 'yes'`)
	b.waitTextWithin(t, fleet, `#fleet tr[data-cluster="web1"] [data-field="phase"]`, "Running", 5*time.Minute)
	b.waitTextWithin(t, wiz, "#cluster-phase", "Running", time.Minute)
	for _, tab := range []context.Context{fleet, wiz} {
		if b.eval(t, tab, `String(window.__consoleLoaded)`) != "yes" {
			t.Error("the page was reloaded on the way to Running")
		}
	}
	shot(fleet, "fleet-running")
	b.do(t, fleet, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.waitVisible(t, fleet, `#fleet tr[data-cluster="web1"]`)
	if w := b.eval(t, fleet, `String(document.documentElement.scrollWidth <= window.innerWidth)`); w != "true" {
		t.Errorf("the fleet is wider than a 390 px phone")
	}
	shot(fleet, "fleet-phone")
	b.do(t, fleet, chromedp.EmulateReset())
	b.waitText(t, wiz, "#cluster-kubernetes", "nodes ready 2/2")
	shot(wiz, "cluster")

	// The kubeconfig, downloaded.
	downloads := t.TempDir()
	if _, err := cdp.Call(wiz, chromedp.FromContext(wiz).Browser, browser.SetDownloadBehavior,
		browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	b.click(t, wiz, "#download-kubeconfig")
	var kubeconfig []byte
	eventually(t, 30*time.Second, "web1.kubeconfig downloaded", func() error {
		kubeconfig, err = os.ReadFile(filepath.Join(downloads, "web1.kubeconfig"))
		if err == nil && len(kubeconfig) == 0 {
			err = errors.New("empty")
		}
		return err
	})
	kc, err := clientcmd.Load(kubeconfig)
	if err != nil {
		t.Fatalf("the downloaded kubeconfig: %v\n%s", err, kubeconfig)
	}
	web1, err := cl.Get(ctx, v1alpha1.KindCluster, "web1")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := web1.(*v1alpha1.Cluster).Status.ControlPlaneAddress
	found := false
	for _, c := range kc.Clusters {
		found = found || strings.Contains(c.Server, endpoint)
	}
	if endpoint == "" || !found || kc.CurrentContext == "" {
		t.Errorf("the downloaded kubeconfig is not web1's (API server %s): %+v", endpoint, kc.Clusters)
	}

	// Day 2: scale the workers from the page.
	b.typeInto(t, wiz, "#pool-workers-count", "2")
	b.click(t, wiz, "#save-pools")
	b.waitText(t, wiz, "#save-pools-done", "Saved")
	eventually(t, 10*time.Second, "workers count 2 on the server", func() error {
		o, err := cl.Get(ctx, v1alpha1.KindCluster, "web1")
		if err != nil {
			return err
		}
		for _, p := range o.(*v1alpha1.Cluster).Spec.MachinePools {
			if p.Name == "workers" && p.Count != 2 {
				return fmt.Errorf("workers count %d", p.Count)
			}
		}
		return nil
	})
	kcl := kubeClient(t, server, "web1")
	eventually(t, 3*time.Minute, "3 Ready nodes", func() error {
		nodes, err := kcl.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		n := 0
		for _, node := range nodes.Items {
			if ready(node) {
				n++
			}
		}
		if n != 3 {
			return fmt.Errorf("%d of %d nodes Ready", n, len(nodes.Items))
		}
		return nil
	})
	b.waitTextWithin(t, wiz, "#cluster-kubernetes", "nodes ready 3/3", time.Minute)

	// The other pages.
	for _, p := range []struct{ route, sel, want, name string }{
		{"#/profiles", `#list-clusterprofiles tr[data-name="iaas-base@1.0.0"]`, "iaas-base", "profiles"},
		{"#/accounts", `#list-cloudaccounts tr[data-name="emulator"]`, "emulator", "accounts"},
		{"#/gateways", `#list-privatecloudgateways`, "", "gateways"},
	} {
		b.do(t, fleet, chromedp.Navigate(server+"/"+p.route))
		b.waitText(t, fleet, p.sel, p.want)
		shot(fleet, p.name)
	}
	b.do(t, fleet, chromedp.Navigate(server+"/#/profiles/iaas-base@1.0.0"))
	b.waitText(t, fleet, "#profile-diff", "  layers:")
	// The account saved with its secret field empty keeps the stored secret.
	b.do(t, fleet, chromedp.Navigate(server+"/#/accounts/emulator"))
	b.waitVisible(t, fleet, "#a-secret")
	if v := b.eval(t, fleet, `document.querySelector('#a-secret').value`); v != "" {
		t.Errorf("the account page shows a secret: %q", v)
	}
	b.click(t, fleet, "#account-save")
	b.waitText(t, fleet, "form .ok", "Saved")
	if a, err := cl.Get(ctx, v1alpha1.KindCloudAccount, quickstartAccount); err != nil || !a.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecretSet {
		t.Errorf("the account lost its secret on a save from the page: %v", err)
	}

	// Delete by typing the name.
	b.click(t, wiz, "#delete-cluster")
	b.waitVisible(t, wiz, "#delete-confirm")
	b.assertDisabled(t, wiz, "#delete-confirm-submit")
	b.typeInto(t, wiz, "#delete-confirm", "web")
	b.assertDisabled(t, wiz, "#delete-confirm-submit")
	b.typeInto(t, wiz, "#delete-confirm", "web1")
	b.waitEnabled(t, wiz, "#delete-confirm-submit")
	b.click(t, wiz, "#delete-confirm-submit")
	b.waitVisible(t, wiz, "#fleet")
	b.do(t, fleet, chromedp.Navigate(server+"/#/clusters"))
	b.waitText(t, fleet, `#fleet tr[data-cluster="sales-a"]`, "")
	waitCtx, cancel := context.WithTimeout(fleet, 3*time.Minute)
	defer cancel()
	if err := chromedp.Do(waitCtx, chromedp.WaitNotPresent(chromedp.CSS(`#fleet tr[data-cluster="web1"]`))); err != nil {
		t.Fatalf("web1 still in the fleet: %v", err)
	}
	if _, err := cl.Get(ctx, v1alpha1.KindCluster, "web1"); err == nil {
		t.Error("web1 is still on the server")
	}

	b.checkHosts(t)
	for _, name := range []string{"signin", "fleet", "fleet-phone", "cluster", "wizard-1-basics", "wizard-2-profiles", "wizard-3-values",
		"wizard-4-config", "wizard-5-pools", "wizard-6-review", "profiles", "accounts", "gateways"} {
		if st, err := os.Stat(filepath.Join(shots, name+".png")); err != nil || st.Size() == 0 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	t.Logf("console test took %s; screenshots in %s", time.Since(start).Round(time.Second), shots)
	if err := q.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("quickstart exited with %v after SIGTERM\nstderr:\n%s", err, q.logs)
	}
}

// obj is an API object of kind with name and spec.
func obj(kind, name string, spec any) map[string]any {
	return map[string]any{"apiVersion": "strata.dev/v1alpha1", "kind": kind, "metadata": map[string]any{"name": name}, "spec": spec}
}

// exampleSSHKey is the SSH public key of the examples.
func exampleSSHKey(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examples, "cluster-iaas-static.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "sshPublicKey: ")
	key, _, _ := strings.Cut(rest, "\n")
	if !ok || !strings.HasPrefix(key, "ssh-rsa ") {
		t.Fatal("no sshPublicKey in cluster-iaas-static.yaml")
	}
	return key
}

// apiCaller sends JSON requests to the API with the admin key.
type apiCaller struct {
	t      *testing.T
	server string
	key    string
	http   *http.Client
}

func (a *apiCaller) put(path string, body any) {
	a.t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPut, a.server+"/api/v1alpha1"+path, bytes.NewReader(data))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatalf("PUT %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		a.t.Fatalf("PUT %s: %s: %s", path, resp.Status, out)
	}
}

// armClients are Resource Manager clients of the emulator as a principal the test adds.
func (a *emulatorAdmin) armClients(t *testing.T, subscription string) *emulatorClients {
	t.Helper()
	cred, armOpts := a.principal(t, "console-e2e")
	var err error
	c := &emulatorClients{}
	if c.groups, err = armresources.NewResourceGroupsClient(subscription, cred, armOpts); err != nil {
		t.Fatal(err)
	}
	if c.network, err = armnetwork.NewClientFactory(subscription, cred, armOpts); err != nil {
		t.Fatal(err)
	}
	if c.storage, err = armstorage.NewClientFactory(subscription, cred, armOpts); err != nil {
		t.Fatal(err)
	}
	return c
}

// consoleBrowser is headless Chromium trusting one server's certificate, and the hosts every
// tab's requests went to.
type consoleBrowser struct {
	server string
	ctx    context.Context
	mu     sync.Mutex
	others []string // requests to another origin
}

// newBrowser starts Chromium, trusting the certificate of the server whose data directory is
// dataDir by its public key, and stops it when the test ends.
func newBrowser(t *testing.T, server, dataDir string) *consoleBrowser {
	t.Helper()
	block, _ := pem.Decode(serverCA(dataDir))
	if block == nil {
		t.Fatal("no server certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[string](`'started'`)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &consoleBrowser{server: server, ctx: bctx}
}

// tab opens a tab (in a browser context of its own, with its own cookies, when isolated) and
// records where its requests go.
func (b *consoleBrowser) tab(t *testing.T, isolated bool) context.Context {
	t.Helper()
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	t.Cleanup(cancel)
	origin, _ := url.Parse(b.server)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			u, err := url.Parse(e.Request.URL)
			if err == nil && (u.Scheme == "data" || u.Scheme == "blob") {
				return
			}
			if err != nil || u.Host != origin.Host || u.Scheme != origin.Scheme {
				b.mu.Lock()
				b.others = append(b.others, e.Request.URL)
				b.mu.Unlock()
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	b.do(t, ctx, chromedp.Navigate("about:blank"))
	return ctx
}

// checkHosts fails the test for each request that went to another origin than the server's.
func (b *consoleBrowser) checkHosts(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.others {
		if !strings.HasPrefix(u, "about:") {
			t.Errorf("the page sent a request to another origin: %s", u)
		}
	}
}

// step bounds each browser wait: no wait is a measure of speed.
const step = 30 * time.Second

func (b *consoleBrowser) do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("browser: %v\n%s", err, b.page(ctx))
	}
}

// page is the current page's URL and text, for failure messages.
func (b *consoleBrowser) page(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`location.href + '\n' + document.body.innerText`))
	if err != nil {
		return "(page unreadable: " + err.Error() + ")"
	}
	return s
}

func (b *consoleBrowser) eval(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[any](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return fmt.Sprint(v)
}

func (b *consoleBrowser) waitVisible(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	b.do(t, ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (b *consoleBrowser) waitEnabled(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	b.do(t, ctx, chromedp.WaitEnabled(chromedp.CSS(sel)))
}

func (b *consoleBrowser) click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	b.do(t, ctx, chromedp.WaitEnabled(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// typeInto replaces the value of an input or textarea, as a user typing it (input events).
func (b *consoleBrowser) typeInto(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	b.waitVisible(t, ctx, sel)
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); el.value = %q;
		el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return 'ok'; })()`, sel, value)
	b.eval(t, ctx, js)
}

// pick waits until the select offers value (from its lookup), then chooses it.
func (b *consoleBrowser) pick(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	opt := fmt.Sprintf(`%s option[value=%q]:not([disabled])`, sel, value)
	b.do(t, ctx, chromedp.WaitReady(chromedp.CSS(opt)), chromedp.WaitEnabled(chromedp.CSS(sel)))
	b.eval(t, ctx, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q;
		el.dispatchEvent(new Event('change', {bubbles: true})); return el.value; })()`, sel, value))
}

// waitText waits until the element's text contains want (any text when want is empty), and
// returns it.
func (b *consoleBrowser) waitText(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	return b.waitTextWithin(t, ctx, sel, want, step)
}

func (b *consoleBrowser) waitTextWithin(t *testing.T, ctx context.Context, sel, want string, limit time.Duration) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return ''; const s = el.textContent;
		return (%q === '' ? s.trim() !== '' : s.includes(%q)) ? s : ''; })()`, sel, want, want)
	v, err := chromedp.Run(c, chromedp.Poll[string](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(limit)))
	if err != nil {
		t.Fatalf("%s never showed %q within %s: %v\n%s", sel, want, limit, err, b.page(ctx))
	}
	return v
}

func (b *consoleBrowser) assertDisabled(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if v := b.eval(t, ctx, fmt.Sprintf(`String(document.querySelector(%q).disabled)`, sel)); v != "true" {
		t.Fatalf("%s is enabled\n%s", sel, b.page(ctx))
	}
}

// assertStep checks which wizard step is shown.
func (b *consoleBrowser) assertStep(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if v := b.eval(t, ctx, `document.querySelector('#wizard-steps [aria-current="step"]').textContent`); !strings.HasSuffix(v, name) {
		t.Fatalf("the wizard shows step %q, want %q\n%s", v, name, b.page(ctx))
	}
}

// next clicks Next and waits for the named step.
func (b *consoleBrowser) next(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	b.click(t, ctx, "#wizard-next")
	b.waitText(t, ctx, `#wizard-steps [aria-current="step"]`, name)
}

// signIn signs in through the page and waits for the fleet.
func (b *consoleBrowser) signIn(t *testing.T, ctx context.Context, user, password string) {
	t.Helper()
	b.do(t, ctx, chromedp.Navigate(b.server+"/#/signin"))
	b.typeInto(t, ctx, "#signin-user", user)
	b.typeInto(t, ctx, "#signin-password", password)
	b.click(t, ctx, "#signin-submit")
	b.waitText(t, ctx, "#whoami", user)
	b.waitVisible(t, ctx, "#fleet")
}
