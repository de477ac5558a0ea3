package emulator

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/strata-dev/strata/internal/datadir"
)

// Secrets the emulator keeps in its state directory, each created once with mode 0600
// (atomicfile.LoadOrCreate).
const (
	// signingKeyFile is the RSA key that signs Entra ID tokens (PEM, PKCS #8).
	signingKeyFile = "token-signing-key.pem"
	// adminTokenFile is the bearer token of the admin endpoints.
	adminTokenFile = "admin-token"
)

// privateStateFiles are the files of the state directory that hold keys or the emulated
// cloud (its storage keys and credentials); ca.pem, the CA certificate, is public. A key file
// found wider is narrowed here, before it is read (atomicfile.LoadOrCreate refuses a wide one).
var privateStateFiles = []string{caKeyFile, signingKeyFile, adminTokenFile, stateFile, "blob-state.json"}

// prepareStateDir makes the state directory 0700 and its private files 0600, whatever they
// were, and logs a warning for each mode it narrowed.
func prepareStateDir(dir string, log *slog.Logger) error {
	c, err := datadir.Prepare(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if c != nil {
		datadir.Warn(log, *c)
	}
	paths := make([]string, len(privateStateFiles))
	for i, name := range privateStateFiles {
		paths[i] = filepath.Join(dir, name)
	}
	changes, err := datadir.Restrict(paths...)
	datadir.Warn(log, changes...)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	return nil
}
