package state

import (
	"strings"
)

// Path patterns.
//
// A path_pattern starts with "/" and is split into segments at "/". Each
// segment is either a literal (compared byte for byte with the raw,
// not-percent-decoded request path) or a parameter "{name}" (name made of
// letters, digits and '_'), which matches exactly one non-empty segment. The
// pattern may end with the segment "*": "/p/*" matches "/p" itself, "/p/" and
// everything below "/p/"; "/*" matches every path. A query string ('?'), a
// fragment ('#'), whitespace or control characters are refused, as is "*" or
// a brace anywhere else.

// pattern is a compiled path_pattern. It is immutable once compiled.
type pattern struct {
	text      string // as given
	canonical string // with every parameter written "{}": equal canonicals match equal paths
	segs      []seg  // segments before any final "*"
	wildcard  bool   // the pattern ends in "/*"
	literals  int    // number of literal segments
	params    int    // number of parameter segments
}

type seg struct {
	lit   string
	param bool
}

// firstLiteral returns the pattern's first segment when it is a literal.
func (p *pattern) firstLiteral() (string, bool) {
	if len(p.segs) == 0 || p.segs[0].param {
		return "", false
	}
	return p.segs[0].lit, true
}

// exact reports whether the pattern has neither parameters nor a wildcard.
func (p *pattern) exact() bool { return !p.wildcard && p.params == 0 }

func compilePattern(text string) (*pattern, *Error) {
	if !strings.HasPrefix(text, "/") {
		return nil, invalidMock(msgPathSlash)
	}
	if len(text) > maxPatternLen {
		return nil, invalidMock("path_pattern must be at most 2048 bytes")
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '?':
			return nil, invalidMock("path_pattern must not contain a query string")
		case c == '#':
			return nil, invalidMock("path_pattern must not contain a fragment")
		case c <= ' ' || c == 0x7f:
			return nil, invalidMock("path_pattern must not contain whitespace or control characters")
		}
	}
	p := &pattern{text: text}
	parts := strings.Split(text[1:], "/")
	var canon strings.Builder
	for i, part := range parts {
		last := i == len(parts)-1
		switch {
		case part == "*":
			if !last {
				return nil, invalidMock("path_pattern may use * only as its final segment, as in /prefix/*")
			}
			p.wildcard = true
			canon.WriteString("/*")
			continue
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") && len(part) > 2 && isParamName(part[1:len(part)-1]):
			p.segs = append(p.segs, seg{param: true})
			p.params++
			canon.WriteString("/{}")
			continue
		case strings.ContainsAny(part, "{}*"):
			return nil, invalidMock("path_pattern segments must be literal, a whole {name} parameter, or a final *")
		}
		p.segs = append(p.segs, seg{lit: part})
		p.literals++
		canon.WriteByte('/')
		canon.WriteString(part)
	}
	p.canonical = canon.String()
	return p, nil
}

func isParamName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// match reports whether path (raw, without query) matches the pattern. It
// does not allocate.
func (p *pattern) match(path []byte) bool {
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	pos := 1 // start of the next segment; len(path)+1 means "no more segments"
	for _, s := range p.segs {
		if pos > len(path) {
			return false
		}
		end := pos
		for end < len(path) && path[end] != '/' {
			end++
		}
		sg := path[pos:end]
		if s.param {
			if len(sg) == 0 {
				return false
			}
		} else if string(sg) != s.lit {
			return false
		}
		pos = end + 1
	}
	return p.wildcard || pos == len(path)+1
}

// Reserved paths: built-in routes that a mock may not shadow (a 403).
var (
	reservedExact = [...]string{
		"/", "/submit", "/stream", "/_metrics", "/metrics", "/healthz", "/playground",
		"/playground-minimal", "/dashboard", "/openapi.json", "/user-agent",
		"/api/mocks", "/api/history", "/api/playground", "/api/scenarios", "/api/targets",
		"/api/events", "/api/incidents", "/api/auth", "/api/metrics", "/api/reset",
	}
	// Each prefix ends in "/": a path is reserved when its first segments are the prefix's
	// (so "/api/mocks" and everything below it, but not "/api/users": the original project's
	// scenario files mock such API paths). These are the built-in route families.
	reservedPrefixes = [...]string{"/static/", "/echo/", "/files/", "/assets/",
		"/api/mocks/", "/api/history/", "/api/replay/", "/api/playground/", "/api/scenarios/",
		"/api/targets/", "/api/proxy/", "/api/events/", "/api/incidents/", "/api/auth/", "/api/metrics/"}
)

// reserved reports whether any concrete path the pattern can match is
// reserved.
func (p *pattern) reserved() bool {
	for _, r := range reservedExact {
		if p.match([]byte(r)) {
			return true
		}
	}
	for _, r := range reservedPrefixes {
		if p.intersectsPrefix(strings.Split(strings.TrimSuffix(r[1:], "/"), "/")) {
			return true
		}
	}
	return false
}

// intersectsPrefix reports whether the pattern matches some path whose first
// segments are exactly pre and which has at least one more segment (that is,
// some path starting with "/" + join(pre, "/") + "/").
//
// The segments of the pattern that line up with pre must each accept the
// corresponding pre segment (a literal equal to it, or a parameter, since pre
// segments are non-empty). Beyond that the pattern can always be satisfied:
// without a wildcard it needs more segments than pre has (each filled with
// its literal or any non-empty text); with a wildcard anything follows.
func (p *pattern) intersectsPrefix(pre []string) bool {
	if !p.wildcard && len(p.segs) <= len(pre) {
		return false
	}
	for i := 0; i < len(pre) && i < len(p.segs); i++ {
		s := p.segs[i]
		if !s.param && s.lit != pre[i] {
			return false
		}
	}
	return true
}

// Method slots of the matcher. HEAD shares GET's slot.
const (
	slotGET = iota
	slotPOST
	slotPUT
	slotDELETE
	slotPATCH
	numSlots
)

// methodSlot maps a request method (case-sensitive, as on the wire) to its
// matcher slot, or -1. It does not allocate.
func methodSlot(m []byte) int {
	switch string(m) {
	case "GET", "HEAD":
		return slotGET
	case "POST":
		return slotPOST
	case "PUT":
		return slotPUT
	case "DELETE":
		return slotDELETE
	case "PATCH":
		return slotPATCH
	}
	return -1
}

// methodIndexString maps a stored (upper-case) mock method to its slot, or -1.
// HEAD is not a mock method: HEAD requests match GET mocks.
func methodIndexString(m string) int {
	if m == "HEAD" {
		return -1
	}
	return methodSlot([]byte(m))
}
