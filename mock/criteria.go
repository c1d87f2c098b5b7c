package mock

import "bytes"

// Header is one request header field as the wire parser gives it: the same type as
// proto.Header (both alias one unnamed struct type), so a parsed request's fields are read
// in place.
type Header = struct{ Name, Value []byte }

// Request is what criteria read of one request. Reset it with the request's views (valid
// until the next Reset); the body is decoded as JSON at most once, by the first criterion
// that needs it, however many mocks look at it. Owned by one goroutine; reusing it keeps
// its scratch space, so matching without body criteria allocates nothing.
type Request struct {
	query   []byte // the raw query string, without '?'
	headers []Header
	body    []byte

	value, folded []byte // scratch: a decoded value, and a lower-cased one
	jsonDone      bool
	jsonDoc       any
	jsonErr       error
}

// Reset readies r for a request: its raw query (without '?'), header fields and body.
func (r *Request) Reset(query []byte, headers []Header, body []byte) {
	r.query, r.headers, r.body = query, headers, body
	r.jsonDone, r.jsonDoc, r.jsonErr = false, nil, nil
}

// json returns the body decoded (DecodeJSON), decoding it on the first call.
func (r *Request) json() (any, error) {
	if !r.jsonDone {
		r.jsonDoc, r.jsonErr = DecodeJSON(r.body)
		r.jsonDone = true
	}
	return r.jsonDoc, r.jsonErr
}

// Criteria is a compiled set of request criteria: a request matches when every one does.
// It is immutable once decoded.
type Criteria struct {
	checks []criterion
}

type source uint8

const (
	inQuery source = iota
	inHeader
	inCookie
	inForm
	inBody
)

// criterion is one field's matcher.
type criterion struct {
	from  source
	name  string // the field's name; "" for the body
	field string // how reports name it: "query.page", "headers.X-Key", "body"
	m     *matcher
}

// Len is the number of criteria (specificity: a mock with more criteria is more specific).
func (c *Criteria) Len() int {
	if c == nil {
		return 0
	}
	return len(c.checks)
}

// Match reports whether r meets every criterion. A nil Criteria matches every request.
func (c *Criteria) Match(r *Request) bool {
	if c == nil {
		return true
	}
	for i := range c.checks {
		if !c.checks[i].match(r) {
			return false
		}
	}
	return true
}

// MatchExceptQueryEquals is Match without the criterion that asks query parameter name to
// equal a value (QueryEquals): for a caller that picked the criteria by that value.
func (c *Criteria) MatchExceptQueryEquals(r *Request, name string) bool {
	if c == nil {
		return true
	}
	for i := range c.checks {
		k := &c.checks[i]
		if k.from == inQuery && k.name == name && k.isQueryEquals() {
			continue
		}
		if !k.match(r) {
			return false
		}
	}
	return true
}

// isQueryEquals reports whether the criterion asks its field to equal a value, as
// QueryEquals reads it.
func (k *criterion) isQueryEquals() bool {
	return k.from == inQuery && k.m.op == opEquals && !k.m.fold
}

// Check is one criterion's outcome for one request, as near-miss answers show it.
type Check struct {
	Field    string `json:"field"`    // "query.page", "headers.X-Api-Key", "cookies.session", "form.name", "body"
	Expected string `json:"expected"` // the matcher, as text: `equals "2"`
	Actual   string `json:"actual"`   // the value seen (the first of several), or "(absent)"
	Matched  bool   `json:"matched"`
}

// Explain reports every criterion's outcome for r, in the Criteria's order (query,
// headers, cookies, form, each by name, then the body's in their order). It allocates;
// it is for requests nothing matched.
func (c *Criteria) Explain(r *Request) []Check {
	if c == nil {
		return nil
	}
	out := make([]Check, 0, len(c.checks))
	for i := range c.checks {
		k := &c.checks[i]
		out = append(out, Check{Field: k.field, Expected: k.m.desc, Actual: k.actual(r), Matched: k.match(r)})
	}
	return out
}

// match tests the criterion: a field given more than once matches when one of its values
// does; a missing field matches only matchers that accept absence (absent, not).
func (k *criterion) match(r *Request) bool {
	if k.from == inBody {
		return k.m.testBody(r)
	}
	found := false
	ok := false
	k.each(r, func(v []byte) bool {
		found = true
		ok = k.m.test(v, true, r)
		return !ok
	})
	if !found {
		return k.m.test(nil, false, r)
	}
	return ok
}

// actual is the field's first value as text, or "(absent)".
func (k *criterion) actual(r *Request) string {
	if k.from == inBody {
		if len(r.body) == 0 {
			return "(absent)"
		}
		return cut(string(r.body), 200)
	}
	out := "(absent)"
	k.each(r, func(v []byte) bool {
		out = cut(string(v), 200)
		return false
	})
	return out
}

// each calls fn with every value of the criterion's field (decoded), until fn returns
// false. The value is valid during the call only.
func (k *criterion) each(r *Request, fn func(v []byte) bool) {
	switch k.from {
	case inHeader:
		for _, h := range r.headers {
			if equalFoldString(h.Name, k.name) && !fn(h.Value) {
				return
			}
		}
	case inQuery:
		eachPair(r, r.query, '&', k.name, true, fn)
	case inForm:
		eachPair(r, r.body, '&', k.name, true, fn)
	case inCookie:
		for _, h := range r.headers {
			if equalFoldString(h.Name, "cookie") && !eachPair(r, h.Value, ';', k.name, false, fn) {
				return
			}
		}
	}
}

// eachPair calls fn with the value of every name=value pair of s (separated by sep) whose
// name is name, percent-decoded ('+' as space) when decode is set, until fn returns false;
// it reports whether to go on.
func eachPair(r *Request, s []byte, sep byte, name string, decode bool, fn func(v []byte) bool) bool {
	for len(s) > 0 {
		var pair []byte
		if i := bytes.IndexByte(s, sep); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			pair, s = s, nil
		}
		if !decode {
			pair = bytes.TrimSpace(pair)
		}
		n, v, _ := bytes.Cut(pair, []byte{'='})
		if decode {
			if !decodedEquals(n, name) {
				continue
			}
			if needsDecoding(v) {
				r.value = appendDecoded(r.value[:0], v)
				v = r.value
			}
		} else {
			if string(n) != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1] // RFC 6265 §4.1.1: a cookie value may be quoted
			}
		}
		if !fn(v) {
			return false
		}
	}
	return true
}

// needsDecoding reports whether s holds a '%' or a '+'.
func needsDecoding(s []byte) bool {
	for _, c := range s {
		if c == '%' || c == '+' {
			return true
		}
	}
	return false
}

// decodedEquals reports whether the percent-encoded s decodes to want, without allocating.
func decodedEquals(s []byte, want string) bool {
	j := 0
	for i := 0; i < len(s); {
		var c byte
		c, i = decodeByte(s, i)
		if j >= len(want) || want[j] != c {
			return false
		}
		j++
	}
	return j == len(want)
}

// appendDecoded appends the percent-decoded s.
func appendDecoded(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		var c byte
		c, i = decodeByte(s, i)
		dst = append(dst, c)
	}
	return dst
}

// decodeByte returns the byte that s[i:] starts with, percent-decoded ('+' is a space; a
// malformed escape stays as it is), and where the next one starts.
func decodeByte(s []byte, i int) (byte, int) {
	switch c := s[i]; {
	case c == '+':
		return ' ', i + 1
	case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
		return unhex(s[i+1])<<4 | unhex(s[i+2]), i + 3
	default:
		return c, i + 1
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func equalFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x|0x20 >= 'a' && x|0x20 <= 'z' {
			x |= 0x20
			y |= 0x20
		}
		if x != y {
			return false
		}
	}
	return true
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// QueryEquals returns the value the criteria ask query parameter name to equal (an
// equals matcher, not case-insensitive), for indexes that dispatch on it.
func (c *Criteria) QueryEquals(name string) (string, bool) {
	if c == nil {
		return "", false
	}
	for i := range c.checks {
		k := &c.checks[i]
		if k.name == name && k.isQueryEquals() {
			return string(k.m.text), true
		}
	}
	return "", false
}

// QueryEqualsNames lists the query parameters the criteria ask to equal a value
// (QueryEquals), in the criteria's order.
func (c *Criteria) QueryEqualsNames() []string {
	if c == nil {
		return nil
	}
	var out []string
	for i := range c.checks {
		if k := &c.checks[i]; k.isQueryEquals() {
			out = append(out, k.name)
		}
	}
	return out
}

// QueryValue returns how many times query parameter name occurs in the request (counting
// up to two), and, when it occurs once, its value, percent-decoded. The value is valid
// until the next call that reads the query (a Match included); it allocates nothing.
func (r *Request) QueryValue(name string) (value []byte, count int) {
	for s := r.query; len(s) > 0 && count < 2; { // the count matters only up to two
		var pair []byte
		if i := bytes.IndexByte(s, '&'); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			pair, s = s, nil
		}
		n, v, _ := bytes.Cut(pair, []byte{'='})
		if !decodedEquals(n, name) {
			continue
		}
		if count++; count == 1 {
			value = v
		}
	}
	if count == 1 && needsDecoding(value) {
		r.value = appendDecoded(r.value[:0], value)
		value = r.value
	}
	return value, count
}
