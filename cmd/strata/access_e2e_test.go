package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// apiKeyPattern matches a strata API key.
var apiKeyPattern = regexp.MustCompile(`strata_[a-z2-7]{16}_[a-z2-7]+`)

// TestAccessControlEndToEnd runs `strata server` (access control on by default) as a process: the first
// start prints the admin's key once; the CLI is refused without a key and works with it in
// STRATA_API_KEY; the admin binds a restricted user, makes its key with `strata apikey
// create`, and that user lists only the clusters of its filter; a restart (after kill -9) prints no key, and
// the keys still work. `strata auth can-i` answers for the key's user.
func TestAccessControlEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("slow end-to-end test")
	}
	srv := newRestartableServer(t, "server", []string{"--data-dir", t.TempDir(), "--controllers=false"}, nil)
	admin := apiKeyPattern.FindString(srv.logs.String())
	if admin == "" || !strings.Contains(srv.logs.String(), "shown this once") {
		t.Fatalf("the first start printed no admin key:\n%s", srv.logs)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.ca, 0o600); err != nil {
		t.Fatal(err)
	}
	noKey := []string{"STRATA_SERVER=" + srv.URL, "STRATA_CONFIG=" + noConfig}
	if r := strataEnv(t, noKey, "", "get", "clusters"); r.Code == 0 || !strings.Contains(r.Stderr, "is not trusted") {
		t.Fatalf("get without the server's certificate: %s", r)
	}
	if r := strataEnv(t, noKey, "", "--certificate-authority", ca, "get", "clusters"); r.Code == 0 || !strings.Contains(r.Stderr, "no credentials") {
		t.Fatalf("get without a key: %s", r)
	}
	t.Setenv("STRATA_API_KEY", admin)
	if r := strata(t, srv.URL, "", "apply", "-f", examples); r.Code != 0 {
		t.Fatalf("apply the examples as the admin: %s", r)
	}
	access := `apiVersion: strata.dev/v1alpha1
kind: User
metadata: {name: bob}
spec: {displayName: Bob}
---
apiVersion: strata.dev/v1alpha1
kind: TagFilter
metadata: {name: prod}
spec:
  filters: [{key: env, values: [prod]}]
---
apiVersion: strata.dev/v1alpha1
kind: RoleBinding
metadata: {name: bob-prod-viewer}
spec: {subject: {user: bob}, role: cluster-viewer, filter: prod}
`
	file := filepath.Join(t.TempDir(), "access.yaml")
	if err := os.WriteFile(file, []byte(access), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := strata(t, srv.URL, "", "apply", "-f", file); r.Code != 0 {
		t.Fatalf("apply the access objects: %s", r)
	}
	r := strata(t, srv.URL, "", "apikey", "create", "--user", "bob", "--expires-in", "1h")
	bob := strings.TrimSpace(r.Stdout)
	if r.Code != 0 || !apiKeyPattern.MatchString(bob) {
		t.Fatalf("apikey create: %s", r)
	}
	t.Setenv("STRATA_API_KEY", bob)
	r = strata(t, srv.URL, "", "get", "clusters", "-o", "name")
	if got := strings.Fields(r.Stdout); r.Code != 0 || strings.Join(got, " ") != "cluster/aks-prod cluster/iaas-static" {
		t.Fatalf("bob's clusters (env:prod only): %s", r)
	}
	if r := strata(t, srv.URL, "", "delete", "cluster", "iaas-static"); r.Code == 0 || !strings.Contains(r.Stderr, "cluster.delete") {
		t.Fatalf("bob deletes a cluster he may only view: %s", r)
	}

	if r := strata(t, srv.URL, "", "auth", "can-i", "get", "cluster", "iaas-static"); r.Code != 0 || r.Stdout != "yes\n" || !strings.Contains(r.Stderr, "bob-prod-viewer") {
		t.Errorf("can-i get: %s", r)
	}
	if r := strata(t, srv.URL, "", "auth", "can-i", "delete", "cluster", "iaas-static"); r.Code != 1 || r.Stdout != "no\n" || !strings.Contains(r.Stderr, "cluster.delete") {
		t.Errorf("can-i delete: %s", r)
	}

	srv.kill()
	srv.start()
	if strings.Count(srv.logs.String(), "shown this once") != 1 {
		t.Errorf("the restart printed another admin key:\n%s", srv.logs)
	}
	for _, key := range []string{admin, bob} {
		t.Setenv("STRATA_API_KEY", key)
		if r := strata(t, srv.URL, "", "get", "clusters"); r.Code != 0 {
			t.Errorf("a key after the restart: %s", r)
		}
	}
}
