// Package cli implements strata's client commands (apply, get, describe, delete, validate,
// version) on top of cobra, writing to the given streams so that they can be tested. The strata
// main package adds the server command and runs the root with Execute.
package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/cliconfig"
	"github.com/strata-dev/strata/internal/client"
	"github.com/strata-dev/strata/internal/termtext"
)

// DefaultServer is the server address used when neither --server nor STRATA_SERVER is set.
const DefaultServer = "https://127.0.0.1:7080"

// ServerEnv is the environment variable that names the server.
const ServerEnv = "STRATA_SERVER"

// APIKeyEnv is the environment variable of the API key sent to a server with access control.
const APIKeyEnv = "STRATA_API_KEY"

// Streams are where a command reads its input and writes its output and errors.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// rootOptions are the settings shared by every client command.
type rootOptions struct {
	// streams are for human-readable text: their Out and Err escape what a terminal would act
	// on (termtext), since that text carries messages from the server and from Azure.
	streams Streams
	// data is the raw standard output, for exact data: -o yaml, json and name, kubeconfigs.
	data io.Writer
	// server is --server; empty: $STRATA_SERVER, the context's, or DefaultServer (target).
	server string
	// contextName is --context, config is --config and caFile is --certificate-authority.
	contextName, config, caFile string
	timeout                     time.Duration
	// now is the clock used for ages; tests fix it.
	now func() time.Time
}

// client returns a client of the target server (see endpoint), with its credential.
func (o *rootOptions) client() (*client.Client, error) {
	t, err := o.endpoint()
	if err != nil {
		return nil, err
	}
	return o.clientOf(t)
}

// clientOf returns a client of t.
func (o *rootOptions) clientOf(t endpoint) (*client.Client, error) {
	hc, err := httpClient(o.timeout, t.caPEM)
	if err != nil {
		return nil, err
	}
	c, err := client.New(t.server, client.WithHTTPClient(hc), client.WithWarningHandler(o.printWarning), client.WithAPIKey(t.apiKey))
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	return c, nil
}

// NewRoot returns the strata root command with every client command. The server address
// defaults to $STRATA_SERVER, then DefaultServer. Run it with Execute, which prints errors the
// way strata users expect.
func NewRoot(s Streams) *cobra.Command {
	o := &rootOptions{data: s.Out, now: time.Now}
	s.Out, s.Err = termtext.NewWriter(s.Out), termtext.NewWriter(s.Err)
	o.streams = s
	root := &cobra.Command{
		Use:   "strata",
		Short: "strata manages Kubernetes clusters on Azure (IaaS and AKS) from declarative YAML",
		Long: `strata manages Kubernetes clusters on Microsoft Azure, self-managed clusters on Azure VMs
(IaaS) and managed AKS clusters, from declarative YAML in the manner of kubectl.

Describe cloud accounts, private cloud gateways, versioned cluster profiles and clusters in
YAML files, check them offline with 'strata validate', send them to a strata server with
'strata apply', and follow them with 'strata get' and 'strata describe'.

The server wants credentials: 'strata login SERVER' keeps them, with the server's address
and the certificate it trusts, as a context of the CLI's configuration file
(~/.config/strata/config.yaml, or $STRATA_CONFIG); $STRATA_API_KEY, when set, wins.`,
		Example: `  # Start a server, then create everything in a directory
  strata server &
  strata apply -f examples/

  # List clusters, and look at one
  strata get clusters
  strata describe cluster iaas-static`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	// Cobra's own output (help, completion scripts) is exact: it goes to the raw stream.
	root.SetOut(o.data)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{cmd: c.CommandPath(), err: err}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&o.server, "server", "", "address of the strata server (default $"+ServerEnv+", else the current context's, else "+DefaultServer+")")
	pf.StringVar(&o.contextName, "context", "", "the context of the CLI configuration to use (default its current context)")
	pf.StringVar(&o.config, "config", "", "the CLI configuration file (default $"+cliconfig.PathEnv+", else ~/.config/strata/config.yaml)")
	pf.StringVar(&o.caFile, "certificate-authority", "", "a PEM file of certificates to trust for the server's TLS certificate (default the context's)")
	pf.DurationVar(&o.timeout, "request-timeout", 30*time.Second, "how long to wait for each answer of the server")
	root.AddCommand(
		newApplyCommand(o),
		newGetCommand(o),
		newDescribeCommand(o),
		newDeleteCommand(o),
		newValidateCommand(o),
		newAPIResourcesCommand(o),
		newLookupCommand(o),
		newKubeconfigCommand(o),
		newGatewayCommand(o),
		newAPIKeyCommand(o),
		newAuthCommand(o),
		newAuditCommand(o),
		newLoginCommand(o),
		newLogoutCommand(o),
		newWhoAmICommand(o),
		newPasswdCommand(o),
		newVersionCommand(o),
	)
	return root
}

// Execute runs root with args and returns the exit code. Errors are printed to the root's error
// stream as one "error: ..." line (a server that cannot be reached gets a hint on how to start
// one); a usage error adds where to find help. Errors that a command already printed in detail
// (such as every invalid field of an apply) only set the exit code.
func Execute(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	w := root.ErrOrStderr()
	var reported *reportedError
	var unreachable *client.UnreachableError
	var usage *usageError
	switch {
	case errors.As(err, &reported):
	case errors.As(err, &unreachable) && untrustedCertificate(err):
		fmt.Fprintf(w, "error: the certificate of the strata server at %s is not trusted (%s): log in with 'strata login %s --api-key --fingerprint SHA256:...' and the fingerprint 'strata server' printed, or pass --certificate-authority FILE\n",
			unreachable.Server, unreachable.Cause(), unreachable.Server)
	case errors.As(err, &unreachable):
		fmt.Fprintf(w, "error: cannot reach the strata server at %s (%s): start one with 'strata server' or point --server / %s at one\n",
			unreachable.Server, unreachable.Cause(), ServerEnv)
	case isUnauthorized(err):
		fmt.Fprintf(w, "error: %v\nLog in with 'strata login SERVER' (an API key, a password or Entra ID), or set %s.\n", err, APIKeyEnv)
	case errors.As(err, &usage):
		fmt.Fprintf(w, "error: %v\nSee '%s --help' for usage.\n", usage.err, usage.cmd)
	case strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintf(w, "error: %v\nSee '%s --help' for the commands.\n", err, root.Name())
	default:
		fmt.Fprintf(w, "error: %v\n", err)
	}
	return 1
}

// reportedError is a failure whose details the command has already printed.
type reportedError struct{ msg string }

func (e *reportedError) Error() string { return e.msg }

// usageError is a command line that does not fit the command.
type usageError struct {
	cmd string
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageArgs wraps a cobra argument check so that its failure is a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{cmd: cmd.CommandPath(), err: err}
		}
		return nil
	}
}

// untrustedCertificate reports whether err is a server's TLS certificate that is not trusted.
func untrustedCertificate(err error) bool {
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknown) || errors.As(err, &verify)
}
