package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// GatewayCommandName is the name of `strata gateway`, whose run the main package wires.
const GatewayCommandName = "gateway"

type gatewayTokenOptions struct {
	caFile string
}

// newGatewayCommand is `strata gateway` with its `token` subcommand; main gives it its run
// (the gateway process) and flags.
func newGatewayCommand(o *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   GatewayCommandName,
		Short: "Run a private cloud gateway, or mint its registration token",
	}
	cmd.AddCommand(newGatewayTokenCommand(o))
	return cmd
}

func newGatewayTokenCommand(o *rootOptions) *cobra.Command {
	to := &gatewayTokenOptions{}
	cmd := &cobra.Command{
		Use:   "token GATEWAY [--ca-file FILE]",
		Short: "Mint a single-use registration token for a private cloud gateway",
		Long: `Mint a registration token for a PrivateCloudGateway: single-use, valid for one hour,
stored hashed by the server. Each replica of a gateway registers with a token of its own.

The token is printed on standard output, alone, so that it can be captured; it is a secret,
shown once. --ca-file writes the CA the gateway trusts the server's endpoint with, and the
command to start the gateway is printed on standard error. See docs/gateway.md.`,
		Example: `  strata gateway token corp-gateway --ca-file ca.crt > token
  strata gateway --endpoint strata.example.com:7443 --ca-file ca.crt --token-file token --data-dir /var/lib/strata-gateway`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGatewayToken(cmd.Context(), o, to, args[0])
		},
	}
	cmd.Flags().StringVar(&to.caFile, "ca-file", "", "write the server endpoint's CA (PEM) to this file")
	return cmd
}

func runGatewayToken(ctx context.Context, o *rootOptions, to *gatewayTokenOptions, name string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	tok, err := c.GatewayToken(ctx, name)
	if err != nil {
		return err
	}
	if to.caFile != "" {
		if err := os.WriteFile(to.caFile, []byte(tok.CA), 0o644); err != nil {
			return fmt.Errorf("write the CA: %w", err)
		}
	}
	if _, err := fmt.Fprintln(o.data, tok.Token); err != nil {
		return err
	}
	ca := to.caFile
	if ca == "" {
		ca = "CA_FILE"
	}
	fmt.Fprintf(o.streams.Err, "Token for gateway %s, valid until %s. Start a replica with:\n  strata gateway --endpoint %s --ca-file %s --token-file TOKEN_FILE --data-dir DIR\n",
		name, tok.Expires.Format("2006-01-02 15:04:05 MST"), tok.Server, ca)
	return nil
}
