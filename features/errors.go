package features

import (
	"encoding/json"
	"errors"

	"ownhttp/conn"
	"ownhttp/state"
)

const jsonType = "application/json"

// writeJSON answers with v as JSON (answerJSON on the exchange's own reply).
func writeJSON(x *conn.Exchange, status int, v any) { answerJSON(&x.Reply, status, v) }

// writeError answers with the API error shape {"error":{"code":…,"message":…}}.
func writeError(x *conn.Exchange, status int, code, message string) {
	answerError(&x.Reply, status, code, message)
}

// answerJSON fills r with v as JSON; the answer* helpers serve replies finished off the event
// loop (inside x.Go or Defer) and, through the write* helpers, the inline ones.
func answerJSON(r *conn.Reply, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		answerError(r, 500, "internal", "response could not be encoded")
		return
	}
	r.Text(status, jsonType, b)
}

// answerError fills r with the API error shape.
func answerError(r *conn.Reply, status int, code, message string) {
	b, _ := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: message}})
	r.Text(status, jsonType, b)
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
func writeErr(x *conn.Exchange, err error) { answerErr(&x.Reply, err) }

// answerErr fills r with a product error, its status from statusOf.
func answerErr(r *conn.Reply, err error) {
	status, code, msg := statusOf(err)
	answerError(r, status, code, msg)
}
