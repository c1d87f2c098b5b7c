package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"
)

func TestModelScenarioCRUD(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{Rand: &countingReader{}, MaxScenarios: 3})
	a, e := m.CreateScenario(decodeScenario(t, userLifecycle), t0)
	is.True(e == nil)
	is.Equal(a.ID, "000102030405") // 12 hex from the random source
	is.Equal(a.CreatedAt, "2026-11-26T10:00:00Z")
	is.Equal(a.UpdatedAt, a.CreatedAt)

	dupName := func(name string) *Error {
		_, e := m.CreateScenario(decodeScenario(t, minimalScenario(name)), t0)
		return e
	}
	is.Equal(*dupName("user LIFECYCLE"), Error{Kind: KindConflict, Code: CodeDuplicateScenario, Message: "scenario already exists"})
	is.Equal(dupName("  User lifecycle  ").Code, CodeDuplicateScenario) // trimmed
	withID := decodeScenario(t, minimalScenario("other"))
	withID.ID = a.ID
	_, e = m.CreateScenario(withID, t0)
	is.Equal(e.Code, CodeDuplicateScenario)
	withID.ID = "mine"
	b, e := m.CreateScenario(withID, t0)
	is.True(e == nil)
	is.Equal(b.ID, "mine")
	_, e = m.CreateScenario(decodeScenario(t, minimalScenario("third")), t0)
	is.True(e == nil)
	// At MaxScenarios (3): 413.
	_, e = m.CreateScenario(decodeScenario(t, minimalScenario("fourth")), t0)
	is.Equal(*e, Error{Kind: KindTooLarge, Code: CodeScenarioTooLarge, Message: "max scenarios reached"})

	// Replace: full replacement, id from the URL, created_at kept.
	later := t0.Add(time.Hour)
	repl := decodeScenario(t, minimalScenario("renamed"))
	repl.ID = "ignored"
	x, e := m.ReplaceScenario(a.ID, repl, later)
	is.True(e == nil)
	is.Equal(x.ID, a.ID)
	is.Equal(x.Name, "renamed")
	is.Equal(len(x.Steps), 1)
	is.Equal(x.CreatedAt, a.CreatedAt)
	is.Equal(x.UpdatedAt, FormatTime(later))
	is.Equal(m.Scenarios()[0], x) // position kept
	_, e = m.ReplaceScenario(a.ID, decodeScenario(t, minimalScenario("OTHER")), later)
	is.Equal(e.Code, CodeDuplicateScenario)
	_, e = m.ReplaceScenario(a.ID, decodeScenario(t, minimalScenario("Renamed")), later)
	is.True(e == nil) // its own name, in another case
	_, e = m.ReplaceScenario("nope", repl, later)
	is.Equal(*e, Error{Kind: KindNotFound, Code: CodeNotFound, Message: "scenario not found"})
	_, e = m.ReplaceScenario(a.ID, Scenario{Name: "x"}, later)
	is.Equal(e.Kind, KindInvalid)

	is.True(m.DeleteScenario("mine") == nil)
	is.Equal(m.DeleteScenario("mine").Kind, KindNotFound)
	_, ok := m.Scenario("mine")
	is.True(!ok)
	is.Equal(len(m.Scenarios()), 2)
}

func TestModelRunsBoundedAndCascade(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{Rand: &countingReader{}, MaxRunsPerScenario: 3})
	a, _ := m.CreateScenario(decodeScenario(t, minimalScenario("a")), t0)
	b, _ := m.CreateScenario(decodeScenario(t, minimalScenario("b")), t0)
	for i := range 5 {
		r, e := m.AddRun(a.ID, RunReport{RunID: fmt.Sprintf("a%d", i), Seed: int64(i)})
		is.True(e == nil)
		is.Equal(r.ScenarioID, a.ID)
	}
	_, e := m.AddRun(b.ID, RunReport{ScenarioID: "lies"})
	is.True(e == nil)
	runs := m.Runs(a.ID, 10)
	is.Equal(len(runs), 3) // bounded: the two oldest were dropped
	is.Equal([]string{runs[0].RunID, runs[1].RunID, runs[2].RunID}, []string{"a4", "a3", "a2"})
	is.Equal(len(m.Runs(a.ID, 0)), 1)  // max(1, limit)
	is.Equal(len(m.Runs(a.ID, -5)), 1) //
	is.Equal(len(m.Runs("nope", 5)), 0)
	_, ok := m.RunByID("a0")
	is.True(!ok) // dropped runs are gone from the index too
	br := m.Runs(b.ID, 1)[0]
	is.Equal(br.ScenarioID, b.ID)
	is.Equal(len(br.RunID), 14) // generated
	is.Equal(br.StepResults, []StepResult{})

	_, e = m.AddRun(a.ID, RunReport{RunID: "a4"})
	is.Equal(e.Code, CodeDuplicateRun)
	_, e = m.AddRun(a.ID, RunReport{RunID: "bad/id"})
	is.Equal(e.Kind, KindInvalid)
	_, e = m.AddRun("nope", RunReport{})
	is.Equal(*e, Error{Kind: KindNotFound, Code: CodeNotFound, Message: "scenario not found"})

	is.Equal(len(m.allRuns()), 4)
	is.True(m.DeleteScenario(a.ID) == nil)
	_, ok = m.RunByID("a4")
	is.True(!ok) // delete cascades
	is.Equal(len(m.Runs(a.ID, 10)), 0)
	is.Equal(len(m.allRuns()), 1)
}

func TestLoadScenariosKeepsValidSkipsInvalid(t *testing.T) {
	is := is.New(t)
	data := `{"version":1,"scenarios":[
		{"id":"s1","name":"one","steps":[{"method":"GET","path":"/"}],"created_at":"2026-01-02T03:04:05Z","updated_at":"bad"},
		{"name":"no id","steps":[{"method":"GET","path":"/"}]},
		{"id":"s2","name":"ONE","steps":[{"method":"GET","path":"/"}]},
		{"id":"s3","name":"bad","steps":[]},
		7],
	  "runs":[{"run_id":"r1","scenario_id":"s1"},{"run_id":"r2","scenario_id":"nope"},{"scenario_id":"s1"},"x",
		{"run_id":"r3","scenario_id":"s1","status":"fail","step_results":[{"step_id":"step-1","failure_reason":null}]}]}`
	m := newTestModel()
	notes, err := m.LoadScenarios([]byte(data), t0)
	is.NoErr(err)
	is.Equal(len(m.Scenarios()), 1)
	s1, _ := m.Scenario("s1")
	is.Equal(s1.CreatedAt, "2026-01-02T03:04:05Z")
	is.Equal(s1.UpdatedAt, FormatTime(t0))
	is.Equal(len(notes), 7)
	runs := m.Runs("s1", 10)
	is.Equal(len(runs), 2)
	is.Equal(runs[0].RunID, "r3")
	is.Equal(runs[0].StepResults[0].FailureReason, OptString(""))

	for _, bad := range []string{`[]`, `{"scenarios":{}}`, `{"runs":"x"}`, `{"version":"1"}`} {
		_, err := newTestModel().LoadScenarios([]byte(bad), t0)
		var c errCorrupt
		is.True(errors.As(err, &c))
	}
	_, err = newTestModel().LoadScenarios([]byte(`{"version":2}`), t0)
	var tooNew errTooNew
	is.True(errors.As(err, &tooNew))
}

func ptr[T any](v T) *T { return &v }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
