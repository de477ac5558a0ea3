package nodesim

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

var (
	// clusterCIDR is where nodes' pod CIDRs come from, one /24 each.
	clusterCIDR = netip.MustParsePrefix("10.244.0.0/16")
	// loopbackCIDR is where pods a Runner runs as local processes get their IPs.
	loopbackCIDR = netip.MustParsePrefix("127.79.0.0/16")
)

// LoopbackPool is the pool of loopback pod IPs (127.79.0.0/16) that Runner processes get.
// The simulators of one emulator share one, so that no two clusters' processes get the same
// address (and port).
type LoopbackPool struct{ pool *ipPool }

// NewLoopbackPool returns an empty pool.
func NewLoopbackPool() *LoopbackPool { return &LoopbackPool{pool: newIPPool(loopbackCIDR, 1)} }

// errPoolExhausted is returned when an ipPool has no free address left.
var errPoolExhausted = errors.New("no free address left")

// cidrAllocator hands each node name its own /24 of clusterCIDR, the same one for as long as
// the allocator lives.
type cidrAllocator struct {
	byName map[string]netip.Prefix
	used   map[netip.Prefix]string
}

func newCIDRAllocator() *cidrAllocator {
	return &cidrAllocator{byName: map[string]netip.Prefix{}, used: map[netip.Prefix]string{}}
}

// get returns name's pod CIDR, allocating the lowest free /24 the first time.
func (a *cidrAllocator) get(name string) (netip.Prefix, error) {
	if p, ok := a.byName[name]; ok {
		return p, nil
	}
	base := clusterCIDR.Addr().As4()
	for i := range 256 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], byte(i), 0}), 24)
		if _, taken := a.used[p]; !taken {
			a.adopt(name, p)
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("pod CIDR for node %s: %w in %s", name, errPoolExhausted, clusterCIDR)
}

// adopt records that name uses p (a Node that already had a pod CIDR).
func (a *cidrAllocator) adopt(name string, p netip.Prefix) {
	if old, ok := a.byName[name]; ok && a.used[old] == name {
		delete(a.used, old)
	}
	a.byName[name] = p
	a.used[p] = name
}

// ipPool hands out the addresses of an IPv4 prefix, each to one owner at a time. It is safe
// for concurrent use (the loopback pool is shared by the simulators of one emulator).
type ipPool struct {
	mu     sync.Mutex
	prefix netip.Prefix
	first  netip.Addr // lowest assignable address
	last   netip.Addr // highest assignable address (the broadcast address is kept out)
	next   netip.Addr // where the next search starts, so addresses are not reused at once
	owners map[netip.Addr]string
}

// newIPPool returns a pool of prefix's addresses, less the first skip ones (the network
// address, a gateway) and the last one (broadcast).
func newIPPool(prefix netip.Prefix, skip int) *ipPool {
	prefix = prefix.Masked()
	first := prefix.Addr()
	for range skip {
		first = first.Next()
	}
	last := lastAddr(prefix).Prev()
	return &ipPool{prefix: prefix, first: first, last: last, next: first, owners: map[netip.Addr]string{}}
}

// lastAddr returns the highest address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// allocate gives owner an address: want if it is valid, assignable and free (or already
// owner's), else the next free one.
func (p *ipPool) allocate(owner string, want netip.Addr) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.assignable(want) {
		if cur, taken := p.owners[want]; !taken || cur == owner {
			p.owners[want] = owner
			return want, nil
		}
	}
	if !p.assignable(p.first) {
		return netip.Addr{}, fmt.Errorf("pod IP from %s: %w", p.prefix, errPoolExhausted)
	}
	a := p.next
	for {
		if _, taken := p.owners[a]; !taken {
			p.owners[a] = owner
			p.next = p.wrap(a.Next())
			return a, nil
		}
		if a = p.wrap(a.Next()); a == p.next {
			return netip.Addr{}, fmt.Errorf("pod IP from %s: %w", p.prefix, errPoolExhausted)
		}
	}
}

// release frees addr if owner holds it.
func (p *ipPool) release(owner string, addr netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.owners[addr] == owner {
		delete(p.owners, addr)
	}
}

func (p *ipPool) assignable(a netip.Addr) bool {
	return a.IsValid() && a.Is4() && p.prefix.Contains(a) && a.Compare(p.first) >= 0 && a.Compare(p.last) <= 0
}

func (p *ipPool) wrap(a netip.Addr) netip.Addr {
	if !p.assignable(a) {
		return p.first
	}
	return a
}
