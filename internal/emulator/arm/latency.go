package arm

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Latency profiles of the emulator.
const (
	// LatencyZero completes every long-running operation at once.
	LatencyZero = "zero"
	// LatencyFast takes about 1/20 of Azure's typical times.
	LatencyFast = "fast"
	// LatencyRealistic takes about Azure's typical times.
	LatencyRealistic = "realistic"
)

// realistic holds Azure's typical durations of long-running operations, keyed by lower-case
// "<full type>.<create|update|delete>" or by an LRO.Operation name. Lookups fall back from
// "<type>.update" to "<type>.create", then to the default.
var realistic = map[string]time.Duration{
	"default": 2 * time.Second,

	"microsoft.resources/resourcegroups.delete": 30 * time.Second,

	"microsoft.network/virtualnetworks.create":         5 * time.Second,
	"microsoft.network/virtualnetworks.delete":         5 * time.Second,
	"microsoft.network/virtualnetworks/subnets.create": 3 * time.Second,
	"microsoft.network/networksecuritygroups.create":   3 * time.Second,
	"microsoft.network/publicipaddresses.create":       3 * time.Second,
	"microsoft.network/loadbalancers.create":           10 * time.Second,
	"microsoft.network/networkinterfaces.create":       3 * time.Second,
	"microsoft.network/natgateways.create":             15 * time.Second,
	"microsoft.network/natgateways.delete":             10 * time.Second,
	"microsoft.network/routetables.create":             3 * time.Second,

	"microsoft.compute/virtualmachines.create": 45 * time.Second,
	"microsoft.compute/virtualmachines.update": 30 * time.Second,
	"microsoft.compute/virtualmachines.delete": 30 * time.Second,
	"microsoft.compute/disks.create":           5 * time.Second,
	"microsoft.compute/disks.delete":           5 * time.Second,
	"microsoft.compute/images.create":          30 * time.Second,
	"microsoft.compute/images.delete":          10 * time.Second,

	"microsoft.storage/storageaccounts.create": 20 * time.Second,

	"microsoft.containerservice/managedclusters.create":            5 * time.Minute,
	"microsoft.containerservice/managedclusters.update":            3 * time.Minute,
	"microsoft.containerservice/managedclusters.delete":            3 * time.Minute,
	"microsoft.containerservice/managedclusters/agentpools.create": 3 * time.Minute,
	"microsoft.containerservice/managedclusters/agentpools.delete": 2 * time.Minute,

	// Short names a type may give in LRO.Operation.
	"rg.delete":        30 * time.Second,
	"vnet.create":      5 * time.Second,
	"subnet.create":    3 * time.Second,
	"nsg.create":       3 * time.Second,
	"pip.create":       3 * time.Second,
	"lb.create":        10 * time.Second,
	"nic.create":       3 * time.Second,
	"natgw.create":     15 * time.Second,
	"vm.create":        45 * time.Second,
	"vm.delete":        30 * time.Second,
	"disk.create":      5 * time.Second,
	"image.create":     30 * time.Second,
	"storage.create":   20 * time.Second,
	"aks.create":       5 * time.Minute,
	"aks.update":       3 * time.Minute,
	"aks.delete":       3 * time.Minute,
	"agentpool.create": 3 * time.Minute,
	"aks.pool.create":  3 * time.Minute,
	"aks.pool.update":  3 * time.Minute,
	"aks.pool.delete":  2 * time.Minute,
	"disk.delete":      5 * time.Second,
	"image.delete":     10 * time.Second,
	"agentpool.delete": 2 * time.Minute,
}

// LatencyModel gives the duration of each long-running operation: a profile (zero, fast,
// realistic) times a scale, with a deterministic jitter of up to ±10 %.
type LatencyModel struct {
	mu       sync.Mutex
	profile  string
	scale    float64
	override map[string]time.Duration
}

// NewLatencyModel returns the model of a profile; scale multiplies every duration (0 means 1).
func NewLatencyModel(profile string, scale float64) *LatencyModel {
	if scale <= 0 {
		scale = 1
	}
	if profile == "" {
		profile = LatencyZero
	}
	return &LatencyModel{profile: strings.ToLower(profile), scale: scale, override: map[string]time.Duration{}}
}

// ParseLatency checks a profile name.
func ParseLatency(profile string) (string, error) {
	switch p := strings.ToLower(profile); p {
	case LatencyZero, LatencyFast, LatencyRealistic:
		return p, nil
	case "":
		return LatencyZero, nil
	}
	return "", fmt.Errorf("latency %q: want zero, fast or realistic", profile)
}

// Set overrides the realistic duration of one operation (see the keys of Duration).
func (m *LatencyModel) Set(operation string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.override[strings.ToLower(operation)] = d
}

// SetProfile changes the profile and scale at run time.
func (m *LatencyModel) SetProfile(profile string, scale float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if scale <= 0 {
		scale = 1
	}
	m.profile, m.scale = strings.ToLower(profile), scale
}

// Profile returns the profile and scale.
func (m *LatencyModel) Profile() (string, float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.profile, m.scale
}

// Base returns the realistic duration of an operation: "vm.create", or
// "Microsoft.Network/virtualNetworks.create" (any casing).
func (m *LatencyModel) Base(operation string) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.baseLocked(strings.ToLower(operation))
}

func (m *LatencyModel) baseLocked(op string) time.Duration {
	if d, ok := m.override[op]; ok {
		return d
	}
	if d, ok := realistic[op]; ok {
		return d
	}
	if t, ok := strings.CutSuffix(op, ".update"); ok {
		return m.baseLocked(t + ".create")
	}
	if d, ok := m.override["default"]; ok {
		return d
	}
	return realistic["default"]
}

// Duration returns how long one run of the operation takes; jitter in [0,1) picks a point
// within ±10 % of the nominal time.
func (m *LatencyModel) Duration(operation string, jitter float64) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	var f float64
	switch m.profile {
	case LatencyRealistic:
		f = 1
	case LatencyFast:
		f = 1.0 / 20
	default:
		return 0
	}
	d := float64(m.baseLocked(strings.ToLower(operation))) * f * m.scale
	d *= 0.9 + 0.2*jitter
	return time.Duration(d)
}
