package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"ownhttp/bench"
)

// runBenchCLI is "ownhttp bench load|compare-engines …".
func runBenchCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("bench: want a subcommand: load or compare-engines")
	}
	switch args[0] {
	case "load":
		return runBenchLoad(ctx, args[1:], stdout, stderr)
	case "compare-engines":
		return runCompareEngines(ctx, args[1:], stdout, stderr)
	}
	return usagef("bench: unknown subcommand %q (want load or compare-engines)", args[0])
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

func parseBenchFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{oneLine(err.Error())}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// runBenchLoad is "ownhttp bench load --addr HOST:PORT …": drive load, print the summary JSON.
func runBenchLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ownhttp bench load", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "server address host:port")
	var lf loadFlags
	lf.register(fs)
	if err := parseBenchFlags(fs, args); err != nil {
		return err
	}
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	}
	s, err := bench.Run(ctx, lf.options(*addr, progress))
	if err != nil {
		return err
	}
	return writeIndentedJSON(stdout, s)
}

func writeIndentedJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// engineComparison is compare-engines' output (spec §12.2, with our engine names).
type engineComparison struct {
	Workload string                   `json:"workload"`
	Results  map[string]bench.Summary `json:"results"`
	Gates    comparisonGates          `json:"gates"`
	Markdown string                   `json:"markdown_table"`
}

type comparisonGates struct {
	Checks    map[string]bool `json:"checks"`
	Ratio     float64         `json:"epoll_vs_threadpool_rps_ratio"`
	AllPassed bool            `json:"all_passed"`
}

// runCompareEngines runs both engines in this process on 127.0.0.1:0 with temporary state
// files, one after the other, under the same load, and reports the gates of spec §12.2.
func runCompareEngines(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ownhttp bench compare-engines", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs)
	strict := fs.Bool("strict", false, "exit 1 when a gate fails")
	reactors := fs.Int("reactors", runtime.GOMAXPROCS(0), "event loops of the epoll engine")
	if err := parseBenchFlags(fs, args); err != nil {
		return err
	}
	out := engineComparison{Results: map[string]bench.Summary{},
		Workload: fmt.Sprintf("%s %s, concurrency %d, keep-alive %v, pipeline %d, %s",
			lf.method, lf.path, lf.concurrency, lf.keepAlive && !lf.connectionPerRequest, lf.pipeline, lf.duration)}
	for _, engine := range []string{"threadpool", "epoll"} {
		s, err := benchInProcess(ctx, engine, *reactors, lf)
		if err != nil {
			return fmt.Errorf("%s: %w", engine, err)
		}
		out.Results[engine] = s
	}
	ep, tp := out.Results["epoll"], out.Results["threadpool"]
	if tp.RPS > 0 {
		out.Gates.Ratio = math.Round(ep.RPS/tp.RPS*10000) / 10000
	}
	out.Gates.Checks = map[string]bool{
		"epoll_error_rate_le_1pct":     ep.ErrorRate <= 0.01,
		"epoll_p95_le_200ms":           ep.P95ms <= 200,
		"epoll_rps_ge_1_8x_threadpool": out.Gates.Ratio >= 1.8,
	}
	out.Gates.AllPassed = true
	for _, ok := range out.Gates.Checks {
		out.Gates.AllPassed = out.Gates.AllPassed && ok
	}
	var md bytes.Buffer
	md.WriteString("| Engine | Requests | Errors | Error Rate | RPS | p50 ms | p95 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, engine := range []string{"epoll", "threadpool"} {
		s := out.Results[engine]
		fmt.Fprintf(&md, "| %s | %d | %d | %.4f | %.0f | %.2f | %.2f | %.2f |\n", engine, s.Requests, s.Errors,
			s.ErrorRate, s.RPS, s.P50ms, s.P95ms, s.P99ms)
	}
	out.Markdown = md.String()
	if err := writeIndentedJSON(stdout, out); err != nil {
		return err
	}
	if *strict && !out.Gates.AllPassed {
		fmt.Fprintln(stderr, "ownhttp: compare-engines: a gate failed")
		return exitFailure
	}
	return nil
}

var listenAddrRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// benchInProcess starts the server through run() with the given engine on 127.0.0.1:0 and
// temporary state files, loads it, and stops it.
func benchInProcess(ctx context.Context, engine string, reactors int, lf loadFlags) (bench.Summary, error) {
	dir, err := os.MkdirTemp("", "ownhttp-bench-")
	if err != nil {
		return bench.Summary{}, err
	}
	defer os.RemoveAll(dir)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logs := &addrSniffer{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(sctx, []string{"--host", "127.0.0.1", "--port", "0", "--engine", engine,
			"--reactors", fmt.Sprint(reactors), "--access-log=false", "--max-keepalive-requests", "100000000",
			"--keepalive-timeout", "300s", "--queue-size", "65536",
			"--state-file", dir + "/state.json", "--scenario-state-file", dir + "/scenarios.json",
			"--target-state-file", dir + "/targets.json", "--static-dir", dir + "/static"}, io.Discard, logs)
	}()
	var addr string
	select {
	case addr = <-logs.addr:
	case err := <-done:
		return bench.Summary{}, fmt.Errorf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		return bench.Summary{}, errors.New("server did not report its address")
	}
	s, err := bench.Run(ctx, lf.options(addr, nil))
	cancel()
	if serr := <-done; err == nil {
		err = serr
	}
	return s, err
}

// addrSniffer is the in-process server's log output: it reports the listen address of the
// first "listening" line and drops the rest.
type addrSniffer struct {
	mu   sync.Mutex
	buf  []byte
	addr chan string
	sent bool
}

func (a *addrSniffer) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.sent {
		a.buf = append(a.buf, p...)
		if m := listenAddrRE.FindSubmatch(a.buf); m != nil {
			a.sent = true
			a.addr <- string(m[1])
			a.buf = nil
		}
	}
	return len(p), nil
}
