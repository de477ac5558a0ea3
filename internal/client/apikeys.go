package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// APIKeyCreated is a new API key, as the server made it, and its token: the only copy of the
// key's secret, shown once.
type APIKeyCreated struct {
	APIKey *v1alpha1.APIKey `json:"apiKey"`
	// Token is "strata_<id>_<secret>"; empty after a dry run.
	Token string `json:"token"`
}

// CreateAPIKey asks the server to make an API key of spec's user, with its description and
// expiry (spec.revoked is normally left false). The server chooses the key's id, its name.
func (c *Client) CreateAPIKey(ctx context.Context, spec v1alpha1.APIKeySpec, opts WriteOptions) (*APIKeyCreated, error) {
	body, err := json.Marshal(struct {
		APIVersion string              `json:"apiVersion"`
		Kind       string              `json:"kind"`
		Spec       v1alpha1.APIKeySpec `json:"spec"`
	}{v1alpha1.GroupVersion, v1alpha1.KindAPIKey, spec})
	if err != nil {
		return nil, fmt.Errorf("create an API key: %w", err)
	}
	var out APIKeyCreated
	if _, err := c.do(ctx, http.MethodPost, "/"+v1alpha1.Plural(v1alpha1.KindAPIKey), writeQuery(opts), body, &out); err != nil {
		return nil, fmt.Errorf("create an API key for user %q: %w", spec.User, err)
	}
	if out.APIKey == nil {
		return nil, fmt.Errorf("create an API key for user %q: the server's answer holds no key", spec.User)
	}
	out.APIKey.TypeMeta = v1alpha1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindAPIKey}
	return &out, nil
}

// setRevokedAttempts bounds the attempts of SetAPIKeyRevoked when the key keeps changing
// (its last use is written at most once a minute, so one retry is normally enough).
const setRevokedAttempts = 5

// SetAPIKeyRevoked revokes the key id (revoked true) or re-activates it (false), by an apply of
// the stored key with spec.revoked changed; Unchanged when it already was. The apply carries
// the key's resourceVersion, so it changes nothing else that changed meanwhile: it reads the
// key again and retries when the server answers that it did.
func (c *Client) SetAPIKeyRevoked(ctx context.Context, id string, revoked bool) (*v1alpha1.APIKey, ApplyResult, error) {
	for attempt := 1; ; attempt++ {
		obj, err := c.Get(ctx, v1alpha1.KindAPIKey, id)
		if err != nil {
			return nil, "", err
		}
		k := obj.(*v1alpha1.APIKey)
		if k.Spec.Revoked == revoked {
			return k, Unchanged, nil
		}
		k.Spec.Revoked = revoked
		out, result, err := c.Apply(ctx, k, WriteOptions{})
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == http.StatusConflict && ae.Reason == ReasonConflict && attempt < setRevokedAttempts {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return out.(*v1alpha1.APIKey), result, nil
	}
}
