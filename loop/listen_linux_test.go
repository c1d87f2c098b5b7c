//go:build linux

package loop

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/matryer/is"
	"golang.org/x/sys/unix"

	"ownhttp/conn"
)

// testConfig is an engine configuration on 127.0.0.1:port whose handler answers 200 "ok".
func testConfig(t *testing.T, port, reactors int) Config {
	off := NewOffload(2, 16)
	t.Cleanup(off.Stop)
	srv := &conn.Server{Offload: off, Handler: conn.HandlerFunc(func(x *conn.Exchange) {
		x.Text(200, "text/plain", []byte("ok"))
	})}
	srv.Defaults()
	return Config{Host: "127.0.0.1", Port: port, Reactors: reactors, Server: srv}
}

// serve runs eng until the test ends.
func serve(t *testing.T, eng Engine) {
	done := make(chan error, 1)
	go func() { done <- eng.Serve() }()
	t.Cleanup(func() {
		eng.Stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Stop")
		}
	})
}

// A port that a reactor's loops listen on is theirs alone: another reactor (one loop or
// several), the pool engine and the TLS engine all fail to listen on it with EADDRINUSE, and
// so does the reactor on a port that any other socket listens on.
func TestListenHeldPort(t *testing.T) {
	is := is.New(t)
	r, err := Listen(testConfig(t, 0, 3))
	is.NoErr(err)
	serve(t, r)
	port := int(r.Addr().Port())
	for _, reactors := range []int{1, 3} {
		_, err := Listen(testConfig(t, port, reactors))
		is.True(errors.Is(err, unix.EADDRINUSE))
	}
	_, err = ListenPool(testConfig(t, port, 1))
	is.True(errors.Is(err, unix.EADDRINUSE))
	certFile, keyFile, err := DevCertificate(t.TempDir())
	is.NoErr(err)
	scfg, err := ServerTLSConfig(certFile, keyFile)
	is.NoErr(err)
	_, err = ListenTLS(testConfig(t, port, 1), scfg, time.Second)
	is.True(errors.Is(err, unix.EADDRINUSE))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer ln.Close()
	_, err = Listen(testConfig(t, ln.Addr().(*net.TCPAddr).Port, 3))
	is.True(errors.Is(err, unix.EADDRINUSE))
}

// The loops of one reactor serve the one port, and once Serve has returned after a drain,
// every loop has let go of it: the port can be listened on again.
func TestReactorReleasesPort(t *testing.T) {
	is := is.New(t)
	r, err := Listen(testConfig(t, 0, 3))
	is.NoErr(err)
	done := make(chan error, 1)
	go func() { done <- r.Serve() }()
	defer r.Stop() // a failed test's
	addr := r.Addr().String()
	for range 10 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		is.NoErr(err)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 200)
		c.Close()
	}
	r.Drain()
	select {
	case err := <-done:
		is.NoErr(err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Drain")
	}
	again, err := Listen(testConfig(t, int(r.Addr().Port()), 3))
	is.NoErr(err) // no loop kept a duplicate of the listener
	again.closeAll()
}
