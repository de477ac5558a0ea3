package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"slices"
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
		{"nsgs without subscription", []string{"lookup", "nsgs", "--account", "a", "-g", "rg"}, "lookup networksecuritygroups needs --subscription"},
		{"vnets without subscription", []string{"lookup", "vnets", "--account", "a"}, "needs --subscription"},
		{"subscriptions without account", []string{"lookup", "subscriptions"}, "needs --account"},
		{"vmsizes without location", []string{"lookup", "vmsizes", "--account", "a", "--subscription", "s"}, "needs --location"},
		{"containers without group", []string{"lookup", "containers", "--account", "a", "--subscription", "s", "--storage-account", "sa"}, "needs --resource-group"},
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
		json.RawMessage(`{"name":"vnet-a","resourceGroup":"net-rg","location":"westeurope","addressSpaces":["10.0.0.0/16","10.1.0.0/16"],"subnets":[{"name":"nodes"},{"name":"pods"}]}`),
		json.RawMessage(`{"name":"vnet-b","location":"","subnets":[]}`),
	}
	var b strings.Builder
	if err := printLookupTable(&b, "virtualnetworks", items); err != nil {
		t.Fatal(err)
	}
	want := "NAME     RESOURCE GROUP   LOCATION     ADDRESS SPACE             SUBNETS\n" +
		"vnet-a   net-rg           westeurope   10.0.0.0/16,10.1.0.0/16   nodes,pods\n" +
		"vnet-b   <none>           <none>       <none>                    <none>\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

// lookupServerEnv starts an emulator and a strata server holding the cloud account "emu" of
// the emulator's service principal, with a resource group "cli-rg" holding a virtual network
// "cli-vnet", and returns the server's URL and the emulator.
func lookupServerEnv(t *testing.T) (string, *emulatortest.Env) {
	t.Helper()
	ctx := context.Background()
	env := emulatortest.Start(t)
	env.ResourceGroup(t, "cli-rg")
	createVNet(t, env, "cli-rg", "cli-vnet", "10.7.0.0/16", "10.7.1.0/24")

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

// createVNet creates a virtual network with one subnet "nodes" in the emulator.
func createVNet(t *testing.T, env *emulatortest.Env, rg, name, prefix, nodes string) {
	t.Helper()
	ctx := context.Background()
	vnets, err := armnetwork.NewVirtualNetworksClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	poller, err := vnets.BeginCreateOrUpdate(ctx, rg, name, armnetwork.VirtualNetwork{
		Location: to.Ptr(env.Location),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr(prefix)}},
			Subnets: []*armnetwork.Subnet{{Name: to.Ptr("nodes"),
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr(nodes)}}},
		},
	}, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	}
	if err != nil {
		t.Fatalf("create virtual network %s: %v", name, err)
	}
}

func TestLookupAgainstEmulator(t *testing.T) {
	srv, env := lookupServerEnv(t)
	sub := env.SubscriptionID
	base := []string{"--server", srv, "lookup", "--account", "emu", "--subscription", sub}

	code, out, errOut := run(t, "", append(base, "vnets", "-g", "cli-rg")...)
	want := "NAME       RESOURCE GROUP   LOCATION     ADDRESS SPACE   SUBNETS\n" +
		"cli-vnet   cli-rg           westeurope   10.7.0.0/16     nodes\n"
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

// TestLookupWholeSubscription: the subscriptions need no --subscription; virtual networks and
// network security groups without -g are those of every resource group.
func TestLookupWholeSubscription(t *testing.T) {
	srv, env := lookupServerEnv(t)
	env.ResourceGroup(t, "cli-rg2")
	createVNet(t, env, "cli-rg2", "cli-vnet2", "10.8.0.0/16", "10.8.1.0/24")
	nsgs, err := armnetwork.NewSecurityGroupsClient(env.SubscriptionID, env.Cred, env.ClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	poller, err := nsgs.BeginCreateOrUpdate(context.Background(), "cli-rg2", "cli-nsg", armnetwork.SecurityGroup{Location: to.Ptr(env.Location)}, nil)
	if err == nil {
		_, err = poller.PollUntilDone(context.Background(), &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	}
	if err != nil {
		t.Fatalf("create the network security group: %v", err)
	}
	account := []string{"--server", srv, "lookup", "--account", "emu"}
	withSub := append(slices.Clone(account), "--subscription", env.SubscriptionID)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"subscriptions", append(slices.Clone(account), "subscriptions"),
			"SUBSCRIPTION ID                        NAME                           STATE\n" +
				env.SubscriptionID + "   Strata emulator subscription   Enabled\n"},
		{"subscriptions as JSON", append(slices.Clone(account), "subs", "-o", "json"),
			"{\n  \"items\": [\n    {\n      \"subscriptionID\": \"" + env.SubscriptionID + "\",\n" +
				"      \"displayName\": \"Strata emulator subscription\",\n      \"state\": \"Enabled\"\n    }\n  ]\n}\n"},
		{"vnets of the subscription", append(slices.Clone(withSub), "vnets"),
			"NAME        RESOURCE GROUP   LOCATION     ADDRESS SPACE   SUBNETS\n" +
				"cli-vnet    cli-rg           westeurope   10.7.0.0/16     nodes\n" +
				"cli-vnet2   cli-rg2          westeurope   10.8.0.0/16     nodes\n"},
		{"nsgs of the subscription", append(slices.Clone(withSub), "nsgs"),
			"NAME      RESOURCE GROUP   LOCATION\n" +
				"cli-nsg   cli-rg2          westeurope\n"},
		{"nsgs of a group", append(slices.Clone(withSub), "networksecuritygroups", "-g", "cli-rg2"),
			"NAME      RESOURCE GROUP   LOCATION\n" +
				"cli-nsg   cli-rg2          westeurope\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tt.args...)
			if code != 0 || out != tt.want {
				t.Errorf("exit %d, stdout:\n%s\nstderr: %s\nwant:\n%s", code, out, errOut, tt.want)
			}
		})
	}

	code, out, errOut := run(t, "", append(slices.Clone(withSub), "nsgs", "-g", "cli-rg")...)
	if code != 0 || out != "" || errOut != "No resources found.\n" {
		t.Errorf("nsgs of a group that has none: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
