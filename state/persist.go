package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
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
	flag    string // the flag naming the file; "" means --state-file
}

func (e errTooNew) Error() string {
	flag := e.flag
	if flag == "" {
		flag = "--state-file"
	}
	return fmt.Sprintf("state file has format version %d, but this build reads version %d only; "+
		"refusing to start so the file is not overwritten (upgrade ownhttp or point %s elsewhere)",
		e.version, FileVersion, flag)
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

// LoadNote is something the loader skipped or fixed, for the log.
type LoadNote struct {
	What   string // "mock", "history", "scenario", "run" or "target"
	Index  int    // position in the file's array
	Reason string
}

// Load fills an empty model from the bytes of a state file
// {"version":1,"mocks":[…],"history":[…]}. A missing version counts as 1; a
// missing or null mocks or history as empty. Mocks that fail validation (or
// clash with an earlier one, or exceed MaxMocks) and history entries that are
// not objects are skipped and reported in notes; timestamps that do not parse
// are set to now; history is trimmed to its newest HistoryLimit entries and
// credentials in it are redacted. The error is non-nil when the file is
// unusable: errTooNew for a version above FileVersion, errCorrupt otherwise.
func (m *Model) Load(data []byte, now time.Time) (notes []LoadNote, err error) {
	lists, err := readStateFile(data, "mocks", "history")
	if err != nil {
		return nil, err
	}
	mocks, history := lists[0], lists[1]
	nowTS := FormatTime(now)
	for i, raw := range mocks {
		if reason := m.loadMock(raw, nowTS); reason != "" {
			notes = append(notes, LoadNote{What: "mock", Index: i, Reason: reason})
		}
	}
	if extra := len(history) - m.cfg.HistoryLimit; extra > 0 {
		history = history[extra:]
	}
	for i, raw := range history {
		var e HistoryEntry
		if !isJSONObject(raw) || json.Unmarshal(raw, &e) != nil {
			notes = append(notes, LoadNote{What: "history", Index: i, Reason: "not a history object"})
			continue
		}
		m.AddHistory(e)
	}
	return notes, nil
}

// loadMock validates and inserts one stored mock, keeping its id and
// timestamps. It returns why it was skipped, or "".
func (m *Model) loadMock(raw json.RawMessage, nowTS string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return "not an object"
	}
	in, e := mockInputFromObject(obj)
	if e != nil {
		return e.Message
	}
	if in.ID == nil || !validID(*in.ID) {
		return "missing or invalid id"
	}
	if in.Method == nil || in.PathPattern == nil {
		return "missing method or path_pattern"
	}
	f := mockFields{id: *in.ID, method: *in.Method, path: *in.PathPattern, status: 200, contentType: "application/json"}
	if in.Status != nil {
		f.status = *in.Status
	}
	if in.HasHeaders {
		f.headers = in.Headers
	}
	if in.Body != nil {
		f.body = *in.Body
	}
	if in.ContentType != nil {
		f.contentType = *in.ContentType
	}
	stamp := func(key string) string {
		var s string
		if raw, ok := obj[key]; ok && json.Unmarshal(raw, &s) == nil {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				return FormatTime(t)
			}
		}
		return nowTS
	}
	if _, e := m.insert(f, stamp("created_at"), stamp("updated_at")); e != nil {
		return e.Code + ": " + e.Message
	}
	return ""
}

// readStateFile checks the envelope of a state file, {"version":1, key:[…],
// …}, and returns the lists named by keys, in order. A missing version counts
// as 1; a missing or null list as empty. The error is errTooNew for a version
// above FileVersion, errCorrupt for anything else unusable.
func readStateFile(data []byte, keys ...string) ([][]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return nil, errCorrupt{"not a JSON object"}
	}
	if raw, ok := top["version"]; ok && !isNull(raw) {
		var v json.Number
		if raw[0] == '"' || json.Unmarshal(raw, &v) != nil {
			return nil, errCorrupt{"version is not a number"}
		}
		n, err := v.Int64()
		if err != nil {
			return nil, errCorrupt{"version is not an integer"}
		}
		if n > FileVersion {
			return nil, errTooNew{version: n}
		}
	}
	lists := make([][]json.RawMessage, len(keys))
	for i, key := range keys {
		if raw, ok := top[key]; ok && !isNull(raw) {
			if firstByte(raw) != '[' || json.Unmarshal(raw, &lists[i]) != nil {
				return nil, errCorrupt{key + " is not a list"}
			}
		}
	}
	return lists, nil
}

// loadStamp returns obj[key] as a timestamp in our form, or nowTS when it is
// absent or does not parse as RFC 3339.
func loadStamp(obj map[string]json.RawMessage, key, nowTS string) string {
	var s string
	if raw, ok := obj[key]; ok && json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return FormatTime(t)
		}
	}
	return nowTS
}

// LoadScenarios fills a model without scenarios from the bytes of a scenario
// file {"version":1,"scenarios":[…],"runs":[…]}. Scenarios are validated as
// on create, with the configured limits, and keep their id and timestamps
// (timestamps that do not parse become now); a scenario without an id, or one
// that fails validation, clashes with an earlier one or exceeds MaxScenarios
// is skipped. Runs of unknown scenarios, runs without a usable run_id and
// entries that are not run objects are skipped; each scenario keeps its
// newest MaxRunsPerScenario runs (the file lists runs oldest first). Skips
// are reported in notes. Errors as for Load.
func (m *Model) LoadScenarios(data []byte, now time.Time) (notes []LoadNote, err error) {
	lists, err := readStateFile(data, "scenarios", "runs")
	if err != nil {
		return nil, err
	}
	nowTS := FormatTime(now)
	lim := m.cfg.ScenarioLimits()
	for i, raw := range lists[0] {
		reason := ""
		if obj, ok := decodeObject(raw); !ok {
			reason = "not an object"
		} else if sc, e := scenarioFromObject(obj, lim); e != nil {
			reason = e.Message
		} else if sc.ID == "" {
			reason = "missing id"
		} else if _, e := m.insertScenario(sc, loadStamp(obj, "created_at", nowTS), loadStamp(obj, "updated_at", nowTS)); e != nil {
			reason = e.Code + ": " + e.Message
		}
		if reason != "" {
			notes = append(notes, LoadNote{What: "scenario", Index: i, Reason: reason})
		}
	}
	for i, raw := range lists[1] {
		var r RunReport
		reason := ""
		if !isJSONObject(raw) || json.Unmarshal(raw, &r) != nil {
			reason = "not a run object"
		} else if r.RunID == "" {
			reason = "missing run_id"
		} else if _, e := m.AddRun(r.ScenarioID, r); e != nil {
			reason = e.Code + ": " + e.Message
		}
		if reason != "" {
			notes = append(notes, LoadNote{What: "run", Index: i, Reason: reason})
		}
	}
	return notes, nil
}

// LoadTargets fills a model without targets from the bytes of a target file
// {"version":1,"targets":[…]}. Targets are validated as on create and keep
// their id and timestamps; a target without an id, or one that fails
// validation, clashes with an earlier one or exceeds MaxTargets, is skipped
// and reported in notes; extra keys are dropped. Errors as for Load.
func (m *Model) LoadTargets(data []byte, now time.Time) (notes []LoadNote, err error) {
	lists, err := readStateFile(data, "targets")
	if err != nil {
		return nil, err
	}
	nowTS := FormatTime(now)
	for i, raw := range lists[0] {
		reason := ""
		if obj, ok := decodeObject(raw); !ok {
			reason = "not an object"
		} else if in, e := targetFromObject(obj, false); e != nil {
			reason = e.Message
		} else if in.ID == nil {
			reason = "missing id"
		} else {
			f := targetFields{id: *in.ID, enabled: true, timeoutMS: DefaultTargetTimeoutMS}
			f.apply(in)
			if _, e := m.insertTarget(f, loadStamp(obj, "created_at", nowTS), loadStamp(obj, "updated_at", nowTS)); e != nil {
				reason = e.Code + ": " + e.Message
			}
		}
		if reason != "" {
			notes = append(notes, LoadNote{What: "target", Index: i, Reason: reason})
		}
	}
	return notes, nil
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

// fileState is what the writer marshals. Its slices are owned by the job.
type fileState struct {
	Version int            `json:"version"`
	Mocks   []*Mock        `json:"mocks"`
	History []HistoryEntry `json:"history"`
}

// encodeState renders the state file: indented by two spaces, with a final
// newline.
func encodeState(mocks []*Mock, history []HistoryEntry) ([]byte, error) {
	if mocks == nil {
		mocks = []*Mock{}
	}
	if history == nil {
		history = []HistoryEntry{}
	}
	b, err := json.MarshalIndent(fileState{Version: FileVersion, Mocks: mocks, History: history}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// scenarioFileState is the scenario file's format.
type scenarioFileState struct {
	Version   int          `json:"version"`
	Scenarios []*Scenario  `json:"scenarios"`
	Runs      []*RunReport `json:"runs"`
}

// encodeScenarios renders the scenario file, indented by two spaces, with a
// final newline.
func encodeScenarios(scenarios []*Scenario, runs []*RunReport) ([]byte, error) {
	if scenarios == nil {
		scenarios = []*Scenario{}
	}
	if runs == nil {
		runs = []*RunReport{}
	}
	b, err := json.MarshalIndent(scenarioFileState{Version: FileVersion, Scenarios: scenarios, Runs: runs}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// targetFileState is the target file's format.
type targetFileState struct {
	Version int       `json:"version"`
	Targets []*Target `json:"targets"`
}

// encodeTargets renders the target file, indented by two spaces, with a
// final newline.
func encodeTargets(targets []*Target) ([]byte, error) {
	if targets == nil {
		targets = []*Target{}
	}
	b, err := json.MarshalIndent(targetFileState{Version: FileVersion, Targets: targets}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new content: it writes path.tmp in the same directory, fsyncs
// it, renames it over path and fsyncs the directory. Missing parent
// directories are created. The file is created mode 0600: history can hold
// request bodies.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// loadFile reads state file f into the model. A missing file is an empty
// start. An unreadable or corrupt file is renamed to <file>.corrupt.<unix-ts>
// and logged, and that file's state starts empty. A file from a newer build
// is an error.
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
	for _, n := range notes {
		a.log.Warn("state file entry skipped", "file", path, "kind", n.What, "index", n.Index, "reason", n.Reason)
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

// isJSONObject reports whether raw starts like a JSON object.
func isJSONObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}
