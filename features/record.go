package features

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"ownhttp/conn"
	"ownhttp/state"
)

// Record mode (#17). While a target records, a request that no route and no mock answers is
// proxied to the target (proxyDo: the SSRF guard, the target's timeout and its wire plan
// apply) and its answer goes back to the client. Each such exchange is an ordinary history
// entry tagged with the recording's id; stopping the recording turns those entries into mocks
// with the importer's inference (mocksFromHistory), so record mode and
// POST /api/mocks/from-history are one path.
//
// One recording runs at a time per server: with two, which target an unmatched request goes
// to would be a guess.

// recording is an active record-mode session. Immutable once published.
type recording struct {
	ID        string    `json:"id"`
	TargetID  string    `json:"target_id"`
	StartedAt string    `json:"started_at"`
	started   time.Time // for the status's duration
}

// recorder holds the server's active recording; nil when none. Read on the event loop
// (fallback) without a lock; written by the record routes with compare-and-swap.
type recorder struct{ active atomic.Pointer[recording] }

const (
	codeRecordingActive = "recording_active"
	codeNotRecording    = "not_recording"
)

type recordingBody struct {
	Recording *recordingView `json:"recording"`
}

type recordingView struct {
	recording
	// Exchanges counts the history entries the recording has proxied so far (entries the
	// history ring has dropped since are not counted).
	Exchanges int `json:"exchanges"`
}

// recordStart is POST /api/targets/{id}/record: the target starts recording. 201 with
// {"recording":{id,target_id,started_at,exchanges}}; 404 target_not_found; 409
// target_disabled; 409 recording_active when a recording runs already (its target named).
func (a *App) recordStart(x *conn.Exchange, p *params) {
	st := a.cfg.State
	if st == nil {
		writeErr(x, labErr(state.KindUnavailable, state.CodeUnavailable, "the state service is not running"))
		return
	}
	t, ok := st.TargetSnapshot().Target(string(p[0]))
	if !ok {
		writeErr(x, labErr(state.KindNotFound, state.CodeTargetNotFound, "target not found"))
		return
	}
	if !t.Enabled {
		writeErr(x, labErr(state.KindConflict, codeTargetDisabled, "target is disabled"))
		return
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	now := time.Now().UTC()
	rec := &recording{ID: "rec-" + hex.EncodeToString(id[:]), TargetID: t.ID, StartedAt: state.FormatTime(now), started: now}
	if !a.recorder.active.CompareAndSwap(nil, rec) {
		cur := a.recorder.active.Load()
		writeErr(x, labErr(state.KindConflict, codeRecordingActive,
			"target "+cur.TargetID+" is recording already (recording "+cur.ID+"); stop it first"))
		return
	}
	writeJSON(x, 201, recordingBody{Recording: &recordingView{recording: *rec}})
}

// recordStatus is GET /api/targets/{id}/record: {"recording":{…}} while that target records,
// else {"recording":null}.
func (a *App) recordStatus(x *conn.Exchange, p *params) {
	rec := a.recorder.active.Load()
	if rec == nil || rec.TargetID != string(p[0]) {
		writeJSON(x, 200, recordingBody{})
		return
	}
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		h, err := st.History(ctx, state.HistoryFilter{Recording: rec.ID})
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, recordingBody{Recording: &recordingView{recording: *rec, Exchanges: len(h)}})
	})
}

// recordStop is DELETE /api/targets/{id}/record[?discard=true][&dry_run=true]: the recording
// stops, and its exchanges become mocks as POST /api/mocks/from-history makes them (the
// same report: 201 when mocks were created, 200 for a dry run or when there was nothing to
// make). With discard=true nothing is made. 409 not_recording when the target does not record.
// A dry run previews without stopping.
func (a *App) recordStop(x *conn.Exchange, p *params) {
	flags, err := queryFlags(x.Req.Query, "discard", "dry_run", "partial")
	if err != nil {
		writeErr(x, err)
		return
	}
	rec := a.recorder.active.Load()
	if rec == nil || rec.TargetID != string(p[0]) {
		writeErr(x, labErr(state.KindConflict, codeNotRecording, "target "+string(p[0])+" is not recording"))
		return
	}
	if !flags["dry_run"] && !a.recorder.active.CompareAndSwap(rec, nil) {
		writeErr(x, labErr(state.KindConflict, codeNotRecording, "the recording was stopped by another request"))
		return
	}
	if flags["discard"] {
		writeJSON(x, 200, recordingBody{Recording: &recordingView{recording: *rec}})
		return
	}
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		h, err := st.History(ctx, state.HistoryFilter{Recording: rec.ID})
		if err != nil {
			answerErr(r, err)
			return
		}
		a.answerMocksFromHistory(ctx, r, st, "record", h, flags["dry_run"], flags["partial"])
	})
}

// recordThrough sends x to the recording target when a recording runs, and reports whether
// it did. The answer is the target's status, fields (hop-by-hop ones and those this server
// writes itself — Date, Server, X-Request-ID — dropped) and body; a
// body cut at --max-proxy-body-bytes is refused with 502 rather than passed on short.
func (a *App) recordThrough(x *conn.Exchange) bool {
	rec := a.recorder.active.Load()
	st := a.cfg.State
	if rec == nil || st == nil || fromSelf(x) {
		return false
	}
	t, ok := st.TargetSnapshot().Target(rec.TargetID)
	if !ok {
		return false
	}
	x.Route, x.Tags.Recording = "record", rec.ID
	method, target := x.Req.Method.String(), string(x.Req.Target)
	if x.Req.Path != nil && len(x.Req.Target) > 0 && x.Req.Target[0] != '/' {
		target = string(x.Req.Path) // absolute-form: the path (and query) only
		if x.Req.Query != nil {
			target += "?" + string(x.Req.Query)
		}
	}
	header := make(http.Header, len(x.Req.Headers))
	for _, h := range x.Req.Headers {
		header.Add(string(h.Name), string(h.Value))
	}
	body := append([]byte(nil), x.Body...)
	timeout := t.Timeout()
	deadline := x.Now.Add(timeout)
	connID, trace := x.ConnID, x.TraceHex()
	x.GoWithin(a.cfg.Outbound, deadline, func(r *conn.Reply) {
		defer a.targetWire(r, connID, trace, t, "record")
		ctx, cancel := context.WithDeadline(a.lifetime(), deadline)
		defer cancel()
		res, err := a.proxyDo(ctx, t, method, target, header, body, timeout)
		if err != nil && res.Failure == nil {
			answerErr(r, err)
			return
		}
		if res.Truncated {
			answerErr(r, labErr(state.KindUpstream, codeProxyError,
				"the target's answer is longer than --max-proxy-body-bytes; it is not passed on cut"))
			return
		}
		for name, values := range res.Header {
			switch lower := strings.ToLower(name); {
			case hopByHop(lower), lower == "date", lower == "server", lower == "x-request-id":
				continue // framing, and the fields this server writes itself (once)
			}
			for _, v := range values {
				if validHeaderValue(v) {
					r.Header(name, v)
				}
			}
		}
		r.Status, r.Body = res.Status, res.Body
	}, func(r *conn.Reply) {
		answerErr(r, labErr(state.KindTimeout, codeProxyTimeout, "no outbound worker was free within "+timeout.String()))
	})
	return true
}

// queryFlags reads a query string that may hold only the boolean parameters names
// ("true"/"false"/"1"/"0"; a bare name is true). Anything else is a 400 naming it.
func queryFlags(raw []byte, names ...string) (map[string]bool, error) {
	q, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, invalidRequest("the query string is malformed")
	}
	flags := make(map[string]bool, len(names))
	for name, values := range q {
		if !slices.Contains(names, name) {
			return nil, invalidRequest("unknown query parameter " + strconv.Quote(name) + " (allowed: " + strings.Join(names, ", ") + ")")
		}
		switch values[len(values)-1] {
		case "", "true", "1":
			flags[name] = true
		case "false", "0":
		default:
			return nil, invalidRequest(name + " must be true or false")
		}
	}
	return flags, nil
}
