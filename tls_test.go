package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// tlsServer is a server started with --enable-tls on --https-port 0, its certificate made by
// "ownhttp certs" in a temporary directory (never ./certs).
type tlsServer struct {
	*testkit.Server
	roots *x509.CertPool
}

// startTLSServer runs the server with TLS (and the redirect port) on the given engine. s.Addr
// is the HTTPS address (the application's listener comes first in s.Bound).
func startTLSServer(t *testing.T, engine string, args ...string) *tlsServer {
	t.Helper()
	dir := t.TempDir()
	if err := run(context.Background(), []string{"certs", "--dir", dir}, io.Discard, io.Discard, nil); err != nil {
		t.Fatalf("certs: %v", err)
	}
	certFile, keyFile := filepath.Join(dir, "dev-cert.pem"), filepath.Join(dir, "dev-key.pem")
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("the development certificate does not parse")
	}
	flags := append([]string{"--enable-tls", "--https-port", "0", "--cert-file", certFile, "--key-file", keyFile}, args...)
	return &tlsServer{Server: testkit.Start(t, run, engine, flags...), roots: roots}
}

// clientConfig verifies the server against the development certificate, as localhost.
func (s *tlsServer) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: s.roots, ServerName: "localhost", NextProtos: []string{"http/1.1"}}
}

// dialTLS connects and completes the handshake with cfg.
func (s *tlsServer) dialTLS(t *testing.T, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", s.Addr, cfg)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// get sends one GET over a fresh TLS connection and returns the response and its body.
func (s *tlsServer) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	c, err := s.dialTLS(t, s.clientConfig())
	if err != nil {
		t.Fatalf("tls dial: %v", err)
	}
	c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s body: %v", path, err)
	}
	return resp, string(body)
}

// tlsHandshakeFailures reads the tls_handshake error count from GET /metrics over TLS.
func tlsHandshakeFailures(t *testing.T, s *tlsServer) string {
	t.Helper()
	resp, body := s.get(t, "/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	const series = `ownhttp_errors_total{class="tls_handshake"} `
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics", series)
	return ""
}

// waitHandshakeFailures waits (at most 5 s) until /metrics counts want failed handshakes: a
// client may see its handshake fail a moment before the server's goroutine counts it.
func waitHandshakeFailures(t *testing.T, s *tlsServer, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := tlsHandshakeFailures(t, s)
		if got == strconv.Itoa(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tls_handshake failures: have %s, want %d\n%s", got, want, s.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The TLS port serves the same HTTP as the plain one: Hello World, verified against the
// development certificate (for localhost and for 127.0.0.1), TLS 1.2 or newer, ALPN
// http/1.1 even when h2 is offered first.
func TestTLSServesHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := startTLSServer(t, engine, "--access-log=false")
		for _, tc := range []struct {
			name       string
			serverName string
			protos     []string
		}{
			{"localhost", "localhost", []string{"http/1.1"}},
			{"ip address", "127.0.0.1", []string{"http/1.1"}},
			{"h2 offered first", "localhost", []string{"h2", "http/1.1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				cfg := s.clientConfig()
				cfg.ServerName, cfg.NextProtos = tc.serverName, tc.protos
				c, err := s.dialTLS(t, cfg)
				is.NoErr(err)
				st := c.ConnectionState()
				is.True(st.Version >= tls.VersionTLS12)
				is.Equal(st.NegotiatedProtocol, "http/1.1")
				c.Write([]byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
				res := testkit.ReadResponses(c, []string{"GET"}, true)
				is.NoErr(res.Err)
				is.Equal(res.Resps[0].StatusCode, 200)
				is.Equal(res.Bodies[0], "Hello World")
				is.True(res.Open) // keep-alive over TLS
			})
		}
	})
}

// Pipelined requests and a streamed response over TLS, in order, as on plain sockets; a
// Connection: close request ends the session.
func TestTLSPipeliningAndStream(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startTLSServer(t, engine, "--access-log=false")
		c, err := s.dialTLS(t, s.clientConfig())
		is.NoErr(err)
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" +
			"GET /stream HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		res := testkit.ReadResponses(c, []string{"GET", "POST", "GET", "HEAD"}, false)
		is.NoErr(res.Err)
		is.Equal(res.Bodies[0], "Hello World")
		is.Equal(res.Bodies[1], "Received POST body: hi")
		is.Equal(res.Resps[2].TransferEncoding, []string{"chunked"})
		is.Equal(res.Bodies[2], "chunk-one\nchunk-two\nchunk-three\n")
		is.Equal(res.Resps[3].StatusCode, 200)
		is.Equal(res.Bodies[3], "")
		rest, err := io.ReadAll(c) // the server ends the session after the close request
		is.NoErr(err)
		is.Equal(len(rest), 0)
	})
}

// An HTTP/1.0 client offering ALPN http/1.0 is served as on the plain port: a streamed body
// is close-delimited, and the session ends cleanly after it.
func TestTLSHTTP10(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startTLSServer(t, engine, "--access-log=false")
		cfg := s.clientConfig()
		cfg.NextProtos = []string{"http/1.0"}
		c, err := s.dialTLS(t, cfg)
		is.NoErr(err)
		is.Equal(c.ConnectionState().NegotiatedProtocol, "http/1.0")
		c.Write([]byte("GET /stream HTTP/1.0\r\n\r\n"))
		all, err := io.ReadAll(c) // ends at the server's close
		is.NoErr(err)
		head, body, ok := strings.Cut(string(all), "\r\n\r\n")
		is.True(ok)
		is.True(strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n"))
		is.True(!strings.Contains(head, "Transfer-Encoding"))
		is.Equal(body, "chunk-one\nchunk-two\nchunk-three\n")
	})
}

// A plain-HTTP client on the TLS port is told so (400) and closed; the failure is counted,
// and the server goes on serving TLS.
func TestTLSPlainHTTPClient(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startTLSServer(t, engine, "--access-log=false")
		is.Equal(tlsHandshakeFailures(t, s), "0")
		res := testkit.RoundTrip(t, s.Server, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"GET"}, false)
		is.NoErr(res.Err)
		is.Equal(res.Resps[0].StatusCode, 400)
		is.Equal(res.Bodies[0], "Client sent an HTTP request to an HTTPS server.\n")
		is.True(res.Closed)
		waitHandshakeFailures(t, s, 1)
		is.True(strings.Contains(s.Logs.WaitFor(t, "reason=plain_http"), "msg=tls_handshake_failed"))
		_, body := s.get(t, "/")
		is.Equal(body, "Hello World")
	})
}

// Handshakes a client cannot complete are refused and counted, never a crash: a byte-garbage
// client, a client that hangs up at once, old protocol versions, CBC-only TLS 1.2, an
// h2-only ALPN offer.
func TestTLSHostileClients(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := startTLSServer(t, engine, "--access-log=false")
		raw := []struct {
			name string
			data string
		}{
			{"garbage record", "\x16\x03\x01\xff\xff" + strings.Repeat("\x00", 64)},
			{"not tls, not http", "hello there\r\n"},
			{"hang up at once", ""},
		}
		for _, tc := range raw {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				c := s.Dial(t)
				c.Write([]byte(tc.data))
				c.(*net.TCPConn).CloseWrite()
				got, err := io.ReadAll(c) // the server closes
				is.True(err == nil || testkit.IsReset(err))
				is.True(!bytes.Contains(got, []byte("HTTP/1.1 200")))
			})
		}
		refused := []struct {
			name string
			cfg  func(*tls.Config)
		}{
			{"tls 1.0", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS10 }},
			{"tls 1.1", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }},
			{"cbc only", func(c *tls.Config) {
				c.MaxVersion = tls.VersionTLS12
				c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
			}},
			{"h2 only", func(c *tls.Config) { c.NextProtos = []string{"h2"} }},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				cfg := s.clientConfig()
				tc.cfg(cfg)
				_, err := s.dialTLS(t, cfg)
				is.True(err != nil) // handshake refused
			})
		}
		is := is.New(t)
		waitHandshakeFailures(t, s, len(raw)+len(refused))
		_, body := s.get(t, "/")
		is.Equal(body, "Hello World")
	})
}

// Silent clients on the TLS port block nobody: a client beside them is served while they are
// still connected, and each is closed at --handshake-timeout and counted as a timeout.
func TestTLSSilentClients(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startTLSServer(t, engine, "--handshake-timeout", "500ms", "--access-log=false")
		const silent = 8
		closed := make(chan struct{}, silent)
		for range silent {
			c := s.Dial(t)
			go func() {
				io.Copy(io.Discard, c) // returns when the server closes
				closed <- struct{}{}
			}()
		}
		resp, body := s.get(t, "/")
		is.Equal(resp.StatusCode, 200)
		is.Equal(body, "Hello World")
		select {
		case <-closed:
			t.Fatal("a silent client was closed before the served one finished")
		default:
		}
		for range silent {
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("a silent client was not closed at the handshake timeout")
			}
		}
		waitHandshakeFailures(t, s, silent)
		s.Logs.WaitFor(t, "reason=timeout")
	})
}

// A drain ends handshakes in progress at once (not at the handshake timeout), so the server
// stops with a client stalled in its handshake; an idle TLS keep-alive connection is closed too.
func TestTLSDrainEndsHandshakes(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startTLSServer(t, engine, "--handshake-timeout", "1h", "--drain-timeout", "1h", "--access-log=false")
		// One byte of a ClientHello record: the kernel hands the connection over (listeners
		// defer accept until data arrives) and its handshake stalls in the server's read.
		silent := s.Dial(t)
		silent.Write([]byte{0x16})
		idle, err := s.dialTLS(t, s.clientConfig())
		is.NoErr(err)
		idle.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		br := bufio.NewReader(idle)
		resp, err := http.ReadResponse(br, nil)
		is.NoErr(err)
		io.ReadAll(resp.Body)
		is.NoErr(s.Stop(t)) // bounded by the harness (10 s), far below either hour
		n, _ := silent.Read(make([]byte, 1))
		is.Equal(n, 0)
		n, _ = br.Read(make([]byte, 1))
		is.Equal(n, 0)
		is.True(!strings.Contains(s.Logs.String(), "tls_handshake_failed")) // a drain is no failure
	})
}

// --max-connections counts connections in their handshake: past it a new one is closed
// without a handshake; once a slot frees, connections are served again.
func TestTLSMaxConnections(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startTLSServer(t, engine, "--max-connections", "1", "--access-log=false")
		held, err := s.dialTLS(t, s.clientConfig())
		is.NoErr(err)
		_, err = s.dialTLS(t, s.clientConfig())
		is.True(err != nil) // over the cap: closed before any handshake
		held.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := s.dialTLS(t, s.clientConfig())
			if err == nil {
				c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
				res := testkit.ReadResponses(c, []string{"GET"}, false)
				is.NoErr(res.Err)
				is.Equal(res.Bodies[0], "Hello World")
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no connection served after the held one closed: %v", err)
			}
			time.Sleep(20 * time.Millisecond) // the held connection's goroutine is ending
		}
	})
}

// "ownhttp certs --dir D" makes a P-256 certificate for localhost, 127.0.0.1 and ::1 valid
// for about a year, with a key only its owner can read; a second call reuses both files, and
// a broken pair is replaced.
func TestCertsCommand(t *testing.T) {
	is := is.New(t)
	dir := filepath.Join(t.TempDir(), "nested", "certs")
	var out bytes.Buffer
	is.NoErr(run(context.Background(), []string{"certs", "--dir", dir}, &out, io.Discard, nil))
	certFile, keyFile := filepath.Join(dir, "dev-cert.pem"), filepath.Join(dir, "dev-key.pem")
	is.True(strings.Contains(out.String(), certFile))
	certPEM, err := os.ReadFile(certFile)
	is.NoErr(err)
	keyPEM, err := os.ReadFile(keyFile)
	is.NoErr(err)
	info, err := os.Stat(keyFile)
	is.NoErr(err)
	is.Equal(info.Mode().Perm(), os.FileMode(0o600))

	block, _ := pem.Decode(certPEM)
	is.True(block != nil)
	cert, err := x509.ParseCertificate(block.Bytes)
	is.NoErr(err)
	is.Equal(cert.DNSNames, []string{"localhost"})
	is.Equal(len(cert.IPAddresses), 2)
	is.True(cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")))
	is.True(cert.IPAddresses[1].Equal(net.ParseIP("::1")))
	is.Equal(cert.PublicKeyAlgorithm, x509.ECDSA)
	validity := cert.NotAfter.Sub(cert.NotBefore)
	is.True(validity > 360*24*time.Hour && validity < 370*24*time.Hour)
	_, err = tls.X509KeyPair(certPEM, keyPEM)
	is.NoErr(err)

	// A second call reuses the files.
	is.NoErr(run(context.Background(), []string{"certs", "--dir", dir}, io.Discard, io.Discard, nil))
	again, err := os.ReadFile(certFile)
	is.NoErr(err)
	is.Equal(again, certPEM)
	againKey, err := os.ReadFile(keyFile)
	is.NoErr(err)
	is.Equal(againKey, keyPEM)

	// Broken files are replaced by a fresh, matching pair.
	is.NoErr(os.WriteFile(certFile, []byte("not a certificate"), 0o644))
	is.NoErr(run(context.Background(), []string{"certs", "--dir", dir}, io.Discard, io.Discard, nil))
	fresh, err := os.ReadFile(certFile)
	is.NoErr(err)
	freshKey, err := os.ReadFile(keyFile)
	is.NoErr(err)
	is.True(!bytes.Equal(freshKey, keyPEM))
	_, err = tls.X509KeyPair(fresh, freshKey)
	is.NoErr(err)
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 2) // no temporary files left behind
}
