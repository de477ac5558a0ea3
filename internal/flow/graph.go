// Package flow is a small engine for running a directed acyclic graph of
// tasks: each task starts as soon as every task it depends on has
// succeeded, independent tasks run in parallel, and a failure skips only the
// tasks that (transitively) depend on the failed one.
//
// The package does no I/O of its own; tasks do. A Graph is immutable once
// built and may be run any number of times, also concurrently.
package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned (wrapped) by New and NewReversed; match them with errors.Is.
var (
	// ErrDuplicateTask reports two tasks with the same ID.
	ErrDuplicateTask = errors.New("duplicate task")
	// ErrUnknownDependency reports a dependency on an ID no task has.
	ErrUnknownDependency = errors.New("unknown dependency")
	// ErrCycle reports a dependency cycle.
	ErrCycle = errors.New("dependency cycle")
	// ErrEmptyID reports a task without an ID.
	ErrEmptyID = errors.New("empty task ID")
)

// Task is one node of a Graph.
type Task struct {
	// ID names the task; it is unique within a graph.
	ID string
	// DependsOn lists the IDs of the tasks that must succeed before this
	// one starts. Repeated IDs are ignored.
	DependsOn []string
	// Timeout bounds one run of the task; zero means no limit beyond the
	// context given to Graph.Run.
	Timeout time.Duration
	// Run does the work. It gets a context derived from the one given to
	// Graph.Run, bounded by Timeout. A nil Run succeeds at once.
	Run func(ctx context.Context) error
}

// Graph is a validated, acyclic set of tasks. Build it with New or
// NewReversed.
type Graph struct {
	tasks []Task // declaration order; DependsOn deduplicated
	// dependants[i] are the positions of the tasks that depend on task i,
	// in declaration order.
	dependants [][]int
	// deps[i] are the positions of the tasks task i depends on.
	deps [][]int
}

// New validates tasks and builds a Graph from them. It fails, naming the
// tasks involved, on an empty or duplicate ID, a dependency on an unknown
// ID, and a dependency cycle (a task depending on itself included).
func New(tasks ...Task) (*Graph, error) {
	g := &Graph{
		tasks:      make([]Task, len(tasks)),
		dependants: make([][]int, len(tasks)),
		deps:       make([][]int, len(tasks)),
	}
	index := make(map[string]int, len(tasks)) // ID -> position in tasks
	for i, t := range tasks {
		if t.ID == "" {
			return nil, fmt.Errorf("flow: task #%d: %w", i, ErrEmptyID)
		}
		if _, dup := index[t.ID]; dup {
			return nil, fmt.Errorf("flow: task %q: %w", t.ID, ErrDuplicateTask)
		}
		index[t.ID] = i
		g.tasks[i] = t
	}
	for i, t := range tasks {
		seen := make(map[string]bool, len(t.DependsOn))
		var deps []string
		for _, d := range t.DependsOn {
			if seen[d] {
				continue
			}
			seen[d] = true
			j, ok := index[d]
			if !ok {
				return nil, fmt.Errorf("flow: task %q depends on %q: %w", t.ID, d, ErrUnknownDependency)
			}
			deps = append(deps, d)
			g.deps[i] = append(g.deps[i], j)
			g.dependants[j] = append(g.dependants[j], i)
		}
		g.tasks[i].DependsOn = deps
	}
	if cycle := g.findCycle(); cycle != nil {
		return nil, fmt.Errorf("flow: %w: %s", ErrCycle, strings.Join(cycle, " -> "))
	}
	return g, nil
}

// NewReversed builds a Graph from tasks with every dependency flipped: if B
// depends on A in tasks, A depends on B in the result. It is meant for
// deletion, which runs in the reverse order of creation: callers usually
// declare the creation dependencies once and pass tasks whose Run funcs
// delete instead of create. Validation errors name the dependencies as
// declared (not flipped).
func NewReversed(tasks ...Task) (*Graph, error) {
	g, err := New(tasks...)
	if err != nil {
		return nil, err
	}
	return g.Reverse(), nil
}

// Reverse returns a graph of the same tasks, Run funcs and timeouts
// included, with every edge flipped. Callers deleting what a graph created
// usually want different Run funcs: build that graph with NewReversed.
func (g *Graph) Reverse() *Graph {
	r := &Graph{
		tasks:      make([]Task, len(g.tasks)),
		dependants: make([][]int, len(g.tasks)),
		deps:       make([][]int, len(g.tasks)),
	}
	for i, t := range g.tasks {
		t.DependsOn = nil
		for _, j := range g.dependants[i] {
			t.DependsOn = append(t.DependsOn, g.tasks[j].ID)
		}
		r.tasks[i] = t
		r.deps[i] = append([]int(nil), g.dependants[i]...)
		r.dependants[i] = append([]int(nil), g.deps[i]...)
	}
	return r
}

// Len is the number of tasks.
func (g *Graph) Len() int { return len(g.tasks) }

// Tasks returns a copy of the tasks in declaration order, with DependsOn
// deduplicated (and flipped, for a reversed graph).
func (g *Graph) Tasks() []Task {
	out := make([]Task, len(g.tasks))
	for i, t := range g.tasks {
		t.DependsOn = append([]string(nil), t.DependsOn...)
		out[i] = t
	}
	return out
}

// findCycle returns the IDs along one cycle, first ID repeated at the end,
// or nil when the graph is acyclic.
func (g *Graph) findCycle() []string {
	const (
		white = iota // not visited
		grey         // on the current DFS path
		black        // done
	)
	color := make([]int, len(g.tasks))
	var path []int
	var cycle []string
	var visit func(i int) bool
	visit = func(i int) bool {
		color[i] = grey
		path = append(path, i)
		for _, j := range g.deps[i] {
			switch color[j] {
			case grey:
				start := len(path) - 1
				for path[start] != j {
					start--
				}
				for _, k := range path[start:] {
					cycle = append(cycle, g.tasks[k].ID)
				}
				cycle = append(cycle, g.tasks[j].ID)
				return true
			case white:
				if visit(j) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		color[i] = black
		return false
	}
	for i := range g.tasks {
		if color[i] == white && visit(i) {
			return cycle
		}
	}
	return nil
}

// topoOrder returns the task positions so that every task comes after its
// dependencies; among the tasks ready at once, declaration order wins.
func (g *Graph) topoOrder() []int {
	remaining := make([]int, len(g.tasks))
	var ready []int
	for i := range g.tasks {
		remaining[i] = len(g.deps[i])
		if remaining[i] == 0 {
			ready = append(ready, i)
		}
	}
	order := make([]int, 0, len(g.tasks))
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		order = append(order, i)
		for _, j := range g.dependants[i] {
			remaining[j]--
			if remaining[j] == 0 {
				ready = append(ready, j)
			}
		}
	}
	return order
}

// CriticalPath returns the longest path through the graph when each task
// costs cost(id), and the IDs along it from first to last. That total is a
// lower bound on the makespan of Run with unlimited parallelism. A nil cost
// counts every task as one nanosecond, giving the path with the most tasks.
// Ties go to the task declared first. An empty graph gives 0 and nil.
func (g *Graph) CriticalPath(cost func(id string) time.Duration) (time.Duration, []string) {
	if len(g.tasks) == 0 {
		return 0, nil
	}
	if cost == nil {
		cost = func(string) time.Duration { return 1 }
	}
	finish := make([]time.Duration, len(g.tasks)) // longest path ending at i
	prev := make([]int, len(g.tasks))
	for _, i := range g.topoOrder() {
		prev[i] = -1
		var best time.Duration
		for _, j := range g.deps[i] {
			if prev[i] == -1 || finish[j] > best || (finish[j] == best && j < prev[i]) {
				best, prev[i] = finish[j], j
			}
		}
		finish[i] = best + cost(g.tasks[i].ID)
	}
	end := 0
	for i := range g.tasks {
		if finish[i] > finish[end] {
			end = i
		}
	}
	var path []string
	for i := end; i != -1; i = prev[i] {
		path = append(path, g.tasks[i].ID)
	}
	for l, r := 0, len(path)-1; l < r; l, r = l+1, r-1 {
		path[l], path[r] = path[r], path[l]
	}
	return finish[end], path
}

// Tails returns, by task ID, the longest path from the start of each task to the end of the
// graph when each task costs cost(id): its own cost plus the longest tail among the tasks that
// depend on it. Running first the ready tasks with the longest tails (list scheduling by
// level) keeps the work that most depends on from waiting behind work nothing depends on.
func (g *Graph) Tails(cost func(id string) time.Duration) map[string]time.Duration {
	order := g.topoOrder()
	tail := make([]time.Duration, len(g.tasks))
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		var longest time.Duration
		for _, j := range g.dependants[i] {
			longest = max(longest, tail[j])
		}
		tail[i] = cost(g.tasks[i].ID) + longest
	}
	out := make(map[string]time.Duration, len(g.tasks))
	for i, t := range g.tasks {
		out[t.ID] = tail[i]
	}
	return out
}
