package loop

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/conn"
)

// An existing development certificate is reused while it has more than a week left, and
// replaced when it is expired, about to expire or not yet valid.
func TestDevCertificateRenewal(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		madeAt time.Time
		reused bool
	}{
		{name: "fresh", madeAt: now.Add(-time.Minute), reused: true},
		{name: "half way", madeAt: now.Add(-180 * 24 * time.Hour), reused: true},
		{name: "expires within a week", madeAt: now.Add(-360 * 24 * time.Hour), reused: false},
		{name: "expired", madeAt: now.Add(-2 * 365 * 24 * time.Hour), reused: false},
		{name: "not yet valid", madeAt: now.Add(48 * time.Hour), reused: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			dir := t.TempDir()
			certFile, keyFile, err := devCertificate(dir, tc.madeAt)
			is.NoErr(err)
			before, err := os.ReadFile(certFile)
			is.NoErr(err)
			certFile2, keyFile2, err := devCertificate(dir, now)
			is.NoErr(err)
			is.Equal(certFile2, certFile)
			is.Equal(keyFile2, keyFile)
			after, err := os.ReadFile(certFile)
			is.NoErr(err)
			is.Equal(bytes.Equal(before, after), tc.reused)
			is.True(devCertUsable(certFile, keyFile, now))
		})
	}
}

// Broken files are replaced, never served and never an error.
func TestDevCertificateBrokenFiles(t *testing.T) {
	other := t.TempDir()
	otherCert, otherKey, err := DevCertificate(other)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, certFile, keyFile string)
	}{
		{"garbage certificate", func(t *testing.T, c, k string) { os.WriteFile(c, []byte("junk"), 0o644) }},
		{"empty key", func(t *testing.T, c, k string) { os.WriteFile(k, nil, 0o600) }},
		{"key of another pair", func(t *testing.T, c, k string) { copyFile(t, otherKey, k) }},
		{"certificate of another pair", func(t *testing.T, c, k string) { copyFile(t, otherCert, c) }},
		{"key missing", func(t *testing.T, c, k string) { os.Remove(k) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			dir := t.TempDir()
			certFile, keyFile, err := DevCertificate(dir)
			is.NoErr(err)
			tc.setup(t, certFile, keyFile)
			is.True(!devCertUsable(certFile, keyFile, time.Now()))
			_, _, err = DevCertificate(dir)
			is.NoErr(err)
			is.True(devCertUsable(certFile, keyFile, time.Now()))
			info, err := os.Stat(keyFile)
			is.NoErr(err)
			is.Equal(info.Mode().Perm(), os.FileMode(0o600))
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ServerTLSConfig: TLS 1.2 or newer, only ECDHE AEAD suites, ALPN http/1.1 (then 1.0); files that do
// not make a pair are an error.
func TestServerTLSConfig(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	certFile, keyFile, err := DevCertificate(dir)
	is.NoErr(err)
	cfg, err := ServerTLSConfig(certFile, keyFile)
	is.NoErr(err)
	is.Equal(cfg.MinVersion, uint16(tls.VersionTLS12))
	is.Equal(cfg.NextProtos, []string{"http/1.1", "http/1.0"})
	insecure := map[uint16]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.ID] = true
	}
	for _, id := range cfg.CipherSuites {
		is.True(!insecure[id])
		name := tls.CipherSuiteName(id)
		is.True(bytes.Contains([]byte(name), []byte("ECDHE")))
		is.True(bytes.Contains([]byte(name), []byte("GCM")) || bytes.Contains([]byte(name), []byte("CHACHA20")))
	}

	other, otherKey, err := DevCertificate(t.TempDir())
	is.NoErr(err)
	for _, tc := range []struct{ name, cert, key string }{
		{"missing certificate", filepath.Join(dir, "nope.pem"), keyFile},
		{"missing key", certFile, filepath.Join(dir, "nope.pem")},
		{"mismatched pair", certFile, otherKey},
		{"swapped files", keyFile, certFile},
		{"other pair's certificate", other, keyFile},
	} {
		_, err := ServerTLSConfig(tc.cert, tc.key)
		is.True(err != nil) // tc.name
	}
}

func TestLooksLikeHTTP(t *testing.T) {
	is := is.New(t)
	for _, tc := range []struct {
		hdr  string
		want bool
	}{
		{"GET /", true}, {"HEAD ", true}, {"POST ", true}, {"PUT /", true}, {"DELET", true},
		{"OPTIO", true}, {"PATCH", true}, {"CONNE", true}, {"TRACE", true},
		{"\x16\x03\x01\x02\x00", false}, {"get /", false}, {"GETX ", false}, {"HELLO", false},
		{"\x00\x00\x00\x00\x00", false},
	} {
		var h [5]byte
		copy(h[:], tc.hdr)
		is.Equal(looksLikeHTTP(h), tc.want) // tc.hdr
	}
}

// testTLSEngine runs a TLS engine with handler on 127.0.0.1:0 and returns it with a client
// configuration that trusts its certificate. It is stopped when the test ends.
func testTLSEngine(t *testing.T, handler conn.Handler, timeout time.Duration, failed func(error)) (Engine, *tls.Config) {
	t.Helper()
	certFile, keyFile, err := DevCertificate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	scfg, err := ServerTLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	off := NewOffload(4, 16)
	t.Cleanup(off.Stop)
	srv := &conn.Server{Handler: handler, Offload: off}
	srv.Defaults()
	eng, err := ListenTLS(Config{Host: "127.0.0.1", Server: srv, HandshakeFailed: failed}, scfg, timeout)
	if err != nil {
		t.Fatal(err)
	}
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
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	return eng, &tls.Config{RootCAs: roots, ServerName: "localhost"}
}

// File bodies go through TLS (read and encrypted, no sendfile) whole and in order, from any
// offset, on a kept-alive connection.
func TestTLSEngineSendsFiles(t *testing.T) {
	is := is.New(t)
	data := make([]byte, 300<<10+17) // several SendFile pieces, an uneven tail
	rand.Read(data)
	name := filepath.Join(t.TempDir(), "blob")
	is.NoErr(os.WriteFile(name, data, 0o600))
	const off = 1000
	eng, ccfg := testTLSEngine(t, conn.HandlerFunc(func(x *conn.Exchange) {
		f, err := os.Open(name)
		if err != nil {
			x.Text(500, "text/plain", nil)
			return
		}
		x.File(f, off, int64(len(data)-off))
	}), time.Second, nil)
	c, err := tls.Dial("tcp", eng.Addr().String(), ccfg)
	is.NoErr(err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for range 2 {
		c.Write([]byte("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"))
		resp, err := http.ReadResponse(br, nil)
		is.NoErr(err)
		body, err := io.ReadAll(resp.Body)
		is.NoErr(err)
		is.Equal(len(body), len(data)-off)
		is.True(bytes.Equal(body, data[off:]))
	}
}

// Stop ends handshakes in progress and Serve returns without waiting for the handshake
// timeout; Stats counts connections still in their handshake as active. Nothing is reported
// as a failed handshake.
func TestTLSEngineStopEndsHandshakes(t *testing.T) {
	is := is.New(t)
	var failed atomic.Int64
	eng, _ := testTLSEngine(t, conn.HandlerFunc(func(x *conn.Exchange) {}), time.Hour,
		func(error) { failed.Add(1) })
	const silent = 5
	var conns []net.Conn
	for range silent {
		c, err := net.Dial("tcp", eng.Addr().String())
		is.NoErr(err)
		defer c.Close()
		conns = append(conns, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for eng.Stats().ActiveConnections < silent {
		if time.Now().After(deadline) {
			t.Fatalf("active: have %d, want %d", eng.Stats().ActiveConnections, silent)
		}
		time.Sleep(5 * time.Millisecond)
	}
	eng.Stop()
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(make([]byte, 1))
		is.Equal(n, 0)
		is.True(!errors.Is(err, os.ErrDeadlineExceeded)) // closed by Stop, not still waiting
	}
	is.Equal(failed.Load(), int64(0))
}

// A failed handshake reports a *HandshakeError with the client's address and the reason.
func TestTLSEngineReportsFailures(t *testing.T) {
	reports := make(chan error, 4)
	eng, _ := testTLSEngine(t, conn.HandlerFunc(func(x *conn.Exchange) {}), 300*time.Millisecond,
		func(err error) { reports <- err })
	for _, tc := range []struct {
		name, send, reason string
	}{
		{"plain http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "plain_http"},
		{"silent", "", "timeout"},
		{"not tls", "hello\r\n\r\n", "protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c, err := net.Dial("tcp", eng.Addr().String())
			is.NoErr(err)
			defer c.Close()
			c.Write([]byte(tc.send))
			var he *HandshakeError
			select {
			case err := <-reports:
				is.True(errors.As(err, &he))
			case <-time.After(10 * time.Second):
				t.Fatal("no report")
			}
			is.Equal(he.Reason, tc.reason)
			is.Equal(he.Remote.String(), c.LocalAddr().String())
		})
	}
}
