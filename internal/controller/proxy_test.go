package controller_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/controller"
)

// TestAKSInheritsTheGatewayProxy: a cluster whose account names a gateway gets the gateway's
// proxy in the managed cluster's httpProxyConfig (with what the cluster needs in noProxy), and
// resyncs send nothing more: effectiveNoProxy, which Azure computes, is read, not diffed.
func TestAKSInheritsTheGatewayProxy(t *testing.T) {
	h := newHarness(t)
	// The account is bound to a gateway: the controller that works on it runs in the gateway.
	h.runController(t, "gateway", func(c *controller.Config) { c.Gateway = "corp-gw" })
	ctx := context.Background()
	bindToGateway(t, h, "corp-gw", &v1alpha1.ProxySettings{HTTPProxy: "http://proxy.corp.example:3128", NoProxy: []string{".corp.example"}})
	cl := h.aksCluster(t)
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	h.waitRunning(t, cl.Key())
	var body any
	for _, r := range inGroup(h.resources()[typeManagedCluster], cl.Spec.Azure.ResourceGroup) {
		body = r.Body
	}
	cfg := path(body, "properties", "httpProxyConfig")
	if got := path(cfg, "httpProxy"); got != "http://proxy.corp.example:3128" {
		t.Fatalf("httpProxyConfig.httpProxy = %v, want the gateway's proxy (config %v)", got, cfg)
	}
	if got := path(cfg, "httpsProxy"); got != "http://proxy.corp.example:3128" {
		t.Errorf("httpProxyConfig.httpsProxy = %v, want the HTTP proxy (AKS's default)", got)
	}
	var noProxy []string
	for _, v := range list(cfg, "noProxy") {
		noProxy = append(noProxy, v.(string))
	}
	for _, want := range []string{"169.254.169.254", "168.63.129.16", ".svc", ".corp.example"} {
		if !slices.Contains(noProxy, want) {
			t.Errorf("noProxy %v lacks %s", noProxy, want)
		}
	}
	puts := h.armCalls(t, http.MethodPut, typeManagedCluster)
	h.settle(t, cl.Key())
	if got := h.armCalls(t, http.MethodPut, typeManagedCluster); got != puts {
		t.Errorf("resyncs sent %d managed-cluster PUTs, want none", got-puts)
	}
}

// TestServerLeavesGatewayAccountsAlone: the server's controller (Config.Gateway empty) neither
// checks an account bound to a gateway nor works on its clusters, and sends Azure nothing for
// them; a gateway's controller leaves the server's accounts alone the same way.
func TestServerLeavesGatewayAccountsAlone(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	bindToGateway(t, h, "corp-gw", nil)
	cl := h.aksCluster(t)
	if err := h.st.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	before := h.env.Callers(t)
	h.runController(t, "server")
	h.runController(t, "other-gateway", func(c *controller.Config) { c.Gateway = "other" })
	time.Sleep(2 * time.Second) // many scans of both controllers
	obj, err := h.st.Get(ctx, v1alpha1.KindCluster, cl.Key())
	if err != nil {
		t.Fatal(err)
	}
	if got := obj.(*v1alpha1.Cluster); got.Status.Phase != "" || len(got.Metadata.Finalizers) != 0 {
		t.Errorf("the cluster was worked on: phase %q, finalizers %v", got.Status.Phase, got.Metadata.Finalizers)
	}
	obj, _ = h.st.Get(ctx, v1alpha1.KindCloudAccount, "emulator")
	if got := obj.(*v1alpha1.CloudAccount); got.Status.ObservedGeneration != 0 {
		t.Errorf("the account was checked: %+v", got.Status)
	}
	if after := h.env.Callers(t); !slices.Equal(after, before) {
		t.Errorf("Azure was called: %v, then %v", before, after)
	}
}
