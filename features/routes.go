package features

import (
	"bytes"
	"sort"
	"strings"

	"ownhttp/conn"
	"ownhttp/proto"
)

// buildRoutes lists every route of the server. Patterns are exact paths, paths with {name}
// segments, or a prefix ending in "/*". Metrics use the pattern as the route key, so their
// number stays bounded whatever clients send. HEAD is served by the GET handler (conn drops
// the body and keeps Content-Length).
func (a *App) buildRoutes() *router {
	r := newRouter()
	GET, POST, PUT, DELETE := proto.MethodGET, proto.MethodPOST, proto.MethodPUT, proto.MethodDELETE
	PATCH := proto.MethodPATCH

	// Demo routes and health (issue #2).
	r.add(GET, "/", a.home)
	r.add(GET, "/healthz", a.healthz)
	r.add(GET, "/stream", a.streamDemo)
	r.add(POST, "/submit", a.submit)

	// Static files and metrics (issue #3).
	r.add(GET, "/static/*", a.static)
	r.add(GET, "/_metrics", a.metricsJSON)
	r.add(GET, "/metrics", a.metricsPrometheus)
	if a.cfg.CodeCrafters {
		r.add(GET, "/echo/*", a.ccEcho)
		r.add(GET, "/user-agent", a.ccUserAgent)
		r.add(GET, "/files/{name}", a.ccFileGet)
		r.add(POST, "/files/{name}", a.ccFilePost)
	}

	// Mocks, history, replay, playground API and live events (issue #4).
	r.add(GET, "/api/mocks", a.mockList)
	r.add(POST, "/api/mocks", a.mockCreate)
	r.add(POST, "/api/import", a.importMocks) // issue #17: body bounded by --max-import-bytes
	r.add(GET, "/api/mocks/sources", a.mockSources)
	r.add(POST, "/api/mocks/from-history", a.mocksFromHistory)
	r.add(GET, "/api/mocks/{id}", a.mockGet)
	r.add(GET, "/api/mocks/{id}/faults", a.mockFaults)
	r.add(PUT, "/api/mocks/{id}", a.mockPut)
	r.add(DELETE, "/api/mocks/{id}", a.mockDelete)
	r.add(GET, "/api/history", a.historyList)
	r.add(GET, "/api/history/{id}", a.historyGet)
	r.add(GET, "/api/mock-states", a.mockStateList)
	r.add(GET, "/api/mock-states/{id}", a.mockStateGet)
	r.add(PUT, "/api/mock-states/{id}", a.mockStatePut)
	r.add(DELETE, "/api/mock-states/{id}", a.mockStateDelete)
	r.add(POST, "/api/requests/count", a.requestsCount)
	r.add(POST, "/api/requests/find", a.requestsFind)
	r.add(GET, "/api/requests/unmatched", a.requestsUnmatched)
	r.add(POST, "/api/replay/{request_id}", a.replay)
	r.add(GET, "/api/playground/state", a.playgroundState)
	r.add(POST, "/api/playground/request", a.playgroundRequest)
	r.add(GET, "/api/events/snapshot", a.eventsSnapshot)
	r.add(GET, "/api/events/stream", a.eventsStream)
	r.add(GET, "/api/events/live-mode", a.eventsLiveMode)

	// The control tower and the dashboard (issue #6).
	r.add(GET, "/playground", a.pagePlayground)
	r.add(GET, "/dashboard", a.pageDashboard)
	r.add(GET, "/assets/*", a.pageAsset)

	// Scenarios and runs, targets and the proxy (issue #5).
	r.add(GET, "/api/scenarios", a.scenarioList)
	r.add(POST, "/api/scenarios", a.scenarioCreate)
	r.add(GET, "/api/scenarios/{id}", a.scenarioGet)
	r.add(PUT, "/api/scenarios/{id}", a.scenarioReplace)
	r.add(DELETE, "/api/scenarios/{id}", a.scenarioDelete)
	r.add(POST, "/api/scenarios/{id}/run", a.scenarioRun)
	r.add(GET, "/api/scenarios/{id}/runs", a.scenarioRuns)
	r.add(POST, "/api/scenarios/{id}/runs", a.scenarioRunStore)
	r.add(POST, "/api/history/secrets", a.historySecrets)
	r.add(GET, "/api/scenarios/runs/{run_id}", a.scenarioRunGet)
	r.add(GET, "/api/targets", a.targetList)
	r.add(POST, "/api/targets", a.targetCreate)
	r.add(GET, "/api/targets/{id}", a.targetGet)
	r.add(PUT, "/api/targets/{id}", a.targetUpdate)
	r.add(DELETE, "/api/targets/{id}", a.targetDelete)
	r.add(POST, "/api/targets/{id}/record", a.recordStart)
	r.add(GET, "/api/targets/{id}/record", a.recordStatus)
	r.add(DELETE, "/api/targets/{id}/record", a.recordStop)
	r.add(POST, "/api/proxy/request", a.proxyRequest)

	// Upsert and reset (issue #13).
	r.add(PATCH, "/api/mocks/{id}", a.mockPatch)
	r.add(DELETE, "/api/mocks", a.mockDeleteAll)
	r.add(DELETE, "/api/history", a.historyClear)
	r.add(POST, "/api/reset", a.reset)

	// The lab's own surface answers only to this server's names (origin.go): every /api/
	// route, and these.
	r.own("/_metrics", "/metrics", "/playground", "/dashboard", "/assets/*")
	r.finish()
	return r
}

// params holds the {name} segments of a matched pattern, in order; views into the request
// path, valid during the handler call.
type params [2][]byte

type routeHandler func(x *conn.Exchange, p *params)

const methodSlots = proto.MethodCONNECT + 1

// route is one pattern and the handlers of the methods it allows.
type route struct {
	pattern string
	segs    []string // pattern segments; "{…}" is a parameter, a final "*" matches the rest
	h       [methodSlots]routeHandler
	key     [methodSlots]string // metrics route keys ("GET /api/mocks/{id}")
	allow   string              // the Allow header for a 405
	api     bool                // errors are JSON
	own     bool                // part of the lab's own surface (origin.go); every api route is
	literal int                 // literal segments, for specificity
	wild    bool
}

// router matches exact paths with one map lookup and other patterns by specificity, among
// those whose first segment fits (so a path no pattern can match costs two map lookups).
type router struct {
	exact    map[string]*route
	patterns []*route
	byFirst  map[string][]*route // patterns by their literal first segment, most specific first
	anyFirst []*route            // patterns starting with a parameter or "*"
}

func newRouter() *router { return &router{exact: map[string]*route{}} }

func (r *router) add(m proto.Method, pattern string, h routeHandler) {
	rt := r.find(pattern)
	if rt == nil {
		api := strings.HasPrefix(pattern, "/api/")
		rt = &route{pattern: pattern, api: api, own: api}
		if strings.ContainsAny(pattern, "{*") {
			rt.segs = strings.Split(strings.TrimPrefix(pattern, "/"), "/")
			for _, s := range rt.segs {
				switch {
				case s == "*":
					rt.wild = true
				case strings.HasPrefix(s, "{"):
				default:
					rt.literal++
				}
			}
			r.patterns = append(r.patterns, rt)
		} else {
			r.exact[pattern] = rt
		}
	}
	rt.h[m] = h
}

// find returns the route of pattern, nil when none was added.
func (r *router) find(pattern string) *route {
	if rt := r.exact[pattern]; rt != nil {
		return rt
	}
	for _, rt := range r.patterns {
		if rt.pattern == pattern {
			return rt
		}
	}
	return nil
}

// own marks the routes of patterns, added before, as part of the lab's own surface.
func (r *router) own(patterns ...string) {
	for _, p := range patterns {
		r.find(p).own = true
	}
}

// finish computes Allow headers and route keys and orders patterns most specific first.
func (r *router) finish() {
	all := append([]*route(nil), r.patterns...)
	for _, rt := range r.exact {
		all = append(all, rt)
	}
	for _, rt := range all {
		var allow []string
		for m := proto.MethodGET; m < methodSlots; m++ {
			rt.key[m] = m.String() + " " + rt.pattern
			if rt.h[m] != nil {
				allow = append(allow, m.String())
				if m == proto.MethodGET {
					allow = append(allow, "HEAD")
				}
			}
		}
		rt.allow = strings.Join(allow, ", ")
	}
	sort.SliceStable(r.patterns, func(i, j int) bool {
		a, b := r.patterns[i], r.patterns[j]
		if a.wild != b.wild {
			return !a.wild
		}
		return a.literal > b.literal
	})
	r.byFirst = map[string][]*route{}
	for _, rt := range r.patterns {
		if first := rt.segs[0]; first == "*" || strings.HasPrefix(first, "{") {
			r.anyFirst = append(r.anyFirst, rt)
		} else {
			r.byFirst[first] = append(r.byFirst[first], rt)
		}
	}
}

// match finds the route for path and fills p.
func (r *router) match(path []byte, p *params) *route {
	if rt := r.exact[string(path)]; rt != nil {
		return rt
	}
	first := path
	if len(first) > 0 {
		first = first[1:]
	}
	if i := bytes.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	}
	for _, rt := range r.byFirst[string(first)] {
		if rt.matches(path, p) {
			return rt
		}
	}
	for _, rt := range r.anyFirst {
		if rt.matches(path, p) {
			return rt
		}
	}
	return nil
}

func (rt *route) matches(path []byte, p *params) bool {
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	rest := path[1:]
	n := 0
	for i, seg := range rt.segs {
		if seg == "*" && i == len(rt.segs)-1 {
			if n < len(p) {
				p[n] = rest
			}
			return true
		}
		var part []byte
		if j := bytes.IndexByte(rest, '/'); j >= 0 {
			part, rest = rest[:j], rest[j+1:]
			if i == len(rt.segs)-1 {
				return false // more segments than the pattern has
			}
		} else {
			part, rest = rest, nil
			if i != len(rt.segs)-1 {
				if !(i == len(rt.segs)-2 && rt.segs[i+1] == "*") {
					return false
				}
			}
		}
		if strings.HasPrefix(seg, "{") {
			if len(part) == 0 {
				return false
			}
			if n < len(p) {
				p[n] = part
				n++
			}
		} else if string(part) != seg {
			return false
		}
	}
	return true
}

// serve runs the route for x's path, or reports false when no route has that path. gate
// sees the request first and may answer it instead (reporting true).
func (r *router) serve(x *conn.Exchange, gate func(*conn.Exchange, *route) bool) bool {
	p := (*params)(&x.Params)
	*p = params{}
	rt := r.match(x.Req.Path, p)
	if rt == nil {
		return false
	}
	m := x.Req.Method
	x.Route = rt.key[m]
	if gate(x, rt) {
		return true
	}
	h := rt.h[m]
	if h == nil && m == proto.MethodHEAD {
		h = rt.h[proto.MethodGET]
	}
	if h == nil {
		if rt.api {
			x.Header("Allow", rt.allow)
			writeErr(x, labErr(kindMethodNotAllowed, "method_not_allowed", "method not allowed"))
			return true
		}
		methodNotAllowed(x, rt.allow)
		return true
	}
	h(x, p)
	return true
}
