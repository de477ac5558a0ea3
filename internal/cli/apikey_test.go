package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/apikey"
)

func TestPrintAPIKeyTable(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	used := now.Add(-5 * time.Minute)
	objs := testObjects(t, `apiVersion: strata.dev/v1alpha1
kind: APIKey
metadata: {name: abcdefghijk23456}
spec: {user: alice, description: CI pipeline, expiresAt: "2026-05-31T12:00:00Z"}
---
apiVersion: strata.dev/v1alpha1
kind: APIKey
metadata: {name: zyxwvutsrq765432}
spec:
  user: bob
  description: "a description much longer than a table cell should ever show, on two\nlines"
  expiresAt: "2026-05-01T11:00:00Z"
  revoked: true
`, now.Add(-3*time.Minute))
	objs[0].(*v1alpha1.APIKey).Status.LastUsed = &used
	var b bytes.Buffer
	if err := printTable(&b, v1alpha1.KindAPIKey, objs, now, false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME               USER    DESCRIPTION                                EXPIRES   LAST-USED   REVOKED   AGE\n" +
		"abcdefghijk23456   alice   CI pipeline                                in 30d    5m          false     3m\n" +
		"zyxwvutsrq765432   bob     a description much longer than a tabl...   expired   <never>     true      3m\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{"720h": 720 * time.Hour, "30d": 30 * 24 * time.Hour, "90m": 90 * time.Minute, " 1d ": 24 * time.Hour} {
		if got, err := parseLifetime(in); err != nil || got != want {
			t.Errorf("parseLifetime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0h", "-1d", "-5m", "month", "1.5d", "d"} {
		if got, err := parseLifetime(in); err == nil {
			t.Errorf("parseLifetime(%q) = %v, want an error", in, got)
		}
	}
}

// TestAPIKeyVerbs creates, lists, revokes, re-activates and deletes a key with the CLI through
// a real server: the token is printed once, alone on stdout, and only its hash is stored.
func TestAPIKeyVerbs(t *testing.T) {
	srv, st := apiServer(t)
	user := writeFile(t, t.TempDir(), "alice.yaml", "apiVersion: strata.dev/v1alpha1\nkind: User\nmetadata: {name: alice}\nspec: {displayName: Alice Martin}\n")
	if code, out, errOut := run(t, "", "--server", srv, "apply", "-f", user); code != 0 {
		t.Fatalf("apply the user: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut := run(t, "", "--server", srv, "apikey", "create", "--user", "alice", "--expires-in", "720h", "--description", "CI pipeline")
	token := strings.TrimSuffix(out, "\n")
	id, secret, err := apikey.Parse(token)
	if code != 0 || err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("create: exit %d, token %q: %v\nstderr:\n%s", code, out, err, errOut)
	}
	mustHave(t, "create's stderr", errOut, "API key "+id+" made for user alice", "shown this once")
	hash, err := st.GetSecret(context.Background(), "apikey/"+id)
	sum := sha256.Sum256([]byte(secret))
	if err != nil || string(hash) != hex.EncodeToString(sum[:]) {
		t.Errorf("stored hash %q, %v", hash, err)
	}

	list := func(args ...string) [][]string {
		t.Helper()
		code, out, errOut := run(t, "", append([]string{"--server", srv}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
		return fields(out)
	}
	rows := list("apikey", "list")
	if len(rows) != 2 || strings.Join(rows[0], " ") != "NAME USER DESCRIPTION EXPIRES LAST-USED REVOKED AGE" ||
		strings.Join(rows[1][:8], " ") != id+" alice CI pipeline in 29d <never> false" {
		t.Fatalf("apikey list: %q", rows)
	}
	if got := list("get", "keys"); strings.Join(got[1][:8], " ") != strings.Join(rows[1][:8], " ") {
		t.Errorf("get keys %q, apikey list %q", got, rows)
	}
	for _, format := range []string{"yaml", "json"} {
		_, out, _ := run(t, "", "--server", srv, "apikey", "list", id, "-o", format)
		if !strings.Contains(out, "expiresAt") || strings.Contains(out, secret) || strings.Contains(out, string(hash)) {
			t.Errorf("apikey list -o %s:\n%s", format, out)
		}
	}

	for _, step := range []struct {
		args    []string
		out     string
		revoked string
	}{
		{[]string{"revoke", id}, "apikey/" + id + " revoked\n", "true"},
		{[]string{"revoke", id}, "apikey/" + id + " unchanged (already revoked)\n", "true"},
		{[]string{"activate", id}, "apikey/" + id + " activated\n", "false"},
	} {
		code, out, errOut := run(t, "", append([]string{"--server", srv, "apikey"}, step.args...)...)
		if code != 0 || out != step.out {
			t.Errorf("apikey %v: exit %d\nstdout:\n%s\nstderr:\n%s", step.args, code, out, errOut)
		}
		if got := list("apikey", "list")[1][7]; got != step.revoked {
			t.Errorf("after apikey %v: REVOKED %s", step.args, got)
		}
	}

	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"apikey", "revoke", "abcdefghijk23456"}, `apikey "abcdefghijk23456" not found`},
		{[]string{"apikey", "create", "--user", "alice"}, "--expires-in is required"},
		{[]string{"apikey", "create", "--expires-in", "1h"}, "--user is required"},
		{[]string{"apikey", "create", "--user", "alice", "--expires-in", "soon"}, `invalid --expires-in "soon"`},
		{[]string{"apikey", "create", "--user", "alice", "--expires-in", "400d"}, "is more than 365 days from now: this server's longest lifetime of a key (range)"},
		{[]string{"apikey", "create", "--user", "nobody", "--expires-in", "1h"}, "error: the API key for user \"nobody\" is invalid: 1 error\n  spec.user: User \"nobody\" does not exist (not-found)"},
		{[]string{"delete", "user", "alice"}, `User "alice" is in use by APIKey "` + id + `"`},
	} {
		code, out, errOut := run(t, "", append([]string{"--server", srv}, tc.args...)...)
		if code != 1 || out != "" || !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: exit %d, want 1 and %q\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.err, out, errOut)
		}
	}

	if code, out, errOut := run(t, "", "--server", srv, "delete", "apikey", id); code != 0 || out != "apikey/"+id+" deleted\n" {
		t.Errorf("delete the key: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := st.GetSecret(context.Background(), "apikey/"+id); err == nil {
		t.Error("the hash of a deleted key is still stored")
	}
}

func mustHave(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}
