// Command ownhttp is an HTTP/1.1 server written from raw sockets with an API lab on top:
// dynamic mocks, request history and replay, scenario runs, proxy targets and a live event
// stream. See README.md.
//
// This file is the wiring: it builds the state actor, the application and the engines from
// the options (flags.go) and supervises them in one oklog/run group. Subcommands live in cli.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // time zones named in mock templates resolve on machines without zoneinfo

	oklog "github.com/oklog/run"

	"ownhttp/cli"
	"ownhttp/conn"
	"ownhttp/features"
	"ownhttp/features/mockfiles"
	"ownhttp/internal/atomicfile"
	"ownhttp/internal/logwriter"
	"ownhttp/internal/memtrim"
	"ownhttp/loop"
	"ownhttp/proto"
	"ownhttp/state"
)

func main() {
	stopProfile := startProfile()
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil)
	stopProfile()
	var code cli.ExitCode
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &code): // a subcommand's own status; its message is written
		os.Exit(int(code))
	case errors.As(err, new(cli.UsageError)):
		fmt.Fprintln(os.Stderr, "ownhttp:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "ownhttp:", err)
		os.Exit(1)
	}
}

// run is the whole program: parse flags, build the server and serve until ctx ends or a
// SIGINT/SIGTERM arrives, then drain and return nil. Subcommands hang off the first argument.
//
// ready, when not nil, is called once, on run's goroutine, with the bound listeners after
// they are bound and their log lines queued, and before serving starts (connections made
// from then on wait in the listen backlog). It is not called when run fails before binding.
// --ready-file writes the same description to a file for a parent process. Everything run
// logs has reached stderr when it returns, unless stderr stayed blocked for logFlushWait.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(loop.Bound)) error {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintln(stdout, versionText())
		return nil
	}
	if len(args) > 0 && args[0] == configCommand.Name {
		return runConfig(args[1:], stdout, stderr)
	}
	if len(args) > 0 && cli.IsCommand(args[0]) {
		return cli.Run(ctx, args, stdout, stderr, cli.Env{Serve: serveForCLI, DevCertificate: loop.DevCertificate})
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// The log goes through a bounded queue, so a stderr nobody reads never blocks a loop;
	// what does not fit is dropped and counted (log_dropped_total). Deferred first, the
	// flush runs last: every line run logs, "stopped" included, reaches stderr unless it
	// stays blocked for logFlushWait.
	logOut := logwriter.New(stderr, logQueueBytes)
	defer logOut.Close(logFlushWait) // a stderr still blocked has nowhere to report that
	var handler slog.Handler = slog.NewTextHandler(logOut, nil)
	if o.logFormat == "json" {
		handler = slog.NewJSONHandler(logOut, nil)
	}
	logger := slog.New(handler)

	actor, err := state.New(state.Config{StateFile: o.stateFile, HistoryLimit: o.historyLimit, MaxHistoryBodyBytes: o.historyBodyBytes,
		EventBufferSize: o.eventBufferSize, MaxMocks: o.maxMockRoutes, MaxMockBodyBytes: o.maxMockBodyBytes,
		Engine: o.engine, LiveEvents: true, ScenarioFile: o.scenarioStateFile, TargetFile: o.targetStateFile,
		MaxScenarios: o.maxScenarios, MaxSteps: o.maxSteps, MaxAssertions: o.maxAssertions,
		MaxStepDelay: o.maxStepDelay, MaxRunsPerScenario: o.maxRunsPerScenario, MaxTargets: o.maxTargets,
		MockTemplates: o.mockTemplates, MockSeed: o.seed, PersistMockState: o.persistMockState}, logger)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	lifetime, endLifetime := context.WithCancel(context.Background())
	defer endLifetime()
	var mockFiles *mockfiles.Watcher
	if len(o.mocksDirs) > 0 {
		mockFiles = mockfiles.New(mockfiles.Config{Dirs: o.mocksDirs, Actor: actor, Logger: logger,
			Poll: o.mocksPoll > 0, Interval: o.mocksPoll})
		if err := mockFiles.Load(); err != nil {
			return fmt.Errorf("--mocks-dir: %w", err)
		}
	}
	s := &server{o: o, logger: logger, logDropped: logOut.Dropped, actor: actor, mockFiles: mockFiles,
		lifetime: lifetime, endLifetime: endLifetime,
		admin: newPool(o.adminWorkers), outbound: newPool(o.outboundWorkers), files: newPool(o.fileWorkers)}
	defer s.stopPools(-1) // on an early return; idempotent
	if err := s.listen(); err != nil {
		return err
	}
	bound := s.bound()
	for i, l := range bound.Listeners {
		logger.Info("listening", "addr", l.Addr.String(), "engine", s.engines[i].Name(), "url", l.URL+"/")
	}
	if o.readyFile != "" {
		b, _ := json.Marshal(bound) // strings and addresses cannot fail
		if err := atomicfile.Write(o.readyFile, append(b, '\n'), 0o644); err != nil {
			s.abandon()
			return fmt.Errorf("--ready-file: %w", err)
		}
		defer os.Remove(o.readyFile)
	}
	if ready != nil {
		ready(bound)
	}
	err = s.serve(ctx)
	s.endLifetime() // whatever still runs off the loops ends now
	if s.stopPools(stopGrace) {
		logger.Info("stopped")
	} else {
		logger.Warn("stopped_with_work_abandoned", "waited", stopGrace.String())
	}
	return err
}

// stopGrace is how long a stop waits, after the drain, for blocking work to see the end of
// the server's lifetime and return.
const stopGrace = time.Second

// poolQueuePerWorker is how many tasks wait per worker of a pool before it answers 503.
const poolQueuePerWorker = 16

// newPool starts a pool of blocking work with workers goroutines.
func newPool(workers int) *loop.Offload {
	return loop.NewOffload(workers, workers*poolQueuePerWorker)
}

// The log's queue: logQueueBytes of records wait for stderr (a few thousand access-log
// lines), and at the end run waits at most logFlushWait for them to be written.
const (
	logQueueBytes = 1 << 20
	logFlushWait  = time.Second
)

// serveForCLI is cli.Env.Serve: run in this process, its log on stderr, ready told the base URL.
func serveForCLI(ctx context.Context, args []string, stderr io.Writer, ready func(string)) error {
	return run(ctx, args, io.Discard, stderr, func(b loop.Bound) { ready(b.URL()) })
}

// server is one running server: its engines (the application's first; with TLS and
// --redirect-http, the redirecting plain listener second) and what they share. run owns it.
type server struct {
	o          *options
	logger     *slog.Logger
	logDropped func() uint64 // log records dropped by the log's queue
	actor      *state.Actor
	mockFiles  *mockfiles.Watcher // nil without --mocks-dir
	// admin (the connections' default), outbound and files run blocking work by kind,
	// each bounded on its own (features.Config).
	admin, outbound, files *loop.Offload
	// lifetime is cancelled by endLifetime at the drain deadline or once serving is over.
	lifetime    context.Context
	endLifetime context.CancelFunc
	app         *features.App
	engines     []loop.Engine
}

// stopPools stops every pool, waiting at most d in all (d < 0: as long as it takes), and
// reports whether all of them finished.
func (s *server) stopPools(d time.Duration) bool {
	deadline := time.Now().Add(d)
	ok := true
	for _, p := range []*loop.Offload{s.admin, s.outbound, s.files} {
		wait := time.Until(deadline)
		if d < 0 {
			wait = -1
		} else if wait < 0 {
			wait = 0
		}
		ok = p.StopWithin(wait) && ok
	}
	return ok
}

// newConn is the connection layer's configuration shared by every listener.
func (s *server) newConn(traceKey uint64) *conn.Server {
	o := s.o
	return &conn.Server{
		Limits: proto.Limits{MaxHeaderBytes: o.maxHeaderBytes, MaxTargetLength: o.maxTargetLength,
			MaxBodyBytes: o.maxBodyBytes, LargeBody: features.IsImportRequest, MaxLargeBodyBytes: o.maxImportBytes},
		KeepAliveTimeout:     o.keepAliveTimeout,
		HeaderTimeout:        o.headerTimeout,
		BodyTimeout:          o.bodyTimeout,
		MaxKeepAliveRequests: o.maxKeepAliveRequests,
		Offload:              s.admin,
		Logger:               s.logger,
		TraceKey:             traceKey,
	}
}

// listen builds the application and binds its listeners; on error nothing stays bound.
func (s *server) listen() error {
	o := s.o
	var key [8]byte
	rand.Read(key[:])
	traceKey := binary.LittleEndian.Uint64(key[:])
	srv := s.newConn(traceKey)
	s.app = features.New(features.Config{Engine: o.engine, AccessLog: o.accessLog, LogJSON: o.logFormat == "json",
		Logger: s.logger, Server: srv, StreamInterval: 50 * time.Millisecond, StaticDir: o.staticDir,
		CodeCrafters: o.codecrafters, Directory: o.directory, State: s.actor,
		CORSOrigins: splitList(o.corsOrigins), BindHost: o.host,
		AllowedHosts: append(splitList(o.allowedHosts), o.publicHost), EventHeartbeat: time.Duration(o.eventHeartbeatSecs) * time.Second,
		MaxMockBodyBytes: o.maxMockBodyBytes, MaxImportBytes: o.maxImportBytes, ImportSeed: o.seed, DefaultChaosSeed: o.defaultChaosSeed, MaxConcurrentRuns: o.maxConcurrentRuns,
		MaxProxyBodyBytes: o.maxProxyBodyBytes, ProxyAllowPrivate: o.proxyAllowPrivate,
		DemoToken: o.demoToken, RequireDemoToken: o.requireDemoToken || o.demoToken != "",
		Outbound: s.outbound, Files: s.files, Lifetime: s.lifetime,
		MockSources: s.mockSources, EngineStats: s.engineStats, LogDropped: s.logDropped, SelfURL: func() string { return s.bound().URL() }})
	srv.Handler = s.app
	srv.Defaults()

	cfg := loop.Config{Host: o.host, Port: o.port, Reactors: o.reactors, Workers: o.workers,
		QueueSize: o.queueSize, MaxConnections: o.maxConnections, Server: srv,
		NewObserver: s.app.NewObserver, Logger: s.logger}
	if !o.enableTLS {
		eng, err := s.listenPlain(cfg)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		s.engines = append(s.engines, eng)
		return nil
	}
	tlsConfig, err := loadTLS(o)
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
		s.logger.Warn("tls_handshake_failed", attrs...)
		s.app.CountError("tls_handshake")
	}
	eng, err := loop.ListenTLS(tcfg, tlsConfig, o.handshakeTimeout)
	if err != nil {
		return fmt.Errorf("listen https: %w", err)
	}
	s.engines = append(s.engines, eng)
	if !o.redirectHTTP {
		return nil
	}
	rsrv := s.newConn(traceKey)
	rsrv.Handler = features.NewRedirect(features.RedirectConfig{BindHost: o.host,
		PublicHost: o.publicHost, HTTPSPort: int(eng.Addr().Port())})
	rsrv.Defaults()
	rcfg := cfg
	rcfg.Server = rsrv
	rcfg.Reactors = 1
	rcfg.NewObserver = nil
	reng, err := s.listenPlain(rcfg)
	if err != nil {
		s.abandon()
		return fmt.Errorf("listen http: %w", err)
	}
	s.engines = append(s.engines, reng)
	return nil
}

// listenPlain binds a plain-HTTP listener on the configured engine.
func (s *server) listenPlain(cfg loop.Config) (loop.Engine, error) {
	if s.o.engine == "threadpool" {
		return loop.ListenPool(cfg)
	}
	return loop.Listen(cfg)
}

// bound describes the bound listeners, in the order of s.engines.
func (s *server) bound() loop.Bound {
	b := loop.Bound{Engine: s.o.engine}
	for i, e := range s.engines {
		role := loop.RoleHTTP
		switch {
		case s.o.enableTLS && i == 0:
			role = loop.RoleHTTPS
		case s.o.enableTLS:
			role = loop.RoleRedirect
		}
		b.Listeners = append(b.Listeners, loop.NewBoundListener(role, e.Addr()))
	}
	return b
}

// engineStats sums the live gauges of every engine.
func (s *server) engineStats() features.EngineStats {
	var st features.EngineStats
	for _, e := range s.engines {
		g := e.Stats()
		st.ActiveConnections += g.ActiveConnections
		st.Accepted += g.Accepted
		st.Rejected += g.Rejected
	}
	return st
}

// stopAll closes every engine's connections now.
func (s *server) stopAll() {
	for _, e := range s.engines {
		e.Stop()
	}
}

// abandon releases engines that were bound but will never serve: stopped first, each Serve
// returns at once and closes the engine's descriptors.
func (s *server) abandon() {
	s.stopAll()
	for _, e := range s.engines {
		e.Serve()
	}
}

// serve runs the engines and the state actor in one oklog/run group until ctx ends, a
// SIGINT/SIGTERM arrives or an engine fails; then the engines drain (for at most
// --drain-timeout) and the actor stops after them, so the last requests reach history and
// the final flush. A signal or the end of ctx is a clean stop (nil).
func (s *server) serve(ctx context.Context) error {
	engineDone := make(chan struct{})
	var g oklog.Group
	var once sync.Once
	g.Add(func() error {
		defer close(engineDone)
		errs := make(chan error, len(s.engines))
		for _, e := range s.engines {
			go func() { errs <- e.Serve() }()
		}
		var err error
		for range s.engines {
			err = errors.Join(err, <-errs)
		}
		return err
	}, func(error) {
		once.Do(func() {
			s.logger.Info("draining", "timeout", s.o.drainTimeout.String())
			for _, e := range s.engines {
				e.Drain()
			}
			go func() {
				// Past the drain timeout, whatever is still open is closed.
				t := time.NewTimer(s.o.drainTimeout)
				defer t.Stop()
				select {
				case <-t.C:
					s.endLifetime()
					s.stopAll()
				case <-engineDone:
				}
			}()
		})
	})
	g.Add(func() error {
		return s.actor.Run(context.Background())
	}, func(error) {
		go func() {
			<-engineDone
			s.actor.Interrupt(nil)
		}()
	})
	if s.mockFiles != nil {
		g.Add(func() error { return s.mockFiles.Run(s.lifetime) }, s.mockFiles.Interrupt)
	}
	trim := memtrim.New() // an idle server gives a burst's memory back
	g.Add(trim.Run, trim.Interrupt)
	g.Add(oklog.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))

	err := g.Run()
	var sig *oklog.SignalError
	switch {
	case errors.As(err, &sig) && sig != nil:
		s.logger.Info("signal_received", "signal", fmt.Sprint(sig.Signal), "action", "drain_and_stop")
		return nil
	case errors.Is(err, oklog.ErrSignal),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil
	}
	return err
}

// loadTLS loads the configured certificate, or the development one (made when missing).
func loadTLS(o *options) (*tls.Config, error) {
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

// mockSources is GET /api/mocks/sources' view of --mocks-dir (nil without it).
func (s *server) mockSources() any {
	if s.mockFiles == nil {
		return []mockfiles.Source{}
	}
	return s.mockFiles.Sources()
}
