package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azurecall"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// TestLookupsRefuseInjection gives every parameter of every lookup a value that would leave
// its ARM path segment (a traversal, a slash, an OData quote): each is refused with 400
// naming the parameter and its rule, and the emulator receives no request at all.
func TestLookupsRefuseInjection(t *testing.T) {
	env := emulatortest.Start(t)
	ts := newTestServer(t)
	ts.create(env.CloudAccount(t, "emu"))
	sub := env.SubscriptionID
	good := map[string]string{
		"subscriptionID": sub, "location": env.Location, "resourceGroup": "rg", "storageAccount": "strlookup1",
	}
	bad := map[string][]string{
		"subscriptionID": {"../../providers/Microsoft.Compute", "00000000-0000-0000-0000-000000000000/../" + sub, sub + "/resourceGroups/x", "%2e%2e"},
		"location":       {"westeurope' or location ne '", "../westeurope"},
		"resourceGroup":  {"..", "../../" + sub, "rg/providers/Microsoft.Network/virtualNetworks/x", "rg?api-version=1"},
		"storageAccount": {"..", "acct/../../other", "Acct-1"},
	}
	// Optional parameters too: a subscription given to subscriptions, a resource group to the
	// lists that may cover a whole subscription.
	params := map[string][]string{
		"subscriptions":         {"subscriptionID"},
		"locations":             {"subscriptionID"},
		"vmsizes":               {"subscriptionID", "location"},
		"resourcegroups":        {"subscriptionID"},
		"virtualnetworks":       {"subscriptionID", "resourceGroup"},
		"networksecuritygroups": {"subscriptionID", "resourceGroup"},
		"storageaccounts":       {"subscriptionID", "resourceGroup"},
		"containers":            {"subscriptionID", "resourceGroup", "storageAccount"},
	}
	if n := len(azurecall.Lookups()); len(params) != n {
		t.Fatalf("the test covers %d lookups, the server has %d", len(params), n)
	}
	_, before := env.Requests(t, "", "")
	for what, names := range params {
		for _, name := range names {
			for _, v := range bad[name] {
				t.Run(what+"/"+name+"="+v, func(t *testing.T) {
					q := url.Values{}
					for _, n := range names {
						q.Set(n, good[n])
					}
					q.Set(name, v)
					r := ts.do(http.MethodGet, lookupPath("emu", what, q), nil, "")
					if r.code != http.StatusBadRequest {
						t.Fatalf("got %d %s, want 400", r.code, r.body)
					}
					st := r.status(t)
					if st.Reason != ReasonBadRequest || !strings.Contains(st.Message, "query parameter "+name) {
						t.Errorf("Status %+v, want reason %s and a message naming %s", st, ReasonBadRequest, name)
					}
					if len(st.Errors) != 1 || st.Errors[0].Field != name || st.Errors[0].Rule != v1alpha1.RuleFormat {
						t.Errorf("errors %+v, want one %s error of field %s", st.Errors, v1alpha1.RuleFormat, name)
					}
				})
			}
		}
	}
	if _, after := env.Requests(t, "", ""); after != before {
		t.Errorf("the emulator received %d request(s) for refused lookups", after-before)
	}
}
