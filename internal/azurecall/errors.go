package azurecall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/strata-dev/strata/internal/azure"
)

// CodeLocalAccountsDisabled is the code of an admin kubeconfig refused because the AKS
// cluster's local accounts are disabled (azure.ErrLocalAccountsDisabled).
const CodeLocalAccountsDisabled = "LocalAccountsDisabled"

// Error is a Call's failure as it travels from a gateway: Azure's error code (or one of
// Describe's own) and a one-line message.
type Error struct {
	Code, Message string
}

// Error returns "code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Describe returns the error code of a Call's failure and a one-line message: the code and
// message of Azure's error body when there is one; Timeout, Unreachable or LookupFailed when
// Azure gave no answer; an *Error's own fields.
func Describe(err error) (code, msg string) {
	var ce *Error
	var re *azcore.ResponseError
	var auth *azidentity.AuthenticationFailedError
	var resp *http.Response
	var netErr net.Error
	switch {
	case err == nil:
		return "", ""
	case errors.As(err, &ce):
		return ce.Code, ce.Message
	case errors.Is(err, azure.ErrLocalAccountsDisabled):
		return CodeLocalAccountsDisabled, azure.ErrLocalAccountsDisabled.Error()
	case errors.As(err, &re):
		code, resp = re.ErrorCode, re.RawResponse
		if code == "" {
			code = http.StatusText(re.StatusCode)
		}
	case errors.As(err, &auth):
		code, resp = "AuthenticationFailed", auth.RawResponse
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout", fmt.Sprintf("Azure did not answer within %s", Timeout)
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

// ErrNoGateway is a relayed Call's failure when no replica of the account's gateway is
// connected.
var ErrNoGateway = errors.New("no replica of the private cloud gateway is connected")
