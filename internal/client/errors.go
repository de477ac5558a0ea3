package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Reasons of the server's Status errors.
const (
	ReasonInvalid       = "Invalid"
	ReasonBadRequest    = "BadRequest"
	ReasonNotFound      = "NotFound"
	ReasonAlreadyExists = "AlreadyExists"
	ReasonConflict      = "Conflict"
	ReasonInUse         = "InUse"
	ReasonInternal      = "Internal"
)

// APIError is an error the server answered with: its HTTP code, the reason and message of its
// Status body, and the field errors of an Invalid object.
type APIError struct {
	Code    int
	Reason  string
	Message string
	Errors  v1alpha1.ErrorList
}

// Error returns the reason and message, then one line per field error.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, fe := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// ReasonOf returns the reason of the APIError in err's chain, or "" when there is none.
func ReasonOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}

// IsNotFound reports whether err is the server saying the object does not exist.
func IsNotFound(err error) bool { return ReasonOf(err) == ReasonNotFound }

// IsInvalid reports whether err is the server refusing an invalid object.
func IsInvalid(err error) bool { return ReasonOf(err) == ReasonInvalid }

// IsInUse reports whether err is the server refusing to delete an object others refer to.
func IsInUse(err error) bool { return ReasonOf(err) == ReasonInUse }

// IsAlreadyExists reports whether err is the server refusing to create an object that exists.
func IsAlreadyExists(err error) bool { return ReasonOf(err) == ReasonAlreadyExists }

// IsConflict reports whether err is the server refusing a write with a stale resourceVersion.
func IsConflict(err error) bool { return ReasonOf(err) == ReasonConflict }

// ErrUnreachable matches every *UnreachableError with errors.Is.
var ErrUnreachable = errors.New("cannot reach the strata server")

// UnreachableError means the request never got an answer: nothing listens at the address, the
// name does not resolve, the connection broke or timed out.
type UnreachableError struct {
	Server string
	Err    error
}

// Error names the server and the cause.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the strata server at %s: %v", e.Server, e.Err)
}

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// Cause says in a few words why the server could not be reached: "connection refused",
// "timed out", "no such host", or the underlying error.
func (e *UnreachableError) Cause() string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(e.Err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host " + dnsErr.Name
	case errors.As(e.Err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(e.Err, syscall.ECONNRESET):
		return "connection reset"
	}
	return e.Err.Error()
}

// parseAPIError builds the APIError of a non-2xx response. A body that is not a Status (a proxy's
// HTML page, say) still gives an APIError, with the reason taken from the code.
func parseAPIError(code int, body []byte) *APIError {
	var st struct {
		Kind    string                `json:"kind"`
		Code    int                   `json:"code"`
		Reason  string                `json:"reason"`
		Message string                `json:"message"`
		Errors  []v1alpha1.FieldError `json:"errors"`
	}
	if err := json.Unmarshal(body, &st); err == nil && (st.Kind == "Status" || st.Reason != "" || st.Message != "") {
		ae := &APIError{Code: code, Reason: st.Reason, Message: st.Message, Errors: st.Errors}
		if ae.Reason == "" {
			ae.Reason = reasonFor(code)
		}
		return ae
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > maxErrorBody {
		msg = msg[:maxErrorBody] + "..."
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	return &APIError{Code: code, Reason: reasonFor(code), Message: fmt.Sprintf("HTTP %d: %s", code, msg)}
}

// reasonFor maps an HTTP code to the reason the contract pairs with it.
func reasonFor(code int) string {
	switch code {
	case http.StatusBadRequest:
		return ReasonBadRequest
	case http.StatusNotFound:
		return ReasonNotFound
	case http.StatusConflict:
		return ReasonConflict
	case http.StatusUnprocessableEntity:
		return ReasonInvalid
	}
	if code >= 500 {
		return ReasonInternal
	}
	return http.StatusText(code)
}
