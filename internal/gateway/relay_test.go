package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/azurecall"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// The server relays an account's lookups to a replica of its gateway, which runs them in its
// own name (the emulator sees only the gateway's User-Agent) and returns Azure's answer or
// Azure's error; with no replica connected, the relay says so.
func TestRelayedCalls(t *testing.T) {
	env := emulatortest.Start(t)
	env.ResourceGroup(t, "relayed-rg")
	ts := newTestServer(t)
	ts.gateway(t, "corp", "unused", "s")
	acct := env.CloudAccount(t, "acct")
	acct.Spec.Gateway = "corp"
	if err := ts.st.Create(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	other := env.CloudAccount(t, "other")
	if err := ts.st.Create(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	groups := azurecall.Call{Account: "acct", SubscriptionID: env.SubscriptionID, Op: "resourcegroups"}
	if _, err := ts.srv.Call(ctx, "corp", groups); !errors.Is(err, azurecall.ErrNoGateway) {
		t.Fatalf("a call with no replica connected: %v, want ErrNoGateway", err)
	}

	cc, cfg := ts.register(t, "corp")
	cfg.Replica, cfg.Heartbeat = "r1", time.Second
	calls := newCallRunner("corp", NewRemoteStore(cc), azure.Options{UserAgent: "strata-gateway/corp"}, cfg.Logger)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = stream(sctx, cfg, gatewayv1.NewGatewayServiceClient(cc), calls, cfg.Logger); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitConnected(t, ts, "corp")

	body, err := ts.srv.Call(ctx, "corp", groups)
	if err != nil {
		t.Fatalf("resource groups through the gateway: %v", err)
	}
	var items []azurecall.NamedItem
	if err := json.Unmarshal(body, &items); err != nil || !slices.Contains(items, azurecall.NamedItem{Name: "relayed-rg"}) {
		t.Fatalf("resource groups %s (%v): want relayed-rg", body, err)
	}
	if n := env.RequestsNotFrom(t, "strata-gateway/corp", "arm", env.SubscriptionID); n != 1 {
		t.Errorf("%d ARM requests from callers other than the gateway, want 1 (the test's own resource group)", n)
	}

	// The subscriptions travel with no subscription, and the gateway lists them at its tenant's level.
	body, err = ts.srv.Call(ctx, "corp", azurecall.Call{Account: "acct", Op: "subscriptions"})
	if err != nil {
		t.Fatalf("subscriptions through the gateway: %v", err)
	}
	var subs []azure.Subscription
	if err := json.Unmarshal(body, &subs); err != nil || len(subs) != 1 || subs[0].SubscriptionID != env.SubscriptionID || subs[0].State != "Enabled" {
		t.Fatalf("subscriptions %s (%v): want the emulator's %s, Enabled", body, err, env.SubscriptionID)
	}
	if !slices.ContainsFunc(env.Callers(t), func(c emulator.CallerCount) bool {
		return emulator.MatchesProduct(c.Product, "strata-gateway/corp") && c.Kind == emulator.CallerARM && c.Scope == ""
	}) {
		t.Errorf("callers %+v: the gateway sent no ARM request outside a subscription", env.Callers(t))
	}

	tests := []struct {
		name string
		call azurecall.Call
		code string
	}{
		{"azure's error", azurecall.Call{Account: "acct", SubscriptionID: env.SubscriptionID, Op: "containers",
			Params: map[string]string{"resourceGroup": "relayed-rg", "storageAccount": "nosuchaccount1"}}, "ParentResourceNotFound"},
		{"an AKS kubeconfig", azurecall.Call{Account: "acct", SubscriptionID: env.SubscriptionID, Op: azurecall.OpKubeconfig,
			Params: map[string]string{"resourceGroup": "relayed-rg", "name": "nosuch", "admin": "false"}}, "ResourceNotFound"},
		{"an account of no gateway", azurecall.Call{Account: "other", SubscriptionID: env.SubscriptionID, Op: "resourcegroups"}, "AccountUnavailable"},
		{"a call that breaks its rules", azurecall.Call{Account: "acct", SubscriptionID: env.SubscriptionID, Op: "virtualnetworks",
			Params: map[string]string{"resourceGroup": "../x"}}, "InvalidCall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ts.srv.Call(ctx, "corp", tt.call)
			var ce *azurecall.Error
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Fatalf("error %v, want an azurecall.Error with code %s", err, tt.code)
			}
		})
	}
}

// waitConnected waits until a replica of the gateway holds a stream.
func waitConnected(t *testing.T, ts *testServer, gateway string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := ts.srv.Call(context.Background(), gateway, azurecall.Call{Op: "none"}); !errors.Is(err, azurecall.ErrNoGateway) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replica of %s connected", gateway)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
