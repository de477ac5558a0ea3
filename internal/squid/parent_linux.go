package squid

import (
	"os"
	"syscall"
)

// dieWithParent makes the kernel kill squid when the thread that started it ends: with the
// starting goroutine locked to its thread until squid has ended (startLocked), that is when
// strata's process ends, also by kill -9, which runs no stop. The kernel forgets that signal
// when a process changes its user, as squid started by root does to become user proxy: so root
// starts it as user proxy directly.
func dieWithParent() (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		return attr, nil
	}
	uid, gid, err := proxyUser()
	if err != nil {
		return nil, err
	}
	attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return attr, nil
}
