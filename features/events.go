package features

// Live events: the snapshot, the SSE stream and the live-mode probe (issue #4; spec §6 with
// its fixes).
//
// Snapshot. GET /api/events/snapshot answers one state.EventPage: the OLDEST `limit` events
// after the cursor, so a client that advances its cursor to the last id it received never
// skips one (has_more says another page is waiting; overflowed says the ring rotated past the
// cursor). The actor round trip runs in Exchange.Go.
//
// Stream. GET /api/events/stream is a real, long-lived text/event-stream on both engines. The
// handler answers with Exchange.Stream and starts one feeder goroutine per stream; the feeder
// subscribes to the actor, pages through the events after its cursor (state.Actor.Events, a
// blocking round trip that never runs on an event loop) and writes SSE frames with
// Stream.Write, which copies the bytes and posts them to the connection's owner: the event
// loop only appends them to the output. The feeder never waits for the client: conn cuts off
// a client that does not read, and the feeder sees Stream.Done. Its wire format:
//
//	retry: 1000                      first, once (reconnection delay, ms)
//	id: <id>                          one frame per event
//	event: <type>
//	data: <event envelope JSON>
//
//	event: stream.gap                 when the cursor fell out of the ring (no id line)
//	data: {"overflowed":true,"oldest_id":N,"latest_id":M}
//
//	: heartbeat                       every Config.EventHeartbeat
//
// The cursor is the Last-Event-ID header when it parses (that is what EventSource sends when
// it reconnects, with the URL of the first connection, so it must win over since_id), else the
// since_id query parameter, else 0 (the whole ring). topics filters by type. After a gap the
// stream continues from the oldest buffered event. A cursor above the newest id (the server
// restarted and ids began again) is also a gap: the stream restarts from the oldest event.
//
// The response carries Connection: close, so the connection ends with the stream instead of
// idling as a keep-alive connection afterwards. Streams end when the client goes away, when
// conn cuts a slow client off, when the state actor stops, and within drainPollInterval of
// the server starting to drain (EventSource then reconnects elsewhere after `retry`).
//
// Cost. On the epoll engine a stream costs its connection's place in the loop plus the
// feeder goroutine. On the threadpool engine the connection's parked reader goroutine waits
// in read(2) without a worker slot (a slot is taken only while request bytes are being
// handled), and writes run on the connection's on-demand task goroutine: an open stream never
// holds a worker. At most maxEventStreams streams are open at once; past that, 503
// too_many_streams.
//
// Requests to /api/events/* are not recorded as events (the state model skips them), so
// watching the stream does not feed it.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"ownhttp/conn"
	"ownhttp/proto"
	"ownhttp/state"
)

// Limits and timings of the event endpoints.
const (
	// maxEventStreams bounds the SSE streams open at once on one App.
	maxEventStreams = 256
	// maxEventTopics bounds the distinct types of a topics filter (the actor compares every
	// buffered event with each of them).
	maxEventTopics = 64
	// sseRetryMs is the reconnection delay sent in the stream's retry field.
	sseRetryMs = 1000
	// ssePageLimit is how many events a feeder asks the actor for per round trip (one
	// Stream.Write per page).
	ssePageLimit = 200
	// drainPollInterval is how often a feeder checks whether the server is draining.
	drainPollInterval = 250 * time.Millisecond
	// defaultEventHeartbeat is used when Config.EventHeartbeat is not positive.
	defaultEventHeartbeat = 5 * time.Second
	// eventsCallTimeout bounds one request/reply round trip to the state actor.
	eventsCallTimeout = 5 * time.Second
	// liveModeRefreshMs is the polling interval live-mode advises for the snapshot fallback.
	liveModeRefreshMs = 1000
)

// eventsSnapshot answers GET /api/events/snapshot with one state.EventPage.
func (a *App) eventsSnapshot(x *conn.Exchange, _ *params) {
	actor := a.cfg.State
	if actor == nil {
		writeError(x, 503, "unavailable", "live events are unavailable")
		return
	}
	// proto.Request.Header wants the name in lower case.
	q, err := parseEventQuery(x.Req.Query, x.Req.Header("last-event-id"), false)
	if err != "" {
		writeError(x, 400, "invalid_topics", err)
		return
	}
	x.Go(func(r *conn.Reply) {
		ctx, cancel := context.WithTimeout(context.Background(), eventsCallTimeout)
		defer cancel()
		page, err := actor.Events(ctx, q.since, q.limit, q.topics)
		if err != nil {
			status, code, msg := statusOf(err)
			replyEventsJSON(r, status, errorBody{Error: errorDetail{Code: code, Message: msg}})
			return
		}
		r.Header("Cache-Control", "no-store")
		replyEventsJSON(r, 200, page)
	})
}

// replyEventsJSON fills a Go reply with v as JSON.
func replyEventsJSON(r *conn.Reply, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = 500
		b = []byte(`{"error":{"code":"internal","message":"response could not be encoded"}}`)
	}
	r.Text(status, jsonType, b)
}

// eventsStream answers GET /api/events/stream with a long-lived SSE stream (see the file
// comment). HEAD gets the same head and no body.
func (a *App) eventsStream(x *conn.Exchange, _ *params) {
	actor := a.cfg.State
	if actor == nil {
		writeError(x, 503, "unavailable", "live events are unavailable")
		return
	}
	if x.Draining {
		x.Header("Retry-After", "2")
		writeError(x, 503, "draining", "the server is shutting down")
		return
	}
	q, err := parseEventQuery(x.Req.Query, x.Req.Header("last-event-id"), true)
	if err != "" {
		writeError(x, 400, "invalid_topics", err)
		return
	}
	head := x.Req.Method == proto.MethodHEAD
	if !head && !a.eventStreams.acquire(maxEventStreams) {
		x.Header("Retry-After", "5")
		writeError(x, 503, "too_many_streams", "too many open event streams")
		return
	}
	x.Header("Content-Type", "text/event-stream")
	x.Header("Cache-Control", "no-cache")
	x.Header("X-Accel-Buffering", "no")
	x.Close = true
	st := x.Stream(200)
	if head {
		return // conn sent the head alone; st is already closed
	}
	heartbeat := a.cfg.EventHeartbeat
	if heartbeat <= 0 {
		heartbeat = defaultEventHeartbeat
	}
	draining := func() bool { return false }
	if srv := a.cfg.Server; srv != nil {
		draining = srv.Draining
	}
	f := &eventFeeder{sink: st, actor: actor, cursor: q.since, topics: q.topics,
		heartbeat: heartbeat, drainPoll: drainPollInterval, draining: draining}
	go func() {
		defer a.eventStreams.release()
		defer func() {
			// The feeder runs outside conn's panic guard: a bug ends this stream, not the server.
			if p := recover(); p != nil {
				a.cfg.Logger.Error("event stream panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}()
		f.run()
	}()
}

// liveMode is the body of GET /api/events/live-mode (spec §6.5). Both engines serve the
// long-lived stream, so required_engine is the current engine and recommended_command is
// empty; available is false only when the server runs without a state actor.
type liveMode struct {
	Available      bool             `json:"available"`
	Engine         string           `json:"engine"`
	RequiredEngine string           `json:"required_engine"`
	Reason         string           `json:"reason"` // "" or "live_events_disabled"
	Fallback       liveModeFallback `json:"fallback"`
	Actions        liveModeActions  `json:"actions"`
}

type liveModeFallback struct {
	Mode      string `json:"mode"` // always "snapshot_polling"
	RefreshMs int    `json:"refresh_ms"`
}

type liveModeActions struct {
	Retry              bool   `json:"retry"`
	RecommendedCommand string `json:"recommended_command"`
}

// eventsLiveMode answers GET /api/events/live-mode. Without a state actor it still answers
// 200, with available false and reason live_events_disabled: telling the client whether live
// mode works is this endpoint's whole job.
func (a *App) eventsLiveMode(x *conn.Exchange, _ *params) {
	available := a.cfg.State != nil
	lm := liveMode{Available: available, Engine: a.cfg.Engine, RequiredEngine: a.cfg.Engine,
		Fallback: liveModeFallback{Mode: "snapshot_polling", RefreshMs: liveModeRefreshMs},
		Actions:  liveModeActions{Retry: available}}
	if !available {
		lm.Reason = "live_events_disabled"
	}
	x.Header("Cache-Control", "no-store")
	writeJSON(x, 200, lm)
}

// eventQuery is a parsed events query; it shares nothing with the request.
type eventQuery struct {
	since  uint64
	limit  int      // 1..state.MaxEventPageLimit
	topics []string // nil for every type
}

// parseEventQuery reads since_id, limit and topics from a raw query string, and the
// Last-Event-ID header value (nil when absent). since_id: a non-negative integer; negative or
// invalid values mean 0. limit: clamped to 1..1000; 200 when absent or not an integer.
// topics: a comma-separated list of types, blanks dropped, duplicates merged. The cursor comes
// from since_id, or from Last-Event-ID when since_id is absent; with headerFirst (the stream)
// a Last-Event-ID that parses wins over since_id. It never fails on bad values; the only
// error (a message) is a topics list longer than maxEventTopics.
func parseEventQuery(rawQuery, lastEventID []byte, headerFirst bool) (eventQuery, string) {
	q := eventQuery{limit: state.DefaultEventPageLimit}
	// ParseQuery keeps every well-formed pair when others are malformed.
	vals, _ := url.ParseQuery(string(rawQuery))
	header, headerOK := parseEventID(lastEventID)
	sinceVals, sinceGiven := vals["since_id"]
	switch {
	case headerOK && (headerFirst || !sinceGiven):
		q.since = header
	case sinceGiven && len(sinceVals) > 0:
		q.since, _ = parseEventID([]byte(sinceVals[0]))
	}
	if v, ok := vals["limit"]; ok && len(v) > 0 {
		if n, err := strconv.ParseInt(strings.TrimSpace(v[0]), 10, 64); err == nil {
			q.limit = int(min(max(n, 1), state.MaxEventPageLimit))
		} else if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			if strings.HasPrefix(strings.TrimSpace(v[0]), "-") {
				q.limit = 1
			} else {
				q.limit = state.MaxEventPageLimit
			}
		}
	}
	if v, ok := vals["topics"]; ok && len(v) > 0 {
		for t := range strings.SplitSeq(v[0], ",") {
			t = strings.TrimSpace(t)
			if t == "" || containsString(q.topics, t) {
				continue
			}
			if len(q.topics) == maxEventTopics {
				return eventQuery{}, "topics lists more than " + strconv.Itoa(maxEventTopics) + " event types"
			}
			q.topics = append(q.topics, t)
		}
	}
	return q, ""
}

// parseEventID parses a cursor: a decimal event id with optional surrounding blanks. Anything
// else, including negative numbers and values past uint64, is invalid (0, false).
func parseEventID(b []byte) (uint64, bool) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// eventStreamLimit counts open streams against a bound. Safe for concurrent use; the zero
// value is ready.
type eventStreamLimit struct {
	open atomic.Int64
}

// acquire takes a place if fewer than limit are taken.
func (l *eventStreamLimit) acquire(limit int64) bool {
	for {
		n := l.open.Load()
		if n >= limit {
			return false
		}
		if l.open.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release gives a place back.
func (l *eventStreamLimit) release() { l.open.Add(-1) }

// eventSink is where a feeder writes its frames: a *conn.Stream in the server. Write must
// copy p and never block; Done is closed once the sink is gone; Close ends it.
type eventSink interface {
	Write(p []byte) error
	Done() <-chan struct{}
	Close()
}

// eventFeeder writes one SSE stream: every event after cursor that matches topics, as it is
// published, with heartbeats, until the sink ends, the actor stops or the server drains. It
// runs on its own goroutine (run); no other goroutine touches it.
type eventFeeder struct {
	sink      eventSink
	actor     *state.Actor
	cursor    uint64 // the last event id covered
	topics    []string
	heartbeat time.Duration
	drainPoll time.Duration
	draining  func() bool
	buf       []byte // frames of the page being written; reused (Write copies)
}

var sseHeartbeat = []byte(": heartbeat\n\n")

// run feeds the sink until it ends, then unsubscribes and closes the sink.
func (f *eventFeeder) run() {
	defer f.sink.Close()
	// Subscribe before the first page, so no publish between the page and the wait is missed.
	sub := f.actor.Subscribe()
	defer sub.Unsubscribe()
	hb := time.NewTicker(f.heartbeat)
	defer hb.Stop()
	dp := time.NewTicker(f.drainPoll)
	defer dp.Stop()

	f.buf = append(f.buf[:0], "retry: "...)
	f.buf = strconv.AppendInt(f.buf, sseRetryMs, 10)
	f.buf = append(f.buf, "\n\n"...)
	if f.sink.Write(f.buf) != nil {
		return
	}
	for {
		if f.draining() || !f.catchUp() {
			return
		}
	wait:
		for {
			select {
			case _, ok := <-sub.Notify():
				if !ok {
					return // the actor stopped
				}
				break wait
			case <-hb.C:
				if f.draining() || f.sink.Write(sseHeartbeat) != nil {
					return
				}
			case <-dp.C:
				if f.draining() {
					return
				}
			case <-f.sink.Done():
				return
			}
		}
	}
}

// catchUp writes every matching event after the cursor, a page (one Write) at a time. It
// reports false when the stream must end.
func (f *eventFeeder) catchUp() bool {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), eventsCallTimeout)
		page, err := f.actor.Events(ctx, f.cursor, ssePageLimit, f.topics)
		cancel()
		if err != nil {
			return false
		}
		f.buf = f.buf[:0]
		restarted := f.cursor > page.LatestID
		if page.Overflowed || restarted {
			f.buf = appendSSEGap(f.buf, page.OldestID, page.LatestID)
		}
		if restarted {
			// Ids began again (a new server): everything buffered is new to the client.
			f.cursor = page.OldestID - 1
			if f.sink.Write(f.buf) != nil {
				return false
			}
			continue
		}
		for i := range page.Events {
			f.buf = appendSSEEvent(f.buf, &page.Events[i])
		}
		if n := len(page.Events); n > 0 {
			f.cursor = page.Events[n-1].ID
		}
		if !page.HasMore {
			// No match up to LatestID: skip the ones the topics filter left out.
			f.cursor = max(f.cursor, page.LatestID)
		}
		if len(f.buf) > 0 && f.sink.Write(f.buf) != nil {
			return false
		}
		if !page.HasMore {
			return true
		}
		select {
		case <-f.sink.Done():
			return false
		default:
		}
		if f.draining() {
			return false
		}
	}
}

// appendSSEEvent appends e as one frame: its id, its type and its JSON envelope.
func appendSSEEvent(dst []byte, e *state.Event) []byte {
	data, err := json.Marshal(e)
	if err != nil {
		return dst // cannot happen: the actor stores valid JSON payloads
	}
	return appendSSEFrame(dst, strconv.FormatUint(e.ID, 10), e.Type, data)
}

// appendSSEGap appends the stream.gap frame (no id: it is not an event of the ring).
func appendSSEGap(dst []byte, oldest, latest uint64) []byte {
	var data [96]byte
	d := append(data[:0], `{"overflowed":true,"oldest_id":`...)
	d = strconv.AppendUint(d, oldest, 10)
	d = append(d, `,"latest_id":`...)
	d = strconv.AppendUint(d, latest, 10)
	d = append(d, '}')
	return appendSSEFrame(dst, "", "stream.gap", d)
}

// appendSSEFrame appends one SSE frame (WHATWG HTML §9.2.6): an id line when id is not empty,
// an event line with typ made a safe token (sseToken), one data line per line of data (split
// at CRLF, CR and LF, the line ends SSE knows; a client joins them back with LF), and the
// blank line that dispatches it. id must not contain CR, LF or NUL.
func appendSSEFrame(dst []byte, id, typ string, data []byte) []byte {
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

// appendSSEToken appends typ with every byte outside [A-Za-z0-9._-] replaced by '_', so no
// type can end the field early or inject another field; an empty type becomes "message" (the
// EventSource default).
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
