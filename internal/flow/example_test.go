package flow_test

import (
	"context"
	"fmt"
	"time"

	"github.com/strata-dev/strata/internal/flow"
)

func Example() {
	step := func(name string) func(context.Context) error {
		return func(context.Context) error { fmt.Println("create", name); return nil }
	}
	tasks := []flow.Task{
		{ID: "resource-group", Run: step("resource group")},
		{ID: "vnet", DependsOn: []string{"resource-group"}, Run: step("vnet")},
		{ID: "vm", DependsOn: []string{"vnet"}, Timeout: 10 * time.Minute, Run: step("vm")},
	}
	g, err := flow.New(tasks...)
	if err != nil {
		panic(err)
	}
	res := g.Run(context.Background(), flow.Options{Parallelism: 4})
	fmt.Println("succeeded:", res.Succeeded, "error:", res.Err())

	cost := map[string]time.Duration{"resource-group": time.Second, "vnet": 5 * time.Second, "vm": time.Minute}
	total, path := g.CriticalPath(func(id string) time.Duration { return cost[id] })
	fmt.Println("critical path:", total, path)
	// Output:
	// create resource group
	// create vnet
	// create vm
	// succeeded: [resource-group vnet vm] error: <nil>
	// critical path: 1m6s [resource-group vnet vm]
}
