package compute

import (
	"strings"
	"testing"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

func TestLookupSize(t *testing.T) {
	s, ok := LookupSize("standard_d4s_V3")
	if !ok || s.Name != "Standard_D4s_v3" || s.VCPUs != 4 || s.MemoryGB != 16 || !s.PremiumIO {
		t.Errorf("LookupSize: %+v %v", s, ok)
	}
	if _, ok := LookupSize("Standard_Z99"); ok {
		t.Error("an unknown size was found")
	}
	for _, want := range []string{"Standard_B2s", "Standard_D2s_v3", "Standard_D8s_v3", "Standard_E4s_v3", "Standard_F4s_v2", "Standard_NC6s_v3"} {
		if !strings.Contains(SizeNames(), want) {
			t.Errorf("SizeNames lacks %s", want)
		}
	}
}

func TestZoneOffered(t *testing.T) {
	zones := []string{"1", "2", "3"}
	cases := []struct {
		size, loc, zone string
		want            bool
	}{
		{"Standard_D2s_v3", "westeurope", "3", true},
		{"Standard_D2s_v3", "westeurope", "", true},
		{"Standard_D2s_v3", "westeurope", "4", false},
		{"Standard_NC6s_v3", "westeurope", "3", false},
		{"Standard_NC6s_v3", "WestEurope", "3", false},
		{"Standard_NC6s_v3", "westeurope", "2", true},
		{"Standard_NC6s_v3", "northeurope", "3", true},
		{"Standard_Nope", "westeurope", "", false},
	}
	for _, c := range cases {
		if got := ZoneOffered(c.size, c.loc, zones, c.zone); got != c.want {
			t.Errorf("ZoneOffered(%s, %s, %q) = %v", c.size, c.loc, c.zone, got)
		}
	}
	if ZoneOffered("Standard_D2s_v3", "westcentralus", nil, "1") {
		t.Error("a zone was offered in a location without zones")
	}
}

func TestVMSKUEntry(t *testing.T) {
	s, _ := LookupSize("Standard_NC6s_v3")
	e := vmSKU(s, arm.LocationInfo{Name: "westeurope", Zones: []string{"1", "2", "3"}})
	r := e["restrictions"].([]any)
	if len(r) != 1 {
		t.Fatalf("restrictions %v", r)
	}
	info := r[0].(map[string]any)["restrictionInfo"].(map[string]any)
	if z := info["zones"].([]any); len(z) != 1 || z[0] != "3" {
		t.Errorf("restricted zones %v", z)
	}
	caps := map[string]string{}
	for _, c := range e["capabilities"].([]any) {
		m := c.(map[string]any)
		caps[m["name"].(string)] = m["value"].(string)
	}
	if caps["GPUs"] != "1" || caps["vCPUs"] != "6" || caps["MemoryGB"] != "112" {
		t.Errorf("capabilities %v", caps)
	}
	// Without zones there is no zonal restriction to report.
	e = vmSKU(s, arm.LocationInfo{Name: "westeurope"})
	if r := e["restrictions"].([]any); len(r) != 0 {
		t.Errorf("restrictions without zones %v", r)
	}
}

func TestMerge(t *testing.T) {
	dst := map[string]any{"a": map[string]any{"b": 1.0, "c": 2.0}, "l": []any{1.0, 2.0}, "k": "v"}
	jsonmap.Merge(dst, map[string]any{"a": map[string]any{"c": 3.0}, "l": []any{9.0}})
	a := dst["a"].(map[string]any)
	if a["b"] != 1.0 || a["c"] != 3.0 || len(dst["l"].([]any)) != 1 || dst["k"] != "v" {
		t.Errorf("merge: %v", dst)
	}
}

func TestDiskTier(t *testing.T) {
	for gb, want := range map[int64]string{4: "P1", 30: "P4", 64: "P6", 100: "P10", 1024: "P30", 40000: "P80"} {
		if got := diskTierFor(gb); got != want {
			t.Errorf("diskTierFor(%d) = %s, want %s", gb, got, want)
		}
	}
}
