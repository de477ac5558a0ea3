// Command strata manages Kubernetes clusters on Azure from declarative YAML: `strata server`
// runs the API server, and the client verbs (apply, get, describe, delete, validate) talk to it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/strata-dev/strata/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := cli.NewRoot(cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	root.AddCommand(newServerCommand())
	root.AddCommand(newEmulatorCommand())
	root.AddCommand(newQuickstartCommand())
	root.AddCommand(newBenchCommand())
	code := cli.Execute(ctx, root, os.Args[1:])
	stop()
	os.Exit(code)
}
