package store

import (
	"errors"
	"slices"
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestCheckTargets(t *testing.T) {
	a := v1alpha1.Ref{Kind: v1alpha1.KindCloudAccount, Key: "a"}
	p := v1alpha1.Ref{Kind: v1alpha1.KindClusterProfile, Key: "p@1.0.0"}
	q := v1alpha1.Ref{Kind: v1alpha1.KindClusterProfile, Key: "q@1.0.0"}
	tests := []struct {
		name              string
		refs              []v1alpha1.Ref
		found             map[v1alpha1.Ref]TargetState
		missing, deleting []v1alpha1.Ref
	}{
		{"no references", nil, nil, nil, nil},
		{"all present", []v1alpha1.Ref{a, p}, map[v1alpha1.Ref]TargetState{a: TargetPresent, p: TargetPresent}, nil, nil},
		{"one missing", []v1alpha1.Ref{a, p}, map[v1alpha1.Ref]TargetState{a: TargetPresent}, []v1alpha1.Ref{p}, nil},
		{"missing and deleting", []v1alpha1.Ref{a, p, q}, map[v1alpha1.Ref]TargetState{p: TargetDeleting, q: TargetPresent}, []v1alpha1.Ref{a}, []v1alpha1.Ref{p}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkTargets(v1alpha1.KindCluster, "c", tc.refs, tc.found)
			if tc.missing == nil && tc.deleting == nil {
				if err != nil {
					t.Fatalf("checkTargets = %v, want nil", err)
				}
				return
			}
			var re *ReferenceError
			if !errors.As(err, &re) || !errors.Is(err, ErrBrokenReference) {
				t.Fatalf("checkTargets = %v, want a *ReferenceError", err)
			}
			if re.Kind != v1alpha1.KindCluster || re.Key != "c" || !slices.Equal(re.Missing, tc.missing) || !slices.Equal(re.Deleting, tc.deleting) {
				t.Errorf("checkTargets = %+v, want missing %v deleting %v", re, tc.missing, tc.deleting)
			}
		})
	}
}

func TestRefsOf(t *testing.T) {
	cl := &v1alpha1.Cluster{TypeMeta: v1alpha1.TypeMeta{Kind: v1alpha1.KindCluster}}
	cl.Spec.CloudAccount = "acct"
	cl.Spec.Profiles = []v1alpha1.ProfileRef{{Name: "z", Version: "1.0.0"}, {Name: "a", Version: "2.0.0"}, {Name: "z", Version: "1.0.0"}}
	want := []v1alpha1.Ref{
		{Kind: v1alpha1.KindCloudAccount, Key: "acct"},
		{Kind: v1alpha1.KindClusterProfile, Key: "a@2.0.0"},
		{Kind: v1alpha1.KindClusterProfile, Key: "z@1.0.0"},
	}
	if got := refsOf(cl); !slices.Equal(got, want) {
		t.Errorf("refsOf = %v, want %v: sorted, each once", got, want)
	}
	if got := addedRefs(want[:2], want[1:]); !slices.Equal(got, want[2:]) {
		t.Errorf("addedRefs = %v, want %v", got, want[2:])
	}
	if got := addedRefs(want, nil); got != nil {
		t.Errorf("addedRefs to none = %v", got)
	}
}
