package nodesim

import "syscall"

// sysProcAttr puts a Runner's process in its own process group, and has the kernel kill it
// when the emulator dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
