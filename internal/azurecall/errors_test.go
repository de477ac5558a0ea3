package azurecall

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

// refusedDial returns the error of a real dial to a port nobody listens on.
func refusedDial(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conn, err := net.Dial("tcp", addr)
	if err == nil {
		conn.Close()
		t.Skipf("%s accepted a connection after its listener closed", addr)
	}
	return err
}

// TestAzureErrorTransport checks the codes docs/server.md gives for lookups that get no answer
// from Azure: Timeout for a deadline, Unreachable for a network failure.
func TestAzureErrorTransport(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp",
		Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string // a part of the message
	}{
		{"deadline", context.DeadlineExceeded, "Timeout", "Azure did not answer within " + Timeout.String()},
		{"wrapped deadline", fmt.Errorf("list locations: %w",
			&url.Error{Op: "Get", URL: "https://management.azure.com/", Err: context.DeadlineExceeded}), "Timeout", "did not answer"},
		{"connection refused", fmt.Errorf("list locations: %w",
			&url.Error{Op: "Get", URL: "https://management.azure.com/", Err: refused}), "Unreachable", "connection refused"},
		{"real refused dial", refusedDial(t), "Unreachable", "refused"},
		{"other", errors.New("something else\nsecond line"), "LookupFailed", "something else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := Describe(tt.err)
			if code != tt.wantCode {
				t.Errorf("code %q, want %q (message %q)", code, tt.wantCode, msg)
			}
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message %q is not one line", msg)
			}
		})
	}
}
