package features

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"

	"ownhttp/conn"
)

// The demo-token guard (spec §8.1–8.3, reduced to the demo token: no users, no sessions, no
// roles).
//
// The guard is on when Config.RequireDemoToken is set or Config.DemoToken is not empty. Then
// every path of an API family — "/api/<family>" or "/api/<family>/…" for the families in
// guardedFamily: mocks, import, history, requests, replay, playground, scenarios, targets, proxy, events (and
// the spec's incidents and metrics, should they be added) — answers 401
//
//	WWW-Authenticate: Bearer realm="ownhttp"
//	{"error":{"code":"unauthorized","message":"…"}}
//
// unless the request carries "Authorization: Bearer <token>" (the scheme name in any case,
// RFC 9110 §11.1) with the demo token. EventSource cannot set headers, so /api/events/* also
// accepts the token as the "token" query parameter; it is ignored on every other path. The
// query token never reaches a log or history in clear: the access log writes the path
// without the query, and history stores token values as [redacted] (state.redactTarget).
// With the guard on and no DemoToken, nothing matches and every guarded path answers 401.
//
// Everything else stays public: the pages, /healthz, /_metrics, /metrics, static files,
// CodeCrafters routes and served mocks — including a mock under /api/ outside the families.
//
// Requests this server sends to itself (replay, the playground's manual requests, scenario
// steps) are not exempt: they carry the caller's Authorization and are checked like any other.
//
// Cost. The guard runs first on every request. A path outside /api/ is decided by one prefix
// comparison; nothing on any path allocates (TestGuardAllocs). Tokens are compared as SHA-256
// digests with crypto/subtle.ConstantTimeCompare, so neither the content nor the length of the
// demo token leaks through timing.

const (
	apiPrefix    = "/api/"
	eventsPrefix = "/api/events/"
	// authRealm is the challenge of a 401 (RFC 6750 §3).
	authRealm = `Bearer realm="ownhttp"`
	// tokenParam is the query parameter that carries the token on /api/events/*.
	tokenParam = "token"
	// maxQueryToken bounds a decoded ?token= value (a longer one cannot be read on the stack
	// and is refused).
	maxQueryToken = 256
)

// unauthorizedStatus and unauthorizedBody are the guard's answer, rendered once so that
// refusing allocates nothing; never modified.
var unauthorizedStatus, unauthorizedBody = func() (int, []byte) {
	status, code, msg := statusOf(labErr(kindUnauthorized, "unauthorized",
		"a valid demo token is required: Authorization: Bearer <token>"))
	return status, errorJSON(code, msg)
}()

// guardOn reports whether the demo-token guard is enabled.
func (a *App) guardOn() bool { return a.cfg.RequireDemoToken || a.cfg.DemoToken != "" }

// guard enforces the demo token (see the comment above). It reports whether it answered the
// exchange (401); when it returns false the request goes on to routing.
func (a *App) guard(x *conn.Exchange) bool {
	path := x.Req.Path
	if !bytes.HasPrefix(path, []byte(apiPrefix)) || !a.guardOn() || !guardedPath(path) {
		return false
	}
	if a.authorized(x) {
		return false
	}
	x.Route = "401"
	x.Header("WWW-Authenticate", authRealm)
	x.Text(unauthorizedStatus, jsonType, unauthorizedBody)
	return true
}

// guardedPath reports whether path (which starts with /api/) belongs to a guarded family.
func guardedPath(path []byte) bool {
	seg := path[len(apiPrefix):]
	if i := bytes.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	return guardedFamily(seg)
}

// guardedFamily reports whether the first path segment after /api/ names a guarded API.
func guardedFamily(seg []byte) bool {
	switch string(seg) {
	case "mocks", "history", "replay", "playground", "scenarios", "targets", "proxy", "events",
		"incidents", "metrics", "reset", "requests", "mock-states", "import":
		return true
	}
	return false
}

// authorized reports whether the request carries the demo token: as a bearer token, or on
// /api/events/* as the token query parameter.
func (a *App) authorized(x *conn.Exchange) bool {
	if tok, ok := bearerToken(x.Req.Header("authorization")); ok && a.tokenMatches(tok) {
		return true
	}
	if !bytes.HasPrefix(x.Req.Path, []byte(eventsPrefix)) {
		return false
	}
	var buf [maxQueryToken]byte
	tok, ok := queryToken(x.Req.Query, buf[:0])
	return ok && a.tokenMatches(tok)
}

// tokenMatches compares got with the demo token in constant time: it compares their SHA-256
// digests, so the time taken depends on neither the token's content nor its length. An empty
// demo token matches nothing.
func (a *App) tokenMatches(got []byte) bool {
	want := a.cfg.DemoToken
	if want == "" {
		return false
	}
	var buf [128]byte // holds the configured token without allocating (a longer one is copied to the heap)
	wantSum := sha256.Sum256(append(buf[:0], want...))
	gotSum := sha256.Sum256(got)
	return subtle.ConstantTimeCompare(gotSum[:], wantSum[:]) == 1
}

// bearerToken returns the credentials of an "Authorization: Bearer <token>" value. The scheme
// name is matched case-insensitively and may be followed by any number of spaces; an empty
// token is no token.
func bearerToken(v []byte) ([]byte, bool) {
	const scheme = "bearer"
	if len(v) <= len(scheme) || v[len(scheme)] != ' ' {
		return nil, false
	}
	for i := 0; i < len(scheme); i++ {
		if c := v[i] | 0x20; c != scheme[i] { // ASCII letters only: | 0x20 lower-cases them
			return nil, false
		}
	}
	tok := bytes.TrimRight(bytes.TrimLeft(v[len(scheme):], " "), " \t")
	return tok, len(tok) > 0
}

// queryToken finds the first "token" parameter of a raw query string and appends its
// percent-decoded value ("+" is a space) to dst. It reports false when there is none, when it
// is empty or badly escaped, or when it would not fit in dst's capacity.
func queryToken(q, dst []byte) ([]byte, bool) {
	for len(q) > 0 {
		part := q
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			part, q = q[:i], q[i+1:]
		} else {
			q = nil
		}
		eq := bytes.IndexByte(part, '=')
		if eq < 0 || string(part[:eq]) != tokenParam {
			continue
		}
		return unescapeQuery(part[eq+1:], dst)
	}
	return nil, false
}

// unescapeQuery appends the percent-decoded form of v to dst without growing it past its
// capacity.
func unescapeQuery(v, dst []byte) ([]byte, bool) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			var b [1]byte
			if i+2 >= len(v) {
				return nil, false
			}
			if _, err := hex.Decode(b[:], v[i+1:i+3]); err != nil {
				return nil, false
			}
			c = b[0]
			i += 2
		}
		if len(dst) == cap(dst) {
			return nil, false
		}
		dst = append(dst, c)
	}
	return dst, len(dst) > 0
}
