// Command ownhttp is an HTTP/1.1 server written from raw sockets with an API lab on top:
// dynamic mocks, request history and replay, scenario runs, proxy targets and a live event
// stream. See README.md.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	oklog "github.com/oklog/run"
	"github.com/peterbourgon/ff/v3"

	"ownhttp/conn"
	"ownhttp/features"
	"ownhttp/loop"
	"ownhttp/proto"
	"ownhttp/state"
)

func main() {
	stopProfile := startProfile()
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(exitCode)): // the scenario CLI's own status; its message is written
		var code exitCode
		errors.As(err, &code)
		os.Exit(int(code))
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "ownhttp:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "ownhttp:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// options are the server's flags after parsing.
type options struct {
	host                 string
	port                 int
	engine               string
	reactors             int
	workers              int
	queueSize            int
	maxConnections       int
	keepAliveTimeout     time.Duration
	headerTimeout        time.Duration
	maxKeepAliveRequests int
	maxHeaderBytes       int
	maxBodyBytes         int64
	maxTargetLength      int
	drainTimeout         time.Duration
	logFormat            string
	accessLog            bool

	staticDir        string
	enableTLS        bool
	certFile         string
	keyFile          string
	httpsPort        int
	redirectHTTP     bool
	publicHost       string
	handshakeTimeout time.Duration
	codecrafters     bool
	directory        string

	stateFile          string
	historyLimit       int
	eventBufferSize    int
	eventHeartbeatSecs int
	maxMockBodyBytes   int
	maxMockRoutes      int
	corsOrigins        string

	scenarioStateFile  string
	targetStateFile    string
	maxScenarios       int
	maxSteps           int
	maxAssertions      int
	maxStepDelay       time.Duration
	maxRunsPerScenario int
	defaultChaosSeed   int64
	maxConcurrentRuns  int
	maxTargets         int
	maxProxyBodyBytes  int64
	proxyAllowPrivate  bool
	demoToken          string
	requireDemoToken   bool
	allowOpenAdmin     bool
}

const envPrefix = "OWNHTTP"

// parseFlags reads flags, then OWNHTTP_* environment variables for flags not given, then PORT
// for the port when neither --port nor OWNHTTP_PORT is set.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("ownhttp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.host, "host", "127.0.0.1", "address to listen on")
	fs.IntVar(&o.port, "port", 8080, "port to listen on (0 picks a free port; PORT is honoured when neither this nor OWNHTTP_PORT is set)")
	fs.StringVar(&o.engine, "engine", "epoll", "engine: epoll (selectors is an alias) or threadpool")
	fs.IntVar(&o.reactors, "reactors", runtime.GOMAXPROCS(0), "event loops of the epoll engine")
	fs.IntVar(&o.workers, "workers", 16, "worker slots of the threadpool engine")
	fs.IntVar(&o.queueSize, "queue-size", 1024, "connections that may wait for a threadpool worker before 503")
	fs.IntVar(&o.maxConnections, "max-connections", loop.DefaultMaxConnections(), "open connections before 503 (default from the open-files limit)")
	fs.DurationVar(&o.keepAliveTimeout, "keepalive-timeout", 10*time.Second, "idle time allowed between requests on a connection")
	fs.DurationVar(&o.headerTimeout, "header-timeout", 10*time.Second, "time allowed for a whole request head (408 past it)")
	fs.IntVar(&o.maxKeepAliveRequests, "max-keepalive-requests", 1000, "requests served on one connection before it closes")
	fs.IntVar(&o.maxHeaderBytes, "max-header-bytes", proto.DefaultMaxHeaderBytes, "largest request head in bytes (431 past it)")
	fs.Int64Var(&o.maxBodyBytes, "max-body-bytes", proto.DefaultMaxBodyBytes, "largest request body in bytes (413 past it)")
	fs.IntVar(&o.maxTargetLength, "max-target-length", proto.DefaultMaxTargetLength, "longest request target in bytes (414 past it)")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Second, "how long a shutdown waits for in-flight requests")
	fs.StringVar(&o.logFormat, "log-format", "plain", "log format: plain or json")
	fs.BoolVar(&o.accessLog, "access-log", true, "write one access-log line per response")

	fs.StringVar(&o.staticDir, "static-dir", "static", "directory served under /static/ (absent is fine)")
	fs.BoolVar(&o.enableTLS, "enable-tls", false, "serve HTTPS on --https-port (a development certificate is made under certs/ when no files are given)")
	fs.StringVar(&o.certFile, "cert-file", "", "TLS certificate (PEM)")
	fs.StringVar(&o.keyFile, "key-file", "", "TLS private key (PEM)")
	fs.IntVar(&o.httpsPort, "https-port", 8443, "HTTPS port with --enable-tls")
	fs.BoolVar(&o.redirectHTTP, "redirect-http", true, "with TLS, answer the plain port with 308 redirects to HTTPS")
	fs.StringVar(&o.publicHost, "public-host", "", "host name that names this server in redirects")
	fs.DurationVar(&o.handshakeTimeout, "handshake-timeout", 5*time.Second, "time allowed for a TLS handshake")
	fs.BoolVar(&o.codecrafters, "codecrafters-mode", false, "serve the CodeCrafters routes (default port 4221)")
	fs.StringVar(&o.directory, "directory", "", "directory of the CodeCrafters /files/ routes")

	fs.StringVar(&o.stateFile, "state-file", "data/server_state.json", "mocks and history file")
	fs.IntVar(&o.historyLimit, "history-limit", 500, "history entries kept")
	fs.IntVar(&o.eventBufferSize, "event-buffer-size", 5000, "live events kept (at least 100)")
	fs.IntVar(&o.eventHeartbeatSecs, "event-heartbeat-secs", 5, "seconds between SSE heartbeat comments")
	fs.IntVar(&o.maxMockBodyBytes, "max-mock-body-bytes", 262144, "largest mock body in bytes")
	fs.IntVar(&o.maxMockRoutes, "max-mock-routes", 200, "most mocks")
	fs.StringVar(&o.corsOrigins, "cors-origins", "", "origins allowed on mock responses: a comma list, or *")

	fs.StringVar(&o.scenarioStateFile, "scenario-state-file", "data/scenarios_state.json", "scenarios and runs file")
	fs.StringVar(&o.targetStateFile, "target-state-file", "data/targets_state.json", "proxy targets file")
	fs.IntVar(&o.maxScenarios, "max-scenarios", 100, "most scenarios")
	fs.IntVar(&o.maxSteps, "max-steps-per-scenario", 50, "most steps in one scenario")
	fs.IntVar(&o.maxAssertions, "max-assertions-per-step", 20, "most assertions in one step")
	fs.DurationVar(&o.maxStepDelay, "max-step-delay", 30*time.Second, "longest delay_ms a step may ask for")
	fs.IntVar(&o.maxRunsPerScenario, "max-runs-per-scenario", 50, "runs kept per scenario (newest)")
	fs.Int64Var(&o.defaultChaosSeed, "default-chaos-seed", 1337, "chaos seed of a run that gives none")
	fs.IntVar(&o.maxConcurrentRuns, "max-concurrent-runs", 4, "scenario runs executing at once (more get 503)")
	fs.IntVar(&o.maxTargets, "max-targets", 50, "most proxy targets")
	fs.Int64Var(&o.maxProxyBodyBytes, "max-proxy-body-bytes", 1<<20, "largest upstream body the proxy returns (longer ones are truncated)")
	fs.BoolVar(&o.proxyAllowPrivate, "proxy-allow-private", false, "let the proxy reach loopback and private addresses (default: on when --host is a loopback address)")
	fs.StringVar(&o.demoToken, "demo-token", "", "bearer token for the admin, live and proxy APIs")
	fs.BoolVar(&o.requireDemoToken, "require-demo-token", false, "require the demo token on the admin, live and proxy APIs")
	fs.BoolVar(&o.allowOpenAdmin, "allow-open-admin", false, "allow a non-loopback --host without a --demo-token")

	err := ff.Parse(fs, args, ff.WithEnvVarPrefix(envPrefix))
	if errors.Is(err, flag.ErrHelp) {
		printUsage(fs, stderr)
		return nil, err
	}
	if err != nil {
		return nil, usageError{oneLine(err.Error())}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	}
	portSet := false
	fs.Visit(func(f *flag.Flag) { portSet = portSet || f.Name == "port" })
	if p := os.Getenv("PORT"); !portSet && p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, usagef("PORT=%q is not a port number", p)
		}
		o.port = n
		portSet = true
	}
	if o.codecrafters && !portSet {
		o.port = 4221
	}
	privateSet := false
	fs.Visit(func(f *flag.Flag) { privateSet = privateSet || f.Name == "proxy-allow-private" })
	if !privateSet {
		o.proxyAllowPrivate = isLoopbackHost(o.host)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *options) validate() error {
	switch o.engine {
	case "epoll", "threadpool":
	case "selectors":
		o.engine = "epoll"
	default:
		return usagef("engine %q (--engine or OWNHTTP_ENGINE): want epoll, selectors or threadpool", o.engine)
	}
	switch o.logFormat {
	case "plain", "json":
	default:
		return usagef("log format %q (--log-format or OWNHTTP_LOG_FORMAT): want plain or json", o.logFormat)
	}
	if o.port < 0 || o.port > 65535 {
		return usagef("port %d (--port, OWNHTTP_PORT or PORT): want 0..65535", o.port)
	}
	positive := map[string]int64{
		"--reactors": int64(o.reactors), "--workers": int64(o.workers), "--queue-size": int64(o.queueSize),
		"--max-connections": int64(o.maxConnections), "--keepalive-timeout": int64(o.keepAliveTimeout),
		"--header-timeout": int64(o.headerTimeout), "--max-keepalive-requests": int64(o.maxKeepAliveRequests),
		"--max-header-bytes": int64(o.maxHeaderBytes), "--max-body-bytes": o.maxBodyBytes,
		"--max-target-length": int64(o.maxTargetLength), "--drain-timeout": int64(o.drainTimeout),
		"--handshake-timeout": int64(o.handshakeTimeout), "--history-limit": int64(o.historyLimit),
		"--event-buffer-size": int64(o.eventBufferSize), "--event-heartbeat-secs": int64(o.eventHeartbeatSecs),
		"--max-mock-body-bytes": int64(o.maxMockBodyBytes), "--max-mock-routes": int64(o.maxMockRoutes),
		"--max-scenarios": int64(o.maxScenarios), "--max-steps-per-scenario": int64(o.maxSteps),
		"--max-assertions-per-step": int64(o.maxAssertions), "--max-step-delay": int64(o.maxStepDelay),
		"--max-runs-per-scenario": int64(o.maxRunsPerScenario), "--max-concurrent-runs": int64(o.maxConcurrentRuns),
		"--max-targets": int64(o.maxTargets), "--max-proxy-body-bytes": o.maxProxyBodyBytes,
	}
	for _, name := range []string{"--reactors", "--workers", "--queue-size", "--max-connections",
		"--keepalive-timeout", "--header-timeout", "--max-keepalive-requests", "--max-header-bytes",
		"--max-body-bytes", "--max-target-length", "--drain-timeout", "--handshake-timeout",
		"--history-limit", "--event-buffer-size", "--event-heartbeat-secs", "--max-mock-body-bytes",
		"--max-mock-routes", "--max-scenarios", "--max-steps-per-scenario", "--max-assertions-per-step",
		"--max-step-delay", "--max-runs-per-scenario", "--max-concurrent-runs", "--max-targets",
		"--max-proxy-body-bytes"} {
		if positive[name] <= 0 {
			return usagef("%s must be positive", name)
		}
	}
	if o.httpsPort < 0 || o.httpsPort > 65535 {
		return usagef("https port %d (--https-port or OWNHTTP_HTTPS_PORT): want 0..65535", o.httpsPort)
	}
	if o.requireDemoToken && o.demoToken == "" {
		return usagef("--require-demo-token needs --demo-token (or OWNHTTP_DEMO_TOKEN)")
	}
	if !isLoopbackHost(o.host) && o.demoToken == "" && !o.allowOpenAdmin {
		return usagef("refusing to serve open admin APIs on %s: set --demo-token (OWNHTTP_DEMO_TOKEN), or --allow-open-admin", o.host)
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return usagef("--cert-file and --key-file go together")
	}
	if o.maxHeaderBytes < 256 {
		return usagef("--max-header-bytes %d: want at least 256", o.maxHeaderBytes)
	}
	return nil
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage: ownhttp [flags]\n\nEvery flag can also be set by an environment variable (flags win).\n\n")
	fs.VisitAll(func(f *flag.Flag) {
		env := envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		fmt.Fprintf(w, "  --%s (env %s, default %q)\n      %s\n", f.Name, env, f.DefValue, f.Usage)
	})
}

// run is the whole program: parse flags, build the server and serve until ctx ends or a
// SIGINT/SIGTERM arrives, then drain and return nil. Subcommands hang off the first argument.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "certs":
			return runCerts(args[1:], stdout)
		case "scenario":
			return runScenarioCLI(ctx, args[1:], stdout, stderr)
		case "bench":
			return runBenchCLI(ctx, args[1:], stdout, stderr)
		}
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if o.logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	logger := slog.New(handler)

	actor, err := state.New(state.Config{StateFile: o.stateFile, HistoryLimit: o.historyLimit,
		EventBufferSize: o.eventBufferSize, MaxMocks: o.maxMockRoutes, MaxMockBodyBytes: o.maxMockBodyBytes,
		Engine: o.engine, LiveEvents: true, ScenarioFile: o.scenarioStateFile, TargetFile: o.targetStateFile,
		MaxScenarios: o.maxScenarios, MaxSteps: o.maxSteps, MaxAssertions: o.maxAssertions,
		MaxStepDelay: o.maxStepDelay, MaxRunsPerScenario: o.maxRunsPerScenario, MaxTargets: o.maxTargets}, logger)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}

	offload := loop.NewOffload(64, 1024)
	defer offload.Stop()
	var key [8]byte
	rand.Read(key[:])
	newServer := func() *conn.Server {
		return &conn.Server{
			Limits: proto.Limits{MaxHeaderBytes: o.maxHeaderBytes, MaxTargetLength: o.maxTargetLength,
				MaxBodyBytes: o.maxBodyBytes},
			KeepAliveTimeout:     o.keepAliveTimeout,
			HeaderTimeout:        o.headerTimeout,
			MaxKeepAliveRequests: o.maxKeepAliveRequests,
			Offload:              offload,
			Logger:               logger,
			TraceKey:             binary.LittleEndian.Uint64(key[:]),
		}
	}
	srv := newServer()
	var engines []loop.Engine
	appCfg := features.Config{Engine: o.engine, AccessLog: o.accessLog, LogJSON: o.logFormat == "json",
		Logger: logger, Server: srv, StreamInterval: 50 * time.Millisecond, StaticDir: o.staticDir,
		CodeCrafters: o.codecrafters, Directory: o.directory, State: actor,
		CORSOrigins: splitList(o.corsOrigins), EventHeartbeat: time.Duration(o.eventHeartbeatSecs) * time.Second,
		MaxMockBodyBytes: o.maxMockBodyBytes, DefaultChaosSeed: o.defaultChaosSeed, MaxConcurrentRuns: o.maxConcurrentRuns,
		MaxProxyBodyBytes: o.maxProxyBodyBytes, ProxyAllowPrivate: o.proxyAllowPrivate,
		DemoToken: o.demoToken, RequireDemoToken: o.requireDemoToken || o.demoToken != "",
		EngineStats: func() features.EngineStats {
			var st features.EngineStats
			for _, e := range engines {
				s := e.Stats()
				st.ActiveConnections += s.ActiveConnections
				st.Accepted += s.Accepted
				st.Rejected += s.Rejected
			}
			return st
		},
		SelfURL: func() string {
			scheme := "http"
			if o.enableTLS {
				scheme = "https"
			}
			return scheme + "://" + engines[0].Addr().String()
		}}
	app := features.New(appCfg)
	srv.Handler = app
	srv.Defaults()

	cfg := loop.Config{Host: o.host, Port: o.port, Reactors: o.reactors, Workers: o.workers,
		QueueSize: o.queueSize, MaxConnections: o.maxConnections, Server: srv,
		NewObserver: app.NewObserver, Logger: logger}
	listen := func(cfg loop.Config) (loop.Engine, error) {
		if o.engine == "threadpool" {
			return loop.ListenPool(cfg)
		}
		return loop.Listen(cfg)
	}
	closeAll := func() {
		for _, e := range engines {
			e.Stop()
		}
	}
	if o.enableTLS {
		tlsConfig, err := loadTLS(o, stdout)
		if err != nil {
			return err
		}
		tcfg := cfg
		tcfg.Port = o.httpsPort
		tcfg.HandshakeFailed = func(err error) {
			attrs := []any{"error", err.Error()}
			if he := (*loop.HandshakeError)(nil); errors.As(err, &he) {
				attrs = append(attrs, "client", he.Remote.String(), "reason", he.Reason)
			}
			logger.Warn("tls_handshake_failed", attrs...)
			app.CountError("tls_handshake")
		}
		eng, err := loop.ListenTLS(tcfg, tlsConfig, o.handshakeTimeout)
		if err != nil {
			return fmt.Errorf("listen https: %w", err)
		}
		engines = append(engines, eng)
		if o.redirectHTTP {
			rsrv := newServer()
			rsrv.Handler = features.NewRedirect(features.RedirectConfig{BindHost: o.host,
				PublicHost: o.publicHost, HTTPSPort: int(eng.Addr().Port())})
			rsrv.Defaults()
			rcfg := cfg
			rcfg.Server = rsrv
			rcfg.Reactors = 1
			rcfg.NewObserver = nil
			reng, err := listen(rcfg)
			if err != nil {
				closeAll()
				return fmt.Errorf("listen http: %w", err)
			}
			engines = append(engines, reng)
		}
	} else {
		eng, err := listen(cfg)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		engines = append(engines, eng)
	}
	for _, e := range engines {
		scheme := "http"
		if o.enableTLS && e == engines[0] {
			scheme = "https"
		}
		logger.Info("listening", "addr", e.Addr().String(), "engine", e.Name(),
			"url", scheme+"://"+e.Addr().String()+"/")
	}

	engineDone := make(chan struct{})
	var g oklog.Group
	{
		var once sync.Once
		g.Add(func() error {
			defer close(engineDone)
			errs := make(chan error, len(engines))
			for _, e := range engines {
				go func() { errs <- e.Serve() }()
			}
			var err error
			for range engines {
				err = errors.Join(err, <-errs)
			}
			return err
		}, func(error) {
			once.Do(func() {
				logger.Info("draining", "timeout", o.drainTimeout.String())
				for _, e := range engines {
					e.Drain()
				}
				go func() {
					// Past the drain timeout, whatever is still open is closed.
					t := time.NewTimer(o.drainTimeout)
					defer t.Stop()
					select {
					case <-t.C:
						closeAll()
					case <-engineDone:
					}
				}()
			})
		})
	}
	{
		// The state actor stops after the engines, so the last requests reach history and
		// the final flush.
		g.Add(func() error {
			return actor.Run(context.Background())
		}, func(error) {
			go func() {
				<-engineDone
				actor.Interrupt(nil)
			}()
		})
	}
	g.Add(oklog.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))

	err = g.Run()
	var sig *oklog.SignalError
	switch {
	case errors.As(err, &sig) && sig != nil:
		logger.Info("signal_received", "signal", fmt.Sprint(sig.Signal), "action", "drain_and_stop")
		err = nil
	case errors.Is(err, oklog.ErrSignal):
		err = nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		err = nil
	}
	logger.Info("stopped")
	return err
}

// loadTLS loads the configured certificate, or the development one (made when missing).
func loadTLS(o *options, stdout io.Writer) (*tls.Config, error) {
	certFile, keyFile := o.certFile, o.keyFile
	if certFile == "" {
		var err error
		certFile, keyFile, err = loop.DevCertificate("certs")
		if err != nil {
			return nil, fmt.Errorf("development certificate: %w", err)
		}
	}
	cfg, err := loop.ServerTLSConfig(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return cfg, nil
}

// runCerts is "ownhttp certs --dir DIR": make a development certificate on demand.
func runCerts(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ownhttp certs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "certs", "directory for dev-cert.pem and dev-key.pem")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: ownhttp certs [--dir DIR]  (makes DIR/dev-cert.pem and DIR/dev-key.pem)")
			return err
		}
		return usageError{oneLine(err.Error())}
	}
	certFile, keyFile, err := loop.DevCertificate(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "certificate: %s\nkey: %s\n", certFile, keyFile)
	return nil
}

// isLoopbackHost reports whether host is a loopback address or "localhost".
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
