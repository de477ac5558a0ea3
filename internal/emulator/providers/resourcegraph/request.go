package resourcegraph

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/strata-dev/strata/internal/emulator/arm"
)

// request is the body of a query.
type request struct {
	Subscriptions    []string       `json:"subscriptions"`
	ManagementGroups []string       `json:"managementGroups"`
	Query            string         `json:"query"`
	Options          requestOptions `json:"options"`
}

// requestOptions are a query's options.
type requestOptions struct {
	Top          *int   `json:"$top"`
	Skip         *int   `json:"$skip"`
	SkipToken    string `json:"$skipToken"`
	ResultFormat string `json:"resultFormat"`
}

// readRequest decodes a query's body.
func readRequest(body map[string]any) (*request, *arm.Error) {
	b, err := json.Marshal(body)
	var in request
	if err == nil {
		err = json.Unmarshal(b, &in)
	}
	if err != nil {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and cannot be deserialized: %v.", err)
	}
	if in.Query == "" {
		return nil, arm.Errorf(http.StatusBadRequest, "BadRequest", "The query is missing.")
	}
	switch in.Options.ResultFormat {
	case "", "objectArray", "table":
	default:
		return nil, arm.Errorf(http.StatusBadRequest, "BadRequest", "The resultFormat '%s' is not supported: use objectArray or table.", in.Options.ResultFormat)
	}
	return &in, nil
}

// invalidQuery is Resource Graph's answer to a query it cannot run.
func invalidQuery(e error) *arm.Error {
	err := &queryError{code: codeParser, msg: e.Error()}
	errors.As(e, &err)
	return &arm.Error{Status: http.StatusBadRequest, Code: "BadRequest",
		Message: "Please provide below info when asking for support: the query and the emulator's log. " + err.msg,
		Details: []*arm.Error{
			{Code: "InvalidQuery", Message: "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying."},
			{Code: err.code, Message: err.msg},
		}}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func itoa(n int) string { return strconv.Itoa(n) }
