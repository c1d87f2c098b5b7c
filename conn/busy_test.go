package conn

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// A busy refusal is the connection's next response: after a reply still being produced and
// after a stream's last chunk, at once on an idle connection. It is 503 with Retry-After and
// Connection: close, sent once, never observed, and the connection closes after it.
func TestBusyAnswersInTurn(t *testing.T) {
	now := time.Unix(1, 0)
	var st *Stream
	handler := func(x *Exchange) {
		switch string(x.Req.Path) {
		case "/slow":
			x.Go(func(r *Reply) { r.Text(202, "text/plain", []byte("slow")) })
		case "/stream":
			st = x.Stream(200)
		default:
			x.Text(200, "text/plain", []byte("fast"))
		}
	}
	busy := []byte("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	isBusyAnswer := func(is *is.I, out string) {
		i := strings.Index(out, "HTTP/1.1 503 Service Unavailable\r\n")
		is.True(i >= 0)
		head, body, _ := strings.Cut(out[i:], "\r\n\r\n")
		is.True(strings.Contains(head, "\r\nRetry-After: 1\r\n"))
		is.True(strings.HasSuffix(head, "\r\nConnection: close"))
		is.Equal(body, "Service Unavailable")
	}

	t.Run("behind a pending reply", func(t *testing.T) {
		is := is.New(t)
		c, tr, ow, off, rec := newTestConn(handler)
		c.OnData([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), now)
		c.OnBusy(busy, now)
		is.Equal(tr.out.Len(), 0) // nothing goes out ahead of the slow reply
		is.True(c.Closing())
		c.OnBusy(busy, now) // closing already: no second refusal
		off.runAll()
		ow.drain(now)
		out := tr.out.String()
		is.Equal(statusLines(out), []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 503 Service Unavailable"})
		isBusyAnswer(is, out)
		is.Equal(rec.statuses, []int{202}) // the refusal is not an exchange
		is.True(tr.closedW || c.Closed())
	})

	t.Run("after a stream", func(t *testing.T) {
		is := is.New(t)
		c, tr, ow, _, _ := newTestConn(handler)
		c.OnData([]byte("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), now)
		is.NoErr(st.Write([]byte("one")))
		ow.drain(now)
		c.OnBusy(busy, now)
		is.NoErr(st.Write([]byte("two"))) // the stream goes on
		st.Close()
		ow.drain(now)
		out := tr.out.String()
		is.True(strings.Contains(out, "3\r\none\r\n3\r\ntwo\r\n0\r\n\r\nHTTP/1.1 503 "))
		isBusyAnswer(is, out)
		is.True(tr.closedW || c.Closed())
	})

	t.Run("idle", func(t *testing.T) {
		is := is.New(t)
		c, tr, _, _, rec := newTestConn(handler)
		c.OnData([]byte("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"), now)
		tr.out.Reset()
		c.OnBusy(busy, now)
		is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 503 Service Unavailable"})
		isBusyAnswer(is, tr.out.String())
		is.Equal(rec.statuses, []int{200})
		is.True(tr.closedW || c.Closed())
	})
}
