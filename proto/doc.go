// Package proto is ownhttp's HTTP/1.1 wire format: an incremental request-head parser over
// caller-owned bytes, message framing (Content-Length and chunked), protocol limits, protocol
// errors that carry their status code, and the response side (status lines, header lines, the
// chunked encoder and a cached IMF-fixdate Date value).
//
// proto does no I/O, starts no goroutines and never reads the clock: callers pass the bytes they
// have received and the time they want written. Every value returned by the parser that is a
// []byte is a view into the caller's buffer; it stays valid only as long as the caller leaves
// that buffer unchanged. The parser, the chunked decoder and the date cache are not safe for
// concurrent use: each connection (or event loop) owns its own.
//
// Rules are cited to RFC 9112 (HTTP/1.1 message syntax) and RFC 9110 (HTTP semantics) where
// they are enforced.
package proto
