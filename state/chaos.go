package state

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
