package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
	"ownhttp/loop"
)

// devCertFiles makes a development certificate pair in a temporary directory ("ownhttp
// certs", never ./certs) and returns its files.
func devCertFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	if err := run(context.Background(), []string{"certs", "--dir", dir}, io.Discard, io.Discard, nil); err != nil {
		t.Fatalf("certs: %v", err)
	}
	return filepath.Join(dir, "dev-cert.pem"), filepath.Join(dir, "dev-key.pem")
}

// serverFiles are the flags that keep a server's files in a fresh temporary directory.
func serverFiles(t *testing.T) []string {
	dir := t.TempDir()
	return []string{"--state-file", dir + "/state.json", "--static-dir", dir + "/static",
		"--scenario-state-file", dir + "/scenarios.json", "--target-state-file", dir + "/targets.json"}
}

// tryStart runs a server with args on 127.0.0.1 and returns run's error once it fails. A
// server that starts instead is an error of the test; it keeps serving (so that what it takes
// from the port shows) until the test ends.
func tryStart(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan loop.Bound, 1)
	logs := &testkit.LogBuffer{}
	all := append(append([]string{"--host", "127.0.0.1", "--drain-timeout", "2s", "--access-log=false"},
		serverFiles(t)...), args...)
	go func() { done <- run(ctx, all, io.Discard, logs, func(b loop.Bound) { ready <- b }) }()
	select {
	case err := <-done:
		cancel()
		return err
	case b := <-ready:
		t.Errorf("%v started on a held port: %s", args, b.URL())
		t.Cleanup(func() {
			cancel()
			<-done
		})
		return nil
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("%v neither started nor failed within 10s\n%s", args, logs.String())
		return nil
	}
}

// A server does not start on a port another server already holds, whatever the engines of
// both and with TLS (whose redirect listener takes --port): run fails with "address already
// in use" naming the address, and every new connection still reaches the first server, whose
// event loops share the port among themselves.
func TestHeldPortFailsStart(t *testing.T) {
	certFile, keyFile := devCertFiles(t)
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		first := testkit.Start(t, run, engine, "--reactors", "3", "--access-log=false")
		newLabClient(t, first).createMock(`{"method":"GET","path_pattern":"/who","status":200,"body":"first"}`)
		port := strconv.Itoa(int(first.Bound.Listeners[0].Addr.Port()))
		tlsFlags := []string{"--enable-tls", "--https-port", "0", "--cert-file", certFile, "--key-file", keyFile}
		for _, second := range [][]string{
			{"--engine", "epoll", "--reactors", "3"},
			{"--engine", "epoll", "--reactors", "1"},
			{"--engine", "threadpool"},
			append([]string{"--engine", "epoll"}, tlsFlags...),
			append([]string{"--engine", "threadpool"}, tlsFlags...),
		} {
			if err := tryStart(t, append(second, "--port", port)...); err != nil { // nil is reported
				is.True(strings.Contains(err.Error(), "127.0.0.1:"+port+": address already in use")) // names the address
			}
		}
		firsts := 0
		for range 10 {
			res := testkit.RoundTrip(t, first, "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", []string{"GET"}, false)
			is.NoErr(res.Err)
			if res.Bodies[0] == "first" {
				firsts++
			}
		}
		is.Equal(firsts, 10) // every connection reached the first server, none another
	})
}

// A port held by a listener that is not ownhttp's (Go's net.Listen) fails the start too.
func TestForeignHeldPortFailsStart(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		is.NoErr(err)
		defer ln.Close()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		if err := tryStart(t, "--engine", engine, "--port", port); err != nil { // nil is reported
			is.True(strings.Contains(err.Error(), "127.0.0.1:"+port+": address already in use"))
		}
	})
}

// The binary started on a held port exits 1 with one line that names the address, on both
// engines and with TLS (whose redirect listener takes --port). The only other lines are the
// log records of loading its state files, which it does before it binds.
func TestHeldPortBinaryExits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testkit.Binary(t)
	certFile, keyFile := devCertFiles(t)
	first := testkit.Start(t, run, "epoll", "--reactors", "2", "--access-log=false")
	port := strconv.Itoa(int(first.Bound.Listeners[0].Addr.Port()))
	tlsFlags := []string{"--enable-tls", "--https-port", "0", "--cert-file", certFile, "--key-file", keyFile}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"epoll", "listen", []string{"--engine", "epoll"}},
		{"threadpool", "listen", []string{"--engine", "threadpool"}},
		{"tls", "listen http", append([]string{"--engine", "epoll"}, tlsFlags...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			args := append(append([]string{"--host", "127.0.0.1", "--port", port}, serverFiles(t)...), tc.args...)
			code, stdout, stderr := testkit.RunBinary(t, bin, args...)
			is.Equal(code, 1)
			is.Equal(stdout, "")
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			is.Equal(lines[len(lines)-1], "ownhttp: "+tc.want+": bind 127.0.0.1:"+port+": address already in use")
			for _, l := range lines[:len(lines)-1] {
				is.True(strings.Contains(l, " level=INFO msg=\"state file absent, starting empty\" ")) // nothing else
			}
		})
	}
}
