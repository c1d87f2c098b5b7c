package state

import (
	"ownhttp/mock"
)

// Path patterns and regexes are compiled and matched by package mock (mock.Path); what
// they may not cover is decided here.

// compilePath compiles a mock's path_pattern, or its path_regex when regex is set.
func compilePath(text string, regex bool) (*mock.Path, *Error) {
	var p *mock.Path
	var err error
	if regex {
		p, err = mock.CompilePathRegex(text)
	} else {
		p, err = mock.CompilePathPattern(text)
	}
	if err != nil {
		return nil, invalidMock(err.Error())
	}
	return p, nil
}

// Reserved paths: built-in routes that a mock may not shadow (a 403).
var (
	reservedExact = [...]string{
		"/", "/submit", "/stream", "/_metrics", "/metrics", "/healthz", "/playground",
		"/playground-minimal", "/dashboard", "/openapi.json", "/user-agent",
		"/api/mocks", "/api/history", "/api/playground", "/api/scenarios", "/api/targets",
		"/api/events", "/api/incidents", "/api/auth", "/api/metrics", "/api/reset",
		"/api/requests", "/api/mock-states",
	}
	// Each prefix ends in "/": a path is reserved when its first segments are the prefix's
	// (so "/api/mocks" and everything below it, but not "/api/users": the original project's
	// scenario files mock such API paths). These are the built-in route families.
	reservedPrefixes = [...]string{"/static/", "/echo/", "/files/", "/assets/",
		"/api/mocks/", "/api/history/", "/api/replay/", "/api/playground/", "/api/scenarios/",
		"/api/targets/", "/api/proxy/", "/api/events/", "/api/incidents/", "/api/auth/", "/api/metrics/",
		"/api/requests/", "/api/mock-states/"}
)

// reserved reports whether any concrete path p can match is reserved (for a path_regex,
// may match: see mock.Path.CanMatchUnder).
func reserved(p *mock.Path) bool {
	for _, r := range reservedExact {
		if p.Match([]byte(r)) {
			return true
		}
	}
	for _, r := range reservedPrefixes {
		if p.CanMatchUnder(r) {
			return true
		}
	}
	return false
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
