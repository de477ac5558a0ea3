package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// GatewayToken is a private cloud gateway's registration token, as the server mints it: a
// secret, shown once.
type GatewayToken struct {
	Gateway string    `json:"gateway"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	// Server is the address `strata gateway --server` dials; CA the PEM CA it trusts it with.
	Server string `json:"server"`
	CA     string `json:"ca"`
}

// GatewayToken mints a new single-use registration token for the gateway name.
func (c *Client) GatewayToken(ctx context.Context, name string) (GatewayToken, error) {
	p, err := c.objectPath(v1alpha1.KindPrivateCloudGateway, name)
	if err != nil {
		return GatewayToken{}, fmt.Errorf("gateway token: %w", err)
	}
	var out GatewayToken
	if _, err := c.do(ctx, http.MethodPost, p+"/token", nil, nil, &out); err != nil {
		return GatewayToken{}, fmt.Errorf("registration token of gateway %q: %w", name, err)
	}
	return out, nil
}
