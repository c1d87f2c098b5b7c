package features

import (
	"ownhttp/conn"
	"ownhttp/proto"
)

// route is one path and the handlers of the methods it allows. HEAD is served by the GET
// handler (conn drops the body and keeps Content-Length).
type route struct {
	path  string
	allow string // the Allow header for a 405
	get   routeHandler
	post  routeHandler
	key   [proto.MethodCONNECT + 1]string // metrics route keys ("GET /"), computed once
}

type routeHandler func(x *conn.Exchange)

// routeTable maps exact paths to routes.
type routeTable map[string]*route

// buildRoutes lists every built-in route of the server.
func (a *App) buildRoutes() routeTable {
	t := routeTable{}
	add := func(r *route) {
		for m := proto.MethodGET; m <= proto.MethodCONNECT; m++ {
			r.key[m] = m.String() + " " + r.path
		}
		t[r.path] = r
	}
	add(&route{path: "/", allow: "GET, HEAD", get: a.home})
	add(&route{path: "/healthz", allow: "GET, HEAD", get: a.healthz})
	add(&route{path: "/stream", allow: "GET, HEAD", get: a.streamDemo})
	add(&route{path: "/submit", allow: "POST", post: a.submit})
	return t
}

// serve runs the route for x's path, or reports false when no route has that path.
func (t routeTable) serve(x *conn.Exchange) bool {
	r := t[string(x.Req.Path)]
	if r == nil {
		return false
	}
	m := x.Req.Method
	x.Route = r.key[m]
	switch {
	case (m == proto.MethodGET || m == proto.MethodHEAD) && r.get != nil:
		r.get(x)
	case m == proto.MethodPOST && r.post != nil:
		r.post(x)
	default:
		methodNotAllowed(x, r.allow)
	}
	return true
}
