package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// NetworkBinding places the callers of some source addresses in an emulated virtual network:
// all traffic reaches the emulator on loopback, so where a caller "is" is told by the address
// it connects from (on Linux any address of 127.0.0.0/8 can be bound without setup).
// 127.0.0.1 and ::1 stay "the internet": a binding may not cover them.
type NetworkBinding struct {
	// Source is an IP address or a CIDR range of callers, e.g. 127.0.5.0/24.
	Source string `json:"source"`
	// Network is the resource ID of a virtual network or of one of its subnets. It need not
	// exist yet.
	Network string `json:"network"`
}

// internet are the addresses that never belong to an emulated network.
var internet = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}

// parseSource parses a binding's source: an address (a /32 or /128) or a CIDR range.
func parseSource(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("source %q is neither an IP address nor a CIDR range", s)
	}
	return p.Masked(), nil
}

// check validates a binding and returns it normalized.
func (b NetworkBinding) check() (NetworkBinding, error) {
	p, err := parseSource(b.Source)
	if err != nil {
		return b, err
	}
	for _, a := range internet {
		if p.Contains(a) {
			return b, fmt.Errorf("source %s covers %s, which is the internet", p, a)
		}
	}
	id := arm.ParseID(b.Network)
	if t := strings.ToLower(id.FullType()); t != "microsoft.network/virtualnetworks" && t != "microsoft.network/virtualnetworks/subnets" {
		return b, fmt.Errorf("network %q is not the ID of a virtual network or a subnet", b.Network)
	}
	return NetworkBinding{Source: p.String(), Network: id.String()}, nil
}

// mergeNetworks adds bindings to a list: a binding replaces one of the same source.
func mergeNetworks(list []NetworkBinding, add ...NetworkBinding) ([]NetworkBinding, error) {
	out := slices.Clone(list)
	for _, b := range add {
		n, err := b.check()
		if err != nil {
			return nil, err
		}
		out = slices.DeleteFunc(out, func(o NetworkBinding) bool { return o.Source == n.Source })
		out = append(out, n)
	}
	return out, nil
}

// Networks returns the caller networks (Options.Networks, SetNetworks, AddNetworks).
func (em *Emulator) Networks() []NetworkBinding {
	em.netMu.RLock()
	defer em.netMu.RUnlock()
	return slices.Clone(em.networks)
}

// SetNetworks replaces the caller networks: all of them, or none when one is not valid.
func (em *Emulator) SetNetworks(bindings []NetworkBinding) error {
	list, err := mergeNetworks(nil, bindings...)
	if err != nil {
		return err
	}
	em.netMu.Lock()
	em.networks = list
	em.netMu.Unlock()
	em.scheduleSave()
	return nil
}

// AddNetworks adds caller networks (replacing those of the same source): all of them, or
// none when one is not valid.
func (em *Emulator) AddNetworks(bindings ...NetworkBinding) error {
	em.netMu.Lock()
	list, err := mergeNetworks(em.networks, bindings...)
	if err == nil {
		em.networks = list
	}
	em.netMu.Unlock()
	if err == nil {
		em.scheduleSave()
	}
	return err
}

// CallerNetwork returns the network (a VNet or subnet ID) that a source address is in: the
// binding of the longest source that contains it; "" for the internet.
func (em *Emulator) CallerNetwork(addr netip.Addr) string {
	addr = addr.Unmap()
	if slices.Contains(internet, addr) {
		return ""
	}
	em.netMu.RLock()
	defer em.netMu.RUnlock()
	best, bits := "", -1
	for _, b := range em.networks {
		if p, err := netip.ParsePrefix(b.Source); err == nil && p.Contains(addr) && p.Bits() > bits {
			best, bits = b.Network, p.Bits()
		}
	}
	return best
}

// remoteAddr returns the source address of a request (invalid when it has none).
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// splitNetwork returns the VNet and the subnet (or "") of a caller network.
func splitNetwork(network string) (vnet, subnet string) {
	id := arm.ParseID(network)
	if len(id.Types) == 2 {
		return id.Parent(), network
	}
	return network, ""
}

// readBindings reads caller networks: {"networks": [...]}, a list, or one binding.
func readBindings(r *http.Request) ([]NetworkBinding, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	t := strings.TrimSpace(string(b))
	var list []NetworkBinding
	switch {
	case strings.HasPrefix(t, "["):
		err = json.Unmarshal(b, &list)
	case strings.Contains(t, `"networks"`):
		var in struct{ Networks []NetworkBinding }
		err = json.Unmarshal(b, &in)
		list = in.Networks
	default:
		var one NetworkBinding
		err = json.Unmarshal(b, &one)
		list = []NetworkBinding{one}
	}
	if err != nil {
		return nil, errors.New(`want {"networks": [{"source": "127.0.5.0/24", "network": "<VNet or subnet ID>"}]}: ` + err.Error())
	}
	return list, nil
}

// adminNetworks serves PUT (replace) and POST (add) /_emulator/networks.
func (em *Emulator) adminNetworks(apply func(...NetworkBinding) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		list, err := readBindings(r)
		if err == nil {
			err = apply(list...)
		}
		if err != nil {
			writeAdmin(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		writeAdmin(w, http.StatusOK, map[string]any{"networks": em.Networks()})
	}
}

// blobNetworkAllowed is the storage accounts' firewall for the blob service: an account with
// public network access Disabled (or SecuredByPerimeter) lets in callers of a VNet that has
// an approved blob private endpoint to it; one with networkAcls.defaultAction Deny also
// callers of a subnet of its virtualNetworkRules and of an address of its ipRules. Accounts
// the resource manager does not hold are open.
func (em *Emulator) blobNetworkAllowed(account string, r *http.Request) bool {
	acct := em.storageAccount(account)
	if acct == nil {
		return true
	}
	props := jsonmap.Obj(acct.Body, "properties")
	pna := jsonmap.Str(props, "publicNetworkAccess")
	closed := strings.EqualFold(pna, "Disabled") || strings.EqualFold(pna, "SecuredByPerimeter")
	acls := jsonmap.Obj(props, "networkAcls")
	deny := strings.EqualFold(jsonmap.Str(acls, "defaultAction"), "Deny")
	if !closed && !deny {
		return true
	}
	addr := remoteAddr(r)
	vnet, subnet := splitNetwork(em.CallerNetwork(addr))
	if vnet != "" && em.hasBlobEndpoint(acct.ID, vnet) {
		return true
	}
	if closed {
		return false
	}
	return aclAllows(acls, subnet, addr)
}

// aclAllows reports whether network rules let in a caller of a subnet (or "") and address.
func aclAllows(acls map[string]any, subnet string, addr netip.Addr) bool {
	for _, v := range jsonmap.List(acls, "virtualNetworkRules") {
		rule, _ := v.(map[string]any)
		if subnet != "" && strings.EqualFold(jsonmap.Str(rule, "id"), subnet) {
			return true
		}
	}
	for _, v := range jsonmap.List(acls, "ipRules") {
		rule, _ := v.(map[string]any)
		if p, err := parseSource(jsonmap.Str(rule, "value")); err == nil && addr.IsValid() && p.Contains(addr) {
			return true
		}
	}
	return false
}

// storageAccount returns the resource manager's storage account of a name, or nil.
func (em *Emulator) storageAccount(name string) *arm.Resource {
	for _, a := range em.engine.ResourcesOfTypes("Microsoft.Storage/storageAccounts") {
		if strings.EqualFold(a.Name(), name) {
			return a
		}
	}
	return nil
}

// hasBlobEndpoint reports whether a VNet holds a private endpoint, provisioned, whose
// approved connection leads to the blob service of the account.
func (em *Emulator) hasBlobEndpoint(accountID, vnet string) bool {
	for _, pe := range em.engine.ResourcesOfTypes("Microsoft.Network/privateEndpoints") {
		p := jsonmap.Obj(pe.Body, "properties")
		subnet := jsonmap.Str(jsonmap.Obj(p, "subnet"), "id")
		if !strings.EqualFold(jsonmap.Str(p, "provisioningState"), "Succeeded") || subnet == "" ||
			arm.Key(arm.ParseID(subnet).Parent()) != arm.Key(vnet) {
			continue
		}
		for _, v := range jsonmap.List(p, "privateLinkServiceConnections") {
			c, _ := v.(map[string]any)
			cp := jsonmap.Obj(c, "properties")
			if arm.Key(jsonmap.Str(cp, "privateLinkServiceId")) == arm.Key(accountID) &&
				strings.EqualFold(jsonmap.Str(jsonmap.Obj(cp, "privateLinkServiceConnectionState"), "status"), "Approved") &&
				slices.ContainsFunc(jsonmap.StringList(cp["groupIds"]), func(g string) bool { return strings.EqualFold(g, "blob") }) {
				return true
			}
		}
	}
	return false
}
