package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/azurecall"
	"github.com/strata-dev/strata/internal/store"
)

// Reasons of the refusals of requests that would call Azure with a cloud account bound to a
// private cloud gateway: only the gateway reaches Azure for it.
const (
	// ReasonGatewayBound (409): the server has no agent endpoint, so no gateway connects.
	ReasonGatewayBound = "GatewayBound"
	// ReasonGatewayUnavailable (503): no replica of the gateway is connected to this server.
	ReasonGatewayUnavailable = "GatewayUnavailable"
)

// Gateways are the private cloud gateways connected to the server's agent endpoint: it mints
// their registration tokens and relays Azure requests to them.
type Gateways interface {
	// MintToken returns a single-use token for the gateway, valid for ttl, and the PEM CA of
	// the endpoint gateways dial.
	MintToken(ctx context.Context, name string, ttl time.Duration) (token string, caPEM []byte, err error)
	// Endpoint is the address gateways dial (the agent endpoint's).
	Endpoint() string
	// Call runs c on a connected replica of the gateway and returns its result; an Azure
	// failure comes back as an *azurecall.Error, no connected replica as
	// azurecall.ErrNoGateway.
	Call(ctx context.Context, gateway string, c azurecall.Call) ([]byte, error)
}

// GatewayToken is the answer of POST /privatecloudgateways/{name}/token. The token is a
// secret, shown once.
type GatewayToken struct {
	Gateway string    `json:"gateway"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	// Server is the address to give `strata gateway --server`; CA the PEM CA to trust it with.
	Server string `json:"server"`
	CA     string `json:"ca"`
}

// gatewayTokenTTL is how long a gateway's registration token is valid.
const gatewayTokenTTL = time.Hour

// gatewayToken answers POST /privatecloudgateways/{key}/token: a new registration token.
func (s *Server) gatewayToken(w http.ResponseWriter, r *http.Request, kind string) error {
	key := r.PathValue("key")
	if kind != v1alpha1.KindPrivateCloudGateway {
		return &apiError{code: http.StatusNotFound, reason: ReasonNotFound,
			message: fmt.Sprintf("no token for %s: tokens are under %s/%s/{name}/token", v1alpha1.Plural(kind), APIPath, v1alpha1.Plural(v1alpha1.KindPrivateCloudGateway))}
	}
	gw, err := s.store.Get(r.Context(), kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(kind, key)
	}
	if err != nil {
		return internal(err, "get %s %q", kind, key)
	}
	if err := guardOf(r.Context()).allow(authz.VerbToken, gw); err != nil {
		return err
	}
	if s.gateways == nil {
		return conflict(ReasonConflict, "this server has no agent endpoint (--agent-listen): gateways cannot register with it")
	}
	token, ca, err := s.gateways.MintToken(r.Context(), key, gatewayTokenTTL)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(kind, key)
	}
	if err != nil {
		return internal(err, "mint a registration token for %s %q", kind, key)
	}
	s.log.Info("gateway registration token minted", "gateway", key)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(GatewayToken{Gateway: key, Token: token, Expires: time.Now().Add(gatewayTokenTTL).UTC().Truncate(time.Second),
		Server: s.gateways.Endpoint(), CA: string(ca)})
}
