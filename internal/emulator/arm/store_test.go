package arm

import (
	"slices"
	"testing"
)

// TestEachInScopeMatchesInScope: the unsorted walk a Viewer uses gives the same entries as
// the sorted list List uses, for every kind of scope.
func TestEachInScopeMatchesInScope(t *testing.T) {
	s := newStore()
	const sub = "/subscriptions/s1"
	ids := []struct{ id, typ, parent string }{
		{sub + "/resourceGroups/a", TypeResourceGroup, Key(sub)},
		{sub + "/resourceGroups/b", TypeResourceGroup, Key(sub)},
		{sub + "/resourceGroups/a/providers/Microsoft.Network/networkInterfaces/n1", "Microsoft.Network/networkInterfaces", Key(sub + "/resourceGroups/a")},
		{sub + "/resourceGroups/b/providers/Microsoft.Network/networkInterfaces/n2", "Microsoft.Network/networkInterfaces", Key(sub + "/resourceGroups/b")},
		{sub + "/resourceGroups/a/providers/Microsoft.Network/virtualNetworks/v", "Microsoft.Network/virtualNetworks", Key(sub + "/resourceGroups/a")},
		{"/subscriptions/s2/resourceGroups/c/providers/Microsoft.Network/networkInterfaces/n3", "Microsoft.Network/networkInterfaces", Key("/subscriptions/s2/resourceGroups/c")},
	}
	for i, r := range ids {
		s.put(Key(r.id), &entry{res: &Resource{ID: r.id, Type: r.typ}, seq: uint64(i), parent: r.parent})
	}
	for _, tc := range []struct {
		name, scope, typ string
		want             int
	}{
		{"whole cloud", "", "Microsoft.Network/networkInterfaces", 3},
		{"subscription", sub, "Microsoft.Network/networkInterfaces", 2},
		{"subscription's groups", sub, TypeResourceGroup, 2},
		{"resource group", sub + "/resourceGroups/a", "Microsoft.Network/networkInterfaces", 1},
		{"resource group, every type", sub + "/resourceGroups/a", "", 2},
		{"type absent", sub, "Microsoft.Compute/virtualMachines", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var listed, walked []string
			for _, e := range s.inScope(tc.scope, tc.typ) {
				listed = append(listed, e.res.ID)
			}
			s.eachInScope(tc.scope, tc.typ, func(e *entry) { walked = append(walked, e.res.ID) })
			slices.Sort(walked)
			sorted := slices.Sorted(slices.Values(listed))
			if len(listed) != tc.want || !slices.Equal(sorted, walked) {
				t.Errorf("inScope %v, eachInScope %v; want %d of them, the same", listed, walked, tc.want)
			}
		})
	}
}
