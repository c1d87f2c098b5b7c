package features

import (
	"strconv"

	"ownhttp/conn"
	"ownhttp/proto"
)

// RedirectConfig configures the plain-HTTP port when TLS is on.
type RedirectConfig struct {
	BindHost   string // the address the server listens on
	PublicHost string // an extra host name that names this server (--public-host)
	HTTPSPort  int
}

// NewRedirect returns the handler of the plain port (issue #3): every request (any method,
// any target) gets 308 Permanent Redirect to https://<host>:<https-port><target>,
// Cache-Control: no-store and a short plain-text body, and the connection closes.
//
// <target> is the request-target as received for origin-form, the path and query of an
// absolute-form target, and "/" for "*" (OPTIONS) and CONNECT's authority-form. The port is
// left out when it is 443.
//
// <host> is the request's host (the Host field, or the absolute-form authority), port
// stripped and an IPv6 literal kept in brackets, only when it names this server, compared
// without regard to case:
//   - the public host (--public-host), when set;
//   - the bind address itself;
//   - for a loopback bind (127.0.0.1 or ::1; "localhost" binds 127.0.0.1): "localhost";
//   - for a wildcard bind (0.0.0.0, or :: which also takes IPv4): "localhost", the loopback
//     addresses and every address of this machine's interfaces (read once, here).
//
// Any other host (a client-chosen name) is replaced by the public host when set, else by the
// bind address, else — for a wildcard bind — by "localhost", so the redirect is never open to
// a host the client picked. A public host that is not a valid host name is ignored.
//
// The handler sets no route; the plain port's exchanges are not observed (no metrics,
// access log or history), as the seed did not count them either.
func NewRedirect(cfg RedirectConfig) conn.Handler {
	r := &redirect{names: newHostNames(false)}
	r.fallback = r.names.addBind(cfg.BindHost)
	if h, ok := CanonicalHost(cfg.PublicHost); ok {
		r.names.addName(h)
		r.fallback = h
	}
	if cfg.HTTPSPort != 443 && cfg.HTTPSPort > 0 {
		r.port = ":" + strconv.Itoa(cfg.HTTPSPort)
	}
	return r
}

// redirect is the plain port's handler. It is immutable after NewRedirect.
type redirect struct {
	// names are the hosts that name this server, with the form sent in Location.
	names    *hostNames
	fallback string // the host used when the request's host does not name this server
	port     string // ":<https-port>", empty for 443
}

var useHTTPS = []byte("Use HTTPS")

// Serve implements conn.Handler.
func (r *redirect) Serve(x *conn.Exchange) {
	req := x.Req
	var target []byte
	switch {
	case req.Method == proto.MethodCONNECT, len(req.Target) == 1 && req.Target[0] == '*':
		target = slashTarget
	case len(req.Target) > 0 && req.Target[0] == '/':
		target = req.Target
	default: // absolute-form: its path and query
		target = req.Path
		if req.Query != nil {
			target = append(append(append([]byte(nil), req.Path...), '?'), req.Query...)
		}
	}
	loc := make([]byte, 0, len("https://")+len(r.fallback)+len(r.port)+len(target)+16)
	loc = append(loc, "https://"...)
	loc = append(loc, r.host(req.Host)...)
	loc = append(loc, r.port...)
	loc = append(loc, target...)
	x.Header("Location", string(loc))
	x.Header("Cache-Control", "no-store")
	x.Text(308, textPlain, useHTTPS)
	x.Close = true
}

var slashTarget = []byte("/")

// host returns the host for Location: the request's own when it names this server, else
// the fallback.
func (r *redirect) host(authority []byte) string {
	if h, ok := r.names.lookup(authority); ok {
		return h
	}
	return r.fallback
}
