package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// TestAccountCheckFailureKeepsTheSecret: a check that fails with the account's secret in the
// error's text (an endpoint echoing what it was sent) is retried, and neither the account's
// status, its event, nor the controller's log carries the secret.
func TestAccountCheckFailureKeepsTheSecret(t *testing.T) {
	const secret = "s3cr3t-echoed-back"
	ctx := context.Background()
	st := sqliteStore(t)
	acct := v1alpha1.New(v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount)
	acct.Metadata.Name = "echo"
	acct.Spec.Azure.ClientSecret = v1alpha1.NewSecret(secret)
	if err := st.Create(ctx, acct); err != nil {
		t.Fatal(err)
	}
	// The handler serializes its writes, and processAccount returns after its goroutines.
	var logs bytes.Buffer
	c := New(Config{Store: st, Holder: "h1", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		ListSubscriptions: func(_ context.Context, a *v1alpha1.CloudAccount) ([]string, error) {
			return nil, fmt.Errorf("500 Internal Server Error: could not process client_secret=%s", a.Spec.Azure.ClientSecret.Reveal())
		}})
	key := objKey{kindAccount, "echo"}
	c.processAccount(ctx, key)

	if c.failures(key) != 1 {
		t.Errorf("failures = %d after a failed check, want 1 (retried with backoff)", c.failures(key))
	}
	if !strings.Contains(logs.String(), "cloud account check failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log carries the secret: %s", logs.String())
	}
	obj, err := st.Get(ctx, v1alpha1.KindCloudAccount, "echo")
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*v1alpha1.CloudAccount)
	if v := statusCondition(&got.Status.Status, v1alpha1.ConditionValid); v == nil || v.Status != "False" || strings.Contains(v.Message, secret) {
		t.Errorf("Valid = %+v: want False, without the secret", v)
	}
	events, err := st.ListEvents(ctx, kindAccount, "echo", got.Metadata.UID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if strings.Contains(ev.Message, secret) {
			t.Errorf("event %s carries the secret: %q", ev.Reason, ev.Message)
		}
	}
}
