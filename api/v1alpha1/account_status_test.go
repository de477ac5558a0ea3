package v1alpha1_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// TestAccountStatusKeptAndCleared: the server keeps an account's whole status (subscriptions
// and check time included) over a user's replace, and the JSON carries it.
func TestAccountStatusKeptAndCleared(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	stored := &v1alpha1.CloudAccount{Status: v1alpha1.CloudAccountStatus{
		Status:        v1alpha1.Status{ObservedGeneration: 3, Conditions: []v1alpha1.Condition{{Type: v1alpha1.ConditionValid, Status: "True"}}},
		Subscriptions: []string{"s1"}, LastCheckTime: &now,
	}}
	sent := &v1alpha1.CloudAccount{Status: v1alpha1.CloudAccountStatus{Subscriptions: []string{"forged"}}}
	v1alpha1.CopyStatus(sent, stored)
	if !slices.Equal(sent.Status.Subscriptions, []string{"s1"}) || sent.Status.LastCheckTime == nil || sent.GetStatus().ObservedGeneration != 3 {
		t.Errorf("status after CopyStatus: %+v", sent.Status)
	}
	b, err := json.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"subscriptions":["s1"]`, `"lastCheckTime":"2026-12-01T00:00:00Z"`, `"observedGeneration":3`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	v1alpha1.ClearStatus(sent)
	if sent.Status.Subscriptions != nil || sent.Status.LastCheckTime != nil || len(sent.Status.Conditions) != 0 {
		t.Errorf("status after ClearStatus: %+v", sent.Status)
	}
}
