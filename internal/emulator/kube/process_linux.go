package kube

import "syscall"

// processAttr puts a child in its own process group and kills it when the emulator dies,
// even by SIGKILL, so that no API server outlives it.
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
