package blob

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// repoRoot finds the module root (the directory holding go.mod) above the working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

var azuriteListening = regexp.MustCompile(`listens on (http://127\.0\.0\.1:\d+)`)

// startAzurite runs the project's Azurite blob service (package.json devDependency) in memory
// on a free port with accounts, and returns its endpoint. It skips the test when Azurite is
// not installed, unless CI=true.
func startAzurite(t *testing.T, accounts []testAccount) string {
	t.Helper()
	bin := filepath.Join(repoRoot(t), "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Azurite is not installed at %s: run `npm ci` at the repository root", bin)
		}
		t.Skip("Azurite is not installed: run `npm ci` at the repository root")
	}
	ctx, cancel := context.WithCancel(context.Background())
	specs := make([]string, len(accounts))
	for i, a := range accounts {
		specs[i] = a.name + ":" + a.key
	}
	cmd := exec.CommandContext(ctx, bin, "--blobHost", "127.0.0.1", "--blobPort", "0",
		"--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry")
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+strings.Join(specs, ";"))
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	dieWithParent(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start Azurite: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})

	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if m := azuriteListening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		close(found)
	}()
	select {
	case ep, ok := <-found:
		if !ok {
			t.Fatalf("Azurite exited before listening: %s", stderr.String())
		}
		return ep
	case <-time.After(30 * time.Second):
		t.Fatalf("Azurite did not start within 30 s: %s", stderr.String())
	}
	return ""
}

// TestAzuriteConformance runs the blob suite against Azurite, the reference emulator.
func TestAzuriteConformance(t *testing.T) {
	accts := [2]testAccount{newTestAccount(t, "strataacct1"), newTestAccount(t, "strataacct2")}
	ep := startAzurite(t, accts[:])
	runBlobConformance(t, blobTarget{name: "azurite", endpoint: ep, accounts: accts,
		// Azurite answers AuthorizationFailure where Azure says AuthenticationFailed.
		authFailureCodes: []bloberror.Code{bloberror.AuthenticationFailed, bloberror.AuthorizationFailure}})
}
