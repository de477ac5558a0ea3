package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/azure"
	"github.com/strata-dev/strata/internal/store"
)

// ReasonAzureError is the reason of a 502 Status: Azure refused or failed a lookup. The
// message starts with Azure's error code.
const ReasonAzureError = "AzureError"

// LookupTimeout bounds the Azure calls of one lookup.
const LookupTimeout = 45 * time.Second

// LookupList is the body of a lookup response: the items as the azure package describes them.
type LookupList struct {
	Items any `json:"items"`
}

// lookup is one kind of lookup: the query parameters it requires besides subscriptionID, and
// the call that answers it.
type lookup struct {
	params []string
	run    func(ctx context.Context, c *azure.Clients, q lookupQuery) (any, error)
}

// lookupQuery holds the query parameters of a lookup.
type lookupQuery struct {
	subscriptionID, location, resourceGroup, storageAccount string
}

// lookupParams are the rules of the lookups' query parameters, those of the spec fields that
// hold the same values. Each becomes a segment of an ARM path (the location a value of an
// OData filter), so a value must obey its rule before any request is sent: "../.." as a
// subscription would otherwise reach other ARM paths with the account's token.
var lookupParams = map[string]v1alpha1.AzureName{
	"subscriptionID": v1alpha1.AzureSubscriptionID,
	"location":       v1alpha1.AzureLocation,
	"resourceGroup":  v1alpha1.AzureResourceGroup,
	"storageAccount": v1alpha1.AzureStorageAccount,
}

// parseLookupQuery reads the query parameters of lookup what: subscriptionID and l.params,
// each given once, each obeying its rule (lookupParams); others are refused. A 400 names the
// parameter and its rule.
func parseLookupQuery(what string, l lookup, q url.Values) (lookupQuery, error) {
	allowed := append([]string{"subscriptionID"}, l.params...)
	for name := range q {
		if !slices.Contains(allowed, name) {
			return lookupQuery{}, badRequest("unknown query parameter %q: lookup %s takes %s", name, what, strings.Join(allowed, ", "))
		}
	}
	var errs v1alpha1.ErrorList
	for _, name := range allowed {
		if len(q[name]) > 1 {
			return lookupQuery{}, badRequest("query parameter %s is given %d times", name, len(q[name]))
		}
		if strings.TrimSpace(q.Get(name)) == "" {
			return lookupQuery{}, badRequest("lookup %s needs the query parameter %s", what, name)
		}
		errs = append(errs, v1alpha1.ValidateAzureName(lookupParams[name], v1alpha1.Path(name), q.Get(name))...)
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = "query parameter " + e.Error()
		}
		return lookupQuery{}, &apiError{code: http.StatusBadRequest, reason: ReasonBadRequest, message: strings.Join(msgs, "; "), errors: errs}
	}
	return lookupQuery{subscriptionID: q.Get("subscriptionID"), location: q.Get("location"),
		resourceGroup: q.Get("resourceGroup"), storageAccount: q.Get("storageAccount")}, nil
}

// items turns a typed result into the items of a LookupList, never null.
func items[T any](v []T, err error) (any, error) {
	if v == nil {
		v = []T{}
	}
	return v, err
}

// NamedItem is the item of a lookup that only lists names: resource groups and containers.
type NamedItem struct {
	Name string `json:"name"`
}

// named turns names into NamedItems, never null.
func named(names []string, err error) (any, error) {
	out := make([]NamedItem, len(names))
	for i, n := range names {
		out[i] = NamedItem{Name: n}
	}
	return out, err
}

// lookups are the lookups by path segment.
var lookups = map[string]lookup{
	"locations": {run: func(ctx context.Context, c *azure.Clients, _ lookupQuery) (any, error) {
		return items(c.Locations(ctx))
	}},
	"vmsizes": {params: []string{"location"}, run: func(ctx context.Context, c *azure.Clients, q lookupQuery) (any, error) {
		return items(c.VMSizes(ctx, q.location))
	}},
	"resourcegroups": {run: func(ctx context.Context, c *azure.Clients, _ lookupQuery) (any, error) {
		return named(c.ResourceGroups(ctx))
	}},
	"virtualnetworks": {params: []string{"resourceGroup"}, run: func(ctx context.Context, c *azure.Clients, q lookupQuery) (any, error) {
		return items(c.VirtualNetworks(ctx, q.resourceGroup))
	}},
	"storageaccounts": {params: []string{"resourceGroup"}, run: func(ctx context.Context, c *azure.Clients, q lookupQuery) (any, error) {
		return items(c.StorageAccounts(ctx, q.resourceGroup))
	}},
	"containers": {params: []string{"resourceGroup", "storageAccount"}, run: func(ctx context.Context, c *azure.Clients, q lookupQuery) (any, error) {
		return named(c.Containers(ctx, q.resourceGroup, q.storageAccount))
	}},
}

// lookupNames lists the lookups, sorted, for error messages.
func lookupNames() string {
	names := make([]string, 0, len(lookups))
	for n := range lookups {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// lookup answers GET /cloudaccounts/{key}/lookups/{what}: what exists in an Azure subscription,
// listed with the cloud account's service principal. The query parameter subscriptionID is
// required; vmsizes needs location, virtualnetworks and storageaccounts resourceGroup,
// containers resourceGroup and storageAccount. Unknown parameters are refused.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	key, what := r.PathValue("key"), r.PathValue("what")
	if kind != v1alpha1.KindCloudAccount {
		return &apiError{code: http.StatusNotFound, reason: ReasonNotFound,
			message: fmt.Sprintf("no lookups for %s: lookups are under %s/%s/{name}/lookups/{%s}", v1alpha1.Plural(kind), APIPath, v1alpha1.Plural(v1alpha1.KindCloudAccount), strings.ReplaceAll(lookupNames(), ", ", "|"))}
	}
	l, ok := lookups[what]
	if !ok {
		return &apiError{code: http.StatusNotFound, reason: ReasonNotFound,
			message: fmt.Sprintf("unknown lookup %q: the lookups are %s", what, lookupNames())}
	}
	lq, err := parseLookupQuery(what, l, r.URL.Query())
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
	acct := obj.(*v1alpha1.CloudAccount)
	if err := notThroughGateway(acct); err != nil {
		return err
	}
	if acct.Spec.Azure.ClientSecret.Empty() {
		return conflict(ReasonConflict, "%s %q has no client secret: apply it with spec.azure.clientSecret", kind, key)
	}
	clients, err := azure.NewClients(ctx, acct, lq.subscriptionID, azure.Options{Logger: s.log})
	if err != nil {
		return conflict(ReasonConflict, "%s %q cannot be used: %v", kind, key, err)
	}
	lctx, cancel := context.WithTimeout(ctx, LookupTimeout)
	defer cancel()
	out, err := l.run(lctx, clients, lq)
	if err != nil {
		s.writeAzureError(w, r, fmt.Sprintf("lookup %s with cloud account %q", what, key), err,
			slog.String("lookup", what), slog.String("cloudAccount", key))
		return nil
	}
	s.writeJSON(w, r, http.StatusOK, LookupList{Items: out})
	return nil
}

// writeAzureError writes a request that Azure failed as a 502 Status whose message starts
// with Azure's error code, then says what was asked (request). Unlike other 5xx answers, the
// message is sent: it is Azure's, not the server's. The warning logged carries attrs, which
// say what was asked in fields of their own.
func (s *Server) writeAzureError(w http.ResponseWriter, r *http.Request, request string, err error, attrs ...slog.Attr) {
	code, msg := azureError(err)
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

// azureError returns the Azure error code of err and a one-line message: the code and message
// of Azure's error body when there is one.
func azureError(err error) (code, msg string) {
	var re *azcore.ResponseError
	var auth *azidentity.AuthenticationFailedError
	var resp *http.Response
	var netErr net.Error
	switch {
	case errors.As(err, &re):
		code, resp = re.ErrorCode, re.RawResponse
		if code == "" {
			code = http.StatusText(re.StatusCode)
		}
	case errors.As(err, &auth):
		code, resp = "AuthenticationFailed", auth.RawResponse
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout", fmt.Sprintf("Azure did not answer within %s", LookupTimeout)
	case errors.As(err, &netErr):
		return "Unreachable", oneLine(err.Error())
	default:
		return "LookupFailed", oneLine(err.Error())
	}
	if m := bodyMessage(resp); m != "" {
		return code, m
	}
	if resp != nil {
		return code, fmt.Sprintf("HTTP %d from %s %s", resp.StatusCode, resp.Request.Method, resp.Request.URL.Path)
	}
	return code, oneLine(err.Error())
}

// bodyMessage extracts the message of an ARM error body ({"error":{"message":...}}) or an
// Entra one ({"error_description":...}).
func bodyMessage(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	data, err := runtime.Payload(resp)
	if err != nil {
		return ""
	}
	var body struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	if json.Unmarshal(data, &body) != nil {
		return ""
	}
	var arm struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body.Error, &arm) == nil && arm.Message != "" {
		return oneLine(arm.Message)
	}
	return oneLine(body.Desc)
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}
