package testkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Exchange is what a raw exchange read back: the responses parsed, and how the connection
// ended.
type Exchange struct {
	Resps  []*http.Response
	Bodies []string
	Err    error // error reading the response after the last one parsed
	Closed bool  // the server closed the connection after the responses
	Open   bool  // the connection answered one more request after the responses
	Raw    []byte
}

// SendRaw writes data to c, all at once or one byte per write; write errors after the
// server has answered and closed are expected and ignored.
func SendRaw(c net.Conn, data string, byteByByte bool) {
	if !byteByByte {
		c.Write([]byte(data))
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	for i := 0; i < len(data); i++ {
		if _, err := c.Write([]byte{data[i]}); err != nil {
			return
		}
	}
}

// RoundTrip sends raw on a fresh connection to s, reads len(methods) responses, then finds
// out whether the server closed the connection.
func RoundTrip(t testing.TB, s *Server, raw string, methods []string, byteByByte bool) Exchange {
	t.Helper()
	c := s.Dial(t)
	go SendRaw(c, raw, byteByByte)
	return ReadResponses(c, methods, true)
}

// StillServes reports whether the connection answers one more request after the exchange:
// the positive proof that it stayed open (waiting for a close that does not come would take
// a timeout).
func StillServes(c net.Conn, br *bufio.Reader) bool {
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return false
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == 200
}

// ReadResponses reads one response per method (HEAD responses have no body). With
// checkClose it then finds out whether the server closed the connection (EOF) or keeps it
// (it answers one more request).
func ReadResponses(c net.Conn, methods []string, checkClose bool) Exchange {
	var res Exchange
	var rec bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &rec))
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			res.Err = err
			res.Raw = rec.Bytes()
			return res
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			res.Err = fmt.Errorf("body: %w", err)
			res.Raw = rec.Bytes()
			return res
		}
		res.Resps = append(res.Resps, resp)
		res.Bodies = append(res.Bodies, string(body))
	}
	res.Raw = append([]byte(nil), rec.Bytes()...)
	if checkClose {
		if br.Buffered() > 0 {
			return res // unexpected extra bytes: neither cleanly closed nor idle
		}
		if res.Open = StillServes(c, br); !res.Open {
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := br.Read(make([]byte, 1))
			res.Closed = n == 0 && (errors.Is(err, io.EOF) || IsReset(err) || err == nil)
		}
	}
	return res
}

// IsReset reports whether err is a connection reset or a broken pipe.
func IsReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}
