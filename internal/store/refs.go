package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Errors of the references the store keeps; test them with errors.Is.
var (
	// ErrInUse matches an *InUseError.
	ErrInUse = errors.New("object is in use")
	// ErrBrokenReference matches a *ReferenceError.
	ErrBrokenReference = errors.New("a referenced object does not exist or is being deleted")
)

// InUseError is the error of a Delete, or of an Update that sets deletionTimestamp, of an
// object that other objects refer to; and of an Update that changes the spec of an object whose
// spec is frozen while referred to (a ClusterProfile version that clusters pin).
type InUseError struct {
	Kind, Key string
	// Referrers are the objects that refer to it, by kind and key.
	Referrers []v1alpha1.Ref
	// SpecFrozen says that the write changed the spec of a frozen object, rather than deleted it.
	SpecFrozen bool
}

// SpecFrozenInUse reports whether the spec of objects of kind cannot change while other objects
// refer to them: a profile version is what the clusters that pin it were built from.
func SpecFrozenInUse(kind string) bool { return kind == v1alpha1.KindClusterProfile }

// Error names the object and its referrers.
func (e *InUseError) Error() string {
	return "in use by " + refList(e.Referrers)
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// ReferenceError is the error of a Create, or of an Update that changes references, of an
// object that refers to objects that do not exist or are being deleted.
type ReferenceError struct {
	Kind, Key string
	// Missing are the referenced objects that do not exist.
	Missing []v1alpha1.Ref
	// Deleting are the referenced objects that are being deleted (deletionTimestamp set).
	Deleting []v1alpha1.Ref
}

// Error names the object and what is wrong with its references.
func (e *ReferenceError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "refers to "+refList(e.Missing)+", which do not exist")
	}
	if len(e.Deleting) > 0 {
		parts = append(parts, "refers to "+refList(e.Deleting)+", which are being deleted")
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrBrokenReference) true.
func (e *ReferenceError) Is(target error) bool { return target == ErrBrokenReference }

func refList(refs []v1alpha1.Ref) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = fmt.Sprintf("%s %q", r.Kind, r.Key)
	}
	return strings.Join(names, ", ")
}

// refsOf returns the objects obj refers to (v1alpha1.References), sorted by kind and key,
// each once.
func refsOf(obj v1alpha1.Object) []v1alpha1.Ref {
	refs := slices.Clone(v1alpha1.References(obj))
	slices.SortFunc(refs, compareRefs)
	return slices.Compact(refs)
}

// RefsOfData returns the references of a stored JSON document of kind, for a migration that
// fills the references of objects stored before the store kept them.
func RefsOfData(kind string, data []byte) ([]v1alpha1.Ref, error) {
	obj := v1alpha1.New(kind)
	if obj == nil {
		return nil, fmt.Errorf("references of a row: unknown kind %q", kind)
	}
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("references of %s: %w", kind, err)
	}
	return refsOf(obj), nil
}

func compareRefs(a, b v1alpha1.Ref) int {
	return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Key, b.Key))
}

// addedRefs returns the references of want that have is missing; both are sorted.
func addedRefs(have, want []v1alpha1.Ref) []v1alpha1.Ref {
	var out []v1alpha1.Ref
	for _, r := range want {
		if _, found := slices.BinarySearchFunc(have, r, compareRefs); !found {
			out = append(out, r)
		}
	}
	return out
}

// TargetState is what a write found of an object it refers to.
type TargetState int

// The states of a referenced object.
const (
	TargetMissing TargetState = iota
	TargetPresent
	TargetDeleting
)

// checkTargets decides whether kind/key may refer to refs, given what was found of each (an
// absent entry is a missing object): nil, or a *ReferenceError naming the missing objects and
// those being deleted.
func checkTargets(kind, key string, refs []v1alpha1.Ref, found map[v1alpha1.Ref]TargetState) error {
	e := &ReferenceError{Kind: kind, Key: key}
	for _, r := range refs {
		switch found[r] {
		case TargetMissing:
			e.Missing = append(e.Missing, r)
		case TargetDeleting:
			e.Deleting = append(e.Deleting, r)
		}
	}
	if len(e.Missing)+len(e.Deleting) > 0 {
		return e
	}
	return nil
}
