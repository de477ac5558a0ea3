package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// goRunPoll is how often a process started by `go run` checks that the go command still runs.
const goRunPoll = 250 * time.Millisecond

// stopWithGoRun calls stop once the go command that ran this process with `go run` is gone.
// go run does not pass signals on to the program it runs: Ctrl-C reaches both through the
// terminal's process group, but a go run killed alone (SIGTERM, SIGHUP, SIGKILL to its PID, as
// tools that stop "the process they started" do) would leave the program serving and holding
// its ports. A process not started by go run is left alone: its parent may well exit first
// (nohup, a shell's background job).
func stopWithGoRun(ctx context.Context, stop func()) {
	exe, err := os.Executable()
	if err != nil || !builtByGoRun(exe, os.Getenv("GOCACHE"), userCacheDir()) {
		return
	}
	parent := os.Getppid()
	go func() {
		t := time.NewTicker(goRunPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != parent {
					stop()
					return
				}
			}
		}
	}()
}

// builtByGoRun reports whether exe is a binary the go command built to run: one in its build
// cache (gocache, or cacheDir/go-build by default), where go run keeps what it runs, or in a
// go-build* work directory, where older go commands put it.
func builtByGoRun(exe, gocache, cacheDir string) bool {
	if gocache == "" && cacheDir != "" {
		gocache = filepath.Join(cacheDir, "go-build")
	}
	if gocache != "" {
		if rel, err := filepath.Rel(gocache, exe); err == nil && !strings.HasPrefix(rel, "..") {
			return true
		}
	}
	for _, part := range strings.Split(filepath.ToSlash(filepath.Dir(exe)), "/") {
		if n, ok := strings.CutPrefix(part, "go-build"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return true
		}
	}
	return false
}

// userCacheDir is the user's cache directory, or "" when it is not known.
func userCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return d
}
