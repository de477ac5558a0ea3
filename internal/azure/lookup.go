package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/v4"
)

// Location is an Azure region of the subscription.
type Location struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayName"`
	Zones       []string `json:"zones,omitempty"`
}

// VMSize is a virtual machine size offered in a location.
type VMSize struct {
	Name     string   `json:"name"`
	VCPUs    int      `json:"vCPUs"`
	MemoryGB float64  `json:"memoryGB"`
	Zones    []string `json:"zones,omitempty"`
}

// Subscription is a subscription the account's service principal can see. State is Azure's:
// Enabled, Warned, PastDue, Disabled or Deleted.
type Subscription struct {
	SubscriptionID string `json:"subscriptionID"`
	DisplayName    string `json:"displayName"`
	State          string `json:"state"`
}

// VNet is a virtual network with its subnets; ResourceGroup is the group its ID names.
type VNet struct {
	Name          string   `json:"name"`
	ID            string   `json:"id"`
	Location      string   `json:"location"`
	ResourceGroup string   `json:"resourceGroup"`
	AddressSpaces []string `json:"addressSpaces"`
	Subnets       []Subnet `json:"subnets"`
}

// NetworkSecurityGroup is a network security group; ResourceGroup is the group its ID names.
type NetworkSecurityGroup struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	Location      string `json:"location"`
	ResourceGroup string `json:"resourceGroup"`
}

// Subnet is a subnet of a VNet; NSG is the ID of its network security group, if any.
type Subnet struct {
	Name string `json:"name"`
	CIDR string `json:"cidr"`
	NSG  string `json:"nsg,omitempty"`
}

// StorageAccount is a storage account; ResourceGroup is the group its ID names.
type StorageAccount struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	Location      string `json:"location"`
	ResourceGroup string `json:"resourceGroup"`
	BlobEndpoint  string `json:"blobEndpoint,omitempty"`
}

// locationsAPIVersion is the Microsoft.Resources subscriptions API version of Locations
// (armresources/v4 has no subscriptions client, so the call is made on the ARM pipeline).
const locationsAPIVersion = "2022-12-01"

// Locations lists the subscription's regions with their availability zones.
func (c *Clients) Locations(ctx context.Context) ([]Location, error) {
	if c.sub == "" {
		return nil, errors.New("azure: listing locations: the clients have no subscription")
	}
	cl, err := arm.NewClient("strata/azure", "v1.0.0", c.cred, c.armOpts)
	if err != nil {
		return nil, fmt.Errorf("azure: locations client: %w", err)
	}
	// The subscription is one path segment, escaped as the SDK's clients escape theirs.
	u := runtime.JoinPaths(cl.Endpoint(), "subscriptions", url.PathEscape(c.sub), "locations")
	var out []Location
	for u != "" {
		req, err := runtime.NewRequest(ctx, http.MethodGet, u)
		if err != nil {
			return nil, fmt.Errorf("azure: listing locations: %w", err)
		}
		if !strings.Contains(u, "api-version=") {
			q := req.Raw().URL.Query()
			q.Set("api-version", locationsAPIVersion)
			req.Raw().URL.RawQuery = q.Encode()
		}
		resp, err := cl.Pipeline().Do(req)
		if err != nil {
			return nil, fmt.Errorf("azure: listing locations: %w", err)
		}
		if !runtime.HasStatusCode(resp, http.StatusOK) {
			return nil, fmt.Errorf("azure: listing locations: %w", runtime.NewResponseError(resp))
		}
		var page struct {
			Value []struct {
				Name                     string `json:"name"`
				DisplayName              string `json:"displayName"`
				AvailabilityZoneMappings []struct {
					LogicalZone string `json:"logicalZone"`
				} `json:"availabilityZoneMappings"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if err := runtime.UnmarshalAsJSON(resp, &page); err != nil {
			return nil, fmt.Errorf("azure: listing locations: %w", err)
		}
		for _, v := range page.Value {
			l := Location{Name: v.Name, DisplayName: v.DisplayName}
			for _, z := range v.AvailabilityZoneMappings {
				l.Zones = append(l.Zones, z.LogicalZone)
			}
			sort.Strings(l.Zones)
			out = append(out, l)
		}
		u = page.NextLink
	}
	return out, nil
}

// VMSizes lists the virtual machine sizes offered in a location (from the resource SKU list),
// with the zones the subscription may use for each.
func (c *Clients) VMSizes(ctx context.Context, location string) ([]VMSize, error) {
	pager := c.Compute.NewResourceSKUsClient().NewListPager(&armcompute.ResourceSKUsClientListOptions{
		Filter: to.Ptr(skuFilter(location)),
	})
	var out []VMSize
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("azure: listing the VM sizes of %s: %w", location, err)
		}
		for _, sku := range page.Value {
			if sku == nil || sku.Name == nil || sku.ResourceType == nil || !strings.EqualFold(*sku.ResourceType, "virtualMachines") {
				continue
			}
			if !offeredIn(sku, location) {
				continue
			}
			out = append(out, vmSize(sku, location))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// skuFilter is the resource SKU list's one filter, location eq '<location>', with the quotes
// of location doubled as OData escapes them, so that the value cannot end the string.
func skuFilter(location string) string {
	return "location eq '" + strings.ReplaceAll(location, "'", "''") + "'"
}

func offeredIn(sku *armcompute.ResourceSKU, location string) bool {
	for _, l := range sku.Locations {
		if l != nil && sameValue("location", *l, location) {
			return true
		}
	}
	for _, li := range sku.LocationInfo {
		if li != nil && li.Location != nil && sameValue("location", *li.Location, location) {
			return true
		}
	}
	return false
}

func vmSize(sku *armcompute.ResourceSKU, location string) VMSize {
	s := VMSize{Name: *sku.Name}
	for _, cap := range sku.Capabilities {
		if cap == nil || cap.Name == nil || cap.Value == nil {
			continue
		}
		switch *cap.Name {
		case "vCPUs":
			s.VCPUs, _ = strconv.Atoi(*cap.Value)
		case "MemoryGB":
			s.MemoryGB, _ = strconv.ParseFloat(*cap.Value, 64)
		}
	}
	restricted := map[string]bool{}
	for _, r := range sku.Restrictions {
		if r == nil || r.Type == nil || *r.Type != armcompute.ResourceSKURestrictionsTypeZone || r.RestrictionInfo == nil {
			continue
		}
		for _, z := range r.RestrictionInfo.Zones {
			if z != nil {
				restricted[*z] = true
			}
		}
	}
	for _, li := range sku.LocationInfo {
		if li == nil || li.Location == nil || !sameValue("location", *li.Location, location) {
			continue
		}
		for _, z := range li.Zones {
			if z != nil && !restricted[*z] && !slices.Contains(s.Zones, *z) {
				s.Zones = append(s.Zones, *z)
			}
		}
	}
	sort.Strings(s.Zones)
	return s
}

// zonesTTL is how long ZonesBySize keeps a location's answer: the SKU list is a large read
// that changes a few times a year, and every reconciliation of every cluster needs it.
const zonesTTL = 10 * time.Minute

// zonesEntry is a location's zones by VM size, as read at a time.
type zonesEntry struct {
	at    time.Time
	zones map[string][]string
}

// ZonesBySize maps each VM size of a location to the zones it is offered in, for
// plan.Environment.Zones. Answers are kept for zonesTTL; the caller may change the map it
// gets.
func (c *Clients) ZonesBySize(ctx context.Context, location string) (map[string][]string, error) {
	key := strings.ToLower(location)
	c.mu.Lock()
	e, ok := c.zones[key]
	c.mu.Unlock()
	if !ok || time.Since(e.at) > zonesTTL {
		// The passes that miss together share one read.
		v, err, _ := c.lookups.Do("zones\x00"+key, func() (any, error) {
			sizes, err := c.VMSizes(ctx, location)
			if err != nil {
				return zonesEntry{}, err
			}
			e := zonesEntry{at: time.Now(), zones: make(map[string][]string, len(sizes))}
			for _, s := range sizes {
				e.zones[s.Name] = s.Zones
			}
			c.mu.Lock()
			c.zones[key] = e
			c.mu.Unlock()
			return e, nil
		})
		if err != nil {
			return nil, err
		}
		e = v.(zonesEntry)
	}
	m := make(map[string][]string, len(e.zones))
	for size, zones := range e.zones {
		m[size] = slices.Clone(zones)
	}
	return m, nil
}

// ResourceGroups lists the names of the subscription's resource groups.
func (c *Clients) ResourceGroups(ctx context.Context) ([]string, error) {
	pager := c.Resources.NewResourceGroupsClient().NewListPager(nil)
	var out []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("azure: listing resource groups: %w", err)
		}
		for _, g := range page.Value {
			if g != nil && g.Name != nil {
				out = append(out, *g.Name)
			}
		}
	}
	return out, nil
}

// Subscriptions lists the subscriptions the account's service principal can see (Resource
// Manager's GET /subscriptions), in Azure's order. It is a tenant's request: any Clients may
// make it, those of NewTenantClients too.
func (c *Clients) Subscriptions(ctx context.Context) ([]Subscription, error) {
	out, err := listSubscriptions(ctx, c.cred, c.armOpts)
	if err != nil {
		return nil, fmt.Errorf("azure: listing subscriptions: %w", err)
	}
	return out, nil
}

// VirtualNetworks lists the virtual networks of a resource group, or of the whole
// subscription when rg is "", with their subnets.
func (c *Clients) VirtualNetworks(ctx context.Context, rg string) ([]VNet, error) {
	cl := c.Network.NewVirtualNetworksClient()
	var vs []*armnetwork.VirtualNetwork
	var err error
	if rg == "" {
		vs, err = allPages(ctx, cl.NewListAllPager(nil), func(r armnetwork.VirtualNetworksClientListAllResponse) []*armnetwork.VirtualNetwork { return r.Value })
	} else {
		vs, err = allPages(ctx, cl.NewListPager(rg, nil), func(r armnetwork.VirtualNetworksClientListResponse) []*armnetwork.VirtualNetwork { return r.Value })
	}
	if err != nil {
		return nil, fmt.Errorf("azure: listing the virtual networks of %s: %w", c.scopeName(rg), err)
	}
	var out []VNet
	for _, v := range vs {
		if v != nil {
			out = append(out, vnetItem(v))
		}
	}
	return out, nil
}

// vnetItem describes a virtual network of Azure's.
func vnetItem(v *armnetwork.VirtualNetwork) VNet {
	n := VNet{Name: deref(v.Name), ID: deref(v.ID), Location: deref(v.Location), ResourceGroup: resourceGroupOf(deref(v.ID))}
	p := v.Properties
	if p == nil {
		return n
	}
	if p.AddressSpace != nil {
		for _, a := range p.AddressSpace.AddressPrefixes {
			if a != nil {
				n.AddressSpaces = append(n.AddressSpaces, *a)
			}
		}
	}
	for _, s := range p.Subnets {
		if s == nil {
			continue
		}
		sn := Subnet{Name: deref(s.Name)}
		if sp := s.Properties; sp != nil {
			sn.CIDR = deref(sp.AddressPrefix)
			if sn.CIDR == "" && len(sp.AddressPrefixes) > 0 {
				sn.CIDR = deref(sp.AddressPrefixes[0])
			}
			if sp.NetworkSecurityGroup != nil {
				sn.NSG = deref(sp.NetworkSecurityGroup.ID)
			}
		}
		n.Subnets = append(n.Subnets, sn)
	}
	return n
}

// NetworkSecurityGroups lists the network security groups of a resource group, or of the
// whole subscription when rg is "".
func (c *Clients) NetworkSecurityGroups(ctx context.Context, rg string) ([]NetworkSecurityGroup, error) {
	cl := c.Network.NewSecurityGroupsClient()
	var gs []*armnetwork.SecurityGroup
	var err error
	if rg == "" {
		gs, err = allPages(ctx, cl.NewListAllPager(nil), func(r armnetwork.SecurityGroupsClientListAllResponse) []*armnetwork.SecurityGroup { return r.Value })
	} else {
		gs, err = allPages(ctx, cl.NewListPager(rg, nil), func(r armnetwork.SecurityGroupsClientListResponse) []*armnetwork.SecurityGroup { return r.Value })
	}
	if err != nil {
		return nil, fmt.Errorf("azure: listing the network security groups of %s: %w", c.scopeName(rg), err)
	}
	var out []NetworkSecurityGroup
	for _, g := range gs {
		if g != nil {
			id := deref(g.ID)
			out = append(out, NetworkSecurityGroup{Name: deref(g.Name), ID: id, Location: deref(g.Location), ResourceGroup: resourceGroupOf(id)})
		}
	}
	return out, nil
}

// StorageAccounts lists the storage accounts of a resource group, or of the whole
// subscription when rg is "".
func (c *Clients) StorageAccounts(ctx context.Context, rg string) ([]StorageAccount, error) {
	cl := c.Storage.NewAccountsClient()
	var as []*armstorage.Account
	var err error
	if rg == "" {
		as, err = allPages(ctx, cl.NewListPager(nil), func(r armstorage.AccountsClientListResponse) []*armstorage.Account { return r.Value })
	} else {
		as, err = allPages(ctx, cl.NewListByResourceGroupPager(rg, nil), func(r armstorage.AccountsClientListByResourceGroupResponse) []*armstorage.Account { return r.Value })
	}
	if err != nil {
		return nil, fmt.Errorf("azure: listing the storage accounts of %s: %w", c.scopeName(rg), err)
	}
	var out []StorageAccount
	for _, a := range as {
		if a == nil {
			continue
		}
		id := deref(a.ID)
		sa := StorageAccount{Name: deref(a.Name), ID: id, Location: deref(a.Location), ResourceGroup: resourceGroupOf(id)}
		if a.Properties != nil && a.Properties.PrimaryEndpoints != nil {
			sa.BlobEndpoint = deref(a.Properties.PrimaryEndpoints.Blob)
			c.rememberEndpoint(sa.Name, a)
		}
		out = append(out, sa)
	}
	return out, nil
}

// scopeName names what a list covers, for errors: the resource group rg, or the subscription
// when rg is "".
func (c *Clients) scopeName(rg string) string {
	if rg == "" {
		return "subscription " + c.sub
	}
	return rg
}

// resourceGroupOf is the resource group a resource ID names, "" when it names none.
func resourceGroupOf(id string) string {
	rid, err := arm.ParseResourceID(id)
	if err != nil {
		return ""
	}
	return rid.ResourceGroupName
}

// allPages reads every page of a pager, and returns the values value picks from them.
func allPages[R, T any](ctx context.Context, p *runtime.Pager[R], value func(R) []*T) ([]*T, error) {
	var out []*T
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, value(page)...)
	}
	return out, nil
}

// Containers lists the blob containers of a storage account (through ARM).
func (c *Clients) Containers(ctx context.Context, rg, account string) ([]string, error) {
	pager := c.Storage.NewBlobContainersClient().NewListPager(rg, account, nil)
	var out []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("azure: listing the containers of %s/%s: %w", rg, account, err)
		}
		for _, ct := range page.Value {
			if ct != nil && ct.Name != nil {
				out = append(out, *ct.Name)
			}
		}
	}
	return out, nil
}
