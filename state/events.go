package state

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Event types published by this package. Other packages publish theirs
// (scenario.*, proxy.request.completed, incident.*) through Actor.Publish.
const (
	EventSystemHealth     = "system.health"
	EventRequestCompleted = "request.completed"
)

// Event is one entry of the live-event ring (spec §6.1). Payload is
// immutable JSON, shared between every copy of the event.
//
// An Event taken from the ring (Model.Events, Actor.Events) also carries its
// rendering, made once per event whatever the number of readers: its SSE
// frame (Frame) and, inside it, its JSON envelope (MarshalJSON). Both are
// immutable and shared by every copy of the event: never modify them, and do
// not change the fields of such an Event expecting its JSON to follow. The
// ring holds them as long as the event is buffered (until EventBufferSize
// newer events have pushed it out); a reader's copy keeps them alive as long
// as it holds the Event.
type Event struct {
	ID      uint64          `json:"id"`
	TS      string          `json:"ts"`
	Type    string          `json:"type"`
	Source  string          `json:"source"` // always "server"
	TraceID string          `json:"trace_id"`
	Payload json.RawMessage `json:"payload"`

	frame    []byte // "id: <epoch>-<ID>\nevent: <Type>\ndata: <envelope>\n\n"; nil when not rendered
	envelope []byte // the JSON envelope: a slice of frame
}

// Frame returns the event's SSE frame (its id, event and data lines and the
// blank line that dispatches it; see AppendSSEFrame), rendered once in the
// ring. It is nil for an Event that does not come from the ring, or whose
// payload is not valid JSON. The bytes are shared: never modify them.
func (e *Event) Frame() []byte { return e.frame }

// MarshalJSON writes the envelope {id, ts, type, source, trace_id, payload}:
// the bytes rendered in the ring when there are some (shared: do not modify),
// else an encoding of the fields.
func (e Event) MarshalJSON() ([]byte, error) {
	if e.envelope != nil {
		return e.envelope, nil
	}
	type plain Event
	return json.Marshal(plain(e))
}

// render renders e's envelope and frame from its fields, in a fresh buffer
// that is never written again. The frame's id is SSEEventID(epoch, e.ID). A
// payload that is not valid JSON (Actor.Publish never queues one) leaves both
// nil: streams then skip the event, and MarshalJSON reports the error.
func (e *Event) render(epoch uint64) {
	type plain Event
	data, err := json.Marshal((*plain)(e))
	if err != nil {
		e.frame, e.envelope = nil, nil
		return
	}
	f := AppendSSEFrame(make([]byte, 0, len(data)+len(e.Type)+60), SSEEventID(epoch, e.ID), e.Type, data)
	// json.Marshal writes no CR or LF, so the envelope is the one data line,
	// just before the final blank line.
	end := len(f) - 2
	e.frame, e.envelope = f, f[end-len(data):end:end]
	// The payload is the envelope's last member, verbatim when it was compact JSON (as every
	// publisher makes it): share those bytes rather than keep a second copy in the ring.
	if p := e.envelope[:len(e.envelope)-1]; len(e.Payload) > 0 && bytes.HasSuffix(p, e.Payload) {
		e.Payload = p[len(p)-len(e.Payload) : len(p) : len(p)]
	}
}

// SSEEventID is the SSE id of event id in a server's epoch: "<epoch>-<id>", so that a
// client resuming with Last-Event-ID after a restart (ids begin again at 1) can be told
// the stream restarted instead of being fed other events under ids it has seen. Epoch 0
// (a Model without an Actor) gives the bare id.
func SSEEventID(epoch, id uint64) string {
	var b [41]byte
	d := b[:0]
	if epoch != 0 {
		d = strconv.AppendUint(d, epoch, 10)
		d = append(d, '-')
	}
	return string(strconv.AppendUint(d, id, 10))
}

// ParseSSEEventID parses an event cursor: "<epoch>-<id>" (SSEEventID) or a bare "<id>",
// decimal, with optional surrounding blanks. hasEpoch says which form it was; anything else,
// including negative numbers and values past uint64, is not ok.
func ParseSSEEventID(s string) (epoch, id uint64, hasEpoch, ok bool) {
	s = strings.TrimSpace(s)
	e, n, cut := strings.Cut(s, "-")
	if !cut {
		n = s
	}
	if n == "" || n[0] == '+' {
		return 0, 0, false, false
	}
	id, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return 0, 0, false, false
	}
	if cut {
		if e == "" || e[0] == '+' {
			return 0, 0, false, false
		}
		if epoch, err = strconv.ParseUint(e, 10, 64); err != nil {
			return 0, 0, false, false
		}
	}
	return epoch, id, cut, true
}

// EventPage is the answer to an events query (spec §6.3, fixed): the OLDEST
// matching events after the cursor, so that a client advancing its cursor to
// the last id it received never skips one.
//
// LatestID is the highest id assigned so far; OldestID the id of the oldest
// buffered event (LatestID+1 when the ring is empty). Overflowed is true
// when the ring has rotated past the cursor (events were lost to the
// client). HasMore is true when matching events exist beyond the last one
// returned; when it is false, the client may advance its cursor to LatestID.
// A cursor above LatestID (the server restarted) gives an empty page.
//
// Epoch is the server's start epoch (Actor.Epoch): ids are unique within an
// epoch. Restarted is set by the HTTP layer when the client named another
// epoch: the page then starts from the oldest buffered event.
type EventPage struct {
	Events     []Event `json:"events"` // never nil
	LatestID   uint64  `json:"latest_id"`
	OldestID   uint64  `json:"oldest_id"`
	Overflowed bool    `json:"overflowed"`
	HasMore    bool    `json:"has_more"`
	RefreshMs  int     `json:"refresh_ms"`
	Epoch      uint64  `json:"epoch"`
	Restarted  bool    `json:"restarted"`
}

// Page limits for events queries.
const (
	DefaultEventPageLimit = 200
	MaxEventPageLimit     = 1000
)

// eventRing holds the last len(buf) events; ids start at 1 and are never
// reused. Each event is rendered (Event.render) exactly once: a published
// event when it enters the ring; a captured request.completed event, stored
// raw (the record and a copy of the request line) so that capturing costs a
// copy and no allocation, when it is first read. Every later read, by any
// number of subscribers, shares that rendering.
type eventRing struct {
	buf     []eventSlot
	start   int    // index of the oldest event
	n       int    // events held
	nextID  uint64 // id of the next event
	epoch   uint64 // the server's start epoch, in every frame's id (0: bare ids)
	engine  string // for request.completed payloads
	renders uint64 // events rendered so far (a test counter)
}

// eventSlot is one event, rendered or raw. Owned by the actor goroutine.
type eventSlot struct {
	ev       Event
	rendered bool
	rec      Record
	line     []byte // the raw request line; reused across pushes
}

func newEventRing(capacity int, engine string) eventRing {
	return eventRing{buf: make([]eventSlot, capacity), nextID: 1, engine: engine}
}

func (r *eventRing) latest() uint64 { return r.nextID - 1 }

// oldest returns the oldest buffered id, or latest+1 when empty.
func (r *eventRing) oldest() uint64 { return r.nextID - uint64(r.n) }

// next assigns the next id and returns its slot, making room when the ring is full.
func (r *eventRing) next() (uint64, *eventSlot) {
	id := r.nextID
	r.nextID++
	if r.n < len(r.buf) {
		r.n++
		return id, &r.buf[(r.start+r.n-1)%len(r.buf)]
	}
	s := &r.buf[r.start]
	r.start = (r.start + 1) % len(r.buf)
	return id, s
}

func (r *eventRing) push(ts, typ, traceID string, payload json.RawMessage) uint64 {
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	id, s := r.next()
	s.ev = Event{ID: id, TS: ts, Type: typ, Source: "server", TraceID: traceID, Payload: payload}
	r.render(s)
	return id
}

// pushRequest records a request.completed event for rec, whose request line is line. Only
// what the payload shows is kept: the method and the target's path, not its query (a ring
// of request lines with long queries would hold them all until each event is read).
func (r *eventRing) pushRequest(rec *Record, line []byte) uint64 {
	id, s := r.next()
	s.ev = Event{ID: id}
	s.rendered = false
	s.rec = *rec
	if m := bytes.IndexByte(line, ' '); m >= 0 {
		if q := bytes.IndexAny(line[m+1:], "?# "); q >= 0 {
			line = line[:m+1+q]
		}
	}
	s.line = append(s.line[:0], line...)
	return id
}

// keptLineBytes is the request-line capacity a rendered slot keeps for reuse.
const keptLineBytes = 1 << 10

// byID returns the buffered event with the given id, rendering it if needed; the caller
// checks the range.
func (r *eventRing) byID(id uint64) *Event {
	s := &r.buf[(r.start+int(id-r.oldest()))%len(r.buf)]
	if !s.rendered {
		e := buildEntry(&s.rec, s.line, nil, false)
		payload := appendRequestCompleted(nil, &e, &s.rec, r.engine)
		s.ev = Event{ID: id, TS: e.TS, Type: EventRequestCompleted, Source: "server", TraceID: e.TraceID, Payload: payload}
		r.render(s)
		if cap(s.line) > keptLineBytes {
			s.line = nil // rendered: a long request line would be held twice
		}
	}
	return &s.ev
}

// render renders the slot's event; a slot is rendered once per event.
func (r *eventRing) render(s *eventSlot) {
	s.ev.render(r.epoch)
	s.rendered = true
	r.renders++
}

// page implements Events. A limit outside 1..1000 becomes 200 (when < 1) or
// 1000; an empty topics list matches every type.
func (r *eventRing) page(since uint64, limit int, topics []string, refreshMs int) EventPage {
	if limit < 1 {
		limit = DefaultEventPageLimit
	}
	if limit > MaxEventPageLimit {
		limit = MaxEventPageLimit
	}
	p := EventPage{LatestID: r.latest(), OldestID: r.oldest(), RefreshMs: refreshMs, Epoch: r.epoch}
	p.Overflowed = since+1 < p.OldestID
	first := max(since+1, p.OldestID)
	var buffered uint64
	if first <= p.LatestID {
		buffered = p.LatestID - first + 1
	}
	p.Events = make([]Event, 0, min(uint64(limit), buffered)) // never nil: the JSON shows []
	for id := first; id <= p.LatestID; id++ {
		e := r.byID(id)
		if !topicMatch(e.Type, topics) {
			continue
		}
		if len(p.Events) == limit {
			p.HasMore = true
			break
		}
		p.Events = append(p.Events, *e)
	}
	return p
}

func topicMatch(typ string, topics []string) bool {
	if len(topics) == 0 {
		return true
	}
	for _, t := range topics {
		if t == typ {
			return true
		}
	}
	return false
}

// appendRequestCompleted appends the request.completed payload:
// {method, path, status, bytes_in, bytes_out, latency_ms, route_key,
// connection_reused, engine}.
func appendRequestCompleted(b []byte, e *HistoryEntry, r *Record, engine string) []byte {
	b = append(b, `{"method":`...)
	b = appendJSONString(b, e.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, e.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, r.BytesIn, 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, r.BytesOut, 10)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, latencyMS(r.Latency), 'f', -1, 64)
	b = append(b, `,"route_key":`...)
	b = appendJSONString(b, r.RouteKey)
	b = append(b, `,"connection_reused":`...)
	b = strconv.AppendBool(b, r.Reused)
	b = append(b, `,"engine":`...)
	b = appendJSONString(b, engine)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaped exactly as
// encoding/json does (HTML-safe, invalid UTF-8 as \ufffd, U+2028/2029
// escaped).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendSSEFrame appends one SSE frame (WHATWG HTML §9.2.6): an id line when
// id is not empty, an event line with typ made a safe token, one data line
// per line of data (split at CRLF, CR and LF, the line ends SSE knows; a
// client joins them back with LF), and the blank line that dispatches it. In
// the token every byte outside [A-Za-z0-9._-] becomes '_', so no type can end
// the field early or inject another field; an empty type becomes "message"
// (the EventSource default). id must not contain CR, LF or NUL.
func AppendSSEFrame(dst []byte, id, typ string, data []byte) []byte {
	if id != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, id...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "event: "...)
	dst = appendSSEToken(dst, typ)
	dst = append(dst, '\n')
	for {
		i := 0
		for i < len(data) && data[i] != '\n' && data[i] != '\r' {
			i++
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if i == len(data) {
			break
		}
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return append(dst, '\n')
}

// appendSSEToken appends typ as an SSE event name (see AppendSSEFrame).
func appendSSEToken(dst []byte, typ string) []byte {
	if typ == "" {
		return append(dst, "message"...)
	}
	for i := 0; i < len(typ); i++ {
		c := typ[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
			dst = append(dst, c)
		default:
			dst = append(dst, '_')
		}
	}
	return dst
}

// Subscription tells an SSE stream that new events may be available. It
// carries no events: the subscriber reads a page through Actor.Events from
// its cursor. Safe for concurrent use.
type Subscription struct {
	// notify has capacity 1. The actor sends without blocking after each
	// round of publishing; when a signal is already pending the send is
	// dropped, so a slow subscriber is never waited for and just reads a
	// bigger page later. Closed when the actor stops.
	notify chan struct{}
	hub    *hub
}

// Notify returns the channel that receives a signal when events may have
// been published since the last receive. It is closed when the actor stops
// (a receive then reports ok == false).
func (s *Subscription) Notify() <-chan struct{} { return s.notify }

// Unsubscribe stops the notifications. It is idempotent and does not close
// Notify's channel.
func (s *Subscription) Unsubscribe() { s.hub.remove(s) }

// hub is the set of subscriptions: a copy-on-write slice under a mutex, so
// that the actor's notify loop takes the lock only briefly.
type hub struct {
	mu      sync.Mutex
	subs    []*Subscription // replaced, never modified in place
	stopped bool
}

func (h *hub) add() *Subscription {
	s := &Subscription{notify: make(chan struct{}, 1), hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		close(s.notify)
		return s
	}
	subs := make([]*Subscription, len(h.subs), len(h.subs)+1)
	copy(subs, h.subs)
	h.subs = append(subs, s)
	return s
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, x := range h.subs {
		if x == s {
			subs := make([]*Subscription, 0, len(h.subs)-1)
			subs = append(subs, h.subs[:i]...)
			h.subs = append(subs, h.subs[i+1:]...)
			return
		}
	}
}

// notifyAll signals every subscriber without blocking. Called only by the
// actor goroutine, which is also the only closer of the channels.
func (h *hub) notifyAll() {
	h.mu.Lock()
	subs := h.subs
	h.mu.Unlock()
	for _, s := range subs {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// stop closes every subscription's channel; later subscriptions are born
// closed.
func (h *hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	h.stopped = true
	for _, s := range h.subs {
		close(s.notify)
	}
	h.subs = nil
}

// ---- Model ----

// Publish appends an event stamped now and returns its id. payload must be
// a JSON object (nil means {}); it is retained, not copied.
func (m *Model) Publish(typ, traceID string, payload json.RawMessage, now time.Time) uint64 {
	return m.events.push(FormatTime(now), typ, traceID, payload)
}

// Events returns the oldest limit events with id > since whose type is in
// topics (all types when topics is empty); see EventPage. limit < 1 means
// 200, and limit is capped at 1000.
func (m *Model) Events(since uint64, limit int, topics []string) EventPage {
	return m.events.page(since, limit, topics, m.cfg.RefreshMs)
}
