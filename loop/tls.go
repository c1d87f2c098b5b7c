package loop

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// tlsEngine serves HTTPS: a blocking listener whose every accepted connection gets its own
// goroutine, which runs the TLS handshake (bounded by the handshake timeout) and then drives
// the shared conn code through the same blocking driver as the pool engine (blockingConn).
//
// A handshake therefore never blocks the event loops or any other client: a silent client
// costs its socket and its goroutine until the handshake timeout closes it. TLS connections
// are not limited by Config.Workers: each already has its own goroutine, and the handshake
// is the expensive part. Config.MaxConnections counts connections still in their handshake;
// past it a new connection is closed at once (no 503 is possible before a handshake, and
// completing one only to refuse it would spend CPU on exactly the load being shed); while
// draining, the same.
type tlsEngine struct {
	e       *blockingEngine
	config  *tls.Config
	timeout time.Duration
	// ctx ends every handshake in progress: canceled by Drain and Stop.
	ctx    context.Context
	cancel context.CancelFunc
}

// ListenTLS opens the TLS engine on cfg.Host:cfg.Port (issue #3): every accepted connection is
// handed to its own goroutine, which runs the handshake (bounded by handshakeTimeout) and then
// drives the shared conn code, so a handshake never blocks the reactor or another client.
// Failed handshakes are reported to cfg.HandshakeFailed. Name returns "tls".
func ListenTLS(cfg Config, tlsConfig *tls.Config, handshakeTimeout time.Duration) (Engine, error) {
	if tlsConfig == nil {
		return nil, errors.New("tls: no configuration")
	}
	if handshakeTimeout <= 0 {
		handshakeTimeout = 5 * time.Second
	}
	cfg.defaults()
	e, err := listenBlocking(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &tlsEngine{e: e, config: tlsConfig, timeout: handshakeTimeout, ctx: ctx, cancel: cancel}, nil
}

// Name returns "tls".
func (t *tlsEngine) Name() string { return "tls" }

// Addr returns the bound address.
func (t *tlsEngine) Addr() netip.AddrPort { return t.e.addr }

// Stats returns live gauges.
func (t *tlsEngine) Stats() Stats { return t.e.stats() }

// Serve accepts until the listener closes, then waits for every connection (and handshake)
// to end.
func (t *tlsEngine) Serve() error {
	e := t.e
	return e.serve(func(nc *net.TCPConn, now time.Time) {
		if e.isDraining() || e.active.Load() >= int64(e.cfg.MaxConnections) {
			e.rejected.Add(1)
			nc.Close()
			return
		}
		e.active.Add(1)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			t.handshakeAndServe(nc)
		}()
	})
}

// Drain stops accepting, ends handshakes in progress, closes idle connections and lets
// in-flight requests finish. It never blocks.
func (t *tlsEngine) Drain() {
	t.cancel()
	t.e.drain()
}

// Stop closes the listener, every handshake and every connection now. It never blocks.
func (t *tlsEngine) Stop() {
	t.cancel()
	t.e.stop()
}

// handshakeAndServe runs on the connection's own goroutine: the handshake, then the shared
// blocking driver. active was counted by the accept loop.
func (t *tlsEngine) handshakeAndServe(nc *net.TCPConn) {
	e := t.e
	nc.SetNoDelay(true)
	tc := tls.Server(nc, t.config)
	ctx, cancel := context.WithTimeout(t.ctx, t.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		if t.ctx.Err() == nil { // not a handshake cut short by Drain or Stop
			t.handshakeFailed(nc, err)
		}
		nc.Close()
		e.active.Add(-1)
		return
	}
	bc := e.newConn(nc, tc, e.cfg.Now())
	if !e.register(bc) {
		nc.Close() // drained or stopped during the handshake
		e.active.Add(-1)
		return
	}
	bc.serve()
}

// handshakeFailed reports a failed handshake and, when the client spoke plain HTTP, tells
// it so in plain HTTP before the caller closes the socket.
func (t *tlsEngine) handshakeFailed(nc *net.TCPConn, err error) {
	remote, _ := netip.ParseAddrPort(nc.RemoteAddr().String())
	he := &HandshakeError{Remote: remote, Reason: "protocol", Err: err}
	var rh tls.RecordHeaderError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		he.Reason = "timeout"
	case errors.As(err, &rh) && rh.Conn != nil && looksLikeHTTP(rh.RecordHeader):
		he.Reason = "plain_http"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		he.Reason = "eof"
	}
	// Reported before the client hears anything, so whoever sees the close can see the count.
	if t.e.cfg.HandshakeFailed != nil {
		t.e.cfg.HandshakeFailed(he)
	}
	if he.Reason == "plain_http" {
		answerPlainHTTP(nc, min(t.timeout, time.Second))
	}
}

// HandshakeError is what Config.HandshakeFailed receives: who failed to complete a TLS
// handshake, a short reason for logs and counters, and the error from crypto/tls.
type HandshakeError struct {
	Remote netip.AddrPort
	// Reason is "timeout" (the handshake timeout passed), "plain_http" (the client spoke
	// HTTP without TLS; it was answered 400), "eof" (the client hung up) or "protocol"
	// (anything crypto/tls refused: an old version, no common cipher suite or ALPN protocol,
	// a malformed message).
	Reason string
	Err    error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("tls handshake with %s failed (%s): %v", e.Remote, e.Reason, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// looksLikeHTTP reports whether the first five bytes of a connection are the start of a
// plain HTTP request line rather than a TLS record.
func looksLikeHTTP(hdr [5]byte) bool {
	for _, m := range [...]string{"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ",
		"CONNECT ", "TRACE "} {
		if m[:min(len(m), 5)] == string(hdr[:min(len(m), 5)]) {
			return true
		}
	}
	return false
}

const plainHTTPAnswer = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 48\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

// answerPlainHTTP tells a plain-HTTP client on the TLS port what went wrong, then closes the
// sending side and drains what it still sends for at most linger, so it reads the answer
// rather than a reset.
func answerPlainHTTP(nc *net.TCPConn, linger time.Duration) {
	deadline := time.Now().Add(linger)
	nc.SetDeadline(deadline)
	if _, err := io.WriteString(nc, plainHTTPAnswer); err != nil {
		return
	}
	nc.CloseWrite()
	io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
}

// modernCipherSuites are the TLS 1.2 suites offered: ECDHE key exchange with an AEAD
// (AES-GCM or ChaCha20-Poly1305), both for ECDSA and RSA certificates. TLS 1.3 suites are
// fixed by crypto/tls and all qualify.
var modernCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerTLSConfig loads a certificate pair into a server configuration: TLS 1.2 or newer,
// modern AEAD cipher suites, ALPN http/1.1 — or http/1.0 for a client that offers only that,
// since HTTP/1.0 is served as on the plain port. No HTTP/2: a client that offers only h2 is
// refused in the handshake; one that offers h2 and http/1.1 gets http/1.1.
func ServerTLSConfig(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: modernCipherSuites,
		NextProtos:   []string{"http/1.1", "http/1.0"}, // in order of preference
	}, nil
}
