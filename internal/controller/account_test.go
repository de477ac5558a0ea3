package controller_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

// listTypeSubscriptions is the emulator's counter type of GET /subscriptions.
const listTypeSubscriptions = "subscriptions"

// getAccount reads a cloud account.
func (h *harness) getAccount(t *testing.T, name string) *v1alpha1.CloudAccount {
	t.Helper()
	obj, err := h.st.Get(context.Background(), v1alpha1.KindCloudAccount, name)
	if err != nil {
		t.Fatalf("get cloud account %s: %v", name, err)
	}
	return obj.(*v1alpha1.CloudAccount)
}

// validCondition returns the account's Valid condition, or nil.
func validCondition(a *v1alpha1.CloudAccount) *v1alpha1.Condition {
	for i := range a.Status.Conditions {
		if a.Status.Conditions[i].Type == v1alpha1.ConditionValid {
			return &a.Status.Conditions[i]
		}
	}
	return nil
}

// waitChecked waits until the account's current generation was checked.
func (h *harness) waitChecked(t *testing.T, name string, timeout time.Duration) *v1alpha1.CloudAccount {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a := h.getAccount(t, name)
		if a.Status.ObservedGeneration == a.Metadata.Generation && validCondition(a) != nil {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("cloud account %s: generation %d not checked after %s; status %+v", name, a.Metadata.Generation, timeout, a.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// accountEvents returns an account's events once there are some (at most 10 s later).
func (h *harness) accountEvents(t *testing.T, name string) []store.Event {
	t.Helper()
	acct, err := h.st.Get(context.Background(), v1alpha1.KindCloudAccount, name)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The events of this account, by its UID.
		events, err := h.st.ListEvents(context.Background(), v1alpha1.KindCloudAccount, name, acct.GetMetadata().UID)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) > 0 || time.Now().After(deadline) {
			return events
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closedEndpoint is an HTTPS URL of a loopback port that nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "https://" + ln.Addr().String()
}

// TestAccountStatus: every cloud account is checked against Azure: Valid True with the
// subscriptions its principal can access, or Valid False with Entra ID's or Azure's code.
func TestAccountStatus(t *testing.T) {
	h := start(t)
	down := closedEndpoint(t)
	tests := []struct {
		name       string
		change     func(*v1alpha1.CloudAccount)
		status     string
		reason     string
		msg        string
		wantSubs   bool
		wantSecret string // must not appear in the message
	}{
		{"valid", func(*v1alpha1.CloudAccount) {}, "True", "SignedIn", "1 subscription(s)", true, h.env.ClientSecret},
		{"wrong-secret", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.ClientSecret = v1alpha1.NewSecret("not-the-secret-42") },
			"False", "invalid_client", "AADSTS7000215", false, "not-the-secret-42"},
		{"unknown-tenant", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.TenantID = uuid.NewString() },
			"False", "invalid_tenant", "AADSTS90002", false, h.env.ClientSecret},
		{"endpoint-down", func(a *v1alpha1.CloudAccount) {
			a.Spec.Azure.Endpoints.ActiveDirectory, a.Spec.Azure.Endpoints.ResourceManager = down, down
		}, "False", "Unreachable", "connection refused", false, h.env.ClientSecret},
	}
	for _, tt := range tests {
		acct := h.env.CloudAccount(t, tt.name)
		tt.change(acct)
		if err := h.st.Create(context.Background(), acct); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.waitChecked(t, tt.name, time.Minute)
			c := validCondition(a)
			if c.Status != tt.status || c.Reason != tt.reason || !strings.Contains(c.Message, tt.msg) {
				t.Errorf("Valid = %s %s %q; want %s %s containing %q", c.Status, c.Reason, c.Message, tt.status, tt.reason, tt.msg)
			}
			if strings.Contains(c.Message, tt.wantSecret) {
				t.Errorf("the message carries the secret: %q", c.Message)
			}
			want := []string(nil)
			if tt.wantSubs {
				want = h.env.Emulator.Subscriptions()
			}
			if !slices.Equal(a.Status.Subscriptions, want) {
				t.Errorf("subscriptions %v, want %v", a.Status.Subscriptions, want)
			}
			if a.Status.LastCheckTime == nil {
				t.Error("no lastCheckTime")
			}
			if !a.Spec.Azure.ClientSecretSet {
				t.Error("the status write lost the stored secret")
			}
			// The event is recorded right after the status is written.
			events := h.accountEvents(t, tt.name)
			wantEvent := map[string]string{"True": "AccountValid", "False": "AccountInvalid"}[tt.status]
			if len(events) != 1 || events[0].Reason != wantEvent || !strings.Contains(events[0].Message, tt.reason) ||
				strings.Contains(events[0].Message, tt.wantSecret) {
				t.Errorf("events %+v, want one %s naming %s", events, wantEvent, tt.reason)
			}
		})
	}
}

// TestAccountCheckedOncePerChange: an account is checked once when created and once per
// change of its spec, counted at the emulator, also with two controllers sharing the store;
// its status writes do not cause checks.
func TestAccountCheckedOncePerChange(t *testing.T) {
	h := start(t)
	h.runController(t, "second")
	h.waitChecked(t, "emulator", 30*time.Second)
	lists := func() int64 { _, all := h.env.Requests(t, http.MethodGet, listTypeSubscriptions); return all }
	// The harness's account is checked once.
	settle := func(want int64) {
		t.Helper()
		time.Sleep(time.Second) // 20 scans of each controller
		if n := lists(); n != want {
			t.Fatalf("%d GET /subscriptions at the emulator, want %d", n, want)
		}
	}
	settle(1)

	acct := h.env.CloudAccount(t, "counted")
	if err := h.st.Create(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	h.waitChecked(t, "counted", 30*time.Second)
	settle(2)

	// A change of the spec: checked again, once.
	for {
		a := h.getAccount(t, "counted")
		a.Spec.Azure.Endpoints.StorageSuffix = "changed.example"
		err := h.st.Update(context.Background(), a)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
	}
	if a := h.waitChecked(t, "counted", 30*time.Second); a.Metadata.Generation != 2 {
		t.Fatalf("generation %d after one change", a.Metadata.Generation)
	}
	settle(3)
}
