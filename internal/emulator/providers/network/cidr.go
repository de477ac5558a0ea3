package network

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"strings"
)

// prefixProblem says what is wrong with an address prefix.
type prefixProblem int

const (
	prefixOK        prefixProblem = iota
	prefixMalformed               // not CIDR notation at all (InvalidAddressPrefixFormat)
	prefixHostBits                // host bits set, e.g. 10.0.0.1/24 (InvalidCIDRNotation)
)

// parseCIDR parses an IPv4 or IPv6 prefix in CIDR notation. With prefixHostBits it returns
// the prefix Azure suggests instead (the masked one).
func parseCIDR(s string) (netip.Prefix, prefixProblem) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || p.Addr().Zone() != "" {
		return netip.Prefix{}, prefixMalformed
	}
	if m := p.Masked(); m != p {
		return m, prefixHostBits
	}
	return p, prefixOK
}

// contains reports whether inner lies wholly inside outer.
func contains(outer, inner netip.Prefix) bool {
	return outer.Addr().Is4() == inner.Addr().Is4() && outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// containedInAny reports whether p lies inside one of spaces.
func containedInAny(spaces []netip.Prefix, p netip.Prefix) bool {
	for _, s := range spaces {
		if contains(s, p) {
			return true
		}
	}
	return false
}

// overlapsAny reports whether one of a overlaps one of b.
func overlapsAny(a, b []netip.Prefix) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Overlaps(y) {
				return true
			}
		}
	}
	return false
}

// lastAddr returns the last address of p (the broadcast address of an IPv4 subnet).
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// reservedAddr reports whether a is one of the addresses Azure keeps in every subnet: the
// first four (network, gateway, two DNS) and the last.
func reservedAddr(p netip.Prefix, a netip.Addr) bool {
	first := p.Masked().Addr()
	for range 4 {
		if a == first {
			return true
		}
		first = first.Next()
	}
	return a == lastAddr(p)
}

// maxScan bounds the search for a free address (an IPv6 /64 is too large to walk).
const maxScan = 1 << 20

// firstFree returns the lowest address of p that Azure would hand out dynamically and used
// does not hold: the fifth address on, never the last. ok is false when p is full.
func firstFree(p netip.Prefix, used func(netip.Addr) bool) (addr netip.Addr, ok bool) {
	a := p.Masked().Addr()
	for range 4 {
		a = a.Next()
	}
	last := lastAddr(p)
	for n := 0; n < maxScan && a.IsValid() && a.Less(last); n, a = n+1, a.Next() {
		if !used(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// PublicIPv4Range is where the emulator's public IPv4 addresses come from: a loopback range,
// so that a service the emulator runs behind a public address (a cluster's API server behind
// its load balancer) answers on this machine. On Azure they are public addresses.
var PublicIPv4Range = netip.MustParsePrefix("127.77.0.0/16")

// publicAddress returns the public address of the emulated cloud for key (a public IP
// address's ID): IPv4 in PublicIPv4Range or IPv6 in 2603:1030::/96, derived from the seed and
// the key, probing onward past taken ones. IPv4 addresses ending in .0 or .255 are skipped.
func publicAddress(seed uint64, key string, ipv6 bool, taken func(netip.Addr) bool) netip.Addr {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(strings.ToLower(key)))
	sum := h.Sum64()
	if ipv6 {
		base := netip.MustParseAddr("2603:1030::").As16()
		n := uint32(sum)
		for i := range uint32(maxScan) {
			v := n + i
			binary.BigEndian.PutUint32(base[12:], v)
			if a := netip.AddrFrom16(base); v != 0 && !taken(a) {
				return a
			}
		}
		return netip.Addr{}
	}
	return LoopbackAddress(PublicIPv4Range, sum, taken)
}

// LoopbackAddress returns an address of an IPv4 /16 for a hash, probing onward past taken
// ones and skipping addresses ending in .0 or .255; invalid when all are taken.
func LoopbackAddress(block netip.Prefix, sum uint64, taken func(netip.Addr) bool) netip.Addr {
	base := block.Masked().Addr().As4()
	n := uint32(sum) & 0xffff
	for i := range uint32(1 << 16) {
		v := (n + i) & 0xffff
		a := netip.AddrFrom4([4]byte{base[0], base[1], byte(v >> 8), byte(v)})
		if byte(v) == 0 || byte(v) == 255 || taken(a) {
			continue
		}
		return a
	}
	return netip.Addr{}
}
