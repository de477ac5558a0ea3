package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// Reasons of an error Status: a stable word that clients match on.
const (
	ReasonBadRequest       = "BadRequest"       // 400: the request or its body cannot be read
	ReasonNotFound         = "NotFound"         // 404: no such object or path
	ReasonMethodNotAllowed = "MethodNotAllowed" // 405
	ReasonAlreadyExists    = "AlreadyExists"    // 409: create of a key that is taken
	ReasonConflict         = "Conflict"         // 409: stale resourceVersion, or the object is being deleted
	ReasonInUse            = "InUse"            // 409: other objects refer to it
	ReasonTooLarge         = "RequestEntityTooLarge"
	ReasonUnsupportedMedia = "UnsupportedMediaType"
	ReasonInvalid          = "Invalid"  // 422: the object breaks validation rules
	ReasonInternal         = "Internal" // 500: details are in the server's log
	// ReasonExpired (410): a watch from a resourceVersion whose changes are no longer kept.
	ReasonExpired = "Expired"
	// ReasonTooManyRequests (429): the server has as many watches as it serves.
	ReasonTooManyRequests = "TooManyRequests"
	// ReasonServiceUnavailable (503): a watch asked for while the server stops.
	ReasonServiceUnavailable = "ServiceUnavailable"
)

// Status is the body of every error response.
type Status struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Code       int                `json:"code"`
	Reason     string             `json:"reason"`
	Message    string             `json:"message"`
	Errors     v1alpha1.ErrorList `json:"errors,omitempty"`
}

// apiError is an error a handler returns to be written as a Status. cause, when set, is logged
// and never sent.
type apiError struct {
	code    int
	reason  string
	message string
	errors  v1alpha1.ErrorList
	cause   error
	// public sends the message of a 5xx answer: it says what the client can do, and holds
	// nothing of the server's internals.
	public bool
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.message + ": " + e.cause.Error()
	}
	return e.message
}

func (e *apiError) Unwrap() error { return e.cause }

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, reason: ReasonBadRequest, message: fmt.Sprintf(format, args...)}
}

func notFound(kind, key string) *apiError {
	return &apiError{code: http.StatusNotFound, reason: ReasonNotFound, message: fmt.Sprintf("%s %q not found", kind, key)}
}

func conflict(reason, format string, args ...any) *apiError {
	return &apiError{code: http.StatusConflict, reason: reason, message: fmt.Sprintf(format, args...)}
}

// internal wraps an unexpected error; the client sees a generic message, the log the details.
func internal(err error, format string, args ...any) *apiError {
	return &apiError{code: http.StatusInternalServerError, reason: ReasonInternal,
		message: fmt.Sprintf(format, args...), cause: err}
}

// methodNotAllowed answers 405 for the methods a path does not serve.
func methodNotAllowed(allow string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ string) error {
		w.Header().Set("Allow", allow)
		return &apiError{code: http.StatusMethodNotAllowed, reason: ReasonMethodNotAllowed,
			message: fmt.Sprintf("method %s is not allowed on %s: use %s", r.Method, r.URL.Path, allow)}
	}
}

// writeError writes err as a Status. An error that is not an *apiError is an internal one.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = internal(err, "internal error")
	}
	noteError(r.Context(), ae)
	msg := ae.message
	if ae.code >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("error", ae.Error()),
		)
		if !ae.public {
			msg = "internal error: see the server's log"
		}
	}
	s.writeJSON(w, r, ae.code, Status{
		APIVersion: v1alpha1.GroupVersion,
		Kind:       "Status",
		Code:       ae.code,
		Reason:     ae.reason,
		Message:    msg,
		Errors:     ae.errors,
	})
}

// writeJSON writes v as the JSON response.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.ErrorContext(r.Context(), "encode response", "method", r.Method, "path", r.URL.Path, "error", err)
		code = http.StatusInternalServerError
		data = []byte(`{"apiVersion":"` + v1alpha1.GroupVersion + `","kind":"Status","code":500,"reason":"Internal","message":"internal error: see the server's log"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	addWarningHeaders(w.Header(), r.Context())
	w.WriteHeader(code)
	_, _ = w.Write(append(data, '\n'))
}
