package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	userKubeconfig  = "apiVersion: v1\nkind: Config\nusers:\n- name: clusterUser_rg_prod\n  user:\n    token: user-token\n"
	adminKubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: clusterAdmin_rg_prod\n  user:\n    token: admin-token\n"
)

// kubeconfigServer plays the server's kubeconfig endpoint: cluster prod has both kubeconfigs,
// pending is not ready. It returns the server's URL and the queries it received.
func kubeconfigServer(t *testing.T) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var queries []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1alpha1/clusters/prod/kubeconfig":
			w.Header().Set("Content-Type", "application/yaml")
			w.Header().Set("Cache-Control", "no-store")
			if r.URL.Query().Get("admin") == "true" {
				_, _ = w.Write([]byte(adminKubeconfig))
				return
			}
			_, _ = w.Write([]byte(userKubeconfig))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"kind":"Status","code":409,"reason":"NotReady","message":"cluster \"pending\" has no managed cluster in Azure yet (phase Provisioning)"}`))
		}
	}))
	t.Cleanup(hs.Close)
	return hs.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), queries...)
	}
}

func TestKubeconfigCommand(t *testing.T) {
	srv, queries := kubeconfigServer(t)
	tests := []struct {
		name      string
		args      []string // after "kubeconfig"; FILE stands for the output file
		existing  string   // content of the output file before, with mode 0644; "" for none
		wantCode  int
		wantOut   string // stdout
		wantErr   string // a part of stderr
		wantFile  string // the output file's content after; "" for no file
		wantQuery string
	}{
		{"stdout", []string{"prod"}, "", 0, userKubeconfig, "", "", ""},
		{"stdout with -o -", []string{"prod", "-o", "-"}, "", 0, userKubeconfig, "", "", ""},
		{"new file", []string{"prod", "-o", "FILE"}, "", 0, "", "Wrote the user kubeconfig of cluster prod to ", userKubeconfig, ""},
		{"replaces a readable file", []string{"prod", "--output-file", "FILE"}, "old: content, longer than the new kubeconfig, which must not keep its tail\n" + strings.Repeat("x", 200), 0, "", "", userKubeconfig, ""},
		{"admin", []string{"prod", "--admin", "-o", "FILE"}, "", 0, "", "Wrote the admin kubeconfig", adminKubeconfig, "admin=true"},
		{"not ready keeps the file", []string{"pending", "-o", "FILE"}, "kept\n", 1, "", "NotReady: cluster \"pending\" has no managed cluster in Azure yet", "kept\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "kubeconfig")
			if tt.existing != "" {
				if err := os.WriteFile(file, []byte(tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"--server", srv, "kubeconfig"}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "FILE", file))
			}
			before := len(queries())
			code, out, errOut := run(t, "", args...)
			if code != tt.wantCode || out != tt.wantOut || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q", code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
			if q := queries()[before:]; len(q) != 1 || q[0] != tt.wantQuery {
				t.Errorf("queries %q, want one %q", q, tt.wantQuery)
			}
			fi, err := os.Stat(file)
			if tt.wantFile == "" {
				if err == nil {
					t.Errorf("%s was written", file)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.wantFile {
				t.Errorf("file holds %q, want %q", data, tt.wantFile)
			}
			wantMode := os.FileMode(0o600)
			if tt.wantCode != 0 {
				wantMode = 0o644 // a failed request leaves the file alone
			}
			if fi.Mode().Perm() != wantMode {
				t.Errorf("file mode %v, want %v", fi.Mode().Perm(), wantMode)
			}
		})
	}
}
