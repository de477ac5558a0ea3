package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"
	"github.com/strata-dev/strata/api/v1alpha1"
)

// internalInput is the static example behind an Internal load balancer at 10.10.0.10 with
// three control-plane machines, lb changing the load balancer before it is defaulted.
func internalInput(t *testing.T, lb func(*v1alpha1.APIServerLB)) Input {
	t.Helper()
	c := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-static.yaml")
	c.Spec.MachinePools[0].Count = 3
	c.Spec.Azure.APIServerLB = &v1alpha1.APIServerLB{Type: v1alpha1.APIServerLBInternal, StaticIP: "10.10.0.10"}
	if lb != nil {
		lb(c.Spec.Azure.APIServerLB)
	}
	v1alpha1.Default(c)
	return Input{Cluster: c, Profiles: []*v1alpha1.ClusterProfile{loadExample[*v1alpha1.ClusterProfile](t, "profile-iaas.yaml")},
		Env: testEnv(true), Secrets: testSecrets(t)}
}

// TestInternalAPIServerDNS checks the private DNS nodes: the zone (the name but its first
// label, in the zone's resource group, global), the links (the gateway's only when it is
// another network), the A record, and that every VM waits for them.
func TestInternalAPIServerDNS(t *testing.T) {
	const sub = "/subscriptions/eb170fb1-b147-4a5e-b0d6-ba70f6c1c938/resourceGroups/"
	clusterVNet := sub + "corp-network-rg/providers/Microsoft.Network/virtualNetworks/corp-vnet"
	tests := []struct {
		name    string
		lb      func(*v1alpha1.APIServerLB)
		gateway *v1alpha1.GatewayNetwork
		zoneID  string
		record  string
		links   map[string]string // key → linked VNet
	}{
		{"defaults, no gateway", nil, nil,
			sub + "finance-prod-rg/providers/Microsoft.Network/privateDnsZones/iaas-static.strata.internal", "apiserver",
			map[string]string{keyPrivateDNSLink: clusterVNet}},
		{"the gateway in the cluster's network", nil, &v1alpha1.GatewayNetwork{ResourceGroup: "CORP-NETWORK-RG", VirtualNetwork: "corp-vnet"},
			sub + "finance-prod-rg/providers/Microsoft.Network/privateDnsZones/iaas-static.strata.internal", "apiserver",
			map[string]string{keyPrivateDNSLink: clusterVNet}},
		{"a name and zone resource group of the user's, a gateway elsewhere", func(lb *v1alpha1.APIServerLB) {
			lb.PrivateDNSName, lb.PrivateDNSZoneResourceGroup = "k8s.finance.corp.example", "dns-rg"
		}, &v1alpha1.GatewayNetwork{ResourceGroup: "hub-rg", VirtualNetwork: "hub-vnet"},
			sub + "dns-rg/providers/Microsoft.Network/privateDnsZones/finance.corp.example", "k8s",
			map[string]string{keyPrivateDNSLink: clusterVNet, keyPrivateDNSGatewayLink: sub + "hub-rg/providers/Microsoft.Network/virtualNetworks/hub-vnet"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := internalInput(t, tc.lb)
			in.GatewayNetwork = tc.gateway
			g := build(t, in)
			if err := validate(g); err != nil {
				t.Fatal(err)
			}
			zone := g.Node(keyPrivateDNSZone)
			if zone == nil || zone.ID != tc.zoneID || !zone.Managed || *zone.Spec.(armprivatedns.PrivateZone).Location != "global" {
				t.Fatalf("zone %+v, want %s", zone, tc.zoneID)
			}
			var links []string
			for _, n := range g.Nodes {
				if n.Kind != KindPrivateDNSLink {
					continue
				}
				links = append(links, n.Key)
				spec := n.Spec.(armprivatedns.VirtualNetworkLink)
				if want := tc.links[n.Key]; *spec.Properties.VirtualNetwork.ID != want || *spec.Properties.RegistrationEnabled || !strings.HasPrefix(n.ID, tc.zoneID+"/virtualNetworkLinks/") {
					t.Errorf("%s links %s (ID %s), want %s", n.Key, *spec.Properties.VirtualNetwork.ID, n.ID, want)
				}
				if !slices.Contains(n.DependsOn, keyPrivateDNSZone) {
					t.Errorf("%s depends on %v", n.Key, n.DependsOn)
				}
			}
			if len(links) != len(tc.links) {
				t.Errorf("links %v, want %v", links, tc.links)
			}
			rec := g.Node(keyPrivateDNSRecord)
			a := rec.Spec.(armprivatedns.RecordSet).Properties.ARecords
			if rec.ID != tc.zoneID+"/A/"+tc.record || len(a) != 1 || *a[0].IPv4Address != "10.10.0.10" {
				t.Errorf("record %s -> %v", rec.ID, a)
			}
			for _, n := range g.Nodes {
				if n.Kind != KindVirtualMachine {
					continue
				}
				for _, k := range append(links, keyPrivateDNSRecord) {
					if !slices.Contains(n.DependsOn, k) {
						t.Errorf("%s does not wait for %s: %v", n.Key, k, n.DependsOn)
					}
				}
			}
		})
	}
}

// TestInternalAPIServerEndpoint checks that everything that names the API server names its
// private DNS name: the endpoint, the address, the certificate's SANs, kubeadm's join
// endpoint, NO_PROXY; and that control-plane machines reach their own API server by it.
func TestInternalAPIServerEndpoint(t *testing.T) {
	in := internalInput(t, nil)
	c := in.Cluster
	const name = "apiserver.iaas-static.strata.internal"
	if got := APIServerFQDN(c); got != name {
		t.Errorf("APIServerFQDN = %q", got)
	}
	if got := APIServerEndpoint(c); got != name+":6443" {
		t.Errorf("APIServerEndpoint = %q", got)
	}
	if got := APIServerAddress(c); got != "10.10.0.10" {
		t.Errorf("APIServerAddress = %q", got)
	}
	if n, err := ProxyNetwork(c, in.Profiles); err != nil || n.APIServerHost != name {
		t.Errorf("ProxyNetwork: %+v, %v", n, err)
	}
	g := build(t, in)
	hosts := "echo '127.0.0.1 " + name + "' >> /etc/hosts"
	for _, tt := range []struct {
		key         string
		want        []string
		hostsBefore string // the kubeadm command the hosts line comes before, or "" for none
		hostsAfter  string // the kubeadm command it comes after
	}{
		{"vm/control-plane-0", []string{"controlPlaneEndpoint: " + name + ":6443", "- " + name + "\n      - 10.10.0.10"}, "- kubeadm\n  - init", ""},
		{"vm/control-plane-1", []string{"apiServerEndpoint: " + name + ":6443"}, "", "- kubeadm\n  - join"},
		{"vm/workers-0", []string{"apiServerEndpoint: " + name + ":6443"}, "", ""},
	} {
		data := customData(t, g.Node(tt.key))
		for _, w := range tt.want {
			if !strings.Contains(data, w) {
				t.Errorf("%s lacks %q:\n%s", tt.key, w, data)
			}
		}
		i := strings.Index(data, hosts)
		switch {
		case tt.hostsBefore == "" && tt.hostsAfter == "" && i >= 0:
			t.Errorf("%s points the API server's name at itself", tt.key)
		case tt.hostsBefore != "" && (i < 0 || i > strings.Index(data, tt.hostsBefore)):
			t.Errorf("%s: the hosts line is not before %q", tt.key, tt.hostsBefore)
		case tt.hostsAfter != "" && (i < 0 || i < strings.Index(data, tt.hostsAfter)):
			t.Errorf("%s: the hosts line is not after %q", tt.key, tt.hostsAfter)
		}
	}
	public := loadExample[*v1alpha1.Cluster](t, "cluster-iaas-static.yaml")
	if APIServerAddress(public) != "" || strings.Contains(APIServerFQDN(public), "strata.internal") {
		t.Errorf("a public cluster: address %q, name %q", APIServerAddress(public), APIServerFQDN(public))
	}
}

// TestInternalAPIServerBadName checks that a name the shell line cannot carry is refused
// (validation refuses it before).
func TestInternalAPIServerBadName(t *testing.T) {
	in := internalInput(t, func(lb *v1alpha1.APIServerLB) { lb.PrivateDNSName = "api.c1'; reboot; '.example" })
	if _, err := Build(in); err == nil || !strings.Contains(err.Error(), "not a lowercase DNS name") {
		t.Errorf("Build: %v", err)
	}
}
