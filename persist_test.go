package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// startWithStateFile starts a server on stateFile with the extra flags.
func startWithStateFile(t *testing.T, engine, stateFile string, args ...string) *testkit.Server {
	t.Helper()
	return testkit.Start(t, run, engine, append([]string{"--state-file", stateFile, "--access-log=false"}, args...)...)
}

// Issue #11, item 8: limits apply to creating, not to loading. Ten mocks acknowledged under
// --max-mock-routes 20 are all listed and served after a restart with 5 (a write does not drop
// any), creating an eleventh is refused, and a restart with 20 still has all ten.
func TestLoadIgnoresMockLimit(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		stateFile := filepath.Join(t.TempDir(), "state.json")
		s := startWithStateFile(t, engine, stateFile, "--max-mock-routes", "20")
		l := newLabClient(t, s)
		var ids []string
		for i := range 10 {
			ids = append(ids, l.createMock(fmt.Sprintf(`{"id":"m%d","method":"GET","path_pattern":"/lim/%d","status":201,"body":"b%d"}`, i, i, i)).ID)
		}
		is.NoErr(s.Stop(t))

		s = startWithStateFile(t, engine, stateFile, "--max-mock-routes", "5")
		l = newLabClient(t, s)
		listed := func() (got []string) {
			for _, m := range l.listMocks() {
				got = append(got, m.ID)
			}
			return got
		}
		is.Equal(listed(), ids) // all ten, in order
		for i := range 10 {
			r := l.do("GET", fmt.Sprintf("/lim/%d", i), "")
			is.Equal(r.status, 201) // and each is served
			is.Equal(string(r.body), fmt.Sprintf("b%d", i))
		}
		r := l.do("POST", "/api/mocks", `{"method":"GET","path_pattern":"/lim/eleven"}`)
		is.Equal(r.status, 413) // the limit applies to creating
		is.Equal(r.apiError(t).Code, "mock_limit")
		is.Equal(l.do("DELETE", "/api/mocks/m9", "").status, 200) // a write, under the low limit
		is.True(!strings.Contains(s.Logs.String(), "skipped"))
		is.True(!strings.Contains(s.Logs.String(), "set aside"))
		is.NoErr(s.Stop(t))

		s = startWithStateFile(t, engine, stateFile, "--max-mock-routes", "20")
		l = newLabClient(t, s)
		is.Equal(listed(), ids[:9]) // nothing but the deleted one is gone
	})
}

// Issue #11, item 8: entries of the state file that cannot be loaded (a duplicate id, a
// wrong type, not an object) are copied verbatim to a side file before anything is written,
// named in one log line with their count; the next write leaves the side file alone, and a
// later start finds nothing more to set aside.
func TestLoadSetsAsideBadEntries(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		stateFile := filepath.Join(t.TempDir(), "state.json")
		bad := []string{
			`{"id":"a",  "method":"PUT","path_pattern":"/dup-id"}`,
			`{"id":"w","method":"GET","path_pattern":"/w","status":true,"body":"<kept>"}`,
			`"not a mock"`,
		}
		data := `{"version":1,"mocks":[
  {"id":"a","method":"GET","path_pattern":"/a","status":201},
  ` + strings.Join(bad, ",\n  ") + `,
  {"id":"b","method":"GET","path_pattern":"/b"}
],"history":[]}`
		is.NoErr(os.WriteFile(stateFile, []byte(data), 0o600))

		s := startWithStateFile(t, engine, stateFile)
		l := newLabClient(t, s)
		var got []string
		for _, m := range l.listMocks() {
			got = append(got, m.ID)
		}
		is.Equal(got, []string{"a", "b"})

		sides, err := filepath.Glob(stateFile + ".rejected.*")
		is.NoErr(err)
		is.Equal(len(sides), 1) // one side file
		side, err := os.ReadFile(sides[0])
		is.NoErr(err)
		for _, b := range bad {
			is.True(strings.Contains(string(side), `"entry":`+b)) // verbatim
		}
		var lines []string
		for line := range strings.SplitSeq(s.Logs.String(), "\n") {
			if strings.Contains(line, "set aside") {
				lines = append(lines, line)
			}
		}
		is.Equal(len(lines), 1) // one log line
		is.True(strings.Contains(lines[0], "side_file="+sides[0]))
		is.True(strings.Contains(lines[0], "count=3"))

		l.createMock(`{"id":"c","method":"GET","path_pattern":"/c"}`) // the next write
		is.NoErr(s.Stop(t))
		again, err := os.ReadFile(sides[0])
		is.NoErr(err)
		is.Equal(string(again), string(side)) // still holds them

		s = startWithStateFile(t, engine, stateFile)
		is.True(!strings.Contains(s.Logs.String(), "set aside")) // nothing more to set aside
		later, err := filepath.Glob(stateFile + ".rejected.*")
		is.NoErr(err)
		is.Equal(later, sides)
	})
}

// Issue #13: a state file written by the single-file build (testdata, version 1) is
// migrated once into the store directory; the old file is kept, the mocks serve, and a
// restart reads the store.
func TestMigratesVersion1StateFile(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "server_state.json")
	legacy, err := os.ReadFile(filepath.Join("testdata", "server_state_v1.json"))
	is.NoErr(err)
	is.NoErr(os.WriteFile(stateFile, legacy, 0o600))
	s := startWithStateFile(t, "epoll", stateFile)
	l := newLabClient(t, s)
	var got []string
	for _, m := range l.listMocks() {
		got = append(got, m.ID)
	}
	is.Equal(got, []string{"mk_legacy1", "mk_legacy2"})
	is.Equal(l.do("POST", "/legacy", "").status, 201)
	is.True(strings.Contains(s.Logs.String(), "migrated"))
	is.NoErr(s.Stop(t))
	kept, err := os.ReadFile(stateFile)
	is.NoErr(err)
	is.Equal(kept, legacy) // kept untouched
	_, err = os.Stat(filepath.Join(dir, "server_state", "store.json"))
	is.NoErr(err)
	_, err = os.Stat(filepath.Join(dir, "server_state", "mocks", "mk_legacy1.json"))
	is.NoErr(err)

	s = startWithStateFile(t, "epoll", stateFile)
	l = newLabClient(t, s)
	is.Equal(len(l.listMocks()), 2)
	is.True(!strings.Contains(s.Logs.String(), "migrated")) // once
}
