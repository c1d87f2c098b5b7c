package state

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// logged returns a logger writing text lines to buf.
func logged(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(buf, nil)) }

// Limits apply to creating, not to loading: ten mocks, targets and scenarios created under
// high limits (one mock with a body, one scenario with steps, assertions and a delay at
// those limits) all load under limits of five (and smaller sizes), nothing is set aside,
// creating one more of each is refused, and a write under the low limits keeps them all.
func TestActorLoadIgnoresLimits(t *testing.T) {
	is := is.New(t)
	ctx := testCtx(t)
	high := scenarioActorConfig(t)
	high.MaxMocks, high.MaxMockBodyBytes, high.MaxTargets, high.MaxScenarios = 20, 100, 20, 20
	high.MaxSteps, high.MaxAssertions, high.MaxStepDelay = 10, 10, 10*time.Second
	low := high
	low.MaxMocks, low.MaxMockBodyBytes, low.MaxTargets, low.MaxScenarios = 5, 10, 5, 5
	low.MaxSteps, low.MaxAssertions, low.MaxStepDelay = 2, 1, time.Second

	a := newActor(t, high)
	stop := startActor(t, a)
	bigBody := strings.Repeat("b", 100)
	bigSteps := strings.Repeat(`{"method":"GET","path":"/","delay_ms":10000,"expect":{"body_contains":["1","2","3","4","5","6","7","8","9"]}},`, 9) + `{"method":"GET","path":"/"}`
	for i := range 10 {
		body := "x"
		if i == 0 {
			body = bigBody
		}
		_, err := a.CreateMock(ctx, decode(t, fmt.Sprintf(`{"id":"m%d","method":"GET","path_pattern":"/m/%d","body":%q}`, i, i, body)))
		is.NoErr(err)
		_, err = a.CreateTarget(ctx, mustTarget(t, fmt.Sprintf(`{"id":"t%d","name":"t%d","base_url":"http://127.0.0.1:9"}`, i, i)))
		is.NoErr(err)
		steps := `{"method":"GET","path":"/"}`
		if i == 0 {
			steps = bigSteps
		}
		sc, e := DecodeScenario(fmt.Appendf(nil, `{"id":"s%d","name":"s%d","steps":[%s]}`, i, i, steps), a.ScenarioLimits())
		is.True(e == nil)
		_, err = a.CreateScenario(ctx, sc)
		is.NoErr(err)
	}
	is.NoErr(stop())

	counts := func(a *Actor) (mocks, targets, scenarios int) {
		m, err := a.ListMocks(ctx)
		is.NoErr(err)
		tg, err := a.ListTargets(ctx)
		is.NoErr(err)
		sc, err := a.ListScenarios(ctx)
		is.NoErr(err)
		return len(m), len(tg), len(sc)
	}
	var logs bytes.Buffer
	a, err := New(low, logged(&logs))
	is.NoErr(err)
	stop = startActor(t, a)
	m, tg, sc := counts(a)
	is.Equal([]int{m, tg, sc}, []int{10, 10, 10}) // everything loads, over every limit
	m0, err := a.GetMock(ctx, "m0")
	is.NoErr(err)
	is.Equal(m0.Body, bigBody)
	s0, err := a.GetScenario(ctx, "s0")
	is.NoErr(err)
	is.Equal(len(s0.Steps), 10)
	is.Equal(s0.Steps[0].DelayMS, int64(10000))
	is.True(!strings.Contains(logs.String(), "set aside"))

	_, err = a.CreateMock(ctx, decode(t, `{"method":"GET","path_pattern":"/eleven"}`))
	is.Equal(KindOf(err), KindTooLarge) // creating is limited
	_, err = a.CreateTarget(ctx, mustTarget(t, `{"name":"eleven","base_url":"http://127.0.0.1:9"}`))
	is.Equal(KindOf(err), KindTooLarge)
	one, e := DecodeScenario([]byte(`{"name":"eleven","steps":[{"method":"GET","path":"/"}]}`), low.ScenarioLimits())
	is.True(e == nil)
	_, err = a.CreateScenario(ctx, one)
	is.Equal(KindOf(err), KindTooLarge)

	// An update that leaves the stored body alone is not refused for its size; a new
	// body over the limit is.
	_, err = a.UpdateMock(ctx, "m0", decode(t, `{"status":201}`))
	is.NoErr(err)
	_, err = a.UpdateMock(ctx, "m0", decode(t, `{"body":"01234567890"}`))
	is.Equal(KindOf(err), KindInvalid)

	// Writes under the low limits keep everything.
	is.NoErr(a.DeleteMock(ctx, "m9"))
	is.NoErr(a.DeleteTarget(ctx, "t9"))
	is.NoErr(a.DeleteScenario(ctx, "s9"))
	is.NoErr(stop())
	a = newActor(t, low)
	startActor(t, a)
	m, tg, sc = counts(a)
	is.Equal([]int{m, tg, sc}, []int{9, 9, 9})
}

// sideFile is the side file's format.
type sideFile struct {
	Version int    `json:"version"`
	File    string `json:"file"`
	Entries []struct {
		Kind   string          `json:"kind"`
		Index  int             `json:"index"`
		Reason string          `json:"reason"`
		Entry  json.RawMessage `json:"entry"`
	} `json:"entries"`
}

// Entries that cannot be loaded (duplicates, wrong types, not objects, runs of an unknown
// scenario) and entries a ring drops (history beyond the limit, runs beyond the limit per
// scenario) are copied verbatim to <file>.rejected.<unix-ts>.json, named in one log line with
// their count, before the file is written again; that write leaves the side file alone, the
// next start finds nothing to set aside, and a second side file never overwrites the first.
func TestActorSetsAsideWhatCannotLoad(t *testing.T) {
	type kept struct{ kind, raw string }
	tests := []struct {
		name   string
		file   func(Config) string
		data   func(bad []kept) string
		bad    []kept
		kept   func(*is.I, *Actor) // checks what loaded
		change func(*is.I, *Actor) // makes a write of the file
	}{
		{
			name: "mocks and history",
			file: func(c Config) string { return c.StateFile },
			bad: []kept{
				{"mock", `{"id":"a", "method":"PUT","path_pattern":"/other"}`},
				{"mock", `{"id":"b","method":"get","path_pattern":"/a"}`},
				{"mock", `{"id":"c","method":"GET","path_pattern":"/c","headers":"x"}`},
				{"mock", `[1,2]`},
				{"history", `{"request_id":"oldest"}`},
				{"history", `"not an entry"`},
			},
			data: func(bad []kept) string {
				return `{"version":1,"mocks":[{"id":"a","method":"GET","path_pattern":"/a"},` + bad[0].raw + `,` + bad[1].raw + `,` +
					bad[2].raw + `,` + bad[3].raw + `,{"id":"d","method":"GET","path_pattern":"/d"}],
				"history":[` + bad[4].raw + `,{"request_id":"r1"},` + bad[5].raw + `,{"request_id":"r2"}]}`
			},
			kept: func(is *is.I, a *Actor) {
				ms, err := a.ListMocks(context.Background())
				is.NoErr(err)
				is.Equal(len(ms), 2)
				h, err := a.History(context.Background(), HistoryFilter{})
				is.NoErr(err)
				is.Equal(len(h), 2)
			},
			change: func(is *is.I, a *Actor) {
				_, err := a.CreateMock(context.Background(), MockInput{Method: ptr("GET"), PathPattern: ptr("/new")})
				is.NoErr(err)
			},
		},
		{
			name: "scenarios and runs",
			file: func(c Config) string { return c.ScenarioFile },
			bad: []kept{
				{"scenario", `{"id":"s1","name":"other","steps":[{"method":"GET","path":"/"}]}`},
				{"scenario", `{"id":"s2","name":"ONE","steps":[{"method":"GET","path":"/"}]}`},
				{"scenario", `{"id":"s3","name":"typed","steps":{"method":"GET"}}`},
				{"scenario", `null`},
				{"run", `{"run_id":"r0","scenario_id":"s1","status":"pass"}`},
				{"run", `{"run_id":"r2","scenario_id":"s2"}`},
				{"run", `"run"`},
			},
			data: func(bad []kept) string {
				return `{"version":1,"scenarios":[{"id":"s1","name":"one","steps":[{"method":"GET","path":"/"}]},` +
					bad[0].raw + `,` + bad[1].raw + `,` + bad[2].raw + `,` + bad[3].raw + `],
				"runs":[` + bad[4].raw + `,{"run_id":"r1","scenario_id":"s1"},` + bad[5].raw + `,` + bad[6].raw + `]}`
			},
			kept: func(is *is.I, a *Actor) {
				list, err := a.ListScenarios(context.Background())
				is.NoErr(err)
				is.Equal(len(list), 1)
				runs, err := a.Runs(context.Background(), "s1", 10)
				is.NoErr(err)
				is.Equal(len(runs), 1)
				is.Equal(runs[0].RunID, "r1")
			},
			change: func(is *is.I, a *Actor) {
				sc, e := DecodeScenario([]byte(`{"name":"new","steps":[{"method":"GET","path":"/"}]}`), ScenarioLimits{})
				is.True(e == nil)
				_, err := a.CreateScenario(context.Background(), sc)
				is.NoErr(err)
			},
		},
		{
			name: "targets",
			file: func(c Config) string { return c.TargetFile },
			bad: []kept{
				{"target", `{"id":"t1","name":"other","base_url":"http://b"}`},
				{"target", `{"id":"t2","name":"ONE","base_url":"http://b"}`},
				{"target", `{"id":"t3","name":"typed","base_url":"http://b","timeout_ms":"abc"}`},
				{"target", `true`},
			},
			data: func(bad []kept) string {
				return `{"version":1,"targets":[{"id":"t1","name":"one","base_url":"http://a"},` +
					bad[0].raw + `,` + bad[1].raw + `,` + bad[2].raw + `,` + bad[3].raw + `]}`
			},
			kept: func(is *is.I, a *Actor) {
				list, err := a.ListTargets(context.Background())
				is.NoErr(err)
				is.Equal(len(list), 1)
			},
			change: func(is *is.I, a *Actor) {
				_, err := a.CreateTarget(context.Background(), TargetInput{Name: ptr("new"), BaseURL: ptr("http://n")})
				is.NoErr(err)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			cfg := scenarioActorConfig(t)
			cfg.HistoryLimit, cfg.MaxRunsPerScenario = 3, 1
			path := tt.file(cfg)
			data := tt.data(tt.bad)
			is.NoErr(os.MkdirAll(filepath.Dir(path), 0o755))
			is.NoErr(os.WriteFile(path, []byte(data), 0o600))

			var logs bytes.Buffer
			a, err := New(cfg, logged(&logs))
			is.NoErr(err)
			stop := startActor(t, a)
			tt.kept(is, a)

			name := fmt.Sprintf("%s.rejected.%d.json", path, t0.Unix())
			side, err := os.ReadFile(name)
			is.NoErr(err)
			var f sideFile
			is.NoErr(json.Unmarshal(side, &f))
			is.Equal(f.Version, 1)
			is.Equal(f.File, path)
			is.Equal(len(f.Entries), len(tt.bad))
			for i, e := range f.Entries {
				is.Equal(e.Kind, tt.bad[i].kind)
				is.Equal(string(e.Entry), tt.bad[i].raw) // verbatim
				is.True(e.Reason != "")
				is.True(strings.Contains(data, tt.bad[i].raw))
			}
			is.Equal(strings.Count(logs.String(), "set aside"), 1) // one log line…
			is.True(strings.Contains(logs.String(),
				fmt.Sprintf(`level=WARN msg="state file entries set aside" file=%s side_file=%s count=%d`, path, name, len(tt.bad))))

			tt.change(is, a) // the next write of the file
			is.NoErr(stop())
			again, err := os.ReadFile(name)
			is.NoErr(err)
			is.Equal(again, side) // the side file still holds them

			logs.Reset()
			_, err = New(cfg, logged(&logs))
			is.NoErr(err)
			is.True(!strings.Contains(logs.String(), "set aside")) // nothing more to set aside

			// The same entries migrated again at the same second (the store
			// removed): a second side file, the first untouched.
			is.NoErr(os.RemoveAll(StoreDir(path)))
			is.NoErr(os.WriteFile(path, []byte(data), 0o600))
			_, err = New(cfg, nil)
			is.NoErr(err)
			second, err := os.ReadFile(fmt.Sprintf("%s.rejected.%d-2.json", path, t0.Unix()))
			is.NoErr(err)
			is.Equal(second, side)
			again, err = os.ReadFile(name)
			is.NoErr(err)
			is.Equal(again, side)
		})
	}
}

// When the side file cannot be written, the server refuses to start rather than lose the
// entries at its next write, and the state file is left as it was.
func TestActorRefusesStartWhenSideFileFails(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	// The state file's name is allowed; the side file's is longer than a file name can be.
	cfg.StateFile = filepath.Join(filepath.Dir(cfg.StateFile), strings.Repeat("s", 240)+".json")
	data := `{"version":1,"mocks":[{"id":"a","method":"GET","path_pattern":"/a"},{"id":"a","method":"GET","path_pattern":"/b"}]}`
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.StateFile), 0o755))
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(data), 0o600))
	a, err := New(cfg, nil)
	is.True(a == nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "1 entries cannot be loaded and could not be set aside"))
	got, err := os.ReadFile(cfg.StateFile)
	is.NoErr(err)
	is.Equal(string(got), data)
}
