package arm

import (
	"math"
	"time"
)

// ThrottleOptions configure Azure's request throttling: a token bucket per subscription,
// principal and class of operation (reads 250 refilled at 25/s, writes 200 at 10/s, deletes
// 200 at 10/s).
type ThrottleOptions struct {
	// Enabled turns throttling on; when off every answer still reports full buckets.
	Enabled bool `json:"enabled"`
	// Scale multiplies the bucket sizes and refill rates (0 means 1): 0.1 gives buckets of 25
	// reads refilled at 2.5/s.
	Scale float64 `json:"scale,omitempty"`
	// TimeScale compresses time as the latency scale does (0 means 1): refill rates are
	// divided by it, bucket sizes stay, and a 429 carries its exact wait as Retry-After-Ms
	// beside the whole seconds of Retry-After. 0.02 refills reads at 1,250/s.
	TimeScale float64 `json:"timeScale,omitempty"`
}

// Operation classes of throttling.
const (
	classReads   = "reads"
	classWrites  = "writes"
	classDeletes = "deletes"
)

var bucketSizes = map[string]struct{ size, rate float64 }{
	classReads:   {250, 25},
	classWrites:  {200, 10},
	classDeletes: {200, 10},
}

func classOf(method string) string {
	switch method {
	case "GET", "HEAD":
		return classReads
	case "DELETE":
		return classDeletes
	}
	return classWrites
}

type bucketKey struct{ sub, principal, class string }

type bucket struct {
	tokens float64
	at     time.Time
}

type throttler struct {
	opts    ThrottleOptions
	buckets map[bucketKey]*bucket
}

func newThrottler(opts ThrottleOptions) *throttler {
	return &throttler{opts: opts, buckets: map[bucketKey]*bucket{}}
}

func (t *throttler) limits(class string) (size, rate float64) {
	s := t.opts.Scale
	if s <= 0 {
		s = 1
	}
	l := bucketSizes[class]
	rate = l.rate * s
	if ts := t.opts.TimeScale; ts > 0 {
		rate /= ts
	}
	return math.Max(1, math.Round(l.size*s)), rate
}

// take removes one token; it returns the tokens left and, when the bucket was empty, how long
// until one is back.
func (t *throttler) take(now time.Time, k bucketKey) (remaining int, wait time.Duration) {
	size, rate := t.limits(k.class)
	if !t.opts.Enabled {
		return int(size) - 1, 0
	}
	b := t.buckets[k]
	if b == nil {
		b = &bucket{tokens: size, at: now}
		t.buckets[k] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(size, b.tokens+el*rate)
	}
	b.at = now
	if b.tokens < 1 {
		return 0, time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	return int(b.tokens), 0
}

func (t *throttler) reset() { t.buckets = map[bucketKey]*bucket{} }
