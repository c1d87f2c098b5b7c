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
type errTooNew struct{ version int64 }

func (e errTooNew) Error() string {
	return fmt.Sprintf("state file has format version %d, but this build reads version %d only; "+
		"refusing to start so the file is not overwritten (upgrade ownhttp or point --state-file elsewhere)",
		e.version, FileVersion)
}

// LoadNote is something the loader skipped or fixed, for the log.
type LoadNote struct {
	What   string // "mock" or "history"
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
			return nil, errTooNew{n}
		}
	}
	var mocks, history []json.RawMessage
	for key, dst := range map[string]*[]json.RawMessage{"mocks": &mocks, "history": &history} {
		if raw, ok := top[key]; ok && !isNull(raw) {
			if json.Unmarshal(raw, dst) != nil {
				return nil, errCorrupt{key + " is not a list"}
			}
		}
	}
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

// loadFile reads the state file into m. A missing file is an empty start. An
// unreadable or corrupt file is renamed to <file>.corrupt.<unix-ts> and
// logged, and the model starts empty. A file from a newer build is an error.
func (a *Actor) loadFile() error {
	path := a.cfg.StateFile
	now := a.cfg.Now()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		a.log.Info("state file absent, starting empty", "file", path)
		return nil
	}
	var notes []LoadNote
	if err == nil {
		notes, err = a.model.Load(data, now)
	} else {
		err = errCorrupt{"unreadable: " + err.Error()}
	}
	var tooNew errTooNew
	if errors.As(err, &tooNew) {
		return fmt.Errorf("state: %s: %w", path, err)
	}
	if err != nil {
		a.model = NewModel(a.cfg) // drop anything half-loaded
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
	a.log.Info("state loaded", "file", path, "mocks", len(a.model.mocks), "history", a.model.history.n)
	return nil
}

// isJSONObject reports whether raw starts like a JSON object.
func isJSONObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}
