package azure

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// WithPriority returns a context whose ARM requests, when they wait for the subscription's
// budget, go before those of lower priority: the work left after the request's resource on
// its cluster's critical path, so that the resources most work waits on are not held up
// behind those nothing waits on. Requests without one have priority 0; equal priorities go
// in the order they came.
func WithPriority(ctx context.Context, priority time.Duration) context.Context {
	return context.WithValue(ctx, priorityKey{}, priority)
}

type priorityKey struct{}

// priorityOf is the priority WithPriority put in ctx, 0 when none.
func priorityOf(ctx context.Context) time.Duration {
	p, _ := ctx.Value(priorityKey{}).(time.Duration)
	return p
}

// bucket is a token bucket: rate tokens a second, at most burst kept. A request that finds it
// empty waits in a queue served highest priority first (then first come), a token at a time
// as the bucket refills. inFlight counts the requests that took a token and have not been
// answered yet.
type bucket struct {
	mu       sync.Mutex
	rate     float64
	burst    float64
	tokens   float64
	last     time.Time
	inFlight int
	queue    waitQueue
	arrivals uint64
	serving  bool // a goroutine hands out tokens to the queue
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// done records the answer to a request that took a token, and returns how many are still
// waiting for theirs.
func (b *bucket) done() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight--
	return b.inFlight
}

// refill adds the tokens earned since the last change; b.mu is held.
func (b *bucket) refill() {
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// atMost lowers the tokens to n when there are more (a negative n makes the next callers wait
// until the bucket has refilled to zero).
func (b *bucket) atMost(n float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.tokens = min(b.tokens, n)
}

// take takes a token, waiting in the queue for one when the bucket is empty or others wait
// already, and counts the request in flight until done.
func (b *bucket) take(ctx context.Context) error {
	b.mu.Lock()
	b.refill()
	if b.queue.Len() == 0 && b.tokens >= 1 {
		b.tokens--
		b.inFlight++
		b.mu.Unlock()
		return nil
	}
	w := &waiter{priority: priorityOf(ctx), arrival: b.arrivals, granted: make(chan struct{})}
	b.arrivals++
	heap.Push(&b.queue, w)
	if !b.serving {
		b.serving = true
		go b.serve()
	}
	b.mu.Unlock()
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.index >= 0 {
		heap.Remove(&b.queue, w.index)
	} else { // granted meanwhile: give back the token never used
		b.tokens++
		b.inFlight--
	}
	return ctx.Err()
}

// serve hands out a token to the first waiter of the queue each time the bucket holds one,
// until the queue is empty.
func (b *bucket) serve() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.queue.Len() > 0 {
		b.refill()
		if b.tokens >= 1 {
			w := heap.Pop(&b.queue).(*waiter)
			b.tokens--
			b.inFlight++
			close(w.granted)
			continue
		}
		wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		b.mu.Unlock()
		time.Sleep(wait)
		b.mu.Lock()
	}
	b.serving = false
}

// waiter is a request waiting for a token.
type waiter struct {
	priority time.Duration
	arrival  uint64
	granted  chan struct{} // closed when it has its token
	index    int           // in the queue; -1 once out of it
}

// waitQueue is a heap of waiters: highest priority, then earliest arrival, first.
type waitQueue []*waiter

func (q waitQueue) Len() int { return len(q) }
func (q waitQueue) Less(i, j int) bool {
	if q[i].priority != q[j].priority {
		return q[i].priority > q[j].priority
	}
	return q[i].arrival < q[j].arrival
}
func (q waitQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *waitQueue) Push(x any) {
	w := x.(*waiter)
	w.index = len(*q)
	*q = append(*q, w)
}
func (q *waitQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*q = old[:len(old)-1]
	return w
}
