package state

import (
	"context"
	"encoding/json"
	"time"
)

// ScenarioLimits returns the limits to pass to DecodeScenario. It never
// blocks.
func (a *Actor) ScenarioLimits() ScenarioLimits { return a.cfg.ScenarioLimits() }

// ListScenarios returns the scenarios in insertion order (never nil).
func (a *Actor) ListScenarios(ctx context.Context) ([]Scenario, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) ([]Scenario, *Error, bool) {
		out := make([]Scenario, len(m.scenarios))
		for i, sc := range m.scenarios {
			out[i] = *sc
		}
		return out, nil, false
	})
}

// GetScenario returns a scenario by id (not_found "scenario not found").
func (a *Actor) GetScenario(ctx context.Context, id string) (Scenario, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) (Scenario, *Error, bool) {
		sc, ok := m.scenByID[id]
		if !ok {
			return Scenario{}, newErr(KindNotFound, CodeNotFound, msgScenarioNF), false
		}
		return *sc, nil, false
	})
}

// CreateScenario stores a scenario (see Model.CreateScenario); pass the
// result of DecodeScenario. With a ScenarioFile it returns only once the
// scenario is on disk; if that write fails the error is KindInternal
// persist_failed and the scenario stays in memory, saved by the next
// successful write.
func (a *Actor) CreateScenario(ctx context.Context, sc Scenario) (Scenario, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, now time.Time) (Scenario, *Error, bool) {
		x, e := m.CreateScenario(sc, now)
		if e != nil {
			return Scenario{}, e, false
		}
		return *x, nil, true
	})
}

// ReplaceScenario replaces a scenario in full (PUT; see
// Model.ReplaceScenario); durability as for CreateScenario.
func (a *Actor) ReplaceScenario(ctx context.Context, id string, sc Scenario) (Scenario, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, now time.Time) (Scenario, *Error, bool) {
		x, e := m.ReplaceScenario(id, sc, now)
		if e != nil {
			return Scenario{}, e, false
		}
		return *x, nil, true
	})
}

// DeleteScenario removes a scenario and its runs (not_found if absent);
// durability as for CreateScenario.
func (a *Actor) DeleteScenario(ctx context.Context, id string) error {
	_, err := callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) (struct{}, *Error, bool) {
		if e := m.DeleteScenario(id); e != nil {
			return struct{}{}, e, false
		}
		return struct{}{}, nil, true
	})
	return err
}

// StartRun prepares a run of a scenario: a copy of the scenario as it is now,
// a new 14-hex run id and the start time, with the given seed (callers use
// DefaultChaosSeed, or their configured default, when the request names
// none). Nothing is stored until AddRun. Error: not_found "scenario not
// found".
func (a *Actor) StartRun(ctx context.Context, scenarioID string, seed int64) (*RunPlan, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, now time.Time) (*RunPlan, *Error, bool) {
		sc, ok := m.scenByID[scenarioID]
		if !ok {
			return nil, newErr(KindNotFound, CodeNotFound, msgScenarioNF), false
		}
		id, e := m.NewRunID()
		if e != nil {
			return nil, e, false
		}
		return NewRunPlan(*sc, id, seed, now), nil, false
	})
}

// AddRun stores a finished run (see Model.AddRun) and returns it as stored.
// With a ScenarioFile it returns only once the run is on disk (persist_failed
// as for CreateScenario). A run of a scenario deleted meanwhile is not
// stored (not_found); the caller may still show its report. The stored run
// shares report's slices and maps: neither the caller nor anyone else may
// modify them afterwards. A report that cannot be encoded as JSON (an
// assertion's Expected or Actual that is not valid JSON) is refused with
// KindInvalid before it reaches the actor.
func (a *Actor) AddRun(ctx context.Context, scenarioID string, report RunReport) (RunReport, error) {
	for _, st := range report.StepResults {
		for _, as := range st.Assertions {
			if as.Expected != nil && !json.Valid(as.Expected) || as.Actual != nil && !json.Valid(as.Actual) {
				return RunReport{}, invalidScenario("run report: assertion values must be valid JSON")
			}
		}
	}
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) (RunReport, *Error, bool) {
		r, e := m.AddRun(scenarioID, report)
		if e != nil {
			return RunReport{}, e, false
		}
		return *r, nil, true
	})
}

// Runs returns the newest max(1, limit) runs of a scenario, newest first;
// an unknown scenario has none (never nil).
func (a *Actor) Runs(ctx context.Context, scenarioID string, limit int) ([]RunReport, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) ([]RunReport, *Error, bool) {
		list := m.Runs(scenarioID, limit)
		out := make([]RunReport, len(list))
		for i, r := range list {
			out[i] = *r
		}
		return out, nil, false
	})
}

// GetRun returns a stored run by id (not_found "run not found").
func (a *Actor) GetRun(ctx context.Context, runID string) (RunReport, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) (RunReport, *Error, bool) {
		r, ok := m.runByID[runID]
		if !ok {
			return RunReport{}, newErr(KindNotFound, CodeNotFound, msgRunNF), false
		}
		return *r, nil, false
	})
}
