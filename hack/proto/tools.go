// Package proto pins the tools that `make proto` runs (buf and the Go plugins) in a module of
// their own, so that their dependencies stay out of strata's go.mod.
package proto
