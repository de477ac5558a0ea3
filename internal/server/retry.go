package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// A read-modify-write that meets a concurrent write (a PUT without resourceVersion, a DELETE)
// starts again after a random wait, so that writers racing for one object spread out instead of
// colliding again, until it lands or the budget is spent.
const (
	// retryBudget bounds how long one request keeps retrying.
	retryBudget = 15 * time.Second
	// retryBase is the longest first wait; each attempt doubles it, up to retryMaxWait.
	retryBase    = 2 * time.Millisecond
	retryMaxWait = 250 * time.Millisecond
)

// errRetry makes a read-modify-write start again after a concurrent write.
var errRetry = errors.New("concurrent write: retry")

// retryWrites runs attempt until it returns something other than errRetry. Between attempts it
// waits retryDelay; it returns errRetry when budget (retryBudget for a request) is spent, or
// ctx's error when ctx ends.
func retryWrites(ctx context.Context, budget time.Duration, attempt func() error) error {
	deadline := time.Now().Add(budget)
	for n := 0; ; n++ {
		err := attempt()
		if !errors.Is(err, errRetry) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := retryDelay(n, rand.Float64())
		if time.Now().Add(wait).After(deadline) {
			return errRetry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// retryDelay is the wait after the n-th failed attempt (from 0): "full jitter", a uniform share
// r in [0, 1) of retryBase doubled n times, capped at retryMaxWait.
func retryDelay(n int, r float64) time.Duration {
	ceiling := retryMaxWait
	if n < 30 {
		ceiling = min(retryBase<<n, retryMaxWait)
	}
	return time.Duration(r * float64(ceiling))
}
