package mock

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// Decision is what a Plan decided for one hit: a delay before the response and at most one
// fault with its parameters. It is a small value; the zero Decision (apart from Hit) means
// "answer normally, at once".
type Decision struct {
	Hit   uint64        // the hit it was decided for, counted from 1
	Delay time.Duration // wait this long before answering (microsecond resolution, ≤ MaxDelayMS)
	Fault FaultKind     // FaultNone: no fault
	Index int           // the fault's position in Plan.Faults; -1 when Fault is FaultNone
	// Params are the fault's parameters (copied from the plan; only those of Fault are
	// meaningful).
	Params FaultParams

	key uint64 // seeds GarbageBytes
}

// Counter-based generator streams: each draw of a decision has its own stream index, so a
// draw never depends on any other draw or on the order of hits. Fault i draws from streams
// 2+2i and 3+2i, so appending a fault to a plan never changes when the faults before it fire.
const (
	streamLatency = 0
	streamFault   = 2 // + 2i: fault i's probability draw; + 2i + 1: its garbage key
)

// planMix is splitmix64's finalizer: a bijection on uint64 with full avalanche.
func planMix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// planFNV is FNV-64a of s, without allocating.
func planFNV(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// planDraw is the counter-based generator: 64 random bits that are a pure function of
// (seed, the mock id's hash, hit, stream).
func planDraw(seed, id, hit, stream uint64) uint64 {
	h := planMix(seed ^ 0x9e3779b97f4a7c15)
	h = planMix(h ^ id)
	h = planMix(h ^ hit)
	return planMix(h ^ (stream*0xd1b54a32d192ed03 + 0x632be59bd9b4e019))
}

// StreamTemplate is the generator stream of a template's random values (HitSeed); plans
// use 0 and 2 up.
const StreamTemplate = 1

// HitSeed is the counter-based generator every seeded decision draws from: 64 random bits
// that are a pure function of (seed, id, hit, stream), whatever order hits come in. The
// seed of hit n of a templated mock is HitSeed(seed, its id, n, StreamTemplate); a Plan's
// draws come from the other streams.
func HitSeed(seed uint64, id string, hit, stream uint64) uint64 {
	return planDraw(seed, planFNV(id), hit, stream)
}

// planUnit maps 64 random bits to a uniform float in the open interval (0, 1).
func planUnit(x uint64) float64 {
	return (float64(x>>11) + 0.5) / (1 << 53)
}

// Decide decides hit (the mock's hit count, from 1, as its counter reads after the
// increment) of the mock (or target) mockID under seed; sinceFirstMS is the time since
// the mock's first hit, read by the caller (0 for the first hit). It is a pure function of
// its arguments: the same inputs give the same Decision, whatever order hits are decided
// in. It does not allocate. A nil or zero plan decides no delay and no fault.
//
// The delay is sampled from the latency by inverse transform of one uniform draw. The
// fault is the first one listed whose window admits the hit and whose probability draw
// succeeds (each fault draws independently, so a later fault fires only on hits where no
// earlier one did).
func (p *Plan) Decide(seed uint64, mockID string, hit uint64, sinceFirstMS int64) Decision {
	d := Decision{Hit: hit, Index: -1}
	if p == nil {
		return d
	}
	id := planFNV(mockID)
	if p.Latency.Kind != LatencyNone {
		ms := p.Latency.Quantile(planUnit(planDraw(seed, id, hit, streamLatency)))
		d.Delay = time.Duration(math.Round(ms*1e3)) * time.Microsecond
	}
	for i := range p.Faults {
		f := &p.Faults[i]
		if !f.Window.holds(hit, sinceFirstMS) {
			continue
		}
		s := uint64(streamFault + 2*i)
		if f.Probability < 1 && planUnit(planDraw(seed, id, hit, s)) >= f.Probability {
			continue
		}
		d.Fault, d.Index, d.Params = f.Kind, i, f.Params
		if f.Kind == FaultGarbage {
			d.key = planDraw(seed, id, hit, s+1)
		}
		break
	}
	return d
}

// MaxPreview bounds Preview's n.
const MaxPreview = 10_000

// Preview decides hits 1..n (n at most MaxPreview) as if they all arrived at once
// (sinceFirstMS 0, so during_ms windows admit them all); PreviewSpaced spaces them.
func (p *Plan) Preview(seed uint64, mockID string, n int) []Decision {
	return p.PreviewSpaced(seed, mockID, n, 0)
}

// PreviewSpaced decides hits 1..n (n at most MaxPreview) as if hit k arrived (k-1)·intervalMS
// after the first.
func (p *Plan) PreviewSpaced(seed uint64, mockID string, n int, intervalMS int64) []Decision {
	n = min(max(n, 0), MaxPreview)
	out := make([]Decision, n)
	for k := range out {
		out[k] = p.Decide(seed, mockID, uint64(k+1), int64(k)*intervalMS)
	}
	return out
}

// GarbageBytes appends the garbage fault's bytes to dst and returns it: d.Params.Bytes
// random bytes that are a pure function of the decision's (seed, mock id, hit). For any
// other fault it returns dst unchanged.
func (d Decision) GarbageBytes(dst []byte) []byte {
	if d.Fault != FaultGarbage {
		return dst
	}
	n := int(d.Params.Bytes)
	dst = slices.Grow(dst, n)
	for i := uint64(0); n > 0; i++ {
		x := planMix(d.key + i*0x9e3779b97f4a7c15)
		for j := 0; j < 8 && n > 0; j++ {
			dst = append(dst, byte(x))
			x >>= 8
			n--
		}
	}
	return dst
}

// MarshalJSON renders the decision for previews:
//
//	{"hit":3,"delay_ms":41.372,"fault":{"index":0,"kind":"reset","after_bytes":512}}
//
// with "fault" null when there is none.
func (d Decision) MarshalJSON() ([]byte, error) { return d.AppendJSON(nil), nil }

// AppendJSON appends the decision's JSON (see MarshalJSON) to b.
func (d Decision) AppendJSON(b []byte) []byte {
	b = append(b, `{"hit":`...)
	b = strconv.AppendUint(b, d.Hit, 10)
	b = append(b, `,"delay_ms":`...)
	b = strconv.AppendFloat(b, float64(d.Delay)/float64(time.Millisecond), 'f', -1, 64)
	b = append(b, `,"fault":`...)
	if d.Fault == FaultNone {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(d.Index), 10)
		b = append(b, `,"kind":"`...)
		b = append(b, d.Fault.String()...)
		b = append(b, '"')
		b = appendParams(b, d.Fault, &d.Params)
		b = append(b, '}')
	}
	return append(b, '}')
}

// ---- distributions ----

// Quantile is the latency's quantile function in ms: the delay at cumulative probability u
// in (0, 1), clamped to [0, MaxDelayMS]. Sampling it at a uniform u draws from the
// distribution.
//
// Percentiles are fitted piecewise in z = Φ⁻¹(u), log-linearly: ln Q is linear in z
// through (z(0.5), ln p50), (z(0.95), ln p95) and (z(0.99), ln p99), so the three
// percentiles hold exactly. Below p95 that is the lognormal with median p50 and
// sigma ln(p95/p50)/z(0.95) (its lower tail falls toward 0 as a lognormal's does); above
// p99 the p95→p99 slope continues, capped at PercentileTailCap·p99.
func (l Latency) Quantile(u float64) float64 {
	var ms float64
	switch l.Kind {
	case LatencyFixed:
		ms = l.FixedMS
	case LatencyUniform:
		ms = l.MinMS + u*(l.MaxMS-l.MinMS)
	case LatencyLognormal:
		ms = l.MedianMS * math.Exp(l.Sigma*NormalQuantile(u))
	case LatencyPercentiles:
		z := NormalQuantile(u)
		lo, hi := math.Log(l.P50), math.Log(l.P95)
		z0, z1 := 0.0, z95
		if z > z95 {
			lo, hi = hi, math.Log(l.P99)
			z0, z1 = z95, z99
		}
		ms = math.Exp(lo + (z-z0)*(hi-lo)/(z1-z0))
		ms = min(ms, PercentileTailCap*l.P99)
	}
	if !(ms >= 0) { // also NaN
		return 0
	}
	return min(ms, MaxDelayMS)
}

// PercentileTailCap bounds a percentiles latency's tail: no delay exceeds this many times p99.
const PercentileTailCap = 3.0

// z95 and z99 are Φ⁻¹(0.95) and Φ⁻¹(0.99).
const (
	z95 = 1.6448536269514722
	z99 = 2.3263478740408408
)

// NormalQuantile is Φ⁻¹, the standard normal quantile function, for p in (0, 1), by
// Acklam's rational approximation (relative error below 1.2e-9) refined by one Halley
// step against math.Erfc. It returns ∓Inf at 0 and 1 and NaN outside [0, 1].
func NormalQuantile(p float64) float64 {
	const (
		a1, a2, a3, a4, a5, a6 = -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00
		b1, b2, b3, b4, b5     = -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01
		c1, c2, c3, c4, c5, c6 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00
		d1, d2, d3, d4         = 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00
		pLow                   = 0.02425
	)
	switch {
	case math.IsNaN(p) || p < 0 || p > 1:
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	case p > 0.5:
		return -NormalQuantile(1 - p) // 1 − p is exact here; the lower tail is the accurate side
	}
	var x float64
	switch {
	case p < pLow:
		q := math.Sqrt(-2 * math.Log(p))
		x = (((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	default:
		q := p - 0.5
		r := q * q
		x = (((((a1*r+a2)*r+a3)*r+a4)*r+a5)*r + a6) * q / (((((b1*r+b2)*r+b3)*r+b4)*r+b5)*r + 1)
	}
	// One Halley step: e is Φ(x) − p.
	e := 0.5*math.Erfc(-x/math.Sqrt2) - p
	u := e * math.Sqrt(2*math.Pi) * math.Exp(x*x/2)
	return x - u/(1+x*u/2)
}
