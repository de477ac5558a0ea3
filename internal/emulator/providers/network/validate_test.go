package network

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseCIDR(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		problem prefixProblem
	}{
		{"10.0.0.0/16", "10.0.0.0/16", prefixOK},
		{" 10.1.0.0/24 ", "10.1.0.0/24", prefixOK},
		{"fd00:db8::/64", "fd00:db8::/64", prefixOK},
		{"10.0.0.1/24", "10.0.0.0/24", prefixHostBits},
		{"10.10.10.0/16", "10.10.0.0/16", prefixHostBits},
		{"10.0.0.0", "", prefixMalformed},
		{"10.0.0.0/33", "", prefixMalformed},
		{"10.0.0/24", "", prefixMalformed},
		{"AzureCloud", "", prefixMalformed},
		{"", "", prefixMalformed},
	} {
		got, problem := parseCIDR(tc.in)
		if problem != tc.problem {
			t.Errorf("parseCIDR(%q) problem = %d, want %d", tc.in, problem, tc.problem)
			continue
		}
		if tc.want != "" && got.String() != tc.want {
			t.Errorf("parseCIDR(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestContains(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		outer, inner string
		want         bool
	}{
		{"10.0.0.0/16", "10.0.1.0/24", true},
		{"10.0.0.0/16", "10.0.0.0/16", true},
		{"10.0.0.0/16", "10.0.0.0/8", false},
		{"10.0.0.0/16", "10.1.0.0/24", false},
		{"10.0.0.0/16", "10.0.255.248/29", true},
		{"10.0.0.0/16", "fd00::/64", false},
		{"fd00::/48", "fd00:0:0:1::/64", true},
	} {
		if got := contains(p(tc.outer), p(tc.inner)); got != tc.want {
			t.Errorf("contains(%s, %s) = %v, want %v", tc.outer, tc.inner, got, tc.want)
		}
	}
	spaces := []netip.Prefix{p("10.0.0.0/16"), p("192.168.0.0/24")}
	if !containedInAny(spaces, p("192.168.0.128/25")) || containedInAny(spaces, p("172.16.0.0/24")) {
		t.Error("containedInAny does not check every space")
	}
}

func TestOverlapsAny(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		a, b []string
		want bool
	}{
		{[]string{"10.0.0.0/24"}, []string{"10.0.1.0/24"}, false},
		{[]string{"10.0.0.0/24"}, []string{"10.0.0.128/25"}, true},
		{[]string{"10.0.0.0/26"}, []string{"10.0.0.32/27"}, true},
		{[]string{"10.0.0.0/24", "10.0.5.0/24"}, []string{"10.0.5.16/28"}, true},
		{[]string{"10.0.0.0/24"}, nil, false},
	} {
		var a, b []netip.Prefix
		for _, s := range tc.a {
			a = append(a, p(s))
		}
		for _, s := range tc.b {
			b = append(b, p(s))
		}
		if got := overlapsAny(a, b); got != tc.want {
			t.Errorf("overlapsAny(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestReservedAndLast(t *testing.T) {
	p := netip.MustParsePrefix("10.0.1.0/24")
	if got := lastAddr(p); got != netip.MustParseAddr("10.0.1.255") {
		t.Errorf("lastAddr = %s", got)
	}
	if got := lastAddr(netip.MustParsePrefix("fd00::/126")); got != netip.MustParseAddr("fd00::3") {
		t.Errorf("lastAddr(IPv6) = %s", got)
	}
	for addr, want := range map[string]bool{
		"10.0.1.0": true, "10.0.1.1": true, "10.0.1.2": true, "10.0.1.3": true,
		"10.0.1.4": false, "10.0.1.254": false, "10.0.1.255": true,
	} {
		if got := reservedAddr(p, netip.MustParseAddr(addr)); got != want {
			t.Errorf("reservedAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestFirstFree(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix string
		used   []string
		want   string // "" when full
	}{
		{"empty subnet starts at .4", "10.0.1.0/24", nil, "10.0.1.4"},
		{"skips used", "10.0.1.0/24", []string{"10.0.1.4", "10.0.1.5"}, "10.0.1.6"},
		{"fills holes", "10.0.1.0/24", []string{"10.0.1.4", "10.0.1.6"}, "10.0.1.5"},
		{"crosses an octet", "10.0.0.0/23", nil, "10.0.0.4"},
		{"smallest subnet", "10.0.0.0/29", []string{"10.0.0.4", "10.0.0.5"}, "10.0.0.6"},
		{"never the last address", "10.0.0.0/29", []string{"10.0.0.4", "10.0.0.5", "10.0.0.6"}, ""},
		{"/30 has nothing to give", "10.0.0.0/30", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			used := map[netip.Addr]bool{}
			for _, u := range tc.used {
				used[netip.MustParseAddr(u)] = true
			}
			got, ok := firstFree(netip.MustParsePrefix(tc.prefix), func(a netip.Addr) bool { return used[a] })
			if tc.want == "" {
				if ok {
					t.Fatalf("firstFree = %s, want none", got)
				}
				return
			}
			if !ok || got.String() != tc.want {
				t.Fatalf("firstFree = %s, %v; want %s", got, ok, tc.want)
			}
		})
	}
}

func TestPublicAddress(t *testing.T) {
	none := func(netip.Addr) bool { return false }
	const id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/pip"
	a := publicAddress(42, id, false, none)
	if a != publicAddress(42, id, false, none) {
		t.Fatal("publicAddress is not deterministic")
	}
	if a != publicAddress(42, "/SUBSCRIPTIONS/s/resourcegroups/RG/providers/microsoft.network/publicIPAddresses/PIP", false, none) {
		t.Error("publicAddress depends on the casing of the ID")
	}
	if !PublicIPv4Range.Contains(a) || a.As4()[3] == 0 || a.As4()[3] == 255 {
		t.Errorf("publicAddress = %s, want 127.77.y.z with z not 0 or 255", a)
	}
	if b := publicAddress(43, id, false, none); b == a {
		t.Errorf("another seed gives the same address %s", a)
	}
	if b := publicAddress(42, id, false, func(x netip.Addr) bool { return x == a }); b == a || !b.IsValid() {
		t.Errorf("a taken address is handed out again: %s", b)
	}
	if v6 := publicAddress(42, id, true, none); !netip.MustParsePrefix("2603:1030::/96").Contains(v6) {
		t.Errorf("IPv6 publicAddress = %s, want in 2603:1030::/96", v6)
	}
}

func TestCheckRule(t *testing.T) {
	valid := func() map[string]any {
		return map[string]any{
			"priority": 100.0, "protocol": "tcp", "access": "allow", "direction": "inbound",
			"sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
			"sourcePortRange": "*", "destinationPortRange": "22",
		}
	}
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
		code   string
	}{
		{"valid", func(map[string]any) {}, ""},
		{"lowest priority", func(p map[string]any) { p["priority"] = 100.0 }, ""},
		{"highest priority", func(p map[string]any) { p["priority"] = 4096.0 }, ""},
		{"priority too low", func(p map[string]any) { p["priority"] = 99.0 }, "SecurityRuleInvalidPriority"},
		{"priority too high", func(p map[string]any) { p["priority"] = 4097.0 }, "SecurityRuleInvalidPriority"},
		{"priority missing", func(p map[string]any) { delete(p, "priority") }, "SecurityRuleInvalidPriority"},
		{"fractional priority", func(p map[string]any) { p["priority"] = 100.5 }, "SecurityRuleInvalidPriority"},
		{"bad protocol", func(p map[string]any) { p["protocol"] = "Sctp" }, "SecurityRuleInvalidProtocol"},
		{"bad access", func(p map[string]any) { p["access"] = "Maybe" }, "SecurityRuleInvalidAccessType"},
		{"bad direction", func(p map[string]any) { p["direction"] = "Sideways" }, "SecurityRuleInvalidDirection"},
		{"no source", func(p map[string]any) { delete(p, "sourceAddressPrefix") }, "SecurityRuleParametersMissing"},
		{"source list", func(p map[string]any) {
			delete(p, "sourceAddressPrefix")
			p["sourceAddressPrefixes"] = []any{"10.0.0.0/8"}
		}, ""},
		{"no destination port", func(p map[string]any) { delete(p, "destinationPortRange") }, "SecurityRuleParametersMissing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.change(p)
			err := checkRule(p, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n/securityRules/r")
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("checkRule = %v, want nil", err)
			case tc.code != "" && (err == nil || err.Code != tc.code || err.Status != 400):
				t.Fatalf("checkRule = %v, want 400 %s", err, tc.code)
			case tc.code == "" && (p["protocol"] != "Tcp" || p["access"] != "Allow" || p["direction"] != "Inbound"):
				t.Errorf("checkRule did not normalise the casing: %v", p)
			}
		})
	}
	a, b := valid(), valid()
	b["direction"] = "Inbound"
	if !ruleClash(a, b) {
		t.Error("rules of one priority and direction (any casing) do not clash")
	}
	b["direction"] = "Outbound"
	if ruleClash(a, b) {
		t.Error("rules of different directions clash")
	}
}

func TestCheckChildName(t *testing.T) {
	rule := nameRule(1, 80)
	for name, ok := range map[string]bool{
		"subnet-1": true, "a": true, "a_": true, "web.tier": true,
		"": false, "-a": false, "a-": false, "a.": false, "a#b": false, strings.Repeat("a", 81): false, strings.Repeat("a", 80): true,
	} {
		if err := checkChildName(name, rule); (err == nil) != ok {
			t.Errorf("checkChildName(%q) = %v, want ok=%v", name, err, ok)
		} else if err != nil && err.Code != "InvalidResourceName" {
			t.Errorf("checkChildName(%q) code = %s", name, err.Code)
		}
	}
	if err := checkChildName("v", nameRule(2, 64)); err == nil {
		t.Error("a one-character VNet name is accepted")
	}
}
