package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{0, 0, 0},
		{0, 0.5, time.Millisecond},
		{1, 0.5, 2 * time.Millisecond},
		{3, 0.999, time.Duration(0.999 * float64(16*time.Millisecond))},
		{7, 0.5, 125 * time.Millisecond}, // 256 ms capped at 250
		{40, 1, retryMaxWait},            // no overflow of the shift
	}
	for _, tc := range tests {
		if got := retryDelay(tc.n, tc.r); got != tc.want {
			t.Errorf("retryDelay(%d, %v) = %v, want %v", tc.n, tc.r, got, tc.want)
		}
	}
}

func TestRetryWrites(t *testing.T) {
	calls := 0
	err := retryWrites(t.Context(), retryBudget, func() error {
		calls++
		if calls < 5 {
			return errRetry
		}
		return nil
	})
	if err != nil || calls != 5 {
		t.Errorf("retryWrites = %v after %d calls, want nil after 5", err, calls)
	}
	other := errors.New("refused")
	calls = 0
	if err := retryWrites(t.Context(), retryBudget, func() error { calls++; return other }); err != other || calls != 1 {
		t.Errorf("retryWrites = %v after %d calls, want the attempt's own error at once", err, calls)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := retryWrites(ctx, retryBudget, func() error { return errRetry }); !errors.Is(err, context.Canceled) {
		t.Errorf("retryWrites with an ended context = %v, want context.Canceled", err)
	}
	// An object that keeps changing: the attempts stop when the budget is spent.
	calls = 0
	if err := retryWrites(t.Context(), 200*time.Millisecond, func() error { calls++; return errRetry }); !errors.Is(err, errRetry) || calls < 2 {
		t.Errorf("retryWrites that never lands = %v after %d calls, want errRetry after several", err, calls)
	}
}
