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
	signalled, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks the command to stop gracefully. Before the command sees it, the
	// signals get their default action back: a second Ctrl-C ends the process at once instead of
	// being ignored while a shutdown waits (for requests in flight, say). The order matters: a
	// command that began its shutdown must never swallow the second signal.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-signalled.Done()
		stop()
		cancel()
	}()
	stopWithGoRun(ctx, stop)
	root := cli.NewRoot(cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	root.AddCommand(newServerCommand())
	root.AddCommand(newEmulatorCommand())
	root.AddCommand(newQuickstartCommand())
	root.AddCommand(newBenchCommand())
	root.AddCommand(newAgentCommand())
	wireGatewayCommand(root)
	code := cli.Execute(ctx, root, os.Args[1:])
	stop()
	cancel()
	os.Exit(code)
}
