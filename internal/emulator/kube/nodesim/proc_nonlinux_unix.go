//go:build unix && !linux

package nodesim

import "syscall"

// sysProcAttr puts a Runner's process in its own process group (there is no parent-death
// signal outside Linux).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
