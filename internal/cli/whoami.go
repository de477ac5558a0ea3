package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/internal/cliconfig"
)

func newWhoAmICommand(o *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Say who the server takes you to be, your teams and role bindings",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWhoAmI(cmd.Context(), o)
		},
	}
}

func runWhoAmI(ctx context.Context, o *rootOptions) error {
	t, err := o.endpoint()
	if err != nil {
		return err
	}
	c, err := o.clientOf(t)
	if err != nil {
		return err
	}
	who, err := c.WhoAmI(ctx)
	if err != nil {
		return err
	}
	w := o.streams.Out
	if !who.AccessControl {
		fmt.Fprintf(w, "server:   %s\naccess control is off on this server: anyone who reaches it may do anything\n", t.server)
		return nil
	}
	fmt.Fprintf(w, "user:     %s\nteams:    %s\nbindings: %s\nserver:   %s\n", who.User, listOrNone(who.Teams), listOrNone(who.Bindings), t.server)
	if t.context != nil {
		fmt.Fprintf(w, "context:  %s\n", t.context.Name)
	}
	return nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "<none>"
	}
	return strings.Join(s, ", ")
}

func newLogoutCommand(o *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the credential of the current context (or of --context)",
		Long: `Remove the credential (API key or Entra ID tokens) of the current context, or of the one
--context names, from the CLI's configuration file; the server's address and certificate are
kept, for the next 'strata login'. The API key itself stays valid on the server: revoke it with
'strata apikey revoke ID' when it should not be used anywhere.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogout(o)
		},
	}
}

func runLogout(o *rootOptions) error {
	cfg, path, err := o.loadConfig()
	if err != nil {
		return err
	}
	ctx := cfg.Current()
	if o.contextName != "" {
		ctx = cfg.Context(o.contextName)
	}
	if ctx == nil {
		return fmt.Errorf("not logged in: no such context in %s", path)
	}
	ctx.APIKey, ctx.Entra, ctx.User = "", nil, ""
	if err := cliconfig.Save(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(o.streams.Out, "Logged out of %s (context %s)\n", ctx.Server, ctx.Name)
	return nil
}
