package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/cliconfig"
	"github.com/strata-dev/strata/internal/servertls"
)

// loginOptions are the flags of strata login.
type loginOptions struct {
	apiKey      bool
	user        string
	authorityCA string
	name        string
	fingerprint string
}

func newLoginCommand(o *rootOptions) *cobra.Command {
	lo := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login [SERVER] [--api-key | --user NAME]",
		Short: "Log in to a strata server and keep it as the current context",
		Long: `Log in to a strata server: check the credential with the server, then keep the server's
address, the certificate trusted for it and the credential as a context of the CLI's
configuration file (mode 0600; ~/.config/strata/config.yaml, or $STRATA_CONFIG), and make it
the current context, which the other commands then use.

SERVER defaults to --server, $STRATA_SERVER, the current context's server, then ` + DefaultServer + `.

--api-key takes the key from $STRATA_API_KEY, or else reads it from the first line of standard
input (a flag's value would show in the process list). --user signs a local user in with a
password, asked for on a terminal or read from the first line of standard input; the server
answers with a session key, valid 12 hours, which the context keeps. Without either, strata
login signs in with Entra ID when the server offers it (GET /api/v1alpha1/auth/config): it
prints an address to open and a code to enter (the device code flow), and the context keeps the
tokens, renewed with the refresh token as they expire.

A server with a certificate that the system does not trust (the self-signed one 'strata
server' makes) is trusted with --certificate-authority FILE, or with --fingerprint set to the
SHA-256 fingerprint that 'strata server' printed: the certificate is then kept in the context.`,
		Example: `  # The key the server printed on its first start
  strata login https://strata.example:7080 --api-key --fingerprint SHA256:AB:CD:... < admin.key

  # A local user's password
  strata login https://strata.example:7080 --user alice

  # A second server, as another context
  STRATA_API_KEY=$(cat ci.key) strata login https://strata-ci:7080 --api-key --name ci`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			return runLogin(cmd.Context(), o, lo, server)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&lo.apiKey, "api-key", false, "log in with an API key, from $"+APIKeyEnv+" or the first line of standard input")
	f.StringVar(&lo.user, "user", "", "sign in as this local user with a password")
	f.StringVar(&lo.authorityCA, "authority-ca", "", "with Entra ID sign-in: a PEM file of certificates to trust for the Entra ID authority (the emulator's ca.pem)")
	f.StringVar(&lo.name, "name", "", "the context's name (default the server's host and port)")
	f.StringVar(&lo.fingerprint, "fingerprint", "", "trust the server's certificate when its SHA-256 fingerprint is this (SHA256:AB:CD:...)")
	return cmd
}

func runLogin(ctx context.Context, o *rootOptions, lo *loginOptions, server string) error {
	cfg, path, err := o.loadConfig()
	if err != nil {
		return err
	}
	prev, server, err := pickContext(cfg, path, o.contextName, firstOf(server, o.server), os.Getenv(ServerEnv))
	if err != nil {
		return err
	}
	t, err := o.loginEndpoint(ctx, prev, server, lo.fingerprint)
	if err != nil {
		return err
	}
	var signIn *cliconfig.EntraToken
	if !lo.apiKey && lo.user == "" {
		if signIn, err = o.entraLogin(ctx, t, lo.authorityCA); err != nil {
			return err
		}
		t.apiKey = signIn.AccessToken
	} else if t.apiKey, err = o.loginCredential(ctx, lo, t); err != nil {
		return err
	}
	who, err := o.checkLogin(ctx, t)
	if err != nil {
		return err
	}
	name := firstOf(lo.name, contextNameOf(prev, server))
	kept := cliconfig.Context{Name: name, Server: cliconfig.Normalize(server), CertificateAuthority: string(t.caPEM), User: who, APIKey: t.apiKey}
	if signIn != nil {
		kept.APIKey, kept.Entra = "", signIn
	}
	cfg.Set(kept)
	if err := cliconfig.Save(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(o.streams.Out, "Logged in to %s as %s (context %s in %s)\n", cliconfig.Normalize(server), firstOf(who, "anyone: the server has no access control"), name, path)
	return nil
}

// contextNameOf keeps the name of the context already kept for the server, or makes one.
func contextNameOf(prev *cliconfig.Context, server string) string {
	if prev != nil && cliconfig.SameServer(prev.Server, server) {
		return prev.Name
	}
	return cliconfig.ContextName(server)
}

// loginEndpoint is the server with the certificates to trust for it: --certificate-authority,
// else the context's, else, for a certificate the system does not trust, the server's own
// certificate when its fingerprint is the one given.
func (o *rootOptions) loginEndpoint(ctx context.Context, prev *cliconfig.Context, server, fingerprint string) (endpoint, error) {
	t := endpoint{server: server}
	switch {
	case o.caFile != "":
		pemData, err := os.ReadFile(o.caFile)
		if err != nil {
			return endpoint{}, fmt.Errorf("--certificate-authority: %w", err)
		}
		t.caPEM = pemData
	case prev != nil && cliconfig.SameServer(prev.Server, server) && fingerprint == "":
		t.caPEM = []byte(prev.CertificateAuthority)
	}
	u, err := url.Parse(cliconfig.Normalize(server))
	if err != nil || u.Scheme != "https" || len(t.caPEM) > 0 {
		return t, nil // the client reports a bad address; http has no certificate
	}
	leaf, trusted, err := probeCertificate(ctx, u.Host)
	if err != nil || trusted {
		return t, err
	}
	got := servertls.Fingerprint(leaf.Raw)
	if fingerprint == "" {
		return endpoint{}, fmt.Errorf("the certificate of %s is not one the system trusts; its fingerprint is %s: if it is the one 'strata server' printed, log in again with --fingerprint %s (or give --certificate-authority FILE)", server, got, got)
	}
	if !strings.EqualFold(strings.TrimSpace(fingerprint), got) {
		return endpoint{}, fmt.Errorf("--fingerprint: the certificate of %s has the fingerprint %s, not %s: it is not the server you meant (or the fingerprint is mistyped)", server, got, fingerprint)
	}
	t.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	return t, nil
}

// probeCertificate connects to host and returns the certificate it presents and whether the
// system trusts it.
func probeCertificate(ctx context.Context, host string) (*x509.Certificate, bool, error) {
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "443")
	}
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // only to read the certificate, then verified below
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", host)
	if err != nil {
		return nil, false, fmt.Errorf("cannot reach the strata server at %s: %w", host, err)
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	leaf := state.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	name, _, _ := net.SplitHostPort(host)
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: name, Intermediates: inter})
	return leaf, verr == nil, nil
}

// loginCredential is the API key to keep: the one given (--api-key), or a session of a
// password sign-in (--user).
func (o *rootOptions) loginCredential(ctx context.Context, lo *loginOptions, t endpoint) (string, error) {
	switch {
	case lo.apiKey && lo.user != "":
		return "", &usageError{cmd: "strata login", err: errors.New("--api-key and --user exclude each other")}
	case lo.apiKey:
		return readAPIKey(o.streams.In)
	case lo.user != "":
		pw, err := readSecret(o.streams.In, o.streams.Err, "Password for "+lo.user+": ")
		if err != nil {
			return "", err
		}
		c, err := o.clientOf(t)
		if err != nil {
			return "", err
		}
		s, err := c.Login(ctx, lo.user, pw)
		if err != nil {
			return "", err
		}
		return s.Token, nil
	}
	return "", &usageError{cmd: "strata login", err: errors.New("--api-key or --user is required: an API key (on standard input or in $" + APIKeyEnv + "), or a local user's password")}
}

// readAPIKey reads the key from $STRATA_API_KEY, else the first line of in.
func readAPIKey(in io.Reader) (string, error) {
	if k := strings.TrimSpace(os.Getenv(APIKeyEnv)); k != "" {
		return k, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--api-key: read the key from standard input: %w", err)
	}
	if k := strings.TrimSpace(line); k != "" {
		return k, nil
	}
	return "", errors.New("--api-key: no key: set $" + APIKeyEnv + " or give it on standard input")
}

// checkLogin asks the server who the credential is; "" when the server has no access control.
func (o *rootOptions) checkLogin(ctx context.Context, t endpoint) (string, error) {
	c, err := o.clientOf(t)
	if err != nil {
		return "", err
	}
	who, err := c.WhoAmI(ctx)
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", t.server, err)
	}
	return who.User, nil
}

// firstOf returns the first non-empty string.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
