//go:build !linux

package squid

import "syscall"

// dieWithParent is nil where the kernel offers no parent-death signal.
func dieWithParent() (*syscall.SysProcAttr, error) { return nil, nil }
