package conn

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"ownhttp/proto"
)

// ErrWouldBlock is what a non-blocking Transport returns when the socket cannot take more
// bytes now; the engine calls OnWritable when it can.
var ErrWouldBlock = errors.New("conn: would block")

// Conn drives one connection. See the package doc for who may call what.
type Conn struct {
	srv     *Server
	t       Transport
	owner   Owner
	obs     Observer
	starter Starter // obs, when it counts dispatches
	date    *proto.DateCache
	remote  netip.AddrPort
	id      uint64
	tls     bool

	// unsent mirrors the response bytes the socket has not taken (len(out)-outPos), written
	// by the owner after each flush and stream append, read by stream producers (Stream.Write)
	// to bound what they queue.
	unsent atomic.Int64

	now time.Time

	// Inbound. in holds bytes not yet consumed (own copy); bytes handed to OnData are parsed
	// in place and only the unconsumed rest is copied here.
	in        []byte
	sh        *Scratch  // the owner's scratch: valid only while an event is handled
	reqActive bool      // a request has started arriving (head or body incomplete)
	headDone  bool      // the current request's head has arrived (its body has not)
	reqStart  time.Time // first byte of the current request
	bodyStart time.Time // when the current request's head was complete
	// headParsed is how many bytes of the current, incomplete head the last parse saw (0:
	// none yet): see worthParsing.
	headParsed int
	// headScan is where the current head's parse resumes, or the head kept whole while its
	// body arrives (proto.ParseHeadFrom); reset with headParsed.
	headScan proto.HeadScan
	// bodyEnd is where the current request's Content-Length body ends in its bytes, once its
	// head is parsed and the body is short (0: not known); until then the head is not parsed
	// again.
	bodyEnd  int
	lastRead time.Time
	chunk    proto.ChunkedDecoder
	chunkOn  bool // chunk decoder belongs to the current request
	chunkOff int  // undecoded chunked bytes start here, relative to the request
	body     []byte
	sent100  bool
	served   int

	// Outbound, in order: out[outPos:], then file, then the active stream, then queue.
	// out is nil while nothing waits to be sent; during an event it is usually sh.Out (see
	// borrowOut), and only output a slow socket did not take is copied into a buffer of c's.
	out       []byte
	outShared bool // out is sh.Out, borrowed for the current event
	outPos    int
	file      *slot
	active    *slot
	wire      *slot // a wired response being carried out (see Wire)
	queue     []*slot
	wantWrite bool
	lastWrite time.Time

	// unsafePending counts queued responses to unsafe requests (POST, PUT, DELETE, PATCH…)
	// still being produced: later pipelined requests wait for them (RFC 9112 §9.3.2 allows
	// handling pipelined requests in parallel only while they are all safe).
	unsafePending int

	closeAfter bool // close once everything queued is written
	resetAtEnd bool // the close is a reset (a Wire's): Transport.Reset, then close
	linger     bool // the close should drain input first
	lingering  bool
	lingerEnd  time.Time
	lingerIn   int
	readEOF    bool
	closed     bool
	wantRead   bool
}

// Scratch is per-owner working memory that connections share: the request being parsed,
// the exchange handed to the handler, the record handed to the observer and the output
// buffer responses are rendered into. An owner (an event loop) handles one connection at a
// time, so its connections can share one; nothing in it survives an event, which is why an
// idle connection holds no buffers.
type Scratch struct {
	Req  proto.Request
	X    Exchange
	Comp Completed
	// Out is lent to one connection at a time (outUser) and handed back when the event's
	// output is written; output left unsent is copied out first.
	Out     []byte
	outUser *Conn
	// end is the completion time of responses finished during the current event (read once
	// per event, not per response: pipelined responses finished together share it).
	end    time.Time
	endSet bool
}

// New returns the driver for an accepted connection. date is the owner's cached Date value;
// scratch is the owner's shared Scratch (nil: the connection gets its own).
func New(srv *Server, t Transport, owner Owner, obs Observer, date *proto.DateCache, scratch *Scratch,
	remote netip.AddrPort, id uint64, tls bool, now time.Time) *Conn {
	if scratch == nil {
		scratch = new(Scratch)
	}
	c := new(Conn)
	Init(c, srv, t, owner, obs, date, scratch, remote, id, tls, now)
	return c
}

// Init is New for a Conn the engine allocates itself (embedded in its own record); c must
// be zero.
func Init(c *Conn, srv *Server, t Transport, owner Owner, obs Observer, date *proto.DateCache, scratch *Scratch,
	remote netip.AddrPort, id uint64, tls bool, now time.Time) {
	*c = Conn{srv: srv, t: t, owner: owner, obs: obs, date: date, remote: remote, id: id, tls: tls,
		now: now, lastRead: now, lastWrite: now, wantRead: true, sh: scratch}
	c.starter, _ = obs.(Starter)
}

// UseScratch gives c the Scratch its events work in from now on and returns the one it had.
// An owner whose connections are handled concurrently (the threadpool) lends each one a
// Scratch per event instead of one for good, so an idle connection keeps none: nothing of an
// earlier event (views into the read buffer, the output buffer) stays with it. With nil, c's
// event methods (On…, RunPosted, Abort) must not be called until it has one again. Call it
// between events only.
func (c *Conn) UseScratch(sh *Scratch) *Scratch {
	old := c.sh
	c.sh = sh
	return old
}

// ID returns the connection id given to New.
func (c *Conn) ID() uint64 { return c.id }

// Closed reports that the connection is finished: the engine closes the socket and forgets c.
func (c *Conn) Closed() bool { return c.closed }

// WantRead reports whether the engine should read more input now (false under backpressure,
// while lingering it stays true so input can be drained).
func (c *Conn) WantRead() bool { return !c.closed && c.wantRead && !c.readEOF }

// Answered reports that a request was dispatched and the connection is still open after the
// event: more writes may follow (further requests, or a response still being sent, such as a
// stream). An engine turns Nagle's algorithm off then, as nginx's tcp_nodelay does on
// keep-alive: a connection that is answered in one write and closed never needs it.
func (c *Conn) Answered() bool { return !c.closed && c.served > 0 }

// WantWrite reports whether output is waiting for the socket to become writable.
func (c *Conn) WantWrite() bool { return !c.closed && c.wantWrite }

// Idle reports whether no request is in progress and nothing is waiting to be sent.
func (c *Conn) Idle() bool {
	return !c.reqActive && len(c.in) == 0 && c.outPos == len(c.out) && c.file == nil &&
		c.active == nil && c.wire == nil && len(c.queue) == 0
}

// OnData handles bytes read from the socket. p is only borrowed: it may be the engine's
// shared read buffer, and no view into it survives the call.
func (c *Conn) OnData(p []byte, now time.Time) {
	c.sh.endSet = false
	if c.closed {
		return
	}
	c.now, c.lastRead = now, now
	if c.lingering {
		c.lingerIn += len(p)
		if c.lingerIn > 1<<20 {
			c.shut()
		}
		return
	}
	if len(c.in) == 0 {
		n := c.process(p)
		if n < len(p) && !c.closed && !c.closeAfter {
			c.in = append(c.in, p[n:]...)
		}
	} else {
		c.in = append(c.in, p...)
		c.consumeIn()
	}
	c.flush()
}

// OnBusy handles bytes read when the engine has no capacity to serve them (the threadpool's
// workers are busy and its wait queue is full). The next request — the one p starts or
// continues, or the first one held back in the inbound buffer — is answered 503 with
// Retry-After: 1 and Connection: close in its turn, after the responses already due on the
// connection, so the refusal never lands ahead of or inside another response. p and any
// buffered input are dropped and no further request is read; the connection closes once the
// 503 is written. The refusal is not an exchange: the observer is not told. On a connection
// that is already closing (see Closing) nothing is refused and p is handled as by OnData.
func (c *Conn) OnBusy(p []byte, now time.Time) {
	if c.closed || c.closeAfter {
		c.OnData(p, now)
		return
	}
	c.sh.endSet = false
	c.now, c.lastRead = now, now
	var r Reply
	r.Text(503, "text/plain; charset=utf-8", []byte("Service Unavailable"))
	r.Header("Retry-After", "1")
	c.refuse(&r, false)
	c.flush()
}

// Closing reports that the connection serves no further request: it closes once the
// responses already due are written. Input read meanwhile is dropped (or drained while
// lingering), so an engine need not give it a worker.
func (c *Conn) Closing() bool { return c.closed || c.closeAfter }

// OnEOF handles the client's end of input, a half-close: complete requests already received
// are still answered (those held back behind earlier responses too) and queued responses are
// sent; a partial request is dropped unanswered; then the connection closes.
func (c *Conn) OnEOF(now time.Time) {
	c.sh.endSet = false
	if c.closed {
		return
	}
	c.now = now
	c.readEOF = true
	if c.lingering {
		c.shut()
		return
	}
	if c.reqActive { // in holds exactly this request (parsing stopped at its start)
		c.dropIn()
	}
	if c.wire != nil && c.wire.wire.hanging { // a hang lasts until the client goes
		c.wireFinish(c.wire)
		c.pump()
	}
	c.flush()
}

// OnWritable continues sending after the socket became writable.
func (c *Conn) OnWritable(now time.Time) {
	c.sh.endSet = false
	if c.closed {
		return
	}
	c.now = now
	c.flush()
}

// RunPosted runs a function posted through Owner.Post, then sends what it produced.
func (c *Conn) RunPosted(fn func(), now time.Time) {
	c.sh.endSet = false
	if c.closed {
		return
	}
	c.now = now
	fn()
	c.flush()
}

// Deadline returns when OnTimer must next be called (zero: no deadline): the earlier of the
// connection's protocol deadline and its wired response's next step (WireDeadline).
func (c *Conn) Deadline() time.Time {
	d := c.protoDeadline()
	if w := c.WireDeadline(); !w.IsZero() && (d.IsZero() || w.Before(d)) {
		d = w
	}
	return d
}

// WireDeadline returns when a wired response in progress takes its next step (zero: none).
// An engine that sweeps protocol deadlines coarsely keeps a precise timer for this one.
func (c *Conn) WireDeadline() time.Time {
	if c.closed || c.wire == nil {
		return time.Time{}
	}
	return c.wire.wire.next
}

// protoDeadline is the deadline of the protocol's timeouts (see OnTimer).
func (c *Conn) protoDeadline() time.Time {
	switch {
	case c.closed:
		return time.Time{}
	case c.lingering:
		return c.lingerEnd
	case c.wantWrite:
		return c.lastWrite.Add(c.srv.KeepAliveTimeout)
	case c.reqActive && !c.headDone:
		return c.reqStart.Add(c.srv.HeaderTimeout)
	case c.reqActive:
		// A body must keep coming (HeaderTimeout between reads) and end in BodyTimeout.
		d := c.lastRead.Add(c.srv.HeaderTimeout)
		if end := c.bodyStart.Add(c.srv.BodyTimeout); end.Before(d) {
			d = end
		}
		return d
	case c.Idle():
		return c.lastWrite.Add(c.srv.KeepAliveTimeout)
	}
	return time.Time{} // waiting for a handler or a stream: no deadline of ours
}

// OnTimer applies an expired deadline: a wired response takes its next step; an idle
// keep-alive connection is closed quietly; a request still arriving gets 408 and the
// connection closes; a client that stopped reading its responses is dropped.
func (c *Conn) OnTimer(now time.Time) {
	c.sh.endSet = false
	if c.closed {
		return
	}
	c.now = now
	if w := c.WireDeadline(); !w.IsZero() && !now.Before(w) {
		c.wireAdvance()
		c.pump()
		c.flush()
		if c.closed {
			return
		}
	}
	d := c.protoDeadline()
	if d.IsZero() || now.Before(d) {
		return
	}
	switch {
	case c.lingering, c.wantWrite:
		c.shut()
	case c.reqActive:
		c.protoError(&proto.Error{Status: 408, Msg: "request timeout"})
		c.flush()
	default:
		c.shut()
	}
}

// OnDrain is called once when the server starts draining (after Server.StartDrain): an idle
// connection closes now; a busy one finishes the responses it owes and closes once idle. A
// request completed later on a reused connection gets 503 with Retry-After and closes it;
// the first request of a connection is still served.
func (c *Conn) OnDrain(now time.Time) {
	c.sh.endSet = false
	if c.closed {
		return
	}
	c.now = now
	if c.Idle() {
		c.shut()
	}
}

// Abort closes the connection at once (I/O error, server stop).
func (c *Conn) Abort() { c.shut() }

// consumeIn processes buffered input and drops what was consumed.
func (c *Conn) consumeIn() {
	n := c.process(c.in)
	if c.closed || c.closeAfter || c.readEOF && c.reqActive {
		c.dropIn() // nothing more is read: after EOF a partial request can never complete
		return
	}
	rest := copy(c.in, c.in[n:])
	c.in = c.in[:rest]
	if cap(c.in) > 64<<10 && rest < 4<<10 {
		c.in = append([]byte(nil), c.in...)
	}
}

// dropIn forgets unconsumed input and the request being read from it.
func (c *Conn) dropIn() {
	c.reqActive, c.headDone, c.chunkOn = false, false, false
	c.headParsed, c.bodyEnd = 0, 0
	c.headScan.Reset()
	c.in = c.in[:0]
}

// blocked reports whether request processing must pause: too many responses wait, or too
// many bytes are unsent (backpressure).
func (c *Conn) blocked() bool {
	return len(c.queue) >= c.srv.MaxPending || len(c.out)-c.outPos > c.srv.MaxOutput ||
		c.file != nil || c.active != nil || c.unsafePending > 0
}

// parseHead and parseHeadFrom are proto's; tests count the bytes they scan.
var (
	parseHead     = proto.ParseHead
	parseHeadFrom = proto.ParseHeadFrom
)

// headReparseBytes is how many bytes may arrive on an incomplete head before it is parsed
// again without a line having ended.
const headReparseBytes = 512

// worthParsing reports whether rb, an incomplete head the last parse saw headParsed bytes
// of, must be parsed again: always the first time; then once a line has ended in the new
// bytes (the head may be complete, and every rule of the line is decided), once
// headReparseBytes more have come (a line that will not end is still refused promptly: an
// over-long target, a bad byte), or at the head size limit. Each parse resumes at the line
// the last one could not finish (proto.ParseHeadFrom), so a head that trickles in is
// scanned about once, and restored (a copy per field line) a bounded number of times per
// line and per headReparseBytes, not once per read: the work follows the bytes that arrive.
// Parsing is positional, so the answer (complete, or the error) is the same as parsing
// every read.
func (c *Conn) worthParsing(rb []byte, lim *proto.Limits) bool {
	if c.headParsed == 0 || c.headParsed > len(rb) {
		return true
	}
	fresh := rb[c.headParsed:]
	return len(fresh) >= headReparseBytes || len(rb) >= lim.HeaderBytes() ||
		bytes.IndexByte(fresh, '\n') >= 0
}

// safeMethod reports RFC 9110 §9.2.1 safe methods.
func safeMethod(m proto.Method) bool {
	switch m {
	case proto.MethodGET, proto.MethodHEAD, proto.MethodOPTIONS, proto.MethodTRACE:
		return true
	}
	return false
}

// process parses and serves as many complete requests from buf as it can and returns how
// many bytes it consumed.
func (c *Conn) process(buf []byte) int {
	lim, req := &c.srv.Limits, &c.sh.Req
	pos := 0
	for !c.closed && !c.closeAfter && pos < len(buf) {
		if c.blocked() {
			c.wantRead = len(buf)-pos < c.inCap()
			return pos
		}
		rb := buf[pos:]
		if !c.reqActive {
			c.reqActive = true
			c.reqStart = c.now
		}
		if c.headDone && c.bodyEnd > len(rb) {
			return pos // the Content-Length body is still short: no need to parse the head again
		}
		if !c.headDone && !c.worthParsing(rb, lim) {
			break // still ErrNeedMore: the new bytes can neither end the head nor decide it
		}
		var err error
		if c.headParsed == 0 && !c.headDone {
			err = parseHead(rb, lim, req) // the first look, mostly at a whole head: nothing to keep
		} else {
			err = parseHeadFrom(rb, lim, req, &c.headScan) // resumed where the last look stopped
		}
		if err == proto.ErrNeedMore {
			c.headDone = false
			c.headParsed = len(rb)
			break
		}
		c.headParsed = 0
		if err != nil {
			c.protoError(err)
			return len(buf)
		}
		n := req.HeadLen
		if !c.headDone {
			c.bodyStart = c.now // the body's whole-time deadline runs from here
		}
		c.headDone = true
		var body []byte
		switch {
		case req.Chunked:
			if !c.chunkOn {
				c.chunk.ResetFor(lim, req)
				c.chunkOn, c.chunkOff, c.body = true, n, c.body[:0]
			}
			var used int
			c.body, used, err = c.chunk.Decode(c.body, rb[c.chunkOff:])
			c.chunkOff += used
			if err != nil {
				c.protoError(err)
				return len(buf)
			}
			if !c.chunk.Done() {
				c.maybeContinue()
				return pos
			}
			c.chunkOn = false
			body, n = c.body, c.chunkOff
		case req.ContentLength > 0:
			end := n + int(req.ContentLength)
			if len(rb) < end {
				c.maybeContinue()
				c.bodyEnd = end
				return pos
			}
			body, n = rb[req.HeadLen:end], end
		}
		c.dispatch(rb[req.HeadStart:req.HeadLen], body, int64(n))
		c.reqActive, c.headDone = false, false
		c.headParsed, c.bodyEnd = 0, 0
		c.headScan.Reset()
		pos += n
	}
	c.wantRead = true
	return pos
}

// inCap is how much unconsumed input a connection blocked behind earlier responses may hold:
// one maximal request of the ordinary bound (a larger body, proto.Limits.LargeBody, is read
// on once the connection is unblocked).
func (c *Conn) inCap() int {
	return c.srv.Limits.HeaderBytes() + int(c.srv.Limits.BodyBytes()) + 4<<10
}

// maybeContinue sends "100 Continue" once for a request whose head asked for it and whose
// body has not arrived (RFC 9110 §10.1.1), in order after earlier responses. Never on
// HTTP/1.0 (the parser ignores Expect there) and never when the request will be refused.
func (c *Conn) maybeContinue() {
	if !c.sh.Req.Expect100 || c.sent100 || (c.srv.Draining() && c.served > 0) {
		return
	}
	c.sent100 = true
	const cont = "HTTP/1.1 100 Continue\r\n\r\n"
	if c.queueEmpty() {
		c.borrowOut()
		c.out = append(c.out, cont...)
		return
	}
	c.queue = append(c.queue, &slot{ready: true, interim: true, buf: []byte(cont)})
}

func (c *Conn) queueEmpty() bool {
	return len(c.queue) == 0 && c.file == nil && c.active == nil && c.wire == nil
}

// dispatch hands one complete request to the handler and queues its response.
func (c *Conn) dispatch(head, body []byte, bytesIn int64) {
	c.served++
	c.sent100 = false
	x := &c.sh.X
	x.Reply.reset()
	x.c = c
	x.Req, x.Body, x.Head = &c.sh.Req, body, head
	x.Remote, x.ConnID, x.Seq, x.Now, x.TLS = c.remote, c.id, c.served, c.now, c.tls
	x.TraceID = c.srv.traceID(c.id, c.served)
	x.Draining = c.srv.Draining()
	x.Reused = c.served > 1
	x.pending = nil
	x.Status = 200
	x.bytesIn = bytesIn
	x.closeConn = !x.Req.KeepAlive() || c.served >= c.srv.MaxKeepAliveRequests
	if c.starter != nil {
		c.starter.Started()
	}

	if x.Draining && c.served > 1 {
		// Drain: a further request on a kept-alive connection is refused so the client
		// retries elsewhere; the first request of a connection is still served.
		x.Text(503, "text/plain; charset=utf-8", []byte("Server Draining"))
		x.Header("Retry-After", "2")
		x.Close = true
	} else {
		c.serve(x)
	}
	if x.Close || x.closeConn {
		c.closeAfter = true
		// Linger unless the client itself asked to close: it may still be sending.
		c.linger = x.Req.KeepAlive()
	}
	if x.pending != nil {
		return
	}
	if x.file == nil && x.Wire == nil && c.queueEmpty() {
		start := len(c.out)
		c.borrowOut()
		c.out = c.render(c.out, &x.Reply, x.Req.Method, x.Req.HTTP11(), x.TraceID, c.served, c.closeAfter)
		resp := c.out[start:]
		hl := len(resp) - bodySent(&x.Reply, x.Req.Method)
		c.observe(x.Reply.outcome(), head, body, x.Req.Path, x.Req.Method, x.Seq, x.TraceID, bytesIn, int64(len(resp)), c.reqStart,
			resp[:hl], resp[hl:])
		return
	}
	s := c.newPendingSlot(x)
	s.close = c.closeAfter
	c.complete(s, &x.Reply)
}

// serve calls the handler; a panic becomes a 500 and a log line, never a dead connection.
func (c *Conn) serve(x *Exchange) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.logPanic(p)
			if x.pending != nil {
				return // the reply was handed off before the panic; it completes on its own
			}
			x.Reply.reset()
			x.Text(500, "text/plain; charset=utf-8", []byte("Internal Server Error"))
			x.Close = true
		}
	}()
	c.srv.Handler.Serve(x)
}

// protoError answers a request the parser refused (or a timeout) and closes the connection.
func (c *Conn) protoError(err error) {
	pe, ok := err.(*proto.Error)
	if !ok {
		pe = &proto.Error{Status: 400, Msg: err.Error()}
	}
	if c.starter != nil {
		c.starter.Started() // every observed exchange was started, so in-flight stays exact
	}
	var r Reply
	r.Text(pe.Status, "text/plain; charset=utf-8", []byte(proto.StatusText(pe.Status)))
	c.refuse(&r, true)
}

// refuse answers the next request with r and closes the connection after it: the request in
// progress is abandoned and buffered input dropped; r goes out after the responses already
// due (at once when none is). observed reports it as a protocol error.
func (c *Conn) refuse(r *Reply, observed bool) {
	c.reqActive, c.headDone = false, false
	c.headParsed, c.bodyEnd = 0, 0
	c.headScan.Reset()
	c.chunkOn = false
	c.closeAfter, c.linger = true, true
	c.in = c.in[:0]
	seq := c.served + 1
	trace := c.srv.traceID(c.id, seq)
	if c.queueEmpty() {
		start := len(c.out)
		c.borrowOut()
		c.out = c.render(c.out, r, proto.MethodUnknown, true, trace, seq, true)
		if observed {
			resp := c.out[start:]
			hl := len(resp) - bodySent(r, proto.MethodUnknown)
			c.observe(r.outcome(), nil, nil, nil, proto.MethodUnknown, seq, trace, 0, int64(len(resp)), c.reqStart, resp[:hl], resp[hl:])
		}
		return
	}
	s := &slot{method: proto.MethodUnknown, http11: true, seq: seq, trace: trace, start: c.reqStart, close: true,
		protoErr: observed, interim: !observed}
	c.queue = append(c.queue, s)
	c.complete(s, r)
}

// outcome is what the observer learns of a reply; a slot keeps its own, since an inline
// reply is reused by the next request.
type outcome struct {
	status int
	route  string
	tags   Tags
	fault  string
}

func (r *Reply) outcome() outcome {
	o := outcome{status: r.Status, route: r.Route, tags: r.Tags}
	if r.Wire != nil && r.file == nil && r.stream == nil {
		o.fault = wireLabel(r.Wire)
	}
	return o
}

// observe reports a finished exchange to the observer.
func (c *Conn) observe(r outcome, head, body, path []byte, m proto.Method, seq int, trace uint64,
	bytesIn, bytesOut int64, start time.Time, respHead, respBody []byte) {
	if c.obs == nil {
		return
	}
	protoErr := m == proto.MethodUnknown
	if !c.sh.endSet {
		c.sh.end, c.sh.endSet = c.srv.Now(), true
	}
	c.sh.Comp = Completed{
		Remote: c.remote, ConnID: c.id, Seq: seq, TraceID: trace, Method: m, Path: path,
		Head: head, Body: body, Status: r.status, BytesIn: bytesIn, BytesOut: bytesOut,
		Start: start, End: c.sh.end, Route: r.route, Reused: seq > 1, Tags: r.tags,
		Proto: protoErr, Draining: c.srv.Draining(), Fault: r.fault, RespHead: respHead, RespBody: respBody,
	}
	c.obs.Done(&c.sh.Comp)
}

// render appends the response head (and a byte body) for r.
func (c *Conn) render(dst []byte, r *Reply, m proto.Method, http11 bool, trace uint64, seq int, closeConn bool) []byte {
	status := r.Status
	if status < 100 || status > 599 {
		status = 500
	}
	dst = proto.AppendStatusLine(dst, status)
	dst = append(dst, "Date: "...)
	dst = append(dst, c.date.Bytes()...)
	dst = append(dst, "\r\n"...)
	dst = append(dst, serverHeader...)
	dst = append(dst, r.hdr...)
	noBody := noBodyStatus(status)
	wire := r.Wire != nil && r.file == nil && r.stream == nil
	switch {
	case noBody:
		// RFC 9110 §8.6: no Content-Length on 1xx and 204; a 304 carries none here either.
	case r.stream != nil || wire && r.Wire.Chunked:
		if http11 {
			dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
		}
	case r.file != nil:
		dst = proto.AppendHeaderInt(dst, "Content-Length", r.fileLen)
	case wire:
		dst = proto.AppendHeaderInt(dst, "Content-Length", max(int64(len(r.Body))+r.Wire.LengthDelta, 0))
	default:
		dst = proto.AppendHeaderInt(dst, "Content-Length", int64(len(r.Body)))
	}
	dst = append(dst, "X-Request-ID: "...)
	dst = appendHex16(dst, trace)
	dst = append(dst, "\r\n"...)
	if closeConn {
		dst = append(dst, "Connection: close\r\n"...)
	} else {
		dst = append(dst, "Connection: keep-alive\r\n"...)
		dst = append(dst, c.srv.keepAlive...)
		dst = strconv.AppendUint(dst, uint64(max(c.srv.MaxKeepAliveRequests-seq, 0)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if m != proto.MethodHEAD && !noBody && r.file == nil && r.stream == nil && !wire {
		dst = append(dst, r.Body...)
	}
	return dst
}

// bodySent is how many bytes of body render appends after the head for r.
func bodySent(r *Reply, m proto.Method) int {
	status := r.Status
	if status < 100 || status > 599 {
		status = 500
	}
	if m == proto.MethodHEAD || noBodyStatus(status) || r.file != nil || r.stream != nil ||
		r.Wire != nil && r.file == nil && r.stream == nil {
		return 0
	}
	return len(r.Body)
}

// slot is a response that is not (yet) in the output buffer: it completes later, it is a
// file or a stream, or an earlier response is still waiting.
type slot struct {
	ready    bool
	unsafe   bool // counted in Conn.unsafePending until the reply arrives
	interim  bool // not an exchange (a 100 Continue, a busy refusal): sent in turn, never observed
	protoErr bool
	buf      []byte // rendered head (and byte body; the head alone for a wired response)
	headLen  int    // the head's length in buf
	close    bool
	method   proto.Method
	http11   bool
	seq      int
	trace    uint64
	start    time.Time
	head     []byte // copies for the observer
	body     []byte
	path     []byte
	bytesIn  int64
	bytesOut int64
	outcome  outcome
	wire     *wireRun // a wired response (Reply.Wire); buf is unused then

	file    *os.File
	fileOff int64
	fileLen int64

	stream    *Stream
	rawStream bool   // HTTP/1.0: the body ends with the connection, no chunk framing
	pendingSB []byte // stream bytes that arrived before the slot's turn
	streamEnd bool
}

// newPendingSlot queues a slot for x's response, copying what the observer will need.
func (c *Conn) newPendingSlot(x *Exchange) *slot {
	s := &slot{method: x.Req.Method, http11: x.Req.HTTP11(), seq: x.Seq, trace: x.TraceID, start: c.reqStart,
		head: append([]byte(nil), x.Head...), body: append([]byte(nil), x.Body...),
		path: append([]byte(nil), x.Req.Path...), bytesIn: x.bytesIn, close: x.closeConn,
		unsafe: !safeMethod(x.Req.Method)}
	if s.unsafe {
		c.unsafePending++
	}
	c.queue = append(c.queue, s)
	return s
}

// complete fills slot s with reply r (on the owner goroutine) and moves ready responses out.
func (c *Conn) complete(s *slot, r *Reply) {
	if c.closed {
		if r.file != nil {
			r.file.Close()
		}
		if r.stream != nil {
			r.stream.finish()
		}
		return
	}
	if r.Close && !s.close {
		s.close = true
		c.closeAfter, c.linger = true, true
	}
	if s.unsafe {
		s.unsafe = false
		c.unsafePending--
	}
	s.outcome = r.outcome()
	s.rawStream = r.stream != nil && !s.http11
	if s.rawStream {
		s.close = true
		c.closeAfter = true
	}
	s.buf = c.render(s.buf[:0], r, s.method, s.http11, s.trace, s.seq, s.close)
	s.bytesOut = int64(len(s.buf))
	s.headLen = len(s.buf) - bodySent(r, s.method)
	if r.Wire != nil && r.file == nil && r.stream == nil {
		s.wire = newWireRun(r.Wire, r, s, s.buf, c.now)
		if r.Wire.Injected != nil {
			r.Wire.Injected(s.wire.offset(len(s.buf)))
		}
	}
	if r.file != nil {
		if s.method == proto.MethodHEAD || r.Status == 304 || r.Status == 204 {
			r.file.Close()
		} else {
			s.file, s.fileOff, s.fileLen = r.file, r.fileOff, r.fileLen
		}
		r.file = nil
	}
	if r.stream != nil {
		s.stream = r.stream
		if s.method == proto.MethodHEAD {
			s.stream = nil // HEAD: the head alone; the producer sees a closed stream
			r.stream.finish()
		}
	}
	s.ready = true
	c.pump()
}

// pump moves ready slots, in order, into the output.
func (c *Conn) pump() {
	for c.file == nil && c.active == nil && c.wire == nil && len(c.queue) > 0 && c.queue[0].ready {
		s := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		if len(c.queue) == 0 {
			c.queue = c.queue[:0:0]
		}
		if s.wire != nil {
			c.wire = s
			c.wireAdvance()
			continue
		}
		c.borrowOut()
		c.out = append(c.out, s.buf...)
		if s.interim {
			continue
		}
		switch {
		case s.file != nil:
			c.file = s
		case s.stream != nil:
			c.active = s
			c.borrowOut()
			c.out = append(c.out, s.pendingSB...)
			s.bytesOut += int64(len(s.pendingSB))
			s.pendingSB = nil
			if s.streamEnd {
				c.endStream(s)
			}
		default:
			c.finishSlot(s)
		}
	}
}

// finishSlot reports a slot's exchange and applies its close decision.
func (c *Conn) finishSlot(s *slot) {
	if s.protoErr {
		c.observe(s.outcome, nil, nil, nil, proto.MethodUnknown, s.seq, s.trace, 0, s.bytesOut, s.start, s.buf[:s.headLen], s.buf[s.headLen:])
	} else {
		respBody := s.buf[s.headLen:]
		if s.wire != nil {
			respBody = s.wire.body // the answer as the reply gave it, whatever the wire did to it
		}
		c.observe(s.outcome, s.head, s.body, s.path, s.method, s.seq, s.trace, s.bytesIn, s.bytesOut, s.start, s.buf[:s.headLen], respBody)
	}
	if s.close {
		c.closeAfter = true
		for _, q := range c.queue {
			c.dropSlot(q)
		}
		c.queue = nil
	}
}

func (c *Conn) dropSlot(s *slot) {
	if s.file != nil {
		s.file.Close()
	}
	if s.stream != nil {
		s.stream.finish()
	}
}

// streamData appends stream bytes, already chunk-encoded unless the stream is raw (on the
// owner goroutine).
func (c *Conn) streamData(st *Stream, enc []byte) {
	s := st.slot
	if c.closed {
		st.finish()
		return
	}
	if c.active != s {
		s.pendingSB = append(s.pendingSB, enc...)
		if len(s.pendingSB) > c.srv.MaxStreamBacklog {
			st.finish()
			c.shut()
		}
		return
	}
	if len(c.out)-c.outPos > c.srv.MaxStreamBacklog {
		// The client does not read: cut it off rather than buffer without bound.
		st.finish()
		c.shut()
		return
	}
	c.borrowOut()
	c.out = append(c.out, enc...)
	s.bytesOut += int64(len(enc))
	c.unsent.Store(int64(len(c.out) - c.outPos))
}

// streamEnd finishes a stream's body (on the owner goroutine).
func (c *Conn) streamEnd(st *Stream) {
	s := st.slot
	if c.closed {
		st.finish()
		return
	}
	s.streamEnd = true
	if c.active == s {
		c.endStream(s)
		c.pump()
	}
}

func (c *Conn) endStream(s *slot) {
	if !s.rawStream {
		c.borrowOut()
		c.out = append(c.out, proto.LastChunk...)
		s.bytesOut += int64(len(proto.LastChunk))
	}
	c.active = nil
	s.stream.finish()
	c.finishSlot(s)
}

// borrowOut lends the owner's shared output buffer to c when c holds no output of its own
// and no other connection has it (then c appends to a buffer of its own, as before).
func (c *Conn) borrowOut() {
	if len(c.out) != 0 || c.outShared || c.sh.outUser != nil {
		return
	}
	c.out, c.outPos, c.outShared, c.sh.outUser = c.sh.Out[:0], 0, true, c
}

// returnOut gives the shared output buffer back at the end of an event, keeping its grown
// capacity for the next connection; whatever the socket did not take is copied into a
// buffer of c's own first.
func (c *Conn) returnOut() {
	if !c.outShared {
		return
	}
	b := c.out
	c.outShared, c.sh.outUser = false, nil
	if cap(b) <= maxSharedOut {
		c.sh.Out = b[:0]
	}
	if c.closed || c.outPos == len(b) {
		c.out, c.outPos = nil, 0
		return
	}
	c.out = append([]byte(nil), b[c.outPos:]...)
	c.outPos = 0
}

// maxSharedOut bounds the capacity the shared output buffer keeps between events.
const maxSharedOut = 256 << 10

// flush writes pending output until done or the socket would block, then resumes request
// processing that backpressure paused, and closes when a close was decided. It ends the
// event's use of the shared output buffer.
func (c *Conn) flush() {
	c.flushOut()
	c.returnOut()
}

func (c *Conn) flushOut() {
	defer func() { c.unsent.Store(int64(len(c.out) - c.outPos)) }()
	for !c.closed {
		for c.outPos < len(c.out) {
			var n int
			var err error
			if c.file != nil {
				n, err = c.t.WriteMore(c.out[c.outPos:]) // the head of the file that follows
			} else {
				n, err = c.t.Write(c.out[c.outPos:])
			}
			if n > 0 {
				c.outPos += n
				c.lastWrite = c.now
			}
			if err == ErrWouldBlock {
				c.wantWrite = true
				return
			}
			if err != nil {
				c.shut()
				return
			}
		}
		if c.outShared {
			c.out = c.out[:0]
		} else {
			c.out = nil // an idle connection keeps no output buffer
		}
		c.outPos = 0
		if c.file != nil {
			s := c.file
			n, err := c.t.SendFile(s.file, s.fileOff, s.fileLen)
			if n > 0 {
				s.fileOff += n
				s.fileLen -= n
				s.bytesOut += n
				c.lastWrite = c.now
			}
			if s.fileLen > 0 {
				if err == ErrWouldBlock {
					c.wantWrite = true
					return
				}
				if err == nil && n > 0 {
					continue
				}
				c.shut()
				return
			}
			s.file.Close()
			s.file = nil
			c.file = nil
			c.finishSlot(s)
			c.pump()
			continue
		}
		c.wantWrite = false
		// Output drained: resume requests that backpressure held back.
		if len(c.in) > 0 && !c.blocked() && !c.closeAfter {
			before := len(c.out)
			c.consumeIn()
			if len(c.out) != before || c.file != nil {
				continue
			}
		}
		break
	}
	if c.closed {
		return
	}
	if (c.closeAfter || c.readEOF) && c.queueEmpty() && c.outPos == len(c.out) {
		if c.resetAtEnd {
			c.t.Reset() // best effort: the close that follows is then a reset
			c.shut()
			return
		}
		c.startClose()
		return
	}
	if c.srv.Draining() && c.Idle() {
		c.shut() // drain: a connection that became idle closes instead of waiting for more
	}
}

// startClose ends the connection after its last response: at once, or (after an error, or
// when the client may still be sending) by shutting the write side and draining input
// briefly so the client reads the response instead of a reset — as nginx's lingering close.
func (c *Conn) startClose() {
	if c.lingering {
		return
	}
	if !c.linger || c.readEOF {
		c.shut()
		return
	}
	c.lingering = true
	c.lingerEnd = c.now.Add(c.srv.LingerTimeout)
	c.wantRead = true
	if err := c.t.CloseWrite(); err != nil {
		c.shut()
	}
}

// shut marks the connection closed and releases what it holds; the engine closes the socket.
func (c *Conn) shut() {
	if c.closed {
		return
	}
	c.closed = true
	if c.file != nil {
		c.dropSlot(c.file)
		c.file = nil
	}
	if c.active != nil {
		c.dropSlot(c.active)
		c.active = nil
	}
	c.wire = nil
	for _, s := range c.queue {
		c.dropSlot(s)
	}
	c.queue = nil
	c.returnOut()
	c.in, c.out, c.body = nil, nil, nil
}
