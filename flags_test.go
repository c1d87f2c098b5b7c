package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/cli"
	"ownhttp/internal/testkit"
	"ownhttp/loop"
	"ownhttp/mock/importer"
	"ownhttp/proto"
)

// flagEnv lists every flag of parseFlags with its environment variable. A flag added to
// main.go without a line here fails TestUsageListsEveryFlag.
var flagEnv = []struct{ flag, env string }{
	{"config", "OWNHTTP_CONFIG"},
	{"host", "OWNHTTP_HOST"},
	{"port", "OWNHTTP_PORT"},
	{"engine", "OWNHTTP_ENGINE"},
	{"reactors", "OWNHTTP_REACTORS"},
	{"workers", "OWNHTTP_WORKERS"},
	{"queue-size", "OWNHTTP_QUEUE_SIZE"},
	{"max-connections", "OWNHTTP_MAX_CONNECTIONS"},
	{"keepalive-timeout", "OWNHTTP_KEEPALIVE_TIMEOUT"},
	{"header-timeout", "OWNHTTP_HEADER_TIMEOUT"},
	{"body-timeout", "OWNHTTP_BODY_TIMEOUT"},
	{"max-keepalive-requests", "OWNHTTP_MAX_KEEPALIVE_REQUESTS"},
	{"max-header-bytes", "OWNHTTP_MAX_HEADER_BYTES"},
	{"max-body-bytes", "OWNHTTP_MAX_BODY_BYTES"},
	{"max-import-bytes", "OWNHTTP_MAX_IMPORT_BYTES"},
	{"max-target-length", "OWNHTTP_MAX_TARGET_LENGTH"},
	{"drain-timeout", "OWNHTTP_DRAIN_TIMEOUT"},
	{"log-format", "OWNHTTP_LOG_FORMAT"},
	{"access-log", "OWNHTTP_ACCESS_LOG"},
	{"admin-workers", "OWNHTTP_ADMIN_WORKERS"},
	{"outbound-workers", "OWNHTTP_OUTBOUND_WORKERS"},
	{"file-workers", "OWNHTTP_FILE_WORKERS"},
	{"ready-file", "OWNHTTP_READY_FILE"},
	{"static-dir", "OWNHTTP_STATIC_DIR"},
	{"enable-tls", "OWNHTTP_ENABLE_TLS"},
	{"cert-file", "OWNHTTP_CERT_FILE"},
	{"key-file", "OWNHTTP_KEY_FILE"},
	{"https-port", "OWNHTTP_HTTPS_PORT"},
	{"redirect-http", "OWNHTTP_REDIRECT_HTTP"},
	{"public-host", "OWNHTTP_PUBLIC_HOST"},
	{"allowed-hosts", "OWNHTTP_ALLOWED_HOSTS"},
	{"handshake-timeout", "OWNHTTP_HANDSHAKE_TIMEOUT"},
	{"codecrafters-mode", "OWNHTTP_CODECRAFTERS_MODE"},
	{"directory", "OWNHTTP_DIRECTORY"},
	{"state-file", "OWNHTTP_STATE_FILE"},
	{"mocks-dir", "OWNHTTP_MOCKS_DIR"},
	{"mocks-poll", "OWNHTTP_MOCKS_POLL"},
	{"history-limit", "OWNHTTP_HISTORY_LIMIT"},
	{"max-history-body-bytes", "OWNHTTP_MAX_HISTORY_BODY_BYTES"},
	{"event-buffer-size", "OWNHTTP_EVENT_BUFFER_SIZE"},
	{"event-heartbeat-secs", "OWNHTTP_EVENT_HEARTBEAT_SECS"},
	{"max-mock-body-bytes", "OWNHTTP_MAX_MOCK_BODY_BYTES"},
	{"max-mock-routes", "OWNHTTP_MAX_MOCK_ROUTES"},
	{"cors-origins", "OWNHTTP_CORS_ORIGINS"},
	{"mock-templates", "OWNHTTP_MOCK_TEMPLATES"},
	{"persist-mock-state", "OWNHTTP_PERSIST_MOCK_STATE"},
	{"seed", "OWNHTTP_SEED"},
	{"scenario-state-file", "OWNHTTP_SCENARIO_STATE_FILE"},
	{"target-state-file", "OWNHTTP_TARGET_STATE_FILE"},
	{"max-scenarios", "OWNHTTP_MAX_SCENARIOS"},
	{"max-steps-per-scenario", "OWNHTTP_MAX_STEPS_PER_SCENARIO"},
	{"max-assertions-per-step", "OWNHTTP_MAX_ASSERTIONS_PER_STEP"},
	{"max-step-delay", "OWNHTTP_MAX_STEP_DELAY"},
	{"max-runs-per-scenario", "OWNHTTP_MAX_RUNS_PER_SCENARIO"},
	{"default-chaos-seed", "OWNHTTP_DEFAULT_CHAOS_SEED"},
	{"max-concurrent-runs", "OWNHTTP_MAX_CONCURRENT_RUNS"},
	{"max-targets", "OWNHTTP_MAX_TARGETS"},
	{"max-proxy-body-bytes", "OWNHTTP_MAX_PROXY_BODY_BYTES"},
	{"proxy-allow-private", "OWNHTTP_PROXY_ALLOW_PRIVATE"},
	{"demo-token", "OWNHTTP_DEMO_TOKEN"},
	{"require-demo-token", "OWNHTTP_REQUIRE_DEMO_TOKEN"},
	{"allow-open-admin", "OWNHTTP_ALLOW_OPEN_ADMIN"},
}

// clearEnv unsets every OWNHTTP_ variable and PORT for the test (t.Setenv restores them
// after it), so the caller's environment cannot leak into a test. Unset, not empty: an empty
// variable is a value.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "OWNHTTP_") || name == "PORT" {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// setEnv sets the variables of a "NAME=value" list.
func setEnv(t *testing.T, env []string) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	var stderr bytes.Buffer
	o, err := parseFlags(nil, &stderr)
	is.NoErr(err)
	is.Equal(*o, options{
		host:                 "127.0.0.1",
		port:                 8080,
		engine:               loop.DefaultEngine,
		reactors:             runtime.GOMAXPROCS(0),
		workers:              16,
		queueSize:            1024,
		maxConnections:       loop.DefaultMaxConnections(),
		keepAliveTimeout:     10 * time.Second,
		headerTimeout:        10 * time.Second,
		bodyTimeout:          60 * time.Second,
		maxKeepAliveRequests: 1000,
		maxHeaderBytes:       proto.DefaultMaxHeaderBytes,
		maxBodyBytes:         proto.DefaultMaxBodyBytes,
		maxImportBytes:       importer.DefaultMaxBytes,
		maxTargetLength:      proto.DefaultMaxTargetLength,
		drainTimeout:         5 * time.Second,
		logFormat:            "plain",
		accessLog:            true,
		adminWorkers:         16,
		outboundWorkers:      64,
		fileWorkers:          16,
		staticDir:            "static",
		httpsPort:            8443,
		redirectHTTP:         true,
		handshakeTimeout:     5 * time.Second,
		stateFile:            "data/server_state.json",
		historyLimit:         500,
		historyBodyBytes:     65536,
		eventBufferSize:      5000,
		eventHeartbeatSecs:   5,
		maxMockBodyBytes:     262144,
		maxMockRoutes:        200,
		scenarioStateFile:    "data/scenarios_state.json",
		targetStateFile:      "data/targets_state.json",
		maxScenarios:         100,
		maxSteps:             50,
		maxAssertions:        20,
		maxStepDelay:         30 * time.Second,
		maxRunsPerScenario:   50,
		defaultChaosSeed:     1337,
		seed:                 1,
		maxConcurrentRuns:    4,
		maxTargets:           50,
		maxProxyBodyBytes:    1 << 20,
		proxyAllowPrivate:    true,
	})
	is.Equal(stderr.Len(), 0) // nothing printed on success
}

func TestParseFlagsEnv(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   []string
		check func(is *is.I, o *options)
	}{
		{"env fills flags not given", nil,
			[]string{"OWNHTTP_HOST=0.0.0.0", "OWNHTTP_DEMO_TOKEN=s3cret", "OWNHTTP_PORT=9000", "OWNHTTP_ENGINE=threadpool", "OWNHTTP_WORKERS=4",
				"OWNHTTP_QUEUE_SIZE=8", "OWNHTTP_KEEPALIVE_TIMEOUT=3s", "OWNHTTP_MAX_BODY_BYTES=1000",
				"OWNHTTP_LOG_FORMAT=json", "OWNHTTP_ACCESS_LOG=false"},
			func(is *is.I, o *options) {
				is.Equal(o.host, "0.0.0.0")
				is.Equal(o.demoToken, "s3cret")
				is.Equal(o.proxyAllowPrivate, false) // not a loopback host
				is.Equal(o.port, 9000)
				is.Equal(o.engine, "threadpool")
				is.Equal(o.workers, 4)
				is.Equal(o.queueSize, 8)
				is.Equal(o.keepAliveTimeout, 3*time.Second)
				is.Equal(o.maxBodyBytes, int64(1000))
				is.Equal(o.logFormat, "json")
				is.Equal(o.accessLog, false)
			}},
		{"flags win over env",
			[]string{"--port", "9100", "--engine", "epoll", "--workers=2", "--keepalive-timeout", "1m", "--access-log=true"},
			[]string{"OWNHTTP_PORT=9000", "OWNHTTP_ENGINE=threadpool", "OWNHTTP_WORKERS=4",
				"OWNHTTP_KEEPALIVE_TIMEOUT=3s", "OWNHTTP_ACCESS_LOG=false"},
			func(is *is.I, o *options) {
				is.Equal(o.port, 9100)
				is.Equal(o.engine, "epoll")
				is.Equal(o.workers, 2)
				is.Equal(o.keepAliveTimeout, time.Minute)
				is.Equal(o.accessLog, true)
			}},
		{"single-dash flags work too", []string{"-port", "9200", "-log-format", "json"}, nil,
			func(is *is.I, o *options) {
				is.Equal(o.port, 9200)
				is.Equal(o.logFormat, "json")
			}},
		{"PORT alone is honoured", nil, []string{"PORT=9001"},
			func(is *is.I, o *options) { is.Equal(o.port, 9001) }},
		{"PORT=0 picks a free port", nil, []string{"PORT=0"},
			func(is *is.I, o *options) { is.Equal(o.port, 0) }},
		{"OWNHTTP_PORT beats PORT", nil, []string{"PORT=9001", "OWNHTTP_PORT=9002"},
			func(is *is.I, o *options) { is.Equal(o.port, 9002) }},
		{"--port beats PORT", []string{"--port", "9003"}, []string{"PORT=9001"},
			func(is *is.I, o *options) { is.Equal(o.port, 9003) }},
		{"--port beats both", []string{"--port=9003"}, []string{"PORT=9001", "OWNHTTP_PORT=9002"},
			func(is *is.I, o *options) { is.Equal(o.port, 9003) }},
		{"an unusable PORT is ignored when --port is given", []string{"--port", "9004"}, []string{"PORT=http"},
			func(is *is.I, o *options) { is.Equal(o.port, 9004) }},
		{"an unusable PORT is ignored when OWNHTTP_PORT is set", nil, []string{"PORT=http", "OWNHTTP_PORT=9005"},
			func(is *is.I, o *options) { is.Equal(o.port, 9005) }},
		{"selectors is an alias of epoll", []string{"--engine", "selectors"}, nil,
			func(is *is.I, o *options) { is.Equal(o.engine, "epoll") }},
		{"selectors from the environment too", nil, []string{"OWNHTTP_ENGINE=selectors"},
			func(is *is.I, o *options) { is.Equal(o.engine, "epoll") }},
		{"threadpool", []string{"--engine", "threadpool"}, nil,
			func(is *is.I, o *options) { is.Equal(o.engine, "threadpool") }},
		{"the smallest head limit", []string{"--max-header-bytes", "256"}, nil,
			func(is *is.I, o *options) { is.Equal(o.maxHeaderBytes, 256) }},
		{"allowed hosts: names, addresses, ports, blanks", []string{"--allowed-hosts", " lab.example.test, [::2]:80,10.0.0.7 ,"}, nil,
			func(is *is.I, o *options) {
				is.Equal(splitList(o.allowedHosts), []string{"lab.example.test", "[::2]:80", "10.0.0.7"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			clearEnv(t)
			setEnv(t, tt.env)
			o, err := parseFlags(tt.args, io.Discard)
			is.NoErr(err)
			tt.check(is, o)
		})
	}
}

func TestParseFlagsBadValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string // a fragment of the message
	}{
		{"unknown engine", []string{"--engine", "bogus"}, nil, "bogus"},
		{"port over 65535", []string{"--port", "70000"}, nil, "70000"},
		{"negative port", []string{"--port", "-1"}, nil, "-1"},
		{"duration without a unit", []string{"--keepalive-timeout", "10"}, nil, "keepalive-timeout"},
		{"zero workers", []string{"--workers", "0"}, nil, "--workers"},
		{"zero reactors", []string{"--reactors", "0"}, nil, "--reactors"},
		{"zero drain timeout", []string{"--drain-timeout", "0s"}, nil, "--drain-timeout"},
		{"head limit under 256", []string{"--max-header-bytes", "255"}, nil, "--max-header-bytes"},
		{"unknown log format", []string{"--log-format", "xml"}, nil, "xml"},
		{"unknown flag", []string{"--bogus"}, nil, "bogus"},
		{"positional argument", []string{"serve"}, nil, `"serve"`},
		{"positional argument after flags", []string{"--port", "1", "extra"}, nil, `"extra"`},
		{"bool flag followed by a value", []string{"--access-log", "false"}, nil, `"false"`},
		{"bad env value", nil, []string{"OWNHTTP_WORKERS=many"}, "OWNHTTP_WORKERS"},
		{"bad env duration", nil, []string{"OWNHTTP_HEADER_TIMEOUT=10"}, "OWNHTTP_HEADER_TIMEOUT"},
		{"bad env engine", nil, []string{"OWNHTTP_ENGINE=bogus"}, "bogus"},
		{"PORT not a number", nil, []string{"PORT=http"}, "PORT"},
		{"PORT out of range", nil, []string{"PORT=70000"}, "70000"},
		{"allowed host with a path", []string{"--allowed-hosts", "lab.example.test,lab/x"}, nil, `"lab/x"`},
		{"allowed host with a wildcard", nil, []string{"OWNHTTP_ALLOWED_HOSTS=*.example.test"}, `"*.example.test"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			clearEnv(t)
			setEnv(t, tt.env)
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, &stderr)
			_ = o               // not checked: parseFlags returns its options alongside a validation error
			is.True(err != nil) // a bad command line is an error
			var ue cli.UsageError
			is.True(errors.As(err, &ue)) // a cli.UsageError: exit status 2
			msg := err.Error()
			is.True(msg != "")                      // the message says something
			is.True(!strings.Contains(msg, "\n"))   // on one line
			is.True(strings.Contains(msg, tt.want)) // naming the culprit
			is.Equal(stderr.Len(), 0)               // parseFlags prints nothing; main does
			t.Log(msg)
		})
	}
}

// The epoll engine is Linux's: a build for another system (the engine's files are not in it)
// refuses --engine epoll (or its alias, or the environment's) with a usage error that says
// why and what to use instead; threadpool is accepted everywhere. CI cross-builds for those
// systems but runs tests on Linux, so the rule is checked here with epoll absent.
func TestEngineSupported(t *testing.T) {
	is := is.New(t)
	err := engineSupported("epoll", "--engine", false, "darwin")
	var ue cli.UsageError
	is.True(errors.As(err, &ue)) // exit status 2
	is.Equal(err.Error(), `engine "epoll" (--engine): the epoll engine needs Linux, and this is darwin: use --engine threadpool (the default here)`)
	is.NoErr(engineSupported("threadpool", "--engine", false, "windows"))
	is.NoErr(engineSupported("epoll", "--engine", true, "linux"))

	// On this system the rule follows the build: epoll is accepted exactly when it is built in.
	clearEnv(t)
	setEnv(t, []string{"OWNHTTP_ENGINE=selectors"})
	o, err := parseFlags(nil, io.Discard)
	if loop.EpollSupported {
		is.NoErr(err)
		is.Equal(o.engine, "epoll")
	} else {
		is.True(strings.Contains(err.Error(), "needs Linux")) // named, with the fix
	}
	is.Equal(loop.DefaultEngine == "epoll", loop.EpollSupported) // the default is always built in
}

// TestParseFlagsBadValuesFromRun checks that run stops at a bad command line with the same
// cli.UsageError, before it listens.
func TestParseFlagsBadValuesFromRun(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--engine", "bogus"}, &stdout, &stderr, nil)
	var ue cli.UsageError
	is.True(errors.As(err, &ue)) // run returns the cli.UsageError
	is.Equal(stdout.Len(), 0)    // nothing on stdout
	is.Equal(stderr.Len(), 0)    // nothing logged
}

func TestUsageListsEveryFlag(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		t.Run(arg, func(t *testing.T) {
			is := is.New(t)
			clearEnv(t)
			var stderr bytes.Buffer
			o, err := parseFlags([]string{arg}, &stderr)
			is.True(errors.Is(err, flag.ErrHelp))         // --help is flag.ErrHelp
			is.True(!errors.As(err, new(cli.UsageError))) // not a usage error: exit status 0
			is.True(o == nil)
			usage := stderr.String()
			is.True(strings.HasPrefix(usage, "Usage: ownhttp")) // a usage line first
			for _, f := range flagEnv {
				if !strings.Contains(usage, "--"+f.flag+" (env "+f.env+",") {
					t.Errorf("usage does not list --%s with %s:\n%s", f.flag, f.env, usage)
				}
			}
			is.Equal(strings.Count(usage, "\n  --"), len(flagEnv)) // no flag missing from flagEnv
			is.True(strings.Contains(usage, `--port (env OWNHTTP_PORT, default "8080")`))
			is.True(strings.Contains(usage, `--keepalive-timeout (env OWNHTTP_KEEPALIVE_TIMEOUT, default "10s")`))
		})
	}
}

// TestBinary builds the command and runs it end to end: a bad flag exits 2 with one line on
// stderr, --help exits 0.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	is := is.New(t)
	bin := testkit.Binary(t)
	runBin := func(args ...string) (int, string, string) { return testkit.RunBinary(t, bin, args...) }

	code, stdout, stderr := runBin("--engine", "bogus")
	is.Equal(code, 2)                               // a bad flag is exit status 2
	is.Equal(stdout, "")                            // nothing on stdout
	is.True(strings.HasPrefix(stderr, "ownhttp: ")) // the message names the program
	is.True(strings.Contains(stderr, "bogus"))      // and the bad value
	is.Equal(strings.Count(stderr, "\n"), 1)        // on one line
	is.True(strings.HasSuffix(stderr, "\n"))

	code, stdout, stderr = runBin("--help")
	is.Equal(code, 0) // --help is exit status 0
	usage := stdout + stderr
	is.True(strings.Contains(usage, "Usage: ownhttp"))
	for _, f := range flagEnv {
		is.True(strings.Contains(usage, "--"+f.flag+" (env "+f.env)) // every flag with its env var
	}
}

// TestFlagsInReadme keeps README.md's configuration table in step with the flags.
func TestFlagsInReadme(t *testing.T) {
	is := is.New(t)
	b, err := os.ReadFile("README.md")
	is.NoErr(err)
	for _, f := range flagEnv {
		row := "| `--" + f.flag + "` | `" + f.env + "` |"
		if !bytes.Contains(b, []byte(row)) {
			t.Errorf("README.md has no row starting %s", row)
		}
	}
}

// Open admin APIs on a network address are refused unless a token guards them or the
// operator says so; the token requirement needs a token.
func TestParseFlagsOpenAdmin(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--host", "0.0.0.0"}, false},
		{[]string{"--host", "192.0.2.1"}, false},
		{[]string{"--host", "0.0.0.0", "--demo-token", "t"}, true},
		{[]string{"--host", "0.0.0.0", "--allow-open-admin"}, true},
		{[]string{"--host", "::1"}, true},
		{[]string{"--host", "localhost"}, true},
		{[]string{"--require-demo-token"}, false},
		{[]string{"--require-demo-token", "--demo-token", "t"}, true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			is := is.New(t)
			clearEnv(t)
			_, err := parseFlags(tc.args, io.Discard)
			is.Equal(err == nil, tc.ok)
			if err != nil {
				is.True(errors.As(err, new(cli.UsageError)))
				is.True(!strings.Contains(err.Error(), "\n"))
			}
		})
	}
}
