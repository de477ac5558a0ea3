package scalebench

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// emulatorPackages is the prefix of the emulator's functions: a heap allocation made under one
// of them is the emulator's.
const emulatorPackages = "github.com/strata-dev/strata/internal/emulator"

// strataPackages is the prefix of strata's own functions.
const strataPackages = "github.com/strata-dev/strata/"

// topFunctions is how many functions a CPU summary lists.
const topFunctions = 8

// CPUSplit is the CPU time of a profile by the component that ran it.
type CPUSplit struct {
	// Strata and Emulator are the samples of goroutines labelled with each component;
	// Unlabelled the others: the runtime's own (the garbage collector's background workers,
	// mostly) and the benchmark's.
	Strata, Emulator, Unlabelled time.Duration
	// TopFlat are the functions strata's samples were in, most first; TopCumulative strata's
	// own functions by the samples under them.
	TopFlat, TopCumulative []FuncCost
}

// FuncCost is a function's share of a CPU profile.
type FuncCost struct {
	Name string
	Time time.Duration
}

// StrataShare is strata's CPU time with its part of the unlabelled time, in proportion to
// its part of the labelled time (the collector works for whoever allocates).
func (c CPUSplit) StrataShare() time.Duration {
	labelled := c.Strata + c.Emulator
	if labelled == 0 {
		return 0
	}
	return c.Strata + time.Duration(float64(c.Unlabelled)*float64(c.Strata)/float64(labelled))
}

// splitCPU reads a CPU profile and splits its time by the component label of its samples.
func splitCPU(data []byte) (CPUSplit, error) {
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		return CPUSplit{}, fmt.Errorf("read the CPU profile: %w", err)
	}
	idx := valueIndex(p, "cpu")
	if idx < 0 {
		return CPUSplit{}, fmt.Errorf("read the CPU profile: no cpu samples")
	}
	var c CPUSplit
	flat, cum := map[string]time.Duration{}, map[string]time.Duration{}
	for _, s := range p.Sample {
		d := time.Duration(s.Value[idx])
		switch component(s) {
		case labelStrata:
			c.Strata += d
			addStack(s, d, flat, cum)
		case labelEmulator:
			c.Emulator += d
		default:
			c.Unlabelled += d
		}
	}
	c.TopFlat, c.TopCumulative = top(flat, ""), top(cum, strataPackages)
	return c, nil
}

// component is a sample's component label, or "".
func component(s *profile.Sample) string {
	if v := s.Label[labelKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// addStack adds d to the sample's leaf function in flat and once to each function of its
// stack in cum.
func addStack(s *profile.Sample, d time.Duration, flat, cum map[string]time.Duration) {
	seen := map[string]bool{}
	for i, fn := range functions(s) {
		if i == 0 {
			flat[fn] += d
		}
		if !seen[fn] {
			seen[fn] = true
			cum[fn] += d
		}
	}
}

// functions are the names of a sample's functions, leaf first, inlined ones included.
func functions(s *profile.Sample) []string {
	var out []string
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function != nil {
				out = append(out, line.Function.Name)
			}
		}
	}
	return out
}

// top returns the topFunctions costliest functions whose names start with prefix.
func top(m map[string]time.Duration, prefix string) []FuncCost {
	var out []FuncCost
	for name, d := range m {
		if strings.HasPrefix(name, prefix) {
			out = append(out, FuncCost{Name: name, Time: d})
		}
	}
	slices.SortFunc(out, func(a, b FuncCost) int { return cmp.Or(cmp.Compare(b.Time, a.Time), strings.Compare(a.Name, b.Name)) })
	return out[:min(len(out), topFunctions)]
}

// valueIndex is the index of a sample type in a profile's values, or -1.
func valueIndex(p *profile.Profile, typ string) int {
	for i, st := range p.SampleType {
		if st.Type == typ {
			return i
		}
	}
	return -1
}

// HeapSplit is the live heap by who allocated it: the emulator (an emulator function on the
// allocation's stack) or strata (the rest: strata's server, controller and store, and the
// libraries they call).
type HeapSplit struct {
	Strata, Emulator int64
}

// splitHeap reads a heap profile and splits its bytes in use by allocation site.
func splitHeap(data []byte) (HeapSplit, error) {
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		return HeapSplit{}, fmt.Errorf("read the heap profile: %w", err)
	}
	idx := valueIndex(p, "inuse_space")
	if idx < 0 {
		return HeapSplit{}, fmt.Errorf("read the heap profile: no inuse_space")
	}
	var h HeapSplit
	for _, s := range p.Sample {
		if slices.ContainsFunc(functions(s), func(fn string) bool { return strings.HasPrefix(fn, emulatorPackages) }) {
			h.Emulator += s.Value[idx]
		} else {
			h.Strata += s.Value[idx]
		}
	}
	return h, nil
}

// residentBytes is the process's resident set size (VmRSS of /proc/self/status).
func residentBytes() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("resident set size: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("resident set size: %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("resident set size: no VmRSS in /proc/self/status")
}
