package azure

import (
	"container/heap"
	"context"
	"slices"
	"testing"
	"time"
)

func TestWaitQueueOrder(t *testing.T) {
	tests := []struct {
		name string
		// waiters are (priority, arrival) in the order pushed.
		waiters [][2]int
		// want are the arrivals in the order served.
		want []int
	}{
		{"first come among equals", [][2]int{{0, 0}, {0, 1}, {0, 2}}, []int{0, 1, 2}},
		{"highest priority first", [][2]int{{1, 0}, {3, 1}, {2, 2}}, []int{1, 2, 0}},
		{"equal priorities keep their order", [][2]int{{2, 0}, {5, 1}, {2, 2}, {5, 3}}, []int{1, 3, 0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q waitQueue
			for _, w := range tt.waiters {
				heap.Push(&q, &waiter{priority: time.Duration(w[0]), arrival: uint64(w[1])})
			}
			var got []int
			for q.Len() > 0 {
				w := heap.Pop(&q).(*waiter)
				if w.index != -1 {
					t.Errorf("a served waiter keeps index %d", w.index)
				}
				got = append(got, int(w.arrival))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("served %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBucketServesPriorityFirst empties a bucket refilling a token every 500 ms, queues a
// request with no priority, one of low and one of high priority, and checks that once tokens
// are handed out the high one is answered first, then the low one, then the one with none; a
// request cancelled while it waits leaves the queue.
func TestBucketServesPriorityFirst(t *testing.T) {
	b := newBucket(2, 1)
	if err := b.take(context.Background()); err != nil {
		t.Fatal(err)
	}
	// No token is handed out until every request waits: the test starts the serving itself.
	b.mu.Lock()
	b.serving = true
	b.mu.Unlock()
	cancelled, cancel := context.WithCancel(context.Background())
	done := make(chan string, 4)
	queued := func(n int) { // waits until n requests wait
		for start := time.Now(); time.Since(start) < 5*time.Second; {
			b.mu.Lock()
			l := b.queue.Len()
			b.mu.Unlock()
			if l == n {
				return
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("%d requests never waited together", n)
	}
	queue := func(name string, ctx context.Context, waiting int) {
		go func() {
			if err := b.take(ctx); err == nil {
				done <- name
			}
		}()
		queued(waiting)
	}
	bg := context.Background()
	queue("none", bg, 1)
	queue("cancelled", WithPriority(cancelled, time.Hour), 2)
	cancel()
	queued(1)
	queue("low", WithPriority(bg, time.Second), 2)
	queue("high", WithPriority(bg, time.Minute), 3)
	go b.serve()
	var got []string
	for range 3 {
		got = append(got, <-done)
	}
	if want := []string{"high", "low", "none"}; !slices.Equal(got, want) {
		t.Errorf("answered %v, want %v", got, want)
	}
}
