package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/strata-dev/strata/internal/plan"
)

// ErrorCode returns the Azure error code and the response's status line of an error that wraps
// an *azcore.ResponseError (ok false otherwise). message is the SDK's full text of the error.
func ErrorCode(err error) (code, message string, ok bool) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return "", "", false
	}
	return re.ErrorCode, re.Error(), true
}

// IsPermanent reports whether retrying the same request cannot help: Azure answered 4xx other
// than 408, 429 and 409 AnotherOperationInProgress (or its 429 twin), an adopted resource is
// missing or not as expected, or a resource strata would create belongs to someone else. 5xx, 408, 429, network errors and cancellations are transient.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae *AdoptedError
	var ce *ConflictError
	if errors.As(err, &ae) || errors.As(err, &ce) {
		return true
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch {
	case re.StatusCode == http.StatusRequestTimeout, re.StatusCode == http.StatusTooManyRequests:
		return false
	case re.ErrorCode == "AnotherOperationInProgress", re.ErrorCode == "RetryableErrorDueToAnotherOperation":
		return false
	case re.StatusCode >= 400 && re.StatusCode < 500:
		return true
	case re.StatusCode == http.StatusOK && re.ErrorCode != "":
		// A long-running operation that ended Failed: the async poller reports it with the
		// operation's status code 200. Failures of Azure itself are transient.
		switch re.ErrorCode {
		case "InternalServerError", "ServiceUnavailable", "InternalError", "RetryableError", "AllocationFailed", "OperationPreempted":
			return false
		}
		return true
	}
	return false
}

// AdoptedError says an adopted resource (never written by strata) is missing or differs from
// what the plan expects of it.
type AdoptedError struct {
	Kind plan.Kind
	ID   string
	// Field is the mismatching field; empty when the resource is missing.
	Field string
	// Want and Got are the expected and live values of Field.
	Want, Got string
}

func (e *AdoptedError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("adopted %s %s does not exist", e.Kind, e.ID)
	}
	return fmt.Sprintf("adopted %s %s: %s is %q, expected %q", e.Kind, e.ID, e.Field, e.Got, e.Want)
}

// isNotFound reports a 404 from Azure.
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}
