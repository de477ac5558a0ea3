package agentserver

import (
	"context"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/agentmanifest"
)

// objectGetter reads objects.
type objectGetter interface {
	Get(ctx context.Context, kind, key string) (v1alpha1.Object, error)
}

// InstallerStore is what an Installer needs of the store: the server's, or a gateway's
// remote one.
type InstallerStore interface {
	Store
	objectGetter
}

// Installer makes clusters' agent manifests: each with a new registration token. It is the
// controller's AgentInstaller.
type Installer struct {
	Store InstallerStore
	// Authority is the agent CA, or nil when CA is set: the CA agents trust the endpoint with.
	Authority *Authority
	CA        []byte
	// Server is the address agents dial (host:port); Image the agent's image.
	Server, Image string
	// TokenTTL is how long a token is valid (default DefaultTokenTTL).
	TokenTTL time.Duration
}

// Manifest mints a registration token for the cluster and returns the agent's manifest
// carrying it. The manifest is a secret.
func (in *Installer) Manifest(ctx context.Context, cl *v1alpha1.Cluster) ([]byte, error) {
	ttl := in.TokenTTL
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	proxy, proxyCA, err := agentProxyEnv(ctx, in.Store, cl)
	if err != nil {
		return nil, err
	}
	token, err := MintToken(ctx, in.Store, Identity{ClusterName: cl.Metadata.Name, ClusterUID: cl.Metadata.UID}, time.Now(), ttl)
	if err != nil {
		return nil, err
	}
	ca := in.CA
	if in.Authority != nil {
		ca = in.Authority.CA().CertPEM()
	}
	return agentmanifest.Render(agentmanifest.Options{Image: in.Image, Server: in.Server, CAPEM: ca, Token: token, Proxy: proxy, ProxyCAPEM: proxyCA})
}

// Forget revokes the cluster's registration tokens that were not used: a deleted cluster
// leaves none in the store.
func (in *Installer) Forget(ctx context.Context, cl *v1alpha1.Cluster) error {
	return RevokeToken(ctx, in.Store, cl.Metadata.UID)
}
