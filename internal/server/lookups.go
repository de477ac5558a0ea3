package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/authz"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/azurecall"
	"github.com/strata-dev/strata/internal/store"
)

// ReasonAzureError is the reason of a 502 Status: Azure refused or failed a lookup. The
// message starts with Azure's error code.
const ReasonAzureError = "AzureError"

// LookupTimeout bounds the Azure calls of one lookup.
const LookupTimeout = azurecall.Timeout

// LookupList is the body of a lookup response: the items as the azure package describes them.
type LookupList = azurecall.List

// NamedItem is the item of a lookup that only lists names: resource groups and containers.
type NamedItem = azurecall.NamedItem

// lookupCall reads the query parameters of lookup what into a Call: subscriptionID (which
// subscriptions does not need) and the lookup's parameters, each given once, each obeying its
// rule; others are refused. A parameter the lookup requires must be given, and not empty; an
// optional one may be left out, but not given empty. A 400 names the parameter and its rule.
func lookupCall(account, what string, q url.Values) (azurecall.Call, error) {
	required, _ := azurecall.Params(what)
	optional := azurecall.Optional(what)
	if azurecall.SubscriptionOptional(what) {
		optional = append([]string{"subscriptionID"}, optional...)
	} else {
		required = append([]string{"subscriptionID"}, required...)
	}
	allowed := append(slices.Clone(required), optional...)
	for name := range q {
		if !slices.Contains(allowed, name) {
			return azurecall.Call{}, badRequest("unknown query parameter %q: lookup %s takes %s", name, what, strings.Join(allowed, ", "))
		}
	}
	c := azurecall.Call{Account: account, SubscriptionID: q.Get("subscriptionID"), Op: what, Params: map[string]string{}}
	for _, name := range allowed {
		vs, given := q[name]
		switch {
		case len(vs) > 1:
			return c, badRequest("query parameter %s is given %d times", name, len(vs))
		case slices.Contains(required, name) && strings.TrimSpace(q.Get(name)) == "":
			return c, badRequest("lookup %s needs the query parameter %s", what, name)
		case given && strings.TrimSpace(q.Get(name)) == "":
			return c, badRequest("query parameter %s of lookup %s is empty: give a value or leave it out", name, what)
		}
		if given && name != "subscriptionID" {
			c.Params[name] = q.Get(name)
		}
	}
	if errs := azurecall.Validate(c); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = "query parameter " + e.Error()
		}
		return c, &apiError{code: http.StatusBadRequest, reason: ReasonBadRequest, message: strings.Join(msgs, "; "), errors: errs}
	}
	return c, nil
}

// lookupNames lists the lookups, sorted, for error messages.
func lookupNames() string { return strings.Join(azurecall.Lookups(), ", ") }

// lookup answers GET /cloudaccounts/{key}/lookups/{what}: what exists in Azure, listed with
// the cloud account's service principal (by the account's gateway when it is bound to one).
// The query parameter subscriptionID is required by every lookup but subscriptions, which
// lists the subscriptions themselves; vmsizes needs location, containers resourceGroup and
// storageAccount; virtualnetworks, networksecuritygroups and storageaccounts take an optional
// resourceGroup (without it they list the whole subscription). Unknown parameters are
// refused.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	key, what := r.PathValue("key"), r.PathValue("what")
	if kind != v1alpha1.KindCloudAccount {
		return &apiError{code: http.StatusNotFound, reason: ReasonNotFound,
			message: fmt.Sprintf("no lookups for %s: lookups are under %s/%s/{name}/lookups/{%s}", v1alpha1.Plural(kind), APIPath, v1alpha1.Plural(v1alpha1.KindCloudAccount), strings.ReplaceAll(lookupNames(), ", ", "|"))}
	}
	if !slices.Contains(azurecall.Lookups(), what) {
		return &apiError{code: http.StatusNotFound, reason: ReasonNotFound,
			message: fmt.Sprintf("unknown lookup %q: the lookups are %s", what, lookupNames())}
	}
	call, err := lookupCall(key, what, r.URL.Query())
	if err != nil {
		return err
	}
	obj, err := s.store.Get(ctx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(kind, key)
	}
	if err != nil {
		return internal(err, "get %s %q", kind, key)
	}
	if err := guardOf(ctx).allow(authz.VerbUse, obj); err != nil {
		return err
	}
	out, err := s.runCall(ctx, obj.(*v1alpha1.CloudAccount), call)
	if err != nil {
		return s.callFailed(w, r, fmt.Sprintf("lookup %s with cloud account %q", what, key), err,
			slog.String("lookup", what), slog.String("cloudAccount", key))
	}
	s.writeJSON(w, r, http.StatusOK, LookupList{Items: out})
	return nil
}

// runCall runs a Call with the cloud account: here, or through the private cloud gateway the
// account is bound to. An *apiError is the server's refusal; other errors are Azure's (or
// the gateway's report of Azure's), for callFailed.
func (s *Server) runCall(ctx context.Context, acct *v1alpha1.CloudAccount, c azurecall.Call) ([]byte, error) {
	key := acct.Metadata.Name
	if acct.Spec.Azure.ClientSecret.Empty() {
		return nil, conflict(ReasonConflict, "%s %q has no client secret: apply it with spec.azure.clientSecret", v1alpha1.KindCloudAccount, key)
	}
	if gw := acct.Spec.Gateway; gw != "" {
		return s.relayCall(ctx, gw, c)
	}
	clients, err := azurecall.NewClients(ctx, acct, c, azure.Options{Logger: s.log})
	if err != nil {
		return nil, conflict(ReasonConflict, "%s %q cannot be used: %v", v1alpha1.KindCloudAccount, key, err)
	}
	return azurecall.Run(ctx, clients, c)
}

// relayCall runs a Call on a connected replica of the account's gateway.
func (s *Server) relayCall(ctx context.Context, gateway string, c azurecall.Call) ([]byte, error) {
	if s.gateways == nil {
		return nil, conflict(ReasonGatewayBound, "%s %q is bound to private cloud gateway %q, and this server has no agent endpoint (--agent-listen) for gateways to connect to: only the gateway calls Azure for it",
			v1alpha1.KindCloudAccount, c.Account, gateway)
	}
	out, err := s.gateways.Call(ctx, gateway, c)
	if errors.Is(err, azurecall.ErrNoGateway) {
		return nil, &apiError{code: http.StatusServiceUnavailable, reason: ReasonGatewayUnavailable, public: true,
			message: fmt.Sprintf("%s %q is bound to private cloud gateway %q, and no replica of it is connected to this server: only the gateway calls Azure for it; see `strata get gateways`",
				v1alpha1.KindCloudAccount, c.Account, gateway)}
	}
	return out, err
}

// callFailed answers a Call that failed: the server's refusal as it is, Azure's failure as a
// 502 (writeAzureError).
func (s *Server) callFailed(w http.ResponseWriter, r *http.Request, request string, err error, attrs ...slog.Attr) error {
	if ae := (*apiError)(nil); errors.As(err, &ae) {
		return ae
	}
	s.writeAzureError(w, r, request, err, attrs...)
	return nil
}

// writeAzureError writes a request that Azure failed as a 502 Status whose message starts
// with Azure's error code, then says what was asked (request). Unlike other 5xx answers, the
// message is sent: it is Azure's, not the server's. The warning logged carries attrs, which
// say what was asked in fields of their own.
func (s *Server) writeAzureError(w http.ResponseWriter, r *http.Request, request string, err error, attrs ...slog.Attr) {
	code, msg := azurecall.Describe(err)
	attrs = append(attrs, slog.String("azureCode", code), slog.String("error", err.Error()))
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "azure request failed", attrs...)
	s.writeJSON(w, r, http.StatusBadGateway, Status{
		APIVersion: v1alpha1.GroupVersion,
		Kind:       "Status",
		Code:       http.StatusBadGateway,
		Reason:     ReasonAzureError,
		Message:    fmt.Sprintf("%s: %s: %s", code, request, msg),
	})
}
