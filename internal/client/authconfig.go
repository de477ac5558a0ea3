package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/strata-dev/strata/internal/entra"
)

// AuthConfig says how to sign in to the server: with Entra ID when Entra is set.
type AuthConfig struct {
	Entra *entra.LoginInfo `json:"entra,omitempty"`
}

// AuthConfig asks the server, without credentials, how to sign in.
func (c *Client) AuthConfig(ctx context.Context) (AuthConfig, error) {
	var out AuthConfig
	if _, err := c.do(ctx, http.MethodGet, "/auth/config", nil, nil, &out); err != nil {
		return AuthConfig{}, fmt.Errorf("ask how to sign in: %w", err)
	}
	return out, nil
}
