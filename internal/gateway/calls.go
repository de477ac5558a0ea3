package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/azurecall"
	gatewayv1 "github.com/strata-dev/strata/proto/strata/gateway/v1"
)

// maxCalls caps the relayed calls a replica runs at once; more wait their turn.
const maxCalls = 8

// callRunner runs the Azure calls the server relays to the gateway (lookups, AKS
// kubeconfigs) with the gateway's own accounts, as its controller reaches Azure: through its
// proxy, with its User-Agent and source address.
type callRunner struct {
	gateway string
	store   *RemoteStore
	options azure.Options
	slots   chan struct{}
	log     *slog.Logger
}

func newCallRunner(gateway string, store *RemoteStore, options azure.Options, log *slog.Logger) *callRunner {
	return &callRunner{gateway: gateway, store: store, options: options, slots: make(chan struct{}, maxCalls), log: log}
}

// run answers a call: its body, or the error's code and message. The body (a kubeconfig is
// one) is never logged.
func (r *callRunner) run(ctx context.Context, call *gatewayv1.AzureCall) *gatewayv1.AzureResult {
	res := &gatewayv1.AzureResult{Id: call.GetId()}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		res.ErrorCode, res.ErrorMessage = azurecall.Describe(ctx.Err())
		return res
	}
	c := azurecall.Call{Account: call.GetCloudAccount(), SubscriptionID: call.GetSubscriptionId(), Op: call.GetOperation(), Params: call.GetParams()}
	body, err := r.do(ctx, c)
	if err != nil {
		res.ErrorCode, res.ErrorMessage = azurecall.Describe(err)
		r.log.Warn("relayed azure call failed", "operation", c.Op, "cloudAccount", c.Account, "azureCode", res.ErrorCode, "error", err)
		return res
	}
	r.log.Debug("relayed azure call", "operation", c.Op, "cloudAccount", c.Account)
	res.Body = body
	return res
}

// do reads the account through the server (only an account bound to this gateway is given
// to it, secret included), and runs the call with it.
func (r *callRunner) do(ctx context.Context, c azurecall.Call) ([]byte, error) {
	if errs := azurecall.Validate(c); len(errs) > 0 {
		return nil, &azurecall.Error{Code: "InvalidCall", Message: errs[0].Error()}
	}
	obj, err := r.store.Get(ctx, v1alpha1.KindCloudAccount, c.Account)
	if err != nil {
		return nil, &azurecall.Error{Code: "AccountUnavailable", Message: fmt.Sprintf("gateway %q cannot read cloud account %q: %v", r.gateway, c.Account, err)}
	}
	acct, ok := obj.(*v1alpha1.CloudAccount)
	if !ok || acct.Spec.Gateway != r.gateway {
		return nil, &azurecall.Error{Code: "AccountUnavailable", Message: fmt.Sprintf("cloud account %q is not bound to gateway %q", c.Account, r.gateway)}
	}
	clients, err := azurecall.NewClients(ctx, acct, c, r.options)
	if err != nil {
		return nil, &azurecall.Error{Code: "AccountUnusable", Message: fmt.Sprintf("cloud account %q cannot be used: %v", c.Account, err)}
	}
	return azurecall.Run(ctx, clients, c)
}
