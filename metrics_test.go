package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// metricsDoc is the part of /_metrics the wire tests read.
type metricsDoc struct {
	ActiveConnections int64                         `json:"active_connections"`
	BytesSentTotal    uint64                        `json:"bytes_sent_total"`
	DrainState        string                        `json:"drain_state"`
	Engine            string                        `json:"engine"`
	ErrorCounts       map[string]uint64             `json:"error_counts_by_class"`
	FaultsInjected    map[string]map[string]uint64  `json:"faults_injected"`
	InflightRequests  *int64                        `json:"inflight_requests"`
	LatencyBuckets    map[string]uint64             `json:"latency_buckets_ms"`
	LatencyByRoute    map[string]map[string]float64 `json:"latency_by_route_ms"`
	LatencyP99        *float64                      `json:"latency_p99_ms"`
	RequestsByRoute   map[string]uint64             `json:"requests_by_route"`
	RequestsReused    uint64                        `json:"requests_reused_connection"`
	StatusByRoute     map[string]map[string]uint64  `json:"status_by_route"`
	StatusCounts      map[string]uint64             `json:"status_counts"`
	TotalRequests     uint64                        `json:"total_requests"`
}

// exchangeOne sends raw on a fresh connection and reads one response; n is the number of
// response bytes read (what the server counts as sent for an inline response).
func exchangeOne(t *testing.T, s *testkit.Server, raw, method string) (resp *http.Response, body string, n int) {
	t.Helper()
	c := s.Dial(t)
	defer c.Close()
	go testkit.SendRaw(c, raw, false)
	res := testkit.ReadResponses(c, []string{method}, false)
	if res.Err != nil {
		t.Fatalf("%q: %v (read %q)", raw, res.Err, res.Raw)
	}
	return res.Resps[0], res.Bodies[0], len(res.Raw)
}

// scrape reads /_metrics; n is the response's size in bytes.
func scrape(t *testing.T, s *testkit.Server) (doc metricsDoc, n int) {
	t.Helper()
	resp, body, n := exchangeOne(t, s, "GET /_metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /_metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("GET /_metrics: %v\n%s", err, body)
	}
	return doc, n
}

// scrapeUntil scrapes until ready holds (at most 5 s) and returns that scrape, the number of
// scrapes made (each counts in the ones after it) and the bytes of all but the last.
func scrapeUntil(t *testing.T, s *testkit.Server, ready func(metricsDoc) bool) (doc metricsDoc, scrapes, earlierBytes int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, n := scrape(t, s)
		scrapes++
		if ready(d) {
			return d, scrapes, earlierBytes
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never caught up: %+v", d)
		}
		earlierBytes += n
		time.Sleep(10 * time.Millisecond)
	}
}

// Counts move by exactly what was sent, scrapes included, on both engines.
func TestMetricsCounts(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--reactors", "3")
		before, beforeBytes := scrape(t, s)

		type sent struct {
			raw, method string
			key         string // route key
			status      int
			contentType string
			body        *string
			allow       string
		}
		empty := ""
		requests := []sent{
			{raw: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", key: "GET /", status: 200},
			{raw: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", key: "GET /", status: 200},
			{raw: "GET /?q=1 HTTP/1.1\r\nHost: localhost\r\n\r\n", key: "GET /", status: 200},
			{raw: "GET /nope-1 HTTP/1.1\r\nHost: localhost\r\n\r\n", key: "404", status: 404},
			{raw: "POST /nope-2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", method: "POST", key: "404", status: 404},
			{raw: "PUT /nope-3 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", method: "PUT", key: "405", status: 405},
			{raw: "POST /_metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", method: "POST", key: "POST /_metrics", status: 405, allow: "GET, HEAD"},
			{raw: "DELETE /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", method: "DELETE", key: "DELETE /metrics", status: 405, allow: "GET, HEAD"},
			{raw: "HEAD /_metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", method: "HEAD", key: "HEAD /_metrics", status: 200, contentType: "application/json", body: &empty},
			{raw: "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n", method: "OPTIONS", key: "OPTIONS *", status: 200},
			{raw: "GET / HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n", key: "- -", status: 400},
			{raw: "GET / HTTP/7.0\r\nHost: localhost\r\n\r\n", key: "- -", status: 505},
		}
		wantRoute := map[string]uint64{}
		wantStatus := map[string]uint64{}
		wantRouteStatus := map[string]map[string]uint64{}
		var wantBytes uint64
		for _, r := range requests {
			method := r.method
			if method == "" {
				method = "GET"
			}
			resp, body, n := exchangeOne(t, s, r.raw, method)
			is.Equal(resp.StatusCode, r.status) // status of the request
			if r.contentType != "" {
				is.Equal(resp.Header.Get("Content-Type"), r.contentType)
			}
			if r.body != nil {
				is.Equal(body, *r.body)
			}
			if r.allow != "" {
				is.Equal(resp.Header.Get("Allow"), r.allow)
			}
			code := strconv.Itoa(r.status)
			wantRoute[r.key]++
			wantStatus[code]++
			if wantRouteStatus[r.key] == nil {
				wantRouteStatus[r.key] = map[string]uint64{}
			}
			wantRouteStatus[r.key][code]++
			wantBytes += uint64(n)
		}
		// Two requests on one connection: the second is a reused one.
		c := s.Dial(t)
		go testkit.SendRaw(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
		res := testkit.ReadResponses(c, []string{"GET", "GET"}, false)
		is.NoErr(res.Err)
		c.Close()
		wantRoute["GET /healthz"] += 2
		wantStatus["200"] += 2
		wantRouteStatus["GET /healthz"] = map[string]uint64{"200": 2}
		wantBytes += uint64(len(res.Raw))
		sentCount := uint64(len(requests) + 2)

		after, scrapes, scrapeBytes := scrapeUntil(t, s, func(d metricsDoc) bool {
			return d.TotalRequests >= before.TotalRequests+sentCount+1
		})
		// Every scrape before the last counts as a GET /_metrics with status 200.
		wantRoute["GET /_metrics"] += uint64(scrapes)
		wantStatus["200"] += uint64(scrapes)
		wantRouteStatus["GET /_metrics"] = map[string]uint64{"200": uint64(scrapes)}

		is.Equal(after.TotalRequests-before.TotalRequests, sentCount+uint64(scrapes))
		is.Equal(after.BytesSentTotal-before.BytesSentTotal, wantBytes+uint64(beforeBytes+scrapeBytes))
		for key, n := range wantRoute {
			is.Equal(after.RequestsByRoute[key]-before.RequestsByRoute[key], n) // requests_by_route
		}
		for code, n := range wantStatus {
			is.Equal(after.StatusCounts[code]-before.StatusCounts[code], n) // status_counts
		}
		for key, codes := range wantRouteStatus {
			for code, n := range codes {
				is.Equal(after.StatusByRoute[key][code]-before.StatusByRoute[key][code], n) // status_by_route
			}
		}
		is.Equal(after.ErrorCounts["parse"]-before.ErrorCounts["parse"], uint64(2))
		is.Equal(after.RequestsReused-before.RequestsReused, uint64(1))
		var buckets uint64
		for _, n := range after.LatencyBuckets {
			buckets += n
		}
		is.Equal(buckets, after.TotalRequests) // every exchange has a latency bucket

		lat := after.LatencyByRoute["GET /"]
		is.Equal(len(lat), 3) // exactly p50, p95, p99
		is.True(lat["p50"] >= 0 && lat["p50"] <= lat["p95"] && lat["p95"] <= lat["p99"])
		is.True(after.LatencyP99 != nil && *after.LatencyP99 > 0) // measured, not a zero default
		is.True(after.InflightRequests != nil)
		is.Equal(after.DrainState, "running")
		is.Equal(after.Engine, engine)
		is.True(after.ActiveConnections >= 1) // the scraping connection itself
	})
}

// Whatever paths clients send, the route keys stay the route table's: 1000 distinct unknown
// paths add one key, and hostile targets none of their own.
func TestMetricsRouteCardinality(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		before, _ := scrape(t, s)

		const conns, perConn = 4, 250
		for i := 0; i < conns; i++ {
			var raw strings.Builder
			methods := make([]string, perConn)
			for j := 0; j < perConn; j++ {
				fmt.Fprintf(&raw, "GET /unknown/%d/%d HTTP/1.1\r\nHost: localhost\r\n\r\n", i, j)
				methods[j] = "GET"
			}
			c := s.Dial(t)
			go testkit.SendRaw(c, raw.String(), false)
			res := testkit.ReadResponses(c, methods, false)
			is.NoErr(res.Err)
			for _, r := range res.Resps {
				is.Equal(r.StatusCode, 404)
			}
			c.Close()
		}
		hostile := []string{
			"GET /" + strings.Repeat("a", 4000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /%0A%0D%22%5C HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /a\"b\\c} 1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /\xff\xfe HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /api/mocks/../../../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /{id} HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /_metrics/x HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"BREW /pot HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET http://evil.example/x HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET " + strings.Repeat("/z", 3000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n",
		}
		for _, raw := range hostile {
			resp, _, _ := exchangeOne(t, s, raw, "GET")
			is.True(resp.StatusCode >= 400) // hostile targets are refused or unknown
		}

		sent := uint64(conns*perConn + len(hostile))
		after, scrapes, _ := scrapeUntil(t, s, func(d metricsDoc) bool {
			return d.TotalRequests >= before.TotalRequests+sent+1
		})
		is.Equal(after.TotalRequests-before.TotalRequests, sent+uint64(scrapes))
		is.True(after.RequestsByRoute["404"]-before.RequestsByRoute["404"] >= conns*perConn)
		is.True(len(after.RequestsByRoute) <= 6) // 404, - -, GET /_metrics and few others
		is.True(len(after.StatusByRoute) <= 6)   // the same keys
		is.True(len(after.LatencyByRoute) <= 6)  // the same keys
		is.True(len(after.StatusCounts) <= 8)    // 200, 404, and the refusals
		for key := range after.RequestsByRoute {
			is.True(!strings.Contains(key, "unknown")) // no raw path became a key
		}

		resp, body, _ := exchangeOne(t, s, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET")
		is.Equal(resp.StatusCode, 200)
		checkExposition(t, body)
		is.True(strings.Count(body, "\n") < 400) // bounded whatever was sent
		is.True(!strings.Contains(body, "unknown/"))
	})
}

// /metrics is valid Prometheus text whose counters and histograms match what was sent.
func TestMetricsPrometheus(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--reactors", "2")
		const n = 7
		for i := 0; i < n; i++ {
			resp, _, _ := exchangeOne(t, s, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET")
			is.Equal(resp.StatusCode, 200)
		}
		exchangeOne(t, s, "GET / HTTP/1.1\r\nContent-Length: 99999999999\r\nHost: localhost\r\n\r\n", "GET") // refused

		resp, _, _ := exchangeOne(t, s, "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", "HEAD")
		is.Equal(resp.StatusCode, 200)
		is.Equal(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")

		// A request is counted when it completes, just after its response is written: the
		// scrape that follows may come a moment before the HEAD above is counted.
		var samples map[string]float64
		for deadline := time.Now().Add(5 * time.Second); ; {
			resp, body, _ := exchangeOne(t, s, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET")
			is.Equal(resp.StatusCode, 200)
			is.Equal(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
			samples = checkExposition(t, body)
			if samples[`ownhttp_requests_total{route="/metrics",method="HEAD",status="200"}`] == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}

		root := `{route="/",method="GET"`
		is.Equal(samples[`ownhttp_requests_total{route="/",method="GET",status="200"}`], float64(n))
		is.Equal(samples[`ownhttp_request_duration_seconds_count`+root+`}`], float64(n))
		is.Equal(samples[`ownhttp_request_duration_seconds_bucket`+root+`,le="+Inf"}`], float64(n))
		is.Equal(samples[`ownhttp_requests_total{route="/metrics",method="HEAD",status="200"}`], 1.0)
		sum, ok := samples[`ownhttp_request_duration_seconds_sum`+root+`}`]
		is.True(ok && sum > 0) // seven measured requests
		for _, name := range []string{"ownhttp_active_connections", "ownhttp_inflight_requests", "ownhttp_draining",
			"ownhttp_bytes_sent_total", `ownhttp_errors_total{class="parse"}`, `ownhttp_errors_total{class="body_too_large"}`} {
			_, ok := samples[name]
			is.True(ok) // a family every scrape carries
		}
		is.Equal(samples["ownhttp_draining"], 0.0)
		is.True(samples["ownhttp_active_connections"] >= 1)
		is.Equal(samples[`ownhttp_errors_total{class="parse"}`]+samples[`ownhttp_errors_total{class="body_too_large"}`], 1.0)
		is.Equal(samples[`ownhttp_info{engine="`+engine+`"}`], 1.0)
	})
}

var (
	promCommentRE = regexp.MustCompile(`^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$`)
	promSampleRE  = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$`)
	promLERE      = regexp.MustCompile(`,?le="([^"]*)"`)
)

// checkExposition validates every line of a text exposition (HELP/TYPE comments, a TYPE
// before its samples, sample syntax, numeric values) and every histogram (cumulative buckets
// ending in +Inf equal to _count). It returns the samples by their series text.
func checkExposition(t *testing.T, body string) map[string]float64 {
	t.Helper()
	if !strings.HasSuffix(body, "\n") {
		t.Fatalf("exposition does not end with a line feed")
	}
	types := map[string]string{}
	samples := map[string]float64{}
	type series struct {
		le     []float64
		counts []float64
	}
	hist := map[string]*series{}
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if m := promCommentRE.FindStringSubmatch(line); m != nil {
			if m[1] == "TYPE" {
				if _, dup := types[m[2]]; dup {
					t.Fatalf("line %d: TYPE repeated: %q", i+1, line)
				}
				types[m[2]] = m[3]
			}
			continue
		}
		m := promSampleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d: not a valid sample: %q", i+1, line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("line %d: value: %v", i+1, err)
		}
		if _, dup := samples[m[1]+m[2]]; dup {
			t.Fatalf("line %d: duplicate series %q", i+1, line)
		}
		samples[m[1]+m[2]] = v
		name, family := m[1], m[1]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suf); ok && types[base] == "histogram" {
				family = base
			}
		}
		if types[family] == "" {
			t.Fatalf("line %d: sample before its TYPE: %q", i+1, line)
		}
		if strings.HasSuffix(name, "_bucket") && family != name {
			le := promLERE.FindStringSubmatch(m[2])
			if le == nil {
				t.Fatalf("line %d: bucket without le", i+1)
			}
			bound, err := strconv.ParseFloat(le[1], 64)
			if err != nil {
				t.Fatalf("line %d: le: %v", i+1, err)
			}
			id := family + promLERE.ReplaceAllString(m[2], "")
			if hist[id] == nil {
				hist[id] = &series{}
			}
			hist[id].le = append(hist[id].le, bound)
			hist[id].counts = append(hist[id].counts, v)
		}
	}
	ids := make([]string, 0, len(hist))
	for id := range hist {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		h := hist[id]
		for i := 1; i < len(h.le); i++ {
			if h.le[i] <= h.le[i-1] || h.counts[i] < h.counts[i-1] {
				t.Fatalf("%s: buckets not cumulative: %v %v", id, h.le, h.counts)
			}
		}
		family, labels, _ := strings.Cut(id, "{")
		count, ok := samples[family+"_count{"+labels]
		if !ok || !math.IsInf(h.le[len(h.le)-1], 1) || h.counts[len(h.counts)-1] != count {
			t.Fatalf("%s: the +Inf bucket is missing or differs from _count", id)
		}
	}
	return samples
}
