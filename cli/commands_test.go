package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/bench"
)

// clearCLIEnv unsets the variables the commands read, for the test.
func clearCLIEnv(t *testing.T) {
	for _, name := range []string{"TOKEN", "DEMO_TOKEN", "SERVER", "BASE_URL", "INSECURE", "TIMEOUT"} {
		t.Setenv(envPrefix+"_"+name, "")
	}
}

// fakeServer answers what each command asks of a server, and records "METHOD /path" of
// every request; hit, when set, is called after recording, before the answer.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
	hit  func()
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Method+" "+r.URL.Path)
		hit := f.hit
		f.mu.Unlock()
		if hit != nil {
			hit()
		}
		switch {
		case r.URL.Path == "/api/scenarios":
			io.WriteString(w, `{"scenarios":[]}`)
		case strings.HasPrefix(r.URL.Path, "/api/scenarios/"):
			io.WriteString(w, `{"run":{"run_id":"r","scenario_id":"sc","status":"pass"}}`)
		case r.URL.Path == "/api/proxy/request":
			io.WriteString(w, `{"response":{"status":200,"headers":{},"body":"ok"},"trace_id":"t"}`)
		case r.URL.Path == "/api/events/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			io.WriteString(w, "hello")
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

// Every command that talks to a server takes --server; scenario run keeps --base-url and
// bench load keeps --addr HOST:PORT as other names of it.
func TestServerFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sc.json")
	if err := os.WriteFile(file, []byte(`{"name":"x","steps":[{"method":"GET","path":"/step"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	load := []string{"--duration", "100ms", "--warmup", "0s", "--concurrency", "1"}
	for _, tc := range []struct {
		name string
		args func(url string) []string
		want string // the request the server must have seen
	}{
		{"scenario run --server", func(u string) []string { return []string{"scenario", "run", file, "--server", u} }, "GET /step"},
		{"scenario run --base-url", func(u string) []string { return []string{"scenario", "run", "--base-url=" + u, file} }, "GET /step"},
		{"scenario list", func(u string) []string { return []string{"scenario", "list", "--server", u} }, "GET /api/scenarios"},
		{"scenario run-remote", func(u string) []string { return []string{"scenario", "run-remote", "sc", "--server", u} }, "POST /api/scenarios/sc/run"},
		{"scenario proxy", func(u string) []string {
			return []string{"scenario", "proxy", "--server", u, "--target-id", "t", "--method", "GET", "--path", "/p"}
		}, "POST /api/proxy/request"},
		{"scenario live", func(u string) []string { return []string{"scenario", "live", "--server", u} }, "GET /api/events/stream"},
		{"bench load --server", func(u string) []string {
			return append([]string{"bench", "load", "--server", u + "/prefix", "--path", "/p"}, load...)
		}, "GET /prefix/p"},
		{"bench load --addr", func(u string) []string {
			return append([]string{"bench", "load", "--addr", strings.TrimPrefix(u, "http://")}, load...)
		}, "GET /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			clearCLIEnv(t)
			f := newFakeServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if strings.HasSuffix(tc.name, "live") {
				f.hit = cancel // live runs until ctx ends
			}
			var stdout, stderr bytes.Buffer
			err := Run(ctx, tc.args(f.URL), &stdout, &stderr, Env{})
			is.NoErr(err) // exit status 0
			is.True(slices.Contains(f.requests(), tc.want))
		})
	}
}

// A bad server URL is a usage error for every spelling; bench load's generator speaks plain
// http only.
func TestServerFlagBad(t *testing.T) {
	for _, args := range [][]string{
		{"scenario", "list", "--server", "ftp://x"},
		{"scenario", "run", "f.json", "--base-url", "x"},
		{"bench", "load", "--server", "https://127.0.0.1:1"},
		{"bench", "load", "--addr", "127.0.0.1:1/?q"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			is := is.New(t)
			clearCLIEnv(t)
			err := Run(context.Background(), args, io.Discard, io.Discard, Env{})
			var ue UsageError
			is.True(errors.As(err, &ue)) // exit status 2
		})
	}
}

// The server URL from the environment: OWNHTTP_SERVER, else OWNHTTP_BASE_URL; a flag or one
// of its aliases wins over both.
func TestServerFlagEnv(t *testing.T) {
	is := is.New(t)
	clearCLIEnv(t)
	parse := func(args ...string) string {
		fs, cc := newCLIFlags("run", "base-url")
		_, err := parseCLIFlags(fs, args)
		is.NoErr(err)
		return cc.server
	}
	is.Equal(parse(), defaultServerURL)
	t.Setenv("OWNHTTP_BASE_URL", "http://base.test")
	is.Equal(parse(), "http://base.test") // the older variable still works
	t.Setenv("OWNHTTP_SERVER", "http://server.test")
	is.Equal(parse(), "http://server.test") // the new one first
	is.Equal(parse("--base-url", "http://flag.test"), "http://flag.test")
	is.Equal(parse("--server", "http://flag.test"), "http://flag.test")

	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var server string
	addServerFlag(fs, &server)
	fs.Var(addrFlag{&server}, "addr", "")
	_, err := parseCLIFlags(fs, []string{"--addr", "10.0.0.1:81"})
	is.NoErr(err)
	is.Equal(server, "http://10.0.0.1:81") // --addr is the server's host:port, and wins over the environment
}

// The ratio of the gates is undefined (JSON null) when the threadpool served 0 requests/s;
// its gate is then decided by epoll having served requests, and the Markdown says so.
func TestCompareGates(t *testing.T) {
	ok := bench.Summary{RPS: 100, P95ms: 1}
	for _, tc := range []struct {
		name   string
		ep, tp bench.Summary
		ratio  string // as JSON
		faster bool
	}{
		{"ratio 2", bench.Summary{RPS: 200, P95ms: 1}, ok, "2", true},
		{"ratio 1.5", bench.Summary{RPS: 150, P95ms: 1}, ok, "1.5", false},
		{"threadpool served nothing", ok, bench.Summary{}, "null", true},
		{"neither served", bench.Summary{}, bench.Summary{}, "null", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			out := engineComparison{Workload: "w", Results: map[string]bench.Summary{"epoll": tc.ep, "threadpool": tc.tp}}
			out.Gates = decideGates(tc.ep, tc.tp)
			is.Equal(out.Gates.Checks["epoll_rps_ge_1_8x_threadpool"], tc.faster)
			is.Equal(out.Gates.AllPassed, tc.faster) // the other gates pass
			b, err := json.Marshal(out.Gates)
			is.NoErr(err)
			is.True(strings.Contains(string(b), `"epoll_vs_threadpool_rps_ratio":`+tc.ratio+`,`))
			md := comparisonMarkdown(&out)
			if tc.ratio == "null" {
				is.True(strings.Contains(md, "requests per second: undefined (the threadpool served 0 requests/s;"))
			} else {
				is.True(strings.Contains(md, "requests per second: "+tc.ratio+"x\n"))
			}
		})
	}
}

// compare-engines runs each engine through Env.Serve and loads the URL its ready callback
// gave; no log is read.
func TestCompareEnginesServe(t *testing.T) {
	is := is.New(t)
	clearCLIEnv(t)
	var engines []string
	env := Env{Serve: func(ctx context.Context, args []string, stderr io.Writer, ready func(string)) error {
		i := slices.Index(args, "--engine")
		engines = append(engines, args[i+1])
		f := newFakeServer(t)
		ready(f.URL)
		<-ctx.Done()
		return nil
	}}
	var stdout bytes.Buffer
	err := Run(context.Background(), []string{"bench", "compare-engines", "--duration", "100ms", "--warmup", "0s",
		"--concurrency", "1", "--slow-readers", "0"}, &stdout, io.Discard, env)
	is.NoErr(err)
	is.Equal(engines, []string{"threadpool", "epoll"})
	var out engineComparison
	is.NoErr(json.Unmarshal(stdout.Bytes(), &out))
	for _, engine := range engines {
		is.True(out.Results[engine].Requests > 0) // the load reached the served URL
	}
}

// cli imports, of the module, only state, bench, proto and the internal helpers atomicfile
// and sse: it reaches the server over HTTP,
// or through Env.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"ownhttp/state", "ownhttp/bench", "ownhttp/proto", "ownhttp/internal/atomicfile", "ownhttp/internal/sse"}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if strings.HasPrefix(imp, "ownhttp/") && !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s; cli may import only %v of the module", name, imp, allowed)
			}
		}
	}
}
