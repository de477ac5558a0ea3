// Package v1alpha1 holds strata's declarative resources (API group strata.dev/v1alpha1):
// their Go types, strict decoding from YAML and JSON, defaults and validation with field paths.
//
// The package is pure: it does no I/O. Validation that needs other objects (references from a
// Cluster to its CloudAccount and ClusterProfiles, from a CloudAccount to its gateway) asks a
// Resolver, which the server backs with the store and the offline validator with the input files.
package v1alpha1
