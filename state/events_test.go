package state

import (
	"encoding/json"
	"ownhttp/internal/testkit"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// ringWith returns a model whose event ring holds capacity 100 and has had n
// events published, alternating types a, b (ids 1..n).
func ringWith(n int) *Model {
	m := NewModel(Config{EventBufferSize: 1}) // raised to the minimum, 100
	for i := 1; i <= n; i++ {
		typ := "a"
		if i%2 == 0 {
			typ = "b"
		}
		m.Publish(typ, "", nil, t0)
	}
	return m
}

func ids(p EventPage) []uint64 {
	out := []uint64{}
	for _, e := range p.Events {
		out = append(out, e.ID)
	}
	return out
}

func TestEventPages(t *testing.T) {
	tests := []struct {
		name       string
		published  int
		since      uint64
		limit      int
		topics     []string
		want       []uint64
		latest     uint64
		oldest     uint64
		overflowed bool
		hasMore    bool
	}{
		{"empty ring", 0, 0, 10, nil, []uint64{}, 0, 1, false, false},
		{"all", 5, 0, 10, nil, []uint64{1, 2, 3, 4, 5}, 5, 1, false, false},
		{"oldest first, not newest", 5, 0, 2, nil, []uint64{1, 2}, 5, 1, false, true},
		{"next page from cursor", 5, 2, 2, nil, []uint64{3, 4}, 5, 1, false, true},
		{"last page", 5, 4, 2, nil, []uint64{5}, 5, 1, false, false},
		{"cursor at latest", 5, 5, 2, nil, []uint64{}, 5, 1, false, false},
		{"cursor beyond latest (restart)", 5, 50, 2, nil, []uint64{}, 5, 1, false, false},
		{"topics", 6, 0, 10, []string{"b"}, []uint64{2, 4, 6}, 6, 1, false, false},
		{"topics limit has_more counts matches only", 6, 0, 2, []string{"b"}, []uint64{2, 4}, 6, 1, false, true},
		{"topics no more matches after page", 5, 0, 2, []string{"b"}, []uint64{2, 4}, 5, 1, false, false},
		{"unknown topic", 5, 0, 10, []string{"zzz"}, []uint64{}, 5, 1, false, false},
		{"several topics", 4, 0, 10, []string{"zzz", "a"}, []uint64{1, 3}, 4, 1, false, false},
		{"rotated: overflowed, starts at oldest", 150, 10, 3, nil, []uint64{51, 52, 53}, 150, 51, true, true},
		{"cursor just before oldest is not overflowed", 150, 50, 2, nil, []uint64{51, 52}, 150, 51, false, true},
		{"cursor zero after rotation overflowed", 150, 0, 1, nil, []uint64{51}, 150, 51, true, true},
		{"limit below 1 means 200", 150, 100, 0, nil, seq(101, 150), 150, 51, false, false},
		{"limit capped at 1000", 3, 0, 5000, nil, []uint64{1, 2, 3}, 3, 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			p := ringWith(tt.published).Events(tt.since, tt.limit, tt.topics)
			is.Equal(ids(p), tt.want)
			is.Equal(p.LatestID, tt.latest)
			is.Equal(p.OldestID, tt.oldest)
			is.Equal(p.Overflowed, tt.overflowed)
			is.Equal(p.HasMore, tt.hasMore)
			is.Equal(p.RefreshMs, DefaultRefreshMs)
		})
	}
}

func seq(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestEventPagingNeverSkips walks the ring page by page from 0, advancing
// the cursor to the last id received, while events keep arriving: every id
// is seen exactly once.
func TestEventPagingNeverSkips(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{EventBufferSize: 1000})
	var seen []uint64
	var cursor uint64
	for round := range 50 {
		for range round % 7 {
			m.Publish("x", "", nil, t0)
		}
		p := m.Events(cursor, 3, nil)
		is.True(!p.Overflowed)
		for _, e := range p.Events {
			seen = append(seen, e.ID)
			cursor = e.ID
		}
	}
	for {
		p := m.Events(cursor, 3, nil)
		if len(p.Events) == 0 {
			is.True(!p.HasMore)
			break
		}
		for _, e := range p.Events {
			seen = append(seen, e.ID)
			cursor = e.ID
		}
	}
	is.Equal(seen, seq(1, m.events.latest()))
}

func TestEventEnvelopeJSON(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	r := rec(0x1f, 201)
	r.RouteKey = `GET /api/mocks/{id}`
	r.Reused = true
	applyOne(m, r, rawHead(`GET /p<"x"> HTTP/1.1`), nil)
	m.Publish("scenario.run.started", "", json.RawMessage(`{"scenario_id":"s","seed":5}`), t0)
	p := m.Events(0, 10, nil)
	is.Equal(len(p.Events), 2)
	e := p.Events[0]
	data, err := json.Marshal(e)
	is.NoErr(err)
	is.Equal(keysOf(t, data), []string{"id", "payload", "source", "trace_id", "ts", "type"})
	is.Equal(e.Source, "server")
	is.Equal(e.Type, EventRequestCompleted)
	is.Equal(e.TraceID, "000000000000001f")
	var payload map[string]any
	is.NoErr(json.Unmarshal(e.Payload, &payload))
	is.Equal(payload, map[string]any{
		"method": "GET", "path": `/p<"x">`, "status": 201.0, "bytes_in": 74.0, "bytes_out": 203.0,
		"latency_ms": 1.5, "route_key": "GET /api/mocks/{id}", "connection_reused": true, "engine": "reactor",
	})
	is.Equal(string(p.Events[1].Payload), `{"scenario_id":"s","seed":5}`)

	pd, err := json.Marshal(p)
	is.NoErr(err)
	is.Equal(keysOf(t, pd), []string{"epoch", "events", "has_more", "latest_id", "oldest_id", "overflowed", "refresh_ms", "restarted"})
	empty, _ := json.Marshal(NewModel(Config{}).Events(0, 1, nil))
	is.True(strings.Contains(string(empty), `"events":[]`))
}

func TestEventsSkipEventAPIPaths(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	applyOne(m, rec(1, 200), rawHead("GET /api/events/snapshot?since_id=3 HTTP/1.1"), nil)
	applyOne(m, rec(2, 200), rawHead("GET /api/eventsx HTTP/1.1"), nil)
	p := m.Events(0, 10, nil)
	is.Equal(len(p.Events), 1)
	is.Equal(p.Events[0].TraceID, "0000000000000002")
	h, _ := m.History(HistoryFilter{})
	is.Equal(len(h), 2) // history still has both
}

// A request's event keeps its method and path, not its query: a ring of events does not
// hold every long query until each event is read (#11 item 1). History keeps the request
// whole, and drops its raw copy of a large request once the entry is built.
func TestEventsKeepNoQuery(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	query := strings.Repeat("q", 8000)
	applyOne(m, rec(1, 200), rawHead("GET /long/path?"+query+" HTTP/1.1", "Host: x"), nil)
	slot := &m.events.buf[(m.events.start+m.events.n-1)%len(m.events.buf)]
	is.Equal(string(slot.line), "GET /long/path")
	p := m.Events(0, 10, nil)
	is.Equal(len(p.Events), 1)
	is.True(strings.Contains(string(p.Events[0].Payload), `"path":"/long/path"`))

	h, _ := m.History(HistoryFilter{})
	is.Equal(len(h), 1)
	is.True(strings.HasSuffix(h[0].ReplayInput.RawTarget, query)) // history keeps the query
	is.True(m.history.buf[0].raw == nil)                          // built: the 8 KB copy is gone
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\n\r\t\b\f\x00\x1f\x7f", "<a&b>", "é漢字", "\u2028\u2029", "\xff\xfe", "a\xc3"} {
		is := is.New(t)
		want, _ := json.Marshal(s)
		is.Equal(string(appendJSONString(nil, s)), string(want))
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("x\u2028\xff<")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}

func TestAppendSSEFrame(t *testing.T) {
	tests := []struct {
		name, id, typ, data, want string
	}{
		{"one line", "7", "request.completed", `{"a":1}`, "id: 7\nevent: request.completed\ndata: {\"a\":1}\n\n"},
		{"no id", "", "stream.gap", `{}`, "event: stream.gap\ndata: {}\n\n"},
		{"LF lines", "1", "x", "a\nb\nc", "id: 1\nevent: x\ndata: a\ndata: b\ndata: c\n\n"},
		{"CRLF lines", "1", "x", "a\r\nb", "id: 1\nevent: x\ndata: a\ndata: b\n\n"},
		{"CR lines", "1", "x", "a\rb", "id: 1\nevent: x\ndata: a\ndata: b\n\n"},
		{"CR CR", "1", "x", "a\r\rb", "id: 1\nevent: x\ndata: a\ndata: \ndata: b\n\n"},
		{"trailing LF", "1", "x", "a\n", "id: 1\nevent: x\ndata: a\ndata: \n\n"},
		{"empty data", "1", "x", "", "id: 1\nevent: x\ndata: \n\n"},
		{"leading space kept", "1", "x", " a", "id: 1\nevent: x\ndata:  a\n\n"},
		{"blank line inside", "1", "x", "a\n\nb", "id: 1\nevent: x\ndata: a\ndata: \ndata: b\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got := AppendSSEFrame([]byte("prefix|"), tt.id, tt.typ, []byte(tt.data))
			is.Equal(string(got), "prefix|"+tt.want)
			// What a client reads back is the data as sent, with line ends made LF.
			f := testkit.ParseSSE(t, got[len("prefix|"):])
			is.Equal(len(f), 1)
			is.Equal(f[0].Data, strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(tt.data))
		})
	}
}

// Hostile event types never end the field early or add fields: each byte outside
// [A-Za-z0-9._-] becomes '_'.
func TestAppendSSETokenHostile(t *testing.T) {
	tests := []struct{ typ, want string }{
		{"", "message"},
		{"a\nb", "a_b"},
		{"a\r\ndata: injected", "a__data__injected"},
		{"x\x00y", "x_y"},
		{"évènement", "__v__nement"},
		{"id: 9", "id__9"},
		{"scenario.run-started_2", "scenario.run-started_2"},
		{":comment", "_comment"},
	}
	for _, tt := range tests {
		is := is.New(t)
		got := string(appendSSEToken(nil, tt.typ))
		is.Equal(got, tt.want)
		for _, c := range []byte(got) {
			is.True(c != '\n' && c != '\r' && c != ':' && c != ' ' && c != 0) // safe token byte
		}
	}
}

// An event's frame carries its id, its type and its compact JSON envelope on one data line.
func TestEventFrame(t *testing.T) {
	is := is.New(t)
	e := Event{ID: 42, TS: "2026-01-01T00:00:00Z", Type: "request.completed", Source: "server",
		TraceID: "00000000000000ab", Payload: json.RawMessage("{\n  \"path\": \"/x\"\n}")}
	e.render(0)
	f := testkit.ParseSSE(t, e.Frame())
	is.Equal(len(f), 1)
	is.Equal(f[0].ID, "42")
	is.Equal(f[0].Event, "request.completed")
	is.True(!strings.Contains(f[0].Data, "\n")) // the envelope is compact JSON: one data line
	var back Event
	is.NoErr(json.Unmarshal([]byte(f[0].Data), &back))
	is.Equal(back.ID, uint64(42))
	is.Equal(back.TraceID, "00000000000000ab")
	is.Equal(string(back.Payload), `{"path":"/x"}`)

	// The JSON envelope is the frame's data line, and what encoding the fields gives.
	env, err := json.Marshal(e)
	is.NoErr(err)
	is.Equal(string(env), f[0].Data)
	plain := e
	plain.frame, plain.envelope = nil, nil
	fromFields, err := json.Marshal(plain)
	is.NoErr(err)
	is.Equal(string(fromFields), string(env))

	bad := Event{ID: 1, Type: "x", Payload: json.RawMessage("{not json")}
	bad.render(0)
	is.True(bad.Frame() == nil)
	_, err = json.Marshal(bad)
	is.True(err != nil)
}

// Every event is rendered once, however many readers page through it: each read shares the
// same frame bytes, published events are rendered as they enter the ring, and captured
// request.completed events when first read.
func TestEventRenderedOnce(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	m.Publish("scenario.run.started", "", json.RawMessage(`{"seed":5}`), t0)
	m.Publish("scenario.run.completed", "", nil, t0)
	is.Equal(m.events.renders, uint64(2)) // at publication
	applyOne(m, rec(1, 200), rawHead("GET /a HTTP/1.1"), nil)
	applyOne(m, rec(2, 404), rawHead("GET /b HTTP/1.1"), nil)
	is.Equal(m.events.renders, uint64(2)) // captured events wait for their first reader

	first := m.Events(0, 10, nil)
	is.Equal(len(first.Events), 4)
	is.Equal(m.events.renders, uint64(4))
	for range 50 { // fifty subscribers read the same page
		p := m.Events(0, 10, nil)
		for i := range p.Events {
			f := p.Events[i].Frame()
			is.True(len(f) > 0)
			is.True(&f[0] == &first.Events[i].Frame()[0]) // the same bytes, not a new rendering
		}
	}
	is.Equal(m.events.renders, uint64(4))

	// The snapshot JSON is made of the same envelopes.
	pd, err := json.Marshal(first)
	is.NoErr(err)
	for i := range first.Events {
		f := testkit.ParseSSE(t, first.Events[i].Frame())
		is.True(strings.Contains(string(pd), f[0].Data))
	}
}
