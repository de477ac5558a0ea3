//go:build !unix

package nodesim

import (
	"os"
	"syscall"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// sysProcAttr has nothing to set outside Unix.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills p: there are no process groups or SIGTERM outside Unix.
func signalGroup(p *os.Process, _ syscall.Signal) error {
	return p.Kill()
}

// exitCode is a process's exit code.
func exitCode(ps *os.ProcessState) int {
	return ps.ExitCode()
}
