package features

import (
	"bytes"

	"ownhttp/conn"
	"ownhttp/proto"
	"ownhttp/state"
)

// The Host and Origin rules of the lab's own surface (issue #11): no writes from other web
// origins, no DNS rebinding.
//
// The lab's own surface is every /api/ route, the pages and their files, and metrics (the
// routes routes.go marks own). Served mocks, the demo routes, static files and the
// CodeCrafters routes are not part of it: clients reach mocks under many names.
//
// Host. The own surface answers only when the request's host (the Host field, or an
// absolute-form authority; its port is not compared) names this server: "localhost", any
// name under ".localhost" and any loopback address; the bind address, and for a wildcard
// bind (0.0.0.0 or ::) every address of this machine's interfaces, read at start; and the
// hosts of Config.AllowedHosts (--public-host and --allowed-hosts). Case and one trailing dot
// are ignored. Anything else gets 421 Misdirected Request, in the API's error shape under
// /api/ (code misdirected_request). This defeats DNS rebinding: a page that rebinds its own
// name to this server's address still sends that name. A request without a host (HTTP/1.0)
// is let through; no browser sends one.
//
// Origin. A state-changing request (any method but GET, HEAD and OPTIONS) to an /api/ route
// is refused with 403 cross_origin unless it comes from this server's own origin, from an
// origin named in Config.CORSOrigins ("*" names none), or from a client that is not a web
// page: its Origin must be absent, or equal to scheme://host with the request's own host
// (the scheme is not compared: behind a TLS proxy the browser's scheme is not ours; a
// default port may be left out of either), and Sec-Fetch-Site must not say cross-site — an
// origin named in CORSOrigins passes whatever Sec-Fetch-Site says. Browsers send Origin on
// every cross-origin request that is not a GET or HEAD, form posts and "no-cors" fetches
// included, and "null" from sandboxed or opaque documents; tools (curl, the CLI, scripts, the
// server's requests to itself) send none and are served as before.
//
// CORS. For an origin named in CORSOrigins, API answers carry Access-Control-Allow-Origin
// with it, and a preflight (OPTIONS with Access-Control-Request-Method) to an API route is
// answered 204 with the route's methods. No other origin gets either: its preflight falls
// through to 405, so the browser never sends the request. API answers carry Vary: Origin
// whenever some origin is named.
//
// Cost. Both rules run inline on the event loop; a request under a name in the set (as
// "localhost" and "127.0.0.1" are), with or without its own Origin, allocates nothing
// (TestOriginGateAllocs).

// codeMisdirected and codeCrossOrigin are the codes of the rules' refusals.
const (
	codeMisdirected = "misdirected_request"
	codeCrossOrigin = "cross_origin"
)

// The rules' answers, rendered once so that refusing allocates nothing; never modified.
var (
	misdirectedStatus, misdirectedBody = renderErr(labErr(kindMisdirected, codeMisdirected,
		"the Host header does not name this server; name it with --allowed-hosts"))
	misdirectedText                    = []byte("Misdirected Request: the Host header does not name this server (see --allowed-hosts)\n")
	crossOriginStatus, crossOriginBody = renderErr(labErr(state.KindForbidden, codeCrossOrigin,
		"a request from another web origin may not change anything here; name the origin in --cors-origins to allow it"))
)

// renderErr renders a product error's status and body once.
func renderErr(err error) (int, []byte) {
	status, code, msg := statusOf(err)
	return status, errorJSON(code, msg)
}

// newOwnHosts builds the set of hosts the own surface answers to (see above).
func newOwnHosts(cfg *Config) *hostNames {
	h := newHostNames(true)
	h.addBind(cfg.BindHost)
	for _, name := range cfg.AllowedHosts {
		h.addHost(name)
	}
	return h
}

// gate applies the Host and Origin rules to a request routed to rt. It reports whether it
// answered the exchange (421, 403, or a CORS preflight); when it returns false the route's
// handler runs, with the CORS headers added for a named origin.
func (a *App) gate(x *conn.Exchange, rt *route) bool {
	if !rt.own {
		return false
	}
	req := x.Req
	if len(req.Host) > 0 {
		if _, ok := a.hosts.lookup(req.Host); !ok {
			x.Route = "421"
			if rt.api {
				x.Text(misdirectedStatus, jsonType, misdirectedBody)
			} else {
				x.Text(misdirectedStatus, textPlain, misdirectedText)
			}
			return true
		}
	}
	if !rt.api {
		return false
	}
	origin := req.Header("origin")
	named := a.namedOrigin(origin)
	if named != "" && req.Method == proto.MethodOPTIONS && len(req.Header("access-control-request-method")) > 0 {
		answerPreflight(x, named, rt.allow)
		return true
	}
	if a.namesOrigins {
		x.Header("Vary", "Origin")
	}
	if named != "" {
		x.Header("Access-Control-Allow-Origin", named)
	}
	switch req.Method {
	case proto.MethodGET, proto.MethodHEAD, proto.MethodOPTIONS:
		return false
	}
	if named != "" || (len(origin) == 0 || sameOrigin(origin, req.Host)) &&
		!bytes.EqualFold(req.Header("sec-fetch-site"), []byte("cross-site")) {
		return false
	}
	x.Text(crossOriginStatus, jsonType, crossOriginBody)
	return true
}

// namedOrigin returns the entry of Config.CORSOrigins equal to origin, "" when there is none
// ("*" is never returned: it opens the mocks, not the API).
func (a *App) namedOrigin(origin []byte) string {
	if len(origin) == 0 || !a.namesOrigins {
		return ""
	}
	for _, o := range a.cfg.CORSOrigins {
		if o != "*" && o == string(origin) {
			return o
		}
	}
	return ""
}

// sameOrigin reports whether origin ("scheme://host[:port]") has host as its authority,
// without regard to case or to the scheme; the default port of origin's scheme (80 for http,
// 443 for https) may be left out of either.
func sameOrigin(origin, host []byte) bool {
	i := bytes.Index(origin, []byte("://"))
	if i < 0 || len(host) == 0 {
		return false
	}
	scheme, auth := origin[:i], origin[i+3:]
	if bytes.EqualFold(auth, host) {
		return true
	}
	var port []byte
	switch {
	case bytes.EqualFold(scheme, []byte("http")):
		port = []byte(":80")
	case bytes.EqualFold(scheme, []byte("https")):
		port = []byte(":443")
	default:
		return false
	}
	return bytes.EqualFold(bytes.TrimSuffix(auth, port), bytes.TrimSuffix(host, port))
}
