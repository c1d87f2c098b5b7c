package mock

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

func mustPlan(t testing.TB, src string) *Plan {
	t.Helper()
	p, err := DecodePlan(json.RawMessage(src), "wire")
	if err != nil {
		t.Fatalf("DecodePlan(%s): %v", src, err)
	}
	return p
}

// Every accepted plan re-encodes to its canonical form, which decodes to the same plan.
func TestDecodePlanCanonical(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{}`, `{}`},
		{`null`, `{}`},
		{`{"latency":{"fixed_ms":20}}`, `{"latency":{"fixed_ms":20}}`},
		{`{"latency":{"uniform":{"min_ms":10,"max_ms":50.5}}}`, `{"latency":{"uniform":{"min_ms":10,"max_ms":50.5}}}`},
		{`{"latency":{"lognormal":{"median_ms":40,"sigma":0.5}}}`, `{"latency":{"lognormal":{"median_ms":40,"sigma":0.5}}}`},
		{`{"latency":{"percentiles":{"p99":300,"p50":40,"p95":120}}}`, `{"latency":{"percentiles":{"p50":40,"p95":120,"p99":300}}}`},
		{`{"faults":[{"kind":"reset"}]}`, `{"faults":[{"kind":"reset","after_bytes":0,"probability":1}]}`},
		{`{"faults":[{"kind":"reset","after_bytes":512,"probability":0.1,"first":5}]}`,
			`{"faults":[{"kind":"reset","after_bytes":512,"probability":0.1,"first":5}]}`},
		{`{"faults":[{"kind":"empty","after":10}]}`, `{"faults":[{"kind":"empty","probability":1,"after":10}]}`},
		{`{"faults":[{"kind":"garbage","every":3}]}`, `{"faults":[{"kind":"garbage","bytes":256,"probability":1,"every":3}]}`},
		{`{"faults":[{"kind":"content_length","delta":-3,"during_ms":2000}]}`,
			`{"faults":[{"kind":"content_length","delta":-3,"probability":1,"during_ms":2000}]}`},
		{`{"faults":[{"kind":"chunk_lie","delta":4}]}`, `{"faults":[{"kind":"chunk_lie","delta":4,"probability":1}]}`},
		{`{"faults":[{"kind":"no_last_chunk"},{"kind":"bad_chunk_syntax"},{"kind":"keepalive_poison"}]}`,
			`{"faults":[{"kind":"no_last_chunk","probability":1},{"kind":"bad_chunk_syntax","probability":1},{"kind":"keepalive_poison","probability":1}]}`},
		{`{"faults":[{"kind":"drip"},{"kind":"slow_head","chunk_bytes":3,"every_ms":7}]}`,
			`{"faults":[{"kind":"drip","chunk_bytes":1,"every_ms":100,"chunked":false,"probability":1},{"kind":"slow_head","chunk_bytes":3,"every_ms":7,"probability":1}]}`},
		{`{"faults":[{"kind":"bandwidth","bytes_per_second":1024},{"kind":"hang"}]}`,
			`{"faults":[{"kind":"bandwidth","bytes_per_second":1024,"chunked":false,"probability":1},{"kind":"hang","max_ms":30000,"probability":1}]}`},
		{`{"faults":[{"kind":"drip","chunked":true,"every_ms":5}]}`,
			`{"faults":[{"kind":"drip","chunk_bytes":1,"every_ms":5,"chunked":true,"probability":1}]}`},
		{`{"faults":[{"kind":"interim"},{"kind":"interim","count":10,"status":100,"probability":0}]}`,
			`{"faults":[{"kind":"interim","count":1,"status":103,"probability":1},{"kind":"interim","count":10,"status":100,"probability":0}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			is := is.New(t)
			p := mustPlan(t, tt.src)
			out, err := json.Marshal(p)
			is.NoErr(err)
			is.Equal(string(out), tt.want)
			again := mustPlan(t, string(out))
			is.Equal(again, p)
		})
	}
}

// Each refused plan is a *FieldError naming the field.
func TestDecodePlanErrors(t *testing.T) {
	tests := []struct{ src, field, msg string }{
		{`[]`, "wire", "must be an object"},
		{`{"latencyy":{}}`, "wire.latencyy", "unknown field"},
		{`{"latency":5}`, "wire.latency", "must be an object"},
		{`{"latency":{}}`, "wire.latency", "exactly one"},
		{`{"latency":{"fixed_ms":1,"uniform":{}}}`, "wire.latency", "exactly one"},
		{`{"latency":{"gamma":{}}}`, "wire.latency.gamma", "unknown field"},
		{`{"latency":{"fixed_ms":-1}}`, "wire.latency.fixed_ms", "between 0 and 60000"},
		{`{"latency":{"fixed_ms":60001}}`, "wire.latency.fixed_ms", "between"},
		{`{"latency":{"fixed_ms":"5"}}`, "wire.latency.fixed_ms", "must be a number"},
		{`{"latency":{"uniform":{"min_ms":10}}}`, "wire.latency.uniform.max_ms", "is required"},
		{`{"latency":{"uniform":{"min_ms":10,"max_ms":5}}}`, "wire.latency.uniform.max_ms", "at least min_ms"},
		{`{"latency":{"uniform":{"min_ms":1,"max_ms":5,"mean":3}}}`, "wire.latency.uniform.mean", "unknown field"},
		{`{"latency":{"lognormal":{"median_ms":0,"sigma":1}}}`, "wire.latency.lognormal.median_ms", "positive"},
		{`{"latency":{"lognormal":{"median_ms":10,"sigma":4}}}`, "wire.latency.lognormal.sigma", "between 0 and 3"},
		{`{"latency":{"percentiles":{"p50":40,"p95":30,"p99":300}}}`, "wire.latency.percentiles.p95", "at least p50"},
		{`{"latency":{"percentiles":{"p50":40,"p95":130,"p99":120}}}`, "wire.latency.percentiles.p99", "at least p95"},
		{`{"latency":{"percentiles":{"p50":0,"p95":1,"p99":2}}}`, "wire.latency.percentiles.p50", "positive"},
		{`{"latency":{"percentiles":{"p50":1,"p95":2,"p99":70000}}}`, "wire.latency.percentiles.p99", "between"},
		{`{"faults":{}}`, "wire.faults", "must be an array"},
		{`{"faults":[{}]}`, "wire.faults[0].kind", "is required"},
		{`{"faults":[{"kind":5}]}`, "wire.faults[0].kind", "must be a string"},
		{`{"faults":[{"kind":"explode"}]}`, "wire.faults[0].kind", `unknown fault kind "explode"`},
		{`{"faults":[{"kind":"reset"},{"kind":"reset","bytes":3}]}`, "wire.faults[1].bytes", "unknown field for kind reset"},
		{`{"faults":[{"kind":"empty","after_bytes":3}]}`, "wire.faults[0].after_bytes", "unknown field for kind empty"},
		{`{"faults":[{"kind":"reset","after_bytes":-1}]}`, "wire.faults[0].after_bytes", "between 0 and"},
		{`{"faults":[{"kind":"reset","after_bytes":1.5}]}`, "wire.faults[0].after_bytes", "must be an integer"},
		{`{"faults":[{"kind":"garbage","bytes":0}]}`, "wire.faults[0].bytes", "between 1 and 1048576"},
		{`{"faults":[{"kind":"garbage","bytes":1048577}]}`, "wire.faults[0].bytes", "between 1 and 1048576"},
		{`{"faults":[{"kind":"content_length"}]}`, "wire.faults[0].delta", "is required"},
		{`{"faults":[{"kind":"content_length","delta":0}]}`, "wire.faults[0].delta", "must not be 0"},
		{`{"faults":[{"kind":"chunk_lie","delta":0}]}`, "wire.faults[0].delta", "must not be 0"},
		{`{"faults":[{"kind":"drip","every_ms":0}]}`, "wire.faults[0].every_ms", "between 1 and 60000"},
		{`{"faults":[{"kind":"drip","every_ms":60001}]}`, "wire.faults[0].every_ms", "between 1 and 60000"},
		{`{"faults":[{"kind":"slow_head","chunk_bytes":0}]}`, "wire.faults[0].chunk_bytes", "between 1"},
		{`{"faults":[{"kind":"drip","chunked":1}]}`, "wire.faults[0].chunked", "true or false"},
		{`{"faults":[{"kind":"reset","chunked":true}]}`, "wire.faults[0].chunked", "unknown field"},
		{`{"faults":[{"kind":"bandwidth"}]}`, "wire.faults[0].bytes_per_second", "is required"},
		{`{"faults":[{"kind":"hang","max_ms":60001}]}`, "wire.faults[0].max_ms", "between 1 and 60000"},
		{`{"faults":[{"kind":"interim","count":11}]}`, "wire.faults[0].count", "between 1 and 10"},
		{`{"faults":[{"kind":"interim","status":200}]}`, "wire.faults[0].status", "between 100 and 199"},
		{`{"faults":[{"kind":"interim","status":101}]}`, "wire.faults[0].status", "switches protocols"},
		{`{"faults":[{"kind":"reset","probability":1.01}]}`, "wire.faults[0].probability", "between 0 and 1"},
		{`{"faults":[{"kind":"reset","probability":-0.1}]}`, "wire.faults[0].probability", "between 0 and 1"},
		{`{"faults":[{"kind":"reset","first":2,"every":3}]}`, "wire.faults[0].every", "at most one window; it already has first"},
		{`{"faults":[{"kind":"reset","after":2,"during_ms":3}]}`, "wire.faults[0].during_ms", "at most one window"},
		{`{"faults":[{"kind":"reset","first":0}]}`, "wire.faults[0].first", "between 1"},
		{`{"faults":[{"kind":"reset","every":0}]}`, "wire.faults[0].every", "between 1"},
		{`{"faults":[{"kind":"reset","during_ms":86400001}]}`, "wire.faults[0].during_ms", "between 1 and 86400000"},
		{`{"faults":[` + strings.Repeat(`{"kind":"empty"},`, MaxPlanFaults) + `{"kind":"empty"}]}`, "wire.faults", "at most 32"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			is := is.New(t)
			_, err := DecodePlan(json.RawMessage(tt.src), "wire")
			var fe *FieldError
			is.True(errors.As(err, &fe))
			is.Equal(fe.Field, tt.field)
			if !strings.Contains(fe.Message, tt.msg) {
				t.Fatalf("%s: message %q, want it to hold %q", fe.Field, fe.Message, tt.msg)
			}
		})
	}
}

const fullPlan = `{"latency":{"percentiles":{"p50":40,"p95":120,"p99":300}},
	"faults":[{"kind":"reset","after_bytes":512,"probability":0.05,"first":100},
	          {"kind":"garbage","bytes":33,"probability":0.1},
	          {"kind":"interim","count":2,"every":7,"probability":0.5},
	          {"kind":"hang","max_ms":1000,"probability":0.02,"during_ms":100000}]}`

// The same inputs give the same decision, whatever order hits are decided in.
func TestDecideDeterministic(t *testing.T) {
	is := is.New(t)
	p := mustPlan(t, fullPlan)
	forward := make([]Decision, 1000)
	for k := range forward {
		forward[k] = p.Decide(42, "m1", uint64(k), int64(k))
	}
	reverse := make([]Decision, 1000)
	for k := len(reverse) - 1; k >= 0; k-- {
		reverse[k] = p.Decide(42, "m1", uint64(k), int64(k))
	}
	is.Equal(forward, reverse)
	again := mustPlan(t, fullPlan) // a fresh decode decides the same
	for k := range forward {
		is.Equal(again.Decide(42, "m1", uint64(k), int64(k)), forward[k])
	}
	// Another seed or mock id decides differently.
	diffSeed, diffID := 0, 0
	for k := range forward {
		if p.Decide(43, "m1", uint64(k), int64(k)) != forward[k] {
			diffSeed++
		}
		if p.Decide(42, "m2", uint64(k), int64(k)) != forward[k] {
			diffID++
		}
	}
	is.True(diffSeed > 900)
	is.True(diffID > 900)
	// Some of every fault fires.
	kinds := map[FaultKind]int{}
	for _, d := range forward {
		kinds[d.Fault]++
		if d.Fault != FaultNone {
			is.Equal(d.Fault, p.Faults[d.Index].Kind)
			is.Equal(d.Params, p.Faults[d.Index].Params)
		} else {
			is.Equal(d.Index, -1)
		}
	}
	for _, k := range []FaultKind{FaultNone, FaultReset, FaultGarbage, FaultInterim, FaultHang} {
		is.True(kinds[k] > 0)
	}
	// Preview is Decide over hits 1..n.
	pv := p.Preview(42, "m1", 20)
	is.Equal(len(pv), 20)
	for k, d := range pv {
		is.Equal(d, p.Decide(42, "m1", uint64(k+1), 0))
	}
	is.Equal(len(p.Preview(1, "x", -5)), 0)
	is.Equal(len(p.Preview(1, "x", MaxPreview+1)), MaxPreview)
	sp := p.PreviewSpaced(42, "m1", 5, 30_000)
	is.Equal(sp[4], p.Decide(42, "m1", 5, 120_000))
}

// Windows admit exactly the hits they name.
func TestDecideWindows(t *testing.T) {
	tests := []struct {
		window string
		fires  func(hit uint64, since int64) bool
	}{
		{``, func(uint64, int64) bool { return true }},
		{`,"first":5`, func(h uint64, _ int64) bool { return h <= 5 }},
		{`,"after":10`, func(h uint64, _ int64) bool { return h > 10 }},
		{`,"every":3`, func(h uint64, _ int64) bool { return h%3 == 0 }},
		{`,"every":1`, func(uint64, int64) bool { return true }},
		{`,"during_ms":2000`, func(_ uint64, s int64) bool { return s < 2000 }},
	}
	for _, tt := range tests {
		t.Run(tt.window, func(t *testing.T) {
			is := is.New(t)
			p := mustPlan(t, `{"faults":[{"kind":"empty"`+tt.window+`}]}`)
			for hit := uint64(1); hit <= 100; hit++ {
				since := int64(hit-1) * 50 // hit 41 is 2000 ms after the first
				d := p.Decide(7, "w", hit, since)
				is.Equal(d.Fault == FaultEmpty, tt.fires(hit, since))
			}
		})
	}
}

// The first listed fault that holds wins; later ones fire only where earlier ones did not.
func TestDecideFirstFaultWins(t *testing.T) {
	is := is.New(t)
	p := mustPlan(t, `{"faults":[{"kind":"reset","every":2},{"kind":"empty","every":3},{"kind":"hang"}]}`)
	for hit := uint64(1); hit <= 30; hit++ {
		d := p.Decide(1, "m", hit, 0)
		switch {
		case hit%2 == 0:
			is.Equal(d.Fault, FaultReset)
			is.Equal(d.Index, 0)
		case hit%3 == 0:
			is.Equal(d.Fault, FaultEmpty)
			is.Equal(d.Index, 1)
		default:
			is.Equal(d.Fault, FaultHang)
			is.Equal(d.Params.MaxMS, int64(30_000))
		}
	}
	// Faults draw independently: appending a fault never changes when the ones before it
	// fire, and the appended one fires only on hits they leave alone.
	a := mustPlan(t, `{"faults":[{"kind":"empty","probability":0.3}]}`)
	b := mustPlan(t, `{"faults":[{"kind":"empty","probability":0.3},{"kind":"reset","probability":0.5}]}`)
	resets := 0
	for hit := uint64(1); hit <= 1000; hit++ {
		da, db := a.Decide(9, "m", hit, 0), b.Decide(9, "m", hit, 0)
		is.Equal(da.Fault == FaultEmpty, db.Fault == FaultEmpty)
		if db.Fault == FaultReset {
			resets++
		}
	}
	is.True(resets > 250 && resets < 450) // about 0.5 of the 0.7 left
}

// Over 100k hits a fault fires about as often as its probability says (fixed seeds, so
// the counts are fixed too).
func TestDecideProbability(t *testing.T) {
	for _, prob := range []float64{0, 0.01, 0.1, 0.5, 0.9, 1} {
		for _, seed := range []uint64{0, 1, 12345} {
			p := mustPlan(t, `{"faults":[{"kind":"reset","probability":`+planFmt(prob)+`}]}`)
			const n = 100_000
			fired := 0
			for hit := uint64(1); hit <= n; hit++ {
				if p.Decide(seed, "prob", hit, 0).Fault == FaultReset {
					fired++
				}
			}
			if got := float64(fired) / n; math.Abs(got-prob) > 0.01 {
				t.Errorf("p=%v seed=%d: fired %v of hits", prob, seed, got)
			}
		}
	}
}

// empiricalQuantile is the q-quantile of sorted xs.
func empiricalQuantile(xs []float64, q float64) float64 {
	return xs[int(math.Ceil(q*float64(len(xs))))-1]
}

func sampleDelays(t *testing.T, src string, n int) []float64 {
	t.Helper()
	p := mustPlan(t, src)
	xs := make([]float64, n)
	for k := range xs {
		xs[k] = float64(p.Decide(2026, "lat", uint64(k+1), 0).Delay) / float64(time.Millisecond)
	}
	slices.Sort(xs)
	return xs
}

// The fitted quantile function passes through p50, p95 and p99 exactly, for any shape.
func TestPercentilesQuantileExact(t *testing.T) {
	for _, ps := range [][3]float64{{40, 120, 300}, {10, 10, 500}, {0.5, 3, 50000}, {7, 7, 7}, {1, 59999, 60000}} {
		l := Latency{Kind: LatencyPercentiles, P50: ps[0], P95: ps[1], P99: ps[2]}
		for i, u := range []float64{0.5, 0.95, 0.99} {
			if got := l.Quantile(u); math.Abs(got-ps[i]) > 1e-6*ps[i] {
				t.Errorf("%v: Q(%v) = %v, want %v", ps, u, got, ps[i])
			}
		}
		prev := 0.0
		for u := 0.0005; u < 1; u += 0.001 { // non-decreasing, within the cap
			q := l.Quantile(u)
			if q < prev || q > min(PercentileTailCap*ps[2], MaxDelayMS) {
				t.Fatalf("%v: Q(%v) = %v after %v", ps, u, q, prev)
			}
			prev = q
		}
	}
}

// A percentiles latency reproduces its p50, p95 and p99 within 2% over 100k sampled hits.
// (Shapes with a very steep p95→p99 climb are left to TestPercentilesQuantileExact: there
// the sampling noise of an empirical p99 alone exceeds 2% at this sample size.)
func TestPercentilesFit(t *testing.T) {
	tests := []struct{ p50, p95, p99 float64 }{
		{40, 120, 300},
		{5, 6, 7},
		{100, 100, 100},
		{1, 200, 201},
		{20, 35, 90},
	}
	for _, tt := range tests {
		src := `{"latency":{"percentiles":{"p50":` + planFmt(tt.p50) + `,"p95":` + planFmt(tt.p95) + `,"p99":` + planFmt(tt.p99) + `}}}`
		t.Run(src, func(t *testing.T) {
			xs := sampleDelays(t, src, 100_000)
			for _, c := range []struct{ q, want float64 }{{0.5, tt.p50}, {0.95, tt.p95}, {0.99, tt.p99}} {
				got := empiricalQuantile(xs, c.q)
				if math.Abs(got-c.want) > 0.02*c.want {
					t.Errorf("p%v = %v, want %v ± 2%%", c.q*100, got, c.want)
				}
			}
			if top := xs[len(xs)-1]; top > min(PercentileTailCap*tt.p99, MaxDelayMS)+0.001 {
				t.Errorf("max delay %v past the cap", top)
			}
			if xs[0] < 0 {
				t.Errorf("negative delay %v", xs[0])
			}
		})
	}
}

func TestLatencyDistributions(t *testing.T) {
	is := is.New(t)
	xs := sampleDelays(t, `{"latency":{"uniform":{"min_ms":10,"max_ms":50}}}`, 100_000)
	is.True(xs[0] >= 10 && xs[0] < 10.01)
	is.True(xs[len(xs)-1] <= 50 && xs[len(xs)-1] > 49.99)
	is.True(math.Abs(empiricalQuantile(xs, 0.5)-30) < 0.4)
	is.True(math.Abs(empiricalQuantile(xs, 0.25)-20) < 0.4)

	xs = sampleDelays(t, `{"latency":{"lognormal":{"median_ms":40,"sigma":0.5}}}`, 100_000)
	is.True(math.Abs(empiricalQuantile(xs, 0.5)-40) < 0.02*40)
	want95 := 40 * math.Exp(0.5*z95)
	is.True(math.Abs(empiricalQuantile(xs, 0.95)-want95) < 0.02*want95)

	xs = sampleDelays(t, `{"latency":{"lognormal":{"median_ms":20000,"sigma":3}}}`, 10_000)
	is.Equal(xs[len(xs)-1], float64(MaxDelayMS)) // clamped

	xs = sampleDelays(t, `{"latency":{"fixed_ms":20.5}}`, 10)
	is.Equal(xs[0], 20.5)
	is.Equal(xs[9], 20.5)

	xs = sampleDelays(t, `{"faults":[{"kind":"empty"}]}`, 10)
	is.Equal(xs[9], 0.0)
}

func TestNormalQuantile(t *testing.T) {
	is := is.New(t)
	tests := []struct{ p, want float64 }{
		{0.5, 0},
		{0.95, z95},
		{0.99, z99},
		{0.05, -z95},
		{0.975, 1.959963984540054},
		{0.001, -3.090232306167814},
		{1e-10, -6.361340902404056},
		{1 - 1e-10, 6.361340889697422}, // 1 − 1e-10 is not exact in float64
	}
	for _, tt := range tests {
		got := NormalQuantile(tt.p)
		if math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("NormalQuantile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	is.True(math.IsInf(NormalQuantile(0), -1))
	is.True(math.IsInf(NormalQuantile(1), 1))
	is.True(math.IsNaN(NormalQuantile(1.5)))
	is.True(math.IsNaN(NormalQuantile(math.NaN())))
}

func TestGarbageBytes(t *testing.T) {
	is := is.New(t)
	p := mustPlan(t, `{"faults":[{"kind":"garbage","bytes":1000}]}`)
	d := p.Decide(5, "g", 1, 0)
	is.Equal(d.Fault, FaultGarbage)
	b := d.GarbageBytes([]byte("pre"))
	is.Equal(len(b), 1003)
	is.Equal(string(b[:3]), "pre")
	is.Equal(b, p.Decide(5, "g", 1, 0).GarbageBytes([]byte("pre")))
	other := p.Decide(5, "g", 2, 0).GarbageBytes(nil)
	is.True(string(other) != string(b[3:]))
	seen := map[byte]bool{}
	for _, c := range b[3:] {
		seen[c] = true
	}
	is.True(len(seen) > 200) // looks random
	odd := mustPlan(t, `{"faults":[{"kind":"garbage","bytes":7}]}`).Decide(1, "g", 1, 0).GarbageBytes(nil)
	is.Equal(len(odd), 7)
	none := mustPlan(t, `{"faults":[{"kind":"empty"}]}`).Decide(1, "g", 1, 0)
	is.Equal(none.GarbageBytes([]byte("x")), []byte("x"))
}

func TestDecisionJSON(t *testing.T) {
	is := is.New(t)
	p := mustPlan(t, `{"latency":{"fixed_ms":41.5},"faults":[{"kind":"reset","after_bytes":512,"every":2}]}`)
	out, err := json.Marshal(p.Preview(1, "j", 2))
	is.NoErr(err)
	is.Equal(string(out), `[{"hit":1,"delay_ms":41.5,"fault":null},`+
		`{"hit":2,"delay_ms":41.5,"fault":{"index":0,"kind":"reset","after_bytes":512}}]`)
	var nilPlan *Plan
	is.Equal(nilPlan.Decide(1, "x", 3, 0), Decision{Hit: 3, Index: -1})
	is.True(nilPlan.IsZero())
	is.True(mustPlan(t, `{}`).IsZero())
	is.True(!p.IsZero())
}

// Deciding a hit allocates nothing.
func TestDecideAllocs(t *testing.T) {
	p := mustPlan(t, fullPlan)
	var hit uint64
	var sink Decision
	allocs := testing.AllocsPerRun(1000, func() {
		hit++
		sink = p.Decide(99, "mock-id-allocs", hit, int64(hit))
	})
	if allocs != 0 {
		t.Fatalf("Decide allocates %v times per call", allocs)
	}
	buf := make([]byte, 0, 64)
	d := mustPlan(t, `{"faults":[{"kind":"garbage","bytes":64}]}`).Decide(1, "g", 1, 0)
	allocs = testing.AllocsPerRun(100, func() { buf = d.GarbageBytes(buf[:0]) })
	if allocs != 0 {
		t.Fatalf("GarbageBytes into a big enough buffer allocates %v times", allocs)
	}
	_ = sink
}

func BenchmarkDecide(b *testing.B) {
	p := mustPlan(b, fullPlan)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = p.Decide(1, "bench", uint64(i), 0)
	}
}

// No input makes DecodePlan panic; what it accepts round-trips through its canonical JSON.
func FuzzDecodePlan(f *testing.F) {
	f.Add(fullPlan)
	f.Add(`{"latency":{"uniform":{"min_ms":1,"max_ms":2}},"faults":[{"kind":"drip"}]}`)
	f.Add(`{"latency":{"lognormal":{"median_ms":1e-300,"sigma":3}}}`)
	f.Add(`{"faults":[{"kind":"interim","count":1e400}]}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, src string) {
		p, err := DecodePlan(json.RawMessage(src), "f")
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		out, _ := json.Marshal(p)
		again, err := DecodePlan(out, "f")
		if err != nil {
			t.Fatalf("canonical %s refused: %v", out, err)
		}
		out2, _ := json.Marshal(again)
		if string(out) != string(out2) {
			t.Fatalf("canonical form not stable: %s vs %s", out, out2)
		}
		for hit := uint64(0); hit < 5; hit++ {
			d := p.Decide(1, "f", hit, int64(hit))
			if d.Delay < 0 || d.Delay > MaxDelayMS*time.Millisecond {
				t.Fatalf("delay %v out of range", d.Delay)
			}
			_ = d.GarbageBytes(nil)
		}
	})
}
