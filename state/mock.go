package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mock is a stored mock route. Its JSON form has exactly the fields id,
// method, path_pattern, status, headers, body, content_type, created_at and
// updated_at.
//
// Rules (spec §4.1, with our fixes):
//   - method: GET, POST, PUT, PATCH or DELETE (PATCH is our addition), any
//     case in, upper case stored. HEAD requests match GET mocks.
//   - path_pattern: see the pattern syntax in pattern.go (exact, {name}
//     segments, a final /*); a pattern that could match any reserved path is
//     refused with KindForbidden.
//   - status: 200..599 (1xx is refused; "status must be between 200 and 599").
//   - headers: RFC 9110 token names, values without control characters other
//     than HTAB; Content-Length, Transfer-Encoding and Connection are refused;
//     names may not repeat case-insensitively. A Content-Type header (any
//     case) wins over content_type and is moved there: the stored headers
//     never hold a Content-Type, so exactly one is ever sent.
//   - body: a string kept verbatim, or any other JSON value kept as its
//     compact JSON text; at most MaxMockBodyBytes.
//   - 204 and 304: the body is stored and shown by the API, but the response
//     has neither body nor Content-Type (NoBody).
//
// A *Mock reachable from a Snapshot, and every Mock returned by the Actor, is
// immutable and shared: never modify it, its Headers map or its byte slices.
// HeaderLines and BodyBytes stay valid forever (they are never reused).
type Mock struct {
	ID          string            `json:"id"`
	Method      string            `json:"method"`
	PathPattern string            `json:"path_pattern"`
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers"` // never nil
	Body        string            `json:"body"`
	ContentType string            `json:"content_type"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`

	// HeaderLines are the response header lines this mock contributes, each
	// ending in CRLF: "Content-Type: …" first (absent when NoBody), then the
	// custom headers sorted by lower-cased name, with the name spelled as given.
	HeaderLines []byte `json:"-"`
	// BodyBytes is the response body (nil when NoBody).
	BodyBytes []byte `json:"-"`
	// NoBody is set for 204 and 304 mocks: the stored body is kept and
	// returned by the API, but the response carries no body and no
	// Content-Type.
	NoBody bool `json:"-"`
	// RouteKey is the metrics route key of this mock's responses, method and
	// pattern ("GET /users/{id}"), computed once so serving needs no
	// concatenation.
	RouteKey string `json:"-"`

	pat *pattern // compiled path_pattern
	seq uint64   // creation order, for precedence ties
}

// MockInput is a decoded, type-checked mock payload whose values are not yet
// validated. A nil field (or HasHeaders false) means the key was absent or
// null: on create the default applies, on update the old value is kept. A null
// "headers" sets HasHeaders with a nil map, meaning "no headers".
type MockInput struct {
	ID          *string
	Method      *string
	PathPattern *string
	Status      *int
	Headers     map[string]string
	HasHeaders  bool
	Body        *string
	ContentType *string
}

// The messages of invalid_json errors, shared by every JSON endpoint.
const (
	msgNotUTF8    = "body must be utf-8"
	msgNotJSON    = "body must be valid json"
	msgNotObject  = "top-level json must be an object"
	msgMethod     = "method must be one of GET, POST, PUT, PATCH, DELETE"
	msgPathSlash  = "path_pattern must start with /"
	msgReserved   = "path_pattern is reserved"
	msgStatusInt  = "status must be an integer"
	msgStatusRng  = "status must be between 200 and 599"
	msgHeadersObj = "headers must be an object"
	msgHeaderStr  = "header values must be strings"
	msgBodySize   = "body exceeds max mock body size"
	msgCT         = "content_type must be a non-empty string"
	msgDupPath    = "method/path already exists"
	msgDupID      = "mock id already exists"
	msgLimit      = "max mock routes reached"
	msgMockNF     = "mock not found"
)

// Limits on mock fields (ours; the spec has none).
const (
	maxPatternLen    = 2048
	maxIDLen         = 64
	maxMockHeaders   = 64
	maxHeaderNameLen = 256
	maxHeaderValLen  = 8192
)

// DecodeJSONObject decodes a request body the way every JSON endpoint does:
// an empty (or all-whitespace) body is {}; invalid UTF-8, invalid JSON or a
// non-object top level is a KindInvalid invalid_json error with the spec's
// message. The returned values alias nothing in body.
func DecodeJSONObject(body []byte) (map[string]json.RawMessage, *Error) {
	if !utf8.Valid(body) {
		return nil, newErr(KindInvalid, CodeInvalidJSON, msgNotUTF8)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if !json.Valid(trimmed) {
		return nil, newErr(KindInvalid, CodeInvalidJSON, msgNotJSON)
	}
	if trimmed[0] != '{' {
		return nil, newErr(KindInvalid, CodeInvalidJSON, msgNotObject)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, newErr(KindInvalid, CodeInvalidJSON, msgNotJSON)
	}
	return obj, nil
}

// DecodeMockInput decodes a POST or PUT /api/mocks body. Unknown keys are
// ignored. Every wrong JSON type is a KindInvalid error (invalid_json for
// the body as a whole, invalid_mock for a field); it never panics.
//
// Types accepted: id string; method string; path_pattern string; status an
// integral number or a string holding a decimal integer (the original used
// int()); headers an object of strings, or null for none; body any JSON value
// (a string is kept verbatim, anything else as its compact JSON text);
// content_type string. null for any other field counts as absent.
func DecodeMockInput(body []byte) (MockInput, *Error) {
	obj, err := DecodeJSONObject(body)
	if err != nil {
		return MockInput{}, err
	}
	return mockInputFromObject(obj)
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func mockInputFromObject(obj map[string]json.RawMessage) (MockInput, *Error) {
	var in MockInput
	str := func(key, msg string) (*string, *Error) {
		raw, ok := obj[key]
		if !ok || isNull(raw) {
			return nil, nil
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, invalidMock(msg)
		}
		return &s, nil
	}
	var e *Error
	if in.ID, e = str("id", "id must be a string"); e != nil {
		return in, e
	}
	if in.Method, e = str("method", msgMethod); e != nil {
		return in, e
	}
	if in.PathPattern, e = str("path_pattern", msgPathSlash); e != nil {
		return in, e
	}
	if raw, ok := obj["status"]; ok && !isNull(raw) {
		st, e := decodeStatus(raw)
		if e != nil {
			return in, e
		}
		in.Status = &st
	}
	if raw, ok := obj["headers"]; ok {
		in.HasHeaders = true
		if !isNull(raw) {
			raw = bytes.TrimSpace(raw)
			if len(raw) == 0 || raw[0] != '{' {
				return in, invalidMock(msgHeadersObj)
			}
			var hm map[string]json.RawMessage
			if json.Unmarshal(raw, &hm) != nil {
				return in, invalidMock(msgHeadersObj)
			}
			in.Headers = make(map[string]string, len(hm))
			for k, v := range hm {
				var s string
				if isNull(v) || json.Unmarshal(v, &s) != nil {
					return in, invalidMock(msgHeaderStr)
				}
				in.Headers[k] = s
			}
		}
	}
	if raw, ok := obj["body"]; ok && !isNull(raw) {
		raw = bytes.TrimSpace(raw)
		var s string
		if len(raw) > 0 && raw[0] == '"' {
			if json.Unmarshal(raw, &s) != nil {
				return in, invalidMock("body must be valid json")
			}
		} else {
			var buf bytes.Buffer
			if json.Compact(&buf, raw) != nil {
				return in, invalidMock("body must be valid json")
			}
			s = buf.String()
		}
		in.Body = &s
	}
	if in.ContentType, e = str("content_type", msgCT); e != nil {
		return in, e
	}
	return in, nil
}

// decodeStatus accepts an integral JSON number (201, 201.0, 2.01e2) or a
// string holding a decimal integer ("201"). Values far out of range come back
// as -1 (reported as out of range, not as "not an integer"), so that an int
// conversion can never wrap into the valid range.
func decodeStatus(raw json.RawMessage) (int, *Error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, invalidMock(msgStatusInt)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return -1, nil
		}
		if err != nil {
			return 0, invalidMock(msgStatusInt)
		}
		return clampStatus(float64(n)), nil
	}
	var num json.Number
	if json.Unmarshal(raw, &num) != nil {
		return 0, invalidMock(msgStatusInt) // true, [1], {…}
	}
	f, err := strconv.ParseFloat(num.String(), 64)
	if err != nil { // a valid JSON number fails only with ErrRange
		return -1, nil
	}
	if f != math.Trunc(f) {
		return 0, invalidMock(msgStatusInt)
	}
	return clampStatus(f), nil
}

func clampStatus(f float64) int {
	if f < -1e9 || f > 1e9 {
		return -1
	}
	return int(f)
}

// mockFields is a complete mock before validation.
type mockFields struct {
	id, method, path, body, contentType string
	status                              int
	headers                             map[string]string
}

// validatedMock is the outcome of validating mockFields.
type validatedMock struct {
	method      string
	pat         *pattern
	headers     map[string]string // a private copy, Content-Type moved out
	contentType string
}

// validateFields checks everything that does not depend on other mocks.
// Order: method, path_pattern (syntax, then reserved), status, headers, body
// size, content_type.
func validateFields(f mockFields, maxBody int) (validatedMock, *Error) {
	var v validatedMock
	method := strings.ToUpper(f.method)
	if methodIndexString(method) < 0 {
		return v, invalidMock(msgMethod)
	}
	v.method = method
	pat, e := compilePattern(f.path)
	if e != nil {
		return v, e
	}
	if pat.reserved() {
		return v, newErr(KindForbidden, CodeInvalidMock, msgReserved)
	}
	v.pat = pat
	if f.status < 200 || f.status > 599 {
		return v, invalidMock(msgStatusRng)
	}
	ct := f.contentType
	if len(f.headers) > maxMockHeaders {
		return v, invalidMock("headers may hold at most 64 entries")
	}
	v.headers = make(map[string]string, len(f.headers))
	seen := make(map[string]bool, len(f.headers))
	for name, val := range f.headers {
		if !isToken(name) || len(name) > maxHeaderNameLen {
			return v, invalidMock("header names must be tokens (RFC 9110) of at most 256 characters")
		}
		if !validFieldValue(val) || len(val) > maxHeaderValLen {
			return v, invalidMock("header values must not contain CR, LF, NUL or other control characters, and must be at most 8192 bytes")
		}
		lower := strings.ToLower(name)
		if seen[lower] {
			return v, invalidMock("headers must not repeat a name (names are case-insensitive)")
		}
		seen[lower] = true
		switch lower {
		case "content-length", "transfer-encoding", "connection":
			return v, invalidMock("header " + lower + " is managed by the server")
		case "content-type":
			// Rule: a Content-Type header overrides content_type, and is
			// moved there, so that exactly one Content-Type exists.
			ct = val
			continue
		}
		v.headers[name] = val
	}
	if len(f.body) > maxBody {
		return v, invalidMock(msgBodySize)
	}
	if strings.TrimSpace(ct) == "" {
		return v, invalidMock(msgCT)
	}
	if !validFieldValue(ct) || len(ct) > maxHeaderValLen {
		return v, invalidMock("content_type must not contain CR, LF, NUL or other control characters")
	}
	v.contentType = ct
	return v, nil
}

// validID reports whether a client-chosen id can be used in /api/mocks/{id}.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validFieldValue refuses CR, LF, NUL and every other control character
// except HTAB (RFC 9110 field-value); it is stricter than "no CR, LF, NUL".
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// buildResponse fills the precomputed response pieces of m.
func (m *Mock) buildResponse() {
	m.NoBody = m.Status == 204 || m.Status == 304
	m.RouteKey = m.Method + " " + m.PathPattern
	var b []byte
	if !m.NoBody {
		b = append(b, "Content-Type: "...)
		b = append(b, m.ContentType...)
		b = append(b, "\r\n"...)
	}
	names := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	for _, k := range names {
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, m.Headers[k]...)
		b = append(b, "\r\n"...)
	}
	m.HeaderLines = b
	if !m.NoBody && m.Body != "" {
		m.BodyBytes = []byte(m.Body)
	} else {
		m.BodyBytes = nil
	}
}
