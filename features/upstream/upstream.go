// Package upstream is the server's outbound HTTP client: the one place that builds an
// http.Client, a Transport or a dialer. Two kinds of client share it:
//
//   - New: the guarded client for upstreams (the proxy, the scenario runner's target steps).
//     It checks every address it dials, after name resolution, in the dialer's Control hook:
//     link-local, cloud metadata, unspecified, multicast and reserved addresses are always
//     refused, loopback and private ones unless Config.AllowPrivate. The check is on the
//     socket about to connect, so a name that resolves (or rebinds) to a refused address is
//     refused too, and no packet leaves for it. It keeps idle connections to upstreams for
//     30s, at most 32 connections per upstream.
//   - Self: the client for requests the server sends to itself (replay, the playground's
//     manual requests, scenario steps to local paths). It dials the server's own listener,
//     so it has no guard, keeps no connection alive (nothing lingers to hold up a drain) and,
//     for https, checks no certificate: the peer is this very process, whose certificate
//     (often the self-signed development one) no client here trusts.
//
// Both never follow redirects (a 3xx is the result, with its Location), never use the
// environment's HTTP(S)_PROXY, never decompress (the body comes back exactly as sent), and cap
// the response body they read (Response.Truncated). Client.Do blocks: call it off the event
// loop (in conn.Exchange.Go or a goroutine of one's own). A Client is safe for concurrent use.
package upstream

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"time"
)

// Limits of the guarded client.
const (
	// DefaultMaxBody caps response bodies when Config.MaxBody is not set.
	DefaultMaxBody = 1 << 20
	// dialTimeout bounds one connection attempt (the request's context bounds it too).
	dialTimeout = 10 * time.Second
	// tlsHandshakeTimeout bounds a TLS handshake with an upstream.
	tlsHandshakeTimeout = 10 * time.Second
	// idleConnTimeout closes an idle upstream connection (and its goroutines).
	idleConnTimeout = 30 * time.Second
	// maxConnsPerHost bounds the connections to one upstream; further requests wait for one,
	// within their own timeout.
	maxConnsPerHost = 32
	// maxIdleConnsPerHost bounds the idle connections kept for one upstream.
	maxIdleConnsPerHost = 4
	// maxResponseHeaderBytes caps an upstream response head.
	maxResponseHeaderBytes = 64 << 10
	// selfMaxResponseHeaderBytes caps a response head from this server.
	selfMaxResponseHeaderBytes = 1 << 20
)

// Config configures the guarded client.
type Config struct {
	// AllowPrivate lets the client reach loopback and private addresses; link-local and cloud
	// metadata addresses are always refused.
	AllowPrivate bool
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// MaxBody caps a response body; a longer one is cut there (Response.Truncated). Zero or
	// less means DefaultMaxBody.
	MaxBody int64
}

// Client sends requests and reads their responses, body capped.
type Client struct {
	hc      *http.Client
	maxBody int64
}

// Response is a response as the client read it. Body is the caller's.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte // at most the client's cap
	Truncated bool   // the body went on past the cap
}

// New returns the guarded client for upstreams (see the package comment).
func New(cfg Config) *Client {
	d := &net.Dialer{
		Timeout:   dialTimeout,
		KeepAlive: 30 * time.Second,
		Resolver:  cfg.Resolver,
		Control:   dialGuard(cfg.AllowPrivate),
	}
	tr := &http.Transport{
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		MaxConnsPerHost:        maxConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	maxBody := cfg.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	return newClient(tr, 0, maxBody)
}

// Self returns a client for requests to this server's own listener (see the package
// comment): timeout bounds each whole exchange and the wait for a response head, maxBody caps
// the body read. https turns off the certificate check.
func Self(https bool, timeout time.Duration, maxBody int64) *Client {
	tr := &http.Transport{
		DisableKeepAlives:      true,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: selfMaxResponseHeaderBytes,
	}
	if https {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // our own listener
	}
	return newClient(tr, timeout, maxBody)
}

// newClient finishes a transport with what every client here shares: no proxy, no
// transparent decompression, no redirects followed.
func newClient(tr *http.Transport, timeout time.Duration, maxBody int64) *Client {
	tr.Proxy = nil
	tr.DisableCompression = true
	return &Client{maxBody: maxBody, hc: &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Do sends req and reads the response, its body up to the client's cap. It blocks until the
// body is read or req's context ends. An address the guard refused is a *ForbiddenError in
// the returned error's chain.
func (c *Client) Do(req *http.Request) (Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return Response{}, err
	}
	res := Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if int64(len(b)) > c.maxBody {
		res.Body, res.Truncated = b[:c.maxBody], true
	}
	return res, nil
}
