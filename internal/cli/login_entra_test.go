package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/cliconfig"
	"github.com/strata-dev/strata/internal/emulator"
	"github.com/strata-dev/strata/internal/emulator/emulatortest"
	"github.com/strata-dev/strata/internal/entra"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/servertls"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

// deviceApprover is the standard error of a strata login: when the command prints the device
// code, it approves it as the user would in a browser.
type deviceApprover struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	once    sync.Once
	approve func(uri, code string)
}

var devicePrompt = regexp.MustCompile(`open (\S+) and enter the code (\S+)\n`)

func (a *deviceApprover) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf.Write(p)
	if m := devicePrompt.FindStringSubmatch(a.buf.String()); m != nil {
		a.once.Do(func() { go a.approve(m[1], m[2]) })
	}
	return len(p), nil
}

func (a *deviceApprover) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.buf.String()
}

// TestLoginWithEntraID: strata login without a key signs in with Entra ID's device code flow
// (the emulator's), the context keeps the tokens, the group's team decides what the user may
// do, and an expired access token is renewed with the refresh token.
func TestLoginWithEntraID(t *testing.T) {
	env := emulatortest.Start(t, func(o *emulator.Options) { o.Entra.DeviceCodeInterval = time.Second })
	group := env.EntraGroup(t, "platform-people")
	env.EntraUser(t, "alice@example.com", "alice-pw", group)
	app := env.EntraApp(t, "http://127.0.0.1/callback")
	v, err := entra.NewVerifier(t.Context(), entra.Config{Authority: env.URL, TenantID: env.TenantID, ClientID: app, HTTPClient: env.HTTPClient})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	team := v1alpha1.New(v1alpha1.KindTeam).(*v1alpha1.Team)
	team.Metadata.Name, team.Spec.EntraGroups = "platform", []string{group}
	b := v1alpha1.New(v1alpha1.KindRoleBinding).(*v1alpha1.RoleBinding)
	b.Metadata.Name, b.Spec.Subject.Team, b.Spec.Role = "platform-viewers", "platform", authz.RoleClusterViewer
	for _, o := range []v1alpha1.Object{team, b} {
		v1alpha1.Default(o)
		if err := st.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewTLSServer(server.New(server.Config{Store: st, AccessControl: true, Entra: v}).Handler())
	t.Cleanup(func() { hs.Close(); _ = st.Close() })
	path := withConfig(t)
	caFile := filepath.Join(t.TempDir(), "emulator-ca.pem")
	if err := os.WriteFile(caFile, env.Emulator.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}

	stderr := &deviceApprover{approve: func(uri, code string) { env.EntraApproveDevice(t, uri, code, "alice@example.com", "alice-pw") }}
	var stdout bytes.Buffer
	root := NewRoot(Streams{In: strings.NewReader(""), Out: &stdout, Err: stderr})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code := Execute(ctx, root, []string{"login", hs.URL, "--fingerprint", servertls.Fingerprint(hs.Certificate().Raw), "--authority-ca", caFile})
	if code != 0 || !strings.Contains(stdout.String(), "as alice@example.com") {
		t.Fatalf("login with Entra ID: exit %d\n%s%s", code, &stdout, stderr)
	}
	cfg, err := cliconfig.Load(path)
	if err != nil || cfg.Current().Entra == nil || cfg.Current().Entra.RefreshToken == "" || cfg.Current().APIKey != "" {
		t.Fatalf("the context after the sign-in: %+v, %v", cfg.Current(), err)
	}
	if code, out, errOut := run(t, "", "whoami"); code != 0 || !strings.Contains(out, "teams:    platform") || !strings.Contains(out, "platform-viewers") {
		t.Fatalf("whoami: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "", "auth", "can-i", "create", "clusters"); code != 1 || !strings.Contains(errOut, "cluster.create") {
		t.Errorf("a viewer may create clusters: %d %s", code, errOut)
	}

	// The access token expires: the next command renews it and keeps the new one.
	cfg.Current().Entra.Expiry = time.Now().Add(-time.Hour)
	old := cfg.Current().Entra.AccessToken
	cfg.Current().Entra.AccessToken = "expired"
	if err := cliconfig.Save(path, cfg); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "", "get", "clusters"); code != 0 {
		t.Fatalf("get clusters with an expired token: %d %s%s", code, out, errOut)
	}
	cfg, _ = cliconfig.Load(path)
	if e := cfg.Current().Entra; e.AccessToken == "expired" || e.AccessToken == "" || !e.Expiry.After(time.Now()) {
		t.Errorf("the renewed token was not kept: expiry %v (old token kept: %v)", e.Expiry, e.AccessToken == old)
	}
}
