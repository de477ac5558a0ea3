package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"

	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

func TestLookupUsageErrors(t *testing.T) {
	server := closedAddress(t) // usage errors are found before any request
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no kind", []string{"lookup", "--account", "a", "--subscription", "s"}, "accepts 1 arg"},
		{"unknown kind", []string{"lookup", "disks", "--account", "a", "--subscription", "s"}, `unknown lookup "disks"`},
		{"no account", []string{"lookup", "locations", "--subscription", "s"}, "needs --account"},
		{"no subscription", []string{"lookup", "rg", "--account", "a"}, "needs --subscription"},
		{"vmsizes without location", []string{"lookup", "vmsizes", "--account", "a", "--subscription", "s"}, "needs --location"},
		{"vnets without group", []string{"lookup", "vnet", "--account", "a", "--subscription", "s"}, "needs --resource-group"},
		{"containers without account", []string{"lookup", "containers", "--account", "a", "--subscription", "s", "-g", "rg"}, "needs --storage-account"},
		{"bad output", []string{"lookup", "locations", "--account", "a", "--subscription", "s", "-o", "yaml"}, `unknown output format "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, "", append([]string{"--server", server}, tt.args...)...)
			if code != 1 || out != "" || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "strata lookup --help") {
				t.Errorf("exit %d, stdout %q, stderr %q; want a usage error with %q", code, out, errOut, tt.want)
			}
		})
	}
}

func TestPrintLookupTable(t *testing.T) {
	items := []json.RawMessage{
		json.RawMessage(`{"name":"vnet-a","location":"westeurope","addressSpaces":["10.0.0.0/16","10.1.0.0/16"],"subnets":[{"name":"nodes"},{"name":"pods"}]}`),
		json.RawMessage(`{"name":"vnet-b","location":"","subnets":[]}`),
	}
	var b strings.Builder
	if err := printLookupTable(&b, "virtualnetworks", items); err != nil {
		t.Fatal(err)
	}
	want := "NAME     LOCATION     ADDRESS SPACE             SUBNETS\n" +
		"vnet-a   westeurope   10.0.0.0/16,10.1.0.0/16   nodes,pods\n" +
		"vnet-b   <none>       <none>                    <none>\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

// lookupServer starts an emulator and a strata server holding the cloud account "emu" of the
// emulator's service principal, with a resource group "cli-rg" holding a virtual network
// "cli-vnet", and returns the server's URL and the subscription.
func lookupServer(t *testing.T) (string, string) {
	t.Helper()
	srv, env := lookupServerEnv(t)
	return srv, env.SubscriptionID
}

// lookupServerEnv is lookupServer that also returns the emulator.
func lookupServerEnv(t *testing.T) (string, *emulatortest.Env) {
	t.Helper()
	ctx := context.Background()
	env := emulatortest.Start(t)
	env.ResourceGroup(t, "cli-rg")
	vnets, err := armnetwork.NewVirtualNetworksClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	poller, err := vnets.BeginCreateOrUpdate(ctx, "cli-rg", "cli-vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr(env.Location),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.7.0.0/16")}},
			Subnets: []*armnetwork.Subnet{{Name: to.Ptr("nodes"),
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.7.1.0/24")}}},
		},
	}, nil)
	if err != nil {
		t.Fatalf("create virtual network: %v", err)
	}
	if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}); err != nil {
		t.Fatalf("create virtual network: %v", err)
	}

	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{3}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(server.Config{Store: st}).Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = st.Close()
	})
	acct := env.CloudAccount(t, "emu")
	c, err := client.New(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, acct, client.WriteOptions{}); err != nil {
		t.Fatalf("create the cloud account: %v", err)
	}
	return hs.URL, env
}

func TestLookupAgainstEmulator(t *testing.T) {
	srv, sub := lookupServer(t)
	base := []string{"--server", srv, "lookup", "--account", "emu", "--subscription", sub}

	code, out, errOut := run(t, "", append(base, "vnets", "-g", "cli-rg")...)
	want := "NAME       LOCATION     ADDRESS SPACE   SUBNETS\n" +
		"cli-vnet   westeurope   10.7.0.0/16     nodes\n"
	if code != 0 || out != want {
		t.Errorf("lookup vnets: exit %d, stdout:\n%s\nstderr: %s\nwant:\n%s", code, out, errOut, want)
	}

	code, out, errOut = run(t, "", append(base, "resourcegroups", "-o", "json")...)
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list.Items) != 1 || list.Items[0].Name != "cli-rg" {
		t.Errorf("lookup rg -o json: exit %d, stdout %q (%v), stderr %q", code, out, err, errOut)
	}

	code, out, errOut = run(t, "", append(base, "vmsizes", "--location", "westeurope")...)
	if code != 0 || !strings.HasPrefix(out, "NAME ") || !strings.Contains(out, "Standard_D2_v3 ") {
		t.Errorf("lookup vmsizes: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = run(t, "", append(base, "storageaccounts", "-g", "cli-rg")...)
	if code != 0 || out != "" || errOut != "No resources found.\n" {
		t.Errorf("lookup of nothing: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, _, errOut = run(t, "", append(base, "containers", "-g", "no-such-rg", "--storage-account", "nope")...)
	if code != 1 || !strings.Contains(errOut, "ResourceGroupNotFound") {
		t.Errorf("lookup in a missing group: exit %d, stderr %q", code, errOut)
	}
}
