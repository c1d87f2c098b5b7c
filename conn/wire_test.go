package conn

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// wired answers every request with body "hello world" (11 bytes) and the Wire w.
func wired(w Wire) HandlerFunc {
	return func(x *Exchange) {
		x.Text(200, "text/plain", []byte("hello world"))
		x.Route = "GET " + string(x.Req.Path)
		wc := w
		x.Wire = &wc
	}
}

const getRoot = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

// splitHead returns a response's head (through the blank line) and what follows.
func splitHead(out string) (string, string) {
	i := strings.Index(out, "\r\n\r\n")
	if i < 0 {
		return out, ""
	}
	return out[:i+4], out[i+4:]
}

// A delay holds the response back until its time, then sends it whole; the deadline says when.
func TestWireDelay(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, rec := newTestConn(wired(Wire{Delay: 250 * time.Millisecond}))
	t0 := time.Unix(10, 0)
	c.OnData([]byte(getRoot), t0)
	is.Equal(tr.out.Len(), 0)
	is.Equal(c.WireDeadline(), t0.Add(250*time.Millisecond))
	is.Equal(c.Deadline(), t0.Add(250*time.Millisecond)) // before the keep-alive timeout
	c.OnTimer(t0.Add(249 * time.Millisecond))
	is.Equal(tr.out.Len(), 0)
	c.OnTimer(t0.Add(250 * time.Millisecond))
	head, body := splitHead(tr.out.String())
	is.True(strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n"))
	is.True(strings.Contains(head, "Content-Length: 11\r\n"))
	is.True(strings.Contains(head, "Connection: keep-alive\r\n"))
	is.Equal(body, "hello world")
	is.True(c.WireDeadline().IsZero())
	is.True(!c.Closed())
	is.Equal(rec.faults, []string{"latency"})
	is.Equal(rec.statuses, []int{200})
}

// Pipelined responses keep their order behind a delayed one; their own delays run meanwhile.
func TestWirePipelinedOrder(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, rec := newTestConn(func(x *Exchange) {
		x.Text(200, "text/plain", append([]byte(nil), x.Req.Path...))
		x.Route = string(x.Req.Path)
		switch string(x.Req.Path) {
		case "/slow":
			x.Wire = &Wire{Delay: time.Second}
		case "/medium":
			x.Wire = &Wire{Delay: 500 * time.Millisecond}
		}
	})
	t0 := time.Unix(10, 0)
	c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /medium HTTP/1.1\r\nHost: x\r\n\r\n"), t0)
	is.Equal(tr.out.Len(), 0)
	c.OnTimer(t0.Add(time.Second))
	out := tr.out.String()
	is.Equal(strings.Count(out, "HTTP/1.1 200 OK"), 3) // the medium one was due already
	is.True(strings.Index(out, "/slow") < strings.Index(out, "/fast"))
	is.True(strings.Index(out, "/fast") < strings.Index(out, "/medium"))
	is.Equal(rec.routes, []string{"/slow", "/fast", "/medium"}) // each its own outcome
	is.Equal(rec.faults, []string{"latency", "", "latency"})
}

// drip sends the body in pieces with gaps; slow_head the head; both end normally.
func TestWirePacing(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTestConn(wired(Wire{BodyPace: Pace{Bytes: 4, Gap: 100 * time.Millisecond}, Fault: "drip"}))
	t0 := time.Unix(10, 0)
	c.OnData([]byte(getRoot), t0)
	head, body := splitHead(tr.out.String())
	is.True(strings.Contains(head, "Content-Length: 11\r\n"))
	is.Equal(body, "hell")
	c.OnTimer(t0.Add(100 * time.Millisecond))
	_, body = splitHead(tr.out.String())
	is.Equal(body, "hello wo")
	c.OnTimer(t0.Add(200 * time.Millisecond))
	_, body = splitHead(tr.out.String())
	is.Equal(body, "hello world")
	is.True(c.WireDeadline().IsZero())
	is.True(!c.Closed())

	c, tr, _, _, _ = newTestConn(wired(Wire{HeadPace: Pace{Bytes: 5, Gap: 50 * time.Millisecond}, Fault: "slow_head"}))
	c.OnData([]byte(getRoot), t0)
	is.Equal(tr.out.String(), "HTTP/")
	for i := 1; !c.WireDeadline().IsZero(); i++ {
		is.Equal(c.WireDeadline(), t0.Add(time.Duration(i)*50*time.Millisecond))
		c.OnTimer(c.WireDeadline())
	}
	_, body = splitHead(tr.out.String())
	is.Equal(body, "hello world")
}

// Chunked framing, paced: one chunk per piece, then the last chunk.
func TestWireChunkedDrip(t *testing.T) {
	is := is.New(t)
	c, tr, _, _, _ := newTestConn(wired(Wire{Chunked: true, BodyPace: Pace{Bytes: 6, Gap: time.Millisecond}}))
	t0 := time.Unix(10, 0)
	c.OnData([]byte(getRoot), t0)
	c.OnTimer(t0.Add(time.Millisecond))
	head, body := splitHead(tr.out.String())
	is.True(strings.Contains(head, "Transfer-Encoding: chunked\r\n"))
	is.True(!strings.Contains(head, "Content-Length"))
	is.Equal(body, "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n")
	is.True(!c.Closed())
}

// The framing lies: the body sent is the real one, what is declared is not, and the
// connection closes after it.
func TestWireFramingLies(t *testing.T) {
	t0 := time.Unix(10, 0)
	cases := []struct {
		name     string
		wire     Wire
		header   string // in the head
		body     string
		keepHead bool // the head still says keep-alive
	}{
		{"content_length+5", Wire{LengthDelta: 5, Close: true}, "Content-Length: 16\r\n", "hello world", true},
		{"content_length-5", Wire{LengthDelta: -5, Close: true}, "Content-Length: 6\r\n", "hello world", true},
		{"chunk_lie", Wire{Chunked: true, LengthDelta: 3, Close: true}, "Transfer-Encoding: chunked\r\n", "e\r\nhello world\r\n0\r\n\r\n", true},
		{"chunk_lie negative", Wire{Chunked: true, LengthDelta: -100, Close: true}, "Transfer-Encoding: chunked\r\n", "1\r\nhello world\r\n0\r\n\r\n", true},
		{"no_last_chunk", Wire{Chunked: true, NoLastChunk: true, Close: true}, "Transfer-Encoding: chunked\r\n", "b\r\nhello world\r\n", true},
		{"bad_chunk_syntax", Wire{Chunked: true, BadChunkSize: true, Close: true}, "Transfer-Encoding: chunked\r\n", "zz\r\nhello world\r\n0\r\n\r\n", true},
		{"keepalive_poison", Wire{Close: true}, "Content-Length: 11\r\n", "hello world", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c, tr, _, _, _ := newTestConn(wired(tc.wire))
			c.OnData([]byte(getRoot), t0)
			head, body := splitHead(tr.out.String())
			is.True(strings.Contains(head, tc.header))
			is.Equal(strings.Contains(head, "Connection: keep-alive"), tc.keepHead)
			is.Equal(body, tc.body)
			is.True(c.Closed())
			is.True(!tr.reset)
		})
	}
}

// garbage and empty replace the response; the connection closes after them.
func TestWireReplace(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(10, 0)
	c, tr, _, _, rec := newTestConn(wired(Wire{Replace: true, Bytes: []byte{0, 1, 2, 0xff}, Fault: "garbage"}))
	c.OnData([]byte(getRoot), t0)
	is.Equal(tr.out.Bytes(), []byte{0, 1, 2, 0xff})
	is.True(c.Closed())
	is.Equal(rec.faults, []string{"garbage"})
	is.Equal(rec.bytesOut, []int64{4})

	c, tr, _, _, _ = newTestConn(wired(Wire{Replace: true, Fault: "empty"}))
	c.OnData([]byte(getRoot), t0)
	is.Equal(tr.out.Len(), 0)
	is.True(c.Closed())
	is.True(!tr.reset)
}

// reset cuts the response after N bytes (0: before any) and asks the transport for a reset.
func TestWireReset(t *testing.T) {
	t0 := time.Unix(10, 0)
	for _, n := range []int64{0, 9, 200} {
		is := is.New(t)
		c, tr, _, _, _ := newTestConn(func(x *Exchange) {
			x.Text(200, "text/plain", []byte("hello world"))
			x.Wire = &Wire{Reset: true, ResetAfter: n, Fault: "reset"}
		})
		c.OnData([]byte(getRoot), t0)
		var full strings.Builder
		c2, tr2, _, _, _ := newTestConn(func(x *Exchange) { x.Text(200, "text/plain", []byte("hello world")) })
		c2.OnData([]byte(getRoot), t0)
		full.Write(tr2.out.Bytes())
		want := full.String()[:min(int(n), full.Len())]
		is.Equal(tr.out.String(), want)
		is.True(tr.reset)
		is.True(c.Closed())
	}
}

// hang sends nothing and closes after its maximum, or when the client goes.
func TestWireHang(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(10, 0)
	c, tr, _, _, _ := newTestConn(wired(Wire{Replace: true, Hang: 5 * time.Second, Fault: "hang"}))
	c.OnData([]byte(getRoot), t0)
	is.Equal(c.WireDeadline(), t0.Add(5*time.Second))
	c.OnTimer(t0.Add(4 * time.Second))
	is.True(!c.Closed())
	c.OnTimer(t0.Add(5 * time.Second))
	is.True(c.Closed())
	is.Equal(tr.out.Len(), 0)

	c, _, _, _, _ = newTestConn(wired(Wire{Replace: true, Hang: 5 * time.Second}))
	c.OnData([]byte(getRoot), t0)
	c.OnEOF(t0.Add(time.Second))
	is.True(c.Closed())
}

// interim responses come before the final one, on HTTP/1.1 only.
func TestWireInterim(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(10, 0)
	c, tr, _, _, _ := newTestConn(wired(Wire{Interim: 2, InterimStatus: 103}))
	c.OnData([]byte(getRoot), t0)
	out := tr.out.String()
	is.True(strings.HasPrefix(out, "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\n"))
	is.True(strings.HasSuffix(out, "hello world"))

	c, tr, _, _, _ = newTestConn(wired(Wire{Interim: 2, InterimStatus: 103}))
	c.OnData([]byte("GET / HTTP/1.0\r\n\r\n"), t0)
	is.True(strings.HasPrefix(tr.out.String(), "HTTP/1.1 200 OK\r\n"))
}

// A HEAD request gets the head alone, on time.
func TestWireHead(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(10, 0)
	c, tr, _, _, _ := newTestConn(wired(Wire{Delay: time.Second, BodyPace: Pace{Bytes: 1, Gap: time.Second}}))
	c.OnData([]byte("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"), t0)
	c.OnTimer(t0.Add(time.Second))
	head, body := splitHead(tr.out.String())
	is.True(strings.Contains(head, "Content-Length: 11\r\n"))
	is.Equal(body, "")
	is.True(c.WireDeadline().IsZero())
}

func TestBandwidthPace(t *testing.T) {
	is := is.New(t)
	is.Equal(BandwidthPace(0), Pace{})
	is.Equal(BandwidthPace(10), Pace{Bytes: 1, Gap: 100 * time.Millisecond})
	is.Equal(BandwidthPace(100_000), Pace{Bytes: 1000, Gap: 10 * time.Millisecond})
}

// The observer sees each response's head and body: inline, queued behind a later one, and
// wired (the body as the reply gave it).
func TestObservedResponse(t *testing.T) {
	is := is.New(t)
	c, tr, ow, off, rec := newTestConn(func(x *Exchange) {
		switch string(x.Req.Path) {
		case "/slow":
			x.Go(func(r *Reply) { r.Text(202, "text/plain", []byte("slow")) })
		case "/wired":
			x.Text(200, "text/plain", []byte("wired"))
			x.Wire = &Wire{Reset: true, ResetAfter: 3}
		case "/head":
			x.Text(200, "text/plain", []byte("unsent"))
		default:
			x.Text(200, "text/plain", []byte("fast"))
		}
	})
	rec.keepResp = true
	t0 := time.Unix(10, 0)
	c.OnData([]byte("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nHEAD /head HTTP/1.1\r\nHost: x\r\n\r\nGET /wired HTTP/1.1\r\nHost: x\r\n\r\n"), t0)
	off.runAll()
	ow.drain(t0)
	is.Equal(len(rec.resps), 5)
	for i, want := range []string{"fast", "slow", "fast", "", "wired"} {
		head, body, _ := strings.Cut(rec.resps[i], "|")
		is.True(strings.HasPrefix(head, "HTTP/1.1 20"))
		is.True(strings.HasSuffix(head, "\r\n\r\n"))
		is.Equal(body, want)
	}
	is.True(strings.Contains(rec.resps[3], "Content-Length: 6\r\n")) // HEAD: the head says, no body
	is.True(tr.reset)
}
