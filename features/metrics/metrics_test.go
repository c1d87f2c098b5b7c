package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/conn"
	"ownhttp/proto"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// completed builds a finished exchange that took d.
func completed(method proto.Method, route string, status int, d time.Duration) *conn.Completed {
	return &conn.Completed{Method: method, Route: route, Status: status, Start: t0, End: t0.Add(d),
		BytesIn: 40, BytesOut: 100}
}

func TestLatencyBoundsLayout(t *testing.T) {
	is := is.New(t)
	for i := 1; i < numBounds; i++ {
		is.True(latencyBounds[i] > latencyBounds[i-1]) // strictly increasing
		// A bucket spans at most a third of its lower bound: the percentile error bound.
		is.True(float64(latencyBounds[i]-latencyBounds[i-1]) <= float64(latencyBounds[i-1])/3+1)
	}
	is.Equal(latencyBounds[0], int64(time.Microsecond))
	is.Equal(latencyBounds[numBounds-1], int64(100*time.Second))
	isBound := func(ns int64) bool {
		i := bucketIndex(ns)
		return i < numBounds && latencyBounds[i] == ns
	}
	for _, ms := range jsonBucketsMS {
		is.True(isBound(ms * 1e6)) // every JSON bucket bound is a fine bound
	}
	for _, ns := range promBucketsNS {
		is.True(isBound(ns)) // every Prometheus bucket bound is a fine bound
	}
}

func TestBucketIndex(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want int
	}{
		{0, 0},
		{1, 0},
		{1000, 0}, // bounds are inclusive
		{1001, 1},
		{1250, 1},
		{1251, 2},
		{7500, 9},
		{7501, 10},
		{10_000, 10},
		{int64(5 * time.Millisecond), 37},
		{int64(100 * time.Second), numBounds - 1},
		{int64(100*time.Second) + 1, numBounds}, // overflow
		{math.MaxInt64, numBounds},
	} {
		t.Run(strconv.FormatInt(tc.ns, 10), func(t *testing.T) {
			is := is.New(t)
			is.Equal(bucketIndex(tc.ns), tc.want)
		})
	}
}

// histOf records latencies in a histogram view, as done does.
func histOf(ds ...time.Duration) *histView {
	h := &histView{minNS: math.MaxInt64}
	for _, d := range ds {
		ns := int64(d)
		h.hist[bucketIndex(ns)]++
		h.sumNS += uint64(ns)
		h.minNS, h.maxNS = min(h.minNS, ns), max(h.maxNS, ns)
	}
	return h
}

func TestQuantile(t *testing.T) {
	ms := time.Millisecond
	uniform := make([]time.Duration, 1000)
	for i := range uniform {
		uniform[i] = time.Duration(i+1) * ms
	}
	for _, tc := range []struct {
		name          string
		samples       []time.Duration
		p50, p95, p99 float64
	}{
		{"empty", nil, 0, 0, 0},
		{"one sample is exact", []time.Duration{153 * time.Microsecond}, 0.153, 0.153, 0.153},
		{"equal samples are exact", []time.Duration{2 * ms, 2 * ms, 2 * ms}, 2, 2, 2},
		{"two buckets: min and max narrow them", []time.Duration{1 * ms, 3 * ms}, 1, 3, 3},
		{"overflow reports the maximum", []time.Duration{200 * time.Second}, 200000, 200000, 200000},
		{"uniform 1..1000ms", uniform, 500, 950, 990},
		{"zero latency", []time.Duration{0, 0}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			h := histOf(tc.samples...)
			is.Equal(h.quantileMS(50), tc.p50)
			is.Equal(h.quantileMS(95), tc.p95)
			is.Equal(h.quantileMS(99), tc.p99)
		})
	}
}

// The estimate always lies in the fine bucket that holds the exact nearest-rank value.
func TestQuantileWithinBucket(t *testing.T) {
	// A skewed spread: most fast, a tail of slow ones.
	var samples []time.Duration
	for i := 0; i < 900; i++ {
		samples = append(samples, time.Duration(50+i%97)*time.Microsecond)
	}
	for i := 0; i < 100; i++ {
		samples = append(samples, time.Duration(3+i)*time.Millisecond)
	}
	h := histOf(samples...)
	sorted := append([]time.Duration(nil), samples...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	for _, p := range []float64{1, 10, 50, 90, 95, 99, 99.9, 100} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			is := is.New(t)
			exact := sorted[int(math.Ceil(float64(len(sorted))*p/100))-1]
			i := bucketIndex(int64(exact))
			lo := 0.0
			if i > 0 {
				lo = float64(latencyBounds[i-1]) / 1e6
			}
			got := h.quantileMS(p)
			is.True(got >= lo-0.001 && got <= float64(latencyBounds[i])/1e6+0.001) // in the exact value's bucket
		})
	}
}

func TestRouteKeysAndClasses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      conn.Completed
		key    string
		route  string // Prometheus route label
		method string // Prometheus method label
		class  string // "" for no error
	}{
		{"routed", conn.Completed{Method: proto.MethodGET, Route: "GET /api/mocks/{id}", Status: 200},
			"GET /api/mocks/{id}", "/api/mocks/{id}", "GET", ""},
		{"head route", conn.Completed{Method: proto.MethodHEAD, Route: "HEAD /", Status: 200}, "HEAD /", "/", "HEAD", ""},
		{"404 keeps no method in its key", conn.Completed{Method: proto.MethodPOST, Route: "404", Status: 404}, "404", "404", "POST", ""},
		{"options star", conn.Completed{Method: proto.MethodOPTIONS, Route: "OPTIONS *", Status: 200}, "OPTIONS *", "*", "OPTIONS", ""},
		{"parse error", conn.Completed{Proto: true, Status: 400}, routeProtocol, "-", "-", "parse"},
		{"unknown method", conn.Completed{Proto: true, Status: 501}, routeProtocol, "-", "-", "parse"},
		{"uri too long", conn.Completed{Proto: true, Status: 414}, routeProtocol, "-", "-", "parse"},
		{"head too large", conn.Completed{Proto: true, Status: 431}, routeProtocol, "-", "-", "parse"},
		{"bad version", conn.Completed{Proto: true, Status: 505}, routeProtocol, "-", "-", "parse"},
		{"bad expect", conn.Completed{Proto: true, Status: 417}, routeProtocol, "-", "-", "parse"},
		{"header timeout", conn.Completed{Proto: true, Status: 408}, routeProtocol, "-", "-", "timeout"},
		{"body too large", conn.Completed{Proto: true, Status: 413}, routeProtocol, "-", "-", "body_too_large"},
		{"handler 500", conn.Completed{Method: proto.MethodGET, Route: "GET /x", Status: 500}, "GET /x", "/x", "GET", "dispatch"},
		{"upstream 502", conn.Completed{Method: proto.MethodPOST, Route: "POST /api/proxy", Status: 502}, "POST /api/proxy", "/api/proxy", "POST", "dispatch"},
		{"recovered panic", conn.Completed{Method: proto.MethodGET, Status: 500}, routeUnrouted, routeUnrouted, "GET", "dispatch"},
		{"drain reject", conn.Completed{Method: proto.MethodGET, Status: 503, Draining: true}, routeDrainReject, routeDrainReject, "GET", ""},
		{"503 from a route while draining", conn.Completed{Method: proto.MethodGET, Route: "GET /healthz", Status: 503, Draining: true},
			"GET /healthz", "/healthz", "GET", "dispatch"},
		{"client error is no error class", conn.Completed{Method: proto.MethodGET, Route: "GET /x", Status: 404}, "GET /x", "/x", "GET", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(routeKeyOf(&tc.c), tc.key)
			class := ""
			if i := errorClass(&tc.c); i >= 0 {
				class = classNames[i]
			}
			is.Equal(class, tc.class)

			m := New("")
			countNow(m.NewShard(), &tc.c)
			v := m.Read()
			is.Equal(len(v.entries), 1)
			is.Equal(v.entries[0].route, tc.route)
			is.Equal(methodLabel(v.entries[0].method), tc.method)
		})
	}
}

func TestShardCountsAndMerge(t *testing.T) {
	is := is.New(t)
	m := New("")
	a, b := m.NewShard(), m.NewShard()
	ms := time.Millisecond
	a.Done(completed(proto.MethodGET, "GET /", 200, 1*ms))
	a.Done(completed(proto.MethodGET, "GET /", 200, 2*ms))
	b.Done(completed(proto.MethodGET, "GET /", 200, 3*ms))
	b.Done(completed(proto.MethodGET, "GET /", 304, 4*ms))
	reused := completed(proto.MethodGET, "404", 404, 20*ms)
	reused.Reused = true
	b.Done(reused)
	b.Done(completed(proto.MethodPOST, "404", 404, 6*time.Second))
	b.Done(&conn.Completed{Proto: true, Status: 400, Reused: true, BytesOut: 10}) // reused does not count for protocol errors

	a.Flush()
	b.Flush()
	v := m.Read()
	is.Equal(v.total(), uint64(7))
	is.Equal(v.bytesOut, uint64(6*100+10))
	is.Equal(v.bytesIn, uint64(6*40))
	is.Equal(v.reused, uint64(1))
	is.Equal(v.errors[classParse], uint64(1))
	is.Equal(len(v.entries), 4) // (- -, -), (404, GET), (404, POST), (GET /, GET): sorted by key then method
	is.Equal(v.entries[0].key, routeProtocol)
	is.Equal(v.entries[1].key, "404")
	is.Equal(v.entries[1].method, proto.MethodGET)
	is.Equal(v.entries[2].method, proto.MethodPOST)
	root := v.entries[3]
	is.Equal(root.key, "GET /")
	is.Equal(root.lat.count(), uint64(4)) // merged across both shards
	is.Equal(root.lat.minNS, int64(1*ms))
	is.Equal(root.lat.maxNS, int64(4*ms))
	is.Equal(root.lat.sumNS, uint64(10*ms))
	is.Equal(root.statuses, map[int]uint64{200: 3, 304: 1})

	app := New("epoll")
	d := app.Document(v, Gauges{})
	is.Equal(d.TotalRequests, uint64(7))
	is.Equal(d.RequestsByRoute, map[string]uint64{"GET /": 4, "404": 2, routeProtocol: 1})
	is.Equal(d.StatusByRoute, map[string]map[string]uint64{"GET /": {"200": 3, "304": 1}, "404": {"404": 2}, routeProtocol: {"400": 1}})
	is.Equal(d.StatusCounts, map[string]uint64{"200": 3, "304": 1, "404": 2, "400": 1})
	is.Equal(d.LatencyBucketsMS, map[string]uint64{"<= 5ms": 5, "<= 25ms": 1, "> 5000ms": 1}) // non-zero buckets only
	is.Equal(d.LatencyByRouteMS["GET /"], latencySummary{P50: 2, P95: 4, P99: 4})
	is.Equal(d.LatencyByRouteMS["404"].P99, 6000.0)
	is.Equal(d.LatencyP99MS, 6000.0)
	is.Equal(d.ErrorCountsByClass, map[string]uint64{"parse": 1})
	is.Equal(d.RequestsReusedConnection, uint64(1))
	is.Equal(d.DrainState, "running")
	is.Equal(d.Engine, "epoll")
}

// Route keys are templates chosen by handlers; whatever they are, a shard holds a bounded
// number of entries and loses no count.
func TestRouteEntriesBounded(t *testing.T) {
	is := is.New(t)
	m := New("")
	s := m.NewShard()
	const n = 3 * maxRouteEntries
	for i := 0; i < n; i++ {
		countNow(s, completed(proto.MethodGET, fmt.Sprintf("GET /dyn/%d", i), 200, time.Millisecond))
	}
	is.Equal(len(*s.table.Load()), maxRouteEntries+1) // the entries and the overflow entry
	v := m.Read()
	is.Equal(len(v.entries), maxRouteEntries+1)
	is.Equal(v.total(), uint64(n))
	d := New("").Document(v, Gauges{})
	is.Equal(d.RequestsByRoute[routeOverflow], uint64(n-maxRouteEntries))
	var sum uint64
	for _, c := range d.RequestsByRoute {
		sum += c
	}
	is.Equal(sum, uint64(n))
}

func TestStatusSlotsOverflow(t *testing.T) {
	is := is.New(t)
	m := New("")
	s := m.NewShard()
	for code := 200; code < 200+statusSlots+4; code++ {
		countNow(s, completed(proto.MethodGET, "GET /mock", code, time.Millisecond))
		countNow(s, completed(proto.MethodGET, "GET /mock", code, time.Millisecond))
	}
	d := New("").Document(m.Read(), Gauges{})
	is.Equal(len(d.StatusByRoute["GET /mock"]), statusSlots+1)
	is.Equal(d.StatusByRoute["GET /mock"]["200"], uint64(2))
	is.Equal(d.StatusByRoute["GET /mock"]["other"], uint64(8))
	is.Equal(len(d.StatusCounts), statusSlots+4) // the global counts keep every code
}

func TestInflight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		started int
		done    []*conn.Completed
		want    int64
	}{
		{"no start hook: reads 0", 0, []*conn.Completed{completed(proto.MethodGET, "GET /", 200, 0)}, 0},
		{"one running", 2, []*conn.Completed{completed(proto.MethodGET, "GET /", 200, 0)}, 1},
		{"all finished", 2, []*conn.Completed{completed(proto.MethodGET, "GET /", 200, 0), completed(proto.MethodGET, "GET /", 200, 0)}, 0},
		{"protocol errors are never started", 1, []*conn.Completed{{Proto: true, Status: 400}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			m := New("")
			s := m.NewShard()
			for i := 0; i < tc.started; i++ {
				s.Started()
			}
			for _, c := range tc.done {
				countNow(s, c)
			}
			is.Equal(m.Read().inflight, tc.want)
		})
	}
}

func TestCountError(t *testing.T) {
	is := is.New(t)
	a := New("")
	countNow(a.NewShard(), &conn.Completed{Proto: true, Status: 408})
	a.CountError("tls_handshake")
	a.CountError("tls_handshake")
	a.CountError("no such class")
	a.CountError("")
	d := a.Document(a.Read(), Gauges{})
	is.Equal(d.ErrorCountsByClass, map[string]uint64{"tls_handshake": 2, "other": 2, "timeout": 1})
}

// hostileCompleted are exchanges no handler should produce but that must neither panic nor
// break either output format.
func hostileCompleted() []*conn.Completed {
	return []*conn.Completed{
		{Method: proto.MethodGET, Route: "GET /q\"uote", Status: 200, Start: t0, End: t0.Add(time.Millisecond)},
		{Method: proto.MethodGET, Route: "GET /back\\slash", Status: 200},
		{Method: proto.MethodGET, Route: "GET /new\nline", Status: 200},
		{Method: proto.MethodGET, Route: "GET /bad\xff\xfeutf8", Status: 200},
		{Method: proto.MethodGET, Route: "GET /} 1\n# TYPE x counter", Status: 200},
		{Method: proto.MethodGET, Route: "GET /", Status: 0},   // counted as 500, as rendered
		{Method: proto.MethodGET, Route: "GET /", Status: 999}, // likewise
		{Method: proto.MethodGET, Route: "GET /", Status: -7},
		{Method: proto.Method(200), Route: "BREW /pot", Status: 418},      // a method value out of range
		{Method: proto.MethodGET, Route: "GET /", Status: 200, Start: t0}, // End before Start
		{Method: proto.MethodGET, Route: "GET /", Status: 200, End: t0},   // no Start
		{Method: proto.MethodGET, Route: "GET /", Status: 200, BytesIn: -5, BytesOut: -9},
		{Proto: true, Method: proto.MethodPOST, Route: "POST /ignored", Status: 400},
		{Method: proto.MethodGET, Route: strings.Repeat("x", 10000), Status: 200},
	}
}

func TestHostileExchanges(t *testing.T) {
	is := is.New(t)
	a := New("ep\"oll\n")
	s := a.NewShard()
	for _, c := range hostileCompleted() {
		countNow(s, c)
	}
	v := a.Read()
	is.Equal(v.total(), uint64(len(hostileCompleted())))
	is.Equal(v.status[500], uint64(3))
	is.Equal(v.bytesIn, uint64(0))
	is.Equal(v.bytesOut, uint64(0))
	b, err := json.Marshal(a.Document(v, Gauges{}))
	is.NoErr(err)
	is.True(json.Valid(b))
	fams := parsePrometheus(t, string(a.AppendPrometheus(nil, v, Gauges{})))
	var routes []string
	for _, smp := range fams["ownhttp_requests_total"].samples {
		routes = append(routes, smp.labels["route"])
	}
	for _, want := range []string{"/q\"uote", "/back\\slash", "/new\nline", "/bad\uFFFDutf8", "/} 1\n# TYPE x counter", "BREW /pot", "-"} {
		is.True(contains(routes, want)) // label values escape and unescape to the route
	}
	is.Equal(fams["ownhttp_info"].samples[0].labels["engine"], "ep\"oll\n")
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestPrometheusExposition(t *testing.T) {
	is := is.New(t)
	a := New("epoll")
	s := a.NewShard()
	s.Started()
	for i, d := range []time.Duration{50 * time.Microsecond, 300 * time.Microsecond, 3 * time.Millisecond, 2 * time.Second, 70 * time.Second} {
		c := completed(proto.MethodGET, "GET /api/mocks/{id}", 200, d)
		c.Reused = i > 0
		countNow(s, c)
	}
	countNow(s, completed(proto.MethodGET, "404", 404, time.Millisecond))
	countNow(s, &conn.Completed{Proto: true, Status: 413})
	a.CountError("tls_handshake")
	out := string(a.AppendPrometheus(nil, a.Read(), Gauges{ActiveConnections: 4, Accepted: 9, LogDropped: 7, StateWrites: 3, StateWriteFails: 2, HistoryBytes: 1000}))
	fams := parsePrometheus(t, out)

	is.Equal(fams["ownhttp_requests_total"].typ, "counter")
	is.Equal(fams["ownhttp_request_duration_seconds"].typ, "histogram")
	is.Equal(fams["ownhttp_active_connections"].typ, "gauge")
	is.Equal(fams["ownhttp_requests_total"].value(t, map[string]string{"route": "/api/mocks/{id}", "method": "GET", "status": "200"}), 5.0)
	is.Equal(fams["ownhttp_requests_total"].value(t, map[string]string{"route": "404", "method": "GET", "status": "404"}), 1.0)
	is.Equal(fams["ownhttp_requests_total"].value(t, map[string]string{"route": "-", "method": "-", "status": "413"}), 1.0)
	is.Equal(fams["ownhttp_errors_total"].value(t, map[string]string{"class": "body_too_large"}), 1.0)
	is.Equal(fams["ownhttp_errors_total"].value(t, map[string]string{"class": "tls_handshake"}), 1.0)
	is.Equal(fams["ownhttp_errors_total"].value(t, map[string]string{"class": "dispatch"}), 0.0) // known classes start at 0
	is.Equal(fams["ownhttp_active_connections"].value(t, nil), 4.0)
	is.Equal(fams["ownhttp_connections_accepted_total"].value(t, nil), 9.0)
	is.Equal(fams["ownhttp_log_dropped_total"].typ, "counter")
	is.Equal(fams["ownhttp_log_dropped_total"].value(t, nil), 7.0)
	is.Equal(fams["ownhttp_state_writes_total"].value(t, nil), 3.0)
	is.Equal(fams["ownhttp_state_write_failures_total"].value(t, nil), 2.0)
	is.Equal(fams["ownhttp_history_bytes_written_total"].value(t, nil), 1000.0)
	is.Equal(fams["ownhttp_inflight_requests"].value(t, nil), 0.0) // started once, finished many
	is.Equal(fams["ownhttp_draining"].value(t, nil), 0.0)
	is.Equal(fams["ownhttp_requests_reused_connection_total"].value(t, nil), 4.0)
	is.Equal(fams["ownhttp_bytes_sent_total"].value(t, nil), 600.0)

	h := fams["ownhttp_request_duration_seconds"]
	route := map[string]string{"route": "/api/mocks/{id}", "method": "GET"}
	is.Equal(h.bucket(t, route, "0.0001"), 1.0)
	is.Equal(h.bucket(t, route, "0.0005"), 2.0)
	is.Equal(h.bucket(t, route, "0.005"), 3.0)
	is.Equal(h.bucket(t, route, "2"), 4.0) // inclusive
	is.Equal(h.bucket(t, route, "60"), 4.0)
	is.Equal(h.bucket(t, route, "+Inf"), 5.0)
	sum := h.sampleValue(t, "ownhttp_request_duration_seconds_sum", route)
	is.True(math.Abs(sum-72.00335) < 1e-9)
}

func TestConcurrentCountingAndScraping(t *testing.T) {
	is := is.New(t)
	a := New("epoll")
	const writers, perWriter = 4, 5000
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		s := a.NewShard()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				s.Started()
				s.Done(completed(proto.MethodGET, fmt.Sprintf("GET /r%d", i%50), 200+i%3, time.Duration(i)*time.Microsecond))
				if i%7 == 0 || i == perWriter-1 {
					s.Flush() // as a loop does once per wakeup
				}
			}
		}()
	}
	stop := make(chan struct{})
	scraped := make(chan int)
	go func() {
		n := 0
		var last uint64
		defer func() { scraped <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			v := a.Read()
			if v.total() < last {
				t.Error("total went backwards")
			}
			last = v.total()
			parsePrometheus(t, string(a.AppendPrometheus(nil, v, Gauges{})))
			n++
		}
	}()
	wg.Wait()
	close(stop)
	<-scraped
	v := a.Read()
	is.Equal(v.total(), uint64(writers*perWriter))
	is.Equal(len(v.entries), 50)
	is.Equal(v.inflight, int64(0))
}

// A shard's counts reach readers when its owner flushes (once per loop wakeup), all at once.
func TestCountsPublishedAtFlush(t *testing.T) {
	is := is.New(t)
	m := New("")
	s := m.NewShard()
	for range 3 {
		s.Started()
		s.Done(completed(proto.MethodGET, "GET /", 200, time.Millisecond))
	}
	s.Started()
	v := m.Read()
	is.Equal(v.total(), uint64(0))
	is.Equal(v.bytesOut, uint64(0))
	is.Equal(v.inflight, int64(0))
	s.Flush()
	v = m.Read()
	is.Equal(v.total(), uint64(3))
	is.Equal(v.status[200], uint64(3))
	is.Equal(v.bytesOut, uint64(300))
	is.Equal(v.inflight, int64(1))
	is.Equal(v.entries[0].lat.count(), uint64(3))
	is.Equal(v.entries[0].statuses[200], uint64(3))
	s.Flush() // nothing pending: nothing changes
	is.Equal(m.Read().total(), uint64(3))
}

// countNow counts c and publishes it, as a loop's wakeup that served one exchange does.
func countNow(s *Shard, c *conn.Completed) {
	s.Done(c)
	s.Flush()
}

func TestDoneAllocatesNothing(t *testing.T) {
	is := is.New(t)
	s := New("").NewShard()
	cs := []*conn.Completed{
		completed(proto.MethodGET, "GET /", 200, 150*time.Microsecond),
		completed(proto.MethodPOST, "404", 404, time.Millisecond),
		{Proto: true, Status: 400},
		completed(proto.MethodGET, "GET /api/mocks/{id}", 500, 3*time.Second),
	}
	for _, c := range cs {
		countNow(s, c) // first sight creates the entries
	}
	allocs := testing.AllocsPerRun(1000, func() {
		s.Started()
		for _, c := range cs {
			s.Done(c)
		}
		s.Flush()
	})
	is.Equal(allocs, 0.0)
}

func BenchmarkDone(b *testing.B) {
	s := New("").NewShard()
	routes := []string{"GET /", "GET /api/mocks/{id}", "POST /api/mocks", "404", "GET /static/*"}
	cs := make([]*conn.Completed, len(routes))
	for i, r := range routes {
		cs[i] = completed(proto.MethodGET, r, 200, time.Duration(i+1)*100*time.Microsecond)
		countNow(s, cs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.Done(cs[i%len(cs)])
		if i%16 == 15 {
			s.Flush()
		}
	}
}

func BenchmarkScrape(b *testing.B) {
	a := New("epoll")
	for l := 0; l < 4; l++ {
		s := a.NewShard()
		for i := 0; i < 1000; i++ {
			countNow(s, completed(proto.MethodGET, fmt.Sprintf("GET /r%d", i%40), 200, time.Duration(i)*time.Microsecond))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		v := a.Read()
		_, _ = json.Marshal(a.Document(v, Gauges{}))
		_ = a.AppendPrometheus(nil, v, Gauges{})
	}
}

// A strict reader of the Prometheus text format 0.0.4, enough to validate what we write.

type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

type promFamily struct {
	typ     string
	help    bool
	samples []promSample
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parsePrometheus checks every line and the histogram rules and returns the families.
func parsePrometheus(t testing.TB, text string) map[string]*promFamily {
	t.Helper()
	fams := map[string]*promFamily{}
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("exposition does not end with a line feed")
	}
	current := ""
	done := map[string]bool{} // families whose lines are over
	seen := map[string]bool{} // series already given
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		bad := func(why string) { t.Fatalf("line %d %q: %s", n+1, line, why) }
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 4 || (f[1] != "HELP" && f[1] != "TYPE") || !metricNameRE.MatchString(f[2]) {
				bad("malformed comment")
			}
			fam := fams[f[2]]
			if fam == nil {
				if done[f[2]] {
					bad("family split")
				}
				fam = &promFamily{}
				fams[f[2]] = fam
			}
			if current != f[2] && current != "" {
				done[current] = true
			}
			current = f[2]
			if f[1] == "HELP" {
				if fam.help || strings.ContainsAny(f[3], "\\") {
					bad("second HELP or unescaped help")
				}
				fam.help = true
				continue
			}
			switch f[3] {
			case "counter", "gauge", "histogram", "summary", "untyped":
			default:
				bad("unknown type")
			}
			if fam.typ != "" || len(fam.samples) > 0 {
				bad("TYPE repeated or after samples")
			}
			fam.typ = f[3]
			continue
		}
		smp, ok := parseSample(line)
		if !ok {
			bad("malformed sample")
		}
		base := smp.name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(smp.name, suf); ok && fams[b] != nil && fams[b].typ == "histogram" {
				base = b
			}
		}
		fam := fams[base]
		if fam == nil || fam.typ == "" || base != current {
			bad("sample outside its family or without TYPE")
		}
		if fam.typ == "histogram" && base == smp.name {
			bad("histogram sample without suffix")
		}
		if fam.typ == "counter" && smp.value < 0 {
			bad("negative counter")
		}
		id := smp.name + fmt.Sprint(sortedLabels(smp.labels))
		if seen[id] {
			bad("duplicate series")
		}
		seen[id] = true
		fam.samples = append(fam.samples, smp)
	}
	for name, fam := range fams {
		if !fam.help || fam.typ == "" {
			t.Fatalf("family %s lacks HELP or TYPE", name)
		}
		if fam.typ == "histogram" {
			checkHistogram(t, name, fam)
		}
	}
	return fams
}

func sortedLabels(l map[string]string) []string {
	var s []string
	for k, v := range l {
		s = append(s, k+"="+v)
	}
	sort.Strings(s)
	return s
}

// parseSample reads `name{l="v",…} value`; label values may hold \\, \" and \n escapes.
func parseSample(line string) (promSample, bool) {
	smp := promSample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return smp, false
	}
	smp.name, line = line[:i], line[i:]
	if !metricNameRE.MatchString(smp.name) {
		return smp, false
	}
	if line[0] == '{' {
		line = line[1:]
		for {
			if strings.HasPrefix(line, "}") {
				line = line[1:]
				break
			}
			eq := strings.Index(line, `="`)
			if eq <= 0 || !labelNameRE.MatchString(line[:eq]) {
				return smp, false
			}
			name := line[:eq]
			line = line[eq+2:]
			var val strings.Builder
			for {
				if line == "" {
					return smp, false
				}
				c := line[0]
				line = line[1:]
				if c == '"' {
					break
				}
				if c == '\n' {
					return smp, false
				}
				if c == '\\' {
					if line == "" {
						return smp, false
					}
					switch line[0] {
					case '\\':
						val.WriteByte('\\')
					case '"':
						val.WriteByte('"')
					case 'n':
						val.WriteByte('\n')
					default:
						return smp, false
					}
					line = line[1:]
					continue
				}
				val.WriteByte(c)
			}
			if _, dup := smp.labels[name]; dup {
				return smp, false
			}
			smp.labels[name] = val.String()
			if strings.HasPrefix(line, ",") {
				line = line[1:]
			} else if !strings.HasPrefix(line, "}") {
				return smp, false
			}
		}
	}
	rest, ok := strings.CutPrefix(line, " ")
	if !ok || rest == "" || strings.Contains(rest, " ") {
		return smp, false
	}
	v, err := strconv.ParseFloat(rest, 64)
	if err != nil {
		return smp, false
	}
	smp.value = v
	return smp, true
}

// checkHistogram checks each series: le bounds increasing, counts cumulative, a final +Inf
// bucket equal to _count, and a _sum.
func checkHistogram(t testing.TB, name string, fam *promFamily) {
	t.Helper()
	type series struct {
		les    []float64
		counts []float64
		count  float64
		sum    bool
		hasCnt bool
	}
	all := map[string]*series{}
	get := func(l map[string]string) *series {
		c := map[string]string{}
		for k, v := range l {
			if k != "le" {
				c[k] = v
			}
		}
		id := fmt.Sprint(sortedLabels(c))
		if all[id] == nil {
			all[id] = &series{}
		}
		return all[id]
	}
	for _, smp := range fam.samples {
		s := get(smp.labels)
		switch smp.name {
		case name + "_bucket":
			le, ok := smp.labels["le"]
			if !ok {
				t.Fatalf("%s bucket without le", name)
			}
			v, err := strconv.ParseFloat(le, 64)
			if err != nil {
				t.Fatalf("%s le %q: %v", name, le, err)
			}
			s.les, s.counts = append(s.les, v), append(s.counts, smp.value)
		case name + "_sum":
			s.sum = true
		case name + "_count":
			s.count, s.hasCnt = smp.value, true
		}
	}
	for id, s := range all {
		if len(s.les) == 0 || !s.sum || !s.hasCnt {
			t.Fatalf("%s%s: incomplete histogram", name, id)
		}
		for i := 1; i < len(s.les); i++ {
			if s.les[i] <= s.les[i-1] || s.counts[i] < s.counts[i-1] {
				t.Fatalf("%s%s: buckets not increasing and cumulative: %v %v", name, id, s.les, s.counts)
			}
		}
		if !math.IsInf(s.les[len(s.les)-1], 1) || s.counts[len(s.counts)-1] != s.count {
			t.Fatalf("%s%s: last bucket is not +Inf == _count", name, id)
		}
	}
}

// value returns the one sample of the family with exactly these labels.
func (f *promFamily) value(t testing.TB, labels map[string]string) float64 {
	t.Helper()
	if f == nil {
		t.Fatalf("no such family")
	}
	return f.sampleValue(t, "", labels)
}

func (f *promFamily) sampleValue(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	want := fmt.Sprint(sortedLabels(labels))
	for _, s := range f.samples {
		if (name == "" || s.name == name) && fmt.Sprint(sortedLabels(s.labels)) == want {
			return s.value
		}
	}
	t.Fatalf("no sample %s%v", name, labels)
	return 0
}

func (f *promFamily) bucket(t testing.TB, labels map[string]string, le string) float64 {
	t.Helper()
	l := map[string]string{"le": le}
	for k, v := range labels {
		l[k] = v
	}
	for _, s := range f.samples {
		if strings.HasSuffix(s.name, "_bucket") && fmt.Sprint(sortedLabels(s.labels)) == fmt.Sprint(sortedLabels(l)) {
			return s.value
		}
	}
	t.Fatalf("no bucket %v", l)
	return 0
}
