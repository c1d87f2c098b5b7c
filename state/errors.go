package state

import "errors"

// Kind classifies an Error. The HTTP layer maps each Kind to one status code,
// in one place; this package never speaks HTTP.
type Kind uint8

// The kinds of Error. The comment after each gives the status the spec uses.
const (
	KindInvalid     Kind = iota + 1 // 400: the input is malformed or out of range
	KindForbidden                   // 403: the input is well formed but not allowed (reserved path)
	KindNotFound                    // 404: no such mock or history entry
	KindConflict                    // 409: the change collides with existing state
	KindTooLarge                    // 413: a capacity limit is reached
	KindUnavailable                 // 503: the actor has stopped, or the caller gave up waiting
	KindInternal                    // 500: the change could not be made durable, or a bug
	KindUpstream                    // 502: an upstream the server called failed (refused, DNS, TLS, protocol)
	KindTimeout                     // 504: an upstream the server called did not answer in time
)

var kindNames = [...]string{
	KindInvalid:     "invalid",
	KindForbidden:   "forbidden",
	KindNotFound:    "not_found",
	KindConflict:    "conflict",
	KindTooLarge:    "too_large",
	KindUnavailable: "unavailable",
	KindInternal:    "internal",
	KindUpstream:    "upstream",
	KindTimeout:     "timeout",
}

// String returns the kind's lower-case name, or "unknown".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Error codes carried in Error.Code. They are the spec's codes, sent to clients
// as {"error":{"code":…,"message":…}}.
const (
	CodeInvalidJSON   = "invalid_json"
	CodeInvalidMock   = "invalid_mock"
	CodeDuplicateMock = "duplicate_mock"
	CodeMockLimit     = "mock_limit"
	CodeReadOnlyMock  = "read_only_mock" // a mock loaded from a mock file cannot be changed through the API
	CodeNotFound      = "not_found"
	CodeInvalidFilter = "invalid_filter"
	// CodeInvalidCriteria refuses a request query (POST /api/requests/count and find).
	CodeInvalidCriteria = "invalid_criteria"
	// CodeInvalidMockState refuses a state set through PUT /api/mock-states/{name}.
	CodeInvalidMockState = "invalid_mock_state"
	CodeInvalidRequest   = "invalid_request"
	CodePersistFailed    = "persist_failed"
	CodeUnavailable      = "unavailable"
	CodeCanceled         = "canceled"
	CodeInternal         = "internal"
)

// Error is the product error returned by this package: a Kind for the HTTP
// status, and the Code and Message the client sees. Every error returned by
// an Actor or Model method is an *Error (test with errors.As or KindOf).
type Error struct {
	Kind    Kind
	Code    string
	Message string

	cause error // optional underlying error, exposed through Unwrap
}

// Error implements error as "code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the underlying error, if any (for example context.Canceled).
func (e *Error) Unwrap() error { return e.cause }

// KindOf returns the Kind of err if it is (or wraps) an *Error, and
// KindInternal for any other non-nil error. KindOf(nil) is 0.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

func newErr(k Kind, code, msg string) *Error { return &Error{Kind: k, Code: code, Message: msg} }

func invalidMock(msg string) *Error { return newErr(KindInvalid, CodeInvalidMock, msg) }

func errUnavailable() *Error {
	return newErr(KindUnavailable, CodeUnavailable, "state service is stopped")
}
