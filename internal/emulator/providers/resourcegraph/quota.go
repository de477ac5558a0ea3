package resourcegraph

import (
	"fmt"
	"sync"
	"time"
)

// quota is Resource Graph's per-user throttling: each caller may send limit queries per
// window; the window starts with the caller's first query and the count restarts when it ends.
type quota struct {
	limit  int
	window time.Duration

	mu      sync.Mutex
	callers map[string]*quotaWindow
}

// quotaWindow is one caller's current window.
type quotaWindow struct {
	start time.Time
	used  int
}

func newQuota(limit int, window time.Duration) *quota {
	return &quota{limit: limit, window: window, callers: map[string]*quotaWindow{}}
}

// take counts a query of caller at now: it returns the queries left in the window, the time
// until the window resets, and false when the quota was already used up (the query is refused
// and not counted).
func (q *quota) take(caller string, now time.Time) (remaining int, resets time.Duration, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.callers[caller]
	if w == nil || !now.Before(w.start.Add(q.window)) {
		w = &quotaWindow{start: now}
		q.callers[caller] = w
		q.forgetEnded(now)
	}
	resets = w.start.Add(q.window).Sub(now)
	if w.used >= q.limit {
		return 0, resets, false
	}
	w.used++
	return q.limit - w.used, resets, true
}

// forgetEnded drops the windows that ended, so that the map does not grow with callers.
func (q *quota) forgetEnded(now time.Time) {
	for k, w := range q.callers {
		if !now.Before(w.start.Add(q.window)) {
			delete(q.callers, k)
		}
	}
}

// hhmmss formats a duration as Resource Graph's x-ms-user-quota-resets-after does, rounding
// up to the second: 00:00:05.
func hhmmss(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	s = max(s, 0)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}
