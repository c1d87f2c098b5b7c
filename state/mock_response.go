package state

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// MockResponse is one answer of a mock: the mock itself for a plain mock (Mock embeds it),
// each of Mock.Responses for a sequence (issue #15). Immutable once built, like its Mock.
//
//   - status: 200..599 (1xx is refused), or, in a templated mock, a template rendering
//     to one (StatusTemplate).
//   - headers: RFC 9110 token names, values without control characters other than
//     HTAB; the fields the server writes on every response are refused (Content-Length,
//     Transfer-Encoding, Connection, Keep-Alive, Date, Server, X-Request-ID), so that each
//     goes out exactly once; names may not repeat case-insensitively. A Content-Type
//     header (any case) wins over content_type and is moved there, so exactly one is sent.
//   - 204 and 304: the body is stored and shown by the API, but the response has neither
//     body nor Content-Type (NoBody).
//   - body: text; or bytes given as body_base64 (BodyBase64: shown as base64 again); a JSON
//     value given as "body" is kept as its compact JSON text and shown as JSON (BodyJSON).
//   - content_type: default application/json.
type MockResponse struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers"` // never nil
	Body        string            `json:"body"`
	ContentType string            `json:"content_type"`
	// BodyBase64 marks a body given as body_base64 (any bytes); BodyJSON one given as a
	// JSON value rather than a string. They decide how the body is shown, not what is sent.
	BodyBase64 bool `json:"-"`
	BodyJSON   bool `json:"-"`
	// StatusTemplate is a templated status as given ("{{request.query.code}}"); Status is
	// then 0 and the status is rendered per request.
	StatusTemplate string `json:"-"`

	// HeaderLines are the response header lines this response contributes, each
	// ending in CRLF: "Content-Type: …" first (absent when NoBody), then the
	// custom headers sorted by lower-cased name, with the name spelled as given.
	HeaderLines []byte `json:"-"`
	// BodyBytes is the response body (nil when NoBody).
	BodyBytes []byte `json:"-"`
	// NoBody is set for 204 and 304 responses: the stored body is kept and
	// returned by the API, but the response carries no body and no
	// Content-Type.
	NoBody bool `json:"-"`

	tmpl *responseTemplate // nil when the mock is not templated
}

// responseFields is one response before validation.
type responseFields struct {
	status                 int
	statusText             string // a templated status; "" when status is a number
	headers                map[string]string
	body, contentType      string
	bodyBase64, bodyIsJSON bool
}

func defaultResponse() responseFields {
	return responseFields{status: 200, contentType: "application/json"}
}

// ResponseInput is a decoded, type-checked response whose values are not yet validated; a
// nil field means the key was absent (see MockInput).
type ResponseInput struct {
	Status *int
	// StatusText is a status given as a string holding a template ("{{…}}").
	StatusText *string
	Headers    map[string]string
	HasHeaders bool
	Body       *string
	// BodyJSON: Body was given as a JSON value, not a string (its compact text).
	BodyJSON bool
	// BodyBase64 is the body given as body_base64, decoded.
	BodyBase64  *string
	ContentType *string
}

// responseKeys are the keys of one entry of a mock's responses.
var responseKeys = []string{"status", "headers", "body", "body_base64", "content_type"}

// decodeResponseInput decodes the response fields of obj; prefix names them in errors
// ("" for the mock's own, "responses[1]." for a sequence's).
func decodeResponseInput(obj map[string]json.RawMessage, prefix string) (ResponseInput, *Error) {
	var in ResponseInput
	bad := func(msg string) (ResponseInput, *Error) { return in, invalidMock(prefix + msg) }
	if raw, ok := present(obj, "status"); ok {
		if s, isStr := decodeString(raw); isStr && strings.Contains(s, "{{") {
			in.StatusText = &s
		} else {
			// Values far out of range become -1 (reported as out of range, not as "not an
			// integer"), so that the int conversion can never wrap into the valid range.
			v, _, ok := decodeIntOrString(raw)
			if !ok {
				return bad(msgStatusInt)
			}
			st := clampInt(v)
			in.Status = &st
		}
	}
	if _, ok := obj["headers"]; ok {
		in.HasHeaders = true
		if raw, ok := present(obj, "headers"); ok {
			hm, ok := decodeObject(raw)
			if !ok {
				return bad(msgHeadersObj)
			}
			in.Headers = make(map[string]string, len(hm))
			for k, v := range hm {
				s, ok := decodeString(v)
				if !ok {
					return bad(msgHeaderStr)
				}
				in.Headers[k] = s
			}
		}
	}
	if raw, ok := present(obj, "body"); ok {
		s, ok := decodeBodyText(raw)
		if !ok {
			return bad("body must be valid json")
		}
		in.Body, in.BodyJSON = &s, firstByte(raw) != '"'
	}
	if raw, ok := present(obj, "body_base64"); ok {
		s, ok := decodeString(raw)
		if !ok {
			return bad("body_base64 must be a string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return bad("body_base64 is not base64 (RFC 4648 standard alphabet, padded): " + err.Error())
		}
		if in.Body != nil {
			return bad("body and body_base64 are exclusive")
		}
		t := string(b)
		in.BodyBase64 = &t
	}
	if raw, ok := present(obj, "content_type"); ok {
		s, ok := decodeString(raw)
		if !ok {
			return bad(msgCT)
		}
		in.ContentType = &s
	}
	return in, nil
}

// given reports whether the input sets any response field.
func (in *ResponseInput) given() bool {
	return in.Status != nil || in.StatusText != nil || in.HasHeaders || in.Body != nil ||
		in.BodyBase64 != nil || in.ContentType != nil
}

// overlay sets the fields the input gives on f.
func (in *ResponseInput) overlay(f *responseFields) {
	if in.Status != nil {
		f.status, f.statusText = *in.Status, ""
	}
	if in.StatusText != nil {
		f.status, f.statusText = 0, *in.StatusText
	}
	if in.HasHeaders {
		f.headers = in.Headers
	}
	if in.Body != nil {
		f.body, f.bodyIsJSON, f.bodyBase64 = *in.Body, in.BodyJSON, false
	}
	if in.BodyBase64 != nil {
		f.body, f.bodyIsJSON, f.bodyBase64 = *in.BodyBase64, false, true
	}
	if in.ContentType != nil {
		f.contentType = *in.ContentType
	}
}

// fieldsOf returns the fields r was built from.
func (r *MockResponse) fieldsOf() responseFields {
	return responseFields{status: r.Status, statusText: r.StatusTemplate, headers: r.Headers, body: r.Body,
		contentType: r.ContentType, bodyBase64: r.BodyBase64, bodyIsJSON: r.BodyJSON}
}

// validateResponse checks one response and builds it; prefix names its fields in errors.
// Order: status, headers, body size, content_type, then its templates when templated.
func validateResponse(f responseFields, maxBody int, prefix string, templated bool) (MockResponse, *Error) {
	r := MockResponse{Status: f.status, Body: f.body, BodyBase64: f.bodyBase64, BodyJSON: f.bodyIsJSON}
	bad := func(msg string) (MockResponse, *Error) { return r, invalidMock(prefix + msg) }
	if f.statusText != "" {
		if !templated {
			return bad(msgStatusInt + " (a template needs \"template\": true)")
		}
		r.StatusTemplate = f.statusText
	} else if f.status < 200 || f.status > 599 {
		return bad(msgStatusRng)
	}
	ct := f.contentType
	if len(f.headers) > maxMockHeaders {
		return bad("headers may hold at most 64 entries")
	}
	r.Headers = make(map[string]string, len(f.headers))
	seen := make(map[string]bool, len(f.headers))
	for name, val := range f.headers {
		if !isToken(name) || len(name) > maxHeaderNameLen {
			return bad("header names must be tokens (RFC 9110) of at most 256 characters")
		}
		if !validFieldValue(val) || len(val) > maxHeaderValLen {
			return bad("header values must not contain CR, LF, NUL or other control characters, and must be at most 8192 bytes")
		}
		lower := strings.ToLower(name)
		if seen[lower] {
			return bad("headers must not repeat a name (names are case-insensitive)")
		}
		seen[lower] = true
		switch lower {
		case "content-length", "transfer-encoding", "connection", "keep-alive", "date", "server", "x-request-id":
			return bad("header " + lower + " is managed by the server")
		case "content-type":
			// Rule: a Content-Type header overrides content_type, and is
			// moved there, so that exactly one Content-Type exists.
			ct = val
			continue
		}
		r.Headers[name] = val
	}
	if len(f.body) > maxBody {
		return bad(msgBodySize)
	}
	if strings.TrimSpace(ct) == "" {
		return bad(msgCT)
	}
	if !validFieldValue(ct) || len(ct) > maxHeaderValLen {
		return bad("content_type must not contain CR, LF, NUL or other control characters")
	}
	r.ContentType = ct
	if templated {
		t, e := compileResponseTemplate(&r, prefix)
		if e != nil {
			return r, e
		}
		r.tmpl = t
	}
	r.build()
	return r, nil
}

// build fills the precomputed response pieces of r.
func (r *MockResponse) build() {
	r.NoBody = r.Status == 204 || r.Status == 304
	var b []byte
	if !r.NoBody {
		b = append(b, "Content-Type: "...)
		b = append(b, r.ContentType...)
		b = append(b, "\r\n"...)
	}
	for _, k := range sortedHeaderNames(r.Headers) {
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, r.Headers[k]...)
		b = append(b, "\r\n"...)
	}
	r.HeaderLines = b
	if !r.NoBody && r.Body != "" {
		r.BodyBytes = []byte(r.Body)
	} else {
		r.BodyBytes = nil
	}
}

// sortedHeaderNames returns the names of h sorted by their lower-case form: the order
// responses send them in.
func sortedHeaderNames(h map[string]string) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return names
}

// responseJSON is a response's JSON form: status (a number, or the template string),
// headers, body (a string, or the JSON value it was given as) or body_base64, content_type.
type responseJSON struct {
	Status      json.RawMessage   `json:"status"`
	Headers     map[string]string `json:"headers"`
	Body        json.RawMessage   `json:"body,omitempty"`
	BodyBase64  string            `json:"body_base64,omitempty"`
	ContentType string            `json:"content_type"`
}

func (r *MockResponse) toJSON() responseJSON {
	out := responseJSON{Headers: r.Headers, ContentType: r.ContentType}
	if r.StatusTemplate != "" {
		out.Status = jsonString(r.StatusTemplate)
	} else {
		out.Status = json.RawMessage(strconv.Itoa(r.Status))
	}
	switch {
	case r.BodyBase64:
		out.BodyBase64 = base64.StdEncoding.EncodeToString([]byte(r.Body))
		if out.BodyBase64 == "" {
			out.Body = json.RawMessage(`""`)
		}
	case r.BodyJSON && json.Valid([]byte(r.Body)):
		out.Body = json.RawMessage(r.Body)
	default:
		out.Body = jsonString(r.Body)
	}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	return out
}

// jsonString marshals a string (which always marshals).
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
