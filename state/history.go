package state

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// HistoryEntry is one captured exchange (spec §4.5). Its JSON fields are
// exactly request_id, trace_id, method, path, status, latency_ms, bytes_in,
// bytes_out, ts, replay_input, and run_id/step_id when set. Entries handed out
// by the Actor share their Headers maps with the ring: treat them as
// read-only.
type HistoryEntry struct {
	RequestID string  `json:"request_id"`
	TraceID   string  `json:"trace_id"`
	Method    string  `json:"method"`
	Path      string  `json:"path"`
	Status    int     `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	BytesIn   int64   `json:"bytes_in"`
	BytesOut  int64   `json:"bytes_out"`
	TS        string  `json:"ts"`
	RunID     string  `json:"run_id,omitempty"`
	StepID    string  `json:"step_id,omitempty"`
	// Fault names what a mock's or target's wire plan did to the response ("latency",
	// "reset", …; see conn.Wire), when anything.
	Fault string `json:"fault,omitempty"`
	// StartedAt is when the request began (milliseconds; TS is when its answer ended).
	StartedAt string `json:"started_at,omitempty"`
	// Recording is the id of the record-mode session whose target answered the request.
	Recording string `json:"recording,omitempty"`
	// Response is the answer as sent: nil for entries from before responses were kept,
	// and for connection-level rejects.
	Response *HistoryResponse `json:"response,omitempty"`
	// Unmatched marks a request no route and no mock answered (a 404 outside /api/).
	Unmatched bool `json:"unmatched,omitempty"`
	// ReplayInput is nil when the request cannot be replayed (a read error or
	// connection reject without a head, or a body over MaxHistoryBodyBytes);
	// it is then written as {}.
	ReplayInput *ReplayInput `json:"replay_input"`

	at time.Time // TS parsed; zero when TS does not parse
}

// ReplayInput is what a replay re-sends. Credentials are never stored: the
// values of Authorization, Cookie and Proxy-Authorization headers and of any
// "token" query parameter are "[redacted]", so a replay must run with the
// replaying caller's own credentials.
type ReplayInput struct {
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	RawTarget   string            `json:"raw_target"`
	HTTPVersion string            `json:"http_version"`
	Headers     map[string]string `json:"headers"` // lower-case names; repeated fields joined with ", "
	Body        string            `json:"body"`
}

// RouteUnmatched is the route key of a request no route and no mock answered (its 404).
const RouteUnmatched = "404"

// Redacted replaces every credential value in history.
const Redacted = "[redacted]"

// MarshalJSON writes a nil ReplayInput as {}.
func (e HistoryEntry) MarshalJSON() ([]byte, error) {
	type plain HistoryEntry
	w := struct {
		plain
		ReplayInput any `json:"replay_input"`
	}{plain: plain(e)}
	if e.ReplayInput != nil {
		w.ReplayInput = e.ReplayInput
	} else {
		w.ReplayInput = struct{}{}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads an entry written by MarshalJSON (or by the original
// server). An empty replay_input becomes nil; credentials are redacted.
func (e *HistoryEntry) UnmarshalJSON(data []byte) error {
	type plain HistoryEntry
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*e = HistoryEntry(p)
	e.Path = redactTarget(e.Path)
	if ri := e.ReplayInput; ri != nil {
		if ri.Method == "" && ri.Path == "" && ri.RawTarget == "" {
			e.ReplayInput = nil
		} else {
			if ri.Headers == nil {
				ri.Headers = map[string]string{}
			}
			redactHeaders(ri.Headers)
			ri.RawTarget = redactTarget(ri.RawTarget)
			ri.Path = redactTarget(ri.Path)
		}
	}
	e.at = parseTS(e.TS)
	return nil
}

func parseTS(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func isSensitiveHeader(lower string) bool {
	switch lower {
	case "authorization", "cookie", "proxy-authorization":
		return true
	}
	return false
}

// redactHeaders redacts, in place, a map whose keys may be in any case.
func redactHeaders(h map[string]string) {
	for k := range h {
		if isSensitiveHeader(strings.ToLower(k)) {
			h[k] = Redacted
		}
	}
}

// redactTarget replaces the value of every "token" query parameter (name
// compared case-insensitively) with [redacted]. It returns target itself
// when there is nothing to redact.
func redactTarget(target string) string {
	q := strings.IndexByte(target, '?')
	if q < 0 || !strings.Contains(strings.ToLower(target[q:]), "token=") {
		return target
	}
	var b strings.Builder
	b.Grow(len(target) + 8)
	b.WriteString(target[:q+1])
	for i, part := range strings.Split(target[q+1:], "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		if name, _, ok := strings.Cut(part, "="); ok && strings.EqualFold(name, "token") {
			b.WriteString(name)
			b.WriteString("=" + Redacted)
			continue
		}
		b.WriteString(part)
	}
	return b.String()
}

// historyRing is a FIFO of the last cap entries. Captured requests are stored raw (the
// record plus a copy of its head and body in the slot's reused buffer) and turned into a
// HistoryEntry only when read, so capture costs a copy, not a parse and several allocations:
// at hundreds of thousands of requests a second almost every entry is overwritten unread.
type historyRing struct {
	buf    []historySlot
	start  int // index of the oldest entry
	n      int
	pushed uint64 // entries ever pushed: the sequence number of the newest
}

// historySlot holds one entry, built or raw. Owned by the actor goroutine.
type historySlot struct {
	entry       HistoryEntry
	built       bool
	rec         Record
	raw         []byte // head, body, response head, response body; reused across pushes
	headLen     int
	bodyLen     int
	respHeadLen int
	bodyKept    bool
	respCut     bool
}

func newHistoryRing(capacity int) historyRing {
	return historyRing{buf: make([]historySlot, capacity)}
}

// next returns the slot the next entry goes to, making room when the ring is full.
func (r *historyRing) next() *historySlot {
	r.pushed++
	if r.n < len(r.buf) {
		r.n++
		return &r.buf[(r.start+r.n-1)%len(r.buf)]
	}
	s := &r.buf[r.start]
	r.start = (r.start + 1) % len(r.buf)
	return s
}

// push appends a built entry (loaded from disk).
func (r *historyRing) push(e HistoryEntry) {
	s := r.next()
	s.entry, s.built = e, true
	s.rec = Record{}
}

// keptRawBytes is the raw capacity a built slot keeps for reuse by the next capture.
const keptRawBytes = 4 << 10

// pushRaw appends a captured exchange, copying its bytes; it is built on first read.
func (r *historyRing) pushRaw(rec *Record, head, body, respHead, respBody []byte, bodyKept, respCut bool) {
	s := r.next()
	s.built = false
	s.entry = HistoryEntry{}
	s.rec = *rec
	s.raw = append(append(append(append(s.raw[:0], head...), body...), respHead...), respBody...)
	s.headLen, s.bodyLen, s.respHeadLen = len(head), len(body), len(respHead)
	s.bodyKept, s.respCut = bodyKept, respCut
	if cap(s.raw) > 64<<10 && len(s.raw) < 4<<10 {
		s.raw = append([]byte(nil), s.raw...) // do not pin a large buffer in every slot
	}
}

// at returns the i-th entry, oldest first, building it when it is still raw.
func (r *historyRing) at(i int) *HistoryEntry {
	s := &r.buf[(r.start+i)%len(r.buf)]
	if !s.built {
		var body []byte
		if s.bodyKept {
			body = s.raw[s.headLen : s.headLen+s.bodyLen]
		}
		s.entry = buildEntry(&s.rec, s.raw[:s.headLen], body, s.bodyKept)
		rh := s.headLen + s.bodyLen
		s.entry.Response = buildResponse(s.raw[rh:rh+s.respHeadLen], s.raw[rh+s.respHeadLen:], s.respCut)
		s.built = true
		if cap(s.raw) > keptRawBytes {
			s.raw = nil // built: a large request would be held twice
		}
	}
	return &s.entry
}

// since returns copies of the entries pushed after sequence number seq,
// oldest first (at most the whole ring).
func (r *historyRing) since(seq uint64) []HistoryEntry {
	k := min(r.pushed-min(seq, r.pushed), uint64(r.n))
	out := make([]HistoryEntry, k)
	for i := range out {
		out[i] = *r.at(r.n - int(k) + i)
	}
	return out
}

// all returns a copy of every entry, oldest first.
func (r *historyRing) all() []HistoryEntry {
	out := make([]HistoryEntry, r.n)
	for i := range out {
		out[i] = *r.at(i)
	}
	return out
}

// HistoryFilter selects history entries. Every field holds the raw query
// parameter value; an empty field is not applied.
type HistoryFilter struct {
	Method string // case-insensitive equality
	Path   string // substring
	Status string // an integer; exact
	FromTS string // RFC 3339 time; entries at or after it
	ToTS   string // RFC 3339 time; entries at or before it
	Limit  string // a positive integer: the newest N matches (still returned oldest first)
	// Recording keeps the entries a record-mode session proxied (exact id).
	Recording string
}

type parsedFilter struct {
	method, path   string
	recording      string
	status         int
	hasStatus      bool
	from, to       time.Time
	hasFrom, hasTo bool
	limit          int
}

func invalidFilter(msg string) *Error { return newErr(KindInvalid, CodeInvalidFilter, msg) }

func (f HistoryFilter) parse() (parsedFilter, *Error) {
	p := parsedFilter{method: f.Method, path: f.Path, recording: f.Recording}
	if f.Status != "" {
		n, err := strconv.Atoi(strings.TrimSpace(f.Status))
		if err != nil {
			return p, invalidFilter("status must be an integer")
		}
		p.status, p.hasStatus = n, true
	}
	var err error
	if f.FromTS != "" {
		if p.from, err = time.Parse(time.RFC3339, strings.TrimSpace(f.FromTS)); err != nil {
			return p, invalidFilter("from_ts must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
		}
		p.hasFrom = true
	}
	if f.ToTS != "" {
		if p.to, err = time.Parse(time.RFC3339, strings.TrimSpace(f.ToTS)); err != nil {
			return p, invalidFilter("to_ts must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
		}
		p.hasTo = true
	}
	if f.Limit != "" {
		n, err := strconv.Atoi(strings.TrimSpace(f.Limit))
		if err != nil || n < 1 {
			return p, invalidFilter("limit must be a positive integer")
		}
		p.limit = n
	}
	return p, nil
}

func (p *parsedFilter) keep(e *HistoryEntry) bool {
	if p.method != "" && !strings.EqualFold(e.Method, p.method) {
		return false
	}
	if p.path != "" && !strings.Contains(e.Path, p.path) {
		return false
	}
	if p.recording != "" && e.Recording != p.recording {
		return false
	}
	if p.hasStatus && e.Status != p.status {
		return false
	}
	if p.hasFrom && (e.at.IsZero() || e.at.Before(p.from)) {
		return false
	}
	if p.hasTo && (e.at.IsZero() || e.at.After(p.to)) {
		return false
	}
	return true
}

// buildEntry turns a captured record and its raw head and body into a history
// entry. It never panics, whatever head holds. body is nil when it was not
// kept (bodyKept false means "over the limit": the entry is not replayable).
func buildEntry(r *Record, head, body []byte, bodyKept bool) HistoryEntry {
	trace := traceHex(r.TraceID)
	end := time.Unix(0, r.Start).Add(r.Latency).UTC().Truncate(time.Second)
	e := HistoryEntry{
		RequestID: trace,
		TraceID:   trace,
		Method:    "-",
		Path:      "-",
		Status:    int(r.Status),
		LatencyMS: latencyMS(r.Latency),
		BytesIn:   r.BytesIn,
		BytesOut:  r.BytesOut,
		TS:        FormatTime(end),
		RunID:     r.RunID,
		StepID:    r.StepID,
		Fault:     r.Fault,
		Recording: r.Recording,
		StartedAt: time.Unix(0, r.Start).UTC().Format(startedAtLayout),
		at:        end,
	}
	h, ok := parseHead(head)
	if h.method != nil {
		e.Method = internMethod(h.method)
	}
	if h.target != nil {
		e.Path = string(targetPath(h.target))
	}
	e.Unmatched = r.RouteKey == RouteUnmatched && !strings.HasPrefix(e.Path, "/api/")
	if !ok || !bodyKept {
		return e
	}
	ri := &ReplayInput{
		Method:      e.Method,
		Path:        e.Path,
		RawTarget:   redactTarget(string(h.target)),
		HTTPVersion: string(h.version),
		Headers:     make(map[string]string, 8),
	}
	h.eachHeader(func(name, value []byte) {
		k := strings.ToLower(string(name))
		v := string(value)
		if isSensitiveHeader(k) {
			v = Redacted
		}
		if prev, dup := ri.Headers[k]; dup && !isSensitiveHeader(k) {
			v = prev + ", " + v
		}
		ri.Headers[k] = v
	})
	if r.RedactBody {
		ri.Body = Redacted
	} else {
		ri.Body = string(body)
	}
	e.ReplayInput = ri
	return e
}

// latencyMS converts d to milliseconds rounded to 3 decimals.
func latencyMS(d time.Duration) float64 {
	us := (d + 500*time.Nanosecond) / time.Microsecond
	if d < 0 {
		us = 0
	}
	return float64(us) / 1000
}

func traceHex(id uint64) string {
	var b [16]byte
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = digits[id&0xf]
		id >>= 4
	}
	return string(b[:])
}

// targetPath returns the path part of a request target: everything before
// '?' (and before '#', which a client should never send).
func targetPath(t []byte) []byte {
	if i := bytes.IndexAny(t, "?#"); i >= 0 {
		return t[:i]
	}
	return t
}

// internMethod returns a constant string for common methods, so that most
// entries do not allocate one.
func internMethod(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(m)
}

// head is a parsed raw request head. Its slices alias the input.
type head struct {
	method, target, version []byte
	rest                    []byte // the header lines
}

// parseHead splits a raw request head: "METHOD SP target SP HTTP/x.y" then
// "name: value" lines, each ending in CRLF (a bare LF is accepted too). ok is
// false when the request line lacks one of its three parts; method and
// target are still set when present. It never panics.
func parseHead(raw []byte) (h head, ok bool) {
	if len(raw) == 0 {
		return h, false
	}
	line, rest := cutLine(raw)
	h.rest = rest
	m, after, found := bytes.Cut(line, []byte{' '})
	if len(m) > 0 {
		h.method = m
	}
	if !found {
		return h, false
	}
	after = bytes.TrimLeft(after, " ")
	t, v, found := bytes.Cut(after, []byte{' '})
	if len(t) > 0 {
		h.target = t
	}
	v = bytes.TrimSpace(v)
	if !found || len(t) == 0 || len(m) == 0 || len(v) == 0 {
		return h, false
	}
	h.version = v
	return h, true
}

// eachHeader calls fn for every well-formed "name: value" line, stopping at
// the first empty line. The value is trimmed of spaces and tabs.
func (h *head) eachHeader(fn func(name, value []byte)) {
	rest := h.rest
	for len(rest) > 0 {
		var line []byte
		line, rest = cutLine(rest)
		if len(line) == 0 {
			return
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 {
			continue
		}
		fn(bytes.TrimRight(name, " \t"), bytes.Trim(value, " \t"))
	}
}

// cutLine splits at the first LF, dropping a CR before it.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		line, rest = b, nil
	} else {
		line, rest = b[:i], b[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// ---- Model ----

// ApplyBatch records every exchange of b: a history entry unless SkipHistory,
// and a request.completed event unless the path is under /api/events/ (so
// that polling the event API does not flood the ring it reads). It returns
// the number of history entries and events added. b is only read.
func (m *Model) ApplyBatch(b *Batch) (entries, events int) {
	// Only the last HistoryLimit history entries of a batch can survive.
	skipBefore := 0
	if kept := m.countHistory(b); kept > len(m.history.buf) {
		skipBefore = kept - len(m.history.buf)
	}
	seen := 0
	for i := 0; i < b.n; i++ {
		s := &b.slots[i]
		head, body, respHead, respBody := b.exchange(i)
		head, body = m.historySecrets.mask(head), m.historySecrets.mask(body)
		respHead, respBody = m.historySecrets.mask(respHead), m.historySecrets.mask(respBody)
		if !s.SkipHistory {
			seen++
			if seen > skipBefore {
				m.history.pushRaw(&s.Record, head, body, respHead, respBody, s.bodyKept, s.respCut)
				entries++
			}
		}
		line, _ := cutLine(head)
		if isEventsRequest(line) {
			continue // the live-event endpoints never feed themselves
		}
		m.events.pushRequest(&s.Record, line)
		events++
	}
	return entries, events
}

// isEventsRequest reports whether a request line targets /api/events/.
func isEventsRequest(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return false
	}
	return bytes.HasPrefix(line[sp+1:], []byte("/api/events/"))
}

func (m *Model) countHistory(b *Batch) int {
	n := 0
	for i := 0; i < b.n; i++ {
		if !b.slots[i].SkipHistory {
			n++
		}
	}
	return n
}

// AddHistory appends an entry as it is (used when loading). The oldest
// entry is dropped when the ring is full.
func (m *Model) AddHistory(e HistoryEntry) {
	if e.at.IsZero() {
		e.at = parseTS(e.TS)
	}
	m.history.push(e)
}

// ClearHistory empties the history and starts a new history epoch (so the
// store rewrites its history log empty), and zeroes every mock's hits.
func (m *Model) ClearHistory() {
	m.history = newHistoryRing(m.cfg.HistoryLimit)
	m.historyEpoch++
	for _, x := range m.mocks { // hits count the journal's requests
		x.hits.reset()
	}
}

// History returns the entries kept by f, oldest first (with f.Limit, the
// newest Limit of them, still oldest first). Error: invalid_filter
// (KindInvalid) for an unparseable status, from_ts, to_ts or limit.
func (m *Model) History(f HistoryFilter) ([]HistoryEntry, *Error) {
	p, e := f.parse()
	if e != nil {
		return nil, e
	}
	out := []HistoryEntry{}
	for i := 0; i < m.history.n; i++ {
		if x := m.history.at(i); p.keep(x) {
			out = append(out, *x)
		}
	}
	if p.limit > 0 && len(out) > p.limit {
		out = out[len(out)-p.limit:]
	}
	return out, nil
}

// HistoryEntry returns the most recent entry with the given request_id.
// Error: not_found (KindNotFound) "request id not found".
func (m *Model) HistoryEntry(requestID string) (HistoryEntry, *Error) {
	for i := m.history.n - 1; i >= 0; i-- {
		if x := m.history.at(i); x.RequestID == requestID {
			return *x, nil
		}
	}
	return HistoryEntry{}, newErr(KindNotFound, CodeNotFound, "request id not found")
}

// startedAtLayout is HistoryEntry.StartedAt's form.
const startedAtLayout = "2006-01-02T15:04:05.000Z"

// HistoryResponse is a history entry's answer: the status, the header fields as sent (a
// repeated field's values joined with ", "; Set-Cookie values redacted), and the body up
// to --max-history-body-bytes (BodyTruncated past it): as text when it is UTF-8, else in
// BodyBase64. A HEAD, 1xx, 204 or 304 answer, a file and a stream keep no body.
type HistoryResponse struct {
	Status        int               `json:"status"`
	Headers       map[string]string `json:"headers"`
	Body          string            `json:"body"`
	BodyBase64    string            `json:"body_base64,omitempty"`
	BodyBytes     int               `json:"body_bytes"`
	BodyTruncated bool              `json:"body_truncated,omitempty"`
}

// buildResponse parses a response head as conn renders it (status line, field lines,
// blank line); nil for no head.
func buildResponse(head, body []byte, cut bool) *HistoryResponse {
	if len(head) == 0 {
		return nil
	}
	line, rest := cutLine(head)
	r := &HistoryResponse{Headers: map[string]string{}, BodyBytes: len(body), BodyTruncated: cut}
	if _, code, ok := strings.Cut(string(line), " "); ok {
		code, _, _ = strings.Cut(code, " ")
		r.Status, _ = strconv.Atoi(code)
	}
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		name, value, ok := strings.Cut(string(line), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		if strings.EqualFold(name, "set-cookie") {
			value = Redacted
		}
		if old, dup := r.Headers[name]; dup {
			value = old + ", " + value
		}
		r.Headers[name] = value
	}
	if utf8.Valid(body) {
		r.Body = string(body)
	} else {
		r.BodyBase64 = base64.StdEncoding.EncodeToString(body)
	}
	return r
}
