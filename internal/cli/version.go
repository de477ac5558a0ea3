package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Version is strata's version, set at build time with
// -ldflags "-X github.com/strata-dev/strata/internal/cli.Version=v1.2.3".
var Version = "dev"

// versionString describes the build: the version, the commit when known, and the Go version.
func versionString() string {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return fmt.Sprintf("strata %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCommand(o *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of strata",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(o.streams.Out, versionString())
			return err
		},
	}
}

func newAPIResourcesCommand(o *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "api-resources",
		Short: "List the kinds strata manages and their short names",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return printKinds(o.streams.Out)
		},
	}
}

// printKinds prints the kinds strata manages, their plural names and short names, in the
// order a user meets them (clusters first).
func printKinds(w io.Writer) error {
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "NAME\tSHORTNAMES\tKIND")
	for i := len(v1alpha1.Resources) - 1; i >= 0; i-- {
		ki := v1alpha1.Resources[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ki.Plural, strings.Join(ki.ShortNames, ","), ki.Kind)
	}
	return tw.Flush()
}
