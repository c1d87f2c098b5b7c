package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"ownhttp/cli"
	"ownhttp/features"
	"ownhttp/loop"
	"ownhttp/mock/importer"
	"ownhttp/proto"
)

// options are the server's flags after parsing.
type options struct {
	configFile           string
	host                 string
	port                 int
	engine               string
	reactors             int
	workers              int
	queueSize            int
	maxConnections       int
	keepAliveTimeout     time.Duration
	headerTimeout        time.Duration
	bodyTimeout          time.Duration
	maxKeepAliveRequests int
	maxHeaderBytes       int
	maxBodyBytes         int64
	maxImportBytes       int64
	maxTargetLength      int
	drainTimeout         time.Duration
	logFormat            string
	accessLog            bool
	readyFile            string
	adminWorkers         int
	outboundWorkers      int
	fileWorkers          int

	staticDir        string
	enableTLS        bool
	certFile         string
	keyFile          string
	httpsPort        int
	redirectHTTP     bool
	publicHost       string
	allowedHosts     string
	handshakeTimeout time.Duration
	codecrafters     bool
	directory        string
	mocksDirs        dirList // --mocks-dir (#13)
	mocksPoll        time.Duration

	stateFile          string
	historyLimit       int
	historyBodyBytes   int
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
	mockTemplates      bool
	seed               int64
	persistMockState   bool
	maxConcurrentRuns  int
	maxTargets         int
	maxProxyBodyBytes  int64
	proxyAllowPrivate  bool
	demoToken          string
	requireDemoToken   bool
	allowOpenAdmin     bool
}

const envPrefix = "OWNHTTP"

// flagSet is a flag.FlagSet whose flags carry their own checks: each flag is declared once,
// with its check beside it, and check runs them all in declaration order after parsing.
// load (config.go) fills it from the command line, the environment and a --config file and
// records where each value came from.
type flagSet struct {
	*flag.FlagSet
	checks []func() error
	// sources maps a flag's name to where its value came from: "flag", "env NAME",
	// "file PATH:LINE[,LINE…]"; a flag missing here has its default.
	sources map[string]string
	// local names the flags of a subcommand (config --json) that only the command line sets.
	local map[string]bool
}

// check adds a check that runs after parsing.
func (fs *flagSet) check(c func() error) { fs.checks = append(fs.checks, c) }

// positive declares a flag of a number type whose value must be above zero.
func positive[T int | int64 | time.Duration](fs *flagSet, p *T, name string, value T, usage string) {
	switch p := any(p).(type) {
	case *int:
		fs.IntVar(p, name, int(value), usage)
	case *int64:
		fs.Int64Var(p, name, int64(value), usage)
	case *time.Duration:
		fs.DurationVar(p, name, time.Duration(value), usage)
	}
	fs.check(func() error {
		if *p <= 0 {
			return cli.Usagef("--%s must be positive%s", name, fs.via(name))
		}
		return nil
	})
}

// port declares a port flag (0..65535).
func (fs *flagSet) port(p *int, name string, value int, usage, what string) {
	fs.IntVar(p, name, value, usage)
	fs.check(func() error {
		if *p < 0 || *p > 65535 {
			return cli.Usagef("%s %d (%s): want 0..65535", what, *p, fs.origin(name))
		}
		return nil
	})
}

// oneOf declares a string flag whose value must be one of allowed, or an alias of one.
func (fs *flagSet) oneOf(p *string, name, value, usage string, allowed []string, aliases map[string]string, what string) {
	fs.StringVar(p, name, value, usage)
	fs.check(func() error {
		if to, ok := aliases[*p]; ok {
			*p = to
		}
		if slices.Contains(allowed, *p) {
			return nil
		}
		want := slices.Sorted(slices.Values(slices.Concat(allowed, slices.Collect(maps.Keys(aliases)))))
		return cli.Usagef("%s %q (%s): want %s", what, *p, fs.origin(name),
			strings.Join(want[:len(want)-1], ", ")+" or "+want[len(want)-1])
	})
}

// engineSupported refuses the epoll engine on a system without epoll (every one but Linux:
// epoll is the engine of Linux builds only, see loop.EpollSupported); origin says where the
// value came from.
func engineSupported(engine, origin string, epoll bool, goos string) error {
	if engine == "epoll" && !epoll {
		return cli.Usagef("engine %q (%s): the epoll engine needs Linux, and this is %s: use --engine threadpool (the default here)", engine, origin, goos)
	}
	return nil
}

// envName is the environment variable that fills the flag name.
func envName(name string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// parseFlags reads the server's configuration: flags, then OWNHTTP_* environment variables
// for flags not given (PORT for the port when neither --port nor OWNHTTP_PORT is set), then
// the --config file for flags still unset, then defaults (see load). A bad value is a
// cli.UsageError on one line naming the flag and where its value came from; --help prints
// the usage to stderr and returns flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o, fs, err := loadFlags(args, nil)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(fs.FlagSet, stderr)
		return nil, err
	}
	return o, err
}

// loadFlags declares the server's flags, and local's for a subcommand (see flagSet.local),
// loads them and runs their checks. On flag.ErrHelp nothing is printed yet.
func loadFlags(args []string, local func(*flagSet)) (*options, *flagSet, error) {
	o := &options{}
	fs := &flagSet{FlagSet: flag.NewFlagSet("ownhttp", flag.ContinueOnError),
		sources: map[string]string{}, local: map[string]bool{}}
	fs.SetOutput(io.Discard)
	if local != nil {
		local(fs)
	}
	fs.StringVar(&o.configFile, "config", "", "read further settings from this file: one \"name value\" line per setting (flags and the environment win over it)")
	fs.StringVar(&o.host, "host", "127.0.0.1", "address to listen on")
	fs.port(&o.port, "port", 8080, "port to listen on (0 picks a free port; PORT is honoured when neither this nor OWNHTTP_PORT is set)", "port")
	fs.oneOf(&o.engine, "engine", loop.DefaultEngine, "engine: epoll (Linux only; selectors is an alias) or threadpool (default epoll on Linux, threadpool elsewhere)",
		[]string{"epoll", "threadpool"}, map[string]string{"selectors": "epoll"}, "engine")
	fs.check(func() error { return engineSupported(o.engine, fs.origin("engine"), loop.EpollSupported, runtime.GOOS) })
	positive(fs, &o.reactors, "reactors", runtime.GOMAXPROCS(0), "event loops of the epoll engine")
	positive(fs, &o.workers, "workers", 16, "worker slots of the threadpool engine")
	positive(fs, &o.queueSize, "queue-size", 1024, "connections that may wait for a threadpool worker before 503")
	positive(fs, &o.maxConnections, "max-connections", loop.DefaultMaxConnections(), "open connections before 503 (default from the open-files limit)")
	positive(fs, &o.keepAliveTimeout, "keepalive-timeout", 10*time.Second, "idle time allowed between requests on a connection")
	positive(fs, &o.headerTimeout, "header-timeout", 10*time.Second, "time allowed for a whole request head (408 past it)")
	positive(fs, &o.bodyTimeout, "body-timeout", 60*time.Second, "time allowed for a whole request body from the end of its head (408 past it)")
	positive(fs, &o.maxKeepAliveRequests, "max-keepalive-requests", 1000, "requests served on one connection before it closes")
	fs.IntVar(&o.maxHeaderBytes, "max-header-bytes", proto.DefaultMaxHeaderBytes, "largest request head in bytes (431 past it)")
	fs.check(func() error {
		if o.maxHeaderBytes < 256 {
			return cli.Usagef("--max-header-bytes %d: want at least 256", o.maxHeaderBytes)
		}
		return nil
	})
	positive(fs, &o.maxBodyBytes, "max-body-bytes", proto.DefaultMaxBodyBytes, "largest request body in bytes (413 past it)")
	positive(fs, &o.maxImportBytes, "max-import-bytes", importer.DefaultMaxBytes, "largest body of POST /api/import in bytes (413 past it)")
	positive(fs, &o.maxTargetLength, "max-target-length", proto.DefaultMaxTargetLength, "longest request target in bytes (414 past it)")
	positive(fs, &o.drainTimeout, "drain-timeout", 5*time.Second, "how long a shutdown waits for in-flight requests")
	fs.oneOf(&o.logFormat, "log-format", "plain", "log format: plain or json", []string{"plain", "json"}, nil, "log format")
	fs.BoolVar(&o.accessLog, "access-log", true, "write one access-log line per response")
	positive(fs, &o.adminWorkers, "admin-workers", 16, "goroutines for state writes waiting for fsync, uploads and state round trips (16 queued each; past that 503 busy)")
	positive(fs, &o.outboundWorkers, "outbound-workers", 64, "goroutines for calls to other servers: proxy and playground requests (16 queued each; past that 503 busy)")
	positive(fs, &o.fileWorkers, "file-workers", 16, "goroutines for static and CodeCrafters file opens (16 queued each; past that 503 busy)")
	fs.StringVar(&o.readyFile, "ready-file", "", "once serving, write the bound listeners here as JSON (engine, role, scheme, addr, url); removed at stop")

	fs.StringVar(&o.staticDir, "static-dir", "static", "directory served under /static/ (absent is fine)")
	fs.BoolVar(&o.enableTLS, "enable-tls", false, "serve HTTPS on --https-port (a development certificate is made under certs/ when no files are given)")
	fs.StringVar(&o.certFile, "cert-file", "", "TLS certificate (PEM)")
	fs.StringVar(&o.keyFile, "key-file", "", "TLS private key (PEM)")
	fs.check(func() error {
		if (o.certFile == "") != (o.keyFile == "") {
			return cli.Usagef("--cert-file and --key-file go together")
		}
		return nil
	})
	fs.port(&o.httpsPort, "https-port", 8443, "HTTPS port with --enable-tls", "https port")
	fs.BoolVar(&o.redirectHTTP, "redirect-http", true, "with TLS, answer the plain port with 308 redirects to HTTPS")
	fs.StringVar(&o.publicHost, "public-host", "", "host name that names this server (in redirects, and for the Host rule of the API and pages)")
	fs.StringVar(&o.allowedHosts, "allowed-hosts", "", "further host names or addresses the API, pages and metrics answer to, a comma list (loopback names and the listen addresses always are)")
	fs.check(func() error {
		for _, h := range splitList(o.allowedHosts) {
			if _, ok := features.CanonicalHost(h); !ok {
				return cli.Usagef("--allowed-hosts: %q is not a host name or address", h)
			}
		}
		return nil
	})
	positive(fs, &o.handshakeTimeout, "handshake-timeout", 5*time.Second, "time allowed for a TLS handshake")
	fs.BoolVar(&o.codecrafters, "codecrafters-mode", false, "serve the CodeCrafters routes (default port 4221)")
	fs.StringVar(&o.directory, "directory", "", "directory of the CodeCrafters /files/ routes")

	fs.StringVar(&o.stateFile, "state-file", "data/server_state.json", "mocks and history file")
	positive(fs, &o.historyLimit, "history-limit", 500, "history entries kept")
	positive(fs, &o.historyBodyBytes, "max-history-body-bytes", 65536,
		"request and response body bytes a history entry keeps (longer response bodies are cut and marked)")
	positive(fs, &o.eventBufferSize, "event-buffer-size", 5000, "live events kept (at least 100)")
	positive(fs, &o.eventHeartbeatSecs, "event-heartbeat-secs", 5, "seconds between SSE heartbeat comments")
	positive(fs, &o.maxMockBodyBytes, "max-mock-body-bytes", 262144, "largest mock body in bytes")
	positive(fs, &o.maxMockRoutes, "max-mock-routes", 200, "most mocks")
	fs.Var(&o.mocksDirs, "mocks-dir", "load mock files (*.json) below this directory and follow their changes; repeatable (OWNHTTP_MOCKS_DIR: a comma list)")
	fs.DurationVar(&o.mocksPoll, "mocks-poll", 0, "scan --mocks-dir every interval instead of following file-system notifications (mounts that deliver none); 0 follows notifications")
	fs.check(func() error {
		if o.mocksPoll < 0 {
			return cli.Usagef("--mocks-poll must not be negative%s", fs.via("mocks-poll"))
		}
		return nil
	})
	fs.StringVar(&o.corsOrigins, "cors-origins", "", "origins allowed on mock responses: a comma list, or *")
	fs.BoolVar(&o.mockTemplates, "mock-templates", false, `make every mock a template unless it says "template": false`)
	fs.BoolVar(&o.persistMockState, "persist-mock-state", false, "keep sequence positions and state machines across restarts (default: a fresh start)")
	fs.Int64Var(&o.seed, "seed", 1, `seed of the random values in mock templates (a mock's "seed" replaces it): the same seed gives the same values hit after hit`)

	fs.StringVar(&o.scenarioStateFile, "scenario-state-file", "data/scenarios_state.json", "scenarios and runs file")
	fs.StringVar(&o.targetStateFile, "target-state-file", "data/targets_state.json", "proxy targets file")
	positive(fs, &o.maxScenarios, "max-scenarios", 100, "most scenarios")
	positive(fs, &o.maxSteps, "max-steps-per-scenario", 50, "most steps in one scenario")
	positive(fs, &o.maxAssertions, "max-assertions-per-step", 20, "most assertions in one step")
	positive(fs, &o.maxStepDelay, "max-step-delay", 30*time.Second, "longest delay_ms a step may ask for")
	positive(fs, &o.maxRunsPerScenario, "max-runs-per-scenario", 50, "runs kept per scenario (newest)")
	fs.Int64Var(&o.defaultChaosSeed, "default-chaos-seed", 1337, "chaos seed of a run that gives none")
	positive(fs, &o.maxConcurrentRuns, "max-concurrent-runs", 4, "scenario runs executing at once (more get 503)")
	positive(fs, &o.maxTargets, "max-targets", 50, "most proxy targets")
	positive(fs, &o.maxProxyBodyBytes, "max-proxy-body-bytes", 1<<20, "largest upstream body the proxy returns (longer ones are truncated)")
	fs.BoolVar(&o.proxyAllowPrivate, "proxy-allow-private", false, "let the proxy reach loopback and private addresses (default: on when --host is a loopback address)")
	fs.StringVar(&o.demoToken, "demo-token", "", "bearer token for the admin, live and proxy APIs")
	fs.BoolVar(&o.requireDemoToken, "require-demo-token", false, "require the demo token on the admin, live and proxy APIs")
	fs.check(func() error {
		if o.requireDemoToken && o.demoToken == "" {
			return cli.Usagef("--require-demo-token needs --demo-token (or OWNHTTP_DEMO_TOKEN)")
		}
		return nil
	})
	fs.BoolVar(&o.allowOpenAdmin, "allow-open-admin", false, "allow a non-loopback --host without a --demo-token")
	fs.check(func() error {
		if !isLoopbackHost(o.host) && o.demoToken == "" && !o.allowOpenAdmin {
			return cli.Usagef("refusing to serve open admin APIs on %s: set --demo-token (OWNHTTP_DEMO_TOKEN), or --allow-open-admin", o.host)
		}
		return nil
	})

	if err := fs.load(args); err != nil {
		return nil, fs, err
	}
	if o.codecrafters && fs.sources["port"] == "" {
		o.port = 4221
		fs.sources["port"] = "default (codecrafters-mode)"
	}
	if fs.sources["proxy-allow-private"] == "" {
		o.proxyAllowPrivate = isLoopbackHost(o.host)
		fs.sources["proxy-allow-private"] = "default (from host)"
	}
	for _, c := range fs.checks {
		if err := c(); err != nil {
			return nil, fs, err
		}
	}
	return o, fs, nil
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// printUsage writes the usage: the forms of the command line, the subcommands, then every
// flag with its environment variable and default.
func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage: ownhttp [flags]          serve\n       ownhttp COMMAND [args]   run a subcommand (COMMAND --help for its own)\n       ownhttp --version        print the version\n\nCommands:\n")
	for _, c := range append(slices.Clone(cli.Commands), configCommand) {
		fmt.Fprintf(w, "  %-9s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nFlags (each can also be set by its environment variable or in the --config file;\nflags win over the environment, the environment over the file):\n\n")
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(w, "  --%s (env %s, default %q)\n      %s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
	})
}

// version is the release version, stamped into release builds by the linker:
//
//	go build -ldflags "-X main.version=v1.2.3" -o ownhttp .
//
// (scripts/release.sh does). Empty in other builds (go install, go build), whose version
// comes from the build information instead (see versionText).
var version string

// versionText is what --version prints: the stamped version (or, without one, the module
// version the toolchain recorded: v1.2.3 for go install …@v1.2.3, a pseudo-version from the
// VCS or "(devel)" for a build in a clone) and the VCS revision the binary was built from, as the build information says.
func versionText() string {
	info, _ := debug.ReadBuildInfo() // nil without build information
	return formatVersion(version, info)
}

// formatVersion renders the stamped version and the build information (nil when the
// binary has none) as versionText does.
func formatVersion(stamped string, info *debug.BuildInfo) string {
	if info == nil {
		if stamped == "" {
			return "ownhttp (no build information)"
		}
		return "ownhttp " + stamped
	}
	v := info.Main.Version
	if stamped != "" {
		v = stamped
	}
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	out := "ownhttp " + v
	if rev := settings["vcs.revision"]; rev != "" {
		out += " revision " + rev
		if settings["vcs.modified"] == "true" {
			out += " (modified)"
		}
		if t := settings["vcs.time"]; t != "" {
			out += " committed " + t
		}
	} else {
		out += " revision unknown (built without VCS information)"
	}
	return out + " " + info.GoVersion
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

// dirList is a repeatable flag (--mocks-dir): each use appends; a value holding commas (as
// OWNHTTP_MOCKS_DIR does, since the environment gives one value) is split on them; an
// empty value adds none.
type dirList []string

func (d *dirList) String() string { return strings.Join(*d, ",") }

func (d *dirList) Set(v string) error {
	*d = append(*d, splitList(v)...) // empty (OWNHTTP_MOCKS_DIR=) adds none
	return nil
}
