package blob

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"time"
)

// storageError is an error answered to the client with the Blob service's XML error body and
// x-ms-error-code header.
type storageError struct {
	Status  int
	Code    string
	Message string
	// Detail, when set, is sent as AuthenticationErrorDetail.
	Detail string
	// Challenge, when set, is sent as WWW-Authenticate.
	Challenge string
}

func (e *storageError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

func newError(status int, code, format string, args ...any) *storageError {
	return &storageError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Errors of the Blob service (learn.microsoft.com/rest/api/storageservices/blob-service-error-codes).
func errContainerNotFound() *storageError {
	return newError(http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
}

func errContainerExists() *storageError {
	return newError(http.StatusConflict, "ContainerAlreadyExists", "The specified container already exists.")
}

func errBlobNotFound() *storageError {
	return newError(http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
}

func errResourceNotFound() *storageError {
	return newError(http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.")
}

func errAuthFailed(detail string) *storageError {
	e := newError(http.StatusForbidden, "AuthenticationFailed",
		"Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")
	e.Detail = detail
	return e
}

func errPermissionMismatch() *storageError {
	return newError(http.StatusForbidden, "AuthorizationPermissionMismatch",
		"This request is not authorized to perform this operation using this permission.")
}

// errAuthorizationFailure: the account's network rules (public network access disabled, or
// a default action Deny) do not let the caller's network in.
func errAuthorizationFailure() *storageError {
	return newError(http.StatusForbidden, "AuthorizationFailure", "This request is not authorized to perform this operation.")
}

func errInvalidHeader(name string) *storageError {
	return newError(http.StatusBadRequest, "InvalidHeaderValue",
		"The value for one of the HTTP headers is not in the correct format. (%s)", name)
}

func errMissingHeader(name string) *storageError {
	return newError(http.StatusBadRequest, "MissingRequiredHeader",
		"An HTTP header that's mandatory for this request is not specified. (%s)", name)
}

func errInvalidQuery(name string) *storageError {
	return newError(http.StatusBadRequest, "InvalidQueryParameterValue",
		"Value for one of the query parameters specified in the request URI is invalid. (%s)", name)
}

func errInvalidBlobType() *storageError {
	return newError(http.StatusConflict, "InvalidBlobType", "The blob type is invalid for this operation.")
}

// errUnsupported answers 501 NotImplemented, as the service does, for a blob feature the
// emulator does not offer (append blobs, stored access policies).
func errUnsupported(what string) *storageError {
	return newError(http.StatusNotImplemented, "NotImplemented",
		"The strata emulator does not support this operation: %s.", what)
}

// xmlDeclaration starts every XML body, as the service writes it.
const xmlDeclaration = `<?xml version="1.0" encoding="utf-8"?>`

// errorBody is the XML body of an error answer.
type errorBody struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	Detail  string   `xml:"AuthenticationErrorDetail,omitempty"`
}

// writeError answers e; HEAD requests get the headers only, as from the service.
func writeError(w http.ResponseWriter, r *http.Request, e *storageError, requestID string, now time.Time) {
	h := w.Header()
	h.Set("x-ms-error-code", e.Code)
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	if r.Method == http.MethodHead || e.Status == http.StatusNotModified {
		w.WriteHeader(e.Status)
		return
	}
	msg := e.Message + "\nRequestId:" + requestID + "\nTime:" + now.UTC().Format("2006-01-02T15:04:05.0000000Z")
	body, err := xml.Marshal(errorBody{Code: e.Code, Message: msg, Detail: e.Detail})
	if err != nil {
		body = []byte("<Error><Code>" + e.Code + "</Code></Error>")
	}
	out := xmlDeclaration + string(body)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(out)))
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(out))
}
