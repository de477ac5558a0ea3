package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/secrets"
	"github.com/strata-dev/strata/internal/server"
	"github.com/strata-dev/strata/internal/store/sqlite"
)

func TestPrintAuditTable(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	records := []client.AuditRecord{
		{Time: at, User: "bob", Verb: "update", Kind: "Cluster", Key: "web", Method: "PUT", Path: "/api/v1alpha1/clusters/web",
			SourceIP: "10.1.2.3", Code: 403, Result: "denied", Reason: `Cluster "web": no binding grants cluster.update`},
		{Time: at.Add(-time.Minute), Verb: "list", Method: "GET", Path: "/api/v1alpha1/audit", SourceIP: "::1", Code: 401,
			Result: "denied", Reason: "no credentials"},
		{Time: at.Add(-time.Hour), User: "alice", Verb: "create", Kind: "Cluster", Key: "db", Method: "POST", Path: "/api/v1alpha1/clusters",
			SourceIP: "127.0.0.1", Code: 200, Result: "allowed", DryRun: true},
	}
	tests := []struct {
		name string
		wide bool
		want string
	}{
		{"table", false, "" +
			"TIME                   USER     VERB     KIND      NAME     CODE   RESULT    SOURCE\n" +
			"2026-05-01T10:00:00Z   bob      update   Cluster   web      403    denied    10.1.2.3\n" +
			"2026-05-01T09:59:00Z   <none>   list     <none>    <none>   401    denied    ::1\n" +
			"2026-05-01T09:00:00Z   alice    create   Cluster   db       200    allowed   127.0.0.1\n"},
		{"wide", true, "" +
			"TIME                   USER     VERB     KIND      NAME     CODE   RESULT    SOURCE      REASON                                            DRY-RUN   PATH\n" +
			"2026-05-01T10:00:00Z   bob      update   Cluster   web      403    denied    10.1.2.3    Cluster \"web\": no binding grants cluster.update   false     /api/v1alpha1/clusters/web\n" +
			"2026-05-01T09:59:00Z   <none>   list     <none>    <none>   401    denied    ::1         no credentials                                    false     /api/v1alpha1/audit\n" +
			"2026-05-01T09:00:00Z   alice    create   Cluster   db       200    allowed   127.0.0.1   <none>                                            true      /api/v1alpha1/clusters\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printAuditTable(&b, records, tc.wide); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("table:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestAuditFlags(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		opts    auditOptions
		want    client.AuditQuery
		wantErr string
	}{
		{"no filter", auditOptions{output: "table"}, client.AuditQuery{}, ""},
		{"every filter", auditOptions{user: "bob", kind: "cl", name: "web", verb: "update", result: "denied", since: "90m", until: "2026-05-01T11:59:00Z", output: "json"},
			client.AuditQuery{User: "bob", Kind: "Cluster", Key: "web", Verb: "update", Result: "denied", Since: now.Add(-90 * time.Minute), Until: now.Add(-time.Minute)}, ""},
		{"days", auditOptions{since: "7d", output: "yaml"}, client.AuditQuery{Since: now.Add(-7 * 24 * time.Hour)}, ""},
		{"profile kind", auditOptions{kind: "profiles", output: "wide"}, client.AuditQuery{Kind: "ClusterProfile"}, ""},
		{"unknown kind", auditOptions{kind: "nodes", output: "table"}, client.AuditQuery{}, "nodes"},
		{"bad result", auditOptions{result: "maybe", output: "table"}, client.AuditQuery{}, "--result"},
		{"bad since", auditOptions{since: "yesterday", output: "table"}, client.AuditQuery{}, "--since"},
		{"bad until", auditOptions{until: "-1h", output: "table"}, client.AuditQuery{}, "--until"},
		{"bad limit", auditOptions{limit: -1, output: "table"}, client.AuditQuery{}, "--limit"},
		{"bad output", auditOptions{output: "name"}, client.AuditQuery{}, "output format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.query(now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Since.Equal(tc.want.Since) || !got.Until.Equal(tc.want.Until) {
				t.Errorf("since %v until %v, want %v and %v", got.Since, got.Until, tc.want.Since, tc.want.Until)
			}
			got.Since, got.Until, tc.want.Since, tc.want.Until = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != tc.want {
				t.Errorf("query %+v, want %+v", got, tc.want)
			}
		})
	}
}

// accessServer starts a strata server with access control on a real SQLite store and returns
// its URL and the admin's key.
func accessServer(t *testing.T) (string, string) {
	t.Helper()
	sealer, err := secrets.NewSealer(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "strata.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(server.Config{Store: st, AccessControl: true}).Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = st.Close()
	})
	admin, err := server.Bootstrap(context.Background(), st, "admin", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return hs.URL, admin
}

// TestAuditCommand runs strata audit against a real server with access control: the admin's
// writes and bob's refused ones are listed newest first, filtered, as a table, JSON or YAML;
// bob may not read the trail.
func TestAuditCommand(t *testing.T) {
	srv, admin := accessServer(t)
	dir := t.TempDir()
	t.Setenv(APIKeyEnv, admin)
	user := writeFile(t, dir, "bob.yaml", "apiVersion: strata.dev/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec: {}\n")
	if code, out, errOut := run(t, "", "--server", srv, "apply", "-f", user); code != 0 {
		t.Fatalf("apply bob: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := run(t, "", "--server", srv, "apikey", "create", "--user", "bob", "--expires-in", "1h")
	if code != 0 {
		t.Fatalf("bob's key: exit %d\n%s", code, errOut)
	}
	bob := strings.TrimSpace(out)

	t.Setenv(APIKeyEnv, bob)
	team := writeFile(t, dir, "team.yaml", "apiVersion: strata.dev/v1alpha1\nkind: Team\nmetadata: {name: ops}\nspec: {members: [bob]}\n")
	if code, _, errOut := run(t, "", "--server", srv, "apply", "-f", team); code == 0 || !strings.Contains(errOut, "team.create") {
		t.Fatalf("bob applies a team: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run(t, "", "--server", srv, "audit"); code != 1 || !strings.Contains(errOut, "audit.list") {
		t.Errorf("bob reads the trail: exit %d\n%s", code, errOut)
	}

	t.Setenv(APIKeyEnv, admin)
	checkAuditOutputs(t, srv)
}

// checkAuditOutputs checks strata audit's outputs after TestAuditCommand's requests.
func checkAuditOutputs(t *testing.T, srv string) {
	t.Helper()
	code, out, errOut := run(t, "", "--server", srv, "audit")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "TIME ") {
		t.Fatalf("strata audit: exit %d\n%s%s", code, out, errOut)
	}
	for i, want := range [][]string{
		{"bob", "list", "<none>", "403", "denied", "127.0.0.1"},
		{"bob", "create", "Team", "ops", "403", "denied"},
		{"admin", "create", "APIKey", "201", "allowed"},
		{"admin", "create", "User", "bob", "201", "allowed"},
	} {
		if got := strings.Fields(lines[i+1]); !containsAll(got, want) {
			t.Errorf("row %d %q, want %q", i+1, lines[i+1], want)
		}
	}

	code, out, _ = run(t, "", "--server", srv, "audit", "--user", "bob", "--kind", "team", "--name", "ops", "-o", "json")
	var data struct{ Items []client.AuditRecord }
	if err := json.Unmarshal([]byte(out), &data); code != 0 || err != nil || len(data.Items) != 1 || data.Items[0].Reason == "" {
		t.Errorf("--user bob --kind team --name ops -o json: exit %d, %v\n%s", code, err, out)
	}
	code, out, _ = run(t, "", "--server", srv, "audit", "--result", "allowed", "--limit", "1", "-o", "yaml")
	if err := yaml.Unmarshal([]byte(out), &data); code != 0 || err != nil || len(data.Items) != 1 || data.Items[0].Kind != "APIKey" {
		t.Errorf("--result allowed --limit 1 -o yaml: exit %d, %v\n%s", code, err, out)
	}
	if code, out, errOut := run(t, "", "--server", srv, "audit", "--until", "1h"); code != 0 || out != "" || errOut != "No audit records found.\n" {
		t.Errorf("--until 1h: exit %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run(t, "", "--server", srv, "audit", "--result", "maybe"); code != 1 || !strings.Contains(errOut, "strata audit --help") {
		t.Errorf("--result maybe: exit %d %q", code, errOut)
	}
}

// containsAll reports whether every one of want is among got.
func containsAll(got, want []string) bool {
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}
