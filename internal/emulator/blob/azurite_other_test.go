//go:build !linux

package blob

import "os/exec"

// dieWithParent is a no-op where the parent-death signal does not exist.
func dieWithParent(*exec.Cmd) {}
