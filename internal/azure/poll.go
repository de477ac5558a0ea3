package azure

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// lro is a started or resumed long-running operation of any SDK poller type.
type lro interface {
	token() (string, error)
	// wait polls until the operation ends: first after sched.first, then after each answer's
	// Retry-After (freq when it has none).
	wait(ctx context.Context, sched pollSchedule, freq time.Duration) error
}

type pollerLRO[R any] struct{ p *runtime.Poller[R] }

func (p pollerLRO[R]) token() (string, error) {
	if p.p.Done() {
		return "", nil
	}
	return p.p.ResumeToken()
}

// wait is the SDK's PollUntilDone with fewer polls: the first waits until the operation
// could be done (sched), and a later one waits longer than Retry-After when the operation's
// percentComplete says it cannot be done sooner. strata never uses an operation's result, so
// when the last poll says the operation Succeeded, the SDK's final GET of the resource (a
// read from the subscription's budget) is not made; any other end goes through the SDK's
// Result, which turns a failed operation into its error.
func (p pollerLRO[R]) wait(ctx context.Context, sched pollSchedule, freq time.Duration) error {
	delay := sched.first
	var last *http.Response
	for !p.p.Done() {
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		resp, err := p.p.Poll(ctx)
		if err != nil {
			return err
		}
		last = resp
		delay = freq
		if d := retryAfter(resp); d > 0 {
			delay = d
		}
		if !sched.start.IsZero() {
			delay = max(delay, timeLeft(resp, time.Since(sched.start)))
		}
	}
	if operationSucceeded(last) {
		sched.finished()
		return nil
	}
	_, err := p.p.Result(ctx)
	if err == nil {
		sched.finished()
	}
	return err
}

// operationSucceeded reports whether a poll's answer is an operation status resource (the
// Azure-AsyncOperation kind) that says Succeeded.
func operationSucceeded(resp *http.Response) bool {
	if resp == nil || resp.StatusCode != http.StatusOK {
		return false
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return false
	}
	var st struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(body, &st) == nil && strings.EqualFold(st.Status, "Succeeded")
}

// asLRO adapts a Begin… call's result.
func asLRO[R any](p *runtime.Poller[R], err error) (lro, error) {
	if err != nil {
		return nil, err
	}
	return pollerLRO[R]{p}, nil
}

// errNoResume answers a resume token given to a synchronous operation: the token is dropped
// and the operation runs afresh.
var errNoResume = errors.New("synchronous operation: nothing to resume")

// doneLRO is a synchronous write that already completed.
type doneLRO struct{}

func (doneLRO) token() (string, error)                                  { return "", nil }
func (doneLRO) wait(context.Context, pollSchedule, time.Duration) error { return nil }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryAfter reads the delay an answer asks for, as azcore does: Retry-After-Ms, then
// x-ms-retry-after-ms (milliseconds), then Retry-After (seconds or an HTTP date); 0 when none.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	for _, h := range []string{"Retry-After-Ms", "x-ms-retry-after-ms"} {
		if v, err := strconv.Atoi(resp.Header.Get(h)); err == nil && v > 0 {
			return time.Duration(v) * time.Millisecond
		}
	}
	v := resp.Header.Get("Retry-After")
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// timeLeft estimates the least time an operation that has run for elapsed still needs, from
// the percentComplete of its status (Azure-AsyncOperation answers carry one), assuming it goes
// on at the same pace; 0 when the answer tells nothing.
func timeLeft(resp *http.Response, elapsed time.Duration) time.Duration {
	if resp == nil || elapsed <= 0 {
		return 0
	}
	body, err := runtime.Payload(resp)
	if err != nil || len(body) == 0 {
		return 0
	}
	var st struct {
		PercentComplete *float64 `json:"percentComplete"`
	}
	if json.Unmarshal(body, &st) != nil || st.PercentComplete == nil {
		return 0
	}
	// The percentage may be rounded down: the progress is taken as the highest it can be
	// (pct+1), so that the estimate is the least time left and the poll never comes late.
	pct := *st.PercentComplete + 1
	if *st.PercentComplete < 0 || pct >= 100 {
		return 0
	}
	return time.Duration(float64(elapsed) * (100 - pct) / pct)
}

// Azure answers a long-running operation's first polls with "in progress" for most of its
// duration, and each poll is a read from the subscription's budget (the fleet's scarcest
// resource). opDurations learns how long each kind of operation takes, so that its first poll
// waits until the quickest of the recent ones would have ended; later polls follow Azure's
// Retry-After, or wait longer when percentComplete says so (timeLeft). Waiting longer than
// Retry-After is always allowed.
type opDurations struct {
	mu      sync.Mutex
	samples map[string][]time.Duration // by kind of operation ("VirtualMachine create")
}

// durationSamples is how many recent durations of one kind of operation are kept.
const durationSamples = 16

// earlyFactor brings the first poll a little before the quickest recent duration, so that the
// schedule follows operations that get quicker.
const earlyFactor = 0.9

// pollSchedule is the plan of one operation's polls. The zero schedule polls at once and
// learns nothing.
type pollSchedule struct {
	first time.Duration // wait before the first poll
	start time.Time     // when the operation started; zero when unknown (resumed)
	kind  string
	learn *opDurations // where the operation's duration goes once it succeeded
}

// schedule returns the poll schedule of an operation of that kind started at start. A
// resumed operation (started by an earlier attempt, when is unknown) is polled at once and
// teaches nothing.
func (d *opDurations) schedule(kind string, start time.Time, resumed bool) pollSchedule {
	if resumed {
		return pollSchedule{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var first time.Duration
	if s := d.samples[kind]; len(s) > 0 {
		first = time.Duration(float64(slices.Min(s)) * earlyFactor)
	}
	return pollSchedule{first: first, start: start, kind: kind, learn: d}
}

// finished records the duration of the schedule's operation, which succeeded.
func (s pollSchedule) finished() {
	if s.learn != nil && !s.start.IsZero() {
		s.learn.record(s.kind, time.Since(s.start))
	}
}

// typical is the median of the recent durations of a kind of operation, 0 when none is known.
func (d *opDurations) typical(kind string) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := slices.Sorted(slices.Values(d.samples[kind]))
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// record keeps one more duration of a kind, forgetting the oldest beyond durationSamples.
func (d *opDurations) record(kind string, took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.samples == nil {
		d.samples = map[string][]time.Duration{}
	}
	s := append(d.samples[kind], took)
	if len(s) > durationSamples {
		s = s[len(s)-durationSamples:]
	}
	d.samples[kind] = s
}
