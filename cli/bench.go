package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"ownhttp/bench"
	"ownhttp/proto"
)

// runBench is "ownhttp bench load|compare-engines …".
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) error {
	if len(args) == 0 {
		return Usagef("bench: want a subcommand: load or compare-engines")
	}
	switch args[0] {
	case "load":
		return runBenchLoad(ctx, args[1:], stdout, stderr)
	case "compare-engines":
		return runCompareEngines(ctx, args[1:], stdout, stderr, env)
	}
	return Usagef("bench: unknown subcommand %q (want load or compare-engines)", args[0])
}

// loadFlags are the load generator's flags, shared by both subcommands.
type loadFlags struct {
	path, method, body              string
	concurrency, pipeline           int
	duration, warmup, timeout       time.Duration
	keepAlive, connectionPerRequest bool
}

func (lf *loadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&lf.path, "path", "/", "request target")
	fs.StringVar(&lf.method, "method", "GET", "request method")
	fs.StringVar(&lf.body, "body", "", "request body")
	fs.IntVar(&lf.concurrency, "concurrency", 100, "connections (or concurrent clients without keep-alive)")
	fs.IntVar(&lf.pipeline, "pipeline-depth", 1, "requests written back to back per round (keep-alive)")
	fs.DurationVar(&lf.duration, "duration", 10*time.Second, "measured time")
	fs.DurationVar(&lf.warmup, "warmup", time.Second, "load before measuring, not counted")
	fs.DurationVar(&lf.timeout, "timeout", 2*time.Second, "per request")
	fs.BoolVar(&lf.keepAlive, "keepalive", true, "reuse connections")
	fs.BoolVar(&lf.connectionPerRequest, "connection-per-request", false, "one connection per request (same as --keepalive=false)")
}

func (lf *loadFlags) options(addr string, progress io.Writer) bench.Options {
	return bench.Options{Addr: addr, Path: lf.path, Method: strings.ToUpper(lf.method), Body: []byte(lf.body),
		Concurrency: lf.concurrency, Duration: lf.duration, Warmup: lf.warmup, Timeout: lf.timeout,
		KeepAlive: lf.keepAlive && !lf.connectionPerRequest, Pipeline: lf.pipeline, Progress: progress}
}

// parseBenchFlags parses compare-engines' flags; no positional arguments.
func parseBenchFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cliHelp(fs, "", stdout)
			return err
		}
		return UsageError{oneLine(err.Error())}
	}
	if fs.NArg() > 0 {
		return Usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// runBenchLoad is "ownhttp bench load --server URL …": drive load, print the summary JSON.
// The load generator speaks plain HTTP/1.1 itself, so the URL is http:// only; its path
// prefixes --path. --addr HOST:PORT is the older name of --server http://HOST:PORT. The
// server URL and --timeout come from OWNHTTP_SERVER and OWNHTTP_TIMEOUT when not given.
func runBenchLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ownhttp bench load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var server string
	addServerFlag(fs, &server)
	fs.Lookup("server").Usage = "server URL, http://host[:port] (plain http; a path prefixes --path)"
	fs.Var(addrFlag{&server}, "addr", "server address HOST:PORT (the same as --server http://HOST:PORT)")
	var lf loadFlags
	lf.register(fs)
	pos, err := parseCLIFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		cliHelp(fs, "", stdout)
		return err
	}
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return Usagef("bench load: unexpected argument %q", pos[0])
	}
	u, err := parseServerURL(server)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return Usagef("bench load: server URL %q: the load generator speaks plain http:// only", server)
	}
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	}
	opts := lf.options(u.Host, progress)
	opts.Path = u.Path + opts.Path
	s, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}
	return writeIndentedJSON(stdout, s)
}

// addrFlag is --addr HOST:PORT, which sets the server URL to http://HOST:PORT.
type addrFlag struct{ server *string }

func (a addrFlag) String() string {
	if a.server == nil { // the flag package's zero value
		return ""
	}
	return strings.TrimPrefix(*a.server, "http://")
}

func (a addrFlag) Set(v string) error {
	*a.server = "http://" + v
	return nil
}

func writeIndentedJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// engineComparison is compare-engines' output (spec §12.2, with our engine names, plus what
// the slow readers received on each engine when there were any).
type engineComparison struct {
	Workload    string                     `json:"workload"`
	Results     map[string]bench.Summary   `json:"results"`
	SlowReaders map[string]bench.SlowStats `json:"slow_readers,omitempty"`
	Gates       comparisonGates            `json:"gates"`
	Markdown    string                     `json:"markdown_table"`
}

type comparisonGates struct {
	Checks map[string]bool `json:"checks"`
	// Ratio is epoll's requests per second over the threadpool's, rounded to 4 decimals;
	// nil (JSON null) when the threadpool served 0 requests/s and the ratio is undefined.
	Ratio     *float64 `json:"epoll_vs_threadpool_rps_ratio"`
	AllPassed bool     `json:"all_passed"`
}

// minRatio is the gate on epoll's requests per second over the threadpool's.
const minRatio = 1.8

// decideGates decides the gates of spec §12.2 from both engines' results. When the
// threadpool served 0 requests/s the ratio is undefined and its gate passes when epoll
// served requests at all.
func decideGates(ep, tp bench.Summary) comparisonGates {
	var g comparisonGates
	faster := ep.RPS > 0
	if tp.RPS > 0 {
		r := math.Round(ep.RPS/tp.RPS*10000) / 10000
		g.Ratio = &r
		faster = r >= minRatio
	}
	g.Checks = map[string]bool{
		"epoll_error_rate_le_1pct":     ep.ErrorRate <= 0.01,
		"epoll_p95_le_200ms":           ep.P95ms <= 200,
		"epoll_rps_ge_1_8x_threadpool": faster,
	}
	g.AllPassed = true
	for _, ok := range g.Checks {
		g.AllPassed = g.AllPassed && ok
	}
	return g
}

// runCompareEngines runs both engines in this process on 127.0.0.1:0 with temporary state
// files, one after the other, under the same load, and reports the gates of spec §12.2.
func runCompareEngines(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) error {
	fs := flag.NewFlagSet("ownhttp bench compare-engines", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs)
	strict := fs.Bool("strict", false, "exit 1 when a gate fails")
	reactors := fs.Int("reactors", runtime.GOMAXPROCS(0), "event loops of the epoll engine")
	var slow slowFlags
	slow.register(fs)
	if err := parseBenchFlags(fs, args, stdout); err != nil {
		return err
	}
	if slow.readers < 0 || slow.bodySize <= 0 || slow.rate <= 0 {
		return Usagef("--slow-readers must be at least 0, --slow-body-size and --slow-read-rate more than 0")
	}
	out := engineComparison{Results: map[string]bench.Summary{},
		Workload: fmt.Sprintf("%s %s, concurrency %d, keep-alive %v, pipeline %d, %s",
			lf.method, lf.path, lf.concurrency, lf.keepAlive && !lf.connectionPerRequest, lf.pipeline, lf.duration)}
	if slow.readers > 0 {
		out.Workload += fmt.Sprintf(", with %d slow readers of a %s mock body", slow.readers, byteSize(slow.bodySize))
		out.SlowReaders = map[string]bench.SlowStats{}
	}
	for _, engine := range []string{"threadpool", "epoll"} {
		s, ss, err := benchInProcess(ctx, env.Serve, engine, *reactors, lf, slow)
		if err != nil {
			return fmt.Errorf("%s: %w", engine, err)
		}
		out.Results[engine] = s
		if slow.readers > 0 {
			out.SlowReaders[engine] = ss
		}
	}
	out.Gates = decideGates(out.Results["epoll"], out.Results["threadpool"])
	out.Markdown = comparisonMarkdown(&out)
	if err := writeIndentedJSON(stdout, out); err != nil {
		return err
	}
	if *strict && !out.Gates.AllPassed {
		fmt.Fprintln(stderr, "ownhttp: compare-engines: a gate failed")
		return exitFailure
	}
	return nil
}

// comparisonMarkdown is the workload line and a table of both engines' results, with the
// slow readers' downloads and bytes when there were slow readers.
func comparisonMarkdown(out *engineComparison) string {
	var md bytes.Buffer
	fmt.Fprintf(&md, "Workload: %s\n\n", out.Workload)
	md.WriteString("| Engine | Requests | Errors | Error Rate | RPS | p50 ms | p95 ms | p99 ms |")
	if out.SlowReaders != nil {
		md.WriteString(" Slow downloads | Slow MiB |")
	}
	md.WriteString("\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	if out.SlowReaders != nil {
		md.WriteString(" ---: | ---: |")
	}
	md.WriteString("\n")
	for _, engine := range []string{"epoll", "threadpool"} {
		s := out.Results[engine]
		fmt.Fprintf(&md, "| %s | %d | %d | %.4f | %.0f | %.2f | %.2f | %.2f |", engine, s.Requests, s.Errors,
			s.ErrorRate, s.RPS, s.P50ms, s.P95ms, s.P99ms)
		if out.SlowReaders != nil {
			ss := out.SlowReaders[engine]
			fmt.Fprintf(&md, " %d | %.1f |", ss.Responses, float64(ss.Bytes)/(1<<20))
		}
		md.WriteString("\n")
	}
	if r := out.Gates.Ratio; r != nil {
		fmt.Fprintf(&md, "\nepoll/threadpool requests per second: %sx\n", strconv.FormatFloat(*r, 'f', -1, 64))
	} else {
		fmt.Fprintf(&md, "\nepoll/threadpool requests per second: undefined (the threadpool served 0 requests/s;"+
			" the %gx gate passes when epoll served requests)\n", minRatio)
	}
	return md.String()
}

// slowFlags are compare-engines' slow readers: connections that download one mock's body
// over and over and read it slowly, beside the measured load and not counted in it.
type slowFlags struct {
	readers  int
	bodySize int64
	rate     int
}

func (sf *slowFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&sf.readers, "slow-readers", 32, "connections that download a large mock body slowly during the run, not measured (0: none)")
	fs.Int64Var(&sf.bodySize, "slow-body-size", 4<<20, "bytes of the mock body the slow readers download")
	fs.IntVar(&sf.rate, "slow-read-rate", 4<<20, "most bytes per second each slow reader reads")
}

// slowMockPath is where compare-engines mocks the large body the slow readers download. A
// mock is answered from memory by the handler itself, so the response is written while the
// connection handles its input; a static file would not do: its open is offloaded, and the
// threadpool sends its completion (the file) from the connection's task goroutine, outside
// the worker slots.
const slowMockPath = "/bench/slow-reader"

// byteSize formats n bytes as "4 MiB", "512 KiB" or "100 bytes", in the largest unit that
// divides it.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// benchInProcess starts a server through serve with the given engine on 127.0.0.1:0 and
// temporary state files, loads it (with the slow readers beside the load, from the start of
// the warm-up to the end of the measured run), and stops it. The server's log is dropped.
func benchInProcess(ctx context.Context, serve func(context.Context, []string, io.Writer, func(string)) error,
	engine string, reactors int, lf loadFlags, slow slowFlags) (bench.Summary, bench.SlowStats, error) {
	dir, err := os.MkdirTemp("", "ownhttp-bench-")
	if err != nil {
		return bench.Summary{}, bench.SlowStats{}, err
	}
	defer os.RemoveAll(dir)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"--host", "127.0.0.1", "--port", "0", "--engine", engine,
		"--reactors", fmt.Sprint(reactors), "--access-log=false", "--max-keepalive-requests", "100000000",
		"--keepalive-timeout", "300s", "--queue-size", "65536",
		"--state-file", dir + "/state.json", "--scenario-state-file", dir + "/scenarios.json",
		"--target-state-file", dir + "/targets.json", "--static-dir", dir + "/static"}
	if slow.readers > 0 {
		// Room for the slow readers' mock body, and for the request that creates it (the
		// body as a JSON string, which escapes its newlines).
		args = append(args, "--max-mock-body-bytes", fmt.Sprint(slow.bodySize),
			"--max-body-bytes", fmt.Sprint(max(2*slow.bodySize+64<<10, proto.DefaultMaxBodyBytes)))
	}
	ready := make(chan string, 1) // serve calls ready once
	done := make(chan error, 1)
	go func() { done <- serve(sctx, args, io.Discard, func(base string) { ready <- base }) }()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		return bench.Summary{}, bench.SlowStats{}, fmt.Errorf("server did not start: %v", err)
	}
	// The in-process server reads its flags from the environment too: it is guarded when
	// OWNHTTP_DEMO_TOKEN is set.
	client, err := newCLIClient(base, os.Getenv(envPrefix+"_DEMO_TOKEN"), false, 30*time.Second, 30*time.Second)
	if err != nil {
		cancel()
		<-done
		return bench.Summary{}, bench.SlowStats{}, err
	}
	addr := client.base.Host
	var readers *bench.SlowReaders
	if slow.readers > 0 {
		if err := createSlowMock(ctx, client, slow.bodySize); err != nil {
			cancel()
			<-done
			return bench.Summary{}, bench.SlowStats{}, err
		}
		readers = bench.StartSlowReaders(ctx, bench.SlowOptions{Addr: addr, Clients: slow.readers, Rate: slow.rate,
			Request: []byte("GET " + slowMockPath + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")})
	}
	s, err := bench.Run(ctx, lf.options(addr, nil))
	var ss bench.SlowStats
	if readers != nil {
		ss = readers.Stop() // before the server stops, so its closing connections are not errors
	}
	cancel()
	if serr := <-done; err == nil {
		err = serr
	}
	return s, ss, err
}

// createSlowMock defines the mock at slowMockPath on the server: GET, 200, a text body of
// size bytes.
func createSlowMock(ctx context.Context, client *cliClient, size int64) error {
	line := "ownhttp compare-engines: a large body for the slow readers.\n"
	body, err := json.Marshal(map[string]any{"method": "GET", "path_pattern": slowMockPath,
		"content_type": "text/plain; charset=utf-8", "body": strings.Repeat(line, int(size)/len(line)+1)[:size]})
	if err != nil {
		return err
	}
	status, msg, err := client.api(ctx, "POST", "/api/mocks", body)
	if err != nil {
		return fmt.Errorf("creating the slow readers' mock: %w", err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("creating the slow readers' mock: %d %s: %s", status, http.StatusText(status),
			bytes.TrimSpace(msg[:min(len(msg), 512)]))
	}
	return nil
}
