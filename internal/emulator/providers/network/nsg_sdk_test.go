package network_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v11"
)

func TestNetworkSecurityGroups(t *testing.T) {
	fx := newFixture(t)
	nsgs, rules, defaults := fx.f.NewSecurityGroupsClient(), fx.f.NewSecurityRulesClient(), fx.f.NewDefaultSecurityRulesClient()
	ctx := fx.ctx
	in, out := armnetwork.SecurityRuleDirectionInbound, armnetwork.SecurityRuleDirectionOutbound

	body := armnetwork.SecurityGroup{
		Location: to.Ptr(zonalLoc),
		Tags:     tags("a", "1"),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{
			SecurityRules: []*armnetwork.SecurityRule{rule("ssh", 100, in), rule("out", 100, out)},
		},
	}
	created := done(nsgs.BeginCreateOrUpdate(ctx, rgName, "nsg", body, nil))(t, "create nsg")
	if len(created.Properties.SecurityRules) != 2 || *created.Properties.SecurityRules[0].ID != fx.id("networkSecurityGroups", "nsg", "securityRules", "ssh") {
		t.Fatalf("created rules = %v", created.Properties.SecurityRules)
	}

	// Azure's default rules, in the NSG and through DefaultSecurityRulesClient.
	want := map[string]int32{
		"AllowVnetInBound": 65000, "AllowAzureLoadBalancerInBound": 65001, "DenyAllInBound": 65500,
		"AllowVnetOutBound": 65000, "AllowInternetOutBound": 65001, "DenyAllOutBound": 65500,
	}
	if len(created.Properties.DefaultSecurityRules) != len(want) {
		t.Errorf("%d default rules, want %d", len(created.Properties.DefaultSecurityRules), len(want))
	}
	for _, d := range created.Properties.DefaultSecurityRules {
		if want[*d.Name] != *d.Properties.Priority || *d.ID != fx.id("networkSecurityGroups", "nsg", "defaultSecurityRules", *d.Name) {
			t.Errorf("default rule %s: priority %d, id %s", *d.Name, *d.Properties.Priority, *d.ID)
		}
	}
	if n := listNames(t, defaults.NewListPager(rgName, "nsg", nil)); len(n) != 6 || n[0] != "AllowVnetInBound" {
		t.Errorf("default rules listed: %v", n)
	}
	deny, err := defaults.Get(ctx, rgName, "nsg", "DenyAllInBound", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *deny.Properties.Access != armnetwork.SecurityRuleAccessDeny || *deny.Properties.Direction != in || *deny.Properties.Priority != 65500 {
		t.Errorf("DenyAllInBound = %+v", *deny.Properties)
	}
	_, err = defaults.Get(ctx, rgName, "nsg", "Nope", nil)
	wantNotFound(t, "missing default rule", err)
	_, err = defaults.Get(ctx, rgName, "missing", "DenyAllInBound", nil)
	wantNotFound(t, "default rule of a missing NSG", err)

	// A rule through its own API.
	r := done(rules.BeginCreateOrUpdate(ctx, rgName, "nsg", "https", armnetwork.SecurityRule{Properties: ruleProps(200, in)}, nil))(t, "create rule")
	if *r.ID != fx.id("networkSecurityGroups", "nsg", "securityRules", "https") || *r.Properties.Priority != 200 {
		t.Errorf("rule https: %s priority %d", *r.ID, *r.Properties.Priority)
	}
	if n := listNames(t, rules.NewListPager(rgName, "nsg", nil)); !slices.Equal(n, []string{"ssh", "out", "https"}) {
		t.Errorf("rules = %v", n)
	}
	if got, err := nsgs.Get(ctx, rgName, "nsg", nil); err != nil || len(got.Properties.SecurityRules) != 3 {
		t.Errorf("NSG shows %d rules (%v), want 3", len(got.Properties.SecurityRules), err)
	}

	// Rule errors.
	for _, tc := range []struct {
		name  string
		props *armnetwork.SecurityRulePropertiesFormat
		code  string
	}{
		{"priority below 100", ruleProps(99, in), "SecurityRuleInvalidPriority"},
		{"priority above 4096", ruleProps(4097, in), "SecurityRuleInvalidPriority"},
		{"priority of an inbound rule", ruleProps(100, in), "SecurityRuleConflict"},
		{"priority of an outbound rule", ruleProps(100, out), "SecurityRuleConflict"},
	} {
		err := outcome(rules.BeginCreateOrUpdate(ctx, rgName, "nsg", "bad", armnetwork.SecurityRule{Properties: tc.props}, nil))
		wantError(t, "rule with "+tc.name, err, http.StatusBadRequest, tc.code)
	}
	noSource := ruleProps(300, in)
	noSource.SourceAddressPrefix = nil
	err = outcome(rules.BeginCreateOrUpdate(ctx, rgName, "nsg", "bad", armnetwork.SecurityRule{Properties: noSource}, nil))
	wantError(t, "rule without a source", err, http.StatusBadRequest, "SecurityRuleParametersMissing")
	_, err = rules.Get(ctx, rgName, "nsg", "bad", nil)
	wantNotFound(t, "refused rule", err)
	// The same priority in the other direction is fine; updating a rule keeps its priority.
	done(rules.BeginCreateOrUpdate(ctx, rgName, "nsg", "https-out", armnetwork.SecurityRule{Properties: ruleProps(200, out)}, nil))(t, "outbound 200")
	done(rules.BeginCreateOrUpdate(ctx, rgName, "nsg", "https", armnetwork.SecurityRule{Properties: ruleProps(200, in)}, nil))(t, "update https")

	// Inline conflicts refuse the NSG PUT.
	clash := body
	clash.Properties = &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{rule("x", 150, in), rule("y", 150, in)}}
	err = outcome(nsgs.BeginCreateOrUpdate(ctx, rgName, "nsg2", clash, nil))
	wantError(t, "NSG with clashing rules", err, http.StatusBadRequest, "SecurityRuleConflict")
	_, err = nsgs.Get(ctx, rgName, "nsg2", nil)
	wantNotFound(t, "refused NSG", err)

	// Tags, lists, a property change by PUT (the rules of the PUT replace the NSG's).
	upd, err := nsgs.UpdateTags(ctx, rgName, "nsg", armnetwork.TagsObject{Tags: tags("a", "2")}, nil)
	if err != nil || *upd.Tags["a"] != "2" {
		t.Errorf("UpdateTags: %v %v", upd.Tags, err)
	}
	if n := listNames(t, nsgs.NewListPager(rgName, nil)); !slices.Equal(n, []string{"nsg"}) {
		t.Errorf("list = %v", n)
	}
	if n := listNames(t, nsgs.NewListAllPager(nil)); !slices.Equal(n, []string{"nsg"}) {
		t.Errorf("list all = %v", n)
	}
	body.Properties.SecurityRules = []*armnetwork.SecurityRule{rule("ssh", 110, in)}
	put := done(nsgs.BeginCreateOrUpdate(ctx, rgName, "nsg", body, nil))(t, "update nsg")
	if len(put.Properties.SecurityRules) != 1 || *put.Properties.SecurityRules[0].Properties.Priority != 110 {
		t.Errorf("after PUT: %v", put.Properties.SecurityRules)
	}
	_, err = rules.Get(ctx, rgName, "nsg", "https", nil)
	wantNotFound(t, "rule dropped by the NSG PUT", err)
	fx.checkStaleETag(fx.id("networkSecurityGroups", "nsg"))
	fx.checkStaleETag(fx.id("networkSecurityGroups", "nsg", "securityRules", "ssh"))

	// In use by a subnet and by a NIC.
	vnetBody := vnet(zonalLoc, []string{"10.0.0.0/16"}, subnet("s", "10.0.1.0/24"))
	vnetBody.Properties.Subnets[0].Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(fx.id("networkSecurityGroups", "nsg"))}
	done(fx.f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rgName, "vnet", vnetBody, nil))(t, "vnet with nsg")
	n := nic(zonalLoc, fx.id("virtualNetworks", "vnet", "subnets", "s"))
	n.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(fx.id("networkSecurityGroups", "nsg"))}
	done(fx.f.NewInterfacesClient().BeginCreateOrUpdate(ctx, rgName, "nic", n, nil))(t, "nic with nsg")
	got, err := nsgs.Get(ctx, rgName, "nsg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Properties.Subnets) != 1 || *got.Properties.Subnets[0].ID != fx.id("virtualNetworks", "vnet", "subnets", "s") ||
		len(got.Properties.NetworkInterfaces) != 1 || *got.Properties.NetworkInterfaces[0].ID != fx.id("networkInterfaces", "nic") {
		t.Errorf("NSG back-references: subnets %v, NICs %v", got.Properties.Subnets, got.Properties.NetworkInterfaces)
	}
	fx.checkGraphMatchesGets(t)
	err = outcome(nsgs.BeginDelete(ctx, rgName, "nsg", nil))
	wantError(t, "delete an NSG in use", err, http.StatusBadRequest, "InUseNetworkSecurityGroupCannotBeDeleted")
	done(fx.f.NewInterfacesClient().BeginDelete(ctx, rgName, "nic", nil))(t, "delete nic")
	err = outcome(nsgs.BeginDelete(ctx, rgName, "nsg", nil))
	wantError(t, "delete an NSG a subnet uses", err, http.StatusBadRequest, "InUseNetworkSecurityGroupCannotBeDeleted")
	done(fx.f.NewVirtualNetworksClient().BeginDelete(ctx, rgName, "vnet", nil))(t, "delete vnet")

	done(rules.BeginDelete(ctx, rgName, "nsg", "ssh", nil))(t, "delete rule")
	_, err = rules.Get(ctx, rgName, "nsg", "ssh", nil)
	wantNotFound(t, "deleted rule", err)
	done(nsgs.BeginDelete(ctx, rgName, "nsg", nil))(t, "delete nsg")
	_, err = nsgs.Get(ctx, rgName, "nsg", nil)
	wantNotFound(t, "deleted nsg", err)
}
