package state

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

func applyOne(m *Model, r Record, head, body []byte) {
	b := newBatch(m.cfg.MaxHistoryBodyBytes)
	if !b.Add(r, head, body) {
		panic("batch full")
	}
	m.ApplyBatch(b)
}

func TestCaptureBuildsRedactedHistoryEntry(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	head := rawHead("POST /users/7?a=1&token=s3cret&TOKEN=x&tokenx=keep HTTP/1.1",
		"Host: example.test",
		"Authorization: Bearer s3cret",
		"Cookie: sid=1",
		"Proxy-Authorization: Basic xyz",
		"X-Multi: a",
		"x-multi:  b ",
		"Content-Length: 5")
	r := rec(0xabc, 201)
	r.RunID, r.StepID = "run1", "step-1"
	applyOne(m, r, head, []byte("hello"))

	h, e := m.History(HistoryFilter{})
	is.True(e == nil)
	is.Equal(len(h), 1)
	got := h[0]
	is.Equal(got.RequestID, "0000000000000abc")
	is.Equal(got.TraceID, "0000000000000abc")
	is.Equal(got.Method, "POST")
	is.Equal(got.Path, "/users/7")
	is.Equal(got.Status, 201)
	is.Equal(got.LatencyMS, 1.5)
	is.Equal(got.BytesIn, int64(74))
	is.Equal(got.BytesOut, int64(203))
	is.Equal(got.TS, "2026-11-26T10:00:00Z")
	is.Equal(got.RunID, "run1")
	is.Equal(got.StepID, "step-1")
	ri := got.ReplayInput
	is.True(ri != nil)
	is.Equal(ri.Method, "POST")
	is.Equal(ri.Path, "/users/7")
	is.Equal(ri.RawTarget, "/users/7?a=1&token=[redacted]&TOKEN=[redacted]&tokenx=keep")
	is.Equal(ri.HTTPVersion, "HTTP/1.1")
	is.Equal(ri.Body, "hello")
	is.Equal(ri.Headers, map[string]string{
		"host":                "example.test",
		"authorization":       Redacted,
		"cookie":              Redacted,
		"proxy-authorization": Redacted,
		"x-multi":             "a, b",
		"content-length":      "5",
	})

	data, err := json.Marshal(got)
	is.NoErr(err)
	is.Equal(keysOf(t, data), []string{"bytes_in", "bytes_out", "latency_ms", "method", "path", "replay_input",
		"request_id", "run_id", "started_at", "status", "step_id", "trace_id", "ts"})
	is.True(!strings.Contains(string(data), "s3cret"))
	is.True(!strings.Contains(string(data), "sid=1"))
}

func TestCaptureSpecialRecords(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{MaxHistoryBodyBytes: 4, Rand: &countingReader{}})
	// No head at all (a read error or connection reject).
	applyOne(m, rec(1, 408), nil, nil)
	// Body over the history limit: recorded, not replayable.
	applyOne(m, rec(2, 200), rawHead("POST /big HTTP/1.1"), []byte("12345"))
	// Redacted body (a login).
	r := rec(3, 200)
	r.RedactBody = true
	applyOne(m, r, rawHead("POST /api/auth/login HTTP/1.1"), []byte(`{"password":"pw"}`))
	// Skipped from history, but still an event.
	r = rec(4, 200)
	r.SkipHistory = true
	applyOne(m, r, rawHead("GET /_metrics HTTP/1.1"), nil)

	h, _ := m.History(HistoryFilter{})
	is.Equal(len(h), 3)
	is.Equal(h[0].Method, "-")
	is.Equal(h[0].Path, "-")
	is.True(h[0].ReplayInput == nil)
	data, err := json.Marshal(h[0])
	is.NoErr(err)
	is.True(strings.Contains(string(data), `"replay_input":{}`))
	is.Equal(h[1].Path, "/big")
	is.True(h[1].ReplayInput == nil)
	is.Equal(h[2].ReplayInput.Body, Redacted)

	p := m.Events(0, 100, []string{EventRequestCompleted})
	is.Equal(len(p.Events), 4)
	is.Equal(p.Events[3].TraceID, "0000000000000004")
}

func TestHistoryRingKeepsNewest(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{HistoryLimit: 3, Rand: &countingReader{}})
	for i := range 5 {
		applyOne(m, rec(uint64(i+1), 200), rawHead(fmt.Sprintf("GET /%d HTTP/1.1", i+1)), nil)
	}
	h, _ := m.History(HistoryFilter{})
	is.Equal(len(h), 3)
	is.Equal(h[0].Path, "/3")
	is.Equal(h[2].Path, "/5")

	// A single batch larger than the ring keeps its newest entries.
	b := newBatch(DefaultMaxHistoryBodyBytes)
	for i := range 10 {
		is.True(b.Add(rec(uint64(100+i), 200), rawHead(fmt.Sprintf("GET /b%d HTTP/1.1", i)), nil))
	}
	entries, events := m.ApplyBatch(b)
	is.Equal(entries, 3)
	is.Equal(events, 10)
	h, _ = m.History(HistoryFilter{})
	is.Equal([]string{h[0].Path, h[1].Path, h[2].Path}, []string{"/b7", "/b8", "/b9"})
}

func TestHistoryFilters(t *testing.T) {
	m := newTestModel()
	add := func(trace uint64, method, path string, status uint16, at time.Time) {
		r := rec(trace, status)
		r.Start, r.Latency = at.UnixNano(), 0
		applyOne(m, r, rawHead(method+" "+path+" HTTP/1.1"), nil)
	}
	add(1, "GET", "/users", 200, t0)
	add(2, "POST", "/users", 201, t0.Add(time.Minute))
	add(3, "GET", "/orders?x=users", 404, t0.Add(2*time.Minute))
	add(4, "DELETE", "/users/1", 200, t0.Add(3*time.Minute))

	tests := []struct {
		name   string
		filter HistoryFilter
		want   []string // request ids, last hex digit
		errMsg string
	}{
		{"all", HistoryFilter{}, []string{"1", "2", "3", "4"}, ""},
		{"method case-insensitive", HistoryFilter{Method: "get"}, []string{"1", "3"}, ""},
		{"path substring, query not part of path", HistoryFilter{Path: "users"}, []string{"1", "2", "4"}, ""},
		{"status exact", HistoryFilter{Status: "200"}, []string{"1", "4"}, ""},
		{"status no match", HistoryFilter{Status: "20"}, nil, ""},
		{"from inclusive", HistoryFilter{FromTS: "2026-11-26T10:01:00Z"}, []string{"2", "3", "4"}, ""},
		{"to inclusive", HistoryFilter{ToTS: "2026-11-26T10:01:00Z"}, []string{"1", "2"}, ""},
		{"compared as times, not strings", HistoryFilter{FromTS: "2026-11-26T11:01:30+01:00"}, []string{"3", "4"}, ""},
		{"limit newest, oldest first", HistoryFilter{Limit: "2"}, []string{"3", "4"}, ""},
		{"limit after filters", HistoryFilter{Method: "GET", Limit: "1"}, []string{"3"}, ""},
		{"limit larger than matches", HistoryFilter{Limit: "99"}, []string{"1", "2", "3", "4"}, ""},
		{"combined", HistoryFilter{Method: "get", Path: "/users", Status: "200"}, []string{"1"}, ""},
		{"bad from_ts", HistoryFilter{FromTS: "yesterday"}, nil, "from_ts must be an RFC 3339 time such as 2026-01-02T15:04:05Z"},
		{"bad to_ts", HistoryFilter{ToTS: "2026-11-26"}, nil, "to_ts must be an RFC 3339 time such as 2026-01-02T15:04:05Z"},
		{"bad status", HistoryFilter{Status: "ok"}, nil, "status must be an integer"},
		{"bad limit", HistoryFilter{Limit: "0"}, nil, "limit must be a positive integer"},
		{"bad limit text", HistoryFilter{Limit: "x"}, nil, "limit must be a positive integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			h, e := m.History(tt.filter)
			if tt.errMsg != "" {
				is.True(e != nil)
				is.Equal(*e, Error{Kind: KindInvalid, Code: CodeInvalidFilter, Message: tt.errMsg})
				return
			}
			is.True(e == nil)
			is.True(h != nil) // [] in JSON, never null
			var ids []string
			for _, x := range h {
				ids = append(ids, x.RequestID[15:])
			}
			is.Equal(ids, tt.want)
		})
	}
}

func TestHistoryEntryLookupFindsMostRecent(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	applyOne(m, rec(7, 200), rawHead("GET /first HTTP/1.1"), nil)
	applyOne(m, rec(7, 201), rawHead("GET /second HTTP/1.1"), nil)
	e, err := m.HistoryEntry("0000000000000007")
	is.True(err == nil)
	is.Equal(e.Path, "/second")
	_, err = m.HistoryEntry("nope")
	is.Equal(*err, Error{Kind: KindNotFound, Code: CodeNotFound, Message: "request id not found"})
}

// TestParseHeadHostile feeds heads that a server would never pass on; none
// may panic, and what can be salvaged is.
func TestParseHeadHostile(t *testing.T) {
	tests := []struct {
		name         string
		head         string
		method, path string
		replayable   bool
	}{
		{"empty", "", "-", "-", false},
		{"method only", "GET", "GET", "-", false},
		{"no version", "GET /x", "GET", "/x", false},
		{"no version trailing space", "GET /x \r\n", "GET", "/x", false},
		{"leading space", " /x HTTP/1.1\r\n", "-", "/x", false},
		{"bare LF lines", "GET /lf HTTP/1.1\nHost: a\n\n", "GET", "/lf", true},
		{"no CRLF at all", "GET /n HTTP/1.1", "GET", "/n", true},
		{"header without colon", "GET /c HTTP/1.1\r\nbroken\r\n: novalue\r\nok: 1\r\n\r\n", "GET", "/c", true},
		{"body after blank line ignored", "GET /b HTTP/1.1\r\n\r\nX-Not: header\r\n", "GET", "/b", true},
		{"binary junk", "\x00\xff\r\n\r\n\x01:", "\x00\xff", "-", false},
		{"only CRLFs", "\r\n\r\n\r\n", "-", "-", false},
		{"odd method", "BREW /pot HTTP/1.1\r\n", "BREW", "/pot", true},
		{"fragment", "GET /f#x HTTP/1.1\r\n", "GET", "/f", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := rec(1, 400)
			e := buildEntry(&r, []byte(tt.head), nil, true)
			is.Equal(e.Method, tt.method)
			is.Equal(e.Path, tt.path)
			is.Equal(e.ReplayInput != nil, tt.replayable)
			_, err := json.Marshal(e)
			is.NoErr(err)
		})
	}
}

func FuzzBuildEntry(f *testing.F) {
	f.Add([]byte("GET /x?token=1 HTTP/1.1\r\nAuthorization: a\r\n\r\n"), []byte("body"))
	f.Add([]byte("\r\n"), []byte(nil))
	f.Add([]byte("A B C\nD:E\n\nF"), []byte{0xff})
	f.Fuzz(func(t *testing.T, head, body []byte) {
		r := rec(1, 200)
		e := buildEntry(&r, head, body, true)
		if _, err := json.Marshal(e); err != nil {
			t.Fatal(err)
		}
		if ri := e.ReplayInput; ri != nil {
			for k, v := range ri.Headers {
				if isSensitiveHeader(k) && v != Redacted {
					t.Fatalf("header %q not redacted", k)
				}
			}
		}
	})
}

func TestHistoryEntryJSONRoundTrip(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	applyOne(m, rec(9, 200), rawHead("GET /rt?token=x HTTP/1.1", "Cookie: c"), nil)
	applyOne(m, rec(10, 408), nil, nil)
	h, _ := m.History(HistoryFilter{})
	data, err := json.Marshal(h)
	is.NoErr(err)
	var back []HistoryEntry
	is.NoErr(json.Unmarshal(data, &back))
	is.Equal(back, h)
}

func TestLatencyRounding(t *testing.T) {
	is := is.New(t)
	is.Equal(latencyMS(140*time.Microsecond), 0.14)
	is.Equal(latencyMS(1234567*time.Nanosecond), 1.235)
	is.Equal(latencyMS(-time.Second), 0.0)
	is.Equal(traceHex(0x55789a04738c42ee), "55789a04738c42ee")
}

// ClearHistory empties the ring and starts a new epoch; since hands over only entries
// newer than a sequence number, at most the ring.
func TestClearHistoryAndSince(t *testing.T) {
	is := is.New(t)
	cfg := testConfig()
	cfg.HistoryLimit = 3
	m := NewModel(cfg)
	for i := range 5 {
		applyOne(m, rec(uint64(i+1), 200), rawHead("GET /x HTTP/1.1", "Host: h"), nil)
	}
	is.Equal(m.history.pushed, uint64(5))
	is.Equal(len(m.history.since(0)), 3) // at most the ring
	got := m.history.since(4)
	is.Equal(len(got), 1)
	is.Equal(got[0].TraceID, "0000000000000005")
	is.Equal(len(m.history.since(5)), 0)
	m.ClearHistory()
	is.Equal(m.historyEpoch, uint64(1))
	h, e := m.History(HistoryFilter{})
	is.True(e == nil)
	is.Equal(len(h), 0)
	is.Equal(len(m.history.since(0)), 0)
}

// History keeps the answer: its status, fields (Set-Cookie redacted) and body, cut at the
// body limit and marked; a body that is not UTF-8 comes as base64; a redacted exchange
// keeps the head alone and one kept out of history nothing.
func TestHistoryKeepsResponse(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	m.cfg.MaxHistoryBodyBytes = 8
	all := func() []HistoryEntry {
		h, e := m.History(HistoryFilter{})
		is.True(e == nil)
		return h
	}
	add := func(r Record, respHead, respBody string) *HistoryEntry {
		b := newBatch(m.cfg.MaxHistoryBodyBytes)
		is.True(b.AddExchange(r, rawHead("GET /x HTTP/1.1", "Host: h"), nil, []byte(respHead), []byte(respBody)))
		m.ApplyBatch(b)
		h := all()
		return &h[len(h)-1]
	}
	head := "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nSet-Cookie: sid=s3cret\r\nX-Two: a\r\nX-Two: b\r\n\r\n"
	e := add(Record{TraceID: 1, Status: 201, Start: time.Unix(5, 250e6).UnixNano()}, head, "hello")
	is.Equal(e.StartedAt, "1970-01-01T00:00:05.250Z")
	is.Equal(*e.Response, HistoryResponse{Status: 201, Headers: map[string]string{"Content-Type": "text/plain",
		"Set-Cookie": Redacted, "X-Two": "a, b"}, Body: "hello", BodyBytes: 5})
	e = add(Record{TraceID: 2, Status: 200}, head, "0123456789")
	is.Equal(e.Response.Body, "01234567")
	is.True(e.Response.BodyTruncated)
	e = add(Record{TraceID: 3, Status: 200}, head, "\xff\xfe")
	is.Equal(e.Response.Body, "")
	is.Equal(e.Response.BodyBase64, "//4=")
	e = add(Record{TraceID: 4, Status: 200, RedactBody: true}, head, "token")
	is.Equal(e.Response.Body, "")
	is.Equal(e.Response.Status, 201)
	n := len(all())
	b := newBatch(8)
	is.True(b.AddExchange(Record{TraceID: 5, SkipHistory: true}, rawHead("GET /_metrics HTTP/1.1"), nil, []byte(head), []byte("x")))
	m.ApplyBatch(b)
	is.Equal(len(all()), n)
	data, err := json.Marshal(all())
	is.NoErr(err)
	is.True(!strings.Contains(string(data), "s3cret"))
}
