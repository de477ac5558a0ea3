package v1alpha1_test

import (
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestResourcesCoverKinds checks that every kind has exactly one resource entry, in dependency
// order, and that the plural maps both ways.
func TestResourcesCoverKinds(t *testing.T) {
	if len(v1alpha1.Resources) != len(v1alpha1.Kinds) {
		t.Fatalf("%d resources for %d kinds", len(v1alpha1.Resources), len(v1alpha1.Kinds))
	}
	for i, r := range v1alpha1.Resources {
		if r.Kind != v1alpha1.Kinds[i] {
			t.Errorf("resource %d is %s, kind %d is %s", i, r.Kind, i, v1alpha1.Kinds[i])
		}
		if v1alpha1.New(r.Kind) == nil {
			t.Errorf("%s has no Go type", r.Kind)
		}
		if k, ok := v1alpha1.KindOfPlural(v1alpha1.Plural(r.Kind)); !ok || k != r.Kind {
			t.Errorf("plural of %s does not map back: %q %v", r.Kind, k, ok)
		}
	}
	if _, ok := v1alpha1.KindOfPlural("pods"); ok {
		t.Error("an unknown plural resolved")
	}
}
