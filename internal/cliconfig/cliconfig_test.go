package cliconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "strata", "config.yaml")
	c := &Config{}
	c.Set(Context{Name: "a", Server: "https://a:7080", APIKey: "strata_x_y", CertificateAuthority: "PEM"})
	c.Set(Context{Name: "b", Server: "http://b"})
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentContext != "b" || len(got.Contexts) != 2 || got.Context("a").APIKey != "strata_x_y" || got.Context("a").CertificateAuthority != "PEM" {
		t.Errorf("loaded %+v", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing, err := Load(filepath.Join(dir, "none.yaml"))
	if err != nil || missing.Current() != nil || len(missing.Contexts) != 0 {
		t.Errorf("missing file: %+v, %v", missing, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("currentContext: a\nsurprise: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "surprise") || !strings.Contains(err.Error(), bad) {
		t.Errorf("unknown field: %v, want an error naming it and the file", err)
	}
}

func TestSetReplacesByName(t *testing.T) {
	c := &Config{}
	c.Set(Context{Name: "a", Server: "http://one", APIKey: "k1"})
	c.Set(Context{Name: "b", Server: "http://two"})
	c.Set(Context{Name: "a", Server: "http://one", APIKey: "k2"})
	if len(c.Contexts) != 2 || c.CurrentContext != "a" || c.Current().APIKey != "k2" {
		t.Errorf("%+v", c)
	}
}

func TestForServer(t *testing.T) {
	c := &Config{Contexts: []Context{
		{Name: "first", Server: "https://h:1"},
		{Name: "second", Server: "https://h:1/"},
		{Name: "other", Server: "https://o:2"},
	}}
	tests := []struct {
		current, server, want string
	}{
		{"", "https://h:1", "first"},
		{"second", "https://h:1", "second"},
		{"other", "https://h:1", "first"},
		{"first", "o:2", "other"},
		{"first", "http://o:2", ""},
		{"first", "http://h:1", ""},
	}
	for _, tt := range tests {
		c.CurrentContext = tt.current
		got := c.ForServer(tt.server)
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != tt.want {
			t.Errorf("current %q, server %q: %q, want %q", tt.current, tt.server, name, tt.want)
		}
	}
}

func TestContextName(t *testing.T) {
	tests := map[string]string{
		"https://127.0.0.1:7080":     "127.0.0.1-7080",
		"127.0.0.1:7080/":            "127.0.0.1-7080",
		"https://strata.example/api": "strata.example",
		"https://[::1]:7080":         "--1-7080",
	}
	for in, want := range tests {
		if got := ContextName(in); got != want {
			t.Errorf("ContextName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDocExample: the configuration file shown in docs/access.md is one Load reads.
func TestDocExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "access.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(data), "```text\ncurrentContext:")
	if !ok {
		t.Fatal("docs/access.md shows no configuration file")
	}
	block, _, _ = strings.Cut("currentContext:"+block, "```")
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil || c.Current() == nil || c.Current().APIKey == "" || c.Current().Server == "" {
		t.Fatalf("the documented configuration: %+v, %v\n%s", c, err, block)
	}
}
