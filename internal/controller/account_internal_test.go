package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

func TestAccountNeedsCheck(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	deleted := now
	tests := []struct {
		name     string
		gen      int64
		status   v1alpha1.CloudAccountStatus
		deleting bool
		failures int
		want     bool
	}{
		{"new", 1, v1alpha1.CloudAccountStatus{}, false, 0, true},
		{"checked recently", 1, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 1}, LastCheckTime: ago(time.Minute)}, false, 0, false},
		{"changed since", 2, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 1}, LastCheckTime: ago(time.Minute)}, false, 0, true},
		{"resync due", 1, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 1}, LastCheckTime: ago(30 * time.Minute)}, false, 0, true},
		{"failed, backoff over", 1, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 1}, LastCheckTime: ago(time.Minute)}, false, 2, true},
		{"no check time", 1, v1alpha1.CloudAccountStatus{Status: v1alpha1.Status{ObservedGeneration: 1}}, false, 0, true},
		{"being deleted", 2, v1alpha1.CloudAccountStatus{}, true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &v1alpha1.CloudAccount{Metadata: v1alpha1.ObjectMeta{Name: "a", Generation: tt.gen}, Status: tt.status}
			if tt.deleting {
				a.Metadata.DeletionTimestamp = &deleted
			}
			if got := accountNeedsCheck(a, tt.failures, now, 30*time.Minute); got != tt.want {
				t.Errorf("accountNeedsCheck = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAccountStatusFromCheck(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	earlier := now.Add(-time.Hour)
	prev := v1alpha1.CloudAccountStatus{
		Status:        v1alpha1.Status{ObservedGeneration: 1, Conditions: []v1alpha1.Condition{{Type: v1alpha1.ConditionValid, Status: "True", Reason: ReasonSignedIn, LastTransitionTime: &earlier}}},
		Subscriptions: []string{"old"},
	}
	tests := []struct {
		name           string
		subs           []string
		err            error
		status, reason string
		subsWant       int
		transition     bool
	}{
		{"still valid", []string{"s1", "s2"}, nil, "True", ReasonSignedIn, 2, false},
		{"no subscription", nil, nil, "False", ReasonNoSubscriptions, 0, true},
		{"failed", nil, errors.New("something broke with s3cr3t in it"), "False", ReasonCheckFailed, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := accountStatus(prev, 2, tt.subs, tt.err, "s3cr3t", now)
			c := statusCondition(&s.Status, v1alpha1.ConditionValid)
			if c == nil || c.Status != tt.status || c.Reason != tt.reason {
				t.Fatalf("Valid = %+v, want %s %s", c, tt.status, tt.reason)
			}
			if strings.Contains(c.Message, "s3cr3t") {
				t.Errorf("message carries the secret: %q", c.Message)
			}
			if len(s.Subscriptions) != tt.subsWant || s.ObservedGeneration != 2 || !s.LastCheckTime.Equal(now) {
				t.Errorf("status %+v", s)
			}
			if moved := !c.LastTransitionTime.Equal(earlier); moved != tt.transition {
				t.Errorf("transition time moved: %v, want %v", moved, tt.transition)
			}
			if prev.Conditions[0].Status != "True" || len(prev.Subscriptions) != 1 {
				t.Error("the previous status was changed")
			}
		})
	}
}
