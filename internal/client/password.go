package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Login signs a local user in with a password and returns the session: an API key of the
// user's, valid for hours, and its token.
func (c *Client) Login(ctx context.Context, user, password string) (*APIKeyCreated, error) {
	body, err := json.Marshal(map[string]string{"user": user, "password": password})
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	var out APIKeyCreated
	if _, err := c.do(ctx, http.MethodPost, "/login", nil, body, &out); err != nil {
		return nil, fmt.Errorf("sign in as %q: %w", user, err)
	}
	if out.Token == "" || out.APIKey == nil {
		return nil, fmt.Errorf("sign in as %q: the server's answer holds no session", user)
	}
	return &out, nil
}

// SetPassword sets the password of a local user.
func (c *Client) SetPassword(ctx context.Context, user, password string) error {
	body, err := json.Marshal(map[string]string{"password": password})
	if err != nil {
		return fmt.Errorf("set the password: %w", err)
	}
	if _, err := c.do(ctx, http.MethodPut, "/"+v1alpha1.Plural(v1alpha1.KindUser)+"/"+url.PathEscape(user)+"/password", nil, body, nil); err != nil {
		return fmt.Errorf("set the password of user %q: %w", user, err)
	}
	return nil
}
