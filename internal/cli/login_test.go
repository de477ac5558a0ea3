package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/internal/cliconfig"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/servertls"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// tlsAccessServer starts a strata server with access control over TLS (httptest's certificate)
// and returns its URL, the admin's key and the certificate's fingerprint.
func tlsAccessServer(t *testing.T) (url, adminKey, fingerprint string) {
	t.Helper()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	key, err := server.Bootstrap(ctx, st, "admin", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(server.New(server.Config{Store: st, AccessControl: true}).Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = st.Close()
	})
	return hs.URL, key, servertls.Fingerprint(hs.Certificate().Raw)
}

// withConfig points the CLI at a fresh configuration file for the test.
func withConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cfg", "config.yaml")
	t.Setenv(cliconfig.PathEnv, path)
	return path
}

func TestLogin(t *testing.T) {
	url, key, fp := tlsAccessServer(t)
	path := withConfig(t)

	steps := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		contains string
	}{
		{"untrusted certificate", key, []string{"login", url, "--api-key"}, 1, "its fingerprint is " + fp},
		{"wrong fingerprint", key, []string{"login", url, "--api-key", "--fingerprint", "SHA256:00"}, 1, "not SHA256:00"},
		{"no --api-key", key, []string{"login", url, "--fingerprint", fp}, 1, "--api-key or --user is required"},
		{"bad key", "strata_aaaaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", []string{"login", url, "--api-key", "--fingerprint", fp}, 1, "Unauthorized: the API key is not valid"},
		{"before login", "", []string{"--server", url, "get", "clusters"}, 1, "is not trusted"},
	}
	for _, s := range steps {
		code, out, errOut := run(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.contains) {
			t.Fatalf("%s: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", s.name, code, s.code, s.contains, out, errOut)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a failed login wrote the configuration (%v)", err)
	}

	code, out, errOut := run(t, key+"\n", "login", url, "--api-key", "--fingerprint", strings.ToLower(fp))
	if code != 0 || !strings.Contains(out, "Logged in to "+url+" as admin") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("configuration file: %v, %v", fi, err)
	}
	cfg, err := cliconfig.Load(path)
	if err != nil || cfg.Current() == nil || cfg.Current().APIKey != key || !strings.Contains(cfg.Current().CertificateAuthority, "BEGIN CERTIFICATE") {
		t.Fatalf("configuration after login: %+v, %v", cfg, err)
	}

	// The context is used without --server; whoami names the user.
	if code, out, errOut := run(t, "", "get", "clusters"); code != 0 {
		t.Fatalf("get clusters after login: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run(t, "", "whoami"); code != 0 || !strings.Contains(out, "user:     admin") || !strings.Contains(out, "admin-admin") {
		t.Fatalf("whoami: exit %d\n%s", code, out)
	}

	// Logged out: the server refuses the commands, the address and certificate are kept.
	if code, out, _ := run(t, "", "logout"); code != 0 || !strings.Contains(out, "Logged out of "+url) {
		t.Fatalf("logout: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "", "get", "clusters"); code != 1 || !strings.Contains(errOut, "no credentials") || !strings.Contains(errOut, "Log in with 'strata login SERVER'") {
		t.Fatalf("get clusters after logout: exit %d\n%s", code, errOut)
	}
	if cfg, _ := cliconfig.Load(path); cfg.Current().APIKey != "" || cfg.Current().CertificateAuthority == "" {
		t.Fatalf("configuration after logout: %+v", cfg.Current())
	}
}

// TestCredentialStaysWithItsServer: the context's key is not sent to another server, and
// $STRATA_API_KEY wins over the context's.
func TestCredentialStaysWithItsServer(t *testing.T) {
	url, key, fp := tlsAccessServer(t)
	other, otherKey, otherFP := tlsAccessServer(t)
	withConfig(t)
	if code, out, errOut := run(t, key, "login", url, "--api-key", "--fingerprint", fp); code != 0 {
		t.Fatalf("login: %d %s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, otherKey, "login", other, "--api-key", "--fingerprint", otherFP, "--name", "other"); code != 0 {
		t.Fatalf("login other: %d %s%s", code, out, errOut)
	}
	// The current context is "other"; --server names the first: its own context is used.
	if code, out, errOut := run(t, "", "--server", url, "whoami"); code != 0 || !strings.Contains(out, "context:  "+cliconfig.ContextName(url)) {
		t.Fatalf("whoami --server first: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "", "--context", "other", "--server", url, "whoami"); code != 1 || !strings.Contains(errOut, "is for the server "+other) {
		t.Fatalf("--context other --server first: %d\n%s", code, errOut)
	}
	t.Setenv(APIKeyEnv, key) // the first server's key, sent to the second: refused
	if code, _, errOut := run(t, "", "whoami"); code != 1 || !strings.Contains(errOut, "Unauthorized") {
		t.Fatalf("$STRATA_API_KEY should win: %d\n%s", code, errOut)
	}
}

// TestLoginWithPassword: the admin sets a user's password with passwd; the user logs in with
// it (a session key kept in the context); a wrong password is refused and changes nothing.
func TestLoginWithPassword(t *testing.T) {
	url, key, fp := tlsAccessServer(t)
	path := withConfig(t)
	if code, out, errOut := run(t, key, "login", url, "--api-key", "--fingerprint", fp); code != 0 {
		t.Fatalf("login: %d %s%s", code, out, errOut)
	}
	user := "apiVersion: strata.dev/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec: {}\n"
	if code, out, errOut := run(t, user, "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply user: %d %s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "short\n", "passwd", "bob"); code != 1 || !strings.Contains(errOut, "at least 12") {
		t.Fatalf("passwd with a short password: %d %s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "bob's long password\n", "passwd", "bob"); code != 0 || out != "Password of bob set\n" {
		t.Fatalf("passwd bob: %d %s%s", code, out, errOut)
	}
	before, _ := os.ReadFile(path)
	if code, _, errOut := run(t, "not bob's password\n", "login", url, "--user", "bob"); code != 1 || !strings.Contains(errOut, "wrong user name or password") {
		t.Fatalf("login with a wrong password: %d %s", code, errOut)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused login changed the configuration")
	}
	if code, out, errOut := run(t, "bob's long password\n", "login", url, "--user", "bob"); code != 0 || !strings.Contains(out, "as bob") {
		t.Fatalf("login --user bob: %d %s%s", code, out, errOut)
	}
	if code, out, _ := run(t, "", "whoami"); code != 0 || !strings.Contains(out, "user:     bob") {
		t.Errorf("whoami after the password login: %d %s", code, out)
	}
	if data, _ := os.ReadFile(path); strings.Contains(string(data), "long password") {
		t.Error("the configuration holds the password")
	}
	if code, _, errOut := run(t, key, "login", url, "--api-key", "--user", "bob"); code != 1 || !strings.Contains(errOut, "exclude each other") {
		t.Errorf("--api-key with --user: %d %s", code, errOut)
	}
}
