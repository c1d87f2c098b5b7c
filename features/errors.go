package features

import (
	"encoding/json"
	"errors"

	"ownhttp/conn"
	"ownhttp/state"
)

const jsonType = "application/json"

// writeJSON answers with v as JSON.
func writeJSON(x *conn.Exchange, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(x, 500, "internal", "response could not be encoded")
		return
	}
	x.Text(status, jsonType, b)
}

// writeError answers with the API error shape {"error":{"code":…,"message":…}}.
func writeError(x *conn.Exchange, status int, code, message string) {
	b, _ := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: message}})
	x.Text(status, jsonType, b)
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf maps a product error to its HTTP status. This is the one place where error kinds
// become status codes.
func statusOf(err error) (status int, code, message string) {
	var se *state.Error
	if !errors.As(err, &se) {
		return 500, "internal", "internal error"
	}
	switch se.Kind {
	case state.KindInvalid:
		status = 400
	case state.KindForbidden:
		status = 403
	case state.KindNotFound:
		status = 404
	case state.KindConflict:
		status = 409
	case state.KindTooLarge:
		status = 413
	case state.KindUnavailable:
		status = 503
	case state.KindUpstream:
		status = 502
	case state.KindTimeout:
		status = 504
	default:
		status = 500
	}
	return status, se.Code, se.Message
}

// writeErr answers with a product error.
func writeErr(x *conn.Exchange, err error) {
	status, code, msg := statusOf(err)
	writeError(x, status, code, msg)
}
