package flow

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// State is where a task stands in a run.
type State int

// The states a Progress event reports.
const (
	// Started: the task's Run was called.
	Started State = iota + 1
	// Succeeded: Run returned nil.
	Succeeded
	// Failed: Run returned an error or panicked.
	Failed
	// Skipped: the task never ran, because a task it depends on failed or
	// was skipped, or because the run's context ended first.
	Skipped
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Started:
		return "Started"
	case Succeeded:
		return "Succeeded"
	case Failed:
		return "Failed"
	case Skipped:
		return "Skipped"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ErrDependencyFailed is the reason (wrapped) given in the Skipped event of
// a task skipped because a task it depends on failed.
var ErrDependencyFailed = errors.New("dependency failed")

// Options tune Graph.Run.
type Options struct {
	// Parallelism caps how many tasks run at once; zero means no cap.
	Parallelism int
	// Progress, if set, is called for every state change. Calls never
	// overlap, so it needs no locking of its own, but it should be quick:
	// no task starts while it runs.
	Progress func(Event)
}

// Event reports one task changing state.
type Event struct {
	// Task is the task's ID.
	Task string
	// State is the task's new state.
	State State
	// Err is the task's error when Failed, and the reason when Skipped
	// (wrapping ErrDependencyFailed, or the run context's error).
	Err error
	// Done counts the tasks that have finished (succeeded, failed or been
	// skipped), this one included; Total is the number of tasks.
	Done, Total int
}

// Result is the outcome of Graph.Run. Each task is in exactly one of
// Succeeded, Failed and Skipped; every list is in declaration order.
type Result struct {
	Succeeded []string
	Failed    []string
	Skipped   []string
	// Errors holds the error of every failed task.
	Errors map[string]error

	canceled error // the run context's error, if it skipped tasks
}

// Err joins the errors of the failed tasks, each wrapped with its task ID,
// and the run context's error when cancellation skipped tasks. It is nil
// when every task succeeded.
func (r *Result) Err() error {
	errs := make([]error, 0, len(r.Failed)+1)
	for _, id := range r.Failed {
		errs = append(errs, fmt.Errorf("task %q: %w", id, r.Errors[id]))
	}
	if r.canceled != nil {
		errs = append(errs, fmt.Errorf("%d task(s) not started: %w", len(r.Skipped), r.canceled))
	}
	return errors.Join(errs...)
}

// PanicError is the error of a task whose Run panicked.
type PanicError struct {
	// Value is what Run panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

// Error describes the panic, without the stack.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

type outcome struct {
	task int
	err  error
}

// Run runs the graph's tasks and waits for every started task to return.
//
// A task starts once all of its dependencies succeeded, while fewer than
// opts.Parallelism tasks run (if set). A failed task skips exactly its
// transitive dependants; every other task still runs. Once ctx ends, no
// task starts: the tasks not yet started are Skipped and the running ones
// see their contexts end. A panic in a task is recovered as its error.
func (g *Graph) Run(ctx context.Context, opts Options) *Result {
	n := len(g.tasks)
	state := make([]State, n) // 0 = not started yet
	remaining := make([]int, n)
	var ready []int
	for i := range g.tasks {
		remaining[i] = len(g.deps[i])
		if remaining[i] == 0 {
			ready = append(ready, i)
		}
	}
	done := 0
	emit := func(i int, s State, err error) {
		if s != Started {
			done++
		}
		if opts.Progress != nil {
			opts.Progress(Event{Task: g.tasks[i].ID, State: s, Err: err, Done: done, Total: n})
		}
	}
	errs := make(map[string]error)
	outcomes := make(chan outcome)
	running := 0
	var canceled error

	// skipDependants marks every transitive dependant of task i Skipped.
	skipDependants := func(i int) {
		queue := append([]int(nil), g.dependants[i]...)
		for len(queue) > 0 {
			j := queue[0]
			queue = queue[1:]
			if state[j] != 0 {
				continue
			}
			state[j] = Skipped
			emit(j, Skipped, fmt.Errorf("%w: %q", ErrDependencyFailed, g.tasks[i].ID))
			queue = append(queue, g.dependants[j]...)
		}
	}

	for {
		if canceled == nil && ctx.Err() != nil {
			canceled = ctx.Err()
		}
		for canceled == nil && len(ready) > 0 && (opts.Parallelism <= 0 || running < opts.Parallelism) {
			i := ready[0]
			ready = ready[1:]
			state[i] = Started
			running++
			emit(i, Started, nil)
			go func() { outcomes <- outcome{i, g.runTask(ctx, i)} }()
		}
		if running == 0 {
			break
		}
		var o outcome
		if canceled == nil {
			select {
			case o = <-outcomes:
			case <-ctx.Done():
				continue
			}
		} else {
			o = <-outcomes
		}
		running--
		if o.err != nil {
			state[o.task] = Failed
			errs[g.tasks[o.task].ID] = o.err
			emit(o.task, Failed, o.err)
			skipDependants(o.task)
			continue
		}
		state[o.task] = Succeeded
		emit(o.task, Succeeded, nil)
		for _, j := range g.dependants[o.task] {
			remaining[j]--
			if remaining[j] == 0 && state[j] == 0 {
				ready = append(ready, j)
			}
		}
	}

	res := &Result{Errors: errs}
	for i, t := range g.tasks {
		if state[i] == 0 {
			state[i] = Skipped
			emit(i, Skipped, canceled)
			res.canceled = canceled
		}
		switch state[i] {
		case Succeeded:
			res.Succeeded = append(res.Succeeded, t.ID)
		case Failed:
			res.Failed = append(res.Failed, t.ID)
		case Skipped:
			res.Skipped = append(res.Skipped, t.ID)
		}
	}
	return res
}

// runTask runs task i under its timeout, turning a panic into an error.
func (g *Graph) runTask(ctx context.Context, i int) (err error) {
	t := g.tasks[i]
	if t.Run == nil {
		return nil
	}
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return t.Run(ctx)
}
