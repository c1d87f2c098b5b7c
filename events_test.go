package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/state"

	"ownhttp/internal/sse"
	"ownhttp/internal/testkit"
)

// Wire tests of the live events (issue #4): GET /api/events/snapshot, /stream and /live-mode
// on both engines.

// evEvent is an event envelope as the API sends it.
type evEvent struct {
	ID      uint64 `json:"id"`
	TS      string `json:"ts"`
	Type    string `json:"type"`
	Source  string `json:"source"`
	TraceID string `json:"trace_id"`
	Payload struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Status int    `json:"status"`
	} `json:"payload"`
}

// evPage is the snapshot body.
type evPage struct {
	Events     []evEvent `json:"events"`
	LatestID   uint64    `json:"latest_id"`
	OldestID   uint64    `json:"oldest_id"`
	Overflowed bool      `json:"overflowed"`
	HasMore    bool      `json:"has_more"`
	RefreshMs  int       `json:"refresh_ms"`
	Epoch      uint64    `json:"epoch"`
	Restarted  bool      `json:"restarted"`
}

// evClient is one keep-alive connection for plain requests.
type evClient struct {
	c  net.Conn
	br *bufio.Reader
}

func evDial(t *testing.T, s *testkit.Server) *evClient {
	t.Helper()
	c := s.Dial(t)
	return &evClient{c: c, br: bufio.NewReader(c)}
}

// get sends a GET with extra header lines ("Name: value") and returns the response and body.
func (e *evClient) get(t *testing.T, target string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	e.c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	if _, err := e.c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatalf("write %s: %v", target, err)
	}
	resp, err := http.ReadResponse(e.br, nil)
	if err != nil {
		t.Fatalf("read response to %s: %v", target, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", target, err)
	}
	return resp, body
}

// snapshot asks GET /api/events/snapshot?<query> and decodes the page.
func (e *evClient) snapshot(t *testing.T, query string, headers ...string) evPage {
	t.Helper()
	resp, body := e.get(t, "/api/events/snapshot?"+query, headers...)
	if resp.StatusCode != 200 {
		t.Fatalf("snapshot %q: %d %s", query, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("snapshot Content-Type %q", ct)
	}
	var p evPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("snapshot body %s: %v", body, err)
	}
	return p
}

// evRequests makes n requests to distinct paths /ev/<tag>-<i> (404s, recorded as
// request.completed events) on one connection and returns the paths.
func evRequests(t *testing.T, s *testkit.Server, tag string, n int) []string {
	t.Helper()
	e := evDial(t, s)
	defer e.c.Close()
	paths := make([]string, n)
	for i := range n {
		paths[i] = fmt.Sprintf("/ev/%s-%d", tag, i)
		e.get(t, paths[i])
	}
	return paths
}

// evFill makes requests to /ev/<tag>-<n> until latest_id reaches at least id (at most 10 s).
// Capture is best effort by design (a record is dropped, and counted, when the state actor's
// queue is full), so tests that need a number of events make requests until they exist
// instead of assuming one event per request.
func evFill(t *testing.T, s *testkit.Server, tag string, id uint64) evPage {
	t.Helper()
	e := evDial(t, s)
	defer e.c.Close()
	deadline := time.Now().Add(10 * time.Second)
	n := 0
	for {
		p := e.snapshot(t, "limit=1&since_id=0")
		if p.LatestID >= id {
			return p
		}
		if time.Now().After(deadline) {
			_, m := e.get(t, "/_metrics")
			t.Fatalf("latest_id %d did not reach %d within 10s (%d requests); metrics: %s", p.LatestID, id, n, m)
		}
		for range id - p.LatestID {
			e.get(t, fmt.Sprintf("/ev/%s-%d", tag, n))
			n++
		}
	}
}

// Paging with limit 5 from since_id 0 until has_more is false returns every event exactly
// once, ascending, with nothing skipped.
func TestEventsSnapshotPaging(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		evFill(t, s, "page", 24)
		e := evDial(t, s)

		var ids []uint64
		var cursor uint64
		count := map[string]int{}
		pages := 0
		for {
			p := e.snapshot(t, "limit=5&since_id="+strconv.FormatUint(cursor, 10))
			pages++
			is.True(len(p.Events) <= 5)
			is.True(!p.Overflowed)
			is.Equal(p.OldestID, uint64(1))
			is.True(p.RefreshMs > 0)
			for _, ev := range p.Events {
				ids = append(ids, ev.ID)
				if ev.Type == "request.completed" {
					count[ev.Payload.Path]++
				}
				is.Equal(ev.Source, "server")
			}
			if len(p.Events) > 0 {
				cursor = p.Events[len(p.Events)-1].ID
			}
			if !p.HasMore {
				is.Equal(cursor, p.LatestID) // the last page ends at the newest event
				break
			}
			is.Equal(len(p.Events), 5) // only the last page is short
		}
		is.True(pages >= 5)
		is.True(len(ids) >= 24)
		for i, id := range ids {
			is.Equal(id, uint64(i+1)) // ascending, contiguous, each once
		}
		for _, n := range count {
			is.Equal(n, 1) // every request's event once (paths are distinct)
		}
		is.Equal(len(count), len(ids)-1) // every event but system.health is a request
	})
}

// With a tiny ring, a cursor that fell out of it reports overflowed and the page starts at
// the oldest buffered event; a cursor inside the ring does not.
func TestEventsSnapshotOverflow(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--event-buffer-size", "100")
		evFill(t, s, "ovf", 161)
		e := evDial(t, s)

		p := e.snapshot(t, "since_id=0&limit=30")
		is.True(p.Overflowed)
		is.Equal(p.OldestID, p.LatestID-99) // the ring holds 100 events
		is.Equal(len(p.Events), 30)
		is.Equal(p.Events[0].ID, p.OldestID)
		is.True(p.HasMore)

		since := p.LatestID - 10
		p = e.snapshot(t, "limit=10&since_id="+strconv.FormatUint(since, 10))
		is.True(!p.Overflowed)
		is.Equal(len(p.Events), 10)
		is.Equal(p.Events[0].ID, since+1)
	})
}

func TestEventsSnapshotTopics(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false")
		evFill(t, s, "topic", 4)
		e := evDial(t, s)
		tests := []struct {
			topics    string
			wantTypes map[string]bool
			wantMin   int
		}{
			{"system.health", map[string]bool{"system.health": true}, 1},
			{"request.completed", map[string]bool{"request.completed": true}, 3},
			{"system.health,%20request.completed", map[string]bool{"system.health": true, "request.completed": true}, 4},
			{"no.such.type", nil, 0},
			{"", map[string]bool{"system.health": true, "request.completed": true}, 4},
		}
		for _, tt := range tests {
			t.Run(tt.topics, func(t *testing.T) {
				is := is.New(t)
				p := e.snapshot(t, "topics="+tt.topics)
				is.True(len(p.Events) >= tt.wantMin)
				if tt.wantMin == 0 {
					is.Equal(len(p.Events), 0)
					is.True(!p.HasMore)
				}
				for _, ev := range p.Events {
					is.True(tt.wantTypes[ev.Type]) // only the listed types
				}
			})
		}
	})
}

// Invalid parameters fall back to their defaults; Last-Event-ID is the cursor when since_id
// is absent.
func TestEventsSnapshotParams(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false")
		evFill(t, s, "param", 4)
		e := evDial(t, s)
		tests := []struct {
			name      string
			query     string
			header    string
			wantFirst uint64
			wantOne   bool // one event and has_more; otherwise every event from wantFirst
		}{
			{"defaults", "", "", 1, false},
			{"since negative", "since_id=-5", "", 1, false},
			{"since invalid", "since_id=abc", "", 1, false},
			{"since given", "since_id=2", "", 3, false},
			{"limit zero clamps to one", "limit=0", "", 1, true},
			{"limit negative clamps to one", "limit=-7", "", 1, true},
			{"limit invalid is the default", "limit=abc", "", 1, false},
			{"limit huge clamps", "limit=99999999", "", 1, false},
			{"Last-Event-ID when since absent", "", "Last-Event-ID: 2", 3, false},
			{"since wins over Last-Event-ID", "since_id=0", "Last-Event-ID: 2", 1, false},
			{"bad Last-Event-ID ignored", "", "Last-Event-ID: x", 1, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				var hdr []string
				if tt.header != "" {
					hdr = append(hdr, tt.header)
				}
				p := e.snapshot(t, tt.query, hdr...)
				is.True(p.LatestID >= 4)
				is.Equal(p.Events[0].ID, tt.wantFirst)
				if tt.wantOne {
					is.Equal(len(p.Events), 1)
					is.True(p.HasMore)
					return
				}
				is.Equal(uint64(len(p.Events)), p.LatestID-tt.wantFirst+1) // all of them (fewer than 200)
				is.True(!p.HasMore)
			})
		}
	})
}

// Hostile queries get 200 with a page (or 400 JSON for an over-long topics list), never a
// crash.
func TestEventsSnapshotHostile(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false")
		topics := make([]string, 65)
		for i := range topics {
			topics[i] = "t" + strconv.Itoa(i)
		}
		tests := []struct {
			query, header string
			status        int
		}{
			{"since_id=%zz&limit=%zz&topics=%zz", "", 200},
			{"since_id=99999999999999999999999999", "", 200},
			{"limit=-99999999999999999999999999", "", 200},
			{"since_id=18446744073709551615", "", 200},
			{"topics=%00,%0a,%ff", "", 200},
			{"since_id=1;limit=2", "", 200},
			{"&&&==&", "", 200},
			{"", "Last-Event-ID: 99999999999999999999999999", 200},
			{"", "Last-Event-ID: -1", 200},
			{"topics=" + strings.Join(topics, ","), "", 400},
		}
		e := evDial(t, s)
		for _, tt := range tests {
			t.Run(tt.query+tt.header, func(t *testing.T) {
				is := is.New(t)
				var hdr []string
				if tt.header != "" {
					hdr = append(hdr, tt.header)
				}
				resp, body := e.get(t, "/api/events/snapshot?"+tt.query, hdr...)
				is.Equal(resp.StatusCode, tt.status)
				is.Equal(resp.Header.Get("Content-Type"), "application/json")
				var v map[string]any
				is.NoErr(json.Unmarshal(body, &v))
				if tt.status == 200 {
					_, ok := v["events"]
					is.True(ok)
				} else {
					is.Equal(v["error"].(map[string]any)["code"], "invalid_topics")
				}
			})
		}
		// The server is still there.
		resp, _ := e.get(t, "/healthz")
		is.New(t).Equal(resp.StatusCode, 200)
	})
}

// live-mode reports the long-lived stream as available on both engines.
func TestEventsLiveMode(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		resp, body := evDial(t, s).get(t, "/api/events/live-mode")
		is.Equal(resp.StatusCode, 200)
		is.Equal(resp.Header.Get("Content-Type"), "application/json")
		var lm struct {
			Available      bool   `json:"available"`
			Engine         string `json:"engine"`
			RequiredEngine string `json:"required_engine"`
			Reason         string `json:"reason"`
			Fallback       struct {
				Mode      string `json:"mode"`
				RefreshMs int    `json:"refresh_ms"`
			} `json:"fallback"`
			Actions struct {
				Retry              bool   `json:"retry"`
				RecommendedCommand string `json:"recommended_command"`
			} `json:"actions"`
		}
		is.NoErr(json.Unmarshal(body, &lm))
		is.True(lm.Available)
		is.Equal(lm.Engine, engine)
		is.Equal(lm.RequiredEngine, engine)
		is.Equal(lm.Reason, "")
		is.Equal(lm.Fallback.Mode, "snapshot_polling")
		is.Equal(lm.Fallback.RefreshMs, 1000)
		is.True(lm.Actions.Retry)
		is.Equal(lm.Actions.RecommendedCommand, "")
	})
}

// --- SSE ---

// event decodes an event frame's envelope and checks it agrees with the frame.
func envelope(t *testing.T, f sse.Frame) evEvent {
	t.Helper()
	var ev evEvent
	if err := json.Unmarshal([]byte(f.Data), &ev); err != nil {
		t.Fatalf("frame data %q: %v", f.Data, err)
	}
	epoch, id, hasEpoch, ok := state.ParseSSEEventID(f.ID)
	if !ok || !hasEpoch || epoch == 0 || id != ev.ID || ev.Type != f.Event {
		t.Fatalf("frame id/event %s/%s disagree with its envelope %d/%s", f.ID, f.Event, ev.ID, ev.Type)
	}
	return ev
}

func framePath(t *testing.T, f sse.Frame) string {
	if !f.HasID || f.Event != "request.completed" {
		return ""
	}
	return envelope(t, f).Payload.Path
}

// untilPaths reads until every path has arrived, and returns the frames read.
func untilPaths(t *testing.T, st *testkit.SSEStream, paths []string) []sse.Frame {
	t.Helper()
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	return st.Until(t, func(f sse.Frame) bool {
		delete(want, framePath(t, f))
		return len(want) == 0
	})
}

// The stream is long-lived: frames for new requests arrive while it stays open.
func TestEventStreamLive(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		st := testkit.OpenSSE(t, s.Addr, "/api/events/stream")
		is.Equal(st.Resp.Header.Get("Content-Type"), "text/event-stream")
		is.Equal(st.Resp.Header.Get("Cache-Control"), "no-cache")
		is.Equal(st.Resp.Header.Get("X-Accel-Buffering"), "no")
		is.Equal(st.Resp.TransferEncoding, []string{"chunked"})
		is.Equal(st.Next(t).Retry, "1000") // first, the reconnection delay

		for round := range 3 {
			paths := evRequests(t, s, "live"+strconv.Itoa(round), 3)
			frames := untilPaths(t, st, paths)
			var last uint64
			for _, f := range frames {
				if !f.HasID {
					continue
				}
				ev := envelope(t, f)
				is.True(ev.ID > last) // ascending
				last = ev.ID
				is.Equal(ev.Source, "server")
				is.True(!strings.HasPrefix(ev.Payload.Path, "/api/events/")) // the stream does not feed itself
			}
		}
	})
}

// HEAD gets the stream's head and no body.
func TestEventStreamHead(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		res := testkit.RoundTrip(t, s, "HEAD /api/events/stream HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"HEAD"}, false)
		is.NoErr(res.Err)
		is.Equal(res.Resps[0].StatusCode, 200)
		is.Equal(res.Resps[0].Header.Get("Content-Type"), "text/event-stream")
		is.Equal(res.Bodies[0], "")
		is.True(res.Closed) // Connection: close
	})
}

func TestEventStreamHeartbeat(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--event-heartbeat-secs", "1")
		st := testkit.OpenSSE(t, s.Addr, "/api/events/stream")
		frames := st.Until(t, func(f sse.Frame) bool { return f.Comment == "heartbeat" })
		is.Equal(frames[0].Retry, "1000")
	})
}

// A client that reconnects with Last-Event-ID (and the URL of its first connection, as
// EventSource does) receives exactly the events after it: nothing lost, nothing repeated.
func TestEventStreamResume(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		st := testkit.OpenSSE(t, s.Addr, "/api/events/stream?since_id=0")
		before := evRequests(t, s, "before", 3)
		var lastID uint64
		for _, f := range untilPaths(t, st, before) {
			if f.HasID {
				lastID = envelope(t, f).ID
			}
		}
		st.Conn.Close()

		after := evRequests(t, s, "after", 4)
		st = testkit.OpenSSE(t, s.Addr, "/api/events/stream?since_id=0", "Last-Event-ID: "+strconv.FormatUint(lastID, 10))
		frames := untilPaths(t, st, after)
		var ids []uint64
		for _, f := range frames {
			if f.HasID {
				ids = append(ids, envelope(t, f).ID)
				is.True(!strings.Contains(framePath(t, f), "before")) // nothing repeated
			}
		}
		is.Equal(ids[0], lastID+1)
		for i, id := range ids {
			is.Equal(id, lastID+1+uint64(i)) // nothing lost
		}
	})
}

// A cursor that fell out of the ring gets a stream.gap frame (no id), then the stream goes on
// from the oldest buffered event.
func TestEventStreamGap(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--event-buffer-size", "100")
		evFill(t, s, "gap", 151)
		st := testkit.OpenSSE(t, s.Addr, "/api/events/stream", "Last-Event-ID: 1")
		is.Equal(st.Next(t).Retry, "1000")
		gap := st.Next(t)
		is.Equal(gap.Event, "stream.gap")
		is.True(!gap.HasID)
		var g struct {
			Overflowed bool   `json:"overflowed"`
			OldestID   uint64 `json:"oldest_id"`
			LatestID   uint64 `json:"latest_id"`
		}
		is.NoErr(json.Unmarshal([]byte(gap.Data), &g))
		is.True(g.Overflowed)
		is.True(g.OldestID > 2)
		is.Equal(g.OldestID, g.LatestID-99)
		first := st.Next(t)
		is.Equal(envelope(t, first).ID, g.OldestID)
	})
}

// Draining ends open streams promptly: with a drain timeout far longer than stop's bound, run
// returns because the streams ended, and the client sees a clean end of the body.
func TestEventStreamDrain(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--drain-timeout", "60s")
		st := testkit.OpenSSE(t, s.Addr, "/api/events/stream")
		is.Equal(st.Next(t).Retry, "1000")
		ended := make(chan error, 1)
		go func() {
			st.Conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, err := io.Copy(io.Discard, st.Resp.Body)
			st.Conn.Close()
			ended <- err
		}()
		is.NoErr(s.Stop(t)) // within stop's 10 s bound, far below the drain timeout
		select {
		case err := <-ended:
			is.NoErr(err) // the last chunk arrived: a clean end, not a cut
		case <-time.After(10 * time.Second):
			t.Fatal("the stream did not end")
		}
	})
}

// A stream whose client already left does not hold the drain either.
func TestEventStreamDrainAfterClientLeft(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--drain-timeout", "60s")
		st := testkit.OpenSSE(t, s.Addr, "/api/events/stream")
		is.Equal(st.Next(t).Retry, "1000")
		untilPaths(t, st, evRequests(t, s, "left", 1))
		st.Conn.Close()
		is.NoErr(s.Stop(t)) // within stop's 10 s bound, far below the drain timeout
	})
}

// On the threadpool engine an open stream holds no worker slot: with one worker, several
// streams stay open and plain requests are still served (and reach every stream).
func TestEventStreamHoldsNoWorker(t *testing.T) {
	is := is.New(t)
	s := testkit.Start(t, run, "threadpool", "--access-log=false", "--workers", "1")
	var streams []*testkit.SSEStream
	for range 3 {
		st := testkit.OpenSSE(t, s.Addr, "/api/events/stream")
		is.Equal(st.Next(t).Retry, "1000")
		streams = append(streams, st)
	}
	e := evDial(t, s)
	resp, _ := e.get(t, "/healthz")
	is.Equal(resp.StatusCode, 200)
	for _, st := range streams {
		untilPaths(t, st, []string{"/healthz"})
	}
}

// At most 256 streams are open at once; the next gets 503 too_many_streams, and a place
// freed by a client that left is taken again.
func TestEventStreamCap(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--event-heartbeat-secs", "1")
		const limit = 256
		streams := make([]*testkit.SSEStream, limit)
		for i := range streams {
			streams[i] = testkit.OpenSSE(t, s.Addr, "/api/events/stream")
		}
		over := func() (*http.Response, []byte) {
			return evDial(t, s).get(t, "/api/events/stream")
		}
		resp, body := over()
		is.Equal(resp.StatusCode, 503)
		is.Equal(resp.Header.Get("Content-Type"), "application/json")
		is.True(strings.Contains(string(body), `"too_many_streams"`))

		streams[0].Conn.Close() // the server notices at its next write (a heartbeat)
		deadline := time.Now().Add(10 * time.Second)
		for {
			c := s.Dial(t)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("GET /api/events/stream HTTP/1.1\r\nHost: localhost\r\n\r\n"))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			is.NoErr(err)
			c.Close()
			if resp.StatusCode == 200 {
				break
			}
			is.Equal(resp.StatusCode, 503)
			if time.Now().After(deadline) {
				t.Fatal("the freed place was not given back within 10s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
