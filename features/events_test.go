package features

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/conn"
	"ownhttp/internal/sse"
	"ownhttp/internal/testkit"
	"ownhttp/proto"
	"ownhttp/state"
)

func TestAppendSSEGap(t *testing.T) {
	is := is.New(t)
	gap := string(appendSSEGap(nil, 52, 151))
	is.Equal(gap, "event: stream.gap\ndata: {\"overflowed\":true,\"oldest_id\":52,\"latest_id\":151}\n\n")
}

func TestParseEventQuery(t *testing.T) {
	tests := []struct {
		name        string
		query       string
		lastEventID string // "" means no header
		headerFirst bool
		want        eventQuery
	}{
		{"defaults", "", "", false, eventQuery{since: 0, limit: 200}},
		{"all given", "since_id=12&limit=5&topics=a,b", "", false, eventQuery{since: 12, limit: 5, topics: []string{"a", "b"}}},
		{"limit clamped low", "limit=0", "", false, eventQuery{limit: 1}},
		{"limit clamped negative", "limit=-3", "", false, eventQuery{limit: 1}},
		{"limit clamped high", "limit=5000", "", false, eventQuery{limit: 1000}},
		{"limit at bounds", "limit=1000", "", false, eventQuery{limit: 1000}},
		{"limit invalid", "limit=abc", "", false, eventQuery{limit: 200}},
		{"limit empty", "limit=", "", false, eventQuery{limit: 200}},
		{"since negative", "since_id=-5", "", false, eventQuery{limit: 200}},
		{"since invalid", "since_id=abc", "", false, eventQuery{limit: 200}},
		{"header when since absent", "", "17", false, eventQuery{since: 17, limit: 200}},
		{"since wins in snapshot", "since_id=3", "17", false, eventQuery{since: 3, limit: 200}},
		{"header wins in stream", "since_id=3", "17", true, eventQuery{since: 17, limit: 200}},
		{"bad header ignored", "since_id=3", "x", true, eventQuery{since: 3, limit: 200}},
		{"bad header, no since", "", "-1", false, eventQuery{limit: 200}},
		{"invalid since does not fall back to header", "since_id=abc", "17", false, eventQuery{limit: 200}},
		{"topics trimmed and merged", "topics=%20a%20,,b,a,", "", false, eventQuery{limit: 200, topics: []string{"a", "b"}}},
		{"topics empty", "topics=", "", false, eventQuery{limit: 200}},
		{"first value wins", "since_id=4&since_id=9&limit=2&limit=3", "", false, eventQuery{since: 4, limit: 2}},
		{"escaped", "since_id=%31%32&topics=request%2Ecompleted", "", false, eventQuery{since: 12, limit: 200, topics: []string{"request.completed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var hdr []byte
			if tt.lastEventID != "" {
				hdr = []byte(tt.lastEventID)
			}
			got, msg := parseEventQuery([]byte(tt.query), hdr, tt.headerFirst)
			is.Equal(msg, "")
			is.Equal(got, tt.want)
		})
	}
}

// Hostile queries never panic; values outside the rules default, and only an over-long topics
// list is refused.
func TestParseEventQueryHostile(t *testing.T) {
	var many []string
	for i := range maxEventTopics + 1 {
		many = append(many, "t"+strconv.Itoa(i))
	}
	tests := []struct {
		name    string
		query   string
		header  string
		want    eventQuery
		wantErr bool
	}{
		{"bad escape elsewhere", "x=%zz&since_id=5", "", eventQuery{since: 5, limit: 200}, false},
		{"bad escape in since", "since_id=%zz", "", eventQuery{limit: 200}, false},
		{"since past uint64", "since_id=99999999999999999999999", "", eventQuery{limit: 200}, false},
		{"since max uint64", "since_id=18446744073709551615", "", eventQuery{since: 1<<64 - 1, limit: 200}, false},
		{"limit past int64", "limit=99999999999999999999999", "", eventQuery{limit: 1000}, false},
		{"limit below int64", "limit=-99999999999999999999999", "", eventQuery{limit: 1}, false},
		{"limit float", "limit=2.5", "", eventQuery{limit: 200}, false},
		{"since plus sign", "since_id=%2B5", "", eventQuery{limit: 200}, false},
		{"plus decodes to a blank", "since_id=+5", "", eventQuery{since: 5, limit: 200}, false},
		{"nul bytes", "since_id=%00&topics=%00", "", eventQuery{limit: 200, topics: []string{"\x00"}}, false},
		{"semicolons", "since_id=1;limit=2", "", eventQuery{limit: 200}, false},
		{"header past uint64", "", "99999999999999999999999", eventQuery{limit: 200}, false},
		{"header with spaces", "", "  8 ", eventQuery{since: 8, limit: 200}, false},
		{"only separators", "&&&=&=", "", eventQuery{limit: 200}, false},
		{"topics at the cap", "topics=" + strings.Join(many[:maxEventTopics], ","), "",
			eventQuery{limit: 200, topics: many[:maxEventTopics]}, false},
		{"topics at the cap, duplicated", "topics=" + strings.Join(append(many[:maxEventTopics:maxEventTopics], many[:maxEventTopics]...), ","), "",
			eventQuery{limit: 200, topics: many[:maxEventTopics]}, false},
		{"topics past the cap", "topics=" + strings.Join(many, ","), "", eventQuery{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var hdr []byte
			if tt.header != "" {
				hdr = []byte(tt.header)
			}
			got, msg := parseEventQuery([]byte(tt.query), hdr, false)
			is.Equal(msg != "", tt.wantErr)
			is.Equal(got, tt.want)
		})
	}
}

func TestEventStreamLimit(t *testing.T) {
	is := is.New(t)
	var l eventStreamLimit
	is.True(l.acquire(2))
	is.True(l.acquire(2))
	is.True(!l.acquire(2)) // at the limit
	l.release()
	is.True(l.acquire(2))

	// Concurrent takers never exceed the bound.
	var l2 eventStreamLimit
	var got atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if l2.acquire(10) {
				got.Add(1)
			}
		})
	}
	wg.Wait()
	is.Equal(got.Load(), int64(10))
	is.Equal(l2.open.Load(), int64(10))
}

// --- the feeder, against a real state actor and a recording sink ---

// recordingSink is an eventSink that keeps everything written; the test ends it with gone.
type recordingSink struct {
	mu       sync.Mutex
	buf      []byte
	closed   bool
	signal   chan struct{} // capacity 1: something was written or the sink closed
	done     chan struct{}
	doneOnce sync.Once
}

func newRecordingSink() *recordingSink {
	return &recordingSink{signal: make(chan struct{}, 1), done: make(chan struct{})}
}

func (s *recordingSink) Write(p []byte) error {
	select {
	case <-s.done:
		return errors.New("sink gone")
	default:
	}
	s.mu.Lock()
	s.buf = append(s.buf, p...)
	s.mu.Unlock()
	s.poke()
	return nil
}

func (s *recordingSink) Done() <-chan struct{} { return s.done }

func (s *recordingSink) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.gone()
	s.poke()
}

// gone simulates the client going away.
func (s *recordingSink) gone() { s.doneOnce.Do(func() { close(s.done) }) }

func (s *recordingSink) poke() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// frames waits (at most 10 s) until the recorded frames satisfy ok, and returns them.
func (s *recordingSink) frames(t *testing.T, ok func([]sse.Frame) bool) []sse.Frame {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		b := append([]byte(nil), s.buf...)
		s.mu.Unlock()
		f := testkit.ParseSSE(t, b)
		if ok(f) {
			return f
		}
		select {
		case <-s.signal:
		case <-deadline:
			t.Fatalf("frames not seen within 10s; have %q", b)
		}
	}
}

// eventIDs lists the ids of event frames, in order.
func eventIDs(f []sse.Frame) []uint64 {
	var ids []uint64
	for _, x := range f {
		if x.HasID {
			_, n, _, _ := state.ParseSSEEventID(x.ID)
			ids = append(ids, n)
		}
	}
	return ids
}

func hasID(id uint64) func([]sse.Frame) bool {
	return func(f []sse.Frame) bool {
		ids := eventIDs(f)
		return len(ids) > 0 && ids[len(ids)-1] >= id
	}
}

// startActor runs a state actor (no state file) until the test ends; the returned function
// stops it earlier.
func startActor(t testing.TB, cfg state.Config) (*state.Actor, context.CancelFunc) {
	t.Helper()
	a, err := state.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go a.Run(ctx)
	t.Cleanup(func() {
		cancel()
		<-a.Done()
	})
	return a, cancel
}

func publishN(t *testing.T, a *state.Actor, typ string, n int) {
	t.Helper()
	for i := range n {
		if !a.Publish(typ, "", map[string]int{"n": i}) {
			t.Fatalf("publish %d dropped", i)
		}
	}
}

type feederRun struct {
	f    *eventFeeder
	sink *recordingSink
	done chan struct{}
	drn  atomic.Bool
}

func startFeeder(t *testing.T, a *state.Actor, cursor uint64, topics []string, heartbeat time.Duration) *feederRun {
	t.Helper()
	r := &feederRun{sink: newRecordingSink(), done: make(chan struct{})}
	r.f = &eventFeeder{sink: r.sink, actor: a, cursor: cursor, topics: topics, heartbeat: heartbeat,
		drainPoll: 5 * time.Millisecond, draining: r.drn.Load}
	go func() {
		defer close(r.done)
		r.f.run()
	}()
	t.Cleanup(func() {
		r.sink.gone()
		r.wait(t)
	})
	return r
}

// wait waits (at most 10 s) for run to return, and checks it closed the sink.
func (r *feederRun) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("feeder did not stop within 10s")
	}
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	if !r.sink.closed {
		t.Fatal("feeder did not close its sink")
	}
}

// The feeder starts with retry, replays everything after its cursor in order, then sends new
// events as they are published, and stops when the client goes away.
func TestEventFeederCatchUpAndLive(t *testing.T) {
	is := is.New(t)
	a, _ := startActor(t, state.Config{})
	publishN(t, a, "test.one", 3) // ids 2..4 (1 is system.health)
	r := startFeeder(t, a, 0, nil, time.Hour)
	f := r.sink.frames(t, hasID(4))
	is.Equal(f[0].Retry, strconv.Itoa(sseRetryMs))
	is.Equal(eventIDs(f), []uint64{1, 2, 3, 4})
	is.Equal(f[1].Event, "system.health")
	is.Equal(f[2].Event, "test.one")

	publishN(t, a, "test.two", 300) // more than one page
	f = r.sink.frames(t, hasID(304))
	ids := eventIDs(f)
	for i, id := range ids {
		is.Equal(id, uint64(i+1)) // every id once, in order
	}
	is.Equal(f[len(f)-1].Event, "test.two")

	r.sink.gone()
	r.wait(t)
}

// Resuming from a cursor sends exactly the events after it.
func TestEventFeederResume(t *testing.T) {
	is := is.New(t)
	a, _ := startActor(t, state.Config{})
	publishN(t, a, "test.one", 9) // ids 2..10
	r := startFeeder(t, a, 7, nil, time.Hour)
	f := r.sink.frames(t, hasID(10))
	is.Equal(eventIDs(f), []uint64{8, 9, 10})
}

// A cursor that fell out of the ring gets a stream.gap frame, then the stream continues from
// the oldest buffered event; so does a cursor above the newest id (the server restarted).
func TestEventFeederGap(t *testing.T) {
	a, _ := startActor(t, state.Config{EventBufferSize: 100})
	publishN(t, a, "test.one", 150) // ids 1..151; the ring keeps 52..151
	for _, cursor := range []uint64{0, 1, 50, 1000} {
		t.Run(strconv.FormatUint(cursor, 10), func(t *testing.T) {
			is := is.New(t)
			r := startFeeder(t, a, cursor, nil, time.Hour)
			f := r.sink.frames(t, hasID(151))
			is.Equal(f[1].Event, "stream.gap")
			is.True(!f[1].HasID)
			var gap struct {
				Overflowed bool   `json:"overflowed"`
				OldestID   uint64 `json:"oldest_id"`
				LatestID   uint64 `json:"latest_id"`
			}
			is.NoErr(json.Unmarshal([]byte(f[1].Data), &gap))
			is.True(gap.Overflowed)
			is.Equal(gap.OldestID, uint64(52))
			is.Equal(gap.LatestID, uint64(151))
			ids := eventIDs(f)
			is.Equal(len(ids), 100)
			is.Equal(ids[0], uint64(52))
			is.Equal(ids[99], uint64(151))
		})
	}
	t.Run("no gap inside the ring", func(t *testing.T) {
		is := is.New(t)
		r := startFeeder(t, a, 51, nil, time.Hour)
		f := r.sink.frames(t, hasID(151))
		is.Equal(eventIDs(f[1:2]), []uint64{52})
	})
}

// topics keeps only the listed types, live as well as replayed.
func TestEventFeederTopics(t *testing.T) {
	is := is.New(t)
	a, _ := startActor(t, state.Config{})
	publishN(t, a, "test.one", 3)
	publishN(t, a, "test.two", 2) // ids 5, 6
	r := startFeeder(t, a, 0, []string{"test.two", "system.health"}, time.Hour)
	f := r.sink.frames(t, hasID(6))
	is.Equal(eventIDs(f), []uint64{1, 5, 6})
	publishN(t, a, "test.one", 5)
	publishN(t, a, "test.two", 1) // id 12
	f = r.sink.frames(t, hasID(12))
	is.Equal(eventIDs(f), []uint64{1, 5, 6, 12})
}

// Fanning a page out to a stream copies the frames the ring rendered once: no encoding, and
// no allocation once the stream's buffer has grown.
func TestAppendEventFramesAllocs(t *testing.T) {
	is := is.New(t)
	a, _ := startActor(t, state.Config{})
	publishN(t, a, "test.one", 50)
	var page state.EventPage
	waitFor(t, func() bool {
		var err error
		page, err = a.Events(context.Background(), 0, 100, nil)
		return err == nil && len(page.Events) == 51
	})
	buf, n := appendEventFrames(nil, page.Events, math.MaxInt)
	is.Equal(n, 51)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = appendEventFrames(buf[:0], page.Events, math.MaxInt)
	})
	is.Equal(allocs, 0.0)
	_, n = appendEventFrames(nil, page.Events, 1)
	is.Equal(n, 1) // past the limit after one frame: the rest is left for the next write
	f := testkit.ParseSSE(t, buf)
	is.Equal(eventIDs(f), seq(1, 51))
}

// gatedSink is a recordingSink whose second Write (the first page of events, after retry)
// waits until open is closed: a subscriber that falls behind while the ring rotates.
type gatedSink struct {
	*recordingSink
	open   chan struct{}
	writes atomic.Int64
}

func (s *gatedSink) Write(p []byte) error {
	if s.writes.Add(1) == 2 {
		select {
		case <-s.open:
		case <-s.done:
			return errors.New("sink gone")
		}
	}
	return s.recordingSink.Write(p)
}

// A subscriber that falls behind the ring gets its stream.gap marker and continues from the
// oldest buffered event, while a subscriber that kept up gets no gap; both copy the same frame
// bytes for the events they share.
func TestEventFeederSlowSubscriberGetsGap(t *testing.T) {
	is := is.New(t)
	a, _ := startActor(t, state.Config{EventBufferSize: 100})
	slow := &gatedSink{recordingSink: newRecordingSink(), open: make(chan struct{})}
	slowDone := make(chan struct{})
	sf := &eventFeeder{sink: slow, actor: a, heartbeat: time.Hour, drainPoll: 5 * time.Millisecond,
		draining: func() bool { return false }}
	go func() {
		defer close(slowDone)
		sf.run()
	}()
	t.Cleanup(func() {
		slow.gone()
		<-slowDone
	})
	waitFor(t, func() bool { return slow.writes.Load() >= 2 }) // holding event 1's page

	fast := startFeeder(t, a, 0, nil, time.Hour)
	var ff []sse.Frame
	for last := uint64(51); last <= 151; last += 50 { // ids 2..151; the ring keeps 52..151
		publishN(t, a, "test.one", 50) // never more than the ring holds ahead of the fast reader
		ff = fast.sink.frames(t, hasID(last))
	}
	close(slow.open)
	sfr := slow.frames(t, hasID(151))

	is.Equal(eventIDs(sfr[1:2]), []uint64{1})
	is.Equal(sfr[2].Event, "stream.gap")
	is.Equal(sfr[2].Data, `{"overflowed":true,"oldest_id":52,"latest_id":151}`)
	ids := eventIDs(sfr)
	is.Equal(ids, append([]uint64{1}, seq(52, 151)...))
	for _, x := range ff {
		is.True(x.Event != "stream.gap")
	}
	byID := map[string]sse.Frame{}
	for _, x := range ff {
		if x.HasID {
			byID[x.ID] = x
		}
	}
	for _, x := range sfr {
		if y, ok := byID[x.ID]; ok && x.HasID {
			is.Equal(x, y) // the same frame on both streams
		}
	}
}

func seq(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// waitFor polls ok for at most 10 s.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEventFeederHeartbeat(t *testing.T) {
	a, _ := startActor(t, state.Config{})
	r := startFeeder(t, a, 0, nil, 10*time.Millisecond)
	r.sink.frames(t, func(f []sse.Frame) bool {
		for _, x := range f {
			if x.Comment == "heartbeat" {
				return true
			}
		}
		return false
	})
}

// The feeder ends (and closes the stream) when the server drains and when the actor stops.
func TestEventFeederStops(t *testing.T) {
	t.Run("drain", func(t *testing.T) {
		a, _ := startActor(t, state.Config{})
		r := startFeeder(t, a, 0, nil, time.Hour)
		r.sink.frames(t, hasID(1))
		r.drn.Store(true)
		r.wait(t)
	})
	t.Run("actor stops", func(t *testing.T) {
		a, stop := startActor(t, state.Config{})
		r := startFeeder(t, a, 0, nil, time.Hour)
		r.sink.frames(t, hasID(1))
		stop()
		r.wait(t)
	})
}

// --- the handlers, through a real conn.Conn over a recording transport ---

// evNoOwner refuses posted work: the cases below all answer inline.
type evNoOwner struct{}

func (evNoOwner) Post(func()) bool { return false }

// evServeInline serves one raw request with app on a fresh connection and returns the
// response and its body; draining starts the server's drain first.
func evServeInline(t *testing.T, app *App, raw string, draining bool) (*http.Response, []byte) {
	t.Helper()
	now := time.Now()
	srv := &conn.Server{Handler: app}
	srv.Defaults()
	if draining {
		srv.StartDrain(now)
	}
	var date proto.DateCache
	date.Update(now)
	tr := &mkTransport{}
	c := conn.New(srv, tr, evNoOwner{}, nil, &date, nil, netip.AddrPort{}, 1, false, now)
	c.OnData([]byte(raw), now)
	resp, err := http.ReadResponse(bufio.NewReader(&tr.out), nil)
	if err != nil {
		t.Fatalf("response: %v (%q)", err, tr.out.String())
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// Without a state actor the event APIs answer 503 unavailable, and live-mode says so.
func TestEventsWithoutState(t *testing.T) {
	app := New(Config{Engine: "epoll"})
	for _, path := range []string{"/api/events/snapshot", "/api/events/stream"} {
		t.Run(path, func(t *testing.T) {
			is := is.New(t)
			resp, body := evServeInline(t, app, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
			is.Equal(resp.StatusCode, 503)
			is.Equal(resp.Header.Get("Content-Type"), "application/json")
			is.Equal(string(body), `{"error":{"code":"unavailable","message":"live events are unavailable"}}`)
		})
	}
	t.Run("live-mode", func(t *testing.T) {
		is := is.New(t)
		resp, body := evServeInline(t, app, "GET /api/events/live-mode HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
		is.Equal(resp.StatusCode, 200)
		is.Equal(string(body), `{"available":false,"engine":"epoll","required_engine":"epoll",`+
			`"reason":"live_events_disabled","fallback":{"mode":"snapshot_polling","refresh_ms":1000},`+
			`"actions":{"retry":false,"recommended_command":""}}`)
	})
}

// A stream asked for while the server drains is refused with 503 and Retry-After; a topics
// list past the cap is a 400 on both endpoints.
func TestEventsStreamRefusals(t *testing.T) {
	a, err := state.New(state.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	app := New(Config{Engine: "threadpool", State: a})
	t.Run("draining", func(t *testing.T) {
		is := is.New(t)
		resp, body := evServeInline(t, app, "GET /api/events/stream HTTP/1.1\r\nHost: localhost\r\n\r\n", true)
		is.Equal(resp.StatusCode, 503)
		is.Equal(resp.Header.Get("Retry-After"), "2")
		is.True(strings.Contains(string(body), `"code":"draining"`))
		is.Equal(app.eventStreams.open.Load(), int64(0)) // no place taken
	})
	var topics []string
	for i := range maxEventTopics + 1 {
		topics = append(topics, "t"+strconv.Itoa(i))
	}
	for _, path := range []string{"/api/events/snapshot", "/api/events/stream"} {
		t.Run(path, func(t *testing.T) {
			is := is.New(t)
			raw := "GET " + path + "?topics=" + strings.Join(topics, ",") + " HTTP/1.1\r\nHost: localhost\r\n\r\n"
			resp, body := evServeInline(t, app, raw, false)
			is.Equal(resp.StatusCode, 400)
			is.True(strings.Contains(string(body), `"code":"invalid_topics"`))
		})
	}
}
