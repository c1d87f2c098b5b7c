// Package conn is one HTTP/1.1 connection's protocol driver, shared by both engines: the
// inbound buffer and parser, the ordered queue of pipelined responses, keep-alive and close
// decisions, 100-continue, deadlines as values, lingering close and drain behaviour.
//
// Concurrency: a *Conn belongs to exactly one goroutine at a time, its owner (an event loop
// on the reactor engine, the connection's goroutine under a lock on the pool engine). Every
// method of Conn is called by the owner only. Other goroutines (handlers that finish later,
// stream producers) reach a connection only through Owner.Post, which runs a function on the
// owner. conn does no I/O of its own except through the Transport the engine provides.
package conn

import (
	"net/netip"
	"os"
	"time"

	"ownhttp/proto"
)

// Handler serves requests. Serve runs on the connection's owner goroutine and must not block:
// it either fills x's response before returning, or hands the work to x.Go (which runs it on
// the bounded offload pool) or x.Stream.
type Handler interface {
	Serve(x *Exchange)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(x *Exchange)

// Serve calls f(x).
func (f HandlerFunc) Serve(x *Exchange) { f(x) }

// Observer is told about every response once it is final: rendered in full for byte bodies,
// sent in full for files and streams, or refused at the protocol level. Done runs on the owner
// goroutine and must not block; c is valid only during the call.
type Observer interface {
	Done(c *Completed)
}

// Starter is implemented by observers that also want to know when a request is dispatched
// (for an in-flight gauge). Started runs on the owner goroutine and must not block.
type Starter interface {
	Started()
}

// Completed describes one finished exchange for metrics, the access log and history. Every
// []byte is valid only during Observer.Done.
type Completed struct {
	Remote   netip.AddrPort
	ConnID   uint64
	Seq      int    // 1-based request number on the connection; 0 for connection-level rejects
	TraceID  uint64 // also sent as X-Request-ID
	Method   proto.Method
	Path     []byte // raw path without query; nil for protocol errors before the request line
	Head     []byte // raw request head (request line and field lines), nil for protocol errors
	Body     []byte // decoded request body
	Status   int
	BytesIn  int64
	BytesOut int64
	Start    time.Time
	End      time.Time
	Route    string // route template chosen by the handler ("" when none)
	Reused   bool   // an earlier request was served on this connection
	Tags     Tags
	Proto    bool // a protocol error answered by conn itself
	Draining bool
	// Fault names what a wired response did on the wire (Reply.Wire: "latency", "reset",
	// "drip", …); "" for a normal response.
	Fault string
	// RespHead is the response head as rendered (status line and fields); RespBody its body
	// as the reply gave it: empty for HEAD, 1xx, 204 and 304, and for a file or a stream
	// (their bytes never sit in one buffer).
	RespHead, RespBody []byte
}

// Tags are opaque markers a handler attaches to an exchange (scenario run and step ids,
// the recording that proxied it).
type Tags struct {
	RunID, StepID string
	Recording     string
}

// Transport is the engine side of one connection. On the reactor Write and SendFile never
// block and report ErrWouldBlock; on the pool engine they block up to the deadline the engine
// sets.
type Transport interface {
	Write(p []byte) (int, error)
	// WriteMore is Write for bytes that a file body follows at once (a response head): the
	// transport may hold them back to send them with it.
	WriteMore(p []byte) (int, error)
	// SendFile sends up to n bytes of f from off, returning how many were sent.
	SendFile(f *os.File, off, n int64) (int64, error)
	// CloseWrite shuts the sending side (TCP FIN) for a lingering close.
	CloseWrite() error
	// Reset makes the socket's close a TCP reset (SO_LINGER 0), for a Wire's reset; the
	// engine closes it as usual once the connection is closed.
	Reset() error
}

// BusyReplier is implemented by handlers that answer in their own shape when work they hand
// to Exchange.Go finds the offload pool full. Busy runs on the owner during Serve (x and its
// request are valid); r starts with the handler's Route and Tags and must become a 503.
// Without it the answer is a plain-text 503 with Retry-After: 1.
type BusyReplier interface {
	Busy(x *Exchange, r *Reply)
}

// Owner runs functions on the goroutine that owns a connection.
type Owner interface {
	// Post queues fn to run on the owner, after which the owner flushes the connection. It
	// never blocks and reports false when the connection is gone (fn will not run).
	Post(fn func()) bool
}

// Offloader runs blocking work away from the owner goroutine. Go reports false when its
// bound is reached (the caller answers 503).
type Offloader interface {
	Go(fn func()) bool
}
