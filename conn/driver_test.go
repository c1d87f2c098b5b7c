package conn

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/proto"
)

// The tests in this file drive a Conn with a fake clock: every time is a value handed to the
// event methods, so deadlines are checked exactly and nothing sleeps. newTestConn accepts the
// connection at time zero (the Unix epoch); at(s) is s seconds later.

func at(s float64) time.Time { return time.Unix(0, 0).Add(time.Duration(s * float64(time.Second))) }

const (
	testKA     = 10 * time.Second // KeepAliveTimeout (the default)
	testHeader = 3 * time.Second  // HeaderTimeout, set apart from testKA so the two can be told apart
	testLinger = 2 * time.Second  // LingerTimeout (the default)
)

// newTimedConn is newTestConn with HeaderTimeout set to testHeader.
func newTimedConn(h HandlerFunc) (*Conn, *fakeTransport, *fakeOwner, *syncOffload, *recorder) {
	c, tr, ow, off, rec := newTestConn(h)
	c.srv.HeaderTimeout = testHeader
	return c, tr, ow, off, rec
}

// okOrLater answers /slow through the offload pool (the test runs it) and everything else
// inline with "ok".
func okOrLater(x *Exchange) {
	if string(x.Req.Path) == "/slow" {
		x.Go(func(r *Reply) { r.Text(202, "text/plain", []byte("slow")) })
		return
	}
	x.Text(200, "text/plain", []byte("ok"))
}

const getReq = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

// Deadline by state: from accept and after each response, the keep-alive timeout counted from
// the last write; while a head arrives, the header timeout counted from the head's first byte
// (further bytes do not extend it); while a body arrives, the header timeout counted from the
// last read; while a handler or a stream produces the response, none; while a response
// cannot be written, the keep-alive timeout from the last write progress; while lingering,
// the linger end; once closed, none.
func TestDeadlineFollowsState(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, _ := newTimedConn(okOrLater)
	is.Equal(c.Deadline(), at(0).Add(testKA)) // accepted, idle

	c.OnData([]byte("POST / HTTP/1.1\r\n"), at(1))
	is.Equal(c.Deadline(), at(1).Add(testHeader)) // a head is arriving
	c.OnData([]byte("Host: x\r\n"), at(2))
	is.Equal(c.Deadline(), at(1).Add(testHeader)) // the head's deadline does not move
	c.OnData([]byte("Content-Length: 4\r\n\r\nab"), at(3))
	is.Equal(c.Deadline(), at(3).Add(testHeader)) // a body is arriving: from the last read
	c.OnData([]byte("c"), at(4))
	is.Equal(c.Deadline(), at(4).Add(testHeader)) // each read moves it
	c.OnData([]byte("d"), at(5))
	is.Equal(c.Deadline(), at(5).Add(testKA)) // answered inline and written at 5: idle again

	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), at(6))
	is.True(c.Deadline().IsZero()) // the handler has the request: no deadline of ours
	off.runAll()
	ow.drain(at(7))
	is.Equal(c.Deadline(), at(7).Add(testKA)) // its response went out at 7

	tr.blocked = true
	c.OnData([]byte(getReq), at(8))
	is.True(c.WantWrite())
	is.Equal(c.Deadline(), at(7).Add(testKA)) // no write progress since 7
	tr.blocked = false
	c.OnWritable(at(9))
	is.Equal(c.Deadline(), at(9).Add(testKA))

	c.OnData([]byte("BREW / HTTP/1.1\r\n"), at(10)) // 501, then a lingering close
	is.True(tr.closedW)
	is.Equal(c.Deadline(), at(10).Add(testLinger))
	c.Abort()
	is.True(c.Deadline().IsZero())
}

// While a stream is open the connection has no deadline; once it ends the keep-alive timeout
// runs from the last chunk written.
func TestDeadlineWhileStreaming(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, _, ow, _, _ := newTimedConn(func(x *Exchange) { st = x.Stream(200) })
	c.OnData([]byte(getReq), at(1))
	is.True(c.Deadline().IsZero())
	is.NoErr(st.Write([]byte("x")))
	ow.drain(at(30))
	is.True(c.Deadline().IsZero())
	st.Close()
	ow.drain(at(31))
	is.Equal(c.Deadline(), at(31).Add(testKA))
}

// OnTimer before the deadline does nothing. At the deadline an idle connection closes
// without a byte; activity in between moves the deadline.
func TestOnTimerIdle(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, rec := newTimedConn(okOrLater)
	c.OnTimer(at(0).Add(testKA - time.Nanosecond))
	is.True(!c.Closed())
	c.OnData([]byte(getReq), at(5)) // refreshes: the deadline is now 15
	out := tr.out.Len()
	c.OnTimer(at(0).Add(testKA))
	is.True(!c.Closed())
	c.OnTimer(at(5).Add(testKA - time.Nanosecond))
	is.True(!c.Closed())
	c.OnTimer(at(5).Add(testKA))
	is.True(c.Closed())
	is.Equal(tr.out.Len(), out) // closed silently
	is.True(!tr.closedW)        // at once, no lingering close
	is.Equal(rec.statuses, []int{200})
}

// A head still arriving at its deadline gets 408 with Connection: close, and the connection
// then closes by lingering (write side shut, input drained until the linger deadline).
func TestOnTimerPartialHead(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, rec := newTimedConn(okOrLater)
	c.OnData([]byte("GET / HTTP/1.1\r\nHo"), at(1))
	c.OnData([]byte("st: x\r\n"), at(3)) // reading more does not extend a head's deadline
	c.OnTimer(at(1).Add(testHeader - time.Nanosecond))
	is.Equal(tr.out.Len(), 0)
	c.OnTimer(at(1).Add(testHeader))
	out := tr.out.String()
	is.Equal(statusLines(out), []string{"HTTP/1.1 408 Request Timeout"})
	is.True(strings.Contains(out, "Connection: close\r\n"))
	is.True(strings.HasSuffix(out, "\r\n\r\nRequest Timeout"))
	is.Equal(rec.statuses, []int{408})
	is.Equal(rec.protos, []bool{true})
	is.True(tr.closedW)
	is.True(!c.Closed())
	c.OnData([]byte("\r\n"), at(4.5)) // drained and ignored while lingering
	is.Equal(tr.out.String(), out)
	c.OnTimer(at(4).Add(testLinger - time.Nanosecond))
	is.True(!c.Closed())
	c.OnTimer(at(4).Add(testLinger))
	is.True(c.Closed())
}

// A body is timed by inactivity: each read moves the deadline, and when it passes the
// request gets 408.
func TestOnTimerPartialBody(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTimedConn(okOrLater)
	c.OnData([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"), at(1))
	c.OnData([]byte("cd"), at(3))
	c.OnTimer(at(1).Add(testHeader))
	is.Equal(tr.out.Len(), 0)
	c.OnTimer(at(3).Add(testHeader))
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 408 Request Timeout"})
}

// Waiting for a handler there is no deadline: a timer fired late changes nothing.
func TestOnTimerWaitingForHandler(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, _ := newTimedConn(okOrLater)
	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), at(1))
	c.OnTimer(at(1000))
	is.True(!c.Closed())
	off.runAll()
	ow.drain(at(1001))
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 202 Accepted"})
}

// A client that stops reading is dropped when no write has progressed for the keep-alive
// timeout, without a response of its own.
func TestOnTimerStalledWriter(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTimedConn(okOrLater)
	tr.blocked = true
	c.OnData([]byte(getReq), at(1))
	c.OnTimer(at(0).Add(testKA - time.Nanosecond))
	is.True(!c.Closed())
	c.OnTimer(at(0).Add(testKA))
	is.True(c.Closed())
	is.Equal(tr.out.Len(), 0)
}

// EOF with nothing pending closes at once, without a byte.
func TestOnEOFIdle(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTimedConn(okOrLater)
	c.OnData([]byte(getReq), at(1))
	out := tr.out.Len()
	c.OnEOF(at(2))
	is.True(c.Closed())
	is.Equal(tr.out.Len(), out)
	is.True(!tr.closedW)
}

// EOF in the middle of a head: the request can never complete, so it gets no response and the
// connection closes.
func TestOnEOFMidHead(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, rec := newTimedConn(okOrLater)
	c.OnData([]byte("GET / HTTP/1.1\r\nHost: x\r\n"), at(1))
	c.OnEOF(at(2))
	is.True(c.Closed())
	is.Equal(tr.out.Len(), 0)
	is.Equal(len(rec.statuses), 0)
}

// EOF is a half-close: responses still being produced are written, in order, and then the
// connection closes (at once: the client sends nothing more, so nothing lingers). A partial
// request after them is dropped.
func TestOnEOFHalfClose(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, _ := newTimedConn(okOrLater)
	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"+getReq+"GET /partial"), at(1))
	c.OnEOF(at(2))
	is.True(!c.Closed())
	is.True(!c.WantRead())
	is.True(c.Deadline().IsZero()) // the dropped partial request has no header deadline
	off.runAll()
	ow.drain(at(3))
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 200 OK"})
	is.True(c.Closed())
	is.True(!tr.closedW)
}

// Complete requests that arrived before EOF but were held back (here behind an unsafe request
// still being answered, RFC 9112 §9.3.2) are answered too: a client may send its pipeline and
// shut its write side at once.
func TestOnEOFAnswersHeldRequests(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, rec := newTimedConn(func(x *Exchange) {
		if x.Req.Method == proto.MethodPOST {
			x.Go(func(r *Reply) { r.Text(201, "text/plain", nil) })
			return
		}
		x.Text(200, "text/plain", []byte("ok"))
	})
	c.OnData([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"+getReq+getReq+"GET /par"), at(1))
	c.OnEOF(at(2))
	off.runAll()
	ow.drain(at(3))
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 201 Created", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK"})
	is.Equal(rec.statuses, []int{201, 200, 200})
	is.True(c.Closed())
}

// A partial request found behind held requests after EOF is dropped too: it gets no header
// deadline (so no 408) while a response before it is still being produced.
func TestOnEOFDropsHeldPartial(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, _ := newTimedConn(func(x *Exchange) {
		if x.Req.Method == proto.MethodPOST {
			x.Go(func(r *Reply) { r.Text(201, "text/plain", nil) })
			return
		}
		okOrLater(x)
	})
	c.OnData([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /par"), at(1))
	c.OnEOF(at(2))
	off.runAll()
	ow.drain(at(3)) // the POST's response; GET /slow is read and goes to the pool
	is.True(c.Deadline().IsZero())
	c.OnTimer(at(100))
	off.runAll()
	ow.drain(at(101))
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 201 Created", "HTTP/1.1 202 Accepted"})
	is.True(c.Closed())
}

// EOF while lingering ends the lingering close at once.
func TestOnEOFWhileLingering(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTimedConn(okOrLater)
	c.OnData([]byte("GET / HTTP/1.1\r\n\r\n"), at(1)) // no Host: 400
	is.True(tr.closedW)
	is.True(!c.Closed())
	c.OnEOF(at(2))
	is.True(c.Closed())
}

// OnDrain closes an idle connection at once, without a byte.
func TestOnDrainIdle(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTimedConn(okOrLater)
	c.OnData([]byte(getReq), at(1))
	out := tr.out.Len()
	c.srv.StartDrain(at(2))
	c.OnDrain(at(2))
	is.True(c.Closed())
	is.Equal(tr.out.Len(), out)
	is.True(c.Deadline().IsZero())
}

// A request in flight when the drain starts is answered, and the connection closes as soon
// as the response is written.
func TestOnDrainInFlight(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, rec := newTimedConn(okOrLater)
	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), at(1))
	c.srv.StartDrain(at(2))
	c.OnDrain(at(2))
	is.True(!c.Closed())
	is.True(c.Deadline().IsZero()) // still waiting for the handler
	off.runAll()
	ow.drain(at(3))
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 202 Accepted"})
	is.True(strings.HasSuffix(tr.out.String(), "slow"))
	is.Equal(rec.statuses, []int{202})
	is.True(c.Closed())
}

// A head arriving when the drain starts: on a connection that has served a request the
// request is refused with 503, Retry-After: 2 and Connection: close (the client retries
// elsewhere), then the connection closes by lingering; the first request of a connection is
// still served, then the connection closes. The head keeps its deadline meanwhile.
func TestOnDrainPartialHead(t *testing.T) {
	t.Run("reused", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, rec := newTimedConn(okOrLater)
		c.OnData([]byte(getReq), at(1))
		c.OnData([]byte("GET / HTTP/1.1\r\n"), at(2))
		c.srv.StartDrain(at(3))
		c.OnDrain(at(3))
		is.True(!c.Closed())
		is.Equal(c.Deadline(), at(2).Add(testHeader))
		c.OnData([]byte("Host: x\r\n\r\n"), at(4))
		out := tr.out.String()
		is.Equal(statusLines(out), []string{"HTTP/1.1 200 OK", "HTTP/1.1 503 Service Unavailable"})
		second := out[strings.Index(out, "HTTP/1.1 503"):]
		is.True(strings.Contains(second, "Retry-After: 2\r\n"))
		is.True(strings.Contains(second, "Connection: close\r\n"))
		is.True(strings.HasSuffix(second, "\r\n\r\nServer Draining"))
		is.Equal(rec.statuses, []int{200, 503})
		is.True(tr.closedW) // lingering: the client may still be sending
	})
	t.Run("first", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, rec := newTimedConn(okOrLater)
		c.OnData([]byte("GET / HTTP/1.1\r\n"), at(1))
		c.srv.StartDrain(at(2))
		c.OnDrain(at(2))
		is.True(!c.Closed())
		c.OnData([]byte("Host: x\r\n\r\n"), at(3))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 200 OK"})
		is.Equal(rec.statuses, []int{200})
		is.True(c.Closed())
	})
}

// Each protocol error class is answered with its status, a plain-text body naming it,
// Connection: close, and a lingering close; the observer sees it as a protocol error.
func TestProtoErrorStatuses(t *testing.T) {
	long := strings.Repeat("a", proto.DefaultMaxTargetLength+1)
	big := strings.Repeat("X-Filler: "+strings.Repeat("f", 100)+"\r\n", proto.DefaultMaxHeaderBytes/100)
	for _, tc := range []struct {
		name, raw string
		status    int
	}{
		{"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"bad request line", "GET /\r\n\r\n", 400},
		{"body too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n", 413},
		{"chunked body too large", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(proto.DefaultMaxBodyBytes+1, 16) + "\r\n", 413},
		{"target too long", "GET /" + long + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"expectation", "POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\n", 417},
		{"head too large", "GET / HTTP/1.1\r\nHost: x\r\n" + big + "\r\n", 431},
		{"unknown method", "BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"major version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c, tr, _, _, rec := newTimedConn(okOrLater)
			c.OnData([]byte(tc.raw), at(1))
			out := tr.out.String()
			text := proto.StatusText(tc.status)
			is.Equal(statusLines(out), []string{"HTTP/1.1 " + strconv.Itoa(tc.status) + " " + text})
			is.True(strings.Contains(out, "Content-Type: text/plain; charset=utf-8\r\n"))
			is.True(strings.Contains(out, "Content-Length: "+strconv.Itoa(len(text))+"\r\n"))
			is.True(strings.Contains(out, "Connection: close\r\n"))
			is.True(strings.HasSuffix(out, "\r\n\r\n"+text))
			is.Equal(rec.statuses, []int{tc.status})
			is.Equal(rec.protos, []bool{true})
			is.True(tr.closedW)
			is.True(!c.Closed())
		})
	}
}

// An error that is not a *proto.Error is answered 400.
func TestProtoErrorOtherError(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, rec := newTimedConn(okOrLater)
	c.protoError(errors.New("not a protocol error"))
	c.flush()
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 400 Bad Request"})
	is.Equal(rec.statuses, []int{400})
}

// A protocol error after a request whose response is still being produced waits its turn;
// the requests after it are never read.
func TestProtoErrorKeepsOrder(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, rec := newTimedConn(okOrLater)
	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/9.9\r\nHost: x\r\n\r\n"+getReq), at(1))
	is.Equal(tr.out.Len(), 0)
	off.runAll()
	ow.drain(at(2))
	out := tr.out.String()
	is.Equal(statusLines(out), []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 505 HTTP Version Not Supported"})
	is.True(strings.HasSuffix(out, "Connection: close\r\n\r\nHTTP Version Not Supported"))
	is.Equal(rec.statuses, []int{202, 505})
	is.Equal(rec.protos, []bool{false, true})
	is.True(tr.closedW)
}

const cont100 = "HTTP/1.1 100 Continue\r\n\r\n"

// Expect: 100-continue gets one interim 100 while the body is wanted and missing, before the
// final response; none when the body came with the head, on HTTP/1.0 (the parser ignores
// Expect there), or when the request will be refused (over the body limit, or a further
// request during a drain). Another expectation is refused with 417 (TestProtoErrorStatuses).
func TestMaybeContinue(t *testing.T) {
	const head = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
	t.Run("body missing", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, rec := newTimedConn(okOrLater)
		c.OnData([]byte(head), at(1))
		is.Equal(tr.out.String(), cont100)
		c.OnData([]byte("ab"), at(2))
		is.Equal(tr.out.String(), cont100) // once only
		c.OnData([]byte("cd"), at(3))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"})
		is.Equal(rec.statuses, []int{200}) // the interim response is no exchange
		// The next request on the connection gets its own 100.
		c.OnData([]byte(head), at(4))
		is.Equal(strings.Count(tr.out.String(), cont100), 2)
	})
	t.Run("chunked body missing", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, _ := newTimedConn(okOrLater)
		c.OnData([]byte("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"), at(1))
		is.Equal(tr.out.String(), cont100)
		c.OnData([]byte("2\r\nab\r\n"), at(2))
		is.Equal(tr.out.String(), cont100)
		c.OnData([]byte("0\r\n\r\n"), at(3))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"})
	})
	t.Run("body arrived", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, _ := newTimedConn(okOrLater)
		c.OnData([]byte(head+"abcd"), at(1))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 200 OK"})
	})
	t.Run("HTTP/1.0", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, _ := newTimedConn(okOrLater)
		c.OnData([]byte("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"), at(1))
		is.Equal(tr.out.Len(), 0)
		c.OnData([]byte("abcd"), at(2))
		is.True(strings.HasPrefix(tr.out.String(), "HTTP/1.1 200 OK\r\n"))
	})
	t.Run("body too large", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, _ := newTimedConn(okOrLater)
		c.OnData([]byte("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000000\r\n\r\n"), at(1))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 413 Payload Too Large"})
	})
	t.Run("draining", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, _ := newTimedConn(okOrLater)
		c.OnData([]byte(getReq), at(1))
		c.srv.StartDrain(at(2))
		c.OnData([]byte(head), at(3))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 200 OK"})
		c.OnData([]byte("abcd"), at(4))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 200 OK", "HTTP/1.1 503 Service Unavailable"})
	})
	t.Run("behind a pending response", func(t *testing.T) {
		is := is.New(t)
		c, tr, ow, off, _ := newTimedConn(okOrLater)
		c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"+head), at(1))
		is.Equal(tr.out.Len(), 0) // the 100 waits for the response before it
		off.runAll()
		ow.drain(at(2))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 100 Continue"})
		c.OnData([]byte("abcd"), at(3))
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"})
	})
}

// streamHandler streams /stream (closing the connection after it for /stream-close) and
// answers anything else inline with "next".
func streamHandler(st **Stream) HandlerFunc {
	return func(x *Exchange) {
		switch string(x.Req.Path) {
		case "/slow":
			x.Go(func(r *Reply) { r.Text(202, "text/plain", []byte("slow")) })
		case "/stream-close":
			x.Close = true
			fallthrough
		case "/stream":
			*st = x.Stream(200)
		default:
			x.Text(200, "text/plain", []byte("next"))
		}
	}
}

// Ending a stream writes the terminal chunk, reports the exchange with every byte sent, and
// keeps the connection alive: the request pipelined behind the stream is then answered after
// it.
func TestStreamEndKeepAlive(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, tr, ow, _, rec := newTimedConn(streamHandler(&st))
	c.OnData([]byte("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"+getReq), at(1))
	is.NoErr(st.Write([]byte("hello")))
	ow.drain(at(2))
	is.Equal(len(rec.statuses), 0) // not final before the stream ends
	st.Close()
	st.Close() // idempotent
	ow.drain(at(3))
	out := tr.out.String()
	is.True(strings.Contains(out, "Transfer-Encoding: chunked\r\n"))
	i := strings.Index(out, "\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n")
	is.True(i > 0) // chunk, terminal chunk, then the next response
	is.True(strings.HasSuffix(out, "\r\n\r\nnext"))
	is.Equal(rec.statuses, []int{200, 200})
	is.Equal(rec.bytesOut[0], int64(i+len("\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))) // head and body
	is.True(!c.Closed())
	is.True(c.Idle())
	is.Equal(c.Deadline(), at(3).Add(testKA))
	select {
	case <-st.Done():
	default:
		t.Fatal("stream Done not closed")
	}
	is.Equal(st.Write([]byte("late")), ErrStreamClosed)
}

// A stream whose reply asked to close: the head says Connection: close, the request after it
// is never read, and the terminal chunk is followed by a lingering close.
func TestStreamEndClose(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, tr, ow, _, rec := newTimedConn(streamHandler(&st))
	c.OnData([]byte("GET /stream-close HTTP/1.1\r\nHost: x\r\n\r\n"+getReq), at(1))
	st.Close()
	ow.drain(at(2))
	out := tr.out.String()
	is.Equal(statusLines(out), []string{"HTTP/1.1 200 OK"})
	is.True(strings.Contains(out, "Connection: close\r\n"))
	is.True(strings.HasSuffix(out, "\r\n\r\n0\r\n\r\n"))
	is.Equal(rec.statuses, []int{200})
	is.True(tr.closedW)
	is.Equal(c.Deadline(), at(2).Add(testLinger))
}

// On HTTP/1.0 a stream has no chunk framing: its end is the connection's end.
func TestStreamEndHTTP10(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, tr, ow, _, rec := newTimedConn(streamHandler(&st))
	c.OnData([]byte("GET /stream HTTP/1.0\r\n\r\n"), at(1))
	is.NoErr(st.Write([]byte("raw")))
	st.Close()
	ow.drain(at(2))
	out := tr.out.String()
	is.True(!strings.Contains(out, "Transfer-Encoding"))
	is.True(strings.HasSuffix(out, "\r\n\r\nraw"))
	is.Equal(rec.statuses, []int{200})
	is.True(c.Closed())
}

// A stream that ends before its turn (behind a response still being produced) is sent whole
// once that response is out: head, chunks and terminal chunk, in order.
func TestStreamEndBeforeItsTurn(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, tr, ow, off, rec := newTimedConn(streamHandler(&st))
	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), at(1))
	is.NoErr(st.Write([]byte("early")))
	st.Close()
	ow.drain(at(2))
	is.Equal(tr.out.Len(), 0)
	off.runAll()
	ow.drain(at(3))
	out := tr.out.String()
	is.Equal(statusLines(out), []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 200 OK"})
	is.True(strings.HasSuffix(out, "\r\n\r\n5\r\nearly\r\n0\r\n\r\n"))
	is.Equal(rec.statuses, []int{202, 200})
	is.True(c.Idle())
	is.True(!c.Closed())
}

// Ending a stream releases responses already queued behind it (requests read before the
// stream became the active response): they follow its terminal chunk, in order.
func TestStreamEndReleasesQueued(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, tr, ow, off, rec := newTimedConn(streamHandler(&st))
	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\n"+getReq), at(1))
	off.runAll()
	ow.drain(at(2)) // /slow is out and the stream is active; the third response waits
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 200 OK"})
	is.NoErr(st.Write([]byte("s")))
	st.Close()
	ow.drain(at(3))
	out := tr.out.String()
	is.Equal(statusLines(out), []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK"})
	is.True(strings.Contains(out, "\r\n\r\n1\r\ns\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"))
	is.True(strings.HasSuffix(out, "\r\n\r\nnext"))
	is.Equal(rec.statuses, []int{202, 200, 200})
	is.True(c.Idle())
}

// A stream that ends after its connection closed sends and reports nothing more.
func TestStreamEndAfterClose(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, tr, _, _, rec := newTimedConn(streamHandler(&st))
	c.OnData([]byte("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), at(1))
	out := tr.out.Len()
	c.Abort()
	c.streamEnd(st)
	is.Equal(tr.out.Len(), out)
	is.Equal(len(rec.statuses), 0)
	select {
	case <-st.Done():
	default:
		t.Fatal("stream Done not closed")
	}
}
