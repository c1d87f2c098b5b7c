package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
	"ownhttp/mock"
)

// socketEnd is how a raw read of a response ended.
type socketEnd string

const (
	endEOF   socketEnd = "eof"   // the server closed (FIN)
	endReset socketEnd = "reset" // the server reset the connection (RST)
	endOpen  socketEnd = "open"  // the connection stayed open and served another request
)

// faultCase is one fault: the mock's faults JSON, the exact bytes a raw client reads (a
// function of the same mock's answer without the fault, its head and body), how the socket
// ends, curl's exit code, and what Go's net/http reports ("" for no error; else a substring
// of the error of the request or of reading the body, and the body it read).
type faultCase struct {
	name    string
	faults  string
	want    func(head, body string) string
	end     socketEnd
	curl    int
	goErr   string
	goBody  string
	atLeast time.Duration // the raw read lasts at least this long (timers never fire early)
}

// The body every fault case's mock answers: 11 bytes.
const wireBody = "hello world"

func faultCases() []faultCase {
	whole := func(head, body string) string { return head + body }
	withLength := func(n int) func(head, body string) string {
		return func(head, body string) string {
			return strings.Replace(head, "Content-Length: 11\r\n", "Content-Length: "+strconv.Itoa(n)+"\r\n", 1) + body
		}
	}
	chunked := func(framed string) func(head, body string) string {
		return func(head, body string) string {
			return strings.Replace(head, "Content-Length: 11\r\n", "Transfer-Encoding: chunked\r\n", 1) + framed
		}
	}
	return []faultCase{
		{name: "latency", faults: `[]`, want: whole, end: endOpen, goBody: wireBody, atLeast: 200 * time.Millisecond},
		{name: "reset before any byte", faults: `[{"kind":"reset"}]`,
			want: func(string, string) string { return "" }, end: endReset, curl: 56, goErr: "connection reset"},
		{name: "reset after 30 bytes", faults: `[{"kind":"reset","after_bytes":30}]`,
			want: func(head, body string) string { return (head + body)[:30] }, end: endReset, curl: 56,
			goErr: "unexpected EOF"}, // Go reports a head cut short so, whatever cut it
		{name: "empty", faults: `[{"kind":"empty"}]`,
			want: func(string, string) string { return "" }, end: endEOF, curl: 52, goErr: "EOF"},
		{name: "garbage", faults: `[{"kind":"garbage","bytes":64}]`, want: nil, end: endEOF, curl: 1, goErr: "malformed HTTP"},
		{name: "content_length +5", faults: `[{"kind":"content_length","delta":5}]`,
			want: withLength(16), end: endEOF, curl: 18, goErr: "unexpected EOF", goBody: wireBody},
		{name: "content_length -5", faults: `[{"kind":"content_length","delta":-5}]`,
			want: withLength(6), end: endEOF, curl: 0, goBody: "hello "},
		{name: "chunk_lie +5", faults: `[{"kind":"chunk_lie","delta":5}]`,
			want: chunked("10\r\nhello world\r\n0\r\n\r\n"), end: endEOF, curl: 18, goErr: "unexpected EOF"},
		{name: "chunk_lie -5", faults: `[{"kind":"chunk_lie","delta":-5}]`,
			want: chunked("6\r\nhello world\r\n0\r\n\r\n"), end: endEOF, curl: 56, goErr: "malformed chunked encoding"},
		{name: "no_last_chunk", faults: `[{"kind":"no_last_chunk"}]`,
			want: chunked("b\r\nhello world\r\n"), end: endEOF, curl: 18, goErr: "unexpected EOF"},
		{name: "bad_chunk_syntax", faults: `[{"kind":"bad_chunk_syntax"}]`,
			want: chunked("zz\r\nhello world\r\n0\r\n\r\n"), end: endEOF, curl: 56, goErr: "invalid byte in chunk length"},
		{name: "drip", faults: `[{"kind":"drip","chunk_bytes":4,"every_ms":40}]`,
			want: whole, end: endOpen, goBody: wireBody, atLeast: 80 * time.Millisecond},
		{name: "drip chunked", faults: `[{"kind":"drip","chunk_bytes":4,"every_ms":40,"chunked":true}]`,
			want: chunked("4\r\nhell\r\n4\r\no wo\r\n3\r\nrld\r\n0\r\n\r\n"), end: endOpen, goBody: wireBody, atLeast: 80 * time.Millisecond},
		{name: "bandwidth", faults: `[{"kind":"bandwidth","bytes_per_second":200}]`, // 2 bytes every 10 ms
			want: whole, end: endOpen, goBody: wireBody, atLeast: 50 * time.Millisecond},
		{name: "bandwidth chunked", faults: `[{"kind":"bandwidth","bytes_per_second":500,"chunked":true}]`, // 5 bytes every 10 ms
			want: chunked("5\r\nhello\r\n5\r\n worl\r\n1\r\nd\r\n0\r\n\r\n"), end: endOpen, goBody: wireBody, atLeast: 20 * time.Millisecond},
		{name: "slow_head", faults: `[{"kind":"slow_head","chunk_bytes":40,"every_ms":30}]`,
			want: whole, end: endOpen, goBody: wireBody, atLeast: 60 * time.Millisecond},
		{name: "hang", faults: `[{"kind":"hang","max_ms":300}]`,
			want: func(string, string) string { return "" }, end: endEOF, curl: 52, goErr: "EOF", atLeast: 300 * time.Millisecond},
		{name: "keepalive_poison", faults: `[{"kind":"keepalive_poison"}]`, want: whole, end: endEOF, goBody: wireBody},
		{name: "interim", faults: `[{"kind":"interim","count":2}]`,
			want: func(head, body string) string {
				return "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" + head + body
			}, end: endOpen, goBody: wireBody},
	}
}

// volatileRE finds the head values that differ between two answers: Date and X-Request-ID.
var volatileRE = regexp.MustCompile(`(Date: |X-Request-ID: )[^\r]*`)

// normalize blanks the volatile head values, keeping their lengths.
func normalize(b []byte) string {
	return volatileRE.ReplaceAllStringFunc(string(b), func(s string) string {
		i := strings.Index(s, ": ") + 2
		return s[:i] + strings.Repeat("#", len(s)-i)
	})
}

// rawRead sends one GET and reads until the server ends the connection or, when wantLen
// bytes have come and the connection is still open, until a second request on it is
// answered. It returns the bytes of the first answer and how the socket ended.
func rawRead(t *testing.T, addr, target string, wantLen int) ([]byte, socketEnd, time.Duration) {
	t.Helper()
	c := testkit.Dial(t, addr)
	defer c.Close()
	start := time.Now()
	testkit.SendRaw(c, "GET "+target+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", false)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for {
		if wantLen >= 0 && len(got) >= wantLen {
			// Everything expected came: is the connection still usable?
			elapsed := time.Since(start)
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := c.Read(buf)
			if n > 0 {
				return append(got, buf[:n]...), endOpen, elapsed // more than expected: the caller's compare fails
			}
			if testkit.IsReset(err) {
				return got, endReset, elapsed
			}
			if errors.Is(err, io.EOF) {
				return got, endEOF, elapsed
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			testkit.SendRaw(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", false)
			n, err = c.Read(buf)
			if n > 0 && bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200")) {
				return got, endOpen, elapsed
			}
			t.Fatalf("after the answer the connection neither ended nor served: %q %v", buf[:n], err)
		}
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		switch {
		case err == nil:
		case testkit.IsReset(err):
			return got, endReset, time.Since(start)
		case errors.Is(err, io.EOF):
			return got, endEOF, time.Since(start)
		default:
			t.Fatalf("read: %v after %q", err, got)
		}
	}
}

// rawControl reads the answer to GET target, which ends with wireBody.
func rawControl(t *testing.T, addr, target string) []byte {
	t.Helper()
	c := testkit.Dial(t, addr)
	defer c.Close()
	testkit.SendRaw(c, "GET "+target+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", false)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(got, []byte(wireBody)) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("control: %v after %q", err, got)
		}
	}
	return got
}

// Issue #16: every fault on the wire, on both engines — the exact bytes and the socket's end
// a raw client sees, curl's exit code and Go's net/http error.
func TestWireFaults(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed for the wire fault tests (.ci/run installs it)")
	}
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false", "--seed", "7")
		l := newLabClient(t, s)
		l.createMock(`{"id":"plain","method":"GET","path_pattern":"/plain","content_type":"text/plain","body":"` + wireBody + `"}`)
		control := rawControl(t, s.Addr, "/plain")
		head, body, _ := strings.Cut(normalize(control), "\r\n\r\n")
		head += "\r\n\r\n"
		if body != wireBody {
			t.Fatalf("control answer: %q", control)
		}
		for i, tc := range faultCases() {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				id := "w" + strconv.Itoa(i)
				latency := ``
				if tc.name == "latency" {
					latency = `"latency":{"fixed_ms":200},`
				}
				l.createMock(`{"id":"` + id + `","method":"GET","path_pattern":"/w/` + id + `","content_type":"text/plain",` +
					latency + `"body":"` + wireBody + `","faults":` + tc.faults + `}`)
				var want string
				if tc.want != nil {
					want = tc.want(head, body)
				} else { // garbage: the seeded bytes of hit 1
					plan, err := mock.DecodePlanParts(nil, []byte(tc.faults))
					is.NoErr(err)
					want = string(plan.Decide(7, id, 1, 0).GarbageBytes(nil))
					is.Equal(len(want), 64)
					is.True(!strings.HasPrefix(want, "HTTP/"))
				}
				wantLen := len(want)
				if tc.end != endOpen {
					wantLen = -1 // read to the end
				}
				got, end, elapsed := rawRead(t, s.Addr, "/w/"+id, wantLen)
				is.Equal(normalize(got), want) // exact bytes (hit 1)
				is.Equal(end, tc.end)          // how the socket ended
				if elapsed < tc.atLeast {
					t.Fatalf("answered in %v; the plan holds it at least %v", elapsed, tc.atLeast)
				}

				// curl (hit 2)
				cmd := exec.Command("curl", "-s", "-o", "/dev/null", "--max-time", "10", "http://"+s.Addr+"/w/"+id)
				err := cmd.Run()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else {
					is.NoErr(err)
				}
				is.Equal(code, tc.curl) // curl's exit code

				// Go's net/http client (hit 3), on a connection of its own.
				cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
				var gotBody []byte
				resp, err := cl.Get("http://" + s.Addr + "/w/" + id)
				if err == nil {
					gotBody, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if tc.goErr == "" {
					is.NoErr(err)
				} else if err == nil || !strings.Contains(err.Error(), tc.goErr) {
					t.Fatalf("net/http: got error %v, want one containing %q", err, tc.goErr)
				}
				if tc.goBody != "" {
					is.Equal(string(gotBody), tc.goBody)
				}
			})
		}
		// Every injection was published: three hits of each mock, at the byte the fault acts
		// (the first two, raw and curl, have the control's head; Go's asks to close, so its
		// head is shorter).
		evs := l.faultEvents(func(evs []faultEventPayload) bool { return len(evs) >= 3*len(faultCases()) })
		offsets := map[string][]int64{}
		for _, e := range evs {
			offsets[e.ID+" "+e.Kind] = append(offsets[e.ID+" "+e.Kind], e.ByteOffset)
		}
		headLen := int64(len(head))
		for id, want := range map[string][]int64{
			"w0 latency": {0, 0}, "w1 reset": {0, 0}, "w2 reset": {30, 30}, "w3 empty": {0, 0},
			"w5 content_length": {headLen, headLen}, "w17 keepalive_poison": {headLen + 11, headLen + 11},
		} {
			if got := offsets[id]; len(got) != 3 || !slices.Equal(got[:2], want) {
				t.Errorf("%s: byte offsets %v, want %v", id, offsets[id], want)
			}
		}
		// History marks what the wire did.
		faults := map[string][]string{}
		for _, e := range l.history("limit=500") {
			faults[e.Path] = append(faults[e.Path], e.Fault)
		}
		is := is.New(t)
		is.Equal(faults["/w/w2"], []string{"reset", "reset", "reset"})
		is.Equal(faults["/w/w0"], []string{"latency", "latency", "latency"})
		is.Equal(faults["/plain"], []string{""})
	})
}

// Issue #16: 10,000 requests to a mock with latency given as percentiles: the client's
// measurement and the server's own per-route histogram both land within 10% of each
// requested percentile, and every delay is counted. The delays are decided by the seed, so
// the sample is the same in every run; what varies is only how late timers fire.
func TestLatencyPercentiles(t *testing.T) {
	if raceEnabled {
		t.Skip("measures time on the client's side: .ci/run runs it without -race")
	}
	for _, engine := range testkit.Engines { // one at a time: the client's clock needs the CPU
		t.Run(engine, func(t *testing.T) { latencyPercentiles(t, engine) })
	}
}

func latencyPercentiles(t *testing.T, engine string) {
	{
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--history-limit", "100")
		l := newLabClient(t, s)
		l.createMock(`{"id":"pct","method":"GET","path_pattern":"/pct","body":"ok",
			"latency":{"percentiles":{"p50":100,"p95":200,"p99":400}}}`)
		const total, clients = 10_000, 100
		tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		took := make([]time.Duration, total)
		next := make(chan int, total)
		for i := range total {
			next <- i
		}
		close(next)
		errs := make(chan error, clients)
		for range clients {
			go func() {
				for i := range next {
					start := time.Now()
					resp, err := cl.Get("http://" + s.Addr + "/pct")
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err != nil {
						errs <- err
						return
					}
					took[i] = time.Since(start)
				}
				errs <- nil
			}()
		}
		for range clients {
			is.NoErr(<-errs)
		}
		slices.Sort(took)
		doc, _ := scrape(t, s)
		route := doc.LatencyByRoute["GET /pct"]
		for _, p := range []struct {
			name string
			q    float64
			want float64
		}{{"p50", 0.50, 100}, {"p95", 0.95, 200}, {"p99", 0.99, 400}} {
			client := float64(took[int(p.q*total)-1]) / float64(time.Millisecond)
			server := route[p.name]
			t.Logf("%s: want %.0f ms, client %.1f ms, server %.1f ms", p.name, p.want, client, server)
			if math.Abs(client-p.want) > 0.1*p.want || math.Abs(server-p.want) > 0.1*p.want {
				t.Errorf("%s: client %.1f ms, server %.1f ms; want %.0f ms ± 10%%", p.name, client, server, p.want)
			}
		}
		is.Equal(doc.FaultsInjected["mock:pct"]["latency"], uint64(total))
	}
}

// faultEventPayload is the part of a fault.injected event the tests read.
type faultEventPayload struct {
	Source       string  `json:"source"`
	ID           string  `json:"id"`
	Kind         string  `json:"kind"`
	Hit          uint64  `json:"hit"`
	ConnectionID uint64  `json:"connection_id"`
	ByteOffset   int64   `json:"byte_offset"`
	DelayMS      float64 `json:"delay_ms"`
}

// faultEvents waits until the fault.injected events satisfy ok and returns them.
func (l *labClient) faultEvents(ok func([]faultEventPayload) bool) []faultEventPayload {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := l.do("GET", "/api/events/snapshot?limit=1000&topics=fault.injected", "")
		var p struct {
			Events []struct {
				Payload faultEventPayload `json:"payload"`
			} `json:"events"`
		}
		r.decode(l.t, &p)
		var out []faultEventPayload
		for _, e := range p.Events {
			out = append(out, e.Payload)
		}
		if ok(out) {
			return out
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("fault events never satisfied the test: %+v", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Issue #16: a target carries latency and faults too, applied to what the proxy's client
// receives — here a reset on the first request, then 150 ms of latency — and each is
// published as fault.injected and counted in metrics; a bad fault is a 400 naming its field.
func TestTargetWire(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		up := newPxUpstream(t)
		s, l := labServer(t, engine)
		r := l.do("POST", "/api/targets", `{"id":"flaky","name":"flaky","base_url":"`+up.URL+`",
			"latency":{"fixed_ms":150},"faults":[{"kind":"reset","first":1}]}`)
		is.Equal(r.status, 201)
		is.True(strings.Contains(string(r.body), `"faults":[{"kind":"reset","after_bytes":0,"probability":1,"first":1}]`))
		bad := l.do("POST", "/api/targets", `{"name":"bad","base_url":"`+up.URL+`","faults":[{"kind":"reset","after_bytes":-1}]}`)
		is.Equal(bad.status, 400)
		is.True(strings.Contains(string(bad.body), "faults[0].after_bytes"))

		payload := `{"target_id":"flaky","method":"GET","path":"/echo"}`
		_, err := l.send("POST", "/api/proxy/request", payload)
		if err == nil || !testkit.IsReset(err) && !strings.Contains(err.Error(), "EOF") {
			t.Fatalf("first proxied request: %v, want the connection reset", err)
		}
		start := time.Now()
		r = l.do("POST", "/api/proxy/request", payload)
		is.Equal(r.status, 200)
		is.True(time.Since(start) >= 150*time.Millisecond) // the delay (timers never fire early)
		is.True(strings.Contains(string(r.body), `"status":201`))

		evs := l.faultEvents(func(evs []faultEventPayload) bool { return len(evs) >= 3 })
		kinds := map[string][]uint64{}
		for _, e := range evs {
			is.Equal(e.Source, "target")
			is.Equal(e.ID, "flaky")
			is.True(e.ConnectionID > 0)
			kinds[e.Kind] = append(kinds[e.Kind], e.Hit)
			if e.Kind == "latency" {
				is.Equal(e.DelayMS, 150.0)
			}
		}
		is.Equal(kinds["reset"], []uint64{1})
		is.Equal(kinds["latency"], []uint64{1, 2})
		doc, _ := scrape(t, s)
		is.Equal(doc.FaultsInjected["target:flaky"], map[string]uint64{"latency": 2, "reset": 1})
	})
}

// scChaos is a step result's chaos report.
type scChaos struct {
	Mode      string          `json:"mode"`
	Simulated bool            `json:"simulated"`
	Decision  json.RawMessage `json:"decision"`
	Observed  string          `json:"observed"`
}

// Issue #16: a local scenario step's chaos happens on the wire: the server carries the
// decided fault out on that very request and the report says what the client observed
// beside the decision; the original's modes still work and are marked simulated. Nothing
// outside a run can trigger it: a made-up ticket does nothing.
func TestScenarioWireChaos(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := scServer(t, engine, "", "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/w","content_type":"text/plain","body":"hello world"}`)
		for _, bad := range []struct{ chaos, msg string }{
			{`{"enabled":true,"mode":"resett","probability":1}`, "invalid chaos mode"},
			{`{"enabled":true,"mode":"reset","probability":1,"params":{"after":1}}`, "chaos.params.after"},
			{`{"enabled":true,"mode":"drip","probability":1,"params":{"chunk_bytes":0}}`, "chaos.params.chunk_bytes"},
			{`{"enabled":true,"mode":"status_flip","probability":1,"params":{"x":1}}`, "wire fault modes only"},
		} {
			r := l.do("POST", "/api/scenarios", `{"name":"bad","steps":[{"method":"GET","path":"/w","chaos":`+bad.chaos+`}]}`)
			is.Equal(r.status, 400)
			if !strings.Contains(string(r.body), bad.msg) {
				t.Fatalf("%s: %s, want %q", bad.chaos, r.body, bad.msg)
			}
		}
		sc := l.scCreate(`{"name":"wire","defaults":{"stop_on_fail":false},"steps":[
			{"id":"reset","method":"GET","path":"/w","chaos":{"enabled":true,"mode":"reset","probability":1}},
			{"id":"flip","method":"GET","path":"/w","chaos":{"enabled":true,"mode":"status_flip","probability":1}},
			{"id":"drip","method":"GET","path":"/w","chaos":{"enabled":true,"mode":"drip","probability":1,"params":{"chunk_bytes":4,"every_ms":10}}},
			{"id":"plain","method":"GET","path":"/w"}]}`)
		_, r := l.scRun(sc.ID, `{"seed":9}`)
		var b struct {
			Run struct {
				Seed        int64 `json:"seed"`
				StepResults []struct {
					StepID       string  `json:"step_id"`
					Status       string  `json:"status"`
					ChaosApplied bool    `json:"chaos_applied"`
					Chaos        scChaos `json:"chaos"`
					Response     struct {
						Status int `json:"status"`
					} `json:"response"`
				} `json:"step_results"`
			} `json:"run"`
		}
		r.decode(t, &b)
		steps := b.Run.StepResults
		is.Equal(len(steps), 4)
		is.Equal(steps[0].Status, "fail") // the client saw a reset
		is.Equal(steps[0].Chaos.Mode, "reset")
		is.True(!steps[0].Chaos.Simulated)
		is.Equal(string(steps[0].Chaos.Decision), `{"hit":1,"delay_ms":0,"fault":{"index":0,"kind":"reset","after_bytes":0}}`)
		is.Equal(steps[0].Chaos.Observed, "error: read: connection reset by peer")
		is.Equal(steps[1].Chaos.Mode, "status_flip")
		is.True(steps[1].Chaos.Simulated)
		is.Equal(steps[1].Response.Status, 503) // simulated: the view changed
		is.Equal(steps[1].Chaos.Observed, "")
		is.Equal(steps[2].Status, "pass")
		is.Equal(steps[2].Chaos.Observed, "HTTP 200, 11 body bytes")
		is.True(!steps[3].ChaosApplied)

		// The server did it on the wire: history and the fault events say so.
		evs := l.faultEvents(func(evs []faultEventPayload) bool { return len(evs) >= 2 })
		is.Equal(evs[0].Source, "scenario")
		is.Equal(evs[0].Kind, "reset")
		is.Equal(evs[1].Kind, "drip")
		// A ticket that no run issued does nothing.
		resp := l.do("GET", "/w", "", "X-Ownhttp-Self: 1", "X-Ownhttp-Chaos-Ticket: 00112233445566778899aabbccddeeff")
		is.Equal(string(resp.body), "hello world")
	})
}

// Issue #16: two runs of the same scenario with the same seed against fresh servers give
// identical fault decisions and identical reports, except times: the mocks' own faults and
// latency (decided by the server's seed) and the steps' wire and simulated chaos (by the
// run's seed) alike.
func TestFaultDeterminism(t *testing.T) {
	is := is.New(t)
	runOnce := func() (report string, events []string) {
		s := scServer(t, testkit.Engines[0], "", "--access-log=false", "--seed", "5")
		l := newLabClient(t, s)
		l.createMock(`{"id":"flaky","method":"GET","path_pattern":"/flaky","content_type":"text/plain","body":"hello world",
			"latency":{"uniform":{"min_ms":1,"max_ms":5}},
			"faults":[{"kind":"reset","after_bytes":40,"probability":0.3},{"kind":"garbage","bytes":8,"probability":0.2},{"kind":"empty","every":5}]}`)
		var steps []string
		for i := range 20 {
			chaos := ``
			switch i % 3 {
			case 1:
				chaos = `,"chaos":{"enabled":true,"mode":"content_length","probability":0.5,"params":{"delta":3}}`
			case 2:
				chaos = `,"chaos":{"enabled":true,"mode":"drop_body","probability":0.5,"seed_offset":7}`
			}
			steps = append(steps, `{"id":"s`+strconv.Itoa(i)+`","method":"GET","path":"/flaky"`+chaos+`}`)
		}
		sc := l.scCreate(`{"id":"det","name":"det","defaults":{"stop_on_fail":false},"steps":[` + strings.Join(steps, ",") + `]}`)
		_, r := l.scRun(sc.ID, `{"seed":42}`)
		var doc map[string]any
		is.NoErr(json.Unmarshal(r.body, &doc))
		var scrub func(v any) any
		scrub = func(v any) any {
			switch x := v.(type) {
			case map[string]any:
				for k := range x {
					switch k {
					case "run_id", "started_at", "finished_at", "duration_ms", "latency_ms", "trace_id", "x-request-id",
						"date", "latency_bottleneck_ms", "latency_bottleneck_route", "created_at", "updated_at":
						delete(x, k)
					default:
						x[k] = scrub(x[k])
					}
				}
			case []any:
				for i := range x {
					x[i] = scrub(x[i])
				}
			}
			return v
		}
		out, _ := json.Marshal(scrub(doc))
		metrics, _ := scrape(t, s) // every injection is counted before its event is published
		total := 0
		for _, kinds := range metrics.FaultsInjected {
			for _, n := range kinds {
				total += int(n)
			}
		}
		evs := l.faultEvents(func(evs []faultEventPayload) bool { return len(evs) == total })
		for _, e := range evs {
			id := e.ID
			if e.Source == "scenario" {
				id = "run"
			}
			events = append(events, e.Source+" "+id+" "+e.Kind+" hit="+strconv.FormatUint(e.Hit, 10)+
				" offset="+strconv.FormatInt(e.ByteOffset, 10)+" delay="+strconv.FormatFloat(e.DelayMS, 'f', -1, 64))
		}
		return string(out), events
	}
	report1, events1 := runOnce()
	report2, events2 := runOnce()
	is.Equal(report1, report2)
	is.Equal(events1, events2)
	// The run met faults of every sort, so the comparison compared something.
	for _, want := range []string{`"mode":"content_length"`, `"simulated":true`, "connection broken: unexpected EOF", "malformed HTTP"} {
		if !strings.Contains(report1, want) {
			t.Errorf("the report has no %s:\n%s", want, report1)
		}
	}
}

// Issue #16: GET /api/mocks/{id}/faults previews exactly what serving does: the hits it
// says will fault are the hits that fault, with the same delays; a bad parameter is a 400
// naming it, an unknown mock a 404.
func TestFaultPreview(t *testing.T) {
	is := is.New(t)
	s := testkit.Start(t, run, testkit.Engines[0], "--access-log=false", "--seed", "11")
	l := newLabClient(t, s)
	l.createMock(`{"id":"pv","method":"GET","path_pattern":"/pv","body":"ok",
		"latency":{"lognormal":{"median_ms":2,"sigma":0.5}},
		"faults":[{"kind":"empty","probability":0.3},{"kind":"keepalive_poison","every":4}]}`)
	const n = 30
	r := l.do("GET", "/api/mocks/pv/faults?n="+strconv.Itoa(n), "")
	is.Equal(r.status, 200)
	var pv struct {
		Seed    int64 `json:"seed"`
		N       int   `json:"n"`
		Summary struct {
			Faulted      int            `json:"faulted"`
			FaultsByKind map[string]int `json:"faults_by_kind"`
		} `json:"summary"`
		Decisions []struct {
			Hit     uint64  `json:"hit"`
			DelayMS float64 `json:"delay_ms"`
			Fault   *struct {
				Kind string `json:"kind"`
			} `json:"fault"`
		} `json:"decisions"`
	}
	r.decode(t, &pv)
	is.Equal(pv.Seed, int64(11))
	is.Equal(len(pv.Decisions), n)
	is.True(pv.Summary.FaultsByKind["empty"] > 0 && pv.Summary.FaultsByKind["keepalive_poison"] > 0)
	want := map[uint64]string{}
	for _, d := range pv.Decisions {
		if d.Fault != nil {
			want[d.Hit] = d.Fault.Kind
		}
	}
	for range n { // one request per connection: each hit is one request
		c := testkit.Dial(t, s.Addr)
		testkit.SendRaw(c, "GET /pv HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", false)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
		c.Close()
	}
	evs := l.faultEvents(func(evs []faultEventPayload) bool { return len(evs) == n+len(want) })
	got := map[uint64]string{}
	for _, e := range evs {
		if e.Kind != "latency" {
			got[e.Hit] = e.Kind
		} else {
			is.Equal(e.DelayMS, pv.Decisions[e.Hit-1].DelayMS) // the same delays
		}
	}
	is.Equal(got, want)

	for q, msg := range map[string]string{"n=0": "n must be", "n=10001": "n must be", "seed=x": "seed must be", "interval_ms=-1": "interval_ms must be"} {
		r := l.do("GET", "/api/mocks/pv/faults?"+q, "")
		is.Equal(r.status, 400)
		is.True(strings.Contains(string(r.body), msg))
	}
	is.Equal(l.do("GET", "/api/mocks/nope/faults", "").status, 404)
}
