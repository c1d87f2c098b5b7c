package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A Plan is the wire behaviour of a mock (or a proxied target): a latency distribution and
// a list of protocol faults, each with a probability and at most one window. It is the
// decision layer only: Decide says, for one hit, how long to wait and which fault (if any)
// to inject; conn carries it out. A Plan is immutable once decoded and safe for concurrent
// use. The JSON form DecodePlan reads and MarshalJSON writes:
//
//	{"latency": <latency>,
//	 "faults":  [<fault>, …]}            (both optional; at most MaxPlanFaults faults)
//
// A latency is exactly one of (all times in milliseconds, JSON numbers, fractions allowed,
// each at most MaxDelayMS; sampled delays are clamped to MaxDelayMS):
//
//	{"fixed_ms": 20}                                    0 ≤ fixed_ms
//	{"uniform": {"min_ms": 10, "max_ms": 50}}           0 ≤ min_ms ≤ max_ms
//	{"lognormal": {"median_ms": 40, "sigma": 0.5}}      0 < median_ms, 0 ≤ sigma ≤ MaxSigma
//	{"percentiles": {"p50": 40, "p95": 120, "p99": 300}} 0 < p50 ≤ p95 ≤ p99
//
// A fault is {"kind": <kind>, <parameters>…, "probability": p, <window>} with parameters
// (integers; a parameter the kind does not take is an unknown field):
//
//	reset            after_bytes  0..MaxFaultBytes, default 0 (RST before any byte)
//	empty            —            (close after reading the request, nothing sent)
//	garbage          bytes        1..MaxGarbageBytes, default 256 (seeded random bytes, then close)
//	content_length   delta        ±1..±MaxFaultBytes, required (declared length = real + delta)
//	chunk_lie        delta        ±1..±MaxFaultBytes, required (declared chunk size = real + delta)
//	no_last_chunk    —
//	bad_chunk_syntax —
//	drip             chunk_bytes  1..MaxFaultBytes, default 1; every_ms 1..MaxDelayMS, default 100;
//	                 chunked      true or false, default false (the body chunked, a chunk per piece)
//	bandwidth        bytes_per_second 1..MaxFaultBytes, required; chunked as for drip
//	slow_head        chunk_bytes  1..MaxFaultBytes, default 1; every_ms 1..MaxDelayMS, default 100
//	hang             max_ms       1..MaxDelayMS, default 30000
//	keepalive_poison —            (close after the response without Connection: close)
//	interim          count        1..MaxInterim, default 1; status 100..199 except 101, default 103
//
// probability is 0..1, default 1. A window is at most one of (hits count from 1):
//
//	"first": N       hits 1..N                          1 ≤ N ≤ MaxWindowHits
//	"after": N       hits N+1, N+2, …                   1 ≤ N ≤ MaxWindowHits
//	"every": N       hits N, 2N, 3N, …                  1 ≤ N ≤ MaxWindowHits
//	"during_ms": T   while 0 ≤ time since the first hit < T ms   1 ≤ T ≤ MaxWindowMS
//
// No window means every hit.
type Plan struct {
	Latency Latency
	Faults  []Fault
}

// Bounds a Plan is validated against.
const (
	MaxDelayMS      = 60_000     // any delay, gap or hang, in ms; sampled latencies are clamped here
	MaxSigma        = 3.0        // lognormal sigma
	MaxFaultBytes   = 1 << 30    // byte offsets, deltas, chunk sizes and bytes per second
	MaxGarbageBytes = 1 << 20    // garbage bytes
	MaxInterim      = 10         // interim responses before the final one
	MaxWindowHits   = 1e12       // first, after, every
	MaxWindowMS     = 86_400_000 // during_ms (one day)
	MaxPlanFaults   = 32         // faults in one plan
)

// LatencyKind says which distribution a Latency samples.
type LatencyKind uint8

// Latency kinds; LatencyNone (the zero value) adds no delay.
const (
	LatencyNone LatencyKind = iota
	LatencyFixed
	LatencyUniform
	LatencyLognormal
	LatencyPercentiles
)

// Latency is a delay distribution. Only the fields of its Kind are meaningful.
type Latency struct {
	Kind          LatencyKind
	FixedMS       float64 // LatencyFixed
	MinMS, MaxMS  float64 // LatencyUniform
	MedianMS      float64 // LatencyLognormal
	Sigma         float64 // LatencyLognormal
	P50, P95, P99 float64 // LatencyPercentiles, ms
}

// FaultKind names a protocol fault.
type FaultKind uint8

// Fault kinds; FaultNone (the zero value) is no fault.
const (
	FaultNone FaultKind = iota
	FaultReset
	FaultEmpty
	FaultGarbage
	FaultContentLength
	FaultChunkLie
	FaultNoLastChunk
	FaultBadChunkSyntax
	FaultDrip
	FaultBandwidth
	FaultSlowHead
	FaultHang
	FaultKeepAlivePoison
	FaultInterim
)

var faultNames = [...]string{
	FaultNone:            "",
	FaultReset:           "reset",
	FaultEmpty:           "empty",
	FaultGarbage:         "garbage",
	FaultContentLength:   "content_length",
	FaultChunkLie:        "chunk_lie",
	FaultNoLastChunk:     "no_last_chunk",
	FaultBadChunkSyntax:  "bad_chunk_syntax",
	FaultDrip:            "drip",
	FaultBandwidth:       "bandwidth",
	FaultSlowHead:        "slow_head",
	FaultHang:            "hang",
	FaultKeepAlivePoison: "keepalive_poison",
	FaultInterim:         "interim",
}

// String is the kind's JSON name ("" for FaultNone).
func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// FaultParams are a fault's parameters; only those of its kind are meaningful (see Plan).
// Sizes are in bytes, times in milliseconds.
type FaultParams struct {
	AfterBytes     int64 // reset
	Bytes          int64 // garbage
	Delta          int64 // content_length, chunk_lie
	ChunkBytes     int64 // drip, slow_head
	EveryMS        int64 // drip, slow_head
	BytesPerSecond int64 // bandwidth
	MaxMS          int64 // hang
	Count          int64 // interim
	Status         int64 // interim
	Chunked        int64 // drip, bandwidth: 1 sends the body chunked, one chunk per piece
}

// WindowKind says which hits a Window admits.
type WindowKind uint8

// Window kinds; WindowAlways (the zero value) admits every hit.
const (
	WindowAlways WindowKind = iota
	WindowFirst
	WindowAfter
	WindowEvery
	WindowDuring
)

// Window limits the hits a fault may fire on: N is the hit count of first/after/every, or
// the milliseconds of during_ms.
type Window struct {
	Kind WindowKind
	N    int64
}

// holds reports whether the window admits hit (counted from 1) at sinceFirstMS.
func (w Window) holds(hit uint64, sinceFirstMS int64) bool {
	n := uint64(w.N)
	switch w.Kind {
	case WindowFirst:
		return hit <= n
	case WindowAfter:
		return hit > n
	case WindowEvery:
		return n > 0 && hit%n == 0
	case WindowDuring:
		return sinceFirstMS >= 0 && sinceFirstMS < w.N
	}
	return true
}

// Fault is one entry of a plan's fault list.
type Fault struct {
	Kind        FaultKind
	Params      FaultParams
	Probability float64 // 0..1
	Window      Window
}

// IsZero reports whether the plan does nothing: no latency and no faults. A nil plan is zero.
func (p *Plan) IsZero() bool {
	return p == nil || (p.Latency.Kind == LatencyNone && len(p.Faults) == 0)
}

// ---- decoding ----

// DecodePlan decodes a plan object (see Plan), named where in errors ("wire"). Every error
// is a *FieldError naming the field ("wire.faults[1].after_bytes"); an unknown key is one.
// JSON null and {} decode to a zero plan.
func DecodePlan(raw json.RawMessage, field string) (*Plan, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return &Plan{}, nil
	}
	obj, err := object(raw, field)
	if err != nil {
		return nil, err
	}
	if err := planKnown(obj, field, "latency", "faults"); err != nil {
		return nil, err
	}
	return decodePlanParts(obj["latency"], obj["faults"], field+".")
}

// DecodePlanParts decodes a plan given as two fields of an enclosing object, as mocks and
// targets hold it: "latency" and "faults" (either nil when absent; JSON null is absent too).
// Errors are *FieldErrors named from those fields ("faults[1].after_bytes").
func DecodePlanParts(latency, faults json.RawMessage) (*Plan, error) {
	return decodePlanParts(latency, faults, "")
}

func decodePlanParts(latency, faults json.RawMessage, prefix string) (*Plan, error) {
	var err error
	p := &Plan{}
	if v := latency; v != nil && string(bytes.TrimSpace(v)) != "null" {
		if p.Latency, err = decodeLatency(v, prefix+"latency"); err != nil {
			return nil, err
		}
	}
	if v := faults; v != nil && string(bytes.TrimSpace(v)) != "null" {
		f := prefix + "faults"
		var items []json.RawMessage
		t := bytes.TrimSpace(v)
		if len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
			return nil, fieldErr(f, "must be an array")
		}
		if len(items) > MaxPlanFaults {
			return nil, fieldErr(f, "holds %d faults; at most %d", len(items), MaxPlanFaults)
		}
		for i, item := range items {
			ft, err := decodeFault(item, fmt.Sprintf("%s[%d]", f, i))
			if err != nil {
				return nil, err
			}
			p.Faults = append(p.Faults, ft)
		}
	}
	return p, nil
}

// planKnown refuses a key of obj not in keys, naming the first in sorted order.
func planKnown(obj map[string]json.RawMessage, field string, keys ...string) error {
	var unknown []string
	for k := range obj {
		if !slices.Contains(keys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fieldErr(field+"."+unknown[0], "unknown field (want one of %s)", strings.Join(keys, ", "))
}

// planNumber decodes a finite JSON number in [lo, hi].
func planNumber(raw json.RawMessage, field string, lo, hi float64) (float64, error) {
	var x float64
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) || json.Unmarshal(t, &x) != nil {
		return 0, fieldErr(field, "must be a number")
	}
	if math.IsNaN(x) || x < lo || x > hi {
		return 0, fieldErr(field, "must be between %s and %s", planFmt(lo), planFmt(hi))
	}
	return x, nil
}

// planInt decodes an integral JSON number in [lo, hi].
func planInt(raw json.RawMessage, field string, lo, hi int64) (int64, error) {
	x, err := planNumber(raw, field, float64(lo), float64(hi))
	if err != nil {
		return 0, err
	}
	if x != math.Trunc(x) {
		return 0, fieldErr(field, "must be an integer")
	}
	return int64(x), nil
}

func planFmt(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

var latencyKinds = []string{"fixed_ms", "uniform", "lognormal", "percentiles"}

func decodeLatency(raw json.RawMessage, field string) (Latency, error) {
	var l Latency
	obj, err := object(raw, field)
	if err != nil {
		return l, err
	}
	if err := planKnown(obj, field, latencyKinds...); err != nil {
		return l, err
	}
	if len(obj) != 1 {
		return l, fieldErr(field, "must hold exactly one of %s", strings.Join(latencyKinds, ", "))
	}
	switch {
	case obj["fixed_ms"] != nil:
		l.Kind = LatencyFixed
		l.FixedMS, err = planNumber(obj["fixed_ms"], field+".fixed_ms", 0, MaxDelayMS)
		return l, err
	case obj["uniform"] != nil:
		f := field + ".uniform"
		m, err := planFields(obj["uniform"], f, []string{"min_ms", "max_ms"}, nil)
		if err != nil {
			return l, err
		}
		l.Kind = LatencyUniform
		if l.MinMS, err = planNumber(m["min_ms"], f+".min_ms", 0, MaxDelayMS); err != nil {
			return l, err
		}
		if l.MaxMS, err = planNumber(m["max_ms"], f+".max_ms", 0, MaxDelayMS); err != nil {
			return l, err
		}
		if l.MinMS > l.MaxMS {
			return l, fieldErr(f+".max_ms", "must be at least min_ms (%s)", planFmt(l.MinMS))
		}
		return l, nil
	case obj["lognormal"] != nil:
		f := field + ".lognormal"
		m, err := planFields(obj["lognormal"], f, []string{"median_ms", "sigma"}, nil)
		if err != nil {
			return l, err
		}
		l.Kind = LatencyLognormal
		if l.MedianMS, err = planNumber(m["median_ms"], f+".median_ms", 0, MaxDelayMS); err != nil {
			return l, err
		}
		if l.MedianMS == 0 {
			return l, fieldErr(f+".median_ms", "must be positive")
		}
		l.Sigma, err = planNumber(m["sigma"], f+".sigma", 0, MaxSigma)
		return l, err
	default:
		f := field + ".percentiles"
		m, err := planFields(obj["percentiles"], f, []string{"p50", "p95", "p99"}, nil)
		if err != nil {
			return l, err
		}
		l.Kind = LatencyPercentiles
		ps := []*float64{&l.P50, &l.P95, &l.P99}
		names := []string{"p50", "p95", "p99"}
		for i, name := range names {
			if *ps[i], err = planNumber(m[name], f+"."+name, 0, MaxDelayMS); err != nil {
				return l, err
			}
			if *ps[i] == 0 {
				return l, fieldErr(f+"."+name, "must be positive")
			}
			if i > 0 && *ps[i] < *ps[i-1] {
				return l, fieldErr(f+"."+name, "must be at least %s (%s)", names[i-1], planFmt(*ps[i-1]))
			}
		}
		return l, nil
	}
}

// planFields decodes an object holding every key of required, any of optional, no other.
func planFields(raw json.RawMessage, field string, required, optional []string) (map[string]json.RawMessage, error) {
	obj, err := object(raw, field)
	if err != nil {
		return nil, err
	}
	if err := planKnown(obj, field, slices.Concat(required, optional)...); err != nil {
		return nil, err
	}
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			return nil, fieldErr(field+"."+k, "is required")
		}
	}
	return obj, nil
}

// faultParam describes one parameter a fault kind takes.
type faultParam struct {
	name     string
	lo, hi   int64
	def      int64 // used when absent and not required
	required bool
	nonZero  bool
	boolean  bool // a JSON true or false, kept as 1 or 0
	at       func(*FaultParams) *int64
}

func pAfterBytes(p *FaultParams) *int64     { return &p.AfterBytes }
func pBytes(p *FaultParams) *int64          { return &p.Bytes }
func pDelta(p *FaultParams) *int64          { return &p.Delta }
func pChunkBytes(p *FaultParams) *int64     { return &p.ChunkBytes }
func pEveryMS(p *FaultParams) *int64        { return &p.EveryMS }
func pBytesPerSecond(p *FaultParams) *int64 { return &p.BytesPerSecond }
func pMaxMS(p *FaultParams) *int64          { return &p.MaxMS }
func pCount(p *FaultParams) *int64          { return &p.Count }
func pStatus(p *FaultParams) *int64         { return &p.Status }
func pChunked(p *FaultParams) *int64        { return &p.Chunked }

var (
	paramChunkBytes = faultParam{name: "chunk_bytes", lo: 1, hi: MaxFaultBytes, def: 1, at: pChunkBytes}
	paramEveryMS    = faultParam{name: "every_ms", lo: 1, hi: MaxDelayMS, def: 100, at: pEveryMS}
	paramDelta      = faultParam{name: "delta", lo: -MaxFaultBytes, hi: MaxFaultBytes, required: true, nonZero: true, at: pDelta}
	paramChunked    = faultParam{name: "chunked", boolean: true, at: pChunked}
)

// faultParams lists, per kind, the parameters it takes in canonical order.
var faultParams = [...][]faultParam{
	FaultReset:           {{name: "after_bytes", lo: 0, hi: MaxFaultBytes, at: pAfterBytes}},
	FaultGarbage:         {{name: "bytes", lo: 1, hi: MaxGarbageBytes, def: 256, at: pBytes}},
	FaultContentLength:   {paramDelta},
	FaultChunkLie:        {paramDelta},
	FaultDrip:            {paramChunkBytes, paramEveryMS, paramChunked},
	FaultBandwidth:       {{name: "bytes_per_second", lo: 1, hi: MaxFaultBytes, required: true, at: pBytesPerSecond}, paramChunked},
	FaultSlowHead:        {paramChunkBytes, paramEveryMS},
	FaultHang:            {{name: "max_ms", lo: 1, hi: MaxDelayMS, def: 30_000, at: pMaxMS}},
	FaultInterim:         {{name: "count", lo: 1, hi: MaxInterim, def: 1, at: pCount}, {name: "status", lo: 100, hi: 199, def: 103, at: pStatus}},
	FaultKeepAlivePoison: nil,
}

var windowNames = [...]string{WindowFirst: "first", WindowAfter: "after", WindowEvery: "every", WindowDuring: "during_ms"}

func decodeFault(raw json.RawMessage, field string) (Fault, error) {
	ft := Fault{Probability: 1}
	obj, err := object(raw, field)
	if err != nil {
		return ft, err
	}
	kraw, ok := obj["kind"]
	if !ok {
		return ft, fieldErr(field+".kind", "is required")
	}
	var name string
	if json.Unmarshal(kraw, &name) != nil {
		return ft, fieldErr(field+".kind", "must be a string")
	}
	for k := FaultReset; int(k) < len(faultNames); k++ {
		if faultNames[k] == name {
			ft.Kind = k
		}
	}
	if ft.Kind == FaultNone {
		return ft, fieldErr(field+".kind", "unknown fault kind %q (want one of %s)", name, strings.Join(faultNames[1:], ", "))
	}
	var params []faultParam
	if int(ft.Kind) < len(faultParams) {
		params = faultParams[ft.Kind]
	}
	keys := []string{"kind", "probability", "first", "after", "every", "during_ms"}
	for _, fp := range params {
		keys = append(keys, fp.name)
	}
	if err := planKnown(obj, field, keys...); err != nil {
		var fe *FieldError
		if ok := asFieldErr(err, &fe); ok {
			fe.Message = "unknown field for kind " + name
		}
		return ft, err
	}
	for _, fp := range params {
		f := field + "." + fp.name
		v, ok := obj[fp.name]
		if !ok {
			if fp.required {
				return ft, fieldErr(f, "is required for kind %s", name)
			}
			*fp.at(&ft.Params) = fp.def
			continue
		}
		if fp.boolean {
			var b bool
			if json.Unmarshal(v, &b) != nil {
				return ft, fieldErr(f, "must be true or false")
			}
			if b {
				*fp.at(&ft.Params) = 1
			}
			continue
		}
		x, err := planInt(v, f, fp.lo, fp.hi)
		if err != nil {
			return ft, err
		}
		if fp.nonZero && x == 0 {
			return ft, fieldErr(f, "must not be 0")
		}
		*fp.at(&ft.Params) = x
	}
	if ft.Kind == FaultInterim && ft.Params.Status == 101 {
		return ft, fieldErr(field+".status", "101 switches protocols; want another 1xx status")
	}
	if v, ok := obj["probability"]; ok {
		if ft.Probability, err = planNumber(v, field+".probability", 0, 1); err != nil {
			return ft, err
		}
	}
	for k := WindowFirst; int(k) < len(windowNames); k++ {
		v, ok := obj[windowNames[k]]
		if !ok {
			continue
		}
		f := field + "." + windowNames[k]
		if ft.Window.Kind != WindowAlways {
			return ft, fieldErr(f, "a fault has at most one window; it already has %s", windowNames[ft.Window.Kind])
		}
		hi := int64(MaxWindowHits)
		if k == WindowDuring {
			hi = MaxWindowMS
		}
		n, err := planInt(v, f, 1, hi)
		if err != nil {
			return ft, err
		}
		ft.Window = Window{Kind: k, N: n}
	}
	return ft, nil
}

func asFieldErr(err error, fe **FieldError) bool {
	e, ok := err.(*FieldError)
	if ok {
		*fe = e
	}
	return ok
}

// ---- canonical JSON ----

// MarshalJSON writes the plan in its canonical form: keys in the order Plan documents,
// every parameter explicit (defaults filled in), probability always present, the window
// only when there is one. DecodePlan of the output gives the same plan back.
func (p *Plan) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("null"), nil
	}
	return p.AppendJSON(nil), nil
}

// AppendJSON appends the plan's canonical JSON to b.
func (p *Plan) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	sep := false
	if p.Latency.Kind != LatencyNone {
		b = append(b, `"latency":`...)
		b = p.Latency.appendJSON(b)
		sep = true
	}
	if len(p.Faults) > 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"faults":`...)
		b = p.appendFaults(b)
	}
	return append(b, '}')
}

func (p *Plan) appendFaults(b []byte) []byte {
	b = append(b, '[')
	for i, f := range p.Faults {
		if i > 0 {
			b = append(b, ',')
		}
		b = f.appendJSON(b)
	}
	return append(b, ']')
}

// LatencyJSON is the canonical JSON of the plan's latency, nil when it has none: the
// "latency" field of an enclosing object (see DecodePlanParts).
func (p *Plan) LatencyJSON() json.RawMessage {
	if p == nil || p.Latency.Kind == LatencyNone {
		return nil
	}
	return p.Latency.appendJSON(nil)
}

// FaultsJSON is the canonical JSON of the plan's faults, nil when it has none: the
// "faults" field of an enclosing object.
func (p *Plan) FaultsJSON() json.RawMessage {
	if p == nil || len(p.Faults) == 0 {
		return nil
	}
	return p.appendFaults(nil)
}

func planAppendNum(b []byte, key string, x float64) []byte {
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}

func planAppendInt(b []byte, key string, x int64) []byte {
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, x, 10)
}

func (l Latency) appendJSON(b []byte) []byte {
	switch l.Kind {
	case LatencyFixed:
		b = append(b, '{')
		b = planAppendNum(b, "fixed_ms", l.FixedMS)
	case LatencyUniform:
		b = append(b, `{"uniform":{`...)
		b = planAppendNum(b, "min_ms", l.MinMS)
		b = append(b, ',')
		b = planAppendNum(b, "max_ms", l.MaxMS)
		b = append(b, '}')
	case LatencyLognormal:
		b = append(b, `{"lognormal":{`...)
		b = planAppendNum(b, "median_ms", l.MedianMS)
		b = append(b, ',')
		b = planAppendNum(b, "sigma", l.Sigma)
		b = append(b, '}')
	case LatencyPercentiles:
		b = append(b, `{"percentiles":{`...)
		b = planAppendNum(b, "p50", l.P50)
		b = append(b, ',')
		b = planAppendNum(b, "p95", l.P95)
		b = append(b, ',')
		b = planAppendNum(b, "p99", l.P99)
		b = append(b, '}')
	default:
		return append(b, "null"...)
	}
	return append(b, '}')
}

// appendParams appends `,"name":value` for each parameter of kind.
func appendParams(b []byte, kind FaultKind, ps *FaultParams) []byte {
	if int(kind) >= len(faultParams) {
		return b
	}
	for _, fp := range faultParams[kind] {
		b = append(b, ',')
		if fp.boolean {
			b = append(b, '"')
			b = append(b, fp.name...)
			b = append(b, `":`...)
			b = strconv.AppendBool(b, *fp.at(ps) != 0)
			continue
		}
		b = planAppendInt(b, fp.name, *fp.at(ps))
	}
	return b
}

func (f Fault) appendJSON(b []byte) []byte {
	b = append(b, `{"kind":"`...)
	b = append(b, f.Kind.String()...)
	b = append(b, '"')
	b = appendParams(b, f.Kind, &f.Params)
	b = append(b, ',')
	b = planAppendNum(b, "probability", f.Probability)
	if f.Window.Kind != WindowAlways && int(f.Window.Kind) < len(windowNames) {
		b = append(b, ',')
		b = planAppendInt(b, windowNames[f.Window.Kind], f.Window.N)
	}
	return append(b, '}')
}
