package flow

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder records the start and finish of tasks, in order.
type recorder struct {
	mu     sync.Mutex
	events []string // "start:a", "end:a"
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// task returns a task that records its start and end and returns err.
func (r *recorder) task(id string, err error, deps ...string) Task {
	return Task{ID: id, DependsOn: deps, Run: func(context.Context) error {
		r.add("start:" + id)
		r.add("end:" + id)
		return err
	}}
}

func mustNew(t *testing.T, tasks ...Task) *Graph {
	t.Helper()
	g, err := New(tasks...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		tasks []Task
		want  error
		names []string // must all appear in the message
	}{
		{"duplicate", []Task{{ID: "a"}, {ID: "b"}, {ID: "a"}}, ErrDuplicateTask, []string{`"a"`}},
		{"unknown dependency", []Task{{ID: "a"}, {ID: "b", DependsOn: []string{"a", "zz"}}}, ErrUnknownDependency, []string{`"b"`, `"zz"`}},
		{"self cycle", []Task{{ID: "a", DependsOn: []string{"a"}}}, ErrCycle, []string{"a -> a"}},
		{"cycle", []Task{
			{ID: "root"},
			{ID: "x", DependsOn: []string{"root", "z"}},
			{ID: "y", DependsOn: []string{"x"}},
			{ID: "z", DependsOn: []string{"y"}},
		}, ErrCycle, []string{"x", "y", "z"}},
		{"empty ID", []Task{{ID: ""}}, ErrEmptyID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.tasks...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, %v; want %v", g, err, tt.want)
			}
			for _, s := range tt.names {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
			if _, err := NewReversed(tt.tasks...); !errors.Is(err, tt.want) {
				t.Errorf("NewReversed = %v; want %v", err, tt.want)
			}
		})
	}
	if strings.Contains(fmt.Sprint(New(tests[3].tasks...)), "root") {
		t.Error("cycle error names a task outside the cycle")
	}
}

func TestOrderRespectsDependencies(t *testing.T) {
	tests := []struct {
		name  string
		tasks func(r *recorder) []Task
	}{
		{"chain", func(r *recorder) []Task {
			return []Task{r.task("c", nil, "b"), r.task("b", nil, "a"), r.task("a", nil)}
		}},
		{"diamond", func(r *recorder) []Task {
			return []Task{r.task("a", nil), r.task("b", nil, "a"), r.task("c", nil, "a"), r.task("d", nil, "b", "c")}
		}},
		{"wide", func(r *recorder) []Task {
			return []Task{
				r.task("rg", nil), r.task("vnet", nil, "rg"), r.task("subnet", nil, "vnet"),
				r.task("sa", nil, "rg"), r.task("container", nil, "sa"),
				r.task("vm", nil, "subnet", "container", "rg"),
			}
		}},
	}
	for _, tt := range tests {
		for _, par := range []int{0, 1, 2} {
			t.Run(fmt.Sprintf("%s/parallelism=%d", tt.name, par), func(t *testing.T) {
				r := &recorder{}
				tasks := tt.tasks(r)
				res := mustNew(t, tasks...).Run(context.Background(), Options{Parallelism: par})
				if err := res.Err(); err != nil {
					t.Fatal(err)
				}
				if len(res.Succeeded) != len(tasks) {
					t.Fatalf("succeeded %v, want all %d", res.Succeeded, len(tasks))
				}
				ev := r.snapshot()
				for _, task := range tasks {
					start := slices.Index(ev, "start:"+task.ID)
					for _, d := range task.DependsOn {
						if end := slices.Index(ev, "end:"+d); end < 0 || end > start {
							t.Errorf("%s started (event %d) before %s ended (event %d): %v", task.ID, start, d, end, ev)
						}
					}
				}
			})
		}
	}
}

// barrier returns Run funcs that each return only once all n have started,
// so the run completes only if the n tasks overlap.
func barrier(n int) func(context.Context) error {
	var wg sync.WaitGroup
	wg.Add(n)
	return func(ctx context.Context) error {
		wg.Done()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func TestIndependentTasksOverlap(t *testing.T) {
	for _, par := range []int{0, 3} {
		t.Run(fmt.Sprintf("parallelism=%d", par), func(t *testing.T) {
			run := barrier(3)
			g := mustNew(t,
				Task{ID: "root"},
				Task{ID: "a", DependsOn: []string{"root"}, Run: run},
				Task{ID: "b", DependsOn: []string{"root"}, Run: run},
				Task{ID: "c", Run: run},
			)
			// The timeout only bounds a broken engine; it asserts nothing.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := g.Run(ctx, Options{Parallelism: par}).Err(); err != nil {
				t.Fatalf("tasks did not overlap: %v", err)
			}
		})
	}
}

func TestParallelismLimit(t *testing.T) {
	for _, par := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", par), func(t *testing.T) {
			var mu sync.Mutex
			running, peak := 0, 0
			var tasks []Task
			for i := range 8 {
				tasks = append(tasks, Task{ID: fmt.Sprint(i), Run: func(context.Context) error {
					mu.Lock()
					running++
					peak = max(peak, running)
					mu.Unlock()
					time.Sleep(time.Millisecond) // widen the window for an overlap
					mu.Lock()
					running--
					mu.Unlock()
					return nil
				}})
			}
			res := mustNew(t, tasks...).Run(context.Background(), Options{Parallelism: par})
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			if peak > par {
				t.Errorf("%d tasks ran at once, parallelism %d", peak, par)
			}
		})
	}
}

func TestFailureSkipsOnlyDependants(t *testing.T) {
	boom := errors.New("boom")
	r := &recorder{}
	g := mustNew(t,
		r.task("a", nil),
		r.task("b", boom, "a"),
		r.task("c", nil, "b"),
		r.task("d", nil, "c"),
		r.task("e", nil, "a", "d"),
		r.task("f", nil, "a"),
		r.task("g", nil),
		r.task("h", nil, "f", "g"),
	)
	res := g.Run(context.Background(), Options{})
	if want := []string{"a", "f", "g", "h"}; !slices.Equal(res.Succeeded, want) {
		t.Errorf("Succeeded = %v, want %v", res.Succeeded, want)
	}
	if want := []string{"b"}; !slices.Equal(res.Failed, want) {
		t.Errorf("Failed = %v, want %v", res.Failed, want)
	}
	if want := []string{"c", "d", "e"}; !slices.Equal(res.Skipped, want) {
		t.Errorf("Skipped = %v, want %v", res.Skipped, want)
	}
	for _, id := range res.Skipped {
		if slices.Contains(r.snapshot(), "start:"+id) {
			t.Errorf("skipped task %s ran", id)
		}
	}
	err := res.Err()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `task "b": boom`) {
		t.Errorf("Err() = %v, want boom wrapped with the task ID", err)
	}
	if !errors.Is(res.Errors["b"], boom) || len(res.Errors) != 1 {
		t.Errorf("Errors = %v", res.Errors)
	}
}

func TestTaskTimeout(t *testing.T) {
	blocked := func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
	g := mustNew(t,
		Task{ID: "slow", Timeout: time.Millisecond, Run: blocked},
		Task{ID: "after", DependsOn: []string{"slow"}},
		Task{ID: "other", Run: func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); ok {
				return errors.New("task without timeout got a deadline")
			}
			return nil
		}},
	)
	res := g.Run(context.Background(), Options{})
	if !errors.Is(res.Errors["slow"], context.DeadlineExceeded) {
		t.Errorf("slow: %v, want DeadlineExceeded", res.Errors["slow"])
	}
	if !slices.Equal(res.Skipped, []string{"after"}) || !slices.Equal(res.Succeeded, []string{"other"}) {
		t.Errorf("result %+v", res)
	}
}

func TestCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	g := mustNew(t,
		Task{ID: "first"},
		Task{ID: "blocker", DependsOn: []string{"first"}, Run: func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}},
		Task{ID: "next", DependsOn: []string{"blocker"}},
		Task{ID: "queued", DependsOn: []string{"first"}},
	)
	go func() {
		<-started
		cancel()
	}()
	// Parallelism 1 keeps "queued" waiting behind "blocker".
	res := g.Run(ctx, Options{Parallelism: 1})
	if !slices.Equal(res.Succeeded, []string{"first"}) ||
		!slices.Equal(res.Failed, []string{"blocker"}) ||
		!slices.Equal(res.Skipped, []string{"next", "queued"}) {
		t.Fatalf("result %+v", res)
	}
	if err := res.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() = %v, want Canceled", err)
	}

	// A context ended before Run starts nothing.
	res = g.Run(ctx, Options{})
	if len(res.Skipped) != g.Len() || !errors.Is(res.Err(), context.Canceled) {
		t.Errorf("run on a canceled context: %+v, %v", res, res.Err())
	}
}

func TestPanicRecovered(t *testing.T) {
	g := mustNew(t,
		Task{ID: "p", Run: func(context.Context) error { panic("kaboom") }},
		Task{ID: "q", Run: func(context.Context) error { panic(fmt.Errorf("wrapped: %w", context.Canceled)) }},
		Task{ID: "after", DependsOn: []string{"p"}},
		Task{ID: "fine"},
	)
	res := g.Run(context.Background(), Options{})
	var pe *PanicError
	if !errors.As(res.Errors["p"], &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 {
		t.Errorf("p: %#v", res.Errors["p"])
	}
	if !errors.Is(res.Errors["q"], context.Canceled) {
		t.Errorf("q: panic error does not unwrap: %v", res.Errors["q"])
	}
	if !slices.Equal(res.Succeeded, []string{"fine"}) || !slices.Equal(res.Skipped, []string{"after"}) {
		t.Errorf("result %+v", res)
	}
}

func TestProgress(t *testing.T) {
	boom := errors.New("boom")
	g := mustNew(t,
		Task{ID: "a"},
		Task{ID: "b", DependsOn: []string{"a"}, Run: func(context.Context) error { return boom }},
		Task{ID: "c", DependsOn: []string{"b"}},
		Task{ID: "d"},
		Task{ID: "e"},
	)
	var (
		mu     sync.Mutex
		inside bool
		events []Event
	)
	res := g.Run(context.Background(), Options{Progress: func(e Event) {
		mu.Lock()
		if inside {
			t.Error("Progress calls overlap")
		}
		inside = true
		mu.Unlock()
		events = append(events, e) // unsynchronised on purpose: -race checks serialisation
		mu.Lock()
		inside = false
		mu.Unlock()
	}})
	if res.Err() == nil {
		t.Fatal("want an error")
	}
	count := map[State]int{}
	lastDone := 0
	for _, e := range events {
		count[e.State]++
		if e.Total != 5 {
			t.Errorf("%+v: Total != 5", e)
		}
		if e.Done < lastDone {
			t.Errorf("Done went down: %+v", e)
		}
		lastDone = e.Done
		switch e.State {
		case Failed:
			if !errors.Is(e.Err, boom) {
				t.Errorf("%+v: want boom", e)
			}
		case Skipped:
			if e.Task != "c" || !errors.Is(e.Err, ErrDependencyFailed) || !strings.Contains(e.Err.Error(), `"b"`) {
				t.Errorf("unexpected skip %+v", e)
			}
		}
	}
	if want := map[State]int{Started: 4, Succeeded: 3, Failed: 1, Skipped: 1}; !maps.Equal(count, want) {
		t.Errorf("event counts %v, want %v", count, want)
	}
	if lastDone != 5 {
		t.Errorf("final Done = %d, want 5", lastDone)
	}
}

func TestCriticalPath(t *testing.T) {
	costs := map[string]time.Duration{"a": 1 * time.Second, "b": 5 * time.Second, "c": 2 * time.Second, "d": 1 * time.Second, "x": 6 * time.Second}
	cost := func(id string) time.Duration { return costs[id] }
	tests := []struct {
		name  string
		tasks []Task
		cost  func(string) time.Duration
		want  time.Duration
		path  []string
	}{
		{"empty", nil, cost, 0, nil},
		{"single", []Task{{ID: "x"}}, cost, 6 * time.Second, []string{"x"}},
		{"diamond", []Task{
			{ID: "a"}, {ID: "b", DependsOn: []string{"a"}}, {ID: "c", DependsOn: []string{"a"}}, {ID: "d", DependsOn: []string{"b", "c"}},
		}, cost, 7 * time.Second, []string{"a", "b", "d"}},
		{"diamond plus long independent task", []Task{
			{ID: "a"}, {ID: "b", DependsOn: []string{"a"}}, {ID: "c", DependsOn: []string{"a"}}, {ID: "d", DependsOn: []string{"b", "c"}}, {ID: "x"},
		}, cost, 7 * time.Second, []string{"a", "b", "d"}},
		{"nil cost counts tasks", []Task{
			{ID: "a"}, {ID: "b", DependsOn: []string{"a"}}, {ID: "x"}, {ID: "d", DependsOn: []string{"b"}},
		}, nil, 3, []string{"a", "b", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, path := mustNew(t, tt.tasks...).CriticalPath(tt.cost)
			if got != tt.want || !slices.Equal(path, tt.path) {
				t.Errorf("CriticalPath = %v %v, want %v %v", got, path, tt.want, tt.path)
			}
		})
	}
}

func TestTails(t *testing.T) {
	costs := map[string]time.Duration{"a": 1 * time.Second, "b": 5 * time.Second, "c": 2 * time.Second, "d": 1 * time.Second, "x": 6 * time.Second}
	cost := func(id string) time.Duration { return costs[id] }
	s := time.Second
	tests := []struct {
		name  string
		tasks []Task
		want  map[string]time.Duration
	}{
		{"empty", nil, map[string]time.Duration{}},
		{"single", []Task{{ID: "x"}}, map[string]time.Duration{"x": 6 * s}},
		{"chain", []Task{{ID: "a"}, {ID: "b", DependsOn: []string{"a"}}}, map[string]time.Duration{"a": 6 * s, "b": 5 * s}},
		{"diamond: the longer branch counts", []Task{
			{ID: "a"}, {ID: "b", DependsOn: []string{"a"}}, {ID: "c", DependsOn: []string{"a"}}, {ID: "d", DependsOn: []string{"b", "c"}},
		}, map[string]time.Duration{"a": 7 * s, "b": 6 * s, "c": 3 * s, "d": 1 * s}},
		{"independent task", []Task{{ID: "a"}, {ID: "d", DependsOn: []string{"a"}}, {ID: "x"}},
			map[string]time.Duration{"a": 2 * s, "d": 1 * s, "x": 6 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustNew(t, tt.tasks...).Tails(cost); !maps.Equal(got, tt.want) {
				t.Errorf("Tails = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReversed(t *testing.T) {
	r := &recorder{}
	tasks := []Task{
		r.task("rg", nil),
		r.task("vnet", nil, "rg"),
		r.task("subnet", nil, "vnet"),
		r.task("vm", nil, "subnet", "rg"),
	}
	rev, err := NewReversed(tasks...)
	if err != nil {
		t.Fatal(err)
	}
	if got := rev.Tasks()[0].DependsOn; !slices.Equal(got, []string{"vnet", "vm"}) {
		t.Errorf("rg depends on %v after reversal", got)
	}
	if res := rev.Run(context.Background(), Options{Parallelism: 1}); res.Err() != nil {
		t.Fatal(res.Err())
	}
	want := []string{"start:vm", "end:vm", "start:subnet", "end:subnet", "start:vnet", "end:vnet", "start:rg", "end:rg"}
	if got := r.snapshot(); !slices.Equal(got, want) {
		t.Errorf("reversed order %v, want %v", got, want)
	}

	// Reverse twice is the original graph.
	orig := mustNew(t, tasks...)
	for i, task := range orig.Reverse().Reverse().Tasks() {
		if task.ID != tasks[i].ID || !slices.Equal(task.DependsOn, tasks[i].DependsOn) {
			t.Errorf("Reverse().Reverse() task %d = %+v, want %+v", i, task, tasks[i])
		}
	}
	// The failure of a task skips what it depends on in the original.
	boom := errors.New("boom")
	res := mustNew(t,
		Task{ID: "rg"}, Task{ID: "vnet", DependsOn: []string{"rg"}, Run: func(context.Context) error { return boom }},
		Task{ID: "sa", DependsOn: []string{"rg"}},
	).Reverse().Run(context.Background(), Options{})
	if !slices.Equal(res.Skipped, []string{"rg"}) || !slices.Equal(res.Succeeded, []string{"sa"}) {
		t.Errorf("reversed failure: %+v", res)
	}
}
