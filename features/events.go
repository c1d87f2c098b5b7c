package features

// Live events: the snapshot, the SSE stream and the live-mode probe (issue #4; spec §6 with
// its fixes).
//
// Snapshot. GET /api/events/snapshot answers one state.EventPage: the OLDEST `limit` events
// after the cursor, so a client that advances its cursor to the last id it received never
// skips one (has_more says another page is waiting; overflowed says the ring rotated past the
// cursor). The actor round trip runs in Exchange.Go. Each event's JSON is the envelope the
// state ring rendered once for it (state.Event.MarshalJSON): the page is assembled, not
// re-encoded.
//
// Stream. GET /api/events/stream is a real, long-lived text/event-stream on both engines. The
// handler answers with Exchange.Stream and starts one feeder goroutine per stream; the feeder
// subscribes to the actor, pages through the events after its cursor (state.Actor.Events, a
// blocking round trip that never runs on an event loop) and writes SSE frames with
// Stream.Write, which copies the bytes and posts them to the connection's owner: the event
// loop only appends them to the output. A frame is rendered once per event, in the state
// ring (state.Event.Frame); every stream copies the same bytes, so a thousand subscribers
// cost a thousand copies, not a thousand encodings. The feeder never waits for the client: conn cuts off
// a client that does not read, and the feeder sees Stream.Done. Its wire format:
//
//	retry: 1000                      first, once (reconnection delay, ms)
//	id: <epoch>-<id>                  one frame per event (the envelope's id is <id>)
//	event: <type>
//	data: <event envelope JSON>
//
//	event: stream.restarted           first, when the cursor is from another epoch (no id line)
//	data: {"restarted":true,"previous_epoch":E0,"epoch":E1}
//
//	event: stream.gap                 when the cursor fell out of the ring (no id line)
//	data: {"overflowed":true,"oldest_id":N,"latest_id":M}
//
//	: heartbeat                       every Config.EventHeartbeat
//
// Epochs. Event ids begin at 1 each time the server starts, so an id alone is ambiguous
// across a restart. Every frame's id is "<epoch>-<id>", the epoch being the server's start
// time in Unix milliseconds (state.Actor.Epoch; snapshot pages carry it as "epoch"). A
// cursor from another epoch gets stream.restarted (pages: "restarted":true) and every
// buffered event from the oldest. A bare numeric cursor, as clients from before epochs send,
// is taken as an id of the current epoch, as it always was.
//
// The cursor is the Last-Event-ID header when it parses (that is what EventSource sends when
// it reconnects, with the URL of the first connection, so it must win over since_id), else the
// since_id query parameter (with the epoch parameter for a bare id), else 0 (the whole ring).
// topics filters by type. After a gap the stream continues from the oldest buffered event. A
// cursor above the newest id (a bare id from before a restart) is also a gap: the stream
// restarts from the oldest event.
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

// Refusals of the event endpoints.
const (
	codeInvalidTopics  = "invalid_topics"
	codeDraining       = "draining"
	codeTooManyStreams = "too_many_streams"
)

// errEventsUnavailable answers an event endpoint on an App without a state actor.
var errEventsUnavailable = labErr(state.KindUnavailable, state.CodeUnavailable, "live events are unavailable")

// Limits and timings of the event endpoints.
const (
	// maxEventStreams bounds the SSE streams open at once on one App.
	maxEventStreams = 256
	// maxEventTopics bounds the distinct types of a topics filter (the actor compares every
	// buffered event with each of them).
	maxEventTopics = 64
	// sseRetryMs is the reconnection delay sent in the stream's retry field.
	sseRetryMs = 1000
	// sseWriteBytes is about how much a feeder hands to its stream per Write.
	sseWriteBytes = 16 << 10
	// ssePageLimit is how many events a feeder asks the actor for per round trip.
	ssePageLimit = 64
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
		writeErr(x, errEventsUnavailable)
		return
	}
	q, err := parseEventQuery(x.Req.Query, x.Req.Header("last-event-id"), false)
	if err != "" {
		writeErr(x, labErr(state.KindInvalid, codeInvalidTopics, err))
		return
	}
	restarted := q.restartedFor(actor.Epoch())
	if restarted {
		q.since = 0 // another epoch's ids: everything buffered is new to the client
	}
	x.Go(func(r *conn.Reply) {
		ctx, cancel := context.WithTimeout(a.lifetime(), eventsCallTimeout)
		defer cancel()
		page, err := actor.Events(ctx, q.since, q.limit, q.topics)
		if err != nil {
			answerErr(r, err)
			return
		}
		page.Restarted = restarted
		r.Header("Cache-Control", "no-store")
		answerJSON(r, 200, page)
	})
}

// eventsStream answers GET /api/events/stream with a long-lived SSE stream (see the file
// comment). HEAD gets the same head and no body.
func (a *App) eventsStream(x *conn.Exchange, _ *params) {
	actor := a.cfg.State
	if actor == nil {
		writeErr(x, errEventsUnavailable)
		return
	}
	if x.Draining {
		x.Header("Retry-After", "2")
		writeErr(x, labErr(state.KindUnavailable, codeDraining, "the server is shutting down"))
		return
	}
	q, err := parseEventQuery(x.Req.Query, x.Req.Header("last-event-id"), true)
	if err != "" {
		writeErr(x, labErr(state.KindInvalid, codeInvalidTopics, err))
		return
	}
	head := x.Req.Method == proto.MethodHEAD
	if !head && !a.eventStreams.acquire(maxEventStreams) {
		x.Header("Retry-After", "5")
		writeErr(x, labErr(state.KindUnavailable, codeTooManyStreams, "too many open event streams"))
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
	if q.restartedFor(actor.Epoch()) {
		f.cursor, f.restarted, f.previousEpoch = 0, true, q.epoch
	}
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
	since    uint64
	epoch    uint64 // the epoch the cursor belongs to, when hasEpoch
	hasEpoch bool
	limit    int      // 1..state.MaxEventPageLimit
	topics   []string // nil for every type
}

// restartedFor reports whether the cursor belongs to another epoch than the server's: the
// server restarted since the client's last event, so its ids mean other events.
func (q *eventQuery) restartedFor(epoch uint64) bool { return q.hasEpoch && q.epoch != epoch }

// parseEventQuery reads since_id, epoch, limit and topics from a raw query string, and the
// Last-Event-ID header value (nil when absent). A cursor (since_id or Last-Event-ID) is
// "<epoch>-<id>", the id of an SSE frame, or a bare id as before epochs (see
// state.ParseSSEEventID); an invalid one means 0. The epoch query parameter gives the epoch
// of a bare since_id. limit: clamped to 1..1000; 200 when absent or not an integer. topics:
// a comma-separated list of types, blanks dropped, duplicates merged. The cursor comes from
// since_id, or from Last-Event-ID when since_id is absent; with headerFirst (the stream) a
// Last-Event-ID that parses wins over since_id. It never fails on bad values; the only error
// (a message) is a topics list longer than maxEventTopics.
func parseEventQuery(rawQuery, lastEventID []byte, headerFirst bool) (eventQuery, string) {
	q := eventQuery{limit: state.DefaultEventPageLimit}
	// ParseQuery keeps every well-formed pair when others are malformed.
	vals, _ := url.ParseQuery(string(rawQuery))
	hEpoch, header, hHasEpoch, headerOK := state.ParseSSEEventID(string(lastEventID))
	sinceVals, sinceGiven := vals["since_id"]
	switch {
	case headerOK && (headerFirst || !sinceGiven):
		q.since, q.epoch, q.hasEpoch = header, hEpoch, hHasEpoch
	case sinceGiven && len(sinceVals) > 0:
		if e, id, hasEpoch, ok := state.ParseSSEEventID(sinceVals[0]); ok {
			q.since, q.epoch, q.hasEpoch = id, e, hasEpoch
		}
		if v, ok := vals["epoch"]; ok && len(v) > 0 && !q.hasEpoch {
			if e, err := strconv.ParseUint(strings.TrimSpace(v[0]), 10, 64); err == nil {
				q.epoch, q.hasEpoch = e, true
			}
		}
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
	// restarted is set when the client's cursor belongs to another epoch (previousEpoch)
	// than the server's: the stream starts with a stream.restarted frame, then the whole ring.
	restarted     bool
	previousEpoch uint64
	buf           []byte // frames of the page being written; reused (Write copies)
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
	if f.restarted {
		f.buf = appendSSERestarted(f.buf, f.previousEpoch, f.actor.Epoch())
	}
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
		// The page goes out in writes of about sseWriteBytes (a frame is never split), so a
		// stream that falls behind holds at most one of them beyond its bound.
		for rest := page.Events; len(rest) > 0; {
			var n int
			f.buf, n = appendEventFrames(f.buf, rest, sseWriteBytes)
			rest = rest[n:]
			if len(f.buf) >= sseWriteBytes {
				if f.sink.Write(f.buf) != nil {
					return false
				}
				f.buf = f.buf[:0]
			}
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
		if cap(f.buf) > 4*sseWriteBytes {
			f.buf = nil // one large frame does not stay with an idle stream
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

// appendEventFrames appends the frames of evs, each rendered once in the state actor's ring
// (state.Event.Frame) and only copied here: a page costs no encoding, however many streams
// read it. It stops once dst holds limit bytes (a frame is never split) and returns how many
// of evs it took. An event without a frame (a payload that is not JSON, which the actor
// never stores) is skipped.
func appendEventFrames(dst []byte, evs []state.Event, limit int) ([]byte, int) {
	for i := range evs {
		if len(dst) >= limit {
			return dst, i
		}
		dst = append(dst, evs[i].Frame()...)
	}
	return dst, len(evs)
}

// appendSSERestarted appends the stream.restarted frame (no id: it is not an event of the
// ring): the client's cursor belongs to the epoch previous, the server now runs epoch, and
// the events that follow start again from the oldest buffered one.
func appendSSERestarted(dst []byte, previous, epoch uint64) []byte {
	var data [96]byte
	d := append(data[:0], `{"restarted":true,"previous_epoch":`...)
	d = strconv.AppendUint(d, previous, 10)
	d = append(d, `,"epoch":`...)
	d = strconv.AppendUint(d, epoch, 10)
	d = append(d, '}')
	return state.AppendSSEFrame(dst, "", "stream.restarted", d)
}

// appendSSEGap appends the stream.gap frame (no id: it is not an event of the ring).
func appendSSEGap(dst []byte, oldest, latest uint64) []byte {
	var data [96]byte
	d := append(data[:0], `{"overflowed":true,"oldest_id":`...)
	d = strconv.AppendUint(d, oldest, 10)
	d = append(d, `,"latest_id":`...)
	d = strconv.AppendUint(d, latest, 10)
	d = append(d, '}')
	return state.AppendSSEFrame(dst, "", "stream.gap", d)
}
