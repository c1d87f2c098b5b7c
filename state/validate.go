package state

// Checks on field values shared by the mock, scenario and target validators.

import "strings"

// idRule is the rule validID applies, as error messages state it.
const idRule = "1 to 64 letters, digits, '.', '_' or '-', and not . or .."

// validID reports whether a client-chosen id can be used as a path segment, as in
// /api/mocks/{id}: "." and ".." cannot (clients and browsers remove them from URLs).
// mockIDError is the invalid_mock message for a mock id that may not be created, or "".
// "sources" is taken by GET /api/mocks/sources.
func mockIDError(id string) string {
	switch {
	case !validID(id):
		return "id must be " + idRule
	case id == "sources":
		return "id sources is reserved: GET /api/mocks/sources lists the mock files"
	}
	return ""
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen || id == "." || id == ".." {
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

// validRequestTarget reports whether s can be sent as an origin-form request
// target: printable ASCII without spaces or '#'.
func validRequestTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}
