package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"ownhttp/internal/atomicfile"
)

// FileVersion is the state file format version this build reads and writes.
// A file with a higher version makes New fail rather than lose data.
const FileVersion = 1

// errCorrupt marks a state file that cannot be used and should be set aside.
type errCorrupt struct{ reason string }

func (e errCorrupt) Error() string { return "state file is corrupt: " + e.reason }

// errTooNew marks a state file written by a newer build.
type errTooNew struct {
	version int64
	max     int    // the newest version this build reads; 0 means FileVersion
	flag    string // the flag naming the file; "" means --state-file
}

func (e errTooNew) Error() string {
	flag := e.flag
	if flag == "" {
		flag = "--state-file"
	}
	most := e.max
	if most == 0 {
		most = FileVersion
	}
	return fmt.Sprintf("state has format version %d, but this build reads up to version %d only; "+
		"refusing to start so the state is not overwritten (upgrade ownhttp or point %s elsewhere)",
		e.version, most, flag)
}

// fileFlag returns the command-line flag that names file f.
func fileFlag(f fileSet) string {
	switch f {
	case fileScenarios:
		return "--scenario-state-file"
	case fileTargets:
		return "--target-state-file"
	}
	return "--state-file"
}

// LoadNote is an entry of a state file that the loader did not keep: it cannot
// be loaded (not an object, a wrong type, an invalid value, a clash with an
// earlier entry) or a ring dropped it (history beyond HistoryLimit, runs beyond
// MaxRunsPerScenario). The actor copies every note, Raw verbatim, to a side
// file before the state file can be written again (see loadFile).
type LoadNote struct {
	What   string          // "mock", "history", "scenario", "run" or "target"
	Index  int             // position in the file's array
	Reason string          // why it was not kept
	Raw    json.RawMessage // the entry, exactly as it was in the file
}

// Load fills an empty model from the bytes of a state file
// {"version":1,"mocks":[…],"history":[…]}. A missing version counts as 1; a
// missing or null mocks or history as empty. Every stored mock that passes
// validation and does not clash with an earlier one is loaded, however many
// MaxMocks allows and however large MaxMockBodyBytes allows its body (limits
// apply to creating: past MaxMocks, CreateMock is refused until mocks are
// deleted). History keeps its newest HistoryLimit entries, as the ring does at
// run time; credentials in it are redacted. Mocks that cannot be loaded, history
// entries that are not objects and history entries beyond the ring are
// returned in notes. Timestamps that do not parse are set to now. The error is
// non-nil when the file is unusable: errTooNew for a version above
// FileVersion, errCorrupt otherwise.
func (m *Model) Load(data []byte, now time.Time) (notes []LoadNote, err error) {
	lists, err := readStateFile(data, "mocks", "history")
	if err != nil {
		return nil, err
	}
	mocks, history := lists[0], lists[1]
	nowTS := FormatTime(now)
	for i, raw := range mocks {
		if reason := m.loadMock(raw, nowTS); reason != "" {
			notes = append(notes, LoadNote{What: "mock", Index: i, Reason: reason, Raw: raw})
		}
	}
	extra := max(len(history)-m.cfg.HistoryLimit, 0)
	for i, raw := range history {
		var e HistoryEntry
		switch {
		case i < extra:
			notes = append(notes, LoadNote{What: "history", Index: i, Raw: raw,
				Reason: "older than the newest " + strconv.Itoa(m.cfg.HistoryLimit) + " entries the history keeps"})
		case firstByte(raw) != '{' || json.Unmarshal(raw, &e) != nil:
			notes = append(notes, LoadNote{What: "history", Index: i, Reason: "not a history object", Raw: raw})
		default:
			m.AddHistory(e)
		}
	}
	return notes, nil
}

// loadMock validates and inserts one stored mock, keeping its id and
// timestamps, without the limits on creating. It returns why it was not
// loaded, or "".
func (m *Model) loadMock(raw json.RawMessage, nowTS string) string {
	obj, ok := decodeObject(raw)
	if !ok {
		return "not an object"
	}
	in, e := mockInputFromObject(obj)
	if e != nil {
		return e.Message
	}
	if in.ID == nil || !validID(*in.ID) {
		return "missing or invalid id"
	}
	if in.Method == nil || in.PathPattern == nil && in.PathRegex == nil {
		return "missing method or path_pattern"
	}
	f := m.newFields()
	f.id = *in.ID
	in.overlay(&f)
	if _, e := m.insert(f, decodeStamp(obj, "created_at", nowTS), decodeStamp(obj, "updated_at", nowTS), false); e != nil {
		return e.Code + ": " + e.Message
	}
	return ""
}

// readStateFile checks the envelope of a state file, {"version":1, key:[…],
// …}, and returns the lists named by keys, in order. A missing version counts
// as 1; a missing or null list as empty. The error is errTooNew for a version
// above FileVersion, errCorrupt for anything else unusable.
func readStateFile(data []byte, keys ...string) ([][]json.RawMessage, error) {
	top, ok := decodeObject(data)
	if !ok {
		return nil, errCorrupt{"not a JSON object"}
	}
	if raw, ok := present(top, "version"); ok {
		lit, ok := decodeNumber(raw)
		if !ok {
			return nil, errCorrupt{"version is not a number"}
		}
		n, err := strconv.ParseInt(lit, 10, 64)
		if err != nil {
			return nil, errCorrupt{"version is not an integer"}
		}
		if n > FileVersion {
			return nil, errTooNew{version: n}
		}
	}
	lists := make([][]json.RawMessage, len(keys))
	for i, key := range keys {
		if raw, ok := present(top, key); ok {
			if lists[i], ok = decodeArray(raw); !ok {
				return nil, errCorrupt{key + " is not a list"}
			}
		}
	}
	return lists, nil
}

// LoadScenarios fills a model without scenarios from the bytes of a scenario
// file {"version":1,"scenarios":[…],"runs":[…]}. Scenarios are validated as
// on create but without the limits on creating (MaxScenarios, MaxSteps,
// MaxAssertions, MaxStepDelay), and keep their id and timestamps (timestamps
// that do not parse become now). Each scenario keeps its newest
// MaxRunsPerScenario runs (the file lists runs oldest first), as it does at run
// time. Returned in notes: scenarios without an id, failing validation or
// clashing with an earlier one; runs of unknown scenarios, runs without a usable
// run_id, entries that are not run objects, and runs beyond MaxRunsPerScenario.
// Errors as for Load.
func (m *Model) LoadScenarios(data []byte, now time.Time) (notes []LoadNote, err error) {
	lists, err := readStateFile(data, "scenarios", "runs")
	if err != nil {
		return nil, err
	}
	nowTS := FormatTime(now)
	for i, raw := range lists[0] {
		if reason := m.loadScenario(raw, nowTS); reason != "" {
			notes = append(notes, LoadNote{What: "scenario", Index: i, Reason: reason, Raw: raw})
		}
	}
	runs := lists[1]
	reasons := make([]string, len(runs))
	added := make([]*RunReport, len(runs))
	for i, raw := range runs {
		added[i], reasons[i] = m.loadRun1(raw)
	}
	for i, raw := range runs {
		if x := added[i]; x != nil && m.runByID[x.RunID] != x { // a newer run pushed it out
			reasons[i] = "older than the newest " + strconv.Itoa(m.cfg.MaxRunsPerScenario) + " runs its scenario keeps"
		}
		if reasons[i] != "" {
			notes = append(notes, LoadNote{What: "run", Index: i, Reason: reasons[i], Raw: raw})
		}
	}
	return notes, nil
}

// LoadTargets fills a model without targets from the bytes of a target file
// {"version":1,"targets":[…]}. Targets are validated as on create, but
// without MaxTargets, and keep their id and timestamps; extra keys are
// dropped. A target without an id, or one that fails validation or clashes
// with an earlier one, is returned in notes. Errors as for Load.
func (m *Model) LoadTargets(data []byte, now time.Time) (notes []LoadNote, err error) {
	lists, err := readStateFile(data, "targets")
	if err != nil {
		return nil, err
	}
	nowTS := FormatTime(now)
	for i, raw := range lists[0] {
		if reason := m.loadTarget(raw, nowTS); reason != "" {
			notes = append(notes, LoadNote{What: "target", Index: i, Reason: reason, Raw: raw})
		}
	}
	return notes, nil
}

// loadScenario validates and inserts one stored scenario (see LoadScenarios).
// It returns why it was not loaded, or "".
func (m *Model) loadScenario(raw json.RawMessage, nowTS string) string {
	obj, ok := decodeObject(raw)
	if !ok {
		return "not an object"
	}
	sc, e := scenarioFromObject(obj, noScenarioLimits(), false)
	if e != nil {
		return e.Message
	}
	if sc.ID == "" {
		return "missing id"
	}
	if _, e := m.insertScenario(sc, decodeStamp(obj, "created_at", nowTS), decodeStamp(obj, "updated_at", nowTS), false); e != nil {
		return e.Code + ": " + e.Message
	}
	return ""
}

// loadRun1 adds one stored run (see LoadScenarios) and returns it, or why it
// was not loaded.
func (m *Model) loadRun1(raw json.RawMessage) (*RunReport, string) {
	var r RunReport
	if firstByte(raw) != '{' || json.Unmarshal(raw, &r) != nil {
		return nil, "not a run object"
	}
	if r.RunID == "" {
		return nil, "missing run_id"
	}
	x, e := m.AddRun(r.ScenarioID, r)
	if e != nil {
		return nil, e.Code + ": " + e.Message
	}
	return x, ""
}

// loadRun adds one stored run and returns why it was not loaded, or "".
func (m *Model) loadRun(raw json.RawMessage) string {
	_, reason := m.loadRun1(raw)
	return reason
}

// loadTarget validates and inserts one stored target (see LoadTargets). It
// returns why it was not loaded, or "".
func (m *Model) loadTarget(raw json.RawMessage, nowTS string) string {
	obj, ok := decodeObject(raw)
	if !ok {
		return "not an object"
	}
	in, e := targetFromObject(obj, false)
	if e != nil {
		return e.Message
	}
	if in.ID == nil {
		return "missing id"
	}
	f := targetFields{id: *in.ID, enabled: true, timeoutMS: DefaultTargetTimeoutMS}
	f.apply(in)
	if _, e := m.insertTarget(f, decodeStamp(obj, "created_at", nowTS), decodeStamp(obj, "updated_at", nowTS), false); e != nil {
		return e.Code + ": " + e.Message
	}
	return ""
}

// resetFile empties the state held in file f (after a corrupt file, so that
// nothing half-loaded stays).
func (m *Model) resetFile(f fileSet) {
	switch f {
	case fileMain:
		m.mocks, m.byID, m.seq = nil, make(map[string]*Mock), 0
		m.history = newHistoryRing(m.cfg.HistoryLimit)
	case fileScenarios:
		m.scenarios, m.scenByID = nil, make(map[string]*Scenario)
		m.runs, m.runByID = make(map[string][]*RunReport), make(map[string]*RunReport)
	case fileTargets:
		m.targets, m.targetByID = nil, make(map[string]*Target)
	}
}

// loadFile reads state file f into the model. A missing file is an empty
// start. An unreadable or corrupt file is renamed to <file>.corrupt.<unix-ts>
// and logged, and that file's state starts empty. A file from a newer build
// is an error. Entries the loader did not keep are copied to a new side file
// (setAside) and named in one log line before loadFile returns, so before the
// file can be written again; when that copy fails, loadFile fails too, since
// the next write would lose them.
func (a *Actor) loadFile(f fileSet) error {
	path := a.cfg.path(f)
	now := a.cfg.Now()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		a.log.Info("state file absent, starting empty", "file", path)
		return nil
	}
	var notes []LoadNote
	if err == nil {
		switch f {
		case fileMain:
			notes, err = a.model.Load(data, now)
		case fileScenarios:
			notes, err = a.model.LoadScenarios(data, now)
		case fileTargets:
			notes, err = a.model.LoadTargets(data, now)
		}
	} else {
		err = errCorrupt{"unreadable: " + err.Error()}
	}
	var tooNew errTooNew
	if errors.As(err, &tooNew) {
		tooNew.flag = fileFlag(f)
		return fmt.Errorf("state: %s: %w", path, tooNew)
	}
	if err != nil {
		a.model.resetFile(f) // drop anything half-loaded
		backup := fmt.Sprintf("%s.corrupt.%d", path, now.Unix())
		if rerr := os.Rename(path, backup); rerr != nil {
			a.log.Error("state file corrupt and could not be set aside; starting empty",
				"file", path, "reason", err.Error(), "rename_error", rerr.Error())
		} else {
			a.log.Error("state file corrupt; set aside, starting empty",
				"file", path, "backup", backup, "reason", err.Error())
		}
		return nil
	}
	if len(notes) > 0 {
		side, err := setAside(path, now, notes)
		if err != nil {
			return fmt.Errorf("state: %s: %d entries cannot be loaded and could not be set aside (%w); "+
				"refusing to start so that the next write does not lose them", path, len(notes), err)
		}
		a.log.Warn("state file entries set aside", "file", path, "side_file", side, "count", len(notes))
	}
	switch f {
	case fileMain:
		a.log.Info("state loaded", "file", path, "mocks", len(a.model.mocks), "history", a.model.history.n)
	case fileScenarios:
		a.log.Info("scenarios loaded", "file", path, "scenarios", len(a.model.scenarios), "runs", len(a.model.runByID))
	case fileTargets:
		a.log.Info("targets loaded", "file", path, "targets", len(a.model.targets))
	}
	return nil
}

// setAside writes notes to a new side file next to path and returns its name:
// <path>.rejected.<unix-ts>.json, or <path>.rejected.<unix-ts>-<n>.json (n = 2,
// 3, …) when that name is taken, so that an earlier side file is never
// overwritten. It is written like a state file (writeStateFile) and holds
// {"version":1,"file":path,"entries":[{"kind":…,"index":…,"reason":…,"entry":…},…]},
// each entry exactly the bytes it had in path.
func setAside(path string, now time.Time, notes []LoadNote) (string, error) {
	name := fmt.Sprintf("%s.rejected.%d.json", path, now.Unix())
	for n := 2; ; n++ {
		_, err := os.Lstat(name)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return "", err
		}
		name = fmt.Sprintf("%s.rejected.%d-%d.json", path, now.Unix(), n)
	}
	return name, writeStateFile(name, encodeSetAside(path, notes))
}

// encodeSetAside renders the side file of setAside, one entry a line (an entry
// keeps its own line breaks).
func encodeSetAside(path string, notes []LoadNote) []byte {
	str := func(s string) []byte { b, _ := json.Marshal(s); return b } // a string always marshals
	b := append([]byte("{\n  \"version\": 1,\n  \"file\": "), str(path)...)
	b = append(b, ",\n  \"entries\": ["...)
	for i, n := range notes {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "\n    {\"kind\":%s,\"index\":%d,\"reason\":%s,\"entry\":", str(n.What), n.Index, str(n.Reason))
		b = append(b, n.Raw...)
		b = append(b, '}')
	}
	return append(b, "\n  ]\n}\n"...)
}

// writeStateFile replaces path with data through atomicfile.Write, mode 0600: history can
// hold request bodies.
func writeStateFile(path string, data []byte) error { return atomicfile.Write(path, data, 0o600) }
