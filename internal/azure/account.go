package azure

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// ListSubscriptions signs in with the account's service principal and lists the IDs of the
// subscriptions it can access (Resource Manager's GET /subscriptions), sorted. It sends one
// token request (unless a token is cached) and one list request per page.
func ListSubscriptions(ctx context.Context, acct *v1alpha1.CloudAccount, opts Options) ([]string, error) {
	ss, err := newSession(acct, opts)
	if err != nil {
		return nil, err
	}
	subs, err := listSubscriptions(ctx, ss.cred, &arm.ClientOptions{
		ClientOptions: azcore.ClientOptions{Cloud: ss.cloud, Transport: ss.http, Retry: retryOptions},
	})
	if err != nil {
		return nil, fmt.Errorf("list the subscriptions of cloud account %s: %w", acct.Metadata.Name, err)
	}
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.SubscriptionID
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// listSubscriptions lists the subscriptions a credential can see (GET /subscriptions), in
// Azure's order, those without an ID left out.
func listSubscriptions(ctx context.Context, cred azcore.TokenCredential, opts *arm.ClientOptions) ([]Subscription, error) {
	client, err := armsubscriptions.NewClient(cred, opts)
	if err != nil {
		return nil, fmt.Errorf("subscriptions client: %w", err)
	}
	subs, err := allPages(ctx, client.NewListPager(nil), func(r armsubscriptions.ClientListResponse) []*armsubscriptions.Subscription { return r.Value })
	if err != nil {
		return nil, err
	}
	var out []Subscription
	for _, s := range subs {
		if s != nil && s.SubscriptionID != nil {
			out = append(out, Subscription{SubscriptionID: *s.SubscriptionID, DisplayName: deref(s.DisplayName), State: deref(s.State)})
		}
	}
	return out, nil
}

// Failure reasons for errors that carry no code of Azure's.
const (
	// ReasonTimeout: Azure did not answer in time.
	ReasonTimeout = "Timeout"
	// ReasonUnreachable: Azure could not be reached (connection refused, no such host, TLS).
	ReasonUnreachable = "Unreachable"
)

// Failure names what went wrong with a request to Azure, as a condition's reason and a
// one-line message: Entra ID's error code when it refused to sign in (invalid_client for a
// wrong secret, unauthorized_client, invalid_request...) with its AADSTS description, Resource
// Manager's error code (AuthorizationFailed...) with its message, Timeout when the request
// timed out, Unreachable when the endpoint could not be reached, else fallback and the error's
// first line.
func Failure(err error, fallback string) (reason, message string) {
	var re *azcore.ResponseError
	var auth *azidentity.AuthenticationFailedError
	var ne net.Error
	switch {
	case errors.As(err, &auth) && auth.RawResponse != nil:
		code, desc := entraError(auth.RawResponse)
		if code == "" {
			code = "AuthenticationFailed"
		}
		return code, firstLine(cmp.Or(desc, err.Error()))
	case errors.As(err, &re):
		code := re.ErrorCode
		if code == "" {
			code = http.StatusText(re.StatusCode)
		}
		return code, firstLine(cmp.Or(armMessage(re.RawResponse), err.Error()))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout, oneLine(err.Error())
	case errors.As(err, &ne):
		return ReasonUnreachable, oneLine(err.Error())
	}
	// The sign-in library reports a failed discovery of the tenant's endpoints as text only.
	msg := oneLine(err.Error())
	for _, m := range transportMarkers {
		if strings.Contains(msg, m.text) {
			return m.reason, msg
		}
	}
	return fallback, firstLine(err.Error())
}

// transportMarkers recognise, in an error's text, failures whose type was lost on the way.
var transportMarkers = []struct{ text, reason string }{
	{"TLS handshake timeout", ReasonTimeout},
	{"i/o timeout", ReasonTimeout},
	{"context deadline exceeded", ReasonTimeout},
	{"Client.Timeout exceeded", ReasonTimeout},
	{"timeout awaiting response headers", ReasonTimeout},
	{"connection refused", ReasonUnreachable},
	{"connection reset", ReasonUnreachable},
	{"no such host", ReasonUnreachable},
	{"network is unreachable", ReasonUnreachable},
	{"certificate signed by unknown authority", ReasonUnreachable},
}

// oneLine joins the lines of an error's text and drops the SDK's troubleshooting link.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, " To troubleshoot, visit"); i >= 0 {
		s = s[:i]
	}
	return s
}

// entraError reads an Entra ID error body: {"error": "invalid_client", "error_description":
// "AADSTS7000215: ..."}.
func entraError(resp *http.Response) (code, desc string) {
	data, err := runtime.Payload(resp)
	if err != nil {
		return "", ""
	}
	var body struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	if json.Unmarshal(data, &body) != nil {
		return "", ""
	}
	return body.Error, body.Desc
}

// armMessage reads the message of a Resource Manager error body: {"error": {"message": ...}}.
func armMessage(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	data, err := runtime.Payload(resp)
	if err != nil {
		return ""
	}
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) != nil {
		return ""
	}
	return body.Error.Message
}

// firstLine keeps the first line of s.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// Refused reports whether Entra ID or Resource Manager refused a request in a way that the
// same request will meet again: a 4xx answer other than 408 and 429 (a wrong secret, an
// unknown tenant or application, a missing role). Timeouts, unreachable endpoints, throttling
// and Azure's own failures are not refusals.
func Refused(err error) bool {
	var auth *azidentity.AuthenticationFailedError
	if errors.As(err, &auth) && auth.RawResponse != nil {
		code := auth.RawResponse.StatusCode
		return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
	}
	var re *azcore.ResponseError
	return errors.As(err, &re) && IsPermanent(err)
}
