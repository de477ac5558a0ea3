package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// CanI is the server's answer to whether the caller may do something.
type CanI struct {
	Allowed bool   `json:"allowed"`
	Binding string `json:"binding,omitempty"`
	Reason  string `json:"reason"`
}

// CanI asks whether the caller may do verb on the object of kind named name or, with name
// empty, on some object of the kind.
func (c *Client) CanI(ctx context.Context, verb, kind, name string) (CanI, error) {
	q := url.Values{"verb": {verb}, "kind": {v1alpha1.Plural(kind)}}
	if name != "" {
		q.Set("name", name)
	}
	var out CanI
	if _, err := c.do(ctx, http.MethodGet, "/can-i", q, nil, &out); err != nil {
		return CanI{}, fmt.Errorf("can-i %s %s %s: %w", verb, kind, name, err)
	}
	return out, nil
}
