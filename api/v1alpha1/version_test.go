package v1alpha1

import (
	"fmt"
	"testing"
)

// TestKubernetesVersionUpdate checks the comparison of the kubernetes layer's version before and
// after an update of an AKS cluster: numeric, with or without a leading v.
func TestKubernetesVersionUpdate(t *testing.T) {
	const (
		downgrade = "field version cannot be downgraded: the kubernetes layer goes from %s to the older %s"
		skip      = "AKS upgrades the control plane one minor version at a time: from %s go to %s first"
	)
	cases := []struct {
		before, after string
		want          string // the message, "" for none
		args          []any
	}{
		{before: "1.30.4", after: "1.30.4"},
		{before: "1.30.4", after: "1.30.9"},
		{before: "1.30.4", after: "1.31.0"},
		{before: "1.9.11", after: "1.10.0"},
		{before: "v1.30.4", after: "1.31.1"},
		{before: "1.30", after: "v1.31"},
		{before: "1.30.4", after: "1.31.0-rc.1"},
		{before: "1.30.4", after: "latest"}, // not a version: not compared
		{before: "stable", after: "1.28.0"}, // not a version: not compared
		{before: "1.30.4", after: "1.30.2", want: downgrade, args: []any{"1.30.4", "1.30.2"}},
		{before: "1.10.0", after: "1.9.9", want: downgrade, args: []any{"1.10.0", "1.9.9"}},
		{before: "v1.30.4", after: "v1.29.9", want: downgrade, args: []any{"v1.30.4", "v1.29.9"}},
		{before: "1.30.4", after: "1.32.0", want: skip, args: []any{"1.30", "1.31"}},
		{before: "1.9.0", after: "1.11.0", want: skip, args: []any{"1.9", "1.10"}},
		{before: "1.30.4", after: "2.0.0", want: skip, args: []any{"1.30", "1.31"}},
	}
	for _, tc := range cases {
		var errs ErrorList
		checkKubernetesVersionUpdate(&errs, "spec.profiles[0].version", tc.before, tc.after)
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%s -> %s refused: %v", tc.before, tc.after, errs)
		case tc.want != "" && len(errs) != 1:
			t.Errorf("%s -> %s: %d errors, want 1: %v", tc.before, tc.after, len(errs), errs)
		case tc.want != "":
			want := FieldError{Field: "spec.profiles[0].version", Rule: RuleRange, Message: fmt.Sprintf(tc.want, tc.args...)}
			if errs[0] != want {
				t.Errorf("%s -> %s: got %+v, want %+v", tc.before, tc.after, errs[0], want)
			}
		}
	}
}
