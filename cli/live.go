package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"ownhttp/state"

	"ownhttp/internal/sse"
)

// "ownhttp scenario live" (spec §5.5, fixed): a terminal view of the server's live events.
//
// Events come from the SSE stream GET /api/events/stream (the token goes in the
// Authorization header, never in the URL), resumed with Last-Event-ID when it ends. When the
// stream cannot be opened, the command polls GET /api/events/snapshot every --refresh-ms
// instead. On a terminal the screen is redrawn (at most once per --refresh-ms) with the
// sections Recent Requests, Scenario Timeline, Proxy Activity and Health, under a summary
// fed by /_metrics once a second; otherwise every event is printed as one line as it
// arrives (with --json: its JSON envelope, one per line). It runs until Ctrl-C (or SIGTERM) and then exits 0; a server that cannot be
// reached at the start is exit 1.

// liveTopics are the event types the view shows (the original's list).
const liveTopics = "request.completed,scenario.run.started,scenario.step.started,scenario.step.completed," +
	"scenario.run.completed,proxy.request.completed,system.health"

// Bounds of the live view.
const (
	liveRows        = 20               // rows kept per section
	liveShownRows   = 10               // rows shown per section
	liveIdleTimeout = 30 * time.Second // a stream silent this long (no event, no heartbeat) is reopened
	liveSnapLimit   = 300              // events per snapshot page
	liveMinPoll     = 50 * time.Millisecond
	liveMaxLine     = 4 << 20 // longest SSE line read
)

func cliLive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cc := newCLIFlags("live")
	refreshMS := fs.Int("refresh-ms", state.DefaultRefreshMs, "redraw and polling interval in milliseconds (> 0)")
	failedOnly := fs.Bool("failed-only", false, "show only requests and proxies with status >= 400 and failed scenario steps")
	fs.Bool("no-color", false, "accepted for compatibility (the output has no colors)")
	pos, err := parseCLIFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		cliHelp(fs, "", stdout)
		return err
	}
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return Usagef("%s: unexpected argument %q", fs.Name(), pos[0])
	}
	if *refreshMS <= 0 {
		fmt.Fprintln(stderr, "ownhttp: --refresh-ms must be > 0")
		return exitFailure
	}
	api, err := newCLIClient(cc.server, cc.token, cc.insecure, cc.timeout, cc.timeout)
	if err != nil {
		return err
	}
	stream, _ := newCLIClient(cc.server, cc.token, cc.insecure, 0, cc.timeout)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	refresh := time.Duration(*refreshMS) * time.Millisecond
	items := make(chan liveItem, 256) // the feeder blocks when full: the stream backs up to the server
	feed := &liveFeed{stream: stream, api: api, refresh: max(refresh, liveMinPoll), out: items}
	go feed.run(ctx)

	board := newLiveBoard(*failedOnly)
	board.server = api.baseString()
	tty := isTerminal(stdout)
	var redraw <-chan time.Time
	var summaries chan string
	if tty {
		t := time.NewTicker(refresh)
		defer t.Stop()
		redraw = t.C
		summaries = make(chan string, 1)
		go pollSummary(ctx, api, board.own, summaries)
	}
	dirty := true
	for {
		select {
		case it, ok := <-items:
			if !ok {
				return nil // ctx ended
			}
			if it.fatal != nil {
				cancel()
				var se *apiStatusError
				if errors.As(it.fatal, &se) {
					return reportAPIError(stderr, se.status, se.body)
				}
				return api.reportRequestError(stderr, it.fatal)
			}
			line := board.apply(it)
			if it.notice != "" {
				if tty {
					board.status = it.notice
				} else {
					fmt.Fprintln(stderr, "ownhttp: "+it.notice)
				}
			}
			switch {
			case tty:
			case cc.json && (it.ev != nil || it.gap != nil):
				writeLiveJSON(stdout, it) // NDJSON: every event as it came, filters aside
			case line != "":
				fmt.Fprintln(stdout, line)
			}
			dirty = true
		case s := <-summaries:
			board.summary, dirty = s, true
		case <-redraw:
			if dirty {
				io.WriteString(stdout, "\x1b[H\x1b[2J"+board.render())
				dirty = false
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// writeLiveJSON writes an event envelope (or a gap as {"type":"stream.gap",…}) on one line.
func writeLiveJSON(w io.Writer, it liveItem) {
	var v any = it.ev
	if it.gap != nil {
		v = map[string]any{"type": "stream.gap", "overflowed": true, "oldest_id": it.gap.OldestID, "latest_id": it.gap.LatestID}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	w.Write(append(b, '\n'))
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// liveItem is what the feeder hands the view: one event, a gap, a notice, or a fatal error.
type liveItem struct {
	ev     *state.Event
	gap    *liveGap
	notice string
	mode   string // "stream" or "polling" when the source changes
	fatal  error
}

type liveGap struct {
	OldestID uint64 `json:"oldest_id"`
	LatestID uint64 `json:"latest_id"`
}

// apiStatusError is an error answer of the server.
type apiStatusError struct {
	status int
	body   []byte
}

func (e *apiStatusError) Error() string {
	return "server answered " + strconv.Itoa(e.status) + " " + http.StatusText(e.status)
}

// liveFeed reads events from the server and sends them, in order, on out. It runs on its own
// goroutine (run) and owns the cursor; it stops when ctx ends and then closes out.
type liveFeed struct {
	stream  *cliClient // no overall timeout: the stream lasts
	api     *cliClient
	refresh time.Duration
	cursor  uint64 // id of the last event handed on
	epoch   uint64 // the server's start epoch the cursor belongs to; 0 while unknown
	out     chan<- liveItem
}

// restartedNotice is shown when the server restarted since the cursor's event.
const restartedNotice = "the server restarted: its events from the start"

// send hands an item on; false when ctx ended.
func (f *liveFeed) send(ctx context.Context, it liveItem) bool {
	select {
	case f.out <- it:
		return true
	case <-ctx.Done():
		return false
	}
}

func (f *liveFeed) run(ctx context.Context) {
	defer close(f.out)
	connected := false // the stream worked at least once
	for ctx.Err() == nil {
		ok, err := f.streamOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if ok {
			connected = true
			if !pause(ctx, time.Second) { // the stream ended (a drain, a restart): reopen it
				return
			}
			continue
		}
		if !connected && unreachable(err) {
			f.send(ctx, liveItem{fatal: err})
			return
		}
		msg := "event stream unavailable (" + errText(err) + "); polling /api/events/snapshot every " + f.refresh.String()
		if !f.send(ctx, liveItem{notice: msg, mode: "polling"}) {
			return
		}
		break
	}
	polled, failing := false, false
	for ctx.Err() == nil {
		more, err := f.pollOnce(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !polled && !connected {
				f.send(ctx, liveItem{fatal: err})
				return
			}
			if !failing && !f.send(ctx, liveItem{notice: "polling failed: " + errText(err) + " (retrying)"}) {
				return
			}
			failing = true
			if !pause(ctx, max(f.refresh, time.Second)) {
				return
			}
			continue
		}
		if failing && !f.send(ctx, liveItem{notice: "polling again"}) {
			return
		}
		polled, failing = true, false
		if !more && !pause(ctx, f.refresh) {
			return
		}
	}
}

// errText is a short description of a feed error.
func errText(err error) string {
	var se *apiStatusError
	if errors.As(err, &se) {
		return se.Error()
	}
	if err == nil {
		return "no error"
	}
	return rootCause(err)
}

// pause waits d; false when ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// streamOnce reads the SSE stream from the cursor until it ends. ok reports that the stream
// was opened (200 text/event-stream); err says why it could not be, or why it ended.
func (f *liveFeed) streamOnce(ctx context.Context) (ok bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := http.Header{"Accept": {"text/event-stream"}, "Cache-Control": {"no-cache"}}
	if f.cursor > 0 {
		h.Set("Last-Event-ID", state.SSEEventID(f.epoch, f.cursor))
	}
	req, err := f.stream.newRequest(sctx, "GET", "/api/events/stream?topics="+url.QueryEscape(liveTopics), h, nil)
	if err != nil {
		return false, err
	}
	resp, err := f.stream.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return false, &apiStatusError{status: resp.StatusCode, body: b}
	}
	if !f.send(ctx, liveItem{mode: "stream"}) {
		return true, ctx.Err()
	}
	idle := time.AfterFunc(liveIdleTimeout, cancel)
	defer idle.Stop()
	frames := sse.NewReader(resp.Body, liveMaxLine)
	for {
		fr, err := frames.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return true, err
		}
		idle.Reset(liveIdleTimeout)
		if fr.Data == "" {
			continue // comments (": heartbeat") and retry carry nothing to show
		}
		if fr.Event == "stream.restarted" {
			var r struct {
				Epoch uint64 `json:"epoch"`
			}
			_ = json.Unmarshal([]byte(fr.Data), &r)
			f.cursor, f.epoch = 0, r.Epoch
			if !f.send(ctx, liveItem{notice: restartedNotice}) {
				return true, ctx.Err()
			}
			continue
		}
		if it, good := sseItem(fr.ID, fr.Event, fr.Data); good {
			if it.ev != nil {
				f.cursor = it.ev.ID
				if epoch, _, hasEpoch, ok := state.ParseSSEEventID(fr.ID); ok && hasEpoch {
					f.epoch = epoch
				}
			}
			if !f.send(ctx, it) {
				return true, ctx.Err()
			}
		}
	}
}

// sseItem decodes one SSE frame: an event envelope, or a stream.gap.
func sseItem(id, typ, data string) (liveItem, bool) {
	if typ == "stream.gap" {
		var g liveGap
		if json.Unmarshal([]byte(data), &g) != nil {
			return liveItem{}, false
		}
		return liveItem{gap: &g}, true
	}
	var ev state.Event
	if json.Unmarshal([]byte(data), &ev) != nil || ev.Type == "" {
		return liveItem{}, false
	}
	if ev.ID == 0 {
		_, ev.ID, _, _ = state.ParseSSEEventID(id)
	}
	return liveItem{ev: &ev}, true
}

// pollOnce reads one snapshot page after the cursor; more reports that another page waits.
func (f *liveFeed) pollOnce(ctx context.Context) (more bool, err error) {
	target := "/api/events/snapshot?since_id=" + strconv.FormatUint(f.cursor, 10) +
		"&limit=" + strconv.Itoa(liveSnapLimit) + "&topics=" + url.QueryEscape(liveTopics)
	if f.epoch != 0 {
		target += "&epoch=" + strconv.FormatUint(f.epoch, 10)
	}
	status, body, err := f.api.api(ctx, "GET", target, nil)
	if err != nil {
		return false, err
	}
	if status != 200 {
		return false, &apiStatusError{status: status, body: body}
	}
	var page state.EventPage
	if err := json.Unmarshal(body, &page); err != nil {
		return false, fmt.Errorf("snapshot: %v", err)
	}
	if page.Epoch != 0 {
		f.epoch = page.Epoch
	}
	if page.Restarted {
		f.cursor = 0 // another epoch: the page holds the new server's events from its start
		if !f.send(ctx, liveItem{notice: restartedNotice}) {
			return false, ctx.Err()
		}
	} else if f.cursor > page.LatestID {
		f.cursor = 0 // the server restarted: its ids began again
		return true, nil
	}
	if page.Overflowed {
		if !f.send(ctx, liveItem{gap: &liveGap{OldestID: page.OldestID, LatestID: page.LatestID}}) {
			return false, ctx.Err()
		}
	}
	for i := range page.Events {
		ev := page.Events[i]
		f.cursor = ev.ID
		if !f.send(ctx, liveItem{ev: &ev}) {
			return false, ctx.Err()
		}
	}
	if !page.HasMore {
		f.cursor = max(f.cursor, page.LatestID)
	}
	return page.HasMore, nil
}

// ownTraces remembers the trace ids of the view's own /_metrics requests, so that their
// request.completed events stay off the screen. Safe for concurrent use; bounded.
type ownTraces struct {
	mu  sync.Mutex
	ids []string // the newest last; at most 64
}

func (o *ownTraces) add(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ids) == 64 {
		o.ids = append(o.ids[:0], o.ids[1:]...)
	}
	o.ids = append(o.ids, id)
}

func (o *ownTraces) has(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, x := range o.ids {
		if x == id {
			return true
		}
	}
	return false
}

// pollSummary fetches /_metrics once a second and sends the summary line (dropped when the
// view has not taken the previous one). It stops when ctx ends.
func pollSummary(ctx context.Context, api *cliClient, own *ownTraces, out chan<- string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s := "requests=? p99=?ms open=? drain=?"
		req, err := api.newRequest(ctx, "GET", "/_metrics", nil, nil)
		if err == nil {
			var resp *http.Response
			var body []byte
			resp, body, err = api.do(req)
			if err == nil {
				own.add(resp.Header.Get("X-Request-ID"))
				var m struct {
					Total uint64  `json:"total_requests"`
					P99   float64 `json:"latency_p99_ms"`
					Open  int64   `json:"open_connections"`
					Drain string  `json:"drain_state"`
				}
				if json.Unmarshal(body, &m) == nil {
					s = fmt.Sprintf("requests=%d p99=%sms open=%d drain=%s", m.Total, pyFloat(m.P99), m.Open, m.Drain)
				}
			}
		}
		select {
		case out <- s:
		default:
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// liveBoard is the view's state. Owned by the view's goroutine.
type liveBoard struct {
	server     string
	failedOnly bool
	mode       string
	cursor     uint64
	summary    string
	status     string
	requests   []liveRow
	timeline   []liveRow
	proxies    []liveRow
	health     map[string]string
	healthTS   string
	own        *ownTraces
}

func newLiveBoard(failedOnly bool) *liveBoard {
	return &liveBoard{failedOnly: failedOnly, mode: "connecting", summary: "requests=? p99=?ms open=? drain=?",
		own: &ownTraces{}}
}

// livePayload holds the payload fields the view shows, of every event type.
type livePayload struct {
	Method        string          `json:"method"`
	Path          string          `json:"path"`
	Status        json.RawMessage `json:"status"` // an int (requests, proxies) or "pass"/"fail"
	LatencyMS     *float64        `json:"latency_ms"`
	ScenarioID    string          `json:"scenario_id"`
	StepID        string          `json:"step_id"`
	RunID         string          `json:"run_id"`
	TargetID      string          `json:"target_id"`
	FailureReason string          `json:"failure_reason"`
}

// apply records an item and returns its one-line form for the plain output ("" for none).
func (b *liveBoard) apply(it liveItem) string {
	if it.mode != "" {
		b.mode = it.mode
	}
	if it.gap != nil {
		return fmt.Sprintf("gap: events were lost (oldest_id=%d latest_id=%d)", it.gap.OldestID, it.gap.LatestID)
	}
	ev := it.ev
	if ev == nil {
		return ""
	}
	b.cursor = max(b.cursor, ev.ID)
	var p livePayload
	decoded := json.Unmarshal(ev.Payload, &p) == nil
	status := strings.Trim(string(p.Status), `"`)
	code, _ := strconv.Atoi(status)
	prefix := "#" + strconv.FormatUint(ev.ID, 10) + " "
	switch {
	case !decoded:
		return prefix + "event " + ev.Type + " " + string(ev.Payload)
	case ev.Type == state.EventRequestCompleted:
		if b.own.has(ev.TraceID) || b.failedOnly && code < 400 {
			return ""
		}
		lat := ""
		if p.LatencyMS != nil {
			lat = " lat=" + pyFloat(*p.LatencyMS) + "ms"
		}
		row := fmt.Sprintf("%s %s %s%s trace=%s", status, p.Method, p.Path, lat, ev.TraceID)
		b.requests = pushRow(b.requests, liveRow{trace: ev.TraceID, text: row})
		return prefix + "request " + row
	case ev.Type == "proxy.request.completed":
		if b.failedOnly && code < 400 {
			return ""
		}
		row := fmt.Sprintf("%s %s %s target=%s trace=%s", status, p.Method, p.Path, p.TargetID, ev.TraceID)
		b.proxies = pushRow(b.proxies, liveRow{trace: ev.TraceID, text: row})
		return prefix + "proxy " + row
	case strings.HasPrefix(ev.Type, "scenario."):
		if b.failedOnly && status != state.StatusFail {
			return ""
		}
		row := ev.Type + " scenario=" + p.ScenarioID
		for _, kv := range [][2]string{{"step", p.StepID}, {"run", p.RunID}, {"status", status}, {"reason", p.FailureReason}} {
			if kv[1] != "" {
				row += " " + kv[0] + "=" + kv[1]
			}
		}
		b.timeline = pushRow(b.timeline, liveRow{trace: ev.TraceID, text: row})
		return prefix + "scenario " + row
	case ev.Type == state.EventSystemHealth:
		var m map[string]any
		json.Unmarshal(ev.Payload, &m)
		b.health = make(map[string]string, len(m))
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			v := fmt.Sprint(m[k])
			b.health[k] = v
			parts = append(parts, k+"="+v)
		}
		b.healthTS = ev.TS
		return prefix + "health " + strings.Join(parts, " ") + " ts=" + ev.TS
	default:
		return prefix + "event " + ev.Type + " " + string(ev.Payload)
	}
}

// liveRow is one row of a section and the trace id of its event.
type liveRow struct{ trace, text string }

// pushRow appends a row, keeping the last liveRows.
func pushRow(rows []liveRow, row liveRow) []liveRow {
	if len(rows) == liveRows {
		rows = append(rows[:0], rows[1:]...)
	}
	return append(rows, row)
}

// render draws the screen (spec §5.5): header, summary, and the four sections, newest rows
// first.
func (b *liveBoard) render() string {
	var sb strings.Builder
	on := "off"
	if b.failedOnly {
		on = "on"
	}
	fmt.Fprintf(&sb, "Live Ops | %s cursor=%d failed_only=%s source=%s (Ctrl+C to stop)\n", b.server, b.cursor, on, b.mode)
	fmt.Fprintf(&sb, "Summary | %s\n", b.summary)
	if b.status != "" {
		fmt.Fprintf(&sb, "Note | %s\n", b.status)
	}
	// section shows the newest rows first. A row of the view's own /_metrics polls is left
	// out here too: its event may arrive before the poll's answer has named its trace id.
	section := func(title string, rows []liveRow) {
		fmt.Fprintf(&sb, "\n%s\n", title)
		n := 0
		for i := len(rows) - 1; i >= 0 && n < liveShownRows; i-- {
			if rows[i].trace != "" && b.own.has(rows[i].trace) {
				continue
			}
			sb.WriteString("  " + rows[i].text + "\n")
			n++
		}
		if n == 0 {
			sb.WriteString("  (none)\n")
		}
	}
	section("Recent Requests", b.requests)
	section("Scenario Timeline", b.timeline)
	section("Proxy Activity", b.proxies)
	keys := slices.Sorted(maps.Keys(b.health))
	var health []liveRow // section() shows the last row first
	if b.healthTS != "" {
		health = append(health, liveRow{text: "ts: " + b.healthTS})
	}
	for i := len(keys) - 1; i >= 0; i-- {
		health = append(health, liveRow{text: keys[i] + ": " + b.health[keys[i]]})
	}
	section("Health", health)
	return sb.String()
}
