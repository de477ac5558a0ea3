package scalebench

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// encode writes a profile of one value type with the given samples (leaf function first).
func encode(t *testing.T, typ string, samples []sampleSpec) []byte {
	t.Helper()
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: typ, Unit: "nanoseconds"}}}
	fns := map[string]*profile.Function{}
	for _, s := range samples {
		var locs []*profile.Location
		for _, name := range s.stack {
			fn, ok := fns[name]
			if !ok {
				fn = &profile.Function{ID: uint64(len(fns) + 1), Name: name}
				fns[name] = fn
				p.Function = append(p.Function, fn)
			}
			loc := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn}}}
			p.Location = append(p.Location, loc)
			locs = append(locs, loc)
		}
		sample := &profile.Sample{Location: locs, Value: []int64{1, s.value}}
		if s.label != "" {
			sample.Label = map[string][]string{labelKey: {s.label}}
		}
		p.Sample = append(p.Sample, sample)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type sampleSpec struct {
	label string
	stack []string
	value int64
}

const (
	ctl  = "github.com/strata-dev/strata/internal/controller.(*Controller).scan"
	emu  = "github.com/strata-dev/strata/internal/emulator/arm.(*Engine).serve"
	json = "encoding/json.Unmarshal"
)

func TestSplitCPU(t *testing.T) {
	data := encode(t, "cpu", []sampleSpec{
		{labelStrata, []string{json, ctl}, 30},
		{labelStrata, []string{ctl}, 10},
		{labelEmulator, []string{json, emu}, 50},
		{"", []string{"runtime.gcBgMarkWorker"}, 10},
	})
	c, err := splitCPU(data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Strata != 40 || c.Emulator != 50 || c.Unlabelled != 10 {
		t.Errorf("split strata %d, emulator %d, unlabelled %d; want 40, 50, 10", c.Strata, c.Emulator, c.Unlabelled)
	}
	// 40 + 10 × 40/90
	if got, want := c.StrataShare(), time.Duration(44); got != want {
		t.Errorf("strata's share %d, want %d", got, want)
	}
	if len(c.TopFlat) != 2 || c.TopFlat[0] != (FuncCost{json, 30}) || c.TopFlat[1] != (FuncCost{ctl, 10}) {
		t.Errorf("flat %v", c.TopFlat)
	}
	if len(c.TopCumulative) != 1 || c.TopCumulative[0] != (FuncCost{ctl, 40}) {
		t.Errorf("cumulative %v, want only strata's own function, with all 40", c.TopCumulative)
	}
	if _, err := splitCPU([]byte("not a profile")); err == nil {
		t.Error("a bad profile was read")
	}
}

func TestSplitHeap(t *testing.T) {
	data := encode(t, "inuse_space", []sampleSpec{
		{"", []string{"encoding/json.(*decodeState).object", emu}, 700},
		{"", []string{"encoding/json.(*decodeState).object", ctl}, 200},
		{"", []string{"runtime.malg"}, 100},
	})
	h, err := splitHeap(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.Emulator != 700 || h.Strata != 300 {
		t.Errorf("heap emulator %d, strata %d; want 700, 300", h.Emulator, h.Strata)
	}
}

func TestResidentBytes(t *testing.T) {
	n, err := residentBytes()
	if err != nil {
		t.Fatal(err)
	}
	if n < 1<<20 || n > 1<<40 {
		t.Errorf("RSS %d bytes", n)
	}
}
