package conn

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/proto"
)

// fakeTransport records what the connection writes; with blocked set it accepts nothing.
type fakeTransport struct {
	out     bytes.Buffer
	blocked bool
	closedW bool
	reset   bool
}

func (f *fakeTransport) Write(p []byte) (int, error) {
	if f.blocked {
		return 0, ErrWouldBlock
	}
	return f.out.Write(p)
}

func (f *fakeTransport) WriteMore(p []byte) (int, error) { return f.Write(p) }

func (f *fakeTransport) SendFile(file *os.File, off, n int64) (int64, error) {
	b := make([]byte, n)
	m, err := file.ReadAt(b, off)
	f.out.Write(b[:m])
	return int64(m), err
}

func (f *fakeTransport) CloseWrite() error { f.closedW = true; return nil }

func (f *fakeTransport) Reset() error { f.reset = true; return nil }

// fakeOwner queues posted functions; the test runs them with drain.
type fakeOwner struct {
	c     *Conn
	tasks []func()
}

func (o *fakeOwner) Post(fn func()) bool {
	if o.c.Closed() {
		return false
	}
	o.tasks = append(o.tasks, fn)
	return true
}

func (o *fakeOwner) drain(now time.Time) {
	for len(o.tasks) > 0 {
		fn := o.tasks[0]
		o.tasks = o.tasks[1:]
		o.c.RunPosted(fn, now)
	}
}

// syncOffload runs offloaded work when the test says so.
type syncOffload struct{ queued []func() }

func (s *syncOffload) Go(fn func()) bool { s.queued = append(s.queued, fn); return true }

func (s *syncOffload) runAll() {
	q := s.queued
	s.queued = nil
	for _, fn := range q {
		fn()
	}
}

// recorder keeps what the observer was told of each exchange.
type recorder struct {
	statuses []int
	protos   []bool // Completed.Proto
	bytesOut []int64
	routes   []string
	faults   []string
	keepResp bool     // fill resps (it allocates)
	resps    []string // head and body, with "|" between
}

func (r *recorder) Done(c *Completed) {
	if r.keepResp {
		r.resps = append(r.resps, string(c.RespHead)+"|"+string(c.RespBody))
	}
	r.routes = append(r.routes, c.Route)
	r.faults = append(r.faults, c.Fault)
	r.statuses = append(r.statuses, c.Status)
	r.protos = append(r.protos, c.Proto)
	r.bytesOut = append(r.bytesOut, c.BytesOut)
}

func newTestConn(h HandlerFunc) (*Conn, *fakeTransport, *fakeOwner, *syncOffload, *recorder) {
	off := &syncOffload{}
	srv := &Server{Handler: h, Offload: off}
	srv.Defaults()
	var date proto.DateCache
	date.Update(time.Unix(0, 0))
	tr := &fakeTransport{}
	ow := &fakeOwner{}
	rec := &recorder{}
	c := New(srv, tr, ow, rec, &date, nil, netip.MustParseAddrPort("127.0.0.1:1"), 1, false, time.Unix(0, 0))
	ow.c = c
	return c, tr, ow, off, rec
}

var statusLineRE = regexp.MustCompile(`HTTP/1\.1 \d{3} [^\r]*`)

// statusLines finds the status lines in raw output (bodies here never contain one).
func statusLines(out string) []string { return statusLineRE.FindAllString(out, -1) }

// Responses leave in request order even when an earlier one completes later, off the owner.
func TestPipelinedAsyncOrder(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, rec := newTestConn(func(x *Exchange) {
		switch string(x.Req.Path) {
		case "/slow":
			x.Go(func(r *Reply) { r.Text(202, "text/plain", []byte("slow")) })
		default:
			x.Text(200, "text/plain", []byte("fast"))
		}
	})
	now := time.Unix(1, 0)
	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	is.Equal(tr.out.Len(), 0) // the fast response waits behind the slow one
	off.runAll()
	ow.drain(now)
	lines := statusLines(tr.out.String())
	is.Equal(lines, []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 200 OK"})
	is.Equal(rec.statuses, []int{202, 200})
	is.True(strings.HasSuffix(tr.out.String(), "fast"))
}

// A handler panic becomes a 500 and the connection closes; nothing escapes.
func TestHandlerPanic(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTestConn(func(x *Exchange) { panic("boom") })
	now := time.Unix(1, 0)
	c.OnData([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 500 Internal Server Error"})
	is.True(tr.closedW || c.Closed())

	c2, tr2, ow2, off2, _ := newTestConn(func(x *Exchange) {
		x.Go(func(r *Reply) { panic("boom in worker") })
	})
	c2.OnData([]byte("GET /async HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	off2.runAll()
	ow2.drain(now)
	is.Equal(statusLines(tr2.out.String()), []string{"HTTP/1.1 500 Internal Server Error"})
}

// A client that does not read stops being read from (backpressure) and resumes when it reads.
func TestBackpressureStopsReading(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTestConn(func(x *Exchange) {
		x.Text(200, "text/plain", bytes.Repeat([]byte("x"), 4096))
	})
	tr.blocked = true
	now := time.Unix(1, 0)
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	c.OnData([]byte(strings.Repeat(req, 200)), now)
	is.True(c.WantWrite())
	served := c.served
	is.True(served < 200)  // processing paused at the output bound
	is.True(c.served > 60) // after more than MaxOutput bytes of responses
	tr.blocked = false
	c.OnWritable(now)
	is.Equal(c.served, 200)
	is.Equal(len(statusLines(tr.out.String())), 200)
}

// A stream whose client stops reading is cut off instead of buffered without bound.
func TestSlowStreamCutOff(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, tr, ow, _, _ := newTestConn(func(x *Exchange) { st = x.Stream(200) })
	now := time.Unix(1, 0)
	c.OnData([]byte("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	tr.blocked = true
	chunk := bytes.Repeat([]byte("e"), 32<<10)
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		err = st.Write(chunk)
		ow.drain(now)
	}
	is.Equal(err, ErrStreamClosed)
	is.True(c.Closed())
	select {
	case <-st.Done():
	default:
		t.Fatal("stream Done not closed")
	}
}

// HEAD of a streamed response sends the head only and closes the producer's stream.
func TestHeadStream(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, tr, ow, _, _ := newTestConn(func(x *Exchange) { st = x.Stream(200) })
	now := time.Unix(1, 0)
	c.OnData([]byte("HEAD /s HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	is.Equal(st.Write([]byte("data")), ErrStreamClosed)
	ow.drain(now)
	out := tr.out.String()
	is.True(strings.HasSuffix(out, "\r\n\r\n"))
	is.True(strings.Contains(out, "Transfer-Encoding: chunked\r\n"))
	is.True(!strings.Contains(out, "Content-Length"))
}

// Writing a plain response allocates nothing once the connection's buffers have grown.
func TestServeAllocs(t *testing.T) {
	body := []byte("Hello World")
	c, tr, _, _, _ := newTestConn(func(x *Exchange) {
		x.Text(200, "text/plain; charset=utf-8", body)
	})
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	now := time.Unix(1, 0)
	c.OnData(req, now)
	allocs := testing.AllocsPerRun(1000, func() {
		tr.out.Reset()
		c.OnData(req, now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

// A request pipelined after an unsafe one waits until the unsafe one's response is produced
// (RFC 9112 §9.3.2): a GET after a POST that writes must see the write.
func TestPipelineWaitsForUnsafe(t *testing.T) {
	is := is.New(t)
	var order []string
	c, tr, ow, off, _ := newTestConn(func(x *Exchange) {
		order = append(order, x.Req.Method.String())
		if x.Req.Method == proto.MethodPOST {
			x.Go(func(r *Reply) { r.Text(201, "text/plain", nil) })
			return
		}
		x.Text(200, "text/plain", []byte("ok"))
	})
	now := time.Unix(1, 0)
	c.OnData([]byte("POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nzGET /f HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	is.Equal(order, []string{"POST"}) // the GET is held back
	off.runAll()
	ow.drain(now)
	is.Equal(order, []string{"POST", "GET"})
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 201 Created", "HTTP/1.1 200 OK"})
}

// refusingOffload is a saturated pool.
type refusingOffload struct{}

func (refusingOffload) Go(func()) bool { return false }

// When the offload pool is full the client gets 503 with Retry-After in the response's place,
// without the headers the handler had set for the reply it could not produce.
func TestGoPoolFull(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, rec := newTestConn(func(x *Exchange) {
		x.Header("Content-Type", "application/json")
		x.Go(func(r *Reply) { r.Text(200, "", []byte("{}")) })
	})
	c.srv.Offload = refusingOffload{}
	c.OnData([]byte("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), time.Unix(1, 0))
	out := tr.out.String()
	is.Equal(statusLines(out), []string{"HTTP/1.1 503 Service Unavailable"})
	is.True(strings.Contains(out, "Retry-After: 1\r\n"))
	is.True(!strings.Contains(out, "application/json"))
	is.Equal(rec.statuses, []int{503})
}

// Connections of one owner share its Scratch: output a blocked socket did not take is kept
// by its connection, while the other connection goes on rendering into the shared buffer,
// and neither sees the other's bytes. An idle connection keeps no output buffer.
func TestSharedScratchKeepsUnsentOutput(t *testing.T) {
	is := is.New(t)
	var sh Scratch
	srv := &Server{Offload: &syncOffload{}, Handler: HandlerFunc(func(x *Exchange) {
		x.Text(200, "text/plain", bytes.Repeat([]byte(x.Req.Path[1:2]), 1000))
	})}
	srv.Defaults()
	var date proto.DateCache
	date.Update(time.Unix(0, 0))
	now := time.Unix(1, 0)
	newConn := func(id uint64) (*Conn, *fakeTransport) {
		tr := &fakeTransport{}
		ow := &fakeOwner{}
		c := New(srv, tr, ow, nil, &date, &sh, netip.MustParseAddrPort("127.0.0.1:1"), id, false, now)
		ow.c = c
		return c, tr
	}
	a, ta := newConn(1)
	b, tb := newConn(2)
	ta.blocked = true
	a.OnData([]byte("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	is.True(a.WantWrite())
	for range 3 {
		b.OnData([]byte("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	}
	is.True(b.Idle())
	is.Equal(b.out, nil) // nothing kept between events
	ta.blocked = false
	a.OnWritable(now)
	is.True(a.Idle())
	as, bs := strings.Repeat("a", 1000), strings.Repeat("b", 1000)
	is.Equal(len(statusLines(ta.out.String())), 1)
	is.Equal(strings.Count(ta.out.String(), as), 1)
	is.Equal(strings.Count(ta.out.String(), "bbbb"), 0)
	is.Equal(len(statusLines(tb.out.String())), 3)
	is.Equal(strings.Count(tb.out.String(), bs), 3)
	is.Equal(strings.Count(tb.out.String(), "aaaa"), 0)
}

// Answered (when engines turn Nagle's algorithm off) holds once a request was dispatched and
// the socket stays open: on keep-alive, and on a closing connection whose response is still
// being sent (a stream's small writes must not wait for ACKs); not before any request, and
// not once a closing connection has been answered in full.
func TestAnswered(t *testing.T) {
	is := is.New(t)
	now := time.Unix(1, 0)
	stream := func(x *Exchange) {
		if string(x.Req.Path) == "/stream" {
			x.Stream(200)
			return
		}
		x.Text(200, "text/plain", []byte("ok"))
	}
	c, _, _, _, _ := newTestConn(stream)
	is.True(!c.Answered())
	c.OnData([]byte("GET / HTTP/1.1\r\nHost: x\r\n"), now) // head not complete
	is.True(!c.Answered())
	c.OnData([]byte("\r\n"), now)
	is.True(c.Answered()) // keep-alive
	c, _, _, _, _ = newTestConn(stream)
	c.OnData([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), now)
	is.True(c.Closed())
	is.True(!c.Answered()) // answered in one write and closed
	c, _, _, _, _ = newTestConn(stream)
	c.OnData([]byte("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), now)
	is.True(!c.Closed())
	is.True(c.Answered()) // a closing connection whose stream goes on
}

// A head that trickles in one byte per read is scanned about once (#11 item 5): each parse
// resumes at the line the last one could not finish, and its body, trickled too, does not
// make it be scanned again. Parsing every read from the start scans about n²/2 bytes.
func TestTrickledHeadParsedInProportion(t *testing.T) {
	is := is.New(t)
	var scanned int
	parseHead = func(buf []byte, lim *proto.Limits, req *proto.Request) error {
		scanned += len(buf)
		return proto.ParseHead(buf, lim, req)
	}
	parseHeadFrom = func(buf []byte, lim *proto.Limits, req *proto.Request, scan *proto.HeadScan) error {
		if !scan.Parsed() {
			scanned += len(buf) - scan.Resumed()
		}
		return proto.ParseHeadFrom(buf, lim, req, scan)
	}
	t.Cleanup(func() { parseHead, parseHeadFrom = proto.ParseHead, proto.ParseHeadFrom })
	c, tr, _, _, _ := newTestConn(func(x *Exchange) { x.Text(200, "text/plain", []byte("ok")) })
	var head strings.Builder
	head.WriteString("GET / HTTP/1.1\r\nHost: x\r\n")
	for i := 0; head.Len() < 10<<10; i++ {
		fmt.Fprintf(&head, "X-Field-%d: %s\r\n", i, strings.Repeat("v", 120))
	}
	head.WriteString("X-Long: " + strings.Repeat("l", 4000) + "\r\n\r\n") // one long line too
	raw := head.String()
	now := time.Unix(1, 0)
	for i := range len(raw) {
		c.OnData([]byte{raw[i]}, now)
	}
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 200 OK"}) // the same answer
	t.Logf("a %d-byte head, one byte per read: %d bytes scanned", len(raw), scanned)
	// The long line is scanned again every headReparseBytes (4000 / 512 times its length).
	is.True(scanned < 6*len(raw))

	// Its body, trickled too, does not make the head be scanned again at every read.
	scanned = 0
	body := strings.Repeat("b", 4000)
	post := strings.Replace(raw, "GET / ", "POST / ", 1)
	post = strings.Replace(post, "Host: x\r\n", "Host: x\r\nContent-Length: 4000\r\n", 1)
	c.OnData([]byte(post), now)
	for i := range len(body) {
		c.OnData([]byte{body[i]}, now)
	}
	is.Equal(len(statusLines(tr.out.String())), 2)
	t.Logf("the same head with a 4000-byte body a byte per read: %d bytes scanned", scanned)
	is.True(scanned < 3*len(post)) // the head is parsed on arrival and once the body is whole

	// A chunked body trickled in: the head is restored, not scanned, at each read.
	scanned = 0
	chunked := strings.Replace(raw, "GET / ", "POST / ", 1)
	chunked = strings.Replace(chunked, "Host: x\r\n", "Host: x\r\nTransfer-Encoding: chunked\r\n", 1)
	c.OnData([]byte(chunked), now)
	for _, b := range []byte("fa0\r\n" + body + "\r\n0\r\n\r\n") {
		c.OnData([]byte{b}, now)
	}
	is.Equal(len(statusLines(tr.out.String())), 3)
	t.Logf("the same head with a chunked body a byte per read: %d bytes scanned", scanned)
	is.True(scanned < 3*len(chunked))
}

// A stream's bound holds when bytes are queued, not when its owner gets round to them: a
// producer that writes while the owner runs nothing is cut past MaxStreamBacklog (#11 item
// 1), and the server's count of queued stream bytes comes back to zero.
func TestStreamBoundAtQueueTime(t *testing.T) {
	is := is.New(t)
	var st *Stream
	c, _, ow, _, _ := newTestConn(func(x *Exchange) { st = x.Stream(200) })
	now := time.Unix(1, 0)
	c.OnData([]byte("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	chunk := bytes.Repeat([]byte("e"), 10<<10)
	var err error
	writes := 0
	for ; writes < 100 && err == nil; writes++ {
		err = st.Write(chunk) // the owner does not run: nothing is taken
	}
	is.Equal(err, ErrStreamClosed)
	is.True(writes <= 5) // cut at 32 KiB held, not after 100 writes
	ow.drain(now)
	is.True(c.Closed())
	is.Equal(c.srv.streamsBacklog.Load(), int64(0)) // every queued byte accounted for
}

// BenchmarkTrickledHead is the event-loop work of a 16 KiB head arriving in reads of 1 and
// of 16 bytes (#11 item 5: 61 ms against 3.6 ms before parses resumed).
func BenchmarkTrickledHead(b *testing.B) {
	var head strings.Builder
	head.WriteString("GET / HTTP/1.1\r\nHost: x\r\n")
	for i := 0; head.Len() < 16<<10-200; i++ {
		fmt.Fprintf(&head, "X-Field-%d: %s\r\n", i, strings.Repeat("v", 100))
	}
	head.WriteString("\r\n")
	raw := []byte(head.String())
	for _, piece := range []int{1, 16} {
		b.Run(fmt.Sprintf("%dB-reads", piece), func(b *testing.B) {
			now := time.Unix(1, 0)
			for b.Loop() {
				c, _, _, _, _ := newTestConn(func(x *Exchange) { x.Text(200, "text/plain", []byte("ok")) })
				for i := 0; i < len(raw); i += piece {
					c.OnData(raw[i:min(i+piece, len(raw))], now)
				}
			}
		})
	}
}
