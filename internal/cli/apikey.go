package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/client"
)

type apikeyCreateOptions struct {
	user, description, expiresIn string
}

// newAPIKeyCommand is `strata apikey` and its verbs: create, list, revoke and activate.
func newAPIKeyCommand(o *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "apikey",
		Aliases: []string{"apikeys"},
		Short:   "Create, list, revoke and re-activate API keys",
		Long: `Create, list, revoke and re-activate the API keys of strata users.

A key is an object of kind APIKey named by its id; the server makes it and shows its token,
strata_<id>_<secret>, once: only a hash of the secret is kept, sealed. A key expires, at most
the server's maximum lifetime after its creation, and can be revoked and re-activated; get,
describe and delete work on apikeys too. See docs/access.md.`,
	}
	cmd.AddCommand(newAPIKeyCreateCommand(o), newAPIKeyListCommand(o),
		newAPIKeyRevokeCommand(o, "revoke", true), newAPIKeyRevokeCommand(o, "activate", false))
	return cmd
}

func newAPIKeyCreateCommand(o *rootOptions) *cobra.Command {
	co := &apikeyCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create --user NAME --expires-in DURATION [--description TEXT]",
		Short: "Make an API key for a user and print its token, once",
		Long: `Make an API key for a stored user. The server chooses the key's id and secret and
answers with its token, which is printed alone on standard output, so that it can be captured:
it is shown this once and cannot be read again, since only a hash of its secret is kept.

--expires-in is required: a duration such as 720h or 90m, or a number of days such as 30d;
the server refuses more than its maximum (365 days unless configured otherwise).`,
		Example: `  strata apikey create --user alice --expires-in 720h --description "CI pipeline" > alice.key
  strata apikey create --user alice --expires-in 30d`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAPIKeyCreate(cmd.Context(), o, co)
		},
	}
	cmd.Flags().StringVar(&co.user, "user", "", "the user the key authenticates as (required)")
	cmd.Flags().StringVar(&co.expiresIn, "expires-in", "", "how long the key lives, e.g. 720h or 30d (required)")
	cmd.Flags().StringVar(&co.description, "description", "", "what the key is for")
	return cmd
}

// parseLifetime reads a Go duration ("720h") or a number of days ("30d"); it must be positive.
func parseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return 0, fmt.Errorf("invalid --expires-in %q: use a duration such as 720h, or days such as 30d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(strings.TrimSpace(s)); err != nil {
			return 0, fmt.Errorf("invalid --expires-in %q: use a duration such as 720h, or days such as 30d", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid --expires-in %q: a key must live for some time", s)
	}
	return d, nil
}

func runAPIKeyCreate(ctx context.Context, o *rootOptions, co *apikeyCreateOptions) error {
	const cmd = "strata apikey create"
	switch {
	case co.user == "":
		return &usageError{cmd: cmd, err: errors.New("--user is required: the user the key authenticates as")}
	case co.expiresIn == "":
		return &usageError{cmd: cmd, err: errors.New("--expires-in is required: an API key always expires (e.g. --expires-in 720h)")}
	}
	lifetime, err := parseLifetime(co.expiresIn)
	if err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	// Whole seconds, rounded down: asking for exactly the server's maximum stays within it.
	expires := o.now().Add(lifetime).UTC().Truncate(time.Second)
	made, err := c.CreateAPIKey(ctx, v1alpha1.APIKeySpec{User: co.user, Description: co.description, ExpiresAt: expires}, client.WriteOptions{})
	var ae *client.APIError
	if errors.As(err, &ae) && len(ae.Errors) > 0 {
		fmt.Fprintf(o.streams.Err, "error: %s\n", apiMessage(ae))
		printFieldErrors(o.streams.Err, ae.Errors)
		return &reportedError{msg: "no API key made"}
	}
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(o.data, made.Token); err != nil {
		return err
	}
	k := made.APIKey
	fmt.Fprintf(o.streams.Err, "API key %s made for user %s, valid until %s. The token is shown this once: keep it now; the server keeps only a hash of it.\n",
		k.Metadata.Name, k.Spec.User, k.Spec.ExpiresAt.Format("2006-01-02 15:04:05 MST"))
	return nil
}

func newAPIKeyListCommand(o *rootOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list [NAME...]",
		Short: "List API keys, as strata get apikeys does",
		Long: `List API keys, or show the named ones, as 'strata get apikeys' does: their id, user,
description, expiry, last use and whether they are revoked. No token is ever shown again.`,
		Example: `  strata apikey list
  strata apikey list -o yaml`,
		ValidArgsFunction: o.completeKeys,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(outputFormats, output) {
				return &usageError{cmd: "strata apikey list", err: fmt.Errorf("unknown output format %q: use one of %s", output, strings.Join(outputFormats, ", "))}
			}
			return runGet(cmd.Context(), o, append([]string{v1alpha1.Plural(v1alpha1.KindAPIKey)}, args...), getOptions{output: output})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: "+strings.Join(outputFormats, ", "))
	return cmd
}

// newAPIKeyRevokeCommand is `strata apikey revoke` (revoked true) or `activate` (false).
func newAPIKeyRevokeCommand(o *rootOptions, verb string, revoked bool) *cobra.Command {
	short := "Revoke API keys: they are refused until re-activated"
	long := `Revoke API keys: the server refuses them from now on, until 'strata apikey activate'.
Revoking is an apply of the key's spec.revoked; the key and its expiry stay.`
	if !revoked {
		short = "Re-activate revoked API keys"
		long = `Re-activate revoked API keys: the server accepts them again until they expire.
Re-activating is an apply of the key's spec.revoked.`
	}
	return &cobra.Command{
		Use:               verb + " NAME...",
		Short:             short,
		Long:              long,
		Example:           "  strata apikey " + verb + " abcdefghijk23456",
		Args:              usageArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: o.completeKeys,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAPIKeyRevoke(cmd.Context(), o, args, verb, revoked)
		},
	}
}

func runAPIKeyRevoke(ctx context.Context, o *rootOptions, names []string, verb string, revoked bool) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	done := verb + "d" // revoked, activated
	failed := 0
	for _, name := range names {
		t := target{Kind: v1alpha1.KindAPIKey, Name: name}
		if name == "" || strings.Contains(name, "/") {
			fmt.Fprintf(o.streams.Err, "error: invalid name %q\n", name)
			failed++
			continue
		}
		_, result, err := c.SetAPIKeyRevoked(ctx, name, revoked)
		if errors.Is(err, client.ErrUnreachable) || ctx.Err() != nil {
			return err
		}
		if err != nil {
			failed++
			printRequestError(o.streams.Err, t, err)
			continue
		}
		if result == client.Unchanged {
			fmt.Fprintf(o.streams.Out, "%s unchanged (already %s)\n", refName(t.Kind, name), done)
			continue
		}
		fmt.Fprintf(o.streams.Out, "%s %s\n", refName(t.Kind, name), done)
	}
	if failed > 0 {
		return &reportedError{msg: fmt.Sprintf("%d of %d API keys not %s", failed, len(names), done)}
	}
	return nil
}

// completeKeys completes the names of API keys.
func (o *rootOptions) completeKeys(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return o.completeTargets(cmd, append([]string{v1alpha1.Plural(v1alpha1.KindAPIKey)}, args...), toComplete)
}
