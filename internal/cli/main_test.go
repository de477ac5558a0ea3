package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-dev/strata/internal/cliconfig"
)

// TestMain keeps the tests away from the machine's own CLI configuration and environment: a
// context that a quickstart left would otherwise be the server of every command.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "strata-cli-test")
	if err != nil {
		panic(err)
	}
	os.Setenv(cliconfig.PathEnv, filepath.Join(dir, "config.yaml"))
	os.Unsetenv(ServerEnv)
	os.Unsetenv(APIKeyEnv)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
