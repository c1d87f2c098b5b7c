package state

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"ownhttp/mock"
)

// Chaos decisions (spec §5.2 step 6).
//
// The original drew r = random.Random(seed + seed_offset + step_index).random()
// with Python's MT19937. We do not reproduce that sequence: the draw here is
// the first output of SplitMix64 (Steele, Lea and Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014; the constants of Vigna's
// reference splitmix64.c) seeded with seed + seed_offset + step_index
// (two's-complement, wrapping), mapped to [0, 1) by taking its top 53 bits.
// It uses integer arithmetic only, so the same inputs give the same r on
// every machine and in every build: "same seed, same outcome" holds, but a
// given seed does not give the outcome the Python server gave.
//
// As in the original, only the sum seed + seed_offset + step_index matters,
// so (seed 1, step 1) and (seed 2, step 0) draw the same r.

// ChaosDecision reports whether step stepIndex (0-based) of a run seeded
// with seed injects its chaos, and the draw r in [0, 1) it decided with.
// Chaos applies when c is enabled and r <= c.Probability (the original's
// "r > probability means nothing happens"). A nil or disabled c never
// applies and draws nothing (r = 0). It is pure and safe for concurrent use.
func ChaosDecision(seed int64, c *Chaos, stepIndex int) (applied bool, r float64) {
	if c == nil || !c.Enabled {
		return false, 0
	}
	r = chaosDraw(seed, c.SeedOffset, stepIndex)
	return r <= c.Probability, r
}

// chaosDraw returns the draw for (seed, offset, index) in [0, 1) with 53 bits
// of precision.
func chaosDraw(seed, offset int64, index int) float64 {
	x := uint64(seed) + uint64(offset) + uint64(int64(index))
	return float64(splitMix64(x)>>11) * 0x1p-53
}

// splitMix64 returns the first output of a SplitMix64 generator whose state
// is x.
func splitMix64(x uint64) uint64 {
	z := x + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// ApplyChaos changes a response view the way chaos mode does (spec §5.2):
//   - status_flip: a status below 500 becomes 503, any other becomes 200;
//   - drop_body: the body becomes "";
//   - fixed_error: status 500, body "chaos injected error" and the header
//     content-type: text/plain; charset=utf-8;
//   - none (and any unknown mode): nothing changes.
//
// It modifies view and its Headers map in place: the caller must own them
// (RunPlan.Record works on its own copy). A nil view is ignored.
func ApplyChaos(view *ResponseView, mode string) {
	if view == nil {
		return
	}
	switch mode {
	case ChaosStatusFlip:
		if view.Status < 500 {
			view.Status = 503
		} else {
			view.Status = 200
		}
	case ChaosDropBody:
		view.Body = ""
	case ChaosFixedError:
		view.Status = 500
		view.Body = "chaos injected error"
		if view.Headers == nil {
			view.Headers = make(map[string]string, 1)
		}
		view.Headers["content-type"] = "text/plain; charset=utf-8"
	}
}

// compileWireChaos compiles a wire chaos mode (a fault kind of package mock) and its
// parameters into a one-fault plan that always fires (the step's probability has decided
// already); the message names what is wrong ("" when nothing is).
func compileWireChaos(mode string, params json.RawMessage) (*mock.Plan, string) {
	fault := map[string]json.RawMessage{}
	if len(params) > 0 {
		if err := json.Unmarshal(params, &fault); err != nil {
			return nil, "chaos.params must be an object"
		}
	}
	for _, k := range []string{"kind", "probability", "first", "after", "every", "during_ms"} {
		if _, ok := fault[k]; ok {
			return nil, "chaos.params." + k + ": unknown field (the step's chaos decides when)"
		}
	}
	kind, _ := json.Marshal(mode)
	fault["kind"] = kind
	list, _ := json.Marshal([]map[string]json.RawMessage{fault})
	plan, err := mock.DecodePlanParts(nil, list)
	if err != nil {
		var fe *mock.FieldError
		if errors.As(err, &fe) && strings.HasSuffix(fe.Field, ".kind") {
			return nil, "invalid chaos mode"
		}
		return nil, "chaos." + strings.Replace(err.Error(), "faults[0].", "params.", 1)
	}
	return plan, ""
}

// WireChaos reports the wire fault the current step asks the server to carry out on its
// own request: its chaos applies (ChaosDecision), its mode is a wire fault and the step is
// local (a target's answer comes through the proxy, whose wire the step does not own).
// The decision is a pure function of the run's seed, the step's seed_offset, the scenario
// and step ids and the step's position, as every chaos decision is.
func (p *RunPlan) WireChaos() (mock.Decision, bool) {
	if !p.OnWire {
		return mock.Decision{}, false
	}
	return p.wireChaos()
}

// notOnWire is the observation of a wire chaos decided by a runner that cannot carry it out.
const notOnWire = "not carried out: only a run on the server faults its wire (ownhttp scenario run-remote)"

// wireChaos is WireChaos whoever runs the plan.
func (p *RunPlan) wireChaos() (mock.Decision, bool) {
	if p.cur < 0 {
		return mock.Decision{}, false
	}
	st := &p.Scenario.Steps[p.cur]
	c := st.Chaos
	if c == nil || c.Mode == ChaosNone || c.Simulated() || st.TargetID != LocalTarget {
		return mock.Decision{}, false
	}
	plan := c.wire
	if plan == nil { // a copy that lost its compiled form (normalizing made it once)
		if plan, _ = compileWireChaos(c.Mode, c.Params); plan == nil {
			return mock.Decision{}, false
		}
	}
	if applied, _ := ChaosDecision(p.Seed, c, p.cur); !applied {
		return mock.Decision{}, false
	}
	return plan.Decide(uint64(p.Seed+c.SeedOffset), p.Scenario.ID+"/"+st.ID, uint64(p.cur+1), 0), true
}

// ChaosReport is what a step's chaos did, in its StepResult: the mode and the draw that
// decided it; the original's modes are marked simulated (they change the step's view of the
// response, not the response); a wire fault has the decision the server carried out and
// what the client observed ("error: … connection reset by peer", or "HTTP 200, 11 body
// bytes").
type ChaosReport struct {
	Mode      string          `json:"mode"`
	Simulated bool            `json:"simulated"`
	Draw      float64         `json:"draw"`
	Decision  json.RawMessage `json:"decision,omitempty"`
	Observed  string          `json:"observed,omitempty"`
}

// observedBy says what a client saw of a response view: the dispatch error, or the status
// and body size.
func observedBy(v ResponseView) string {
	if msg, ok := strings.CutPrefix(v.Body, dispatchErrorPrefix); ok && v.Status == 502 {
		return "error: " + msg
	}
	return "HTTP " + strconv.Itoa(v.Status) + ", " + strconv.Itoa(len(v.Body)) + " body bytes"
}
