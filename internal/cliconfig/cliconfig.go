// Package cliconfig reads and writes the CLI's configuration file: the servers the CLI has
// logged in to, as named contexts (server address, the certificate authority it trusts for
// that server, the credential), and the current one — as kubectl's kubeconfig does. The file
// holds credentials: it is written atomically with mode 0600 in a 0700 directory.
package cliconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/internal/atomicfile"
)

// PathEnv is the environment variable naming the configuration file; it wins over the default.
const PathEnv = "STRATA_CONFIG"

// Config is the CLI's configuration file.
type Config struct {
	// CurrentContext names the context used when the command line names none.
	CurrentContext string `json:"currentContext,omitempty"`
	// Contexts are the servers logged in to.
	Contexts []Context `json:"contexts,omitempty"`
}

// Context is one server and how to reach and authenticate to it.
type Context struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	// CertificateAuthority is the PEM of the certificates trusted for the server's TLS
	// certificate, besides the system's (a server's self-signed certificate).
	CertificateAuthority string `json:"certificateAuthority,omitempty"`
	// User is who the credential authenticates, as the server said at login.
	User string `json:"user,omitempty"`
	// APIKey is a strata API key (strata_...).
	APIKey string `json:"apiKey,omitempty"`
	// Entra holds the tokens of a sign-in with Entra ID.
	Entra *EntraToken `json:"entra,omitempty"`
}

// EntraToken is an Entra ID sign-in: the token sent, and how to renew it.
type EntraToken struct {
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// Authority, TenantID and ClientID are where the token is renewed.
	Authority string `json:"authority"`
	TenantID  string `json:"tenantID"`
	ClientID  string `json:"clientID"`
	// Scopes are the scopes asked for.
	Scopes []string `json:"scopes,omitempty"`
	// AuthorityCA is the PEM of certificates trusted for the authority besides the system's
	// (the emulator's CA).
	AuthorityCA string `json:"authorityCA,omitempty"`
}

// DefaultPath is $STRATA_CONFIG, or config.yaml in the user's configuration directory
// (~/.config/strata/config.yaml on Linux).
func DefaultPath() (string, error) {
	if p := os.Getenv(PathEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the CLI's configuration file (set %s): %w", PathEnv, err)
	}
	return filepath.Join(dir, "strata", "config.yaml"), nil
}

// Load reads the file at path; a missing file is an empty configuration.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the CLI configuration: %w", err)
	}
	c := &Config{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, fmt.Errorf("read the CLI configuration %s: %w", path, err)
	}
	return c, nil
}

// Save writes c to path atomically, the file 0600 and a directory it creates 0700.
func Save(path string, c *Config) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode the CLI configuration: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write the CLI configuration: %w", err)
	}
	if err := atomicfile.Replace(path, data, 0o600); err != nil {
		return fmt.Errorf("write the CLI configuration: %w", err)
	}
	return nil
}

// Context returns the context named name, or nil.
func (c *Config) Context(name string) *Context {
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			return &c.Contexts[i]
		}
	}
	return nil
}

// Current returns the current context, or nil.
func (c *Config) Current() *Context {
	if c.CurrentContext == "" {
		return nil
	}
	return c.Context(c.CurrentContext)
}

// ForServer returns the current context when it is for server, else the first context for
// server, or nil: a credential is only ever sent to the server it was made for.
func (c *Config) ForServer(server string) *Context {
	if cur := c.Current(); cur != nil && SameServer(cur.Server, server) {
		return cur
	}
	for i := range c.Contexts {
		if SameServer(c.Contexts[i].Server, server) {
			return &c.Contexts[i]
		}
	}
	return nil
}

// Set adds ctx, or replaces the context of that name, and makes it current.
func (c *Config) Set(ctx Context) {
	c.CurrentContext = ctx.Name
	if old := c.Context(ctx.Name); old != nil {
		*old = ctx
		return
	}
	c.Contexts = append(c.Contexts, ctx)
}

// SameServer reports whether two server addresses name the same server: equal once a missing
// scheme is taken as https and a trailing slash dropped.
func SameServer(a, b string) bool { return Normalize(a) == Normalize(b) }

// Normalize is a server address with its scheme (https when missing, as strata server serves)
// and without a trailing slash.
func Normalize(server string) string {
	s := strings.TrimSpace(server)
	if s != "" && !strings.Contains(s, "://") {
		s = "https://" + s
	}
	return strings.TrimSuffix(s, "/")
}

// ContextName is the default name of a context for server: its host and port, with ':' as '-'.
func ContextName(server string) string {
	s := Normalize(server)
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	s, _, _ = strings.Cut(s, "/")
	return strings.NewReplacer(":", "-", "[", "", "]", "").Replace(s)
}
