package features

import (
	"bytes"
	"encoding/json"
	"errors"

	"ownhttp/conn"
	"ownhttp/state"
)

// Errors of the JSON APIs. A handler that refuses a request returns (or answers with) a
// product error: a *state.Error whose Kind decides the HTTP status and whose Code and Message
// go in the body. statusOf is the one place where a kind becomes a status, and errorJSON the
// one place where the shape {"error":{"code":…,"message":…}} is rendered.

const jsonType = "application/json"

// Kinds of the HTTP layer's own refusals, which state has no kind for. They continue state's
// numbering (well past its last kind) so that one table maps every kind.
const (
	kindUnauthorized     state.Kind = 64 + iota // 401: the demo token is missing or wrong
	kindMethodNotAllowed                        // 405: a known API path that does not serve the method
	kindMisdirected                             // 421: the Host does not name this server (origin.go)
	kindLoop                                    // 508: a request to self tried to start another
)

// kindStatus is the HTTP status of each error kind. Read-only.
var kindStatus = map[state.Kind]int{
	state.KindInvalid:     400,
	kindUnauthorized:      401,
	state.KindForbidden:   403,
	state.KindNotFound:    404,
	kindMethodNotAllowed:  405,
	state.KindConflict:    409,
	kindMisdirected:       421,
	state.KindTooLarge:    413,
	state.KindInternal:    500,
	state.KindUpstream:    502,
	state.KindUnavailable: 503,
	state.KindTimeout:     504,
	kindLoop:              508,
}

// labErr builds a product error for statusOf; the Kind decides the status there.
func labErr(k state.Kind, code, message string) error {
	return &state.Error{Kind: k, Code: code, Message: message}
}

// loopErr refuses a request this server sent to itself that would start another (508).
func loopErr(message string) error { return labErr(kindLoop, codeLoop, message) }

// statusOf maps a product error to its HTTP status, code and message. This is the one place
// where error kinds become status codes; an error that is not a product error, or a kind
// without a status, is a 500 internal.
func statusOf(err error) (status int, code, message string) {
	var se *state.Error
	if !errors.As(err, &se) {
		return 500, state.CodeInternal, "internal error"
	}
	status, ok := kindStatus[se.Kind]
	if !ok {
		status = 500
	}
	return status, se.Code, se.Message
}

// errorJSON renders the API error shape {"error":{"code":…,"message":…}}. The message's <, >
// and & stay as they are (the body is JSON, never HTML).
func errorJSON(code, message string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(errorBody{Error: errorDetail{Code: code, Message: message}}) // two strings cannot fail
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeErr answers the exchange with a product error.
func writeErr(x *conn.Exchange, err error) { answerErr(&x.Reply, err) }

// answerErr fills r with a product error, its status from statusOf. The answer* helpers
// serve replies finished off the event loop (inside x.Go or Defer) and, through the write*
// helpers, the inline ones.
func answerErr(r *conn.Reply, err error) {
	status, code, msg := statusOf(err)
	r.Text(status, jsonType, errorJSON(code, msg))
}

// writeJSON answers with v as JSON (answerJSON on the exchange's own reply).
func writeJSON(x *conn.Exchange, status int, v any) { answerJSON(&x.Reply, status, v) }

// answerJSON fills r with v as JSON.
func answerJSON(r *conn.Reply, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		answerErr(r, labErr(state.KindInternal, state.CodeInternal, "response could not be encoded"))
		return
	}
	r.Text(status, jsonType, b)
}
