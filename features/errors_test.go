package features

import (
	"errors"
	"testing"

	"github.com/matryer/is"

	"ownhttp/state"
)

// Every kind has its status, and the shape is rendered as the README shows it.
func TestStatusOf(t *testing.T) {
	is := is.New(t)
	for kind, want := range map[state.Kind]int{
		state.KindInvalid: 400, kindUnauthorized: 401, state.KindForbidden: 403, state.KindNotFound: 404,
		kindMethodNotAllowed: 405, state.KindConflict: 409, state.KindTooLarge: 413, state.KindInternal: 500,
		state.KindUpstream: 502, state.KindUnavailable: 503, state.KindTimeout: 504, kindLoop: 508,
		0: 500, 250: 500,
	} {
		status, code, msg := statusOf(labErr(kind, "c", "m"))
		is.Equal(status, want) // kind
		is.Equal(code, "c")
		is.Equal(msg, "m")
	}
	status, code, _ := statusOf(errors.New("plain"))
	is.Equal(status, 500)
	is.Equal(code, "internal")

	is.Equal(unauthorizedStatus, 401)
	is.Equal(string(unauthorizedBody),
		`{"error":{"code":"unauthorized","message":"a valid demo token is required: Authorization: Bearer <token>"}}`)
}
