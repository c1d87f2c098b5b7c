// Package metrics counts finished exchanges and renders them for GET /_metrics (JSON) and
// GET /metrics (Prometheus text), issue #3, spec §9.1. The handlers and the observer that
// feeds the shards live in package features.
//
// Counting. Every event loop's observer owns one Shard and calls Done for each
// finished exchange on that loop's goroutine (the pool engine calls its single shard under
// its observer lock). A shard is written by its owner only, so counting takes no lock and
// touches no cache line another core writes: each counter is an atomic that only the owner
// adds to (an uncontended add), atomic only so that a scrape on another goroutine may read
// it without a data race. Done allocates nothing once a route has been seen.
//
// Routes. Counters are kept per route entry: a (route key, method) pair, where the route key
// is the template the handler chose (c.Route: "GET /api/mocks/{id}", "404", "OPTIONS *"),
// never the raw path, so the number of entries is bounded by the route table whatever
// clients send. Exchanges without a route get a fixed key (routeProtocol, routeDrainReject,
// routeUnrouted), and past maxRouteEntries per shard everything new is counted under
// routeOverflow. A shard interns entries in a private map and publishes its entry list
// through an atomic pointer whenever it grows; an entry's identity never changes after
// publication, its counters only grow.
//
// Latency. Each entry keeps a fixed histogram (latencyBounds: ten buckets per decade from
// 1µs to 100s) plus the sum, minimum and maximum; no samples are retained and nothing is
// sorted (the seed sorted every retained list on each scrape, spec §15.18). p50/p95/p99 are
// estimated from the buckets by linear interpolation inside the bucket that holds the rank,
// narrowed to the observed minimum and maximum, so a bucket's width (at most a third of its
// lower bound) bounds the error. The JSON latency_buckets_ms and the Prometheus buckets are
// sums of fine buckets: every bound they use is a fine bound.
//
// Reading. A scrape merges the shards: it loads every counter once. Counters of one shard
// are not read as one atomic unit, so under concurrent traffic two related figures (a
// route's count and its status counts) may differ by the requests finished during the
// scrape; the Prometheus histogram's +Inf bucket and _count come from the same loads and
// always agree.
//
// Error classes (error_counts_by_class, ownhttp_errors_total{class}):
//
//	parse          a request the parser refused (400, 414, 417, 431, 501, 505, …)
//	timeout        a request that did not arrive within the header timeout (408)
//	body_too_large a body over the limit (413)
//	dispatch       a 5xx answer to a dispatched request: a handler failure or panic, an
//	               upstream failure, the offload pool full; drain rejects are not errors
//	tls_handshake  a failed TLS handshake (counted by the TLS listener through CountError)
//	read, write    socket failures, for engines that report them through CountError
//	other          a class CountError does not know
//
// In-flight requests. conn reports exchanges only once finished, so inflight_requests is
// computed from a start hook: Shard.Started, called by the owner when a request is
// dispatched. Until conn reports dispatches to observers it is not called and
// inflight_requests reads 0.
package metrics

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ownhttp/conn"
	"ownhttp/proto"
	"ownhttp/state"
)

// Fixed route keys for exchanges whose handler chose no route.
const (
	routeProtocol    = "- -"          // a protocol error answered by conn (c.Proto)
	routeDrainReject = "drain/reject" // a further request on a kept-alive connection while draining
	routeUnrouted    = "(unrouted)"   // a handler that set no route (a recovered panic, …)
	routeOverflow    = "(other)"      // past maxRouteEntries entries in one shard
)

// maxRouteEntries bounds the (route, method) entries of one shard. Built-in routes need a
// few dozen; mock routes come and go, so without a bound a long-lived server could grow.
const maxRouteEntries = 1024

// statusSlots bounds the distinct status codes counted per entry; more go to "other".
const statusSlots = 16

// latencyBounds are the inclusive upper bounds, in nanoseconds, of the fine latency
// histogram: the mantissas 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 in every decade from 1µs,
// ending at 100s. Bucket i counts latencies in (latencyBounds[i-1], latencyBounds[i]]; the
// bucket after the last bound counts everything longer. Never modified.
var latencyBounds = makeLatencyBounds()

const (
	numBounds  = 81
	numBuckets = numBounds + 1
)

func makeLatencyBounds() [numBounds]int64 {
	mantissas := [...]int64{100, 125, 150, 200, 250, 300, 400, 500, 600, 750} // ×1/100
	var b [numBounds]int64
	scale := int64(10) // 1µs = 100 × 10ns
	for d := 0; d < 8; d++ {
		for i, m := range mantissas {
			b[d*len(mantissas)+i] = m * scale
		}
		scale *= 10
	}
	b[numBounds-1] = 100 * scale // 100s
	return b
}

// bucketIndex returns the fine bucket of a latency in nanoseconds.
func bucketIndex(ns int64) int {
	lo, hi := 0, numBounds // the answer is in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if latencyBounds[mid] < ns {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// jsonBucketsMS are the bounds of latency_buckets_ms (spec §9.1), each a fine bound. Never
// modified.
var jsonBucketsMS = [...]int64{5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000}

// promBucketsNS are the bounds of ownhttp_request_duration_seconds, each a fine bound. Never
// modified.
var promBucketsNS = [...]int64{
	100e3, 250e3, 500e3, // 0.1ms 0.25ms 0.5ms
	1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6, 100e6, 250e6, 500e6,
	1e9, 2e9, 5e9, 10e9, 30e9, 60e9,
}

// promLE are the le label values of promBucketsNS. Never modified.
var promLE = func() (le [len(promBucketsNS)]string) {
	for i, ns := range promBucketsNS {
		le[i] = strconv.FormatFloat(float64(ns)/1e9, 'g', -1, 64)
	}
	return le
}()

// Error classes, in the order they are reported.
const (
	classParse = iota
	classTimeout
	classBodyTooLarge
	classDispatch
	classTLSHandshake
	classRead
	classWrite
	classOther
	numClasses
)

// classNames are the reported names of the error classes. Never modified.
var classNames = [numClasses]string{"parse", "timeout", "body_too_large", "dispatch", "tls_handshake", "read", "write", "other"}

// errorClass classifies a finished exchange, or returns -1 when it is no error.
func errorClass(c *conn.Completed) int {
	if c.Proto {
		switch c.Status {
		case 408:
			return classTimeout
		case 413:
			return classBodyTooLarge
		}
		return classParse
	}
	if c.Status >= 500 && !isDrainReject(c) {
		return classDispatch
	}
	return -1
}

func isDrainReject(c *conn.Completed) bool {
	return !c.Proto && c.Route == "" && c.Draining && c.Status == 503
}

// routeKeyOf is the route key an exchange is counted under.
func routeKeyOf(c *conn.Completed) string {
	switch {
	case c.Proto:
		return routeProtocol
	case c.Route != "":
		return c.Route
	case isDrainReject(c):
		return routeDrainReject
	}
	return routeUnrouted
}

// statusIndex maps a status to its counter, as conn renders it (outside 100–599: 500).
func statusIndex(s int) int {
	if s < 100 || s > 599 {
		return 500
	}
	return s
}

// Registry is the server's counters: the shards of every event loop and the counters fed
// from elsewhere. Safe for concurrent use.
type Registry struct {
	engine string // the engine's name, reported by both formats

	mu     sync.Mutex // guards shards; taken when a shard is added and on scrape only
	shards []*Shard

	// external counts errors reported through CountError from any goroutine (rare events,
	// so one shared counter per class is fine).
	external [numClasses]atomic.Uint64

	// faults counts injected wire faults and delays (CountFault): faultKey → *atomic.Uint64.
	faults sync.Map
}

// faultKey names one fault counter: what injected it ("mock" or "target"), its id, and
// the kind ("latency", "reset", …).
type faultKey struct{ source, id, kind string }

// CountFault counts a fault or delay injected by a mock's or target's wire plan. Safe for
// concurrent use from any goroutine; after a key's first count it allocates nothing.
func (m *Registry) CountFault(source, id, kind string) {
	k := faultKey{source, id, kind}
	c, ok := m.faults.Load(k)
	if !ok {
		c, _ = m.faults.LoadOrStore(k, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}

// faultCounts returns the fault counters in a stable order.
func (m *Registry) faultCounts() []faultCount {
	var out []faultCount
	m.faults.Range(func(k, v any) bool {
		out = append(out, faultCount{k.(faultKey), v.(*atomic.Uint64).Load()})
		return true
	})
	slices.SortFunc(out, func(a, b faultCount) int {
		return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.id, b.id), cmp.Compare(a.kind, b.kind))
	})
	return out
}

type faultCount struct {
	faultKey
	n uint64
}

// New returns an empty registry for a server running engine ("epoll", "threadpool").
func New(engine string) *Registry { return &Registry{engine: engine} }

// NewShard adds a shard for one event loop.
func (m *Registry) NewShard() *Shard {
	s := &Shard{index: map[entryKey]*routeEntry{}}
	s.overflow = newRouteEntry(routeOverflow, proto.MethodUnknown)
	s.publish()
	m.mu.Lock()
	m.shards = append(m.shards, s)
	m.mu.Unlock()
	return s
}

// entryKey identifies a route entry.
type entryKey struct {
	route  string
	method proto.Method
}

// Shard is one event loop's share of the counters. Its owner (the loop's goroutine,
// or whoever holds the pool engine's observer lock) alone calls Done, Started and Flush; any
// goroutine may read it through Registry.Read.
type Shard struct {
	_ [64]byte // keep the hot counters off a cache line another allocation may share

	// Owned by the writer.
	index   map[entryKey]*routeEntry
	entries []*routeEntry // in creation order; entries[i] is never replaced
	tracks  bool          // Started has been called: Done counts finished dispatches
	last    *routeEntry   // the entry found last: consecutive requests mostly share it
	// Counts not yet published: Done and Started count here with plain arithmetic, and
	// flush (called by the owner once per loop wakeup) adds them to the counters below in
	// one go, so a wakeup that serves many requests pays the atomic additions once.
	pend  shardPending
	dirty []*routeEntry // entries with pending counts

	// Published to readers.
	table    atomic.Pointer[[]*routeEntry] // a copy of entries, replaced when it grows
	overflow *routeEntry                   // set before publication, never replaced

	status   [600]atomic.Uint64 // by status code (statusIndex)
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64
	reused   atomic.Uint64 // requests that were not the first on their connection
	errors   [numClasses]atomic.Uint64
	begun    atomic.Uint64 // dispatched requests (started)
	finished atomic.Uint64 // dispatched requests finished, once tracking

	_ [64]byte
}

// shardPending is what a shard counted since its last flush (owned by the writer).
type shardPending struct {
	begun, finished, reused, bytesIn, bytesOut uint64
	errors                                     [numClasses]uint64
	status                                     statusRun
}

// statusRun is a run of exchanges with one status (pending counts mostly have one status).
type statusRun struct {
	code uint32 // 0: none
	n    uint64
}

// routeEntry counts one (route key, method) pair. key, route and method never change; the
// counters only grow.
type routeEntry struct {
	key    string       // the route key (JSON)
	route  string       // the route label (Prometheus): key without its method prefix
	method proto.Method // MethodUnknown for protocol errors and the overflow entry

	// Owned by the shard's writer: counts since the last flush. pendMask marks the buckets
	// of pendHist that are not zero.
	pendHist   [numBuckets]uint32
	pendMask   [(numBuckets + 63) / 64]uint64
	pendSumNS  uint64
	pendStatus statusRun
	pending    bool // listed in the shard's dirty list

	hist  [numBuckets]atomic.Uint64
	sumNS atomic.Uint64
	minNS atomic.Int64 // math.MaxInt64 until the first exchange
	maxNS atomic.Int64

	// codes[i] is set once counts[i] has its first count; a zero code ends the list.
	codes       [statusSlots]atomic.Uint32
	counts      [statusSlots]atomic.Uint64
	otherStatus atomic.Uint64
}

func newRouteEntry(key string, m proto.Method) *routeEntry {
	e := &routeEntry{key: key, method: m}
	e.route = key
	if name := methodLabel(m); strings.HasPrefix(key, name+" ") {
		e.route = key[len(name)+1:]
	}
	e.minNS.Store(math.MaxInt64)
	return e
}

// methodLabel is the method's token, or "-" for none.
func methodLabel(m proto.Method) string {
	if s := m.String(); s != "" {
		return s
	}
	return "-"
}

// Started counts a dispatched request (called by the owner when conn dispatches it).
func (s *Shard) Started() {
	s.tracks = true
	s.pend.begun++
}

// Done counts one finished exchange. It allocates nothing once its entry exists, and does no
// atomic operation: the counts wait in the shard until Flush.
func (s *Shard) Done(c *conn.Completed) {
	m := c.Method
	if c.Proto {
		m = proto.MethodUnknown
	}
	e := s.entry(routeKeyOf(c), m)

	var ns int64
	if !c.Start.IsZero() && c.End.After(c.Start) {
		ns = int64(c.End.Sub(c.Start))
	}
	b := bucketIndex(ns)
	e.pendHist[b]++
	e.pendMask[b/64] |= 1 << (b % 64)
	e.pendSumNS += uint64(ns)
	// min and max are published at once: they are rarely stored, and a reader that sees a
	// count before its min and max only narrows a quantile's interpolation.
	if ns < e.minNS.Load() {
		e.minNS.Store(ns)
	}
	if ns > e.maxNS.Load() {
		e.maxNS.Store(ns)
	}
	status := uint32(statusIndex(c.Status))
	if e.pendStatus.code != status {
		e.countStatus(e.pendStatus)
		e.pendStatus = statusRun{code: status}
	}
	e.pendStatus.n++
	if !e.pending {
		e.pending = true
		s.dirty = append(s.dirty, e)
	}

	p := &s.pend
	if p.status.code != status {
		s.addStatus(p.status)
		p.status = statusRun{code: status}
	}
	p.status.n++
	if c.BytesIn > 0 {
		p.bytesIn += uint64(c.BytesIn)
	}
	if c.BytesOut > 0 {
		p.bytesOut += uint64(c.BytesOut)
	}
	if c.Reused && !c.Proto {
		p.reused++
	}
	if class := errorClass(c); class >= 0 {
		p.errors[class]++
	}
	if s.tracks && !c.Proto {
		p.finished++
	}
}

// Flush publishes the pending counts to readers (called by the owner, once per wakeup). begun
// is added before finished, so a reader never sees more finished than begun.
func (s *Shard) Flush() {
	for _, e := range s.dirty {
		for w, mask := range e.pendMask {
			for mask != 0 {
				b := w*64 + bits.TrailingZeros64(mask)
				mask &= mask - 1
				e.hist[b].Add(uint64(e.pendHist[b]))
				e.pendHist[b] = 0
			}
			e.pendMask[w] = 0
		}
		e.sumNS.Add(e.pendSumNS)
		e.countStatus(e.pendStatus)
		e.pendSumNS, e.pendStatus, e.pending = 0, statusRun{}, false
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	p := &s.pend
	s.addStatus(p.status)
	add := func(c *atomic.Uint64, n uint64) {
		if n != 0 {
			c.Add(n)
		}
	}
	add(&s.begun, p.begun)
	add(&s.finished, p.finished)
	add(&s.reused, p.reused)
	add(&s.bytesIn, p.bytesIn)
	add(&s.bytesOut, p.bytesOut)
	for i, n := range p.errors {
		add(&s.errors[i], n)
	}
	*p = shardPending{}
}

func (s *Shard) addStatus(r statusRun) {
	if r.n > 0 {
		s.status[r.code].Add(r.n)
	}
}

// entry finds or creates the entry of (key, m); past the bound it is the overflow entry.
func (s *Shard) entry(key string, m proto.Method) *routeEntry {
	if e := s.last; e != nil && e.method == m && e.key == key {
		return e
	}
	if e := s.index[entryKey{key, m}]; e != nil {
		s.last = e
		return e
	}
	if len(s.entries) >= maxRouteEntries {
		return s.overflow
	}
	e := newRouteEntry(key, m)
	s.index[entryKey{key, m}] = e
	s.entries = append(s.entries, e)
	s.publish()
	return e
}

// publish makes the current entry list visible to readers.
func (s *Shard) publish() {
	t := append(make([]*routeEntry, 0, len(s.entries)+1), s.entries...)
	t = append(t, s.overflow)
	s.table.Store(&t)
}

// countStatus publishes a run of one status code.
func (e *routeEntry) countStatus(r statusRun) {
	if r.n == 0 {
		return
	}
	for i := range e.codes {
		switch e.codes[i].Load() {
		case r.code:
			e.counts[i].Add(r.n)
			return
		case 0:
			e.counts[i].Add(r.n)
			e.codes[i].Store(r.code) // after the count: a reader that sees the code sees it
			return
		}
	}
	e.otherStatus.Add(r.n)
}

// histView is a read of a latency histogram (one entry, or several merged).
type histView struct {
	hist         [numBuckets]uint64
	sumNS        uint64
	minNS, maxNS int64 // meaningful when count() > 0
}

func (h *histView) count() uint64 {
	var n uint64
	for _, c := range h.hist {
		n += c
	}
	return n
}

func (h *histView) merge(o *histView) {
	if o.count() == 0 {
		return
	}
	if h.count() == 0 {
		h.minNS, h.maxNS = o.minNS, o.maxNS
	} else {
		h.minNS, h.maxNS = min(h.minNS, o.minNS), max(h.maxNS, o.maxNS)
	}
	for i, c := range o.hist {
		h.hist[i] += c
	}
	h.sumNS += o.sumNS
}

// upTo returns how many latencies were at most bound ns (bound is a fine bound).
func (h *histView) upTo(boundNS int64) uint64 {
	var n uint64
	for _, c := range h.hist[:bucketIndex(boundNS)+1] {
		n += c
	}
	return n
}

// quantileMS estimates the p-th percentile (0 < p ≤ 100) in milliseconds, rounded to 3
// decimals: the bucket holding rank ⌈n·p/100⌉, interpolated linearly between its bounds
// narrowed to the observed minimum and maximum. 0 when empty.
func (h *histView) quantileMS(p float64) float64 {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(float64(n) * p / 100))
	rank = min(max(rank, 1), n)
	var cum uint64
	for i, c := range h.hist {
		if cum+c < rank {
			cum += c
			continue
		}
		var lo, hi int64
		if i > 0 {
			lo = latencyBounds[i-1]
		}
		if i < numBounds {
			hi = latencyBounds[i]
		} else {
			hi = h.maxNS
		}
		lo, hi = max(lo, h.minNS), min(hi, h.maxNS)
		if hi < lo { // counters read while they moved
			hi = lo
		}
		v := float64(lo) + float64(hi-lo)*float64(rank-cum)/float64(c)
		return state.RoundMS(v / 1e6)
	}
	return state.RoundMS(float64(h.maxNS) / 1e6)
}

// entryView is a read of one entry (or of the same entry in several shards, merged).
type entryView struct {
	key, route  string
	method      proto.Method
	lat         histView
	statuses    map[int]uint64
	otherStatus uint64
}

// View is one scrape: every shard read once and merged.
type View struct {
	entries  []*entryView // with at least one exchange, sorted by key, then method
	status   [600]uint64
	bytesIn  uint64
	bytesOut uint64
	reused   uint64
	errors   [numClasses]uint64
	inflight int64
}

// Read merges every shard into a view.
func (m *Registry) Read() *View {
	m.mu.Lock()
	shards := slices.Clone(m.shards)
	m.mu.Unlock()
	v := &View{}
	byKey := map[entryKey]*entryView{}
	for _, s := range shards {
		s.readInto(v, byKey)
	}
	for i := range m.external {
		v.errors[i] += m.external[i].Load()
	}
	for _, e := range byKey {
		v.entries = append(v.entries, e)
	}
	slices.SortFunc(v.entries, func(a, b *entryView) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return int(a.method) - int(b.method)
	})
	return v
}

func (s *Shard) readInto(v *View, byKey map[entryKey]*entryView) {
	// finished before begun: begun never trails what was read of finished.
	finished := s.finished.Load()
	if begun := s.begun.Load(); begun > finished {
		v.inflight += int64(begun - finished)
	}
	for _, e := range *s.table.Load() {
		var h histView
		for i := range e.hist {
			h.hist[i] = e.hist[i].Load()
		}
		if h.count() == 0 {
			continue
		}
		h.sumNS, h.minNS, h.maxNS = e.sumNS.Load(), e.minNS.Load(), e.maxNS.Load()
		k := entryKey{e.key, e.method}
		ev := byKey[k]
		if ev == nil {
			ev = &entryView{key: e.key, route: e.route, method: e.method, statuses: map[int]uint64{}}
			byKey[k] = ev
		}
		ev.lat.merge(&h)
		for i := range e.codes {
			code := e.codes[i].Load()
			if code == 0 {
				break
			}
			ev.statuses[int(code)] += e.counts[i].Load()
		}
		ev.otherStatus += e.otherStatus.Load()
	}
	for i := range s.status {
		v.status[i] += s.status[i].Load()
	}
	v.bytesIn += s.bytesIn.Load()
	v.bytesOut += s.bytesOut.Load()
	v.reused += s.reused.Load()
	for i := range s.errors {
		v.errors[i] += s.errors[i].Load()
	}
}

func (v *View) total() uint64 {
	var n uint64
	for _, c := range v.status {
		n += c
	}
	return n
}

// CountError counts an error that no exchange reports (a failed TLS handshake:
// "tls_handshake"; socket "read" and "write" failures). Unknown classes count as "other".
// Safe for concurrent use from any goroutine.
func (m *Registry) CountError(class string) {
	i := classOther
	for c, name := range classNames {
		if name == class {
			i = c
			break
		}
	}
	m.external[i].Add(1)
}

// Gauges are the figures a scrape reports from outside the shards; the caller reads them
// from the engine, the drain and the state owner at scrape time.
type Gauges struct {
	ActiveConnections int64
	Accepted          uint64 // connections accepted
	Rejected          uint64 // connections refused at accept
	Draining          bool
	DrainElapsed      time.Duration // since the drain began; 0 while running
	Mocks             int
	HistoryDropped    uint64
	EventsDropped     uint64
	LogDropped        uint64 // log records dropped because stderr could not keep up
	StateWrites       uint64 // store writes that succeeded
	StateWriteFails   uint64 // store writes that failed (the change stays in memory)
	HistoryBytes      uint64 // bytes written to the history log
}

// Doc is the /_metrics body (spec §9.1). Fields are in alphabetical order of their
// names, so the keys come out sorted (encoding/json sorts map keys). Counter maps hold a key
// only once its count is non-zero.
//
// Left out of the seed's fields: request_trace_id (the last request's trace id is no
// business of an anonymous client, spec §15.1.10), read_errors_by_type and
// write_errors_by_type (no per-type socket errors are reported), the scenario, incident,
// history-count and metrics_backend fields (no source yet; they join when their features
// do).
type Doc struct {
	ActiveConnections        int64             `json:"active_connections"`
	BytesReceivedTotal       uint64            `json:"bytes_received_total"`
	BytesSentTotal           uint64            `json:"bytes_sent_total"`
	ConnectionsAcceptedTotal uint64            `json:"connections_accepted_total"`
	ConnectionsRejectedTotal uint64            `json:"connections_rejected_total"`
	DrainElapsedMS           float64           `json:"drain_elapsed_ms"`
	DrainInflightRemaining   int64             `json:"drain_inflight_remaining"`
	DrainState               string            `json:"drain_state"`
	Engine                   string            `json:"engine"`
	ErrorCountsByClass       map[string]uint64 `json:"error_counts_by_class"`
	EventsDroppedTotal       uint64            `json:"events_dropped_total"`
	// FaultsInjected counts wire faults and delays by "mock:<id>" or "target:<id>", then kind.
	FaultsInjected           map[string]map[string]uint64 `json:"faults_injected"`
	HistoryBytesWrittenTotal uint64                       `json:"history_bytes_written_total"`
	HistoryDroppedTotal      uint64                       `json:"history_dropped_total"`
	InflightRequests         int64                        `json:"inflight_requests"`
	LatencyBucketsMS         map[string]uint64            `json:"latency_buckets_ms"`
	LatencyByRouteMS         map[string]latencySummary    `json:"latency_by_route_ms"`
	LatencyP50MS             float64                      `json:"latency_p50_ms"`
	LatencyP95MS             float64                      `json:"latency_p95_ms"`
	LatencyP99MS             float64                      `json:"latency_p99_ms"`
	LogDroppedTotal          uint64                       `json:"log_dropped_total"`
	OpenConnections          int64                        `json:"open_connections"`
	PlaygroundMockCount      int                          `json:"playground_mock_count"`
	RequestsByRoute          map[string]uint64            `json:"requests_by_route"`
	RequestsReusedConnection uint64                       `json:"requests_reused_connection"`
	StateWriteFailuresTotal  uint64                       `json:"state_write_failures_total"`
	StateWritesTotal         uint64                       `json:"state_writes_total"`
	StatusByRoute            map[string]map[string]uint64 `json:"status_by_route"`
	StatusCounts             map[string]uint64            `json:"status_counts"`
	TotalRequests            uint64                       `json:"total_requests"`
}

// latencySummary is one route's estimated percentiles in milliseconds.
type latencySummary struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Document builds the /_metrics body from a view.
func (m *Registry) Document(v *View, g Gauges) *Doc {
	d := &Doc{
		ActiveConnections: g.ActiveConnections, OpenConnections: g.ActiveConnections,
		BytesReceivedTotal: v.bytesIn, BytesSentTotal: v.bytesOut,
		ConnectionsAcceptedTotal: g.Accepted, ConnectionsRejectedTotal: g.Rejected,
		DrainState: "running", Engine: m.engine,
		ErrorCountsByClass: map[string]uint64{}, EventsDroppedTotal: g.EventsDropped,
		HistoryDroppedTotal: g.HistoryDropped, HistoryBytesWrittenTotal: g.HistoryBytes,
		StateWritesTotal: g.StateWrites, StateWriteFailuresTotal: g.StateWriteFails, InflightRequests: v.inflight,
		LatencyBucketsMS: map[string]uint64{}, LatencyByRouteMS: map[string]latencySummary{},
		LogDroppedTotal:     g.LogDropped,
		PlaygroundMockCount: g.Mocks, RequestsByRoute: map[string]uint64{},
		RequestsReusedConnection: v.reused, StatusByRoute: map[string]map[string]uint64{},
		StatusCounts: map[string]uint64{}, TotalRequests: v.total(),
	}
	d.FaultsInjected = map[string]map[string]uint64{}
	for _, f := range m.faultCounts() {
		by := d.FaultsInjected[f.source+":"+f.id]
		if by == nil {
			by = map[string]uint64{}
			d.FaultsInjected[f.source+":"+f.id] = by
		}
		by[f.kind] = f.n
	}
	if g.Draining {
		d.DrainState = "draining"
		d.DrainElapsedMS = state.RoundMS(float64(g.DrainElapsed) / 1e6)
		// The drain closes idle connections, so those still open hold work in flight.
		d.DrainInflightRemaining = g.ActiveConnections
	}
	for i, n := range v.errors {
		if n > 0 {
			d.ErrorCountsByClass[classNames[i]] = n
		}
	}
	for code, n := range v.status {
		if n > 0 {
			d.StatusCounts[strconv.Itoa(code)] = n
		}
	}
	var all histView
	byKey := map[string]*histView{}
	for _, e := range v.entries {
		all.merge(&e.lat)
		h := byKey[e.key]
		if h == nil {
			h = &histView{}
			byKey[e.key] = h
		}
		h.merge(&e.lat)
		d.RequestsByRoute[e.key] += e.lat.count()
		st := d.StatusByRoute[e.key]
		if st == nil {
			st = map[string]uint64{}
			d.StatusByRoute[e.key] = st
		}
		for code, n := range e.statuses {
			st[strconv.Itoa(code)] += n
		}
		if e.otherStatus > 0 {
			st["other"] += e.otherStatus
		}
	}
	for key, h := range byKey {
		d.LatencyByRouteMS[key] = latencySummary{P50: h.quantileMS(50), P95: h.quantileMS(95), P99: h.quantileMS(99)}
	}
	d.LatencyP50MS, d.LatencyP95MS, d.LatencyP99MS = all.quantileMS(50), all.quantileMS(95), all.quantileMS(99)
	var below uint64
	for _, b := range jsonBucketsMS {
		n := all.upTo(b * 1e6)
		if n-below > 0 {
			d.LatencyBucketsMS["<= "+strconv.FormatInt(b, 10)+"ms"] = n - below
		}
		below = n
	}
	if n := all.count() - below; n > 0 {
		d.LatencyBucketsMS["> "+strconv.FormatInt(jsonBucketsMS[len(jsonBucketsMS)-1], 10)+"ms"] = n
	}
	return d
}

// PrometheusContentType is the Content-Type of the text exposition format 0.0.4.
const PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

// AppendPrometheus appends a view in the text exposition format 0.0.4: every family with
// HELP and TYPE lines, series in a stable order, label values escaped.
func (m *Registry) AppendPrometheus(b []byte, v *View, g Gauges) []byte {
	family := func(name, typ, help string) {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = append(b, help...)
		b = append(b, "\n# TYPE "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = append(b, typ...)
		b = append(b, '\n')
	}
	sampleU := func(name string, n uint64) {
		b = append(b, name...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, n, 10)
		b = append(b, '\n')
	}
	sampleI := func(name string, n int64) {
		b = append(b, name...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, n, 10)
		b = append(b, '\n')
	}

	family("ownhttp_requests_total", "counter", "Finished exchanges by route template, method and status.")
	for _, e := range v.entries {
		codes := make([]int, 0, len(e.statuses))
		for code := range e.statuses {
			codes = append(codes, code)
		}
		slices.Sort(codes)
		for _, code := range codes {
			b = appendSeries(b, "ownhttp_requests_total", e, "status", strconv.Itoa(code))
			b = strconv.AppendUint(b, e.statuses[code], 10)
			b = append(b, '\n')
		}
		if e.otherStatus > 0 {
			b = appendSeries(b, "ownhttp_requests_total", e, "status", "other")
			b = strconv.AppendUint(b, e.otherStatus, 10)
			b = append(b, '\n')
		}
	}

	family("ownhttp_request_duration_seconds", "histogram", "Time from the first byte of a request to its response being complete.")
	for _, e := range v.entries {
		var cum uint64
		next := 0 // the next fine bucket to add
		for j, bound := range promBucketsNS {
			for last := bucketIndex(bound); next <= last; next++ {
				cum += e.lat.hist[next]
			}
			b = appendSeries(b, "ownhttp_request_duration_seconds_bucket", e, "le", promLE[j])
			b = strconv.AppendUint(b, cum, 10)
			b = append(b, '\n')
		}
		b = appendSeries(b, "ownhttp_request_duration_seconds_bucket", e, "le", "+Inf")
		b = strconv.AppendUint(b, e.lat.count(), 10)
		b = append(b, '\n')
		b = appendSeries(b, "ownhttp_request_duration_seconds_sum", e, "", "")
		b = strconv.AppendFloat(b, float64(e.lat.sumNS)/1e9, 'g', -1, 64)
		b = append(b, '\n')
		b = appendSeries(b, "ownhttp_request_duration_seconds_count", e, "", "")
		b = strconv.AppendUint(b, e.lat.count(), 10)
		b = append(b, '\n')
	}

	family("ownhttp_errors_total", "counter", "Errors by class (parse, timeout, body_too_large, dispatch, tls_handshake, read, write, other).")
	for i, name := range classNames {
		b = append(b, `ownhttp_errors_total{class="`...)
		b = append(b, name...)
		b = append(b, `"} `...)
		b = strconv.AppendUint(b, v.errors[i], 10)
		b = append(b, '\n')
	}

	family("ownhttp_bytes_sent_total", "counter", "Response bytes written, heads included.")
	sampleU("ownhttp_bytes_sent_total", v.bytesOut)
	family("ownhttp_bytes_received_total", "counter", "Request bytes read (heads and encoded bodies).")
	sampleU("ownhttp_bytes_received_total", v.bytesIn)
	family("ownhttp_requests_reused_connection_total", "counter", "Requests that were not the first on their connection.")
	sampleU("ownhttp_requests_reused_connection_total", v.reused)
	family("ownhttp_connections_accepted_total", "counter", "Connections accepted.")
	sampleU("ownhttp_connections_accepted_total", g.Accepted)
	family("ownhttp_connections_rejected_total", "counter", "Connections refused at accept (over the cap, queue full or draining).")
	sampleU("ownhttp_connections_rejected_total", g.Rejected)
	family("ownhttp_history_dropped_total", "counter", "History records dropped because the state actor's queue was full.")
	sampleU("ownhttp_history_dropped_total", g.HistoryDropped)
	family("ownhttp_events_dropped_total", "counter", "Live events dropped because the state actor's queue was full.")
	sampleU("ownhttp_events_dropped_total", g.EventsDropped)
	family("ownhttp_log_dropped_total", "counter", "Log records dropped because stderr could not keep up.")
	sampleU("ownhttp_log_dropped_total", g.LogDropped)
	family("ownhttp_state_writes_total", "counter", "Store writes that succeeded.")
	sampleU("ownhttp_state_writes_total", g.StateWrites)
	family("ownhttp_state_write_failures_total", "counter", "Store writes that failed (the change stays in memory and is retried).")
	sampleU("ownhttp_state_write_failures_total", g.StateWriteFails)
	family("ownhttp_history_bytes_written_total", "counter", "Bytes written to the history log.")
	sampleU("ownhttp_history_bytes_written_total", g.HistoryBytes)

	family("ownhttp_faults_injected_total", "counter", "Wire faults and delays injected by mock and target plans.")
	for _, f := range m.faultCounts() {
		b = append(b, `ownhttp_faults_injected_total{source="`...)
		b = appendLabelValue(b, f.source)
		b = append(b, `",id="`...)
		b = appendLabelValue(b, f.id)
		b = append(b, `",kind="`...)
		b = appendLabelValue(b, f.kind)
		b = append(b, `"} `...)
		b = strconv.AppendUint(b, f.n, 10)
		b = append(b, '\n')
	}

	family("ownhttp_active_connections", "gauge", "Open client connections.")
	sampleI("ownhttp_active_connections", g.ActiveConnections)
	family("ownhttp_inflight_requests", "gauge", "Requests dispatched and not yet finished.")
	sampleI("ownhttp_inflight_requests", v.inflight)
	family("ownhttp_draining", "gauge", "1 while the server drains, else 0.")
	draining := int64(0)
	if g.Draining {
		draining = 1
	}
	sampleI("ownhttp_draining", draining)
	family("ownhttp_drain_elapsed_seconds", "gauge", "Time since the drain began (0 while running).")
	b = append(b, "ownhttp_drain_elapsed_seconds "...)
	b = strconv.AppendFloat(b, g.DrainElapsed.Seconds(), 'g', -1, 64)
	b = append(b, '\n')
	family("ownhttp_mocks", "gauge", "Mock routes defined.")
	sampleI("ownhttp_mocks", int64(g.Mocks))
	family("ownhttp_info", "gauge", "Server information; always 1.")
	b = append(b, `ownhttp_info{engine="`...)
	b = appendLabelValue(b, m.engine)
	b = append(b, `"} 1`+"\n"...)
	return b
}

// appendSeries appends `name{route="…",method="…"[,extra="…"]} ` for an entry.
func appendSeries(b []byte, name string, e *entryView, extra, extraValue string) []byte {
	b = append(b, name...)
	b = append(b, `{route="`...)
	b = appendLabelValue(b, e.route)
	b = append(b, `",method="`...)
	b = appendLabelValue(b, methodLabel(e.method))
	if extra != "" {
		b = append(b, `",`...)
		b = append(b, extra...)
		b = append(b, `="`...)
		b = appendLabelValue(b, extraValue)
	}
	return append(b, `"} `...)
}

// appendLabelValue escapes a label value as the text format requires (backslash, double
// quote and line feed); invalid UTF-8 becomes U+FFFD.
func appendLabelValue(b []byte, s string) []byte {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}
