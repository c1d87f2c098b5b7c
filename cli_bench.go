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
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"ownhttp/bench"
	"ownhttp/proto"
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
	var slow slowFlags
	slow.register(fs)
	if err := parseBenchFlags(fs, args); err != nil {
		return err
	}
	if slow.readers < 0 || slow.bodySize <= 0 || slow.rate <= 0 {
		return usagef("--slow-readers must be at least 0, --slow-body-size and --slow-read-rate more than 0")
	}
	out := engineComparison{Results: map[string]bench.Summary{},
		Workload: fmt.Sprintf("%s %s, concurrency %d, keep-alive %v, pipeline %d, %s",
			lf.method, lf.path, lf.concurrency, lf.keepAlive && !lf.connectionPerRequest, lf.pipeline, lf.duration)}
	if slow.readers > 0 {
		out.Workload += fmt.Sprintf(", with %d slow readers of a %s mock body", slow.readers, byteSize(slow.bodySize))
		out.SlowReaders = map[string]bench.SlowStats{}
	}
	for _, engine := range []string{"threadpool", "epoll"} {
		s, ss, err := benchInProcess(ctx, engine, *reactors, lf, slow)
		if err != nil {
			return fmt.Errorf("%s: %w", engine, err)
		}
		out.Results[engine] = s
		if slow.readers > 0 {
			out.SlowReaders[engine] = ss
		}
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

var listenAddrRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// benchInProcess starts the server through run() with the given engine on 127.0.0.1:0 and
// temporary state files, loads it (with the slow readers beside the load, from the start of
// the warm-up to the end of the measured run), and stops it.
func benchInProcess(ctx context.Context, engine string, reactors int, lf loadFlags, slow slowFlags) (bench.Summary, bench.SlowStats, error) {
	dir, err := os.MkdirTemp("", "ownhttp-bench-")
	if err != nil {
		return bench.Summary{}, bench.SlowStats{}, err
	}
	defer os.RemoveAll(dir)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logs := &addrSniffer{addr: make(chan string, 1)}
	done := make(chan error, 1)
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
	go func() { done <- run(sctx, args, io.Discard, logs) }()
	var addr string
	select {
	case addr = <-logs.addr:
	case err := <-done:
		return bench.Summary{}, bench.SlowStats{}, fmt.Errorf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		return bench.Summary{}, bench.SlowStats{}, errors.New("server did not report its address")
	}
	var readers *bench.SlowReaders
	if slow.readers > 0 {
		if err := createSlowMock(ctx, addr, slow.bodySize); err != nil {
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

// createSlowMock defines the mock at slowMockPath on the server at addr: GET, 200, a text
// body of size bytes. It sends OWNHTTP_DEMO_TOKEN as the bearer token when that is set, since
// the in-process server reads its flags from the environment too. It gives up after 30 s.
func createSlowMock(ctx context.Context, addr string, size int64) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	line := "ownhttp compare-engines: a large body for the slow readers.\n"
	body, err := json.Marshal(map[string]any{"method": "GET", "path_pattern": slowMockPath,
		"content_type": "text/plain; charset=utf-8", "body": strings.Repeat(line, int(size)/len(line)+1)[:size]})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/api/mocks", bytes.NewReader(body))
	if err != nil {
		return err
	}
	if token := os.Getenv(envPrefix + "_DEMO_TOKEN"); token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("creating the slow readers' mock: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("creating the slow readers' mock: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
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
