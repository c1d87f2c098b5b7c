package state

import "time"

// Batch sizes: a Batch holds up to BatchRecords records and BatchArenaBytes
// of raw heads and bodies. A record whose head and body together exceed a
// quarter of the arena gets its own allocated copy instead (the rare path).
const (
	BatchRecords    = 256
	BatchArenaBytes = 64 << 10
)

// Record describes one completed exchange, for history and the
// request.completed event. Strings are stored as given, never copied: pass
// static strings (RouteKey is a route template such as
// "GET /api/mocks/{id}", never a raw path) or strings that are not modified
// later.
type Record struct {
	TraceID  uint64        // rendered as 16 lower-case hex digits; also the request_id
	Start    int64         // when the request started, Unix nanoseconds
	Latency  time.Duration // start to response written; ts is Start+Latency
	BytesIn  int64         // raw request bytes, head plus encoded body
	BytesOut int64         // bytes written, head included
	RouteKey string        // static route template, for the event payload
	RunID    string        // scenario run that issued the request, if any
	StepID   string        // scenario step, if any
	Fault    string        // what the response did on the wire (conn.Completed.Fault), if anything
	// Recording is the id of the record-mode session that proxied the request, if any.
	Recording string
	Status    uint16
	// Reused is true when the connection had served an earlier request.
	Reused bool
	// SkipHistory keeps the exchange out of history (e.g. /_metrics,
	// /static/*); its request.completed event is still published.
	SkipHistory bool
	// RedactBody stores the body as "[redacted]" (e.g. POST /api/auth/login).
	RedactBody bool
}

// slot is one record in a Batch, with where its bytes live.
type slot struct {
	Record
	headOff, headLen uint32 // into arena, unless ext != nil; the response's head and body follow
	bodyOff, bodyLen uint32
	respHeadLen      uint32
	respBodyLen      uint32
	ext              []byte // own copy of head, body, response head and body, for oversized records
	bodyKept         bool   // false when the body was over the history limit
	respCut          bool   // the response body was cut at the history limit
}

// Batch is a fixed-capacity set of completed-exchange records plus a byte
// arena holding their raw request heads and bodies. It is owned by one
// goroutine at a time: the one that got it from Actor.NewBatch, until it
// hands it to Actor.SubmitBatch, after which it must not be touched (the actor
// recycles it). Capture goroutines should submit a partly filled batch at the
// end of each wakeup, so that history and events are not delayed.
type Batch struct {
	slots   [BatchRecords]slot
	n       int
	arena   []byte // len is the bytes used; cap is BatchArenaBytes
	maxBody int    // bodies longer than this are not kept
}

func newBatch(maxBody int) *Batch {
	return &Batch{arena: make([]byte, 0, BatchArenaBytes), maxBody: maxBody}
}

// Len returns the number of records in the batch.
func (b *Batch) Len() int { return b.n }

// Add copies r, head (the raw request line and header lines, as received)
// and body (the decoded request body) into the batch. head and body are not
// retained: the caller may reuse them as soon as Add returns. It returns
// false, adding nothing, when the batch is full; the caller then submits it
// and adds to a fresh one. Add does not allocate, except for a record whose
// head and body exceed BatchArenaBytes/4. For a record with SkipHistory or
// RedactBody set, or a body over the history limit, the body is not copied.
func (b *Batch) Add(r Record, head, body []byte) bool { return b.AddExchange(r, head, body, nil, nil) }

// AddExchange is Add with the response too: its head as sent and its body, which history
// keeps up to the same limit as request bodies (cut there and marked). SkipHistory drops
// the response as well; RedactBody drops its body (a login's answer holds a session).
func (b *Batch) AddExchange(r Record, head, body, respHead, respBody []byte) bool {
	if b.n == len(b.slots) {
		return false
	}
	kept := r.RedactBody || len(body) <= b.maxBody
	if r.SkipHistory || r.RedactBody || !kept {
		body = nil
	}
	respCut := false
	switch {
	case r.SkipHistory:
		respHead, respBody = nil, nil
	case r.RedactBody:
		respBody = nil
	case len(respBody) > b.maxBody:
		respBody, respCut = respBody[:b.maxBody], true
	}
	need := len(head) + len(body) + len(respHead) + len(respBody)
	s := &b.slots[b.n]
	var dst []byte
	off := 0
	if need > BatchArenaBytes/4 {
		dst = make([]byte, 0, need)
	} else {
		if len(b.arena)+need > cap(b.arena) {
			return false
		}
		dst, off = b.arena, len(b.arena)
	}
	dst = append(dst, head...)
	dst = append(dst, body...)
	dst = append(dst, respHead...)
	dst = append(dst, respBody...)
	*s = slot{
		Record:  r,
		headOff: uint32(off), headLen: uint32(len(head)),
		bodyOff: uint32(off + len(head)), bodyLen: uint32(len(body)),
		respHeadLen: uint32(len(respHead)), respBodyLen: uint32(len(respBody)),
		bodyKept: kept, respCut: respCut,
	}
	if need > BatchArenaBytes/4 {
		s.ext = dst
	} else {
		b.arena = dst
	}
	b.n++
	return true
}

// bytes returns the head and body of slot i; they alias the batch.
func (b *Batch) bytes(i int) (head, body []byte) {
	head, body, _, _ = b.exchange(i)
	return head, body
}

// exchange returns the request head and body and the response head and body of slot i;
// they alias the batch.
func (b *Batch) exchange(i int) (head, body, respHead, respBody []byte) {
	s := &b.slots[i]
	src := b.arena
	if s.ext != nil {
		src = s.ext
	}
	rh := s.bodyOff + s.bodyLen
	rb := rh + s.respHeadLen
	return src[s.headOff : s.headOff+s.headLen], src[s.bodyOff : s.bodyOff+s.bodyLen],
		src[rh:rb], src[rb : rb+s.respBodyLen]
}

// reset empties the batch and drops its references, for reuse.
func (b *Batch) reset() {
	clear(b.slots[:b.n])
	b.n = 0
	b.arena = b.arena[:0]
}
