package conn

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// A deferred reply completed from another goroutine keeps its place in the pipeline: the
// response after it waits, and both leave in request order. Only the first Done counts.
func TestDeferredKeepsOrder(t *testing.T) {
	is := is.New(t)
	deferred := make(chan *Deferred, 1)
	c, tr, ow, off, rec := newTestConn(func(x *Exchange) {
		switch string(x.Req.Path) {
		case "/later":
			x.Route = "POST /later"
			x.Header("X-Set-Before", "1")
			deferred <- x.Defer()
		default:
			x.Text(200, "text/plain", []byte("fast"))
		}
	})
	now := time.Unix(1, 0)
	c.OnData([]byte("GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	is.Equal(tr.out.Len(), 0) // the fast response waits behind the deferred one
	is.Equal(len(off.queued), 0)
	d := <-deferred

	finished := make(chan struct{})
	var route string
	go func() {
		defer close(finished)
		d.Done(func(r *Reply) {
			route = r.Route
			r.Text(201, "text/plain", []byte("later"))
		})
		d.Done(func(r *Reply) { r.Text(500, "text/plain", []byte("second")) }) // ignored
	}()
	<-finished
	is.Equal(route, "POST /later") // the reply starts with what the handler set
	ow.drain(now)
	out := tr.out.String()
	is.Equal(statusLines(out), []string{"HTTP/1.1 201 Created", "HTTP/1.1 200 OK"})
	is.True(strings.Contains(out, "X-Set-Before: 1\r\n"))
	is.True(strings.Contains(out, "\r\n\r\nlater"))
	is.True(!strings.Contains(out, "second"))
	is.Equal(rec.statuses, []int{201, 200})
}

// A panic in Done's fill becomes a 500; a Deferred completed after its connection closed is
// dropped without harm.
func TestDeferredPanicAndClosed(t *testing.T) {
	is := is.New(t)
	var d *Deferred
	c, tr, ow, _, _ := newTestConn(func(x *Exchange) { d = x.Defer() })
	now := time.Unix(1, 0)
	c.OnData([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	d.Done(func(r *Reply) { panic("boom in deferred work") })
	ow.drain(now)
	is.Equal(statusLines(tr.out.String()), []string{"HTTP/1.1 500 Internal Server Error"})

	c2, tr2, ow2, _, _ := newTestConn(func(x *Exchange) { d = x.Defer() })
	c2.OnData([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), now)
	c2.Abort()
	d.Done(func(r *Reply) { r.Text(200, "text/plain", []byte("too late")) })
	ow2.drain(now)
	is.Equal(tr2.out.Len(), 0)
}
