package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/strata-dev/strata/internal/atomicfile"
)

// Files that keep, in quickstart's data directory, the addresses it serves on, so that every
// run serves on the same ones: the emulator's (the emulated Azure stores URLs with it: storage
// accounts' blob endpoints, the cloud account's endpoints) and the agent endpoint's (the
// clusters' agents keep it in their Secret).
const (
	emulatorAddressFile = "emulator.address"
	agentAddressFile    = "agent.address"
)

// readKeptAddress returns the address kept in path, or "" when none is kept yet.
func readKeptAddress(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the kept address %s: %w", path, err)
	}
	addr := strings.TrimSpace(string(data))
	host, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || host == "" || n < 1 || n > 65535 {
		return "", fmt.Errorf("%s: %q is not the host:port address quickstart keeps there; delete the file to choose a new port (what was stored with the old address then points nowhere)", path, addr)
	}
	return addr, nil
}

// emulatorListenError explains that the kept address cannot be listened on.
func emulatorListenError(addr, path string, err error) error {
	_, port, _ := net.SplitHostPort(addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("the emulator's port %s is in use: quickstart keeps its emulator on %s (in %s) so that the endpoints stored in the emulated Azure stay valid; stop what listens there (another quickstart on this data directory?) or use another --data-dir", port, addr, path)
	}
	return fmt.Errorf("the emulator cannot listen on %s, kept in %s: %w", addr, path, err)
}

// keepAddress writes addr to path, once: an existing file is left as it is.
func keepAddress(path, addr string) error {
	if err := atomicfile.Create(path, []byte(addr+"\n"), 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("keep the address in %s: %w", path, err)
	}
	return nil
}

// emulatorAddressPath is the file that keeps the emulator's address of a data directory.
func emulatorAddressPath(dataDir string) string {
	return filepath.Join(dataDir, emulatorAddressFile)
}
