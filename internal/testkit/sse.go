package testkit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"ownhttp/internal/sse"
)

// maxSSELine bounds one SSE line a test reads.
const maxSSELine = 1 << 20

// SSEStream is an open text/event-stream response on its own connection.
type SSEStream struct {
	Conn   net.Conn
	Resp   *http.Response
	frames *sse.Reader // over the decoded (de-chunked) body
}

// OpenSSE sends GET target on a fresh connection to addr with extra header lines and
// returns the stream; a status other than 200 fails the test.
func OpenSSE(t testing.TB, addr, target string, headers ...string) *SSEStream {
	t.Helper()
	c := Dial(t, addr)
	req := "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("stream response: %v", err)
	}
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream status %d: %s", resp.StatusCode, body)
	}
	return &SSEStream{Conn: c, Resp: resp, frames: sse.NewReader(resp.Body, maxSSELine)}
}

// Next reads one frame, waiting at most 10 s; an error or a field SSE does not define
// fails the test.
func (st *SSEStream) Next(t testing.TB) sse.Frame {
	t.Helper()
	st.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := st.frames.Next()
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	if f.Unknown != "" {
		t.Fatalf("unexpected SSE field %q", f.Unknown)
	}
	return f
}

// Until reads frames until ok accepts one, and returns every frame read.
func (st *SSEStream) Until(t testing.TB, ok func(sse.Frame) bool) []sse.Frame {
	t.Helper()
	var got []sse.Frame
	for {
		f := st.Next(t)
		got = append(got, f)
		if ok(f) {
			return got
		}
	}
}

// ParseSSE splits b into its complete frames (a trailing partial frame is left out); an
// error or a field SSE does not define fails the test.
func ParseSSE(t testing.TB, b []byte) []sse.Frame {
	t.Helper()
	frames, err := sse.Parse(b, maxSSELine)
	if err != nil {
		t.Fatalf("parse %q: %v", b, err)
	}
	for _, f := range frames {
		if f.Unknown != "" {
			t.Fatalf("unexpected SSE field %q in %q", f.Unknown, b)
		}
	}
	return frames
}
