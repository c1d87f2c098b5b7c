package features

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/state"
)

// Unit tests of the proxy core. Every connection they make goes to 127.0.0.1; addresses
// elsewhere are only classified, or refused by the guard before connect.

// pxDNS answers DNS queries arriving over a stream connection (2-byte length prefix, as
// the Go resolver speaks to a non-packet conn) from a fixed table: A and AAAA records by
// name; unknown names get NXDOMAIN. It returns when c is closed.
func pxDNS(c net.Conn, table map[string][]netip.Addr) {
	defer c.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp := pxDNSAnswer(q, table)
		if resp == nil {
			return
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
			return
		}
	}
}

func pxDNSAnswer(q []byte, table map[string][]netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	addrs, known := table[strings.ToLower(strings.Join(labels, "."))]
	var rdata [][]byte
	for _, ip := range addrs {
		if ip.Is4() && qtype == 1 || ip.Is6() && qtype == 28 {
			rdata = append(rdata, ip.AsSlice())
		}
	}
	resp := append([]byte(nil), q[0], q[1], 0x81, 0x80) // id; response, recursion desired and available
	if !known {
		resp[3] = 0x83 // NXDOMAIN
	}
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
	resp = append(resp, 0, 0, 0, 0)
	resp = append(resp, question...)
	for _, d := range rdata {
		resp = append(resp, 0xc0, 0x0c) // the name of the question
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = append(resp, 0, 1, 0, 0, 0, 60) // class IN, TTL 60
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(d)))
		resp = append(resp, d...)
	}
	return resp
}

// pxResolver resolves names from table only: every query goes to pxDNS over an
// in-memory pipe, never to the network.
func pxResolver(table map[string][]netip.Addr) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go pxDNS(server, table)
		return client, nil
	}}
}

// pxApp is an App for proxyDo alone (no state actor) with the given resolver.
func pxApp(allowPrivate bool, resolver *net.Resolver, maxBody int64) *App {
	a := New(Config{ProxyAllowPrivate: allowPrivate, MaxProxyBodyBytes: maxBody})
	a.proxy.resolver = resolver
	return a
}

// pxFixture is a local upstream on 127.0.0.1 answering "hello" with the request's path.
func pxFixture(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Host", r.Host)
		w.Header().Set("X-Seen-Via", r.Header.Get("Via"))
		fmt.Fprintf(w, "hello %s", r.URL.RequestURI())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func pxTarget(baseURL string) *state.Target {
	return &state.Target{ID: "t1", Name: "t", BaseURL: baseURL, Enabled: true, TimeoutMS: 5000}
}

// A host name is checked on the address it resolves to, at dial time: a name resolving to a
// metadata address is refused (no packet leaves: the guard runs before connect), and a name
// resolving to 127.0.0.1 reaches the local fixture only with allowPrivate.
func TestProxyDoResolvedName(t *testing.T) {
	up := pxFixture(t)
	port := up.Listener.Addr().(*net.TCPAddr).Port
	table := map[string][]netip.Addr{
		"metadata.test":  {netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")},
		"metadata4.test": {netip.MustParseAddr("169.254.169.254")},
		"rebind.test":    {netip.MustParseAddr("::ffff:169.254.169.254")},
		"alibaba.test":   {netip.MustParseAddr("100.100.100.200")},
		"zero.test":      {netip.MustParseAddr("0.0.0.0")},
		"fixture.test":   {netip.MustParseAddr("127.0.0.1")},
	}
	tests := []struct {
		host         string
		allowPrivate bool
		wantStatus   int    // 0: refused
		wantIn       string // in the refusal message
	}{
		{"metadata.test", true, 0, "cloud metadata"},
		{"metadata4.test", false, 0, "169.254.169.254"},
		{"metadata4.test", true, 0, "cloud metadata"},
		{"rebind.test", true, 0, "cloud metadata"},
		{"alibaba.test", true, 0, "100.100.100.200"},
		{"zero.test", true, 0, "unspecified"},
		{"fixture.test", false, 0, "loopback"},
		{"fixture.test", true, 200, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/private=%v", tt.host, tt.allowPrivate), func(t *testing.T) {
			is := is.New(t)
			a := pxApp(tt.allowPrivate, pxResolver(table), 0)
			res, err := a.proxyDo(context.Background(), pxTarget(fmt.Sprintf("http://%s:%d", tt.host, port)),
				"GET", "/x?y=1", nil, nil, 0)
			if tt.wantStatus != 0 {
				is.NoErr(err)
				is.Equal(res.Status, tt.wantStatus)
				is.Equal(string(res.Body), "hello /x?y=1")
				is.Equal(res.Header.Get("X-Seen-Host"), fmt.Sprintf("fixture.test:%d", port)) // the target's host
				return
			}
			var se *state.Error
			is.True(errors.As(err, &se))
			is.Equal(se.Kind, state.KindForbidden)
			is.Equal(se.Code, "target_forbidden")
			is.True(strings.Contains(se.Message, tt.wantIn))
			is.Equal(res, proxyResult{}) // nothing to report: nothing was sent
		})
	}
}

// An unknown name is a 502 report (DNS failure), resolved by the fake resolver only.
func TestProxyDoUnknownName(t *testing.T) {
	is := is.New(t)
	a := pxApp(true, pxResolver(nil), 0)
	res, err := a.proxyDo(context.Background(), pxTarget("http://nowhere.test:1"), "GET", "/", nil, nil, 0)
	var se *state.Error
	is.True(errors.As(err, &se))
	is.Equal(se.Kind, state.KindUpstream)
	is.Equal(se.Code, "proxy_error")
	is.Equal(res.Status, 502)
	is.Equal(res.Failure, se)
	is.Equal(res.Header.Get("Content-Type"), "application/json")
	is.True(strings.HasPrefix(string(res.Body), `{"error":{"code":"proxy_error","message":`))
	is.Equal(len(res.TraceID), 16)
}

// Refusals before anything is sent: no target, a disabled target, a bad method or target.
func TestProxyDoRefusals(t *testing.T) {
	up := pxFixture(t)
	a := pxApp(true, nil, 0)
	disabled := pxTarget(up.URL)
	disabled.Enabled = false
	tests := []struct {
		name    string
		t       *state.Target
		method  string
		target  string
		kind    state.Kind
		code    string
		message string
	}{
		{"no target", nil, "GET", "/", state.KindNotFound, "target_not_found", "target not found"},
		{"disabled", disabled, "GET", "/", state.KindConflict, "target_disabled", "target is disabled"},
		{"method not a token", pxTarget(up.URL), "G T", "/", state.KindInvalid, "invalid_proxy_request", "invalid method"},
		{"relative target", pxTarget(up.URL), "GET", "x", state.KindInvalid, "invalid_proxy_request", "path must start with /"},
		{"bad escape", pxTarget(up.URL), "GET", "/%zz", state.KindInvalid, "invalid_proxy_request", "path is not a valid request target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			res, err := a.proxyDo(context.Background(), tt.t, tt.method, tt.target, nil, nil, 0)
			var se *state.Error
			is.True(errors.As(err, &se))
			is.Equal(se.Kind, tt.kind)
			is.Equal(se.Code, tt.code)
			is.Equal(se.Message, tt.message)
			is.Equal(res, proxyResult{})
		})
	}
}

// Upstream failures are reports and errors at once: a refused connection is 502 proxy_error,
// a slow upstream 504 proxy_timeout; a canceled caller is a plain error.
func TestProxyDoUpstreamFailures(t *testing.T) {
	is := is.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	closed := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // bounded: returns when the proxy gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(release)

	a := pxApp(true, nil, 0)
	res, err := a.proxyDo(context.Background(), pxTarget(closed), "GET", "/", nil, nil, 0)
	is.Equal(state.KindOf(err), state.KindUpstream)
	is.Equal(res.Status, 502)
	is.True(res.Failure != nil)

	res, err = a.proxyDo(context.Background(), pxTarget(slow.URL), "POST", "/slow", nil, []byte("x"), 100*time.Millisecond)
	is.Equal(state.KindOf(err), state.KindTimeout)
	is.Equal(res.Status, 504)
	is.Equal(res.Failure.Code, "proxy_timeout")
	is.True(strings.Contains(res.Failure.Message, "100ms"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = a.proxyDo(ctx, pxTarget(slow.URL), "GET", "/", nil, nil, 0)
	is.Equal(state.KindOf(err), state.KindUnavailable)
	is.Equal(res, proxyResult{})
}

// Hop-by-hop and framing fields never reach the upstream, nor fields named by Connection;
// the rest does, and the Host is the target's.
func TestProxyDoHeaders(t *testing.T) {
	is := is.New(t)
	var got http.Header
	var gotHost string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotHost = r.Header.Clone(), r.Host
	}))
	defer up.Close()
	a := pxApp(true, nil, 0)
	h := http.Header{
		"X-Custom":            {"1", "2"},
		"Connection":          {"close, X-Secret-Hop"},
		"X-Secret-Hop":        {"s"},
		"Keep-Alive":          {"timeout=5"},
		"Te":                  {"trailers"},
		"Trailer":             {"X-T"},
		"Upgrade":             {"websocket"},
		"Proxy-Authorization": {"Basic eA=="},
		"Proxy-Connection":    {"keep-alive"},
		"Host":                {"evil.example"},
		"Content-Length":      {"999"},
		"Transfer-Encoding":   {"chunked"},
		"X-Request-Id":        {"mine"},
		"Authorization":       {"Bearer upstream-token"},
	}
	res, err := a.proxyDo(context.Background(), pxTarget(up.URL), "POST", "/h", h, []byte("abc"), 0)
	is.NoErr(err)
	is.Equal(res.Status, 200)
	is.Equal(gotHost, strings.TrimPrefix(up.URL, "http://"))
	is.Equal(got["X-Custom"], []string{"1", "2"})
	is.Equal(got.Get("Authorization"), "Bearer upstream-token") // end-to-end fields pass
	is.Equal(got.Get("X-Request-Id"), "mine")                   // the caller's id wins
	is.Equal(got.Get("Via"), "1.1 ownhttp")
	is.Equal(got.Get("Content-Length"), "3") // net/http's own framing
	for _, name := range []string{"X-Secret-Hop", "Keep-Alive", "Te", "Trailer", "Upgrade",
		"Proxy-Authorization", "Proxy-Connection", "Transfer-Encoding"} {
		is.Equal(got[name], []string(nil)) // dropped
	}

	_, err = a.proxyDo(context.Background(), pxTarget(up.URL), "GET", "/h", nil, nil, 0)
	is.NoErr(err)
	is.Equal(len(got.Get("X-Request-Id")), 16) // our trace id when the caller has none
}

// The request target is appended to base_url without its trailing "/", encoded so it can
// never break the request line or move the request to another host.
func TestUpstreamURL(t *testing.T) {
	tests := []struct {
		base, target string
		want         string // "" for an error
	}{
		{"http://127.0.0.1:9000", "/", "http://127.0.0.1:9000/"},
		{"http://127.0.0.1:9000/", "/hello?a=1&b=2", "http://127.0.0.1:9000/hello?a=1&b=2"},
		{"http://h/api//", "/v1", "http://h/api/v1"},
		{"https://h:8443/base", "/x/y", "https://h:8443/base/x/y"},
		{"http://[::1]:80", "/", "http://[::1]:80/"},
		{"http://h", "/a b", "http://h/a%20b"},
		{"http://h", "/a#frag", "http://h/a%23frag"},
		{"http://h", "/é", "http://h/%C3%A9"},
		{"http://h", "/a%2Fb", "http://h/a%2Fb"},
	}
	for _, tt := range tests {
		t.Run(tt.base+tt.target, func(t *testing.T) {
			is := is.New(t)
			u, err := upstreamURL(tt.base, tt.target)
			is.NoErr(err)
			is.Equal(u.String(), tt.want)
		})
	}
}

// Hostile request targets stay on the target's host, or are refused.
func TestUpstreamURLHostile(t *testing.T) {
	tests := []struct {
		target  string
		wantErr bool
	}{
		{"//evil.example/x", false},
		{"/@evil.example/", false},
		{"/\\evil.example", false},
		{"/\r\nHost: evil", false},
		{"/%zz", true},
		{"evil.example/", true},
		{"", true},
		{"http://evil.example/", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.target), func(t *testing.T) {
			is := is.New(t)
			u, err := upstreamURL("http://127.0.0.1:9000", tt.target)
			if tt.wantErr {
				is.Equal(state.KindOf(err), state.KindInvalid)
				return
			}
			is.NoErr(err)
			is.Equal(u.Host, "127.0.0.1:9000")
			is.True(!strings.ContainsAny(u.RequestURI(), "\r\n "))
			back, err := url.ParseRequestURI(u.RequestURI())
			is.NoErr(err)
			is.Equal(back.Host, "") // origin-form: no host of its own
		})
	}
}

// The proxy endpoint's payload validation: the spec's messages, and our bounds.
func TestDecodeProxyRequest(t *testing.T) {
	is := is.New(t)
	in, err := decodeProxyRequest([]byte(`{"target_id":"t1"}`))
	is.NoErr(err)
	is.Equal(in.method, "GET")
	is.Equal(in.path, "/")
	is.Equal(len(in.header), 0)
	is.Equal(len(in.body), 0)
	is.Equal(in.timeout, time.Duration(0)) // the target's

	in, err = decodeProxyRequest([]byte(`{"target_id":"t1","method":"patch","path":"/p?q=1",
		"headers":{"x-a":"1","X-B":""},"body":"hi","timeout_ms":250}`))
	is.NoErr(err)
	is.Equal(in.method, "PATCH")
	is.Equal(in.path, "/p?q=1")
	is.Equal(in.header, http.Header{"X-A": {"1"}, "X-B": {""}})
	is.Equal(string(in.body), "hi")
	is.Equal(in.timeout, 250*time.Millisecond)

	in, err = decodeProxyRequest([]byte(`{"target_id":"t1","method":null,"path":null,"headers":null,"body":null,"timeout_ms":null}`))
	is.NoErr(err)
	is.Equal(in.method, "GET")
	is.Equal(in.path, "/")
}

func TestDecodeProxyRequestHostile(t *testing.T) {
	tests := []struct {
		payload string
		code    string
		message string
	}{
		{``, "invalid_proxy_request", "target_id is required"},
		{`{}`, "invalid_proxy_request", "target_id is required"},
		{`{"target_id":""}`, "invalid_proxy_request", "target_id is required"},
		{`{"target_id":"  "}`, "invalid_proxy_request", "target_id is required"},
		{`{"target_id":7}`, "invalid_proxy_request", "target_id is required"},
		{`{"target_id":"t","method":"HEAD"}`, "invalid_proxy_request", "invalid method"},
		{`{"target_id":"t","method":"CONNECT"}`, "invalid_proxy_request", "invalid method"},
		{`{"target_id":"t","method":"G\r\nET"}`, "invalid_proxy_request", "invalid method"},
		{`{"target_id":"t","method":1}`, "invalid_proxy_request", "invalid method"},
		{`{"target_id":"t","path":"x"}`, "invalid_proxy_request", "path must start with /"},
		{`{"target_id":"t","path":""}`, "invalid_proxy_request", "path must start with /"},
		{`{"target_id":"t","path":["/"]}`, "invalid_proxy_request", "path must start with /"},
		{`{"target_id":"t","headers":[]}`, "invalid_proxy_request", "headers must be an object"},
		{`{"target_id":"t","headers":"x"}`, "invalid_proxy_request", "headers must be an object"},
		{`{"target_id":"t","headers":{"a":1}}`, "invalid_proxy_request", "headers must be an object of strings"},
		{`{"target_id":"t","headers":{"a b":"1"}}`, "invalid_proxy_request", "header names must be tokens (RFC 9110)"},
		{`{"target_id":"t","headers":{"":"1"}}`, "invalid_proxy_request", "header names must be tokens (RFC 9110)"},
		{`{"target_id":"t","headers":{"a":"1\r\nb: 2"}}`, "invalid_proxy_request", "header values must not contain CR, LF, NUL or other control characters"},
		{`{"target_id":"t","body":{}}`, "invalid_proxy_request", "body must be a string"},
		{`{"target_id":"t","timeout_ms":0}`, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
		{`{"target_id":"t","timeout_ms":60001}`, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
		{`{"target_id":"t","timeout_ms":-5}`, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
		{`{"target_id":"t","timeout_ms":1.5}`, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
		{`{"target_id":"t","timeout_ms":"abc"}`, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
		{`{"target_id":"t","timeout_ms":1e400}`, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
		{`{"target_id":"t","timeout_ms":99999999999999999999999}`, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
		{`[]`, "invalid_json", ""},
		{`{"target_id":`, "invalid_json", ""},
		{"\xff", "invalid_json", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.payload), func(t *testing.T) {
			is := is.New(t)
			_, err := decodeProxyRequest([]byte(tt.payload))
			status, code, msg := statusOf(err)
			is.Equal(status, 400)
			is.Equal(code, tt.code)
			if tt.message != "" {
				is.Equal(msg, tt.message)
			}
		})
	}
}
