package conn

import (
	"errors"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"ownhttp/proto"
)

// Reply is a response under construction. Inline replies live in the Exchange and are reused;
// replies finished off the owner goroutine (Exchange.Go) are their own values.
type Reply struct {
	Status int
	// Body is sent after the head. For an inline reply it is copied while the response is
	// rendered, right after Serve returns, so it may be a view into any buffer that lives that
	// long; for a Go reply it must not change after the function returns.
	Body []byte
	// Close asks for the connection to be closed after this response.
	Close bool
	// Route is the route template for metrics ("GET /api/mocks/{id}").
	Route string
	// Tags marks the exchange for history and events.
	Tags Tags
	// Wire, when set, makes the response misbehave on the wire (delay, pacing, faults: see
	// Wire). It must not change once the reply is complete.
	Wire *Wire

	hdr     []byte
	file    *os.File
	fileOff int64
	fileLen int64
	stream  *Stream
}

// Header appends a header line. name must be a token; value must hold no CR, LF or NUL
// (values that come from clients or stored mocks are checked where they enter).
func (r *Reply) Header(name, value string) { r.hdr = proto.AppendHeader(r.hdr, name, value) }

// HeaderBytes appends pre-rendered header lines ("Name: value\r\n"...).
func (r *Reply) HeaderBytes(lines []byte) { r.hdr = append(r.hdr, lines...) }

// Text sets status, Content-Type and body at once.
func (r *Reply) Text(status int, contentType string, body []byte) {
	r.Status = status
	if contentType != "" {
		r.Header("Content-Type", contentType)
	}
	r.Body = body
}

// File sends n bytes of f from off as the body; the connection owns f from now on and closes
// it once sent (or on HEAD, at once). Status and headers are set as for any reply.
func (r *Reply) File(f *os.File, off, n int64) {
	r.file, r.fileOff, r.fileLen = f, off, n
	r.Body = nil
}

func (r *Reply) reset() {
	hdr := r.hdr[:0]
	*r = Reply{hdr: hdr}
}

// Exchange is one request and its response slot. It belongs to the connection's owner (one
// event loop shares one among its connections) and is reused: the Exchange and everything it
// points to are valid only during Handler.Serve. Work that outlives Serve goes through Go,
// Defer or Stream, which hand it a Reply of its own.
type Exchange struct {
	Req  *proto.Request
	Body []byte // decoded body; valid only during Serve
	Head []byte // raw head bytes; valid only during Serve
	// Params holds path parameters for the handler's router (views into the request path,
	// valid only during Serve); kept here so matching a pattern allocates nothing.
	Params [2][]byte

	Remote   netip.AddrPort
	ConnID   uint64
	Seq      int
	TraceID  uint64
	Now      time.Time
	TLS      bool
	Draining bool
	// Reused reports that an earlier request was served on this connection.
	Reused bool

	Reply

	c         *Conn
	pending   *slot // set when the reply completes later (Go or Stream)
	bytesIn   int64
	closeConn bool // the connection closes after this response (decided before Serve)
}

// TraceHex renders TraceID as the 16 hex characters sent in X-Request-ID.
func (x *Exchange) TraceHex() string { return TraceString(x.TraceID) }

// TraceString renders a trace id as the 16 lower-case hex characters of X-Request-ID.
func TraceString(id uint64) string {
	var b [16]byte
	appendHex16(b[:0], id)
	return string(b[:])
}

// Go finishes the reply off the owner goroutine: fn runs on the offload pool and fills r; the
// response is then sent in its turn. r starts with what the handler set so far (headers,
// Route, Tags, Close; status 200). Anything fn needs from the request must be copied before
// Go returns (the request's views die with Serve). When the pool is full the client gets 503
// (the handler's own if it implements BusyReplier).
func (x *Exchange) Go(fn func(r *Reply)) { x.GoOn(x.c.srv.Offload, fn) }

// GoOn is Go on a pool of the caller's choosing (blocking work of one kind, bounded on its
// own; nil is the connection's default pool): when that pool is full the 503 answers this
// request alone, whatever the other pools hold.
func (x *Exchange) GoOn(pool Offloader, fn func(r *Reply)) {
	if pool == nil {
		pool = x.c.srv.Offload
	}
	d := x.Defer()
	if !pool.Go(func() { d.Done(fn) }) {
		x.busy(d)
	}
}

// GoWithin is GoOn for work that is worthless past deadline: when no worker has started fn
// by then (the pool's workers are all busy), expired fills the reply instead, from a timer
// goroutine, and fn never runs. Once fn has started, deadline is fn's own business (it
// derives a context from it).
func (x *Exchange) GoWithin(pool Offloader, deadline time.Time, fn, expired func(r *Reply)) {
	if pool == nil {
		pool = x.c.srv.Offload
	}
	d := x.Defer()
	var claimed atomic.Bool // the first of worker, timer and busy answer to set it completes d
	timer := time.AfterFunc(time.Until(deadline), func() {
		if claimed.CompareAndSwap(false, true) {
			d.Done(expired)
		}
	})
	ok := pool.Go(func() {
		if claimed.CompareAndSwap(false, true) {
			timer.Stop()
			d.Done(fn)
		}
	})
	if !ok && claimed.CompareAndSwap(false, true) {
		timer.Stop()
		x.busy(d)
	}
}

// busy answers d's request with 503 now, in its place (its pool is full): the handler's own
// answer when it implements BusyReplier. Owner goroutine only.
func (x *Exchange) busy(d *Deferred) {
	d.done.Store(true)
	r := &Reply{Route: d.r.Route, Tags: d.r.Tags}
	if b, ok := x.c.srv.Handler.(BusyReplier); ok {
		b.Busy(x, r)
	} else {
		r.Text(503, "text/plain; charset=utf-8", []byte("Service Unavailable"))
		r.Header("Retry-After", "1")
	}
	x.c.complete(d.s, r)
}

// Defer hands the reply to work the handler runs itself, on a goroutine of its own rather
// than the offload pool (a scenario run, which lasts as long as its steps, must not hold an
// offload worker). Like Go it reserves the response's place in the connection's order and
// starts the reply with what the handler set so far (headers, Route, Tags, Close; status
// 200). The caller must complete the returned Deferred exactly once, with Done, from any
// goroutine: until then the connection's later responses wait behind this one. Anything the
// work needs from the request must be copied before Serve returns.
func (x *Exchange) Defer() *Deferred {
	c := x.c
	s := c.newPendingSlot(x)
	x.pending = s
	r := &Reply{Status: 200, Route: x.Route, Tags: x.Tags, Close: x.Close, hdr: append([]byte(nil), x.hdr...)}
	return &Deferred{c: c, s: s, r: r}
}

// Deferred is a reply completed later by the goroutine that holds it (see Exchange.Defer).
type Deferred struct {
	c    *Conn
	s    *slot
	r    *Reply
	done atomic.Bool
}

// Done fills the reply with fill, on the calling goroutine, and posts it to the connection,
// which sends it in its turn (or drops it when the connection is gone). A panic in fill
// becomes a 500 and a log line. Only the first call counts; later calls do nothing. Apart
// from fill it never blocks. The reply must not be touched after fill returns.
func (d *Deferred) Done(fill func(r *Reply)) {
	if d.done.Swap(true) {
		return
	}
	c, s, r := d.c, d.s, d.r
	defer func() {
		if p := recover(); p != nil {
			c.srv.logPanic(p)
			*r = Reply{}
			r.Text(500, "text/plain; charset=utf-8", []byte("Internal Server Error"))
		}
		if !c.owner.Post(func() { c.complete(s, r) }) && r.file != nil {
			r.file.Close()
		}
	}()
	fill(r)
}

// Stream answers with a chunked body (or, for SSE, a body that lasts until either side
// ends it). The head is sent with status and the reply's headers; the returned Stream is then
// written from any goroutine. For HEAD requests the head is sent without a body and the
// stream is already closed.
func (x *Exchange) Stream(status int) *Stream {
	c := x.c
	st := &Stream{c: c, done: make(chan struct{})}
	x.Status = status
	s := c.newPendingSlot(x)
	x.pending = s
	st.slot = s
	r := &Reply{Status: status, hdr: append([]byte(nil), x.hdr...), Route: x.Route, Tags: x.Tags, Close: x.Close, stream: st}
	c.complete(s, r)
	st.raw = s.rawStream
	return st
}

// ErrStreamClosed is returned by Stream.Write once the connection is gone, the stream was
// closed, or the client fell too far behind.
var ErrStreamClosed = errors.New("conn: stream closed")

// Stream is a response body written over time from any goroutine. Writes are posted to the
// connection's owner and appended to its output; a client that does not read fast enough is
// cut off (the connection closes, Done is closed, Write returns ErrStreamClosed) — it is
// never waited for.
type Stream struct {
	c      *Conn
	slot   *slot
	raw    bool // HTTP/1.0: written as is, no chunk framing; set before the stream is handed out
	closed atomic.Bool
	// queued is the bytes Write handed to the owner that streamData has not taken yet.
	queued atomic.Int64
	once   sync.Once
	done   chan struct{} // closed when the stream or its connection ends
}

// Write sends p as one chunk of the body. It copies p and never blocks; ErrStreamClosed
// once the stream or its connection has ended. The bound holds here, when p is queued: a
// write that would take the stream past Server.MaxStreamBacklog unsent bytes (queued here
// and not yet taken by the connection, plus the connection's unsent output; a stream with
// nothing unsent takes any one write), or every stream's queued bytes past
// Server.MaxStreamsBacklog, cuts the stream and its connection instead of queuing more.
func (s *Stream) Write(p []byte) error {
	if s.closed.Load() {
		return ErrStreamClosed
	}
	if len(p) == 0 {
		return nil
	}
	srv, n := s.c.srv, int64(len(p))
	if held := s.queued.Load() + s.c.unsent.Load(); held > 0 && held+n > int64(srv.MaxStreamBacklog) ||
		srv.streamsBacklog.Load()+n > srv.MaxStreamsBacklog {
		s.cut()
		return ErrStreamClosed
	}
	s.queued.Add(n)
	srv.streamsBacklog.Add(n)
	if s.closed.Load() { // finished meanwhile: its release may have missed these bytes
		s.release(n)
		return ErrStreamClosed
	}
	// The one copy is the encoded chunk: streamData appends it as it is.
	var b []byte
	if s.raw {
		b = append([]byte(nil), p...)
	} else {
		b = proto.AppendChunk(make([]byte, 0, len(p)+chunkFraming), p)
	}
	if !s.c.owner.Post(func() {
		s.release(n)
		s.c.streamData(s, b)
	}) {
		s.release(n)
		s.finish()
		return ErrStreamClosed
	}
	return nil
}

// release takes n bytes off the stream's and the server's queued counts, unless finish
// already took everything (a posted task can be dropped with its connection, so finish is
// what guarantees the counts come back).
func (s *Stream) release(n int64) {
	for {
		q := s.queued.Load()
		if q < n {
			return
		}
		if s.queued.CompareAndSwap(q, q-n) {
			s.c.srv.streamsBacklog.Add(-n)
			return
		}
	}
}

// cut ends the stream and closes its connection: its client fell behind.
func (s *Stream) cut() {
	s.closed.Store(true)
	if !s.c.owner.Post(func() {
		s.finish()
		s.c.shut()
	}) {
		s.finish()
	}
}

// Close ends the body (the last chunk is sent). It is idempotent.
func (s *Stream) Close() {
	if s.closed.Swap(true) {
		return
	}
	if !s.c.owner.Post(func() { s.c.streamEnd(s) }) {
		s.finish()
	}
}

// Done is closed when the stream has ended for any reason; producers select on it to stop.
func (s *Stream) Done() <-chan struct{} { return s.done }

func (s *Stream) finish() {
	s.closed.Store(true)
	s.c.srv.streamsBacklog.Add(-s.queued.Swap(0))
	s.once.Do(func() { close(s.done) })
}

const hexDigits = "0123456789abcdef"

// chunkFraming is the most a chunk's framing adds to its data: 16 hex digits and two CRLFs.
const chunkFraming = 16 + 4

func appendHex16(dst []byte, v uint64) []byte {
	for i := 60; i >= 0; i -= 4 {
		dst = append(dst, hexDigits[(v>>uint(i))&0xf])
	}
	return dst
}
