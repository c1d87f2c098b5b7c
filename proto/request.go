package proto

import (
	"bytes"
	"encoding/binary"
)

// Method identifies a request method this server knows (RFC 9110 §9). Methods outside this set
// are answered 501 (RFC 9110 §9.1: "An origin server that receives a request method that is
// unrecognized or not implemented SHOULD respond with the 501 status code").
type Method uint8

// Known methods. MethodUnknown is never returned by a successful parse.
const (
	MethodUnknown Method = iota
	MethodGET
	MethodHEAD
	MethodPOST
	MethodPUT
	MethodDELETE
	MethodOPTIONS
	MethodPATCH
	MethodTRACE
	MethodCONNECT
)

var methodNames = [...]string{"", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}

// String returns the method token, or "" for MethodUnknown (and any value that is not a
// known Method).
func (m Method) String() string {
	if int(m) >= len(methodNames) {
		return ""
	}
	return methodNames[m]
}

// LookupMethod maps a method token to its Method. Methods are case-sensitive (RFC 9110 §9.1).
func LookupMethod(b []byte) Method {
	switch len(b) {
	case 3:
		if string(b) == "GET" {
			return MethodGET
		}
		if string(b) == "PUT" {
			return MethodPUT
		}
	case 4:
		if string(b) == "HEAD" {
			return MethodHEAD
		}
		if string(b) == "POST" {
			return MethodPOST
		}
	case 5:
		if string(b) == "PATCH" {
			return MethodPATCH
		}
		if string(b) == "TRACE" {
			return MethodTRACE
		}
	case 6:
		if string(b) == "DELETE" {
			return MethodDELETE
		}
	case 7:
		if string(b) == "OPTIONS" {
			return MethodOPTIONS
		}
		if string(b) == "CONNECT" {
			return MethodCONNECT
		}
	}
	return MethodUnknown
}

// Header is one field line. Name and Value are views into the parsed buffer; Value has its
// surrounding whitespace removed. It is an alias of an unnamed struct type so that other
// packages that spell the same type (mock.Header) read a request's fields as they are,
// without a copy and without importing proto.
type Header = struct {
	Name, Value []byte
}

// Request is a parsed request head. Every []byte field is a view into the buffer passed to
// ParseHead and stays valid only while that buffer is unchanged. A Request is reused across
// requests on a connection: ParseHead resets it.
type Request struct {
	Method Method
	// Target is the raw request-target as received.
	Target []byte
	// Path is the target's path without the query (for absolute-form, the path after the
	// authority, "/" when empty; "*" for asterisk-form; the authority for CONNECT). Not
	// percent-decoded.
	Path []byte
	// Query is the part after the first '?', without it; nil when there is none.
	Query []byte
	// Host is the effective authority: the absolute-form (or CONNECT authority-form)
	// authority when the target has one, else the Host field (RFC 9112 §3.2.2). It is nil
	// when an HTTP/1.0 request has no Host, and empty for an empty Host field, which
	// RFC 9110 §7.2 allows.
	Host []byte
	// Minor is the HTTP/1.x minor version as received (a higher minor than 1 is served as 1.1).
	Minor uint8
	// Headers lists every field line in order.
	Headers []Header
	// ContentLength is the declared body length, or -1 when the message has no Content-Length.
	ContentLength int64
	// Chunked is set when the body uses the chunked transfer coding.
	Chunked bool
	// ConnClose and ConnKeepAlive report the "close" and "keep-alive" tokens of Connection.
	ConnClose, ConnKeepAlive bool
	// Expect100 is set for "Expect: 100-continue" on HTTP/1.1 (RFC 9110 §10.1.1 says to
	// ignore it on HTTP/1.0).
	Expect100 bool
	// HeadLen is the length of the head in the buffer, leading empty lines and the final
	// CRLF included: the body (if any) starts at HeadLen.
	HeadLen int
	// HeadStart is where the request line starts (after ignored leading empty lines).
	HeadStart int
}

// HTTP11 reports whether the request is HTTP/1.1 or a higher 1.x minor.
func (r *Request) HTTP11() bool { return r.Minor >= 1 }

// KeepAlive reports whether the client allows the connection to persist after this request
// (RFC 9112 §9.3): HTTP/1.1 unless "close" is listed, HTTP/1.0 only with "keep-alive".
func (r *Request) KeepAlive() bool {
	if r.ConnClose {
		return false
	}
	return r.HTTP11() || r.ConnKeepAlive
}

// HasBody reports whether a message body follows the head.
func (r *Request) HasBody() bool { return r.Chunked || r.ContentLength > 0 }

// Header returns the value of the first field named name (ASCII case-insensitive, in either
// argument), or nil.
func (r *Request) Header(name string) []byte {
	for i := range r.Headers {
		if foldEqual(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// foldEqual compares b and s ignoring ASCII case on both sides.
func foldEqual(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Limits bounds what the parser accepts. Zero fields take the defaults below.
type Limits struct {
	MaxHeaderBytes  int   // whole head, request line included (431 past it)
	MaxTargetLength int   // request-target octets (414 past it)
	MaxBodyBytes    int64 // declared or decoded body (413 past it)
	// LargeBody, when set, names the requests (by their parsed request line) whose body is
	// bounded by MaxLargeBodyBytes instead of MaxBodyBytes: an import route takes files far
	// larger than the other routes' bodies. It must not retain req.
	LargeBody         func(req *Request) bool
	MaxLargeBodyBytes int64
}

// Default limits.
const (
	DefaultMaxHeaderBytes  = 16 << 10
	DefaultMaxTargetLength = 8192
	DefaultMaxBodyBytes    = 512 << 10
)

// minFieldLine is the line length the cap on field lines assumes ("ab: c" and its CRLF is
// 7 bytes): the head's byte limit alone decides for any head whose field lines average at
// least this long.
const minFieldLine = 8

func (l *Limits) headerBytes() int {
	if l.MaxHeaderBytes > 0 {
		return l.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// HeaderBytes returns the effective head limit (MaxHeaderBytes, or its default when zero).
func (l *Limits) HeaderBytes() int { return l.headerBytes() }

func (l *Limits) targetLength() int {
	if l.MaxTargetLength > 0 {
		return l.MaxTargetLength
	}
	return DefaultMaxTargetLength
}

// BodyBytesFor returns the body limit of req: MaxLargeBodyBytes when LargeBody names it
// (and is larger), else BodyBytes.
func (l *Limits) BodyBytesFor(req *Request) int64 {
	if l.LargeBody != nil && l.MaxLargeBodyBytes > l.BodyBytes() && l.LargeBody(req) {
		return l.MaxLargeBodyBytes
	}
	return l.BodyBytes()
}

// BodyBytes returns the effective body limit.
func (l *Limits) BodyBytes() int64 {
	if l.MaxBodyBytes > 0 {
		return l.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// fieldLines returns the most field lines a head may have (431 past it): MaxHeaderBytes /
// minFieldLine, 2048 for the default 16 KiB. It bounds the parsed field list (48 bytes a
// line, so at most six times the head's size), which a connection keeps for its next
// request; the byte limit decides for every ordinary head.
func (l *Limits) fieldLines() int { return l.headerBytes() / minFieldLine }

// maxMethodLen bounds a method token: no method we implement is longer, so a longer run of
// token characters is refused with 501 without waiting for the rest of the line (RFC 9112 §3:
// "A server that receives a method longer than any that it implements SHOULD respond with a
// 501 (Not Implemented) status code").
const maxMethodLen = 32

// ParseHead parses one request head at the start of buf. It returns ErrNeedMore when buf does
// not yet hold a complete head (and no error is decided yet), a *Error when the request must be
// refused, or nil with req filled in and req.HeadLen set.
//
// The head is scanned once, left to right, and every error is reported at the first octet that
// decides it, so a prefix of a request yields either ErrNeedMore or exactly the error the whole
// request yields; feeding bytes one at a time gives the same answer as feeding them at once.
// Limits are positional too: an over-long request-target is refused with 414 as soon as it
// passes MaxTargetLength, and a head that has not ended within MaxHeaderBytes with 431, without
// waiting for the rest. Rules that need the whole head (Host, framing) are checked after its
// final CRLF.
func ParseHead(buf []byte, lim *Limits, req *Request) error {
	return parseHead(buf, lim, req, nil)
}

// ParseHeadFrom is ParseHead for a head that arrives in pieces: scan, kept by the caller
// between calls, records where an incomplete head's parse stopped (the start of the field
// line it could not finish), and the next call resumes there instead of at the head's
// start, so a head that trickles in is scanned about once, not once per piece. A head
// that parsed stays in scan: later calls (while its body arrives) restore it without
// scanning, until the caller's Reset, which must come before the next head. buf must
// begin with the same bytes as at the last call (they may have moved: scan holds offsets,
// not views). A refused head resets scan. The answer is always ParseHead's for the same
// buf.
func ParseHeadFrom(buf []byte, lim *Limits, req *Request, scan *HeadScan) error {
	if scan.parsed && scan.next <= len(buf) {
		scan.restore(buf, req)
		return nil
	}
	err := parseHead(buf, lim, req, scan)
	switch err {
	case nil:
		scan.save(buf, req, req.HeadLen, 0, nil, false, false)
		scan.parsed = true
	case ErrNeedMore:
	default:
		scan.Reset()
	}
	return err
}

// HeadScan is the resume point of an incomplete head (see ParseHeadFrom): the request-line
// and field-line results so far, as offsets into the head. The zero value starts a head.
type HeadScan struct {
	next         int     // where the first unparsed field line starts (0: nothing to resume), or the head's length
	parsed       bool    // the whole head parsed: req and the views are final
	req          Request // the scalar results (its views are nil)
	target       span
	path         span // pathSlash: Path is "/" (absolute-form without a path)
	query, host  span // hostSet: Host came from the target
	pathSlash    bool
	hostSet      bool
	hostCount    int
	hostField    span
	sawCL, sawTE bool
	fields       []fieldSpan
}

// Reset makes scan start a head.
func (s *HeadScan) Reset() {
	s.next, s.parsed = 0, false
	if cap(s.fields) > 256 {
		s.fields = nil // one huge head does not stay with the connection
	}
}

// Resumed reports where the next call resumes scanning (0: at the head's start); Parsed,
// that it scans nothing (the head is kept whole).
func (s *HeadScan) Resumed() int { return s.next }

// Parsed reports whether scan holds a whole parsed head.
func (s *HeadScan) Parsed() bool { return s.parsed }

// span is a view's place in the head: [off, off+n); off < 0 stands for a nil view.
type span struct{ off, n int32 }

type fieldSpan struct{ name, value span }

// spanOf returns the place of v, a view into buf (nil for a nil view). A view made by
// slicing buf keeps buf's end, so its offset is the difference of capacities.
func spanOf(buf, v []byte) span {
	if v == nil {
		return span{off: -1}
	}
	return span{off: int32(cap(buf) - cap(v)), n: int32(len(v))}
}

func (s span) in(buf []byte) []byte {
	if s.off < 0 {
		return nil
	}
	return buf[s.off : s.off+s.n] // keeping buf's end, as ParseHead's own views do (spanOf)
}

// save records the state at the start of the field line at next.
func (s *HeadScan) save(buf []byte, req *Request, next, hostCount int, hostField []byte, sawCL, sawTE bool) {
	s.next = next
	s.req = *req
	s.req.Target, s.req.Path, s.req.Query, s.req.Host, s.req.Headers = nil, nil, nil, nil, nil
	s.target, s.query = spanOf(buf, req.Target), spanOf(buf, req.Query)
	s.pathSlash = len(req.Path) > 0 && &req.Path[0] == &slash[0]
	if !s.pathSlash {
		s.path = spanOf(buf, req.Path)
	}
	s.hostSet = req.Host != nil
	s.host = spanOf(buf, req.Host)
	s.hostCount, s.hostField, s.sawCL, s.sawTE = hostCount, spanOf(buf, hostField), sawCL, sawTE
	s.fields = s.fields[:0]
	for _, h := range req.Headers {
		s.fields = append(s.fields, fieldSpan{spanOf(buf, h.Name), spanOf(buf, h.Value)})
	}
}

// restore puts the saved results back into req, as views into buf.
func (s *HeadScan) restore(buf []byte, req *Request) (hostCount int, hostField []byte, sawCL, sawTE bool) {
	hdrs := req.Headers[:0]
	*req = s.req
	req.Target, req.Query = s.target.in(buf), s.query.in(buf)
	if s.pathSlash {
		req.Path = slash
	} else {
		req.Path = s.path.in(buf)
	}
	if s.hostSet {
		req.Host = s.host.in(buf)
	}
	for _, f := range s.fields {
		hdrs = append(hdrs, Header{Name: f.name.in(buf), Value: f.value.in(buf)})
	}
	req.Headers = hdrs
	return s.hostCount, s.hostField.in(buf), s.sawCL, s.sawTE
}

func parseHead(buf []byte, lim *Limits, req *Request, scan *HeadScan) error {
	hdrs := req.Headers[:0]
	*req = Request{Headers: hdrs, ContentLength: -1}

	// Only the first MaxHeaderBytes octets can belong to an acceptable head: scan no further.
	// Running out of that window means the head is too large (431); running out of buf
	// before it means more bytes are needed.
	p, more := buf, ErrNeedMore
	if maxHead := lim.headerBytes(); len(p) >= maxHead {
		p, more = p[:maxHead], error(ErrHeadTooLarge)
	}

	var hostCount int
	var hostField []byte
	var sawCL, sawTE bool
	var err error
	maxHeaders := lim.fieldLines()
	i, ls := 0, 0
	if scan != nil && scan.next > 0 && scan.next <= len(p) {
		hostCount, hostField, sawCL, sawTE = scan.restore(buf, req)
		i = scan.next
		goto fields
	}

	if i, err = parseRequestLine(p, lim, req, more); err != nil {
		return err
	}

fields:
	// Field lines (RFC 9112 §5) up to the empty line that ends the head.
	for {
		ls = i
		if i == len(p) {
			goto incomplete
		}
		switch p[i] {
		case '\r':
			if i+1 == len(p) {
				goto incomplete
			}
			if p[i+1] != '\n' {
				return ErrBareCR // §2.2: a bare CR is invalid outside content
			}
			i += 2
			req.HeadLen = i
			return finishHead(req, lim, hostCount, hostField, sawCL, sawTE)
		case '\n':
			return ErrBareLF
		case ' ', '\t':
			// §5.2: obs-fold is rejected with 400; §2.2: so is whitespace between the
			// start-line and the first field line.
			return ErrObsFold
		}
		if len(req.Headers) >= maxHeaders {
			return ErrTooManyHeaders
		}
		// §5.1: field-name = token; no whitespace is allowed between the field name and
		// the colon (a server MUST reject it with 400); a line without a colon is invalid.
		ns := i
		i += tokenPrefix(p[i:])
		if i == len(p) {
			goto incomplete
		}
		if p[i] != ':' || i == ns {
			return ErrBadHeader
		}
		name := p[ns:i]
		i++
		// §5.5: field-value = *field-content (VCHAR, obs-text, SP, HTAB). CR is allowed only
		// as part of the line's CRLF (§2.2); NUL and other controls are refused.
		vs := i
		i += fieldValuePrefix(p[i:])
		if i == len(p) {
			goto incomplete
		}
		switch p[i] {
		case '\r':
		case '\n':
			return ErrBareLF
		default:
			return ErrBadHeader
		}
		value := trimOWS(p[vs:i]) // §5: OWS around the value is not part of it
		if i+1 == len(p) {
			goto incomplete
		}
		if p[i+1] != '\n' {
			return ErrBareCR
		}
		i += 2
		// Grow in place and set the fields one by one: appending a composite literal goes
		// through a temporary on the stack (a store-forwarding stall per field line).
		if nh := len(req.Headers); nh < cap(req.Headers) {
			req.Headers = req.Headers[:nh+1]
		} else {
			req.Headers = append(req.Headers, Header{})
		}
		h := &req.Headers[len(req.Headers)-1]
		h.Name, h.Value = name, value
		switch {
		case equalFold(name, "host"):
			hostCount++
			hostField = value
		case equalFold(name, "content-length"):
			n, ok := parseContentLength(value)
			if !ok {
				return ErrBadContentLength
			}
			// RFC 9112 §6.3 item 5: several Content-Length values that differ are an
			// unrecoverable error; identical repeats may be accepted (RFC 9110 §8.6).
			if sawCL && n != req.ContentLength {
				return ErrBadContentLength
			}
			sawCL = true
			req.ContentLength = n
		case equalFold(name, "transfer-encoding"):
			if req.Minor == 0 {
				// RFC 9112 §6.1: a server MUST treat a message with Transfer-Encoding
				// received in HTTP/1.0 as having faulty framing.
				return ErrTEOnHTTP10
			}
			sawTE = true
			if err := addTransferCodings(value, req); err != nil {
				return err
			}
		case equalFold(name, "connection"):
			scanConnection(value, req)
		case equalFold(name, "expect"):
			// RFC 9110 §10.1.1: 100-continue is the only expectation defined; a server
			// that receives another MAY answer 417. HTTP/1.0 expectations are ignored.
			if req.Minor == 0 {
				break
			}
			if err := scanExpect(value, req); err != nil {
				return err
			}
		}
	}
incomplete:
	// Out of bytes in the field line starting at ls: everything before it is decided.
	if scan != nil && more == ErrNeedMore {
		scan.save(buf, req, ls, hostCount, hostField, sawCL, sawTE)
	}
	return more
}

// parseRequestLine parses the empty lines a head may start with and its request line
// (RFC 9112 §3) at the start of p, filling req; it returns where the field lines start.
// more is what running out of p means (ErrNeedMore, or 431 at the head size limit).
func parseRequestLine(p []byte, lim *Limits, req *Request, more error) (int, error) {
	// RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received prior
	// to the request-line. Any number is ignored, within the head size limit.
	i := 0
	for i < len(p) && p[i] == '\r' {
		if i+1 == len(p) {
			return 0, more
		}
		if p[i+1] != '\n' {
			break // a CR that does not end an empty line: the request line refuses it
		}
		i += 2
	}
	req.HeadStart = i

	// Request line (RFC 9112 §3): method SP request-target SP HTTP-version CRLF.
	// §3.1: method = token, case-sensitive.
	ms := i
	for {
		if i == len(p) {
			return 0, more
		}
		c := p[i]
		if c == ' ' {
			break
		}
		if !tokenTable[c] {
			if c == '\r' || c == '\n' {
				return 0, ErrBadRequestLine // the line ends before the method does
			}
			return 0, ErrBadMethod
		}
		i++
		if i-ms > maxMethodLen {
			return 0, ErrUnknownMethod
		}
	}
	if i == ms {
		return 0, ErrBadRequestLine
	}
	// RFC 9110 §9.1: an unrecognized or unimplemented method SHOULD be answered 501.
	if req.Method = LookupMethod(p[ms:i]); req.Method == MethodUnknown {
		return 0, ErrUnknownMethod
	}
	i++

	// §3.2: request-target, a URI form: no whitespace, no control characters. §3 and
	// RFC 9110 §15.5.15: a target longer than the server wishes to parse MUST get 414.
	ts, maxTarget := i, lim.targetLength()
	for {
		if i == len(p) {
			return 0, more
		}
		c := p[i]
		if c == ' ' {
			break
		}
		if c < ' ' || c == 0x7f {
			if c == '\r' || c == '\n' {
				return 0, ErrBadRequestLine // no HTTP-version (HTTP/0.9 is not served)
			}
			return 0, ErrBadTarget
		}
		i++
		if i-ts > maxTarget {
			return 0, ErrTargetTooLong
		}
	}
	if i == ts {
		return 0, ErrBadTarget
	}
	req.Target = p[ts:i]
	if err := splitTarget(req.Target, req); err != nil {
		return 0, err
	}
	i++

	// §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive, then CRLF.
	vs := i
	for k := 0; k < len(versionPattern); k++ {
		if i == len(p) {
			return 0, more
		}
		if want, c := versionPattern[k], p[i]; want == 'D' && !isDigit(c) || want != 'D' && c != want {
			return 0, ErrBadVersion
		}
		i++
	}
	if i == len(p) {
		return 0, more
	}
	switch p[i] {
	case '\r':
	case '\n':
		return 0, ErrBareLF
	default:
		return 0, ErrBadVersion
	}
	if p[vs+5] != '1' {
		return 0, ErrVersion // RFC 9110 §15.6.6: 505 for an unsupported major version
	}
	req.Minor = p[vs+7] - '0' // RFC 9110 §6.2: a higher 1.x minor is served as 1.1
	if i+1 == len(p) {
		return 0, more
	}
	if p[i+1] != '\n' {
		return 0, ErrBareCR // RFC 9112 §2.2
	}
	i += 2

	return i, nil
}

// versionPattern is HTTP-version with D standing for a DIGIT.
const versionPattern = "HTTP/D.D"

// finishHead applies the rules that need the whole head: message framing (RFC 9112 §6.1,
// §6.3) and Host (§3.2).
func finishHead(req *Request, lim *Limits, hostCount int, hostField []byte, sawCL, sawTE bool) error {
	if sawTE {
		if sawCL {
			// §6.1/§6.3 item 3: Transfer-Encoding with Content-Length is a smuggling vector;
			// we refuse it outright (and the caller closes).
			return ErrCLAndTE
		}
		if !req.Chunked {
			return ErrBadTE // §6.3 item 4: chunked is not the final coding
		}
		req.ContentLength = -1
	}
	if req.ContentLength > lim.BodyBytesFor(req) {
		return ErrBodyTooLarge // RFC 9110 §15.5.14
	}

	// §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host, and to any
	// request with more than one Host field line or an invalid Host value. An empty Host
	// is valid: RFC 9110 §7.2 has clients send it when the target URI has no authority.
	if hostCount > 1 {
		return ErrDuplicateHost
	}
	if hostCount == 1 && len(hostField) > 0 && !validHost(hostField) {
		return ErrBadHost
	}
	if req.HTTP11() && hostCount == 0 {
		return ErrMissingHost
	}
	// §3.2.2: with an absolute-form target, the target's authority wins over Host.
	if req.Host == nil {
		req.Host = hostField
	}
	return nil
}

// splitTarget fills Path, Query and (for absolute-form) Host from the request-target
// (RFC 9112 §3.2: origin-form, absolute-form, authority-form, asterisk-form).
func splitTarget(t []byte, req *Request) error {
	switch {
	case req.Method == MethodCONNECT:
		// §3.2.3: CONNECT takes the authority-form, uri-host ":" port, and only it
		// (RFC 9110 §9.3.6); the authority-form is used for nothing else.
		c := bytes.LastIndexByte(t, ':')
		if c <= 0 || c == len(t)-1 || c < bytes.LastIndexByte(t, ']') || !validHost(t) {
			return ErrBadTarget
		}
		req.Path = t
		req.Host = t
	case t[0] == '/':
		req.Path, req.Query = cutQuery(t)
	case len(t) == 1 && t[0] == '*':
		if req.Method != MethodOPTIONS {
			return ErrBadTarget // §3.2.4: asterisk-form is only for OPTIONS
		}
		req.Path = t
	default:
		// §3.2.2 absolute-form: scheme "://" authority path-abempty [ "?" query ].
		n := 0
		switch {
		case hasPrefixFold(t, "http://"):
			n = 7
		case hasPrefixFold(t, "https://"):
			n = 8
		default:
			return ErrBadTarget
		}
		rest := t[n:]
		end := bytes.IndexAny(rest, "/?")
		if end < 0 {
			end = len(rest)
		}
		auth := rest[:end]
		if len(auth) == 0 || !validHost(auth) {
			return ErrBadTarget
		}
		req.Host = auth
		rest = rest[end:]
		if len(rest) == 0 || rest[0] == '?' {
			req.Path = slash
			if len(rest) > 0 {
				req.Query = rest[1:]
			}
		} else {
			req.Path, req.Query = cutQuery(rest)
		}
	}
	return nil
}

var slash = []byte("/")

func cutQuery(t []byte) (path, query []byte) {
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		return t[:q], t[q+1:]
	}
	return t, nil
}

// parseField splits one complete field line without its CRLF (RFC 9112 §5): field-name ":"
// OWS field-value OWS. ParseHead scans field lines itself; this serves the chunked trailer
// section and applies the same rules.
func parseField(fl []byte) (name, value []byte, err error) {
	if len(fl) == 0 {
		return nil, nil, ErrBadHeader
	}
	if fl[0] == ' ' || fl[0] == '\t' {
		return nil, nil, ErrObsFold // §5.2: obs-fold is rejected with 400
	}
	colon := bytes.IndexByte(fl, ':')
	if colon < 0 {
		return nil, nil, ErrBadHeader
	}
	name = fl[:colon]
	// §5.1: no whitespace is allowed between the field name and colon; a server MUST
	// reject such a message with 400. The name must be a token (no CTLs).
	if !isToken(name) {
		return nil, nil, ErrBadHeader
	}
	v := fl[colon+1:]
	for _, c := range v {
		// §5.5: field-value is VCHAR / obs-text / SP / HTAB; CR, LF and NUL are refused
		// (a bare CR is a framing hazard, §2.2).
		if !fieldValueTable[c] {
			if c == '\r' {
				return nil, nil, ErrBareCR
			}
			return nil, nil, ErrBadHeader
		}
	}
	return name, trimOWS(v), nil
}

// parseContentLength parses Content-Length = 1*DIGIT (RFC 9110 §8.6), accepting a list of
// identical values ("5, 5") as §8.6 allows. It refuses signs, spaces inside, empty values,
// differing list members and values that would overflow.
func parseContentLength(v []byte) (int64, bool) {
	var first int64 = -1
	for len(v) > 0 {
		var item []byte
		if c := bytes.IndexByte(v, ','); c >= 0 {
			item, v = trimOWS(v[:c]), v[c+1:]
			if len(v) == 0 {
				return 0, false
			}
		} else {
			item, v = trimOWS(v), nil
		}
		if len(item) == 0 || len(item) > 18 {
			return 0, false
		}
		var n int64
		for _, c := range item {
			if !isDigit(c) {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		if first >= 0 && n != first {
			return 0, false
		}
		first = n
	}
	return first, first >= 0
}

// addTransferCodings records the codings listed in one Transfer-Encoding field. Only a single
// chunked coding, last, is supported: RFC 9112 §6.1 says chunked MUST be final when present,
// and a server that receives a coding it does not understand responds 501 (§6.1).
func addTransferCodings(v []byte, req *Request) error {
	empty := true
	for len(v) > 0 {
		var item []byte
		if c := bytes.IndexByte(v, ','); c >= 0 {
			item, v = trimOWS(v[:c]), v[c+1:]
		} else {
			item, v = trimOWS(v), nil
		}
		if len(item) == 0 {
			continue
		}
		empty = false
		if req.Chunked {
			return ErrBadTE // something after chunked, or chunked twice
		}
		if semi := bytes.IndexByte(item, ';'); semi >= 0 {
			item = trimOWS(item[:semi])
		}
		if !equalFold(item, "chunked") {
			if !isToken(item) {
				return ErrBadTE
			}
			return ErrUnsupportedTE
		}
		req.Chunked = true
	}
	if empty {
		return ErrBadTE
	}
	return nil
}

// scanConnection reads the Connection token list (RFC 9110 §7.6.1); tokens are compared
// case-insensitively, never as substrings.
func scanConnection(v []byte, req *Request) {
	for len(v) > 0 {
		var item []byte
		if c := bytes.IndexByte(v, ','); c >= 0 {
			item, v = trimOWS(v[:c]), v[c+1:]
		} else {
			item, v = trimOWS(v), nil
		}
		switch {
		case equalFold(item, "close"):
			req.ConnClose = true
		case equalFold(item, "keep-alive"):
			req.ConnKeepAlive = true
		}
	}
}

// scanExpect reads the Expect list (RFC 9110 §10.1.1: Expect = #expectation, compared
// case-insensitively); empty elements are ignored (RFC 9110 §5.6.1), anything but
// 100-continue is refused with 417.
func scanExpect(v []byte, req *Request) error {
	for len(v) > 0 {
		var item []byte
		if c := bytes.IndexByte(v, ','); c >= 0 {
			item, v = trimOWS(v[:c]), v[c+1:]
		} else {
			item, v = trimOWS(v), nil
		}
		switch {
		case len(item) == 0:
		case equalFold(item, "100-continue"):
			req.Expect100 = true
		default:
			return ErrExpectation
		}
	}
	return nil
}

// validHost checks Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2).
func validHost(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	var port []byte
	if h[0] == '[' {
		end := bytes.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		for _, c := range h[1:end] {
			if !(isHex(c) || c == ':' || c == '.') {
				return false
			}
		}
		if end == 1 {
			return false
		}
		rest := h[end+1:]
		if len(rest) > 0 {
			if rest[0] != ':' {
				return false
			}
			port = rest[1:]
		}
	} else {
		// reg-name, then an optional ":" port: one pass, at most one colon.
		colon := -1
		for i, c := range h {
			if regNameTable[c] {
				continue
			}
			if c != ':' || colon >= 0 {
				return false
			}
			colon = i
		}
		if colon == 0 {
			return false
		}
		if colon > 0 {
			port = h[colon+1:]
		}
	}
	for _, c := range port {
		if !isDigit(c) {
			return false
		}
	}
	return len(port) <= 5
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares b with an ASCII-lower-case s, case-insensitively, without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// EqualFold reports whether b equals the lower-case ASCII string s, ignoring ASCII case.
func EqualFold(b []byte, s string) bool { return equalFold(b, s) }

func hasPrefixFold(b []byte, s string) bool { return len(b) >= len(s) && equalFold(b[:len(s)], s) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// tokenTable marks tchar (RFC 9110 §5.6.2).
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// fieldValueTable marks the octets allowed in a field value (RFC 9110 §5.5): VCHAR, obs-text,
// SP and HTAB.
var fieldValueTable = func() (t [256]bool) {
	for c := 0x20; c < 0x100; c++ {
		t[c] = c != 0x7f
	}
	t['\t'] = true
	return t
}()

// tokenPrefix returns how many leading octets of b are token characters (a leaf loop the
// compiler keeps in registers, unlike the same loop inside ParseHead).
func tokenPrefix[T string | []byte](b T) int {
	for i := 0; i < len(b); i++ {
		if !tokenTable[b[i]] {
			return i
		}
	}
	return len(b)
}

// fieldValuePrefix returns how many leading octets of b fieldValueTable allows. It checks
// eight octets at a time while none is a control or DEL (a field value's usual content), and
// one at a time from the first word that has one (a value's HTAB, or the CR that ends it).
func fieldValuePrefix(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	n := 0
	for {
		for len(b)-n >= 8 {
			w := binary.LittleEndian.Uint64(b[n:])
			del := w ^ (0x7f * ones)
			// Some octet is below 0x20, or some octet is 0x7f (the classic "has less
			// than" test; octets of obs-text, 0x80 and up, never set it).
			if ((w-0x20*ones)&^w|(del-ones)&^del)&highs != 0 {
				break
			}
			n += 8
		}
		end := min(n+8, len(b))
		for ; n < end; n++ {
			if !fieldValueTable[b[n]] {
				return n
			}
		}
		if n == len(b) {
			return n
		}
	}
}

func isToken(b []byte) bool { return len(b) > 0 && tokenPrefix(b) == len(b) }

// IsToken reports whether s is a non-empty RFC 9110 token (a valid field name or method).
func IsToken(s string) bool { return len(s) > 0 && tokenPrefix(s) == len(s) }

// regNameTable marks the octets of a Host's reg-name (RFC 3986 §3.2.2: unreserved,
// sub-delims, and '%' of pct-encoded).
var regNameTable = func() (t [256]bool) {
	for c := range t {
		t[c] = tokenTable[c] && c != '^' && c != '`' && c != '|' && c != '#'
	}
	for _, c := range "(),;=%" {
		t[c] = true
	}
	return t
}()
