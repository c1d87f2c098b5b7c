package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

func scenarioActorConfig(t *testing.T) Config {
	cfg := testConfig()
	dir := t.TempDir()
	cfg.StateFile = filepath.Join(dir, "data", "server_state.json")
	cfg.ScenarioFile = filepath.Join(dir, "data", "scenarios_state.json")
	cfg.TargetFile = filepath.Join(dir, "data", "targets_state.json")
	return cfg
}

type scenarioFile struct {
	Version   int         `json:"version"`
	Scenarios []Scenario  `json:"scenarios"`
	Runs      []RunReport `json:"runs"`
}

// readScenarioFile reads the scenario store of state flag path as it is on disk.
func readScenarioFile(t *testing.T, path string) scenarioFile {
	t.Helper()
	dir := StoreDir(path)
	return scenarioFile{Version: storeVersion(t, dir),
		Scenarios: readEntryFiles[Scenario](t, filepath.Join(dir, "scenarios"), "created_at"),
		Runs:      readEntryFiles[RunReport](t, filepath.Join(dir, "runs"), "started_at")}
}

func TestActorScenariosDurableAfterAck(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)

	sc, err := a.CreateScenario(ctx, decodeScenario(t, userLifecycle))
	is.NoErr(err)
	// On disk when the call returns.
	f := readScenarioFile(t, cfg.ScenarioFile)
	is.Equal(f.Version, StoreVersion)
	is.Equal(len(f.Scenarios), 1)
	is.Equal(f.Scenarios[0].ID, sc.ID)
	is.Equal(f.Runs, []RunReport{})
	_, err = os.Stat(cfg.StateFile)
	is.True(errors.Is(err, os.ErrNotExist)) // the mocks file is not touched

	got, err := a.GetScenario(ctx, sc.ID)
	is.NoErr(err)
	is.Equal(got.Name, "User lifecycle")
	list, err := a.ListScenarios(ctx)
	is.NoErr(err)
	is.Equal(len(list), 1)
	_, err = a.CreateScenario(ctx, decodeScenario(t, userLifecycle))
	is.Equal(KindOf(err), KindConflict)

	repl, err := a.ReplaceScenario(ctx, sc.ID, decodeScenario(t, minimalScenario("renamed")))
	is.NoErr(err)
	is.Equal(repl.CreatedAt, sc.CreatedAt)
	is.Equal(readScenarioFile(t, cfg.ScenarioFile).Scenarios[0].Name, "renamed")

	plan, err := a.StartRun(ctx, sc.ID, 7)
	is.NoErr(err)
	is.Equal(len(plan.RunID), 14)
	is.Equal(plan.Seed, int64(7))
	for plan.Next() {
		plan.Record(ResponseView{Status: 200, Headers: map[string]string{"x-request-id": "t1"}}, 1)
	}
	run, err := a.AddRun(ctx, sc.ID, plan.Report(t0, 2))
	is.NoErr(err)
	is.Equal(run.RunID, plan.RunID)
	is.Equal(run.Status, StatusPass)
	f = readScenarioFile(t, cfg.ScenarioFile)
	is.Equal(len(f.Runs), 1) // the run is durable when AddRun returns
	is.Equal(f.Runs[0].RunID, run.RunID)
	is.Equal(f.Runs[0].StepResults[0].TraceID, "t1")

	got2, err := a.GetRun(ctx, run.RunID)
	is.NoErr(err)
	is.Equal(got2.RunID, run.RunID)
	runs, err := a.Runs(ctx, sc.ID, DefaultRunsLimit)
	is.NoErr(err)
	is.Equal(len(runs), 1)
	runs, err = a.Runs(ctx, "nope", DefaultRunsLimit)
	is.NoErr(err)
	is.Equal(runs, []RunReport{})

	is.NoErr(a.DeleteScenario(ctx, sc.ID))
	f = readScenarioFile(t, cfg.ScenarioFile)
	is.Equal(len(f.Scenarios), 0)
	is.Equal(len(f.Runs), 0) // runs deleted with their scenario
	_, err = a.GetRun(ctx, run.RunID)
	var se *Error
	is.True(errors.As(err, &se))
	is.Equal(*se, Error{Kind: KindNotFound, Code: CodeNotFound, Message: "run not found"})
	_, err = a.StartRun(ctx, sc.ID, 1)
	is.Equal(KindOf(err), KindNotFound)
	_, err = a.AddRun(ctx, sc.ID, run)
	is.Equal(KindOf(err), KindNotFound)
	is.Equal(a.Stats().PersistWrites, uint64(4)) // create, replace, run, delete
}

func TestActorRunsBoundedPerScenario(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	cfg.MaxRunsPerScenario = 3
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	is.NoErr(err)
	var ids []string
	for i := range 5 {
		plan, err := a.StartRun(ctx, sc.ID, int64(i))
		is.NoErr(err)
		r, err := a.AddRun(ctx, sc.ID, plan.Report(t0, 0))
		is.NoErr(err)
		ids = append(ids, r.RunID)
	}
	runs, err := a.Runs(ctx, sc.ID, 100)
	is.NoErr(err)
	is.Equal(len(runs), 3)
	is.Equal([]string{runs[0].RunID, runs[1].RunID, runs[2].RunID}, []string{ids[4], ids[3], ids[2]})
	is.Equal(len(readScenarioFile(t, cfg.ScenarioFile).Runs), 3)
	_, err = a.GetRun(ctx, ids[0])
	is.Equal(KindOf(err), KindNotFound)
}

func TestActorScenarioPersistRoundTrip(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	stop := startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, userLifecycle))
	is.NoErr(err)
	plan, err := a.StartRun(ctx, sc.ID, 5)
	is.NoErr(err)
	for plan.Next() {
		plan.Record(ResponseView{Status: 503, Body: "<b>&</b>"}, 12.3456)
	}
	run, err := a.AddRun(ctx, sc.ID, plan.Report(t0.Add(time.Second), 20))
	is.NoErr(err)
	tg, err := a.CreateTarget(ctx, TargetInput{Name: ptr("t"), BaseURL: ptr("http://127.0.0.1:9")})
	is.NoErr(err)
	is.NoErr(stop())

	b := newActor(t, cfg)
	startActor(t, b)
	ctx = testCtx(t)
	sc2, err := b.GetScenario(ctx, sc.ID)
	is.NoErr(err)
	is.Equal(mustJSON(t, sc2), mustJSON(t, sc))
	run2, err := b.GetRun(ctx, run.RunID)
	is.NoErr(err)
	is.Equal(mustJSON(t, run2), mustJSON(t, run))
	tg2, ok := b.TargetSnapshot().Target(tg.ID)
	is.True(ok)
	is.Equal(*tg2, tg)
}

func TestActorScenarioFileCorruptOrTooNew(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.ScenarioFile), 0o755))
	// A good mocks file and a corrupt scenario file: only the scenario
	// state starts empty.
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(`{"version":1,"mocks":[{"id":"m","method":"GET","path_pattern":"/m"}]}`), 0o600))
	is.NoErr(os.WriteFile(cfg.ScenarioFile, []byte(`{"version":1,"scenarios":[{"id":"s","name":"n","steps":[{"method":"GET","path":"/"}]}],"runs":{}}`), 0o600))
	a := newActor(t, cfg)
	is.Equal(a.Snapshot().Len(), 1)
	is.Equal(len(a.model.Scenarios()), 0) // nothing half-loaded
	backup := fmt.Sprintf("%s.corrupt.%d", cfg.ScenarioFile, t0.Unix())
	_, err := os.Stat(backup)
	is.NoErr(err)
	_, err = os.Stat(cfg.ScenarioFile)
	is.True(errors.Is(err, os.ErrNotExist))

	// The corrupt file was migrated as an empty store; a store from a newer
	// build refuses to start.
	is.NoErr(os.WriteFile(filepath.Join(StoreDir(cfg.ScenarioFile), "store.json"), []byte(`{"version":3}`), 0o600))
	_, err = New(cfg, nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "--scenario-state-file"))
	is.True(strings.Contains(err.Error(), "version 3"))
}

func TestActorScenarioPersistFailureIsPerFile(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	cfg.ScenarioFile = filepath.Join(t.TempDir(), "blocked", "scenarios.json")
	is.NoErr(os.WriteFile(filepath.Dir(cfg.ScenarioFile), []byte("x"), 0o600))
	a := newActor(t, cfg)
	stop := startActor(t, a)
	ctx := testCtx(t)
	_, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	var se *Error
	is.True(errors.As(err, &se))
	is.Equal(se.Code, CodePersistFailed)
	list, err := a.ListScenarios(ctx)
	is.NoErr(err)
	is.Equal(len(list), 1) // kept in memory
	// Other files are not affected.
	_, err = a.CreateMock(ctx, decode(t, mockJSON("GET", "/ok")))
	is.NoErr(err)
	_, err = a.CreateTarget(ctx, TargetInput{Name: ptr("t"), BaseURL: ptr("http://x")})
	is.NoErr(err)
	err = stop()
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "scenarios.json"))
	is.Equal(len(readState(t, cfg.StateFile).Mocks), 1)
}

func TestActorScenariosInMemoryWithoutFile(t *testing.T) {
	is := is.New(t)
	a := newActor(t, testConfig())
	startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	is.NoErr(err)
	is.Equal(len(sc.ID), 12)
	is.Equal(a.Stats().PersistWrites, uint64(0))
	is.Equal(a.ScenarioLimits(), ScenarioLimits{MaxSteps: 50, MaxAssertions: 20, MaxStepDelay: 30 * time.Second})
}

func TestActorAddRunKeepsTheFileEncodable(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	is.NoErr(err)
	// A hand-made report with values JSON cannot hold: floats are
	// sanitized, invalid raw JSON is refused; the file stays writable.
	r, err := a.AddRun(ctx, sc.ID, RunReport{RunID: "nan", Summary: RunSummary{DurationMS: math.NaN()},
		StepResults: []StepResult{{StepID: "a", LatencyMS: math.Inf(1)}}})
	is.NoErr(err)
	is.Equal(r.Summary.DurationMS, 0.0)
	is.Equal(r.StepResults[0].LatencyMS, maxLatencyMS)
	_, err = a.AddRun(ctx, sc.ID, RunReport{StepResults: []StepResult{{Assertions: []AssertionResult{{Expected: json.RawMessage("{")}}}}})
	is.Equal(KindOf(err), KindInvalid)
	f := readScenarioFile(t, cfg.ScenarioFile)
	is.Equal(len(f.Runs), 1)
	is.Equal(f.Runs[0].RunID, "nan")
}
