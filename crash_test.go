package main

import (
	"fmt"
	"os"
	"ownhttp/internal/testkit"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// startCrashServer starts the built binary on 127.0.0.1:0 with the state file (and the
// scenario and target files beside it), in dir.
func startCrashServer(t *testing.T, bin, dir, stateFile string) *testkit.Process {
	t.Helper()
	return testkit.StartProcess(t, dir, 20*time.Second, bin, "--host", "127.0.0.1", "--port", "0",
		"--state-file", stateFile, "--scenario-state-file", filepath.Join(filepath.Dir(stateFile), "scenarios.json"),
		"--target-state-file", filepath.Join(filepath.Dir(stateFile), "targets.json"),
		"--static-dir", filepath.Join(dir, "static"), "--access-log=false")
}

// Acceptance of issues #4 and #13: every mock, scenario and target acknowledged with 201
// survives kill -9 (each is its own file in the store directory, written before the
// answer), and a corrupt mock file is set aside (<file>.corrupt.<ts>, logged, never
// deleted) while the others load.
func TestCrashKeepsAcknowledgedMocks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	is := is.New(t)
	bin := testkit.Binary(t)
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "data", "state.json")

	s := startCrashServer(t, bin, dir, stateFile)
	l := newLabClientURL(t, "http://"+s.Addr, nil)
	var ids, scenarios, targets []string
	for i := range 20 {
		m := l.createMock(fmt.Sprintf(`{"id":"m%02d","method":"GET","path_pattern":"/crash/%d","status":201,"body":"b%d"}`, i, i, i))
		ids = append(ids, m.ID)
	}
	for i := range 3 {
		scenarios = append(scenarios, l.scCreate(fmt.Sprintf(`{"name":"s%d","steps":[{"method":"GET","path":"/"}]}`, i)).ID)
		targets = append(targets, l.createTarget(fmt.Sprintf(`{"name":"t%d","base_url":"http://127.0.0.1:9"}`, i)).ID)
	}
	s.Kill() // at once after the last 201: nothing gets a chance to flush

	s = startCrashServer(t, bin, dir, stateFile)
	l = newLabClientURL(t, "http://"+s.Addr, nil)
	var got []string
	for _, m := range l.listMocks() {
		got = append(got, m.ID)
	}
	is.Equal(got, ids) // every acknowledged mock, in order
	r := l.do("GET", "/crash/19", "")
	is.Equal(r.status, 201) // and it serves
	is.Equal(string(r.body), "b19")
	var gotTargets []string
	for _, x := range l.listTargets() {
		gotTargets = append(gotTargets, x.ID)
	}
	is.Equal(gotTargets, targets) // every acknowledged target
	for _, id := range scenarios {
		is.Equal(l.do("GET", "/api/scenarios/"+id, "").status, 200) // every acknowledged scenario
	}
	s.Kill()

	bad := filepath.Join(dir, "data", "state", "mocks", "m07.json")
	is.NoErr(os.WriteFile(bad, []byte(`{"id":"trunc`), 0o600))
	s = startCrashServer(t, bin, dir, stateFile)
	l = newLabClientURL(t, "http://"+s.Addr, nil)
	is.Equal(len(l.listMocks()), 19) // the others load
	backups, err := filepath.Glob(bad + ".corrupt.*")
	is.NoErr(err)
	is.Equal(len(backups), 1) // the corrupt file was set aside
	b, err := os.ReadFile(backups[0])
	is.NoErr(err)
	is.Equal(string(b), `{"id":"trunc`)      // untouched
	s.WaitLogs(t, filepath.Base(backups[0])) // and logged
	is.True(strings.Contains(s.Logs(), "corrupt"))
	l.createMock(`{"method":"GET","path_pattern":"/after"}`) // and works
	s.Kill()
}
