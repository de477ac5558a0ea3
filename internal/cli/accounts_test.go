package cli

import (
	"testing"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestAccountColumns: VALID says whether the account's current generation signed in (with
// Entra ID's or Azure's code when not), SUBSCRIPTIONS what its principal can access.
func TestAccountColumns(t *testing.T) {
	valid := func(status, reason string) []v1alpha1.Condition {
		return []v1alpha1.Condition{{Type: v1alpha1.ConditionValid, Status: status, Reason: reason}}
	}
	tests := []struct {
		name        string
		gen         int64
		status      v1alpha1.CloudAccountStatus
		valid, subs string
	}{
		{"never checked", 1, v1alpha1.CloudAccountStatus{}, "Unknown", "<none>"},
		{"valid", 1, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 1, Conditions: valid("True", "SignedIn")},
			Subscriptions: []string{"s1"}}, "True", "s1"},
		{"several subscriptions", 1, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 1, Conditions: valid("True", "SignedIn")},
			Subscriptions: []string{"s1", "s2", "s3"}}, "True", "s1 +2"},
		{"refused", 2, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 2, Conditions: valid("False", "invalid_client")}},
			"False (invalid_client)", "<none>"},
		{"changed since", 3, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 2, Conditions: valid("True", "SignedIn")},
			Subscriptions: []string{"s1"}}, "Unknown", "s1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &v1alpha1.CloudAccount{Metadata: v1alpha1.ObjectMeta{Name: "a", Generation: tt.gen}, Status: tt.status}
			if got := accountValid(a); got != tt.valid {
				t.Errorf("VALID %q, want %q", got, tt.valid)
			}
			if got := subscriptionList(a.Status.Subscriptions); got != tt.subs {
				t.Errorf("SUBSCRIPTIONS %q, want %q", got, tt.subs)
			}
		})
	}
}
