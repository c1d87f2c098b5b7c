package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// StoreVersion is the store directory format this build reads and writes. A
// store.json with a higher version makes New fail rather than lose data.
// Version 1 was the single JSON file (FileVersion), still read for migration.
const StoreVersion = 2

// historyLog is the history log in the main store, appended to; historyPrevious is the
// log as it was when it last filled up (it rotates at HistoryLimit lines). Together they
// hold at least the newest HistoryLimit entries and at most twice that.
const (
	historyLog      = "history.jsonl"
	historyPrevious = "history.1.jsonl"
)

// StoreDir returns the store directory of a state flag's path: the path with
// a trailing ".json" removed, else the path plus ".d". "" stays "".
func StoreDir(path string) string {
	if path == "" {
		return ""
	}
	if base, ok := strings.CutSuffix(path, ".json"); ok && filepath.Base(base) != "" && filepath.Base(base) != "." {
		return base
	}
	return path + ".d"
}

// storeMarker is store.json.
type storeMarker struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"` // "main", "scenarios" or "targets"
}

// fileKind names store f in its marker.
func fileKind(f fileSet) string {
	switch f {
	case fileScenarios:
		return "scenarios"
	case fileTargets:
		return "targets"
	}
	return "main"
}

// entryDir is the writer's record of one directory of entry files: the
// pointer it last wrote for each id. Values are immutable and copy-on-write,
// so a changed pointer is a changed entry. A nil pointer is a file on disk
// whose entry is gone (it is removed at the next write). Owned by the writer
// goroutine (before Run, by New).
type entryDir[T any] struct {
	sub     string // subdirectory in the store: "mocks", "scenarios", "runs", "targets"
	written map[string]*T
	made    bool // the directory exists
}

func newEntryDir[T any](sub string) *entryDir[T] {
	return &entryDir[T]{sub: sub, written: make(map[string]*T)}
}

// sync makes the directory match items: it writes <id>.json for each item
// whose pointer differs from the one last written, and removes the files of
// ids no longer present, then fsyncs the directory. Its cost is in
// proportion to the change (plus a walk over the pointers). After an error,
// what did not get done is retried at the next call.
func (d *entryDir[T]) sync(store string, items []*T, id func(*T) string, write func(string, []byte) error) error {
	dir := filepath.Join(store, d.sub)
	if !d.made {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		d.made = true
	}
	seen := make(map[string]bool, len(items))
	var firstErr error
	removed := false
	for _, x := range items {
		k := id(x)
		seen[k] = true
		if d.written[k] == x {
			continue
		}
		b, err := json.MarshalIndent(x, "", "  ")
		if err == nil {
			err = write(filepath.Join(dir, k+".json"), append(b, '\n'))
		}
		if err != nil {
			firstErr = cmp(firstErr, err)
			continue
		}
		d.written[k] = x
	}
	for k := range d.written {
		if seen[k] {
			continue
		}
		err := os.Remove(filepath.Join(dir, k+".json"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			firstErr = cmp(firstErr, err)
			continue
		}
		delete(d.written, k)
		removed = true
	}
	if removed {
		if err := syncDir(dir); err != nil {
			firstErr = cmp(firstErr, err)
		}
	}
	return firstErr
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// syncDir fsyncs directory dir, so that a removal in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// historyWriter appends history entries to history.jsonl. Owned by the
// writer goroutine (before Run, by New).
type historyWriter struct {
	limit   int
	epoch   uint64         // the model's history epoch last seen
	lines   int            // lines in history.jsonl
	tail    []HistoryEntry // the newest limit entries, for rewriting the log
	rewrite bool           // the log must be rewritten from tail before appending
	written atomic.Uint64  // bytes written to the log; read from any goroutine (Stats)
}

// add takes entries newer than those of the last call (in epoch); after a
// clear (a new epoch) the log is rewritten with them only.
func (h *historyWriter) add(epoch uint64, entries []HistoryEntry) {
	if epoch != h.epoch {
		h.epoch, h.tail, h.rewrite = epoch, nil, true
	}
	h.tail = append(h.tail, entries...)
	if extra := len(h.tail) - h.limit; extra > 0 {
		h.tail = append(h.tail[:0:0], h.tail[extra:]...)
	}
}

// flush appends entries (already added) to history.jsonl and fsyncs it. When the log
// would pass limit lines it is first renamed to history.1.jsonl (replacing the one
// before), so every entry is written once and nothing is rewritten: the bytes written
// are the history's own. After a clear or a failed write (a torn line may remain) the
// log is rewritten atomically from tail instead and history.1.jsonl removed.
func (h *historyWriter) flush(store string, entries []HistoryEntry, write func(string, []byte) error) error {
	path := filepath.Join(store, historyLog)
	if h.rewrite {
		data, err := encodeLines(h.tail)
		if err == nil {
			err = write(path, data)
		}
		if err == nil {
			err = removeSynced(filepath.Join(store, historyPrevious))
		}
		if err != nil {
			return err
		}
		h.written.Add(uint64(len(data)))
		h.lines, h.rewrite = len(h.tail), false
		return nil
	}
	limit := max(h.limit, 1)
	if len(entries) == 0 {
		return nil
	}
	if extra := len(entries) - limit; extra > 0 {
		entries = entries[extra:] // the older ones left the history before they were written
	}
	if h.lines > 0 && h.lines+len(entries) > limit {
		// The directory is fsynced by the append that creates the new log.
		if err := os.Rename(path, filepath.Join(store, historyPrevious)); err != nil {
			h.rewrite = true
			return err
		}
		h.lines = 0
	}
	n, err := appendLines(path, entries)
	h.written.Add(uint64(n))
	if err != nil {
		h.rewrite = true // a partial append may have left a torn line
		return err
	}
	h.lines += len(entries)
	return nil
}

// removeSynced removes path, if it exists, and fsyncs its directory.
func removeSynced(path string) error {
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return syncDir(filepath.Dir(path))
}

// encodeLines renders entries one JSON object a line.
func encodeLines(entries []HistoryEntry) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeLines(&buf, entries); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeLines writes entries to w, one JSON object a line: the history log's format.
func writeLines(w io.Writer, entries []HistoryEntry) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return err
		}
	}
	return nil
}

// appendLines appends entries to path (mode 0600), one JSON object a line, through a
// small buffer (a batch of large entries is never held whole), and fsyncs it; a new file's
// directory entry is fsynced too. It returns the bytes written.
func appendLines(path string, entries []HistoryEntry) (int64, error) {
	_, statErr := os.Lstat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 64<<10)
	err = writeLines(bw, entries)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && statErr != nil {
		err = syncDir(filepath.Dir(path))
	}
	return cw.n, err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// storeWriter is the writer goroutine's view of the three stores.
type storeWriter struct {
	mocks     *entryDir[Mock]
	history   historyWriter
	scenarios *entryDir[Scenario]
	runs      *entryDir[RunReport]
	targets   *entryDir[Target]
	ready     fileSet // stores whose store.json is on disk
}

func newStoreWriter(historyLimit int) *storeWriter {
	return &storeWriter{
		mocks:     newEntryDir[Mock]("mocks"),
		history:   historyWriter{limit: historyLimit},
		scenarios: newEntryDir[Scenario]("scenarios"),
		runs:      newEntryDir[RunReport]("runs"),
		targets:   newEntryDir[Target]("targets"),
	}
}

// apiMocks returns the mocks the store persists: those not from mock files.
func apiMocks(mocks []*Mock) []*Mock {
	for i, x := range mocks {
		if x.FromFile() {
			out := append([]*Mock(nil), mocks[:i]...)
			for _, y := range mocks[i+1:] {
				if !y.FromFile() {
					out = append(out, y)
				}
			}
			return out
		}
	}
	return mocks
}

// writeStore brings store f (directory dir) up to date with job.
func (w *storeWriter) writeStore(f fileSet, dir string, job *writeJob, write func(string, []byte) error) error {
	if w.ready&f == 0 { // a new store: its marker first, so it is never mistaken for an older layout
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := writeMarker(f, dir); err != nil {
			return err
		}
		w.ready |= f
	}
	switch f {
	case fileMain:
		err := w.mocks.sync(dir, apiMocks(job.mocks), func(x *Mock) string { return x.ID }, write)
		if job.mockStates != nil {
			err = cmp(err, write(filepath.Join(dir, mockStatesFile), job.mockStates))
		}
		w.history.add(job.historyEpoch, job.history)
		return cmp(err, w.history.flush(dir, job.history, write))
	case fileScenarios:
		err := w.scenarios.sync(dir, job.scenarios, func(x *Scenario) string { return x.ID }, write)
		return cmp(err, w.runs.sync(dir, job.runs, func(x *RunReport) string { return x.RunID }, write))
	case fileTargets:
		return w.targets.sync(dir, job.targets, func(x *Target) string { return x.ID }, write)
	}
	return nil
}

// writeMarker writes store.json of store f in dir.
func writeMarker(f fileSet, dir string) error {
	b, _ := json.Marshal(storeMarker{Version: StoreVersion, Kind: fileKind(f)}) // always marshals
	return writeStateFile(filepath.Join(dir, "store.json"), append(b, '\n'))
}

// readMarker reads store.json in dir. ok is false when it does not exist.
func readMarker(dir string) (ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, "store.json"))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var mk storeMarker
	if err := json.Unmarshal(data, &mk); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Join(dir, "store.json"), err)
	}
	if mk.Version > StoreVersion {
		return false, errTooNew{version: int64(mk.Version), max: StoreVersion}
	}
	return true, nil
}

// storedEntry is one entry file read from a store directory.
type storedEntry struct {
	name string // file path
	raw  []byte
	at   string // created_at / started_at, for the load order
	mod  int64  // the file's modification time in ns, for the order within one created_at
	id   string
}

// readEntries reads every <id>.json of dir/sub, ordered by the time field
// named by stamp, then by the file's modification time (entries created in
// the same millisecond: creation order, unless one was updated since), then
// by id. A file that cannot be read is returned in bad.
func readEntries(dir, sub, stamp string) (out []storedEntry, err error) {
	d := filepath.Join(dir, sub)
	list, err := os.ReadDir(d)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, de := range list {
		name := de.Name()
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || strings.HasPrefix(name, ".") || !de.Type().IsRegular() {
			continue
		}
		e := storedEntry{name: filepath.Join(d, name), id: id}
		if fi, err := de.Info(); err == nil {
			e.mod = fi.ModTime().UnixNano()
		}
		e.raw, err = os.ReadFile(e.name)
		if err != nil {
			return nil, err
		}
		var head map[string]json.RawMessage
		if json.Unmarshal(e.raw, &head) == nil {
			_ = json.Unmarshal(head[stamp], &e.at)
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].at != out[j].at {
			return out[i].at < out[j].at
		}
		if out[i].mod != out[j].mod {
			return out[i].mod < out[j].mod
		}
		return out[i].id < out[j].id
	})
	return out, nil
}

// setAsideFile renames a corrupt entry file to <name>.corrupt.<unix-ts> and
// logs it; it never deletes.
func (a *Actor) setAsideFile(e storedEntry, reason string, now time.Time) {
	backup := fmt.Sprintf("%s.corrupt.%d", e.name, now.Unix())
	if err := os.Rename(e.name, backup); err != nil {
		a.log.Error("stored entry cannot be loaded and could not be set aside; it stays and is not loaded",
			"file", e.name, "reason", reason, "rename_error", err.Error())
		return
	}
	a.log.Error("stored entry cannot be loaded; set aside", "file", e.name, "backup", backup, "reason", reason)
}

// openStore loads store f: from its directory when it has a store.json;
// else, once, from the legacy file at the flag's path (migrating it into the
// directory, the old file kept); else an empty new store.
func (a *Actor) openStore(f fileSet) error {
	path := a.cfg.path(f)
	dir := StoreDir(path)
	ok, err := readMarker(dir)
	var tooNew errTooNew
	if errors.As(err, &tooNew) {
		tooNew.flag = fileFlag(f)
		return fmt.Errorf("state: %s: %w", dir, tooNew)
	}
	if err != nil {
		return fmt.Errorf("state: store %s: %w", dir, err)
	}
	if ok {
		a.store.ready |= f
		return a.loadStore(f, dir)
	}
	if _, err := os.Stat(path); err != nil {
		// No legacy file: a new store, created with its marker at the first
		// write. Entries a crash left before that marker still load.
		if _, err := os.Stat(dir); err == nil {
			return a.loadStore(f, dir)
		}
		return nil
	}
	if err := a.loadFile(f); err != nil {
		return err
	}
	// Migrate: write everything loaded, then the marker last, so that a crash
	// half-way migrates again at the next start.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state: migrating %s to %s: %w", path, dir, err)
	}
	a.store.ready |= f // the marker is written below, after the entries
	// The history log is written whole, not appended to: a migration a crash cut short
	// may have left one.
	a.store.history.rewrite = true
	job := a.fullJob(f)
	if err := a.store.writeStore(f, dir, &job, a.writeFile); err != nil {
		return fmt.Errorf("state: migrating %s to %s: %w", path, dir, err)
	}
	if err := writeMarker(f, dir); err != nil {
		return fmt.Errorf("state: migrating %s to %s: %w", path, dir, err)
	}
	a.log.Info("state file migrated to a store directory; the old file is kept and no longer read",
		"file", path, "store", dir)
	return nil
}

// fullJob is a write job holding all of store f's state.
func (a *Actor) fullJob(f fileSet) writeJob {
	job := writeJob{files: f}
	switch f {
	case fileMain:
		job.mocks = a.model.mocks
		job.history, job.historyEpoch = a.model.history.all(), a.model.historyEpoch
		a.handedSeq, a.handedEpoch = a.model.history.pushed, a.model.historyEpoch
	case fileScenarios:
		job.scenarios, job.runs = a.model.scenarios, a.model.allRuns()
	case fileTargets:
		job.targets = a.model.targets
	}
	return job
}

// loadStore loads store f from directory dir. Entry files that do not load
// are set aside; the rest loads.
func (a *Actor) loadStore(f fileSet, dir string) error {
	now := a.cfg.Now()
	nowTS := FormatTime(now)
	w := a.store
	switch f {
	case fileMain:
		if a.cfg.PersistMockState {
			a.loadMockStates(dir) // before the mocks, which take their saved positions and states
		}
		list, err := readEntries(dir, "mocks", "created_at")
		if err != nil {
			return fmt.Errorf("state: store %s: %w", dir, err)
		}
		for _, e := range list {
			if reason := a.model.loadMock(e.raw, nowTS); reason != "" {
				a.setAsideFile(e, reason, now)
			}
		}
		for _, x := range a.model.mocks {
			w.mocks.written[x.ID] = x
		}
		if err := a.loadHistory(dir, now); err != nil {
			return err
		}
		a.log.Info("state loaded", "store", dir, "mocks", len(a.model.mocks), "history", a.model.history.n)
	case fileScenarios:
		list, err := readEntries(dir, "scenarios", "created_at")
		if err != nil {
			return fmt.Errorf("state: store %s: %w", dir, err)
		}
		for _, e := range list {
			if reason := a.model.loadScenario(e.raw, nowTS); reason != "" {
				a.setAsideFile(e, reason, now)
			}
		}
		runs, err := readEntries(dir, "runs", "started_at")
		if err != nil {
			return fmt.Errorf("state: store %s: %w", dir, err)
		}
		for _, e := range runs {
			if reason := a.model.loadRun(e.raw); reason != "" {
				a.setAsideFile(e, reason, now)
				continue
			}
			w.runs.written[e.id] = nil // removed at the next write unless still kept
		}
		for _, x := range a.model.scenarios {
			w.scenarios.written[x.ID] = x
		}
		for id, x := range a.model.runByID {
			w.runs.written[id] = x
		}
		a.log.Info("scenarios loaded", "store", dir, "scenarios", len(a.model.scenarios), "runs", len(a.model.runByID))
	case fileTargets:
		list, err := readEntries(dir, "targets", "created_at")
		if err != nil {
			return fmt.Errorf("state: store %s: %w", dir, err)
		}
		for _, e := range list {
			if reason := a.model.loadTarget(e.raw, nowTS); reason != "" {
				a.setAsideFile(e, reason, now)
			}
		}
		for _, x := range a.model.targets {
			w.targets.written[x.ID] = x
		}
		a.log.Info("targets loaded", "store", dir, "targets", len(a.model.targets))
	}
	return nil
}

// loadHistory reads history.1.jsonl, then history.jsonl: good lines load (the ring
// keeps the newest HistoryLimit); a bad or torn line is copied verbatim to a side file
// <log>.rejected.<unix-ts>.jsonl named in one log line, and the log is rewritten at the
// next write. New fails when that copy cannot be written.
func (a *Actor) loadHistory(dir string, now time.Time) error {
	h := &a.store.history
	for _, name := range []string{historyPrevious, historyLog} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("state: %s: %w", path, err)
		}
		var bad []byte
		lines := 0
		for len(data) > 0 {
			line, rest, found := bytes.Cut(data, []byte{'\n'})
			data = rest
			var e HistoryEntry
			if !found || firstByte(line) != '{' || json.Unmarshal(line, &e) != nil {
				bad = append(append(bad, line...), '\n')
				continue
			}
			a.model.AddHistory(e)
			lines++
		}
		if name == historyLog {
			h.lines = lines
		}
		if len(bad) > 0 {
			h.rewrite = true
			side := fmt.Sprintf("%s.rejected.%d.jsonl", path, now.Unix())
			for n := 2; ; n++ {
				if _, err := os.Lstat(side); errors.Is(err, os.ErrNotExist) {
					break
				}
				side = fmt.Sprintf("%s.rejected.%d-%d.jsonl", path, now.Unix(), n)
			}
			if err := writeStateFile(side, bad); err != nil {
				return fmt.Errorf("state: %s: unreadable history lines could not be set aside (%w); "+
					"refusing to start so that the next write does not lose them", path, err)
			}
			a.log.Warn("history lines set aside", "file", path, "side_file", side,
				"count", bytes.Count(bad, []byte{'\n'}))
		}
	}
	h.tail = a.model.history.all()
	a.handedSeq = a.model.history.pushed
	return nil
}
