package conn

import (
	"strconv"
	"time"

	"ownhttp/proto"
)

// Wire is how one response misbehaves on the wire: a delay before its first byte, pacing of
// its head and body, lies about its framing, and how the connection ends after it. A Reply
// carries one in Reply.Wire; nil (the only case on the hot path) is a normal response. The
// connection carries it out on its owner goroutine, driven by its deadline (the engine's
// timers: see Conn.Deadline): no goroutine sleeps and no worker waits, so a delayed response
// costs a timer. A Wire applies to byte bodies only (a reply with a file or a stream ignores
// it). It is read when the reply completes and not kept; the Reply's body is copied then.
//
// Responses behind a wired one on the same connection wait for it (pipelining keeps order);
// their own delays run meanwhile.
type Wire struct {
	// Delay holds the response back, counted from when the reply is complete.
	Delay time.Duration
	// Interim 1xx responses with status InterimStatus (100..199, not 101) come first; an
	// HTTP/1.0 request gets none (RFC 9110 §15.2).
	Interim       int
	InterimStatus int
	// HeadPace and BodyPace send the head (interim responses included) and the body in
	// pieces with gaps; the zero Pace sends all at once.
	HeadPace, BodyPace Pace
	// Chunked sends the body with chunked framing, one chunk per paced piece (an HTTP/1.0
	// request gets it unframed, ended by the close).
	Chunked bool
	// LengthDelta is added to the declared Content-Length, or to each chunk's declared size
	// (at least 1, so a lie never reads as the last chunk): the body sent is the real one.
	LengthDelta int64
	// BadChunkSize replaces each chunk's size line with one that is not hexadecimal.
	BadChunkSize bool
	// NoLastChunk leaves the chunked body unterminated.
	NoLastChunk bool
	// Replace sends Bytes (nil: nothing) instead of the response.
	Replace bool
	Bytes   []byte
	// Hang waits this long after the response's bytes (with Replace and no Bytes: after
	// nothing) before the connection closes; the client's end of input closes it sooner.
	Hang time.Duration
	// Reset ends the connection with a TCP reset (SO_LINGER 0) once ResetAfter bytes of the
	// response are out (0: before any byte).
	Reset      bool
	ResetAfter int64
	// Close closes the connection after the response without announcing it: the head still
	// says keep-alive unless the request or the reply asked to close.
	Close bool
	// Fault labels what the wire does for the observer (Completed.Fault): "reset", "drip", …
	// ("" with a delay only: "latency").
	Fault string
	// Injected, when set, is called once on the owner goroutine as the reply completes, with
	// the byte of the response at which the fault acts: 0 for a delay, a replacement, a hang,
	// interim responses or a slow head; the body's first byte for lies about the body and
	// its pacing; the reset's offset (at most the response's length); the response's length
	// for a close. It must not block.
	Injected func(offset int64)
}

// Pace sends bytes in pieces: Bytes per piece, Gap between pieces. The zero Pace sends
// everything at once.
type Pace struct {
	Bytes int
	Gap   time.Duration
}

// BandwidthPace is the Pace of a link of bytesPerSecond: pieces every 10 ms, or one byte
// per piece for rates under 100 bytes per second.
func BandwidthPace(bytesPerSecond int64) Pace {
	if bytesPerSecond <= 0 {
		return Pace{}
	}
	if bytesPerSecond < 100 {
		return Pace{Bytes: 1, Gap: time.Second / time.Duration(bytesPerSecond)}
	}
	return Pace{Bytes: int(min(bytesPerSecond/100, 1<<30)), Gap: 10 * time.Millisecond}
}

// wireRun is a Wire being carried out: the response's bytes and how far they went.
type wireRun struct {
	Wire
	head    []byte // interim responses and the head
	body    []byte // the body, unframed (nil for HEAD, 1xx, 204 and 304)
	chunked bool   // the body goes chunked
	hpos    int
	bpos    int
	tail    bool  // the chunked body's end (its last chunk, or its absence) was reached
	sent    int64 // bytes of the response handed to the output
	next    time.Time
	hanging bool // all bytes are out; waiting for Hang to pass
}

// newWireRun prepares slot s's wired response: head is the rendered head (render leaves
// the body out for a wired reply).
func newWireRun(w *Wire, r *Reply, s *slot, head []byte, now time.Time) *wireRun {
	run := &wireRun{Wire: *w, next: now.Add(w.Delay)}
	if w.Replace {
		run.head = append([]byte(nil), w.Bytes...)
		return run
	}
	if w.Interim > 0 && s.http11 {
		for range w.Interim {
			run.head = proto.AppendStatusLine(run.head, w.InterimStatus)
			run.head = append(run.head, "\r\n"...)
		}
	}
	run.head = append(run.head, head...)
	if s.method != proto.MethodHEAD && !noBodyStatus(r.Status) {
		run.body = append([]byte(nil), r.Body...)
	}
	run.chunked = w.Chunked && s.http11
	return run
}

// offset is where the Wire's fault acts in the response (see Wire.Injected).
func (w *wireRun) offset(headLen int) int64 {
	total := int64(len(w.head) + len(w.body))
	switch {
	case w.Replace, w.Interim > 0, w.HeadPace.Bytes > 0:
		return 0
	case w.Reset:
		return min(w.ResetAfter, total)
	case w.Chunked, w.LengthDelta != 0, w.BodyPace.Bytes > 0:
		return int64(headLen)
	case w.Close:
		return total
	}
	return 0
}

// noBodyStatus reports statuses whose responses carry no body.
func noBodyStatus(status int) bool { return status < 200 || status == 204 || status == 304 }

// piece appends the wired response's next piece to out and returns the gap before the one
// after it, and whether the response is all out (or cut short for a reset).
func (w *wireRun) piece(out []byte) ([]byte, time.Duration, bool) {
	start := len(out)
	var gap time.Duration
	switch {
	case w.hpos < len(w.head):
		k := len(w.head) - w.hpos
		if p := w.HeadPace; p.Bytes > 0 && p.Bytes < k {
			k, gap = p.Bytes, p.Gap
		}
		out = append(out, w.head[w.hpos:w.hpos+k]...)
		w.hpos += k
	case w.bpos < len(w.body):
		k := len(w.body) - w.bpos
		if p := w.BodyPace; p.Bytes > 0 && p.Bytes < k {
			k, gap = p.Bytes, p.Gap
		}
		if w.chunked {
			out = w.appendChunkSize(out, k)
		}
		out = append(out, w.body[w.bpos:w.bpos+k]...)
		if w.chunked {
			out = append(out, "\r\n"...)
		}
		w.bpos += k
	case w.chunked && !w.tail:
		w.tail = true
		if !w.NoLastChunk {
			out = append(out, proto.LastChunk...)
		}
	}
	if w.Reset && int64(len(out)-start) >= w.ResetAfter-w.sent {
		out = out[:start+int(w.ResetAfter-w.sent)]
		w.sent = w.ResetAfter
		return out, 0, true
	}
	w.sent += int64(len(out) - start)
	done := w.hpos == len(w.head) && w.bpos == len(w.body) && (!w.chunked || w.tail)
	if done {
		gap = 0
	}
	return out, gap, done
}

// appendChunkSize appends the size line of a chunk of n bytes, as the Wire tells it.
func (w *wireRun) appendChunkSize(out []byte, n int) []byte {
	if w.BadChunkSize {
		return append(out, "zz\r\n"...)
	}
	size := int64(n)
	if w.LengthDelta != 0 {
		size = max(size+w.LengthDelta, 1)
	}
	out = strconv.AppendInt(out, size, 16)
	return append(out, "\r\n"...)
}

// wireAdvance sends what of the wired response in c.wire is due by c.now, then either waits
// for its next piece (Deadline says when) or finishes its slot.
func (c *Conn) wireAdvance() {
	s := c.wire
	w := s.wire
	for !c.closed && !c.now.Before(w.next) {
		if w.hanging {
			c.wireFinish(s)
			return
		}
		c.borrowOut()
		var gap time.Duration
		var done bool
		c.out, gap, done = w.piece(c.out)
		if done {
			if w.Hang > 0 && !w.Reset {
				w.hanging = true
				w.next = c.now.Add(w.Hang)
				return
			}
			c.wireFinish(s)
			return
		}
		if gap > 0 {
			w.next = c.now.Add(gap)
		}
	}
}

// wireFinish ends the wired response in slot s: it is observed, and the connection closes
// (or is reset once its output is out) when the Wire says so.
func (c *Conn) wireFinish(s *slot) {
	w := s.wire
	c.wire = nil
	s.bytesOut = w.sent
	if w.Close || w.Reset || w.Hang > 0 || w.Replace || w.Chunked && !s.http11 {
		s.close = true
	}
	if w.Reset {
		c.resetAtEnd = true
	}
	c.finishSlot(s)
}

// wireLabel is the Completed.Fault of a wired response.
func wireLabel(w *Wire) string {
	if w.Fault != "" {
		return w.Fault
	}
	return "latency"
}
