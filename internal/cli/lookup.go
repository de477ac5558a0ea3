package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/termtext"
)

// lookupOutputs are the values of lookup's --output.
var lookupOutputs = []string{"table", "json"}

// lookupAliases maps the names a user may type to the server's lookups.
var lookupAliases = map[string]string{
	"subscription": client.LookupSubscriptions, "subscriptions": client.LookupSubscriptions, "sub": client.LookupSubscriptions, "subs": client.LookupSubscriptions,
	"location": client.LookupLocations, "locations": client.LookupLocations, "regions": client.LookupLocations, "region": client.LookupLocations,
	"vmsize": client.LookupVMSizes, "vmsizes": client.LookupVMSizes, "sizes": client.LookupVMSizes, "size": client.LookupVMSizes,
	"resourcegroup": client.LookupResourceGroups, "resourcegroups": client.LookupResourceGroups, "rg": client.LookupResourceGroups, "rgs": client.LookupResourceGroups,
	"virtualnetwork": client.LookupVirtualNetworks, "virtualnetworks": client.LookupVirtualNetworks, "vnet": client.LookupVirtualNetworks, "vnets": client.LookupVirtualNetworks,
	"networksecuritygroup": client.LookupNetworkSecurityGroups, "networksecuritygroups": client.LookupNetworkSecurityGroups, "nsg": client.LookupNetworkSecurityGroups, "nsgs": client.LookupNetworkSecurityGroups,
	"storageaccount": client.LookupStorageAccounts, "storageaccounts": client.LookupStorageAccounts, "sa": client.LookupStorageAccounts,
	"container": client.LookupContainers, "containers": client.LookupContainers,
}

// lookupColumn is one column of a lookup table: its header and the item fields it shows, the
// first one present winning.
type lookupColumn struct {
	header string
	fields []string
}

// lookupColumns are the table columns of each lookup, after the items of internal/azure.
var lookupColumns = map[string][]lookupColumn{
	client.LookupSubscriptions: {
		{"SUBSCRIPTION ID", []string{"subscriptionID"}}, {"NAME", []string{"displayName"}}, {"STATE", []string{"state"}},
	},
	client.LookupLocations: {
		{"NAME", []string{"name"}}, {"DISPLAY NAME", []string{"displayName"}}, {"ZONES", []string{"zones"}},
	},
	client.LookupVMSizes: {
		{"NAME", []string{"name"}}, {"VCPUS", []string{"vCPUs"}}, {"MEMORY (GB)", []string{"memoryGB"}}, {"ZONES", []string{"zones"}},
	},
	client.LookupResourceGroups: {{"NAME", []string{"name"}}},
	client.LookupVirtualNetworks: {
		{"NAME", []string{"name"}}, {"RESOURCE GROUP", []string{"resourceGroup"}}, {"LOCATION", []string{"location"}},
		{"ADDRESS SPACE", []string{"addressSpaces", "addressSpace"}}, {"SUBNETS", []string{"subnets"}},
	},
	client.LookupNetworkSecurityGroups: {
		{"NAME", []string{"name"}}, {"RESOURCE GROUP", []string{"resourceGroup"}}, {"LOCATION", []string{"location"}},
	},
	client.LookupStorageAccounts: {
		{"NAME", []string{"name"}}, {"RESOURCE GROUP", []string{"resourceGroup"}}, {"LOCATION", []string{"location"}},
		{"BLOB ENDPOINT", []string{"blobEndpoint"}},
	},
	client.LookupContainers: {{"NAME", []string{"name"}}},
}

type lookupOptions struct {
	account string
	output  string
	opts    client.LookupOptions
}

func newLookupCommand(o *rootOptions) *cobra.Command {
	lo := &lookupOptions{}
	cmd := &cobra.Command{
		Use:   "lookup KIND --account NAME [--subscription ID]",
		Short: "List what exists in Azure: subscriptions, locations, VM sizes, resource groups, networks, storage",
		Long: `List what exists in Azure, as seen by a cloud account's service principal: the
values to put in a cluster's spec. The server makes the Azure calls, or, for an account
bound to a private cloud gateway, the gateway does.

KIND is one of:
  subscriptions (subscription, subs)                    needs no --subscription
  locations (location, regions)
  vmsizes (vmsize, sizes)                               needs --location
  resourcegroups (resourcegroup, rg)
  virtualnetworks (virtualnetwork, vnet)                in -g, or in the whole subscription
  networksecuritygroups (networksecuritygroup, nsg)     in -g, or in the whole subscription
  storageaccounts (storageaccount, sa)                  in -g, or in the whole subscription
  containers (container)                                needs --resource-group and --storage-account

Every kind but subscriptions needs --subscription.`,
		Example: `  strata lookup subscriptions --account prod
  strata lookup locations --account prod --subscription 8f4b1c2d-5e6f-4a7b-8c9d-0e1f2a3b4c5d
  strata lookup vmsizes --account prod --subscription $SUB --location westeurope
  strata lookup vnets --account prod --subscription $SUB -g network-rg -o json
  strata lookup nsgs --account prod --subscription $SUB
  strata lookup containers --account prod --subscription $SUB -g backups --storage-account strbackups`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLookup(cmd.Context(), o, lo, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&lo.account, "account", "", "the cloud account whose service principal looks (required)")
	f.StringVar(&lo.opts.SubscriptionID, "subscription", "", "the Azure subscription ID (required, but by subscriptions)")
	f.StringVarP(&lo.opts.ResourceGroup, "resource-group", "g", "", "the resource group (containers; virtualnetworks, networksecuritygroups and storageaccounts: the whole subscription without it)")
	f.StringVarP(&lo.opts.Location, "location", "l", "", "the Azure location (vmsizes)")
	f.StringVar(&lo.opts.StorageAccount, "storage-account", "", "the storage account (containers)")
	f.StringVarP(&lo.output, "output", "o", "table", "output format: "+strings.Join(lookupOutputs, ", "))
	return cmd
}

// lookupNeeds returns the flags a lookup requires besides --account, as flag name and value:
// --subscription for every lookup but subscriptions.
func lookupNeeds(what string, opts client.LookupOptions) [][2]string {
	if what == client.LookupSubscriptions {
		return nil
	}
	sub := [2]string{"--subscription", opts.SubscriptionID}
	switch what {
	case client.LookupVMSizes:
		return [][2]string{sub, {"--location", opts.Location}}
	case client.LookupContainers:
		return [][2]string{sub, {"--resource-group", opts.ResourceGroup}, {"--storage-account", opts.StorageAccount}}
	}
	return [][2]string{sub}
}

func runLookup(ctx context.Context, o *rootOptions, lo *lookupOptions, kind string) error {
	usage := func(format string, args ...any) error {
		return &usageError{cmd: "strata lookup", err: fmt.Errorf(format, args...)}
	}
	what, ok := lookupAliases[strings.ToLower(kind)]
	if !ok {
		return usage("unknown lookup %q: use one of %s", kind, strings.Join(client.Lookups, ", "))
	}
	if !slices.Contains(lookupOutputs, lo.output) {
		return usage("unknown output format %q: use one of %s", lo.output, strings.Join(lookupOutputs, ", "))
	}
	if lo.account == "" {
		return usage("lookup %s needs --account", what)
	}
	for _, need := range lookupNeeds(what, lo.opts) {
		if need[1] == "" {
			return usage("lookup %s needs %s", what, need[0])
		}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	items, err := c.Lookup(ctx, lo.account, what, lo.opts)
	if err != nil {
		return err
	}
	if lo.output == "json" {
		return printLookupJSON(o.data, items)
	}
	if len(items) == 0 {
		fmt.Fprintln(o.streams.Err, "No resources found.")
		return nil
	}
	return printLookupTable(o.streams.Out, what, items)
}

// printLookupJSON prints {"items":[...]} indented, the items as the server sent them (with
// characters a terminal would act on as JSON escapes).
func printLookupJSON(w io.Writer, items []json.RawMessage) error {
	data, err := json.Marshal(map[string]any{"items": items})
	if err != nil {
		return fmt.Errorf("encode the items: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return fmt.Errorf("indent the items: %w", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(termtext.JSON(buf.Bytes()))
	return err
}

// printLookupTable prints one row per item with the lookup's columns.
func printLookupTable(w io.Writer, what string, items []json.RawMessage) error {
	cols := lookupColumns[what]
	tw := newTabWriter(w)
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for i, raw := range items {
		var item map[string]any
		if err := json.Unmarshal(raw, &item); err != nil {
			return fmt.Errorf("decode item %d of the server's answer: %w", i, err)
		}
		row := make([]string, len(cols))
		for j, c := range cols {
			row[j] = none
			for _, f := range c.fields {
				if v, ok := item[f]; ok && v != nil {
					row[j] = cell(lookupCell(v))
					break
				}
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the table: %w", err)
	}
	return nil
}

// lookupCell formats one value of an item for a table cell: lists are comma-separated, lists
// of objects show their names, other objects their name or compact JSON.
func lookupCell(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return none
		}
		return oneLine(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		if len(v) == 0 {
			return none
		}
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = lookupCell(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		if n, ok := v["name"].(string); ok {
			return n
		}
		data, _ := json.Marshal(v)
		return string(data)
	}
	return fmt.Sprint(v)
}
