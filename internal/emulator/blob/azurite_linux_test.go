package blob

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes Azurite exit if the test binary dies without cleaning up.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
