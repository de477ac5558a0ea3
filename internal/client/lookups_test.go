package client

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestLookupWireFormat(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path == APIPath+"/cloudaccounts/prod/lookups/containers" && q.Get("subscriptionID") == "sub-1" &&
			q.Get("resourceGroup") == "rg" && q.Get("storageAccount") == "sa" && !q.Has("location"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"items":[{"name":"backups"},{"name":"logs"}]}`))
		case r.URL.Path == APIPath+"/cloudaccounts/prod/lookups/subscriptions" && len(q) == 0:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"items":[{"subscriptionID":"sub-1","displayName":"Prod","state":"Enabled"}]}`))
		case r.URL.Path == APIPath+"/cloudaccounts/prod/lookups/locations":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"items":null}`))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`{"kind":"Status","code":502,"reason":"AzureError","message":"ResourceGroupNotFound: gone"}`))
		}
	})
	ctx := context.Background()
	items, err := c.Lookup(ctx, "prod", LookupContainers, LookupOptions{SubscriptionID: "sub-1", ResourceGroup: "rg", StorageAccount: "sa"})
	if err != nil || len(items) != 2 || string(items[1]) != `{"name":"logs"}` {
		t.Fatalf("Lookup = %s, %v", items, err)
	}
	items, err = c.Lookup(ctx, "prod", LookupSubscriptions, LookupOptions{})
	if err != nil || len(items) != 1 || !strings.Contains(string(items[0]), `"displayName":"Prod"`) {
		t.Fatalf("subscriptions, sent with no query parameter = %s, %v", items, err)
	}
	items, err = c.Lookup(ctx, "prod", LookupLocations, LookupOptions{SubscriptionID: "sub-1"})
	if err != nil || items == nil || len(items) != 0 {
		t.Errorf("empty lookup = %#v, %v; want an empty, non-nil list", items, err)
	}
	_, err = c.Lookup(ctx, "prod", LookupVirtualNetworks, LookupOptions{SubscriptionID: "sub-1", ResourceGroup: "gone"})
	if ReasonOf(err) != "AzureError" || !strings.Contains(err.Error(), "ResourceGroupNotFound") {
		t.Errorf("Azure error = %v", err)
	}
	if _, err := c.Lookup(ctx, "a/b", LookupLocations, LookupOptions{}); err == nil {
		t.Error("an account name with a slash was accepted")
	}
}
