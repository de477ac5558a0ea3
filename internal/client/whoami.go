package client

import (
	"context"
	"fmt"
	"net/http"
)

// WhoAmI is who the server takes the caller to be.
type WhoAmI struct {
	AccessControl bool     `json:"accessControl"`
	User          string   `json:"user,omitempty"`
	Teams         []string `json:"teams,omitempty"`
	Bindings      []string `json:"bindings,omitempty"`
}

// WhoAmI asks the server who the client's credentials authenticate.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmI, error) {
	var out WhoAmI
	if _, err := c.do(ctx, http.MethodGet, "/whoami", nil, nil, &out); err != nil {
		return WhoAmI{}, fmt.Errorf("whoami: %w", err)
	}
	return out, nil
}
