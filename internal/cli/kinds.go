package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// ResolveKind turns what a user typed ("cl", "Profiles", "pcg", "CloudAccount") into a kind, case
// insensitively. An unknown name is an error that lists the names strata knows.
func ResolveKind(s string) (string, error) {
	want := strings.ToLower(strings.TrimSpace(s))
	for _, ki := range v1alpha1.Resources {
		if want == ki.Singular || want == ki.Plural || slices.Contains(ki.ShortNames, want) {
			return ki.Kind, nil
		}
	}
	return "", fmt.Errorf("unknown resource type %q: use one of %s", s, kindList())
}

// kindList describes every kind and its short names, for error messages.
func kindList() string {
	parts := make([]string, 0, len(v1alpha1.Resources))
	for i := len(v1alpha1.Resources) - 1; i >= 0; i-- {
		ki := v1alpha1.Resources[i]
		parts = append(parts, fmt.Sprintf("%s (%s)", ki.Singular, strings.Join(append([]string{ki.Plural}, ki.ShortNames...), ", ")))
	}
	return strings.Join(parts, "; ")
}

// kindRank is the position of a kind in dependency order; unknown kinds come last.
func kindRank(kind string) int {
	if i := slices.Index(v1alpha1.Kinds, kind); i >= 0 {
		return i
	}
	return len(v1alpha1.Kinds)
}

// resourceName is how an object is named in output: "cluster/NAME",
// "clusterprofile/NAME@VERSION".
func resourceName(obj v1alpha1.Object) string {
	return refName(obj.GetTypeMeta().Kind, obj.Key())
}

// refName is resourceName for a kind and key.
func refName(kind, key string) string {
	return strings.ToLower(kind) + "/" + key
}

// target is one object named on the command line.
type target struct {
	Kind string
	// Name is a name, or for a ClusterProfile "name@version" or just "name" (all versions).
	Name string
}

// parseTargets reads the "KIND [NAME...]" or "KIND/NAME..." arguments of a verb. With allowList,
// "KIND" alone gives one target with an empty Name, meaning every object of the kind.
func parseTargets(verb string, args []string, allowList bool) ([]target, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("name a resource type: one of %s", kindList())
	}
	if strings.Contains(args[0], "/") {
		var ts []target
		for _, a := range args {
			k, n, ok := strings.Cut(a, "/")
			if !ok || n == "" || k == "" {
				return nil, fmt.Errorf("%q: use KIND/NAME for every argument once the first one is KIND/NAME", a)
			}
			kind, err := ResolveKind(k)
			if err != nil {
				return nil, err
			}
			ts = append(ts, target{Kind: kind, Name: n})
		}
		return ts, nil
	}
	kind, err := ResolveKind(args[0])
	if err != nil {
		return nil, err
	}
	if len(args) == 1 {
		if !allowList {
			return nil, fmt.Errorf("name the %s to %s: strata %s %s NAME", strings.ToLower(kind), verb, verb, args[0])
		}
		return []target{{Kind: kind}}, nil
	}
	ts := make([]target, 0, len(args)-1)
	for _, n := range args[1:] {
		if n == "" || strings.Contains(n, "/") {
			return nil, fmt.Errorf("invalid name %q", n)
		}
		ts = append(ts, target{Kind: kind, Name: n})
	}
	return ts, nil
}
