package arm

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
)

// recorder remembers the status of an answer for the counters.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack supports HTTP/1 connection hijacking through the recorder.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// errorBody is ARM's error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code           string        `json:"code"`
	Message        string        `json:"message"`
	Target         string        `json:"target,omitempty"`
	Details        []errorDetail `json:"details,omitempty"`
	AdditionalInfo []any         `json:"additionalInfo,omitempty"`
}

func detailOf(e *Error) errorDetail {
	d := errorDetail{Code: e.Code, Message: e.Message, Target: e.Target}
	for _, x := range e.Details {
		d.Details = append(d.Details, detailOf(x))
	}
	return d
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if v == nil {
		w.Header().Del("Content-Type")
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(errorBody{errorDetail{Code: "InternalServerError", Message: "encoding the answer: " + err.Error()}})
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("x-ms-error-code", e.Code)
	writeJSON(w, status, errorBody{detailOf(e)})
}
