package features

import (
	"context"
	"encoding/json"
	"net/url"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"ownhttp/conn"
	"ownhttp/proto"
	"ownhttp/state"
)

// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) out: history and scenario runs
// as archives other tools read (browsers' devtools, playwright's routeFromHAR, proxies).
// Only what the format requires and what we know is written; sizes we do not know are -1,
// as the format asks. Our own facts go in "_ownhttp" objects (the format's custom fields).

type harDoc struct {
	Log harLog `json:"log"`
}

type harLog struct {
	Version string     `json:"version"`
	Creator harCreator `json:"creator"`
	Pages   []struct{} `json:"pages"`
	Entries []harEntry `json:"entries"`
}

type harCreator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type harEntry struct {
	StartedDateTime string      `json:"startedDateTime"`
	Time            float64     `json:"time"`
	Request         harRequest  `json:"request"`
	Response        harResponse `json:"response"`
	Cache           struct{}    `json:"cache"`
	Timings         harTimings  `json:"timings"`
	Ownhttp         any         `json:"_ownhttp,omitempty"`
}

type harRequest struct {
	Method      string   `json:"method"`
	URL         string   `json:"url"`
	HTTPVersion string   `json:"httpVersion"`
	Cookies     []harNV  `json:"cookies"`
	Headers     []harNV  `json:"headers"`
	QueryString []harNV  `json:"queryString"`
	PostData    *harPost `json:"postData,omitempty"`
	HeadersSize int      `json:"headersSize"`
	BodySize    int      `json:"bodySize"`
	Comment     string   `json:"comment,omitempty"`
}

type harPost struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
}

type harResponse struct {
	Status      int        `json:"status"`
	StatusText  string     `json:"statusText"`
	HTTPVersion string     `json:"httpVersion"`
	Cookies     []harNV    `json:"cookies"`
	Headers     []harNV    `json:"headers"`
	Content     harContent `json:"content"`
	RedirectURL string     `json:"redirectURL"`
	HeadersSize int        `json:"headersSize"`
	BodySize    int        `json:"bodySize"`
	Comment     string     `json:"comment,omitempty"`
}

type harContent struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

type harTimings struct {
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

type harNV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// harVersion is the creator version HAR files name: the module's, "devel" from a checkout.
func harVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func newHAR(entries []harEntry) harDoc {
	if entries == nil {
		entries = []harEntry{}
	}
	return harDoc{Log: harLog{Version: "1.2", Creator: harCreator{Name: "ownhttp", Version: harVersion()},
		Pages: []struct{}{}, Entries: entries}}
}

// harHeaders lists a header map in a stable order (names as given).
func harHeaders(h map[string]string) []harNV {
	out := make([]harNV, 0, len(h))
	for k, v := range h {
		out = append(out, harNV{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// harQuery lists a raw target's query parameters in order.
func harQuery(target string) []harNV {
	out := []harNV{}
	_, q, ok := strings.Cut(target, "?")
	if !ok {
		return out
	}
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, harNV{Name: k, Value: v})
	}
	return out
}

// headerValue finds a header by name, case-insensitively.
func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// harMS is a duration in milliseconds as HAR writes it (three decimals).
func harMS(ms float64) float64 { return state.RoundMS(ms) }

// historyHAREntry turns one history entry into a HAR entry; base is this server's URL, for
// requests whose Host is unknown.
func historyHAREntry(e *state.HistoryEntry, base string) harEntry {
	started := e.StartedAt
	if started == "" {
		started = e.TS
	}
	he := harEntry{StartedDateTime: started, Time: harMS(e.LatencyMS),
		Timings: harTimings{Wait: harMS(e.LatencyMS)}}
	req := harRequest{Method: e.Method, HTTPVersion: "HTTP/1.1", Cookies: []harNV{}, Headers: []harNV{},
		QueryString: []harNV{}, HeadersSize: -1, BodySize: -1}
	target := e.Path
	if ri := e.ReplayInput; ri != nil {
		target = ri.RawTarget
		if ri.HTTPVersion != "" {
			req.HTTPVersion = ri.HTTPVersion
		}
		req.Headers = harHeaders(ri.Headers)
		req.BodySize = len(ri.Body)
		if ri.Body != "" {
			req.PostData = &harPost{MimeType: headerValue(ri.Headers, "content-type"), Text: ri.Body}
		}
		if host := headerValue(ri.Headers, "host"); host != "" {
			if u, err := url.Parse(base); err == nil {
				base = u.Scheme + "://" + host
			}
		}
	} else {
		req.Comment = "the request's head and body were not kept (see replay_input)"
	}
	req.URL = strings.TrimSuffix(base, "/") + target
	req.QueryString = harQuery(target)
	he.Request = req
	resp := harResponse{Status: e.Status, StatusText: proto.StatusText(e.Status), HTTPVersion: "HTTP/1.1",
		Cookies: []harNV{}, Headers: []harNV{}, HeadersSize: -1, BodySize: -1,
		Content: harContent{Size: -1, MimeType: "x-unknown"}}
	if r := e.Response; r != nil {
		resp.Headers = harHeaders(r.Headers)
		resp.Content = harContent{Size: r.BodyBytes, MimeType: headerValue(r.Headers, "content-type"), Text: r.Body}
		if r.BodyBase64 != "" {
			resp.Content.Text, resp.Content.Encoding = r.BodyBase64, "base64"
		}
		if resp.Content.MimeType == "" {
			resp.Content.MimeType = "x-unknown"
		}
		if r.BodyTruncated {
			resp.Content.Comment = "the body was cut at --max-history-body-bytes"
		}
		resp.BodySize = r.BodyBytes
		if loc := headerValue(r.Headers, "location"); loc != "" {
			resp.RedirectURL = loc
		}
	} else {
		resp.Comment = "the response was not kept"
	}
	he.Response = resp
	he.Ownhttp = historyHARExtra{RequestID: e.RequestID, RunID: e.RunID, StepID: e.StepID, Fault: e.Fault,
		BodyTruncated: e.Response != nil && e.Response.BodyTruncated}
	return he
}

// historyHARExtra is a history entry's _ownhttp object.
type historyHARExtra struct {
	RequestID     string `json:"request_id"`
	RunID         string `json:"run_id,omitempty"`
	StepID        string `json:"step_id,omitempty"`
	Fault         string `json:"fault,omitempty"`
	BodyTruncated bool   `json:"body_truncated,omitempty"`
}

// selfBase is this server's own base URL, or a loopback one before it listens.
func (a *App) selfBase() string {
	if a.cfg.SelfURL != nil {
		return a.cfg.SelfURL()
	}
	return "http://127.0.0.1"
}

// answerHistoryHAR answers the filtered history h as a HAR 1.2 archive.
func (a *App) answerHistoryHAR(r *conn.Reply, h []state.HistoryEntry) {
	base := a.selfBase()
	entries := make([]harEntry, len(h))
	for i := range h {
		entries[i] = historyHAREntry(&h[i], base)
	}
	answerHAR(r, newHAR(entries), "history.har")
}

// answerHAR sends doc with the HAR media type and a file name to save it under.
func answerHAR(r *conn.Reply, doc harDoc, name string) {
	b, err := json.Marshal(doc)
	if err != nil {
		answerErr(r, err)
		return
	}
	r.Status = 200
	r.Header("Content-Type", "application/json")
	r.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	r.Body = b
}

// runHARExtra is a scenario step's _ownhttp object: the run, the step, the seed, its
// chaos (and what the client observed) and its assertions.
type runHARExtra struct {
	RunID         string                  `json:"run_id"`
	ScenarioID    string                  `json:"scenario_id"`
	StepID        string                  `json:"step_id"`
	Seed          int64                   `json:"seed"`
	Status        string                  `json:"status"`
	TraceID       string                  `json:"trace_id,omitempty"`
	ChaosApplied  bool                    `json:"chaos_applied"`
	Chaos         *state.ChaosReport      `json:"chaos,omitempty"`
	Assertions    []state.AssertionResult `json:"assertions"`
	FailureReason state.OptString         `json:"failure_reason"`
}

// runHAR turns a run report into a HAR archive: one entry per step, its request as the
// step sent it (to this server, or to its target's base URL) and the response the step
// saw.
func (a *App) runHAR(st *state.Actor, run state.RunReport) harDoc {
	base := a.selfBase()
	targets := st.TargetSnapshot()
	started, _ := time.Parse(time.RFC3339Nano, run.StartedAt)
	at := started
	entries := make([]harEntry, 0, len(run.StepResults))
	for _, s := range run.StepResults {
		b := base
		if s.Request.TargetID != "" && s.Request.TargetID != state.LocalTarget {
			if t, ok := targets.Target(s.Request.TargetID); ok {
				b = t.BaseURL
			}
		}
		req := harRequest{Method: s.Request.Method, URL: strings.TrimSuffix(b, "/") + s.Request.Path,
			HTTPVersion: "HTTP/1.1", Cookies: []harNV{}, Headers: harHeaders(s.Request.Headers),
			QueryString: []harNV{}, HeadersSize: -1, BodySize: len(s.Request.Body)}
		if s.Request.Body != "" {
			req.PostData = &harPost{MimeType: headerValue(s.Request.Headers, "content-type"), Text: s.Request.Body}
		}
		mime := headerValue(s.Response.Headers, "content-type")
		if mime == "" {
			mime = "x-unknown"
		}
		resp := harResponse{Status: s.Response.Status, StatusText: proto.StatusText(s.Response.Status),
			HTTPVersion: "HTTP/1.1", Cookies: []harNV{}, Headers: harHeaders(s.Response.Headers),
			Content:     harContent{Size: len(s.Response.Body), MimeType: mime, Text: s.Response.Body},
			HeadersSize: -1, BodySize: len(s.Response.Body)}
		entries = append(entries, harEntry{
			StartedDateTime: at.UTC().Format(startedLayout), Time: harMS(s.LatencyMS),
			Request: req, Response: resp, Timings: harTimings{Wait: harMS(s.LatencyMS)},
			Ownhttp: runHARExtra{RunID: run.RunID, ScenarioID: run.ScenarioID, StepID: s.StepID, Seed: run.Seed,
				Status: s.Status, TraceID: s.TraceID, ChaosApplied: s.ChaosApplied, Chaos: s.Chaos,
				Assertions: s.Assertions, FailureReason: s.FailureReason},
		})
		at = at.Add(time.Duration(s.LatencyMS * float64(time.Millisecond)))
	}
	return newHAR(entries)
}

// startedLayout is HAR's startedDateTime form (ISO 8601 with milliseconds).
const startedLayout = "2006-01-02T15:04:05.000Z"

// curlFor renders a history entry's request as a curl command line (POSIX shell quoting).
// Fields history redacted are left out, and a comment line says which.
func curlFor(e *state.HistoryEntry, base string) string {
	ri := e.ReplayInput
	if ri == nil {
		return "# the request of " + e.RequestID + " was not kept whole (its body was over the history limit)\n"
	}
	host := headerValue(ri.Headers, "host")
	if host != "" {
		if u, err := url.Parse(base); err == nil {
			base = u.Scheme + "://" + host
		}
	}
	var b strings.Builder
	var omitted []string
	names := make([]string, 0, len(ri.Headers))
	for k := range ri.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	b.WriteString("curl")
	if ri.Method != "GET" || ri.Body != "" {
		b.WriteString(" -X " + shellQuote(ri.Method))
	}
	b.WriteString(" " + shellQuote(strings.TrimSuffix(base, "/")+ri.RawTarget))
	for _, k := range names {
		v := ri.Headers[k]
		switch {
		case k == "host" || k == "content-length" || k == "transfer-encoding" || k == "connection":
			continue // curl sends its own
		case v == state.Redacted:
			omitted = append(omitted, k)
			continue
		}
		b.WriteString(" -H " + shellQuote(k+": "+v))
	}
	if ri.Body != "" {
		b.WriteString(" --data-binary " + shellQuote(ri.Body))
	}
	b.WriteString("\n")
	if len(omitted) > 0 {
		return "# redacted in history, add your own: " + strings.Join(omitted, ", ") + "\n" + b.String()
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell: single quotes, a quote inside as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// historyGet is GET /api/history/{id}: 200 {"entry":{…}} for the entry with that request id;
// ?format=curl answers its request as a curl command (text/plain) and ?format=har as a HAR
// archive of that one entry. 404 not_found when history holds no such entry; 400
// invalid_request for another format.
func (a *App) historyGet(x *conn.Exchange, p *params) {
	id := string(p[0])
	format := queryValue(x.Req.Query, "format")
	if format != "" && format != "json" && format != "curl" && format != "har" {
		writeErr(x, invalidRequest("format must be json, curl or har"))
		return
	}
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		h, err := st.History(ctx, state.HistoryFilter{})
		if err != nil {
			answerErr(r, err)
			return
		}
		for i := len(h) - 1; i >= 0; i-- {
			if h[i].RequestID != id {
				continue
			}
			switch format {
			case "curl":
				r.Text(200, "text/plain; charset=utf-8", []byte(curlFor(&h[i], a.selfBase())))
			case "har":
				a.answerHistoryHAR(r, h[i:i+1])
			default:
				answerJSON(r, 200, struct {
					Entry state.HistoryEntry `json:"entry"`
				}{h[i]})
			}
			return
		}
		answerErr(r, labErr(state.KindNotFound, state.CodeNotFound, "no history entry "+strconv.Quote(id)))
	})
}
