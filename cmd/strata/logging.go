package main

import (
	"fmt"
	"io"
	"log/slog"
)

// newLogger returns the structured logger of a long-running command, writing to w in the
// --log-format the user chose: text or json.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: use text or json", format)
}
