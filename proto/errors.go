package proto

import "errors"

// ErrNeedMore means the input holds no complete element yet: read more bytes and call again
// with the whole buffer (the parser keeps no state between calls, except ChunkedDecoder).
var ErrNeedMore = errors.New("proto: need more data")

// Error is a protocol error: the request cannot be served, Status is the response to send, and
// the connection must be closed after it (every framing or syntax error leaves the stream in an
// unknown state, RFC 9112 §6.3).
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return "proto: " + e.Msg }

func newErr(status int, msg string) *Error { return &Error{Status: status, Msg: msg} }

// Protocol errors returned by the parser. They are shared values: compare with ==, never modify.
var (
	ErrBadRequestLine    = newErr(400, "malformed request line")
	ErrBadMethod         = newErr(400, "method is not a token")
	ErrUnknownMethod     = newErr(501, "method not implemented")
	ErrBadTarget         = newErr(400, "malformed request target")
	ErrTargetTooLong     = newErr(414, "request target too long")
	ErrBadVersion        = newErr(400, "malformed HTTP version")
	ErrVersion           = newErr(505, "HTTP major version not supported")
	ErrHeadTooLarge      = newErr(431, "request head too large")
	ErrTooManyHeaders    = newErr(431, "too many header fields")
	ErrBadHeader         = newErr(400, "malformed header field")
	ErrObsFold           = newErr(400, "obsolete line folding")
	ErrBareCR            = newErr(400, "bare CR")
	ErrBareLF            = newErr(400, "bare LF")
	ErrMissingHost       = newErr(400, "missing Host header")
	ErrDuplicateHost     = newErr(400, "duplicate Host header")
	ErrBadHost           = newErr(400, "invalid Host header")
	ErrBadContentLength  = newErr(400, "invalid Content-Length")
	ErrCLAndTE           = newErr(400, "both Content-Length and Transfer-Encoding")
	ErrTEOnHTTP10        = newErr(400, "Transfer-Encoding on HTTP/1.0")
	ErrUnsupportedTE     = newErr(501, "unsupported transfer coding")
	ErrBadTE             = newErr(400, "chunked is not the final transfer coding")
	ErrExpectation       = newErr(417, "unsupported expectation")
	ErrBodyTooLarge      = newErr(413, "request body too large")
	ErrBadChunk          = newErr(400, "malformed chunk")
	ErrChunkSizeOverflow = newErr(400, "chunk size overflow")
	ErrBadTrailer        = newErr(400, "malformed trailer field")
)
