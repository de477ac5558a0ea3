package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newPasswdCommand(o *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd [USER]",
		Short: "Set a local user's password (your own by default)",
		Long: `Set the password with which a local user signs in ('strata login --user USER'). Users set
their own; another user's needs user.update from a binding without a filter. The password is
asked for twice on a terminal, or read from the first line of standard input; it must be 12 to
72 bytes, without control characters or white space at its ends. The server keeps only its
bcrypt hash, sealed.`,
		Example: `  strata passwd
  strata passwd alice < alice.password`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := ""
			if len(args) == 1 {
				user = args[0]
			}
			return runPasswd(cmd.Context(), o, user)
		},
	}
}

func runPasswd(ctx context.Context, o *rootOptions, user string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	if user == "" {
		who, err := c.WhoAmI(ctx)
		if err != nil {
			return err
		}
		if user = who.User; user == "" {
			return &usageError{cmd: "strata passwd", err: errors.New("name the USER: this server has no access control, so you are nobody")}
		}
	}
	pw, err := readNewSecret(o.streams.In, o.streams.Err, "New password for "+user+": ")
	if err != nil {
		return err
	}
	if err := c.SetPassword(ctx, user, pw); err != nil {
		return err
	}
	fmt.Fprintf(o.streams.Out, "Password of %s set\n", user)
	return nil
}

// terminalOf returns in as a terminal's file descriptor, when it is one.
func terminalOf(in io.Reader) (int, bool) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// readSecret asks for a secret without echo on a terminal, or reads the first line of in.
func readSecret(in io.Reader, errOut io.Writer, prompt string) (string, error) {
	if fd, ok := terminalOf(in); ok {
		fmt.Fprint(errOut, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(errOut)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", errors.New("no password: give it on standard input")
	}
	return line, nil
}

// readNewSecret is readSecret, asked twice on a terminal.
func readNewSecret(in io.Reader, errOut io.Writer, prompt string) (string, error) {
	pw, err := readSecret(in, errOut, prompt)
	if err != nil {
		return "", err
	}
	if _, ok := terminalOf(in); ok {
		again, err := readSecret(in, errOut, "Again: ")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", errors.New("the two passwords differ")
		}
	}
	return pw, nil
}
