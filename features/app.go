// Package features is ownhttp's product surface: the routes (routes.go lists every one), the
// built-in demo routes, and the observers that turn finished exchanges into the access log.
// Handlers run on a connection's owner goroutine and never block: work that would block is
// handed to conn.Exchange.Go.
package features

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"ownhttp/conn"
	"ownhttp/features/metrics"
	"ownhttp/proto"
	"ownhttp/state"
)

// Config is what the product surface needs from the command line.
type Config struct {
	Engine    string // "epoll" or "threadpool", reported in logs
	AccessLog bool
	LogJSON   bool // the access log is JSON (latency_ms) rather than plain (duration_ms)
	Logger    *slog.Logger
	// StreamInterval spaces the chunks of GET /stream (they are written as produced).
	StreamInterval time.Duration
	Server         *conn.Server

	// StaticDir is served under /static/ (absent is fine).
	StaticDir string
	// CodeCrafters turns on the CodeCrafters routes; Directory is their file directory.
	CodeCrafters bool
	Directory    string

	// State owns mocks, history and events; nil disables those APIs (503 JSON).
	State *state.Actor
	// CORSOrigins lists origins allowed on mock responses ("*" for any); empty for none. An
	// origin named here (not "*") may also use the API from a browser (origin.go).
	CORSOrigins []string
	// BindHost is the address the server listens on (--host); AllowedHosts are further
	// hosts that name it (--public-host, --allowed-hosts). The lab's own surface answers
	// only to them and to loopback names (origin.go).
	BindHost     string
	AllowedHosts []string
	// EventHeartbeat spaces SSE heartbeat comments.
	EventHeartbeat time.Duration
	// MockSources reports the mock files of --mocks-dir for GET /api/mocks/sources (nil:
	// an empty list).
	MockSources func() any
	// EngineStats reports live engine gauges for metrics (may be nil).
	EngineStats func() EngineStats
	// LogDropped reports the log records dropped because the log's writer could not keep
	// up, for metrics (may be nil).
	LogDropped func() uint64
	// MaxMockBodyBytes caps mock bodies and the playground's manual request bodies.
	MaxMockBodyBytes int
	// MaxImportBytes bounds the input of POST /api/import (the route's body limit too,
	// through IsImportRequest); 0: importer.DefaultMaxBytes.
	MaxImportBytes int64
	// ImportSeed seeds the examples an import generates when the request names no seed.
	ImportSeed int64
	// DefaultChaosSeed seeds a scenario run that names no seed.
	DefaultChaosSeed int64
	// MaxConcurrentRuns bounds scenario runs executing at once (their own pool).
	MaxConcurrentRuns int
	// MaxProxyBodyBytes caps the upstream body the proxy returns (marked truncated).
	MaxProxyBodyBytes int64
	// ProxyAllowPrivate lets the proxy reach loopback and private addresses; link-local and
	// cloud metadata addresses are always refused.
	ProxyAllowPrivate bool
	// DemoToken and RequireDemoToken guard the admin, live and proxy APIs with a bearer token.
	DemoToken        string
	RequireDemoToken bool
	// Outbound runs the blocking work that waits on other servers (proxy calls, the
	// playground's requests) and Files the static and CodeCrafters file opens, each pool
	// bounded on its own so that one kind filling up answers 503 for that kind alone. The
	// rest (admin writes waiting for fsync, file uploads, state round trips) runs on the
	// connection's default pool (Server.Offload). nil: that default pool.
	Outbound conn.Offloader
	Files    conn.Offloader
	// Lifetime is cancelled when the server's drain deadline passes: every outbound call,
	// scenario run and other blocking work derives its context from it, so a stop keeps
	// its deadline whatever is in flight. nil: never cancelled.
	Lifetime context.Context
	// SelfURL returns this server's own base URL ("http://127.0.0.1:8080", or https with TLS)
	// for requests it sends to itself (replay, the playground's local requests, scenario
	// steps); available once the server listens.
	SelfURL func() string
}

// lifetime is Config.Lifetime, or a context never cancelled.
func (a *App) lifetime() context.Context {
	if a.cfg.Lifetime != nil {
		return a.cfg.Lifetime
	}
	return context.Background()
}

// EngineStats are the engine gauges metrics report.
type EngineStats struct {
	ActiveConnections int64
	Accepted          uint64
	Rejected          uint64
}

// App is the conn.Handler for the whole server.
type App struct {
	cfg Config
	// recorder holds the active record-mode session (record.go).
	recorder recorder
	// logSecrets masks the secret values scenario runs registered (issue #18) in the access
	// log; nil until one is registered. Set by registerSecrets, read by accessLog.
	logSecrets atomic.Pointer[strings.Replacer]
	routes     *router
	metrics    *metrics.Registry
	// eventStreams counts the open SSE streams (events.go).
	eventStreams eventStreamLimit
	// proxy is the proxy's upstream client (package upstream), built on first use (proxy.go).
	proxy proxyUpstream
	// hosts name this server for the Host rule; namesOrigins: CORSOrigins names an origin
	// other than "*" (origin.go). Both fixed by New.
	hosts        *hostNames
	namesOrigins bool

	// Scenario runner (scenarios.go): runSlots bounds the runs executing at once, each on a
	// goroutine of its own (never the offload pool, never an event loop).
	runSlots runSlots

	// capture is the journal barrier over the observers (journal.go).
	capture captureSync

	// tickets are the wire faults scenario runs decided for their steps' requests (wire.go).
	tickets chaosTickets
}

// New builds the application.
func New(cfg Config) *App {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, hosts: newOwnHosts(&cfg)}
	for _, o := range cfg.CORSOrigins {
		a.namesOrigins = a.namesOrigins || o != "*"
	}
	a.metrics = metrics.New(cfg.Engine)
	a.runSlots = newRunSlots(cfg.MaxConcurrentRuns)
	a.routes = a.buildRoutes()
	embeddedPages() // the pages' bytes, tags and gzip copies are built at start, not on a loop
	return a
}

// Serve implements conn.Handler.
func (a *App) Serve(x *conn.Exchange) {
	if x.Req.Header(selfHeaderLower) != nil {
		markScenarioStep(x) // a scenario step's request to self carries its run and step ids
		a.applyChaosTicket(x)
	}
	if a.guard(x) { // the demo-token guard (auth.go)
		return
	}
	req := x.Req
	// RFC 9110 §9.3.7: OPTIONS * asks about the server as a whole.
	if req.Method == proto.MethodOPTIONS && string(req.Path) == "*" {
		x.Route = "OPTIONS *"
		x.Header("Allow", allowServer)
		x.Status = 200
		return
	}
	if a.routes.serve(x, a.gate) {
		return
	}
	if a.serveMock(x) {
		return
	}
	a.fallback(x)
}

const allowServer = "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"

// codeBusy is the code of the 503 that answers an API request when the offload pool is full.
const codeBusy = "busy"

// Busy implements conn.BusyReplier: when the offload pool is full, an API route answers 503
// in the API's error shape, anything else in plain text; both say when to retry.
func (a *App) Busy(x *conn.Exchange, r *conn.Reply) {
	r.Header("Retry-After", "1")
	if bytes.HasPrefix(x.Req.Path, []byte("/api/")) {
		answerErr(r, labErr(state.KindUnavailable, codeBusy, "the server is busy; retry shortly"))
		return
	}
	r.Text(503, textPlain, []byte("Service Unavailable"))
}

// fallback answers paths no route claims (spec §1.11): GET, HEAD and POST get 404; any other
// method gets 405 with Allow: GET, HEAD, POST. A request a mock of its method would have
// answered but for its criteria gets the near-miss 404 instead, whatever its method (#14).
// While a target records (record.go), such requests go to it instead.
func (a *App) fallback(x *conn.Exchange) {
	if bytes.HasPrefix(x.Req.Path, []byte("/api/")) {
		x.Route = "404"
		writeErr(x, labErr(state.KindNotFound, state.CodeNotFound, "endpoint not found"))
		return
	}
	if a.recordThrough(x) {
		return
	}
	switch x.Req.Method {
	case proto.MethodGET, proto.MethodHEAD, proto.MethodPOST:
		x.Route = state.RouteUnmatched
		if a.answerNearMiss(x, true) {
			return
		}
		x.Text(404, textPlain, notFound)
	default:
		x.Route = state.RouteUnmatched
		if a.answerNearMiss(x, false) {
			return
		}
		x.Route = "405"
		methodNotAllowed(x, "GET, HEAD, POST")
	}
}

const textPlain = "text/plain; charset=utf-8"

var (
	notFound          = []byte("Not Found")
	methodNotAllowedB = []byte("Method Not Allowed")
)

func methodNotAllowed(x *conn.Exchange, allow string) {
	x.Header("Allow", allow)
	x.Text(405, textPlain, methodNotAllowedB)
}
