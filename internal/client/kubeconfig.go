package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Reasons of the kubeconfig endpoint's refusals.
const (
	// ReasonForbidden (403): an admin kubeconfig from a server started without
	// --allow-admin-kubeconfig.
	ReasonForbidden = "Forbidden"
	// ReasonNotReady (409): the cluster has no control plane in Azure yet.
	ReasonNotReady = "NotReady"
	// ReasonLocalAccountsDisabled (409): the AKS cluster has no admin kubeconfig, only Entra
	// ID sign-in.
	ReasonLocalAccountsDisabled = "LocalAccountsDisabled"
)

// maxKubeconfigBytes bounds the size of a kubeconfig the client accepts.
const maxKubeconfigBytes = 4 << 20

// Kubeconfig returns the kubeconfig of a cluster: the user kubeconfig, or the admin one when
// admin is set (which the server refuses with 403 Forbidden unless it was started with
// --allow-admin-kubeconfig). An AKS cluster's is the one Azure lists; an IaaS cluster's is
// minted by the server from the cluster CA, with a client certificate valid for 12 hours. The
// bytes are a secret: do not log them. A cluster not provisioned yet fails with reason
// NotReady, an Azure error with code 502 (reason AzureError).
func (c *Client) Kubeconfig(ctx context.Context, name string, admin bool) ([]byte, error) {
	p, err := c.objectPath(v1alpha1.KindCluster, name)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	var q url.Values
	if admin {
		q = url.Values{"admin": {"true"}}
	}
	data, err := c.getRaw(ctx, c.apiURL(p+"/kubeconfig", q), "application/yaml")
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of cluster %q: %w", name, err)
	}
	return data, nil
}

// getRaw GETs u and returns the body of a successful answer as it is; an error answer is an
// *APIError.
func (c *Client) getRaw(ctx context.Context, u, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", accept+", application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKubeconfigBytes+1))
	if err != nil {
		return nil, c.transportError(ctx, fmt.Errorf("read the response: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, parseAPIError(resp.StatusCode, data)
	}
	if len(data) > maxKubeconfigBytes {
		return nil, fmt.Errorf("the server's answer is larger than %d bytes", maxKubeconfigBytes)
	}
	return data, nil
}
