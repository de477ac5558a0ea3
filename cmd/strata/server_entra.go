package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/strata-dev/strata/internal/entra"
	"github.com/strata-dev/strata/internal/server"
)

// entraOptions are the flags of sign-in with Entra ID (docs/access.md).
type entraOptions struct {
	tenantID, clientID, authority, caFile string
}

// addFlags adds the --entra-* flags to f.
func (e *entraOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&e.tenantID, "entra-tenant-id", "", "accept sign-ins with Entra ID from this tenant (directory ID, a GUID); needs --entra-client-id and access control (the default)")
	f.StringVar(&e.clientID, "entra-client-id", "", "application (client) ID of strata's app registration: the audience of the tokens accepted (ID or api://ID)")
	f.StringVar(&e.authority, "entra-authority", entra.DefaultAuthority, "Entra ID's sign-in host (the emulator's URL to test)")
	f.StringVar(&e.caFile, "entra-ca-file", "", "PEM file of more CA certificates to trust for --entra-authority (the emulator's ca.pem)")
}

// verifier returns the Entra ID verifier the flags ask for, or nil when they ask for none.
func (e *entraOptions) verifier(ctx context.Context, accessControl bool) (server.EntraVerifier, error) {
	switch {
	case e.tenantID == "" && e.clientID == "":
		if e.caFile != "" {
			return nil, errors.New("--entra-ca-file needs --entra-tenant-id and --entra-client-id")
		}
		return nil, nil
	case e.tenantID == "" || e.clientID == "":
		return nil, errors.New("--entra-tenant-id and --entra-client-id go together: give both to accept sign-ins with Entra ID, or neither")
	case !accessControl:
		return nil, errors.New("--entra-tenant-id and --entra-client-id need access control: sign-ins decide who may do what only with access control on (not with --access-control=false)")
	}
	var caPEM []byte
	if e.caFile != "" {
		var err error
		if caPEM, err = os.ReadFile(e.caFile); err != nil {
			return nil, fmt.Errorf("--entra-ca-file: %w", err)
		}
	}
	v, err := entra.NewVerifier(ctx, entra.Config{Authority: e.authority, TenantID: e.tenantID, ClientID: e.clientID, CAPEM: caPEM})
	if err != nil {
		return nil, fmt.Errorf("--entra-*: %w", err)
	}
	return v, nil
}
