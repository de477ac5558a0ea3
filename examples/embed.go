// Package examples embeds the ready-to-apply example YAML files of this directory, so that
// `strata quickstart` works from any directory with the same files users read.
package examples

import "embed"

// FS holds every *.yaml file of the examples directory.
//
//go:embed *.yaml
var FS embed.FS
