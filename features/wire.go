package features

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"ownhttp/conn"
	"ownhttp/mock"
	"ownhttp/state"
)

// EventFaultInjected is published for each delay and fault a mock's or target's wire plan
// injects (faultEvent).
const EventFaultInjected = "fault.injected"

// faultEvent is the payload of fault.injected: what injected it (source "mock" or
// "target" and its id), the hit it was decided for, the kind ("latency" for a delay, else
// the fault's kind), where it happened (the connection and the byte of the response at
// which the fault acts, see conn.Wire.Injected) and the decision's parameters.
type faultEvent struct {
	Source       string          `json:"source"`
	ID           string          `json:"id"`
	Route        string          `json:"route"`
	Kind         string          `json:"kind"`
	Hit          uint64          `json:"hit"`
	Seed         int64           `json:"seed"`
	ConnectionID uint64          `json:"connection_id"`
	ByteOffset   int64           `json:"byte_offset"`
	DelayMS      float64         `json:"delay_ms"`
	Decision     json.RawMessage `json:"decision"`
}

// wireFor is the conn.Wire that carries out decision d, or nil when it asks for nothing.
func wireFor(d mock.Decision) *conn.Wire {
	if d.Delay <= 0 && d.Fault == mock.FaultNone {
		return nil
	}
	w := &conn.Wire{Delay: max(d.Delay, 0), Fault: d.Fault.String()}
	p := &d.Params
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	switch d.Fault {
	case mock.FaultReset:
		w.Reset, w.ResetAfter = true, p.AfterBytes
	case mock.FaultEmpty:
		w.Replace = true
	case mock.FaultGarbage:
		w.Replace, w.Bytes = true, d.GarbageBytes(nil)
	case mock.FaultContentLength:
		w.LengthDelta, w.Close = p.Delta, true
	case mock.FaultChunkLie:
		w.Chunked, w.LengthDelta, w.Close = true, p.Delta, true
	case mock.FaultNoLastChunk:
		w.Chunked, w.NoLastChunk, w.Close = true, true, true
	case mock.FaultBadChunkSyntax:
		w.Chunked, w.BadChunkSize, w.Close = true, true, true
	case mock.FaultDrip:
		w.BodyPace = conn.Pace{Bytes: int(p.ChunkBytes), Gap: ms(p.EveryMS)}
		w.Chunked = p.Chunked != 0
	case mock.FaultBandwidth:
		w.BodyPace = conn.BandwidthPace(p.BytesPerSecond)
		w.Chunked = p.Chunked != 0
	case mock.FaultSlowHead:
		w.HeadPace = conn.Pace{Bytes: int(p.ChunkBytes), Gap: ms(p.EveryMS)}
	case mock.FaultHang:
		w.Replace, w.Hang = true, ms(p.MaxMS)
	case mock.FaultKeepAlivePoison:
		w.Close = true
	case mock.FaultInterim:
		w.Interim, w.InterimStatus = int(p.Count), int(p.Status)
	}
	return w
}

// wireSource names what a wire plan belongs to, for events and metrics.
type wireSource struct {
	kind  string // "mock" or "target"
	id    string
	route string
	seed  int64
}

// applyWire makes x's reply carry out decision d: it sets r.Wire, and once the reply
// completes each delay and fault is counted and published as fault.injected. r is x's
// reply, or the reply of work x handed off.
func (a *App) applyWire(r *conn.Reply, connID uint64, trace string, src wireSource, d mock.Decision) {
	w := wireFor(d)
	if w == nil {
		return
	}
	st := a.cfg.State
	w.Injected = func(offset int64) {
		ev := faultEvent{Source: src.kind, ID: src.id, Route: src.route, Hit: d.Hit, Seed: src.seed,
			ConnectionID: connID, DelayMS: float64(d.Delay) / float64(time.Millisecond),
			Decision: d.AppendJSON(nil)}
		if d.Delay > 0 {
			ev.Kind = "latency"
			a.metrics.CountFault(src.kind, src.id, ev.Kind)
			if st != nil {
				st.Publish(EventFaultInjected, trace, ev)
			}
		}
		if d.Fault != mock.FaultNone {
			ev.Kind, ev.ByteOffset = d.Fault.String(), offset
			a.metrics.CountFault(src.kind, src.id, ev.Kind)
			if st != nil {
				st.Publish(EventFaultInjected, trace, ev)
			}
		}
	}
	r.Wire = w
}

// mockWire applies m's wire plan to x's reply for hit (see state.Mock.Decide).
func (a *App) mockWire(x *conn.Exchange, snap *state.Snapshot, m *state.Mock, hit uint64, sinceFirstMS int64) {
	seed := snap.Seed()
	if m.Seed != nil {
		seed = *m.Seed
	}
	d := m.Decide(snap.Seed(), hit, sinceFirstMS)
	a.applyWire(&x.Reply, x.ConnID, x.TraceHex(), wireSource{kind: "mock", id: m.ID, route: m.RouteKey, seed: seed}, d)
}

// previewLimit bounds GET …/faults?n=.
const previewLimit = mock.MaxPreview

// parsePreview reads ?seed=S&n=N&interval_ms=T of a preview request: seed defaults to
// def, n to 100 (1..previewLimit), interval_ms to 0. The error names the parameter.
func parsePreview(q func(string) (string, bool), def int64) (seed int64, n int, intervalMS int64, bad string) {
	seed, n = def, 100
	if v, ok := q("seed"); ok {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, 0, "seed must be an integer"
		}
		seed = s
	}
	if v, ok := q("n"); ok {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > previewLimit {
			return 0, 0, 0, "n must be an integer from 1 to " + strconv.Itoa(previewLimit)
		}
		n = k
	}
	if v, ok := q("interval_ms"); ok {
		t, err := strconv.ParseInt(v, 10, 64)
		if err != nil || t < 0 || t > mock.MaxWindowMS {
			return 0, 0, 0, "interval_ms must be an integer from 0 to " + strconv.Itoa(mock.MaxWindowMS)
		}
		intervalMS = t
	}
	return seed, n, intervalMS, ""
}

// faultPreview is the body of GET /api/mocks/{id}/faults: the decisions for hits 1..n under
// seed (hit k taken to arrive (k-1)·interval_ms after the first), and a summary.
type faultPreview struct {
	MockID     string            `json:"mock_id"`
	Seed       int64             `json:"seed"`
	N          int               `json:"n"`
	IntervalMS int64             `json:"interval_ms"`
	Latency    json.RawMessage   `json:"latency"`
	Faults     json.RawMessage   `json:"faults"`
	Summary    previewSummary    `json:"summary"`
	Decisions  []json.RawMessage `json:"decisions"`
}

// previewSummary counts the preview's faults by kind and gives its delays' percentiles.
type previewSummary struct {
	Faulted      int            `json:"faulted"`
	FaultsByKind map[string]int `json:"faults_by_kind"`
	DelayMS      struct {
		P50 float64 `json:"p50"`
		P95 float64 `json:"p95"`
		P99 float64 `json:"p99"`
		Max float64 `json:"max"`
	} `json:"delay_ms"`
}

// mockFaults is GET /api/mocks/{id}/faults?seed=S&n=N&interval_ms=T: which of hits 1..N
// the mock's wire plan delays or faults, and how, under seed S (default: the mock's seed,
// else the server's) — exactly what serving those hits will do. 404 not_found for an
// unknown mock; 400 invalid_request naming a bad parameter. A mock without a plan previews
// n hits with no delay and no fault.
func (a *App) mockFaults(x *conn.Exchange, p *params) {
	st := a.cfg.State
	if st == nil {
		a.withState(x, nil)
		return
	}
	snap := st.Snapshot()
	m, ok := snap.MockByID(string(p[0]))
	if !ok {
		answerErr(&x.Reply, labErr(state.KindNotFound, state.CodeNotFound, "mock not found"))
		return
	}
	def := snap.Seed()
	if m.Seed != nil {
		def = *m.Seed
	}
	raw := x.Req.Query
	seed, n, interval, bad := parsePreview(func(name string) (string, bool) {
		q, err := url.ParseQuery(string(raw))
		if err != nil || !q.Has(name) {
			return "", false
		}
		return q.Get(name), true
	}, def)
	if bad != "" {
		answerErr(&x.Reply, invalidRequest(bad))
		return
	}
	out := faultPreview{MockID: m.ID, Seed: seed, N: n, IntervalMS: interval,
		Latency: m.Plan.LatencyJSON(), Faults: m.Plan.FaultsJSON(), Decisions: make([]json.RawMessage, n)}
	out.Summary.FaultsByKind = map[string]int{}
	delays := make([]float64, n)
	for k, d := range m.Plan.PreviewSpaced(uint64(seed), m.ID, n, interval) {
		out.Decisions[k] = d.AppendJSON(nil)
		delays[k] = float64(d.Delay) / float64(time.Millisecond)
		if d.Fault != mock.FaultNone {
			out.Summary.Faulted++
			out.Summary.FaultsByKind[d.Fault.String()]++
		}
	}
	slices.Sort(delays)
	rank := func(p float64) float64 { return delays[min(int(math.Ceil(p*float64(n)))-1, n-1)] }
	out.Summary.DelayMS.P50, out.Summary.DelayMS.P95, out.Summary.DelayMS.P99 = rank(0.50), rank(0.95), rank(0.99)
	out.Summary.DelayMS.Max = delays[n-1]
	writeJSON(x, 200, out)
}

// targetWire applies t's wire plan, if any, to r: the answer the proxy's client (route
// "POST /api/proxy/request") or a recording's client (route "record") receives for one
// request to t (a hit of t's, decided under the server's seed).
func (a *App) targetWire(r *conn.Reply, connID uint64, trace string, t *state.Target, route string) {
	st := a.cfg.State
	if t.Plan == nil || st == nil {
		return
	}
	seed := st.Snapshot().Seed()
	hit, sinceFirst := t.Hit(time.Now())
	a.applyWire(r, connID, trace, wireSource{kind: "target", id: t.ID, route: route, seed: seed},
		t.Decide(seed, hit, sinceFirst))
}

// chaosTicketHeader carries a scenario step's wire chaos ticket on its request to self.
const (
	chaosTicketHeader      = "X-Ownhttp-Chaos-Ticket"
	chaosTicketHeaderLower = "x-ownhttp-chaos-ticket"
)

// chaosTickets hold the wire faults scenario runs decided for their local steps, until the
// step's own request arrives and takes its ticket (once). A ticket is 128 random bits
// known only to the run that made it and to this server, so nothing outside the run can
// make the server misbehave. The runner removes a ticket its request never took.
type chaosTickets struct{ m sync.Map } // ticket → chaosTicket

type chaosTicket struct {
	d   mock.Decision
	src wireSource
}

// issue files decision d for one request and returns its ticket.
func (t *chaosTickets) issue(d mock.Decision, src wireSource) string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand never fails (Go 1.24)
	id := hex.EncodeToString(b[:])
	t.m.Store(id, chaosTicket{d: d, src: src})
	return id
}

// take removes and returns the ticket's decision.
func (t *chaosTickets) take(id []byte) (chaosTicket, bool) {
	v, ok := t.m.LoadAndDelete(string(id))
	if !ok {
		return chaosTicket{}, false
	}
	return v.(chaosTicket), true
}

// drop forgets a ticket (its request failed before reaching the server, or did not take it).
func (t *chaosTickets) drop(id string) { t.m.Delete(id) }

// applyChaosTicket makes x's answer carry out the wire fault its ticket names, if it
// carries a valid one: whatever route or mock answers, this request misbehaves as the run
// decided (a mock's own plan does not apply to it).
func (a *App) applyChaosTicket(x *conn.Exchange) {
	id := x.Req.Header(chaosTicketHeaderLower)
	if id == nil {
		return
	}
	if t, ok := a.tickets.take(id); ok {
		a.applyWire(&x.Reply, x.ConnID, x.TraceHex(), t.src, t.d)
	}
}

// clientErrorText says what went wrong with a request to self the way a client saw it,
// without the addresses net/http puts in its errors (the port changes from run to run, and
// a report must not): "read: connection reset by peer", "EOF", "net/http: … malformed
// HTTP response …".
func clientErrorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}
