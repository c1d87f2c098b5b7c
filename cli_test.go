package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/bench"
	"ownhttp/cli"
	"ownhttp/state"

	"ownhttp/internal/testkit"
)

// exampleScenario is the original project's example file (a byte-for-byte copy of
// shared/seed/examples/user_lifecycle.json), run unchanged.
const exampleScenario = "testdata/user_lifecycle.json"

// Seeds of the example's chaos (step 2, index 1: status_flip, p=0.25, seed_offset 7).
const (
	passSeed = 42   // no chaos: the run passes
	failSeed = 2    // the status flips to 503: the run fails
	defSeed  = 1337 // the default seed: the status flips too
)

// cliResult is what one in-process run of the CLI gave.
type cliResult struct {
	code           int
	stdout, stderr string
	err            error
}

// runCLI runs "ownhttp args…" in-process and maps its error to the exit status main() would
// use (usage errors print their line to stderr, as main does).
func runCLI(t testing.TB, ctx context.Context, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctx, args, &out, &errb, nil)
	res := cliResult{err: err}
	var code cli.ExitCode
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &code):
		res.code = int(code)
	case errors.As(err, new(cli.UsageError)):
		res.code = 2
		fmt.Fprintln(&errb, "ownhttp:", err)
	default:
		res.code = 1
		fmt.Fprintln(&errb, "ownhttp:", err)
	}
	res.stdout, res.stderr = out.String(), errb.String()
	return res
}

// startLabServer starts a server (testkit.Start) and returns it with its base URL.
func startLabServer(t testing.TB, engine string, flags ...string) (*testkit.Server, string) {
	t.Helper()
	s := testkit.Start(t, run, engine, flags...)
	return s, s.URL()
}

// apiCall sends one request to the server and returns status, header and body. token, when
// not empty, goes as a bearer token.
func apiCall(t testing.TB, base, method, target, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, target, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// lifecycleScenario is the example file with its mock moved from /api/users to path: step 1
// creates the mock, and a second creation on the same server is a 409, so each run on a
// shared server needs a path of its own.
func lifecycleScenario(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(exampleScenario)
	if err != nil {
		t.Fatal(err)
	}
	return writeScenario(t, strings.ReplaceAll(string(b), "/api/users", path))
}

// writeScenario writes a scenario file and returns its name.
func writeScenario(t testing.TB, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "scenario.json")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// writeFile writes text to a file of that name in a fresh directory and returns its path.
func writeFile(t testing.TB, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// freePort returns a port nothing listens on (it was free a moment ago).
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// The example's outcome depends only on the seed: these are the seeds the tests rely on.
func TestExampleSeeds(t *testing.T) {
	is := is.New(t)
	c := &state.Chaos{Enabled: true, Mode: state.ChaosStatusFlip, Probability: 0.25, SeedOffset: 7}
	applied, _ := state.ChaosDecision(passSeed, c, 1)
	is.True(!applied) // passSeed: no chaos on step 2
	applied, _ = state.ChaosDecision(failSeed, c, 1)
	is.True(applied) // failSeed: chaos on step 2
	applied, _ = state.ChaosDecision(defSeed, c, 1)
	is.True(applied) // the default seed: chaos on step 2
}

// The acceptance test: the original project's example file, unchanged, against a fresh
// server: it passes with passSeed (exit 0) and fails with failSeed (exit 3).
func TestScenarioRunExampleFile(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		for _, tc := range []struct {
			seed int64
			code int
		}{{passSeed, 0}, {failSeed, 3}} {
			t.Run(strconv.FormatInt(tc.seed, 10), func(t *testing.T) {
				is := is.New(t)
				_, base := startLabServer(t, engine, "--access-log=false")
				res := runCLI(t, context.Background(), "scenario", "run", exampleScenario, "--base-url", base,
					"--seed", strconv.FormatInt(tc.seed, 10))
				is.Equal(res.code, tc.code) // exit status
				is.True(strings.Contains(res.stdout, "Scenario: "))
				if tc.code == 3 {
					is.True(strings.Contains(res.stdout, "      reason: status expected [201] got 503"))
				}
			})
		}
	})
}

// The example's flow (a mock created by step 1, called by step 2 under chaos) end to end on
// both engines: the pretty output, both outcomes, the flags before and after FILE, --json,
// --live.
func TestScenarioRunLocal(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, base := startLabServer(t, engine, "--access-log=false")
		t.Run("pass", func(t *testing.T) {
			is := is.New(t)
			file := lifecycleScenario(t, "/users-pass")
			res := runCLI(t, context.Background(), "scenario", "run", file, "--base-url", base, "--seed", "42")
			is.Equal(res.code, 0) // a passed run
			is.Equal(res.stderr, "")
			lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
			is.Equal(len(lines), 2+3+2) // 2 progress lines, 3 summary lines, 2 step lines
			is.True(strings.HasPrefix(lines[0], "PASS create-user-mock POST   /api/mocks"))
			is.True(strings.Contains(lines[0], " 201  "))
			is.True(strings.HasPrefix(lines[1], "PASS request-user     POST   /users-pass"))
			is.True(strings.HasPrefix(lines[2], "Run: "))
			is.True(strings.HasSuffix(lines[2], " | Seed: 42"))
			is.True(strings.HasPrefix(lines[3], "Status: pass | Passed: 2 | Failed: 0 | Duration: "))
			is.Equal(lines[4], strings.Repeat("-", 72))
			is.True(strings.HasPrefix(lines[5], "PASS create-user-mock latency="))
			is.True(strings.HasPrefix(lines[6], "PASS request-user latency=")) // padded to 12: exactly 12
			is.True(strings.Contains(lines[6], "ms trace="))
			is.Equal(len(strings.TrimSpace(lines[6][strings.Index(lines[6], "trace=")+6:])), 16) // the server's X-Request-ID
		})
		t.Run("fail", func(t *testing.T) {
			is := is.New(t)
			file := lifecycleScenario(t, "/users-fail")
			res := runCLI(t, context.Background(), "scenario", "run", "--seed", "2", file, "--base-url", base)
			is.Equal(res.code, 3) // a failed run
			is.True(strings.Contains(res.stdout, "Status: fail | Passed: 1 | Failed: 1 | "))
			is.True(strings.Contains(res.stdout, "\nFAIL request-user latency="))
			is.True(strings.Contains(res.stdout, "\n      reason: status expected [201] got 503\n"))
		})
		t.Run("default seed fails", func(t *testing.T) {
			is := is.New(t)
			file := lifecycleScenario(t, "/users-default")
			res := runCLI(t, context.Background(), "scenario", "run", file, "--base-url", base)
			is.Equal(res.code, 3)
			is.True(strings.Contains(res.stdout, "| Seed: 1337\n"))
		})
		t.Run("json, flags after FILE", func(t *testing.T) {
			is := is.New(t)
			file := lifecycleScenario(t, "/users-json")
			res := runCLI(t, context.Background(), "scenario", "run", file, "--base-url", base, "--seed", "42", "--json")
			is.Equal(res.code, 0)
			var report state.RunReport
			is.NoErr(json.Unmarshal([]byte(res.stdout), &report)) // stdout is the report alone
			is.Equal(report.Status, "pass")
			is.Equal(report.Seed, int64(42))
			is.Equal(len(report.StepResults), 2)
			is.Equal(report.StepResults[1].Response.Status, 201)
			is.Equal(report.StepResults[1].Response.Headers["x-mock-server"], "custom")
			is.Equal(len(report.RunID), 14)
			is.True(strings.Contains(res.stderr, "PASS request-user")) // progress went to stderr
		})
		t.Run("live lines", func(t *testing.T) {
			is := is.New(t)
			file := lifecycleScenario(t, "/users-live")
			res := runCLI(t, context.Background(), "scenario", "run", "--live", file, "--seed=42", "--base-url="+base)
			is.Equal(res.code, 0)
			is.True(strings.Contains(res.stdout, "STEP START scenario="))
			is.True(strings.Contains(res.stdout, " step=create-user-mock target=local\n"))
			is.True(strings.Contains(res.stdout, "STEP END step=request-user status=pass latency_ms="))
		})
	})
}

// Bad files, bad scenarios, bad command lines and a server that is not there: each one line
// on stderr and its exit status.
func TestScenarioRunErrors(t *testing.T) {
	dir := t.TempDir()
	valid := lifecycleScenario(t, "/users")
	unreachable := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // a substring of the one stderr line
	}{
		{"missing file", []string{"run", filepath.Join(dir, "none.json")}, 1, "cannot read scenario file: open "},
		{"directory", []string{"run", dir}, 1, "cannot read scenario file"},
		{"not json", []string{"run", writeScenario(t, "{nope")}, 2, "invalid scenario"},
		{"no name", []string{"run", writeScenario(t, `{"steps":[{"path":"/"}]}`)}, 2, "scenario name is required"},
		{"no steps", []string{"run", writeScenario(t, `{"name":"x","steps":[]}`)}, 2, "at least one step"},
		{"bad method", []string{"run", writeScenario(t, `{"name":"x","steps":[{"method":"BREW","path":"/"}]}`)}, 2, "step 1: invalid method"},
		{"bad path", []string{"run", writeScenario(t, `{"name":"x","steps":[{"method":"GET","path":"x"}]}`)}, 2, "step 1: path must start with /"},
		{"misspelled expect", []string{"run", writeScenario(t, `{"name":"x","steps":[{"method":"GET","path":"/","expct":{"status":404}}]}`)}, 2,
			`step 1: unknown field "expct"`},
		{"too many steps", []string{"run", "--max-steps", "1", valid}, 2, "scenario has too many steps"},
		{"unreachable", []string{"run", valid, "--base-url", unreachable}, 1,
			"ownhttp: cannot reach " + unreachable + ": connection refused"},
		{"no FILE", []string{"run"}, 2, "want at least one scenario FILE or DIR"},
		{"bad --var", []string{"run", valid, "--var", "novalue"}, 2, `variable "novalue" must be name=value`},
		{"missing --vars-file", []string{"run", valid, "--vars-file", filepath.Join(dir, "none.env")}, 2, "--vars-file: open "},
		{"bad --jobs", []string{"run", valid, "--jobs", "0"}, 2, "--jobs must be positive"},
		{"invalid hurl", []string{"run", writeFile(t, "bad.hurl", "GET /a\n[Foo]\n")}, 2, `hurl line 2: unknown section "[Foo]"`},
		{"unknown flag", []string{"run", valid, "--bogus"}, 2, "flag provided but not defined"},
		{"bad seed", []string{"run", valid, "--seed", "x"}, 2, "invalid value"},
		{"bad url", []string{"run", valid, "--base-url", "ftp://x"}, 2, "want http://host"},
		{"no command", []string{}, 2, "want a command"},
		{"unknown command", []string{"fly"}, 2, `unknown command "fly"`},
		{"list argument", []string{"list", "x"}, 2, `unexpected argument "x"`},
		{"run-remote without ID", []string{"run-remote"}, 2, "want exactly one ID"},
		{"proxy without target", []string{"proxy", "--method", "GET", "--path", "/"}, 2, "--target-id is required"},
		{"proxy bad headers", []string{"proxy", "--target-id", "t", "--method", "GET", "--path", "/", "--headers-json", "[1]"}, 2, "--headers-json must be a JSON object"},
		{"proxy headers not json", []string{"proxy", "--target-id", "t", "--method", "GET", "--path", "/", "--headers-json", "{"}, 2, "--headers-json must be a JSON object"},
		{"live refresh 0", []string{"live", "--refresh-ms", "0"}, 1, "--refresh-ms must be > 0"},
		{"live refresh negative", []string{"live", "--refresh-ms=-5"}, 1, "--refresh-ms must be > 0"},
		{"list unreachable", []string{"list", "--server", unreachable}, 1, "cannot reach " + unreachable + ": connection refused"},
		{"live unreachable", []string{"live", "--server", unreachable}, 1, "cannot reach " + unreachable + ": connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			t.Setenv("OWNHTTP_TOKEN", "")
			t.Setenv("OWNHTTP_DEMO_TOKEN", "")
			res := runCLI(t, context.Background(), append([]string{"scenario"}, tc.args...)...)
			is.Equal(res.code, tc.code) // exit status
			is.Equal(res.stdout, "")
			stderr := res.stderr
			if tc.name == "no command" { // the usage, then the line
				stderr = stderr[strings.LastIndex(strings.TrimRight(stderr, "\n"), "\n")+1:]
			}
			is.True(strings.HasPrefix(stderr, "ownhttp: "))      // names the program
			is.True(strings.Contains(stderr, tc.stderr))         // says what went wrong
			is.Equal(strings.Count(stderr, "\n"), 1)             // on one line
			is.True(!strings.Contains(res.stderr, "goroutine ")) // never a stack trace
		})
	}
}

// A step whose request fails under way (the server closes without answering) is a failed
// step with a 502 dispatch error, not an aborted run.
func TestScenarioRunDispatchError(t *testing.T) {
	is := is.New(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.ReadAtLeast(c, make([]byte, 1), 1)
			c.Close() // hang up without an answer
		}
	}()
	file := writeScenario(t, `{"name":"hangup","steps":[{"method":"GET","path":"/x"}]}`)
	res := runCLI(t, context.Background(), "scenario", "run", file, "--base-url", "http://"+l.Addr().String())
	is.Equal(res.code, 3) // a failed run
	is.True(strings.Contains(res.stdout, "FAIL step-1"))
	is.True(strings.Contains(res.stdout, "reason: status expected [200] got 502"))
}

// junitDoc is the JUnit XML as a CI system reads it.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			ClassName string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// --junit writes a report a CI system can read: a testsuite for the scenario, a testcase
// per step, a failure with the reason, skipped steps after a failure.
func TestScenarioRunJUnit(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, base := startLabServer(t, engine, "--access-log=false")
		file := writeScenario(t, `{"name":"Health <& checks>","steps":[
			{"id":"home","name":"Home page","method":"GET","path":"/","expect":{"status":200,"body_contains":["Hello"]}},
			{"id":"health","method":"GET","path":"/healthz","expect":{"status":201,"body_contains":["ok"]}},
			{"id":"never","method":"GET","path":"/"}]}`)
		out := filepath.Join(t.TempDir(), "junit.xml")
		res := runCLI(t, context.Background(), "scenario", "run", file, "--junit", out, "--base-url", base, "--seed", "9")
		is.Equal(res.code, 3)
		b, err := os.ReadFile(out)
		is.NoErr(err)
		is.True(bytes.HasPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)))
		var doc junitDoc
		is.NoErr(xml.Unmarshal(b, &doc))
		is.Equal(doc.Tests, 3)
		is.Equal(doc.Failures, 1)
		is.Equal(len(doc.Suites), 1) // one suite per scenario
		s := doc.Suites[0]
		is.Equal(s.Name, "Health <& checks>") // escaped and read back
		is.Equal(s.Tests, 3)
		is.Equal(s.Failures, 1)
		is.Equal(s.Skipped, 1)
		props := map[string]string{}
		for _, p := range s.Properties {
			props[p.Name] = p.Value
		}
		is.Equal(props["seed"], "9")
		is.Equal(props["status"], "fail")
		is.Equal(len(props["run_id"]), 14)
		is.Equal(len(s.Cases), 3) // one case per step
		is.Equal(s.Cases[0].Name, "home (Home page)")
		is.Equal(s.Cases[0].ClassName, "Health <& checks>")
		is.True(s.Cases[0].Failure == nil && s.Cases[0].Skipped == nil) // passed
		is.True(s.Cases[1].Failure != nil)
		is.Equal(s.Cases[1].Failure.Message, "status expected [201] got 200")
		is.True(strings.Contains(s.Cases[1].Failure.Text, "status: expected [201], actual 200"))
		is.True(s.Cases[2].Skipped != nil) // not run after the failure
		_, err = strconv.ParseFloat(s.Cases[0].Time, 64)
		is.NoErr(err) // time in seconds
	})
}

// The token: sent on every local step as a bearer token (from --token or OWNHTTP_TOKEN),
// unless the step sets its own Authorization.
func TestScenarioRunToken(t *testing.T) {
	const token = "cli-t0ken"
	_, base := startLabServer(t, "epoll", "--access-log=false", "--demo-token", token)
	t.Setenv("OWNHTTP_TOKEN", "")
	t.Setenv("OWNHTTP_DEMO_TOKEN", "")
	for _, tc := range []struct {
		name  string
		args  []string
		env   string
		code  int
		extra string
	}{
		{"no token", nil, "", 3, "status expected [200, 201] got 401"},
		{"wrong token", []string{"--token", "nope"}, "", 3, "got 401"},
		{"--token", []string{"--token", token}, "", 0, ""},
		{"OWNHTTP_TOKEN", nil, token, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			t.Setenv("OWNHTTP_TOKEN", tc.env)
			file := lifecycleScenario(t, "/tok-"+strings.ReplaceAll(tc.name, " ", "-"))
			res := runCLI(t, context.Background(), append([]string{"scenario", "run", file, "--base-url", base, "--seed", "42"}, tc.args...)...)
			is.Equal(res.code, tc.code)
			is.True(strings.Contains(res.stdout, tc.extra))
		})
	}
	t.Run("step's own Authorization wins", func(t *testing.T) {
		is := is.New(t)
		file := writeScenario(t, `{"name":"own","steps":[{"method":"GET","path":"/api/mocks","headers":{"Authorization":"Bearer nope"},"expect":{"status":401}}]}`)
		res := runCLI(t, context.Background(), "scenario", "run", file, "--base-url", base, "--token", token)
		is.Equal(res.code, 0) // the step's header went, not --token
	})
}

// A target step goes through POST /api/proxy/request; an unknown target is a failed step
// with the proxy's 404.
func TestScenarioRunTargetStep(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Upstream", "yes")
			w.WriteHeader(202)
			fmt.Fprintf(w, "upstream saw %s %s", r.Method, r.URL.RequestURI())
		}))
		defer upstream.Close()
		_, base := startLabServer(t, engine, "--access-log=false")
		status, _, _ := apiCall(t, base, "POST", "/api/targets", "", `{"id":"up","name":"upstream","base_url":"`+upstream.URL+`"}`)
		is.Equal(status, 201)
		file := writeScenario(t, `{"name":"via proxy","defaults":{"stop_on_fail":false},"steps":[
			{"id":"up","method":"POST","path":"/hello?x=1","target_id":"up","body":"hi",
			 "expect":{"status":202,"body_contains":["upstream saw POST /hello?x=1"],"header_equals":{"x-upstream":"yes"}}},
			{"id":"nowhere","method":"GET","path":"/","target_id":"nowhere","expect":{"status":404,"body_contains":["target_not_found"]}}]}`)
		res := runCLI(t, context.Background(), "scenario", "run", file, "--base-url", base, "--json")
		is.Equal(res.code, 0) // both steps as expected
		var report state.RunReport
		is.NoErr(json.Unmarshal([]byte(res.stdout), &report))
		is.Equal(report.StepResults[0].Response.Status, 202)
		is.Equal(len(report.StepResults[0].TraceID), 16) // the proxy's trace id
		is.Equal(report.StepResults[1].Response.Status, 404)
	})
}

// list, run-remote: the server's scenarios, and a run on the server.
func TestScenarioRemote(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, base := startLabServer(t, engine, "--access-log=false")
		b, err := os.ReadFile(exampleScenario)
		if err != nil {
			t.Fatal(err)
		}
		sc := strings.Replace(strings.ReplaceAll(string(b), "/api/users", "/remote-users"), "{", `{"id":"lifecycle",`, 1)
		status, _, body := apiCall(t, base, "POST", "/api/scenarios", "", sc)
		if status != 201 {
			t.Fatalf("create scenario: %d %s", status, body)
		}
		t.Run("list", func(t *testing.T) {
			is := is.New(t)
			res := runCLI(t, context.Background(), "scenario", "list", "--server", base)
			is.Equal(res.code, 0)
			is.Equal(res.stdout, "lifecycle\tUser lifecycle\tsteps=2\n")
			res = runCLI(t, context.Background(), "scenario", "list", "--json", "--server", base)
			is.Equal(res.code, 0)
			var payload struct {
				Scenarios []state.Scenario `json:"scenarios"`
			}
			is.NoErr(json.Unmarshal([]byte(res.stdout), &payload))
			is.Equal(len(payload.Scenarios), 1)
		})
		t.Run("run-remote", func(t *testing.T) {
			is := is.New(t)
			// The first run creates the mock (step 1) and passes with passSeed.
			res := runCLI(t, context.Background(), "scenario", "run-remote", "lifecycle", "--seed", "42", "--server", base)
			is.Equal(res.code, 0)
			is.True(strings.HasPrefix(res.stdout, "Run: "))
			is.True(strings.Contains(res.stdout, "| Scenario: lifecycle | Seed: 42\nStatus: pass | Passed: 2 | Failed: 0"))
			// A second run fails at step 1 (the mock exists: 409).
			res = runCLI(t, context.Background(), "scenario", "run-remote", "--json", "--server", base, "--seed", "42", "lifecycle")
			is.Equal(res.code, 3)
			var payload struct {
				Run state.RunReport `json:"run"`
			}
			is.NoErr(json.Unmarshal([]byte(res.stdout), &payload)) // the whole payload
			is.Equal(payload.Run.Status, "fail")
			// An unknown scenario: the server's answer on stderr.
			res = runCLI(t, context.Background(), "scenario", "run-remote", "nope", "--server", base)
			is.Equal(res.code, 1)
			is.True(strings.HasPrefix(res.stderr, "ownhttp: server answered 404 Not Found\n"))
			is.True(strings.Contains(res.stderr, `"not_found"`))
		})
	})
}

// proxy: one request through the server's proxy; exit 0 below 400, 3 from 400, 1 when the
// proxy itself refuses.
func TestScenarioProxy(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/missing" {
				http.Error(w, "no such thing", 404)
				return
			}
			w.Header().Set("X-Echo", r.Header.Get("X-In"))
			fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), readAll(r.Body))
		}))
		defer upstream.Close()
		_, base := startLabServer(t, engine, "--access-log=false")
		status, _, body := apiCall(t, base, "POST", "/api/targets", "", `{"id":"up","name":"upstream","base_url":"`+upstream.URL+`"}`)
		if status != 201 {
			t.Fatalf("create target: %d %s", status, body)
		}
		for _, tc := range []struct {
			name   string
			args   []string
			code   int
			stdout []string
		}{
			{"ok", []string{"--method", "post", "--path", "/echo?q=1", "--body", "hello", "--headers-json", `{"X-In":"abc"}`}, 0,
				[]string{"Proxy response | target=up status=200 trace=", "Headers:\n{\n", `"X-Echo": "abc"`, "Body:\nPOST /echo?q=1 hello\n"}},
			{"upstream 404", []string{"--method", "GET", "--path", "/missing"}, 3, []string{"status=404", "no such thing"}},
			{"json", []string{"--method", "GET", "--path", "/x", "--json"}, 0, []string{`"trace_id": "`, `"status": 200`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				res := runCLI(t, context.Background(), append([]string{"scenario", "proxy", "--server", base, "--target-id", "up"}, tc.args...)...)
				is.Equal(res.code, tc.code)
				for _, s := range tc.stdout {
					if !strings.Contains(res.stdout, s) {
						t.Errorf("stdout lacks %q:\n%s", s, res.stdout)
					}
				}
			})
		}
		t.Run("unknown target", func(t *testing.T) {
			is := is.New(t)
			res := runCLI(t, context.Background(), "scenario", "proxy", "--server", base, "--target-id", "nope", "--method", "GET", "--path", "/")
			is.Equal(res.code, 1)
			is.True(strings.Contains(res.stderr, "target_not_found"))
		})
	})
}

func readAll(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}

// syncBuffer is a buffer safe for one writer and concurrent readers, that can wait for text.
type syncBuffer struct{ testkit.LogBuffer }

// waitFor waits (at most 10 s) until the buffer holds every one of subs.
func (b *syncBuffer) waitFor(t testing.TB, subs ...string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := b.String()
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(s, sub)
		}
		if all {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("output never held %q:\n%s", subs, b.String())
	return false
}

// liveRun runs "ownhttp scenario live args…" until the returned stop is called; stop returns
// the command's error.
func liveRun(t *testing.T, args ...string) (stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"scenario", "live"}, args...), stdout, stderr, nil) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("live did not stop within 10s")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stdout, stderr, stop
}

// live without a terminal prints one line per event from the SSE stream, and stops on
// cancellation with status 0. With the guard on it sends the token in the header.
func TestScenarioLive(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		const token = "live-t0ken"
		_, base := startLabServer(t, engine, "--access-log=false", "--demo-token", token)
		apiCall(t, base, "GET", "/live-before", "", "")
		stdout, stderr, stop := liveRun(t, "--server", base, "--token", token, "--refresh-ms", "50")
		is.True(stdout.waitFor(t, "request 404 GET /live-before lat=")) // events from before it started
		is.True(stdout.waitFor(t, "health "))                           // system.health
		apiCall(t, base, "GET", "/live-after", "", "")
		is.True(stdout.waitFor(t, "request 404 GET /live-after")) // and as they happen
		is.NoErr(stop())                                          // Ctrl-C is exit status 0
		is.Equal(stderr.String(), "")                             // the stream worked: no fallback notice
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			is.True(strings.HasPrefix(line, "#")) // one event per line, with its id
		}
	})
}

// live without the token: the server's 401 on stderr, exit 1.
func TestScenarioLiveUnauthorized(t *testing.T) {
	is := is.New(t)
	t.Setenv("OWNHTTP_TOKEN", "")
	t.Setenv("OWNHTTP_DEMO_TOKEN", "")
	_, base := startLabServer(t, "epoll", "--access-log=false", "--demo-token", "secret-x")
	res := runCLI(t, context.Background(), "scenario", "live", "--server", base)
	is.Equal(res.code, 1)
	is.True(strings.Contains(res.stderr, "server answered 401"))
	is.True(strings.Contains(res.stderr, `"unauthorized"`))
}

// When the stream cannot be opened, live polls the snapshot; both requests carry the token
// in the Authorization header and never in the URL.
func TestScenarioLiveFallback(t *testing.T) {
	is := is.New(t)
	var mu sync.Mutex
	var seen []string
	snapshot := func(since uint64) string {
		if since >= 3 {
			return `{"events":[],"latest_id":3,"oldest_id":1,"overflowed":false,"has_more":false,"refresh_ms":100}`
		}
		return `{"events":[
			{"id":1,"ts":"2026-01-01T00:00:00Z","type":"system.health","source":"server","trace_id":"","payload":{"engine":"epoll","state":"server_initialized"}},
			{"id":2,"ts":"2026-01-01T00:00:01Z","type":"request.completed","source":"server","trace_id":"aaaa","payload":{"method":"GET","path":"/boom","status":500,"latency_ms":1.5}},
			{"id":3,"ts":"2026-01-01T00:00:02Z","type":"scenario.step.completed","source":"server","trace_id":"bbbb","payload":{"scenario_id":"sc","step_id":"s1","status":"fail","failure_reason":"status expected [200] got 500"}}],
			"latest_id":3,"oldest_id":1,"overflowed":false,"has_more":false,"refresh_ms":100}`
	}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" auth="+r.Header.Get("Authorization")+" token="+r.URL.Query().Get("token"))
		mu.Unlock()
		switch r.URL.Path {
		case "/api/events/snapshot":
			since, _ := strconv.ParseUint(r.URL.Query().Get("since_id"), 10, 64)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, snapshot(since))
		default:
			http.Error(w, `{"error":{"code":"not_found","message":"nope"}}`, 404)
		}
	}))
	defer fake.Close()
	stdout, stderr, stop := liveRun(t, "--server", fake.URL, "--token", "tok", "--refresh-ms", "20")
	is.True(stdout.waitFor(t, "#1 health engine=epoll state=server_initialized ts=2026-01-01T00:00:00Z",
		"#2 request 500 GET /boom lat=1.5ms trace=aaaa",
		"#3 scenario scenario.step.completed scenario=sc step=s1 status=fail reason=status expected [200] got 500"))
	is.NoErr(stop())
	is.True(strings.Contains(stderr.String(), "event stream unavailable (server answered 404 Not Found); polling /api/events/snapshot"))
	is.Equal(strings.Count(stdout.String(), "#2 "), 1) // the cursor moved on: no event twice
	mu.Lock()
	defer mu.Unlock()
	is.True(len(seen) >= 2)
	is.True(strings.HasPrefix(seen[0], "/api/events/stream "))
	for _, s := range seen {
		is.True(strings.HasSuffix(s, " auth=Bearer tok token=")) // header, never the URL
	}
}

// The SSE client: gaps, multi-line data and comments.
func TestScenarioLiveStreamFrames(t *testing.T) {
	is := is.New(t)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/events/stream" {
			http.Error(w, "no", 404)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "retry: 1000\n\n: heartbeat\n\nevent: stream.gap\ndata: {\"overflowed\":true,\"oldest_id\":5,\"latest_id\":9}\n\n")
		io.WriteString(w, "id: 5\nevent: proxy.request.completed\ndata: {\"id\":5,\"type\":\"proxy.request.completed\",\ndata: \"trace_id\":\"cccc\",\"payload\":{\"target_id\":\"t1\",\"method\":\"GET\",\"path\":\"/p\",\"status\":404}}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer fake.Close()
	stdout, _, stop := liveRun(t, "--server", fake.URL)
	is.True(stdout.waitFor(t, "gap: events were lost (oldest_id=5 latest_id=9)\n", "#5 proxy 404 GET /p target=t1 trace=cccc\n"))
	is.NoErr(stop())
}

// The built binary: main() turns the CLI's results into exit statuses.
func TestScenarioBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testkit.Binary(t)
	_, base := startLabServer(t, "epoll", "--access-log=false")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"pass", []string{"run", lifecycleScenario(t, "/bin-pass"), "--base-url", base, "--seed", "42"}, 0, ""},
		{"fail", []string{"run", lifecycleScenario(t, "/bin-fail"), "--base-url", base, "--seed", "2"}, 3, ""},
		{"missing file", []string{"run", "/nonexistent/x.json"}, 1, "ownhttp: cannot read scenario file"},
		{"invalid", []string{"run", writeScenario(t, `{"name":""}`)}, 2, "ownhttp: invalid scenario"},
		{"usage", []string{"run"}, 2, "ownhttp: scenario run: want at least one scenario FILE or DIR"},
		{"help", []string{"--help"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			code, stdout, stderr := testkit.RunBinary(t, bin, append([]string{"scenario"}, tc.args...)...)
			is.Equal(code, tc.code) // exit status
			if tc.stderr != "" {
				is.True(strings.HasPrefix(stderr, tc.stderr))
				is.Equal(strings.Count(stderr, "\n"), 1) // one line
			}
			if tc.name == "help" {
				is.True(strings.Contains(stdout, "Usage: ownhttp scenario COMMAND"))
			}
		})
	}
}

// compare-engines runs both engines under the load flags' load, with the slow readers beside
// it when asked: the workload names them, and each engine's slow readers received bodies
// without errors. Only counts are checked, never speed. The demo token from the environment
// guards the in-process server too; creating the slow readers' mock must carry it.
func TestBenchCompareEngines(t *testing.T) {
	t.Setenv("OWNHTTP_DEMO_TOKEN", "bench-token")
	quick := []string{"bench", "compare-engines", "--duration", "300ms", "--warmup", "100ms", "--concurrency", "4"}
	for _, tc := range []struct {
		name     string
		args     []string
		workload string
	}{
		{"slow readers", []string{"--slow-readers", "2", "--slow-body-size", "65536"},
			"GET /, concurrency 4, keep-alive true, pipeline 1, 300ms, with 2 slow readers of a 64 KiB mock body"},
		{"no slow readers", []string{"--slow-readers", "0"}, "GET /, concurrency 4, keep-alive true, pipeline 1, 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			res := runCLI(t, context.Background(), append(quick, tc.args...)...)
			is.Equal(res.code, 0) // exit status
			var out struct {
				Workload string                     `json:"workload"`
				Results  map[string]bench.Summary   `json:"results"`
				Slow     map[string]bench.SlowStats `json:"slow_readers"`
				Gates    struct {
					Checks map[string]bool `json:"checks"`
				} `json:"gates"`
				Markdown string `json:"markdown_table"`
			}
			is.NoErr(json.Unmarshal([]byte(res.stdout), &out))
			is.Equal(out.Workload, tc.workload)
			is.True(strings.HasPrefix(out.Markdown, "Workload: "+tc.workload+"\n"))
			is.Equal(len(out.Gates.Checks), 3)
			for _, engine := range []string{"epoll", "threadpool"} {
				is.True(out.Results[engine].Requests > 0) // the measured load ran on both engines
				is.True(strings.Contains(out.Markdown, "| "+engine+" | "))
			}
			if strings.Contains(tc.workload, "slow readers") {
				is.Equal(len(out.Slow), 2)
				for engine, s := range out.Slow {
					is.True(s.Bytes > 0)         // the slow readers received body bytes
					is.Equal(s.Errors, int64(0)) // and no errors, even when the server stopped
					t.Logf("%s: %+v", engine, s)
				}
			} else {
				is.Equal(out.Slow, nil) // no slow_readers field
				is.True(!strings.Contains(out.Markdown, "Slow"))
			}
		})
	}
	is := is.New(t)
	res := runCLI(t, context.Background(), "bench", "compare-engines", "--slow-readers", "-1")
	is.Equal(res.code, 2) // a usage error
}

// compare-engines finds its in-process servers whatever their log format: the environment's
// OWNHTTP_LOG_FORMAT=json reaches them too.
func TestBenchCompareEnginesJSONLog(t *testing.T) {
	is := is.New(t)
	t.Setenv("OWNHTTP_LOG_FORMAT", "json")
	res := runCLI(t, context.Background(), "bench", "compare-engines", "--duration", "200ms", "--warmup", "0s",
		"--concurrency", "2", "--slow-readers", "0")
	is.Equal(res.code, 0) // exit status
	is.True(strings.Contains(res.stdout, `"epoll_vs_threadpool_rps_ratio"`))
}
