package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/uuid"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
)

// closedURL is an HTTPS URL on a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

// TestListSubscriptions signs in to the emulator and lists the subscriptions, and names the
// failures as Entra ID and Resource Manager do.
func TestListSubscriptions(t *testing.T) {
	env := emulatortest.Start(t)
	pit := emulatortest.StartTarPit(t)
	fast := Options{Timeouts: Timeouts{TLSHandshake: 200 * time.Millisecond}}
	tests := []struct {
		name       string
		change     func(*v1alpha1.CloudAccount)
		opts       Options
		wantReason string
		wantMsg    string
	}{
		{"valid", func(*v1alpha1.CloudAccount) {}, Options{}, "", ""},
		{"wrong secret", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.ClientSecret = v1alpha1.NewSecret("wrong-secret-value") },
			Options{}, "invalid_client", "AADSTS7000215"},
		{"unknown client", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.ClientID = uuid.NewString() },
			Options{}, "unauthorized_client", "AADSTS700016"},
		{"unknown tenant", func(a *v1alpha1.CloudAccount) { a.Spec.Azure.TenantID = uuid.NewString() },
			Options{}, "invalid_tenant", "AADSTS90002"},
		{"endpoint down", func(a *v1alpha1.CloudAccount) {
			a.Spec.Azure.Endpoints.ActiveDirectory, a.Spec.Azure.Endpoints.ResourceManager = closedURL(t), closedURL(t)
		}, Options{}, ReasonUnreachable, "refused"},
		{"endpoint never answers", func(a *v1alpha1.CloudAccount) {
			a.Spec.Azure.Endpoints.ActiveDirectory = pit.URL()
		}, fast, ReasonTimeout, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct := env.CloudAccount(t, "emulator")
			tt.change(acct)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			subs, err := ListSubscriptions(ctx, acct, tt.opts)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := env.Emulator.Subscriptions(); !slices.Equal(subs, want) {
					t.Errorf("subscriptions %v, want the emulator's %v", subs, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("listed %v, want a failure", subs)
			}
			reason, msg := Failure(err, "CheckFailed")
			if reason != tt.wantReason || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("reason %q, message %q; want %q containing %q (error %v)", reason, msg, tt.wantReason, tt.wantMsg, err)
			}
			if strings.Contains(msg, "wrong-secret-value") || strings.Contains(msg, env.ClientSecret) {
				t.Errorf("the message carries the secret: %q", msg)
			}
		})
	}
}

func TestFailure(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	req, _ := http.NewRequest(http.MethodGet, "https://management.azure.com/subscriptions?api-version=2022-12-01", nil)
	forbidden := runtime.NewResponseError(&http.Response{StatusCode: http.StatusForbidden, Request: req, Header: http.Header{},
		Body: io.NopCloser(strings.NewReader(`{"error":{"code":"AuthorizationFailed","message":"The client 'x' with object id 'y' does not have authorization to perform action."}}`))})
	tests := []struct {
		name, reason, msg string
		err               error
	}{
		{"refused by Resource Manager", "AuthorizationFailed", "does not have authorization", fmt.Errorf("list: %w", forbidden)},
		{"deadline", ReasonTimeout, "deadline", fmt.Errorf("list: %w", context.DeadlineExceeded)},
		{"refused", ReasonUnreachable, "connection refused", &url.Error{Op: "Get", URL: "https://x/", Err: refused}},
		{"other", "CheckFailed", "boom", errors.New("boom\nsecond line")},
		{"sign-in discovery refused", ReasonUnreachable, "connection refused", errors.New("ClientSecretCredential: unable to resolve an endpoint: server response error:\n Get \"https://127.0.0.1:1/t/v2.0/.well-known/openid-configuration\": dial tcp 127.0.0.1:1: connect: connection refused. To troubleshoot, visit https://aka.ms/x")},
		{"sign-in discovery hung", ReasonTimeout, "TLS handshake timeout", errors.New("ClientSecretCredential: unable to resolve an endpoint: server response error:\n Get \"https://127.0.0.1:1/\": net/http: TLS handshake timeout.")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, msg := Failure(tt.err, "CheckFailed")
			if reason != tt.reason || !strings.Contains(msg, tt.msg) || strings.Contains(msg, "\n") {
				t.Errorf("Failure = %q, %q; want %q containing %q on one line", reason, msg, tt.reason, tt.msg)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://management.azure.com/subscriptions", nil)
	respErr := func(status int) error {
		return runtime.NewResponseError(&http.Response{StatusCode: status, Request: req, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"error":{"code":"Code","message":"m"}}`))})
	}
	signIn := func(status int) error {
		return &azidentity.AuthenticationFailedError{RawResponse: &http.Response{StatusCode: status, Request: req}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"wrong secret", signIn(http.StatusUnauthorized), true},
		{"unknown tenant", signIn(http.StatusBadRequest), true},
		{"sign-in throttled", signIn(http.StatusTooManyRequests), false},
		{"sign-in failing", signIn(http.StatusServiceUnavailable), false},
		{"no role", respErr(http.StatusForbidden), true},
		{"ARM failing", respErr(http.StatusInternalServerError), false},
		{"ARM throttled", respErr(http.StatusTooManyRequests), false},
		{"unreachable", &url.Error{Op: "Get", URL: "https://x/", Err: errors.New("connection refused")}, false},
		{"deadline", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Refused(fmt.Errorf("check: %w", tt.err)); got != tt.want {
				t.Errorf("Refused = %v, want %v", got, tt.want)
			}
		})
	}
}
