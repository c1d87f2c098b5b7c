// Package mockfiles loads mocks from directories of JSON files (--mocks-dir) and keeps
// them current: a scan of the directories (triggered by file-system notifications, or
// every Interval when polling) finds files whose size or modification time changed,
// parses them off the actor's goroutine, and sends the actor one message per scan
// (state.Actor.ReplaceFileMocks) holding every change. It never writes into a directory.
//
// Concurrency: Run is called from one goroutine; Sources may
// be called from any goroutine. Interrupt is idempotent and never blocks.
package mockfiles

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"ownhttp/mock/importer"
	"ownhttp/state"
)

// Event types published on the live stream.
const (
	EventSourceLoaded = "mocks.source_loaded"
	EventSourceError  = "mocks.source_error"
)

// Config configures a Watcher.
type Config struct {
	Dirs []string
	// Poll scans every Interval instead of following file-system notifications (for
	// mounts that deliver none: network file systems, some container volumes).
	Poll bool
	// Interval is the time between scans when polling; 0 means 250ms.
	Interval time.Duration
	Actor    *state.Actor
	Logger   *slog.Logger
}

// Source is the status of one mock file, as GET /api/mocks/sources shows it.
type Source struct {
	Dir      string `json:"dir"`
	Path     string `json:"path"` // slash-separated, relative to Dir
	Mocks    int    `json:"mocks"`
	LoadedAt string `json:"loaded_at,omitempty"` // last successful load
	Error    string `json:"error,omitempty"`     // last failed load; the last good mocks keep serving
	// Unsupported lists, for a WireMock mapping file, the parts of its stubs the loaded
	// mocks do not carry ("mappings/a.json#0: response.proxyBaseUrl: …").
	Unsupported []string `json:"unsupported,omitempty"`
}

type fileKey struct {
	size  int64
	mtime time.Time
}

type entry struct {
	dir, abs, rel string
	stat          fileKey
	deps          map[string]fileKey // body files and their stat at the last parse
	unsupported   []string           // a WireMock file's parts its mocks do not carry
}

// Watcher loads and watches the directories.
type Watcher struct {
	cfg      Config
	files    map[string]*entry // by source ("file:<rel>")
	quit     chan struct{}
	quitOnce sync.Once

	mu      sync.Mutex
	sources map[string]Source // by source, guarded by mu
}

// New returns a Watcher; nothing is read until Load or Run.
func New(cfg Config) *Watcher {
	if cfg.Interval <= 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{cfg: cfg, files: map[string]*entry{}, quit: make(chan struct{}), sources: map[string]Source{}}
}

// checkDirs reports a directory that does not exist or is not a directory.
func (w *Watcher) checkDirs() error {
	for _, d := range w.cfg.Dirs {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return errors.New(d + " is not a directory")
		}
	}
	return nil
}

// Run follows the directories until Interrupt or the end of ctx (Load reads them first):
// file-system notifications trigger a scan once they settle (settleDelay), or, with
// Config.Poll or where notifications are unavailable (no inotify, its watch limit reached),
// a scan runs every Interval. A file that does not parse is reported (log, event,
// Sources), never fatal.
func (w *Watcher) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	if w.cfg.Poll {
		return w.poll(ctx)
	}
	if err := w.follow(ctx); err != nil {
		w.cfg.Logger.Warn("mock files: file-system notifications unavailable; polling instead",
			"interval", w.cfg.Interval.String(), "error", err)
		return w.poll(ctx)
	}
	return nil
}

// poll scans every Interval until ctx ends.
func (w *Watcher) poll(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		w.rescan(ctx)
	}
}

func (w *Watcher) rescan(ctx context.Context) {
	if err := w.scan(ctx); err != nil && ctx.Err() == nil {
		w.cfg.Logger.Warn("mock files scan failed", "error", err)
	}
}

// Interrupt stops Run.
func (w *Watcher) Interrupt(error) { w.quitOnce.Do(func() { close(w.quit) }) }

// Sources returns the status of every mock file, sorted by dir and path.
func (w *Watcher) Sources() []Source {
	w.mu.Lock()
	out := make([]Source, 0, len(w.sources))
	for _, s := range w.sources {
		out = append(out, s)
	}
	w.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dir != out[j].Dir {
			return out[i].Dir < out[j].Dir
		}
		return out[i].Path < out[j].Path
	})
	return out
}

func statKey(fi fs.FileInfo) fileKey { return fileKey{size: fi.Size(), mtime: fi.ModTime()} }

// change is one file's new state found by a scan: its mocks (or its removal), its entry,
// and why it did not load ("" when it did).
type change struct {
	mocks state.FileMocks
	file  *entry
	err   string
}

// collect walks the directories and parses new and changed files; removed files come
// last. It touches no shared state but w.files, which only the scanning goroutine uses.
func (w *Watcher) collect() ([]change, error) {
	seen := map[string]bool{}
	var changes []change
	for _, dir := range w.cfg.Dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable entry: skip, keep the rest
			}
			if d.IsDir() && p != dir && d.Name() == "__files" {
				return filepath.SkipDir // a WireMock root's body files, read through its stubs
			}
			if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
				return nil
			}
			fi, err := d.Info()
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return nil
			}
			rel = filepath.ToSlash(rel)
			src := state.SourceFilePrefix + rel
			if seen[src] {
				return nil // the same relative path in an earlier dir wins
			}
			seen[src] = true
			e := w.files[src]
			if e != nil && e.dir == dir && e.stat == statKey(fi) && !depsChanged(e.deps) {
				return nil
			}
			e = &entry{dir: dir, abs: p, rel: rel, stat: statKey(fi)}
			mocks, perr := parseFile(dir, p, e)
			c := change{mocks: state.FileMocks{Source: src, Mocks: mocks}, file: e}
			if perr != nil {
				c.err = perr.Error()
			}
			changes = append(changes, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for src, e := range w.files {
		if !seen[src] {
			changes = append(changes, change{mocks: state.FileMocks{Source: src, Removed: true}, file: e})
		}
	}
	return changes, nil
}

// parsed returns the changes that parsed, to be applied, and the index of each in changes.
func parsed(changes []change) (send []state.FileMocks, at []int) {
	for i, c := range changes {
		if c.err == "" {
			send = append(send, c.mocks)
			at = append(at, i)
		}
	}
	return send, at
}

// Load reads every mock file before the server serves: it must be called before the
// actor's Run (state.Actor.LoadFileMocks), so the first request already finds them. A
// directory that does not exist is an error; a file that does not load is reported (log,
// Sources) and the rest load. One log line sums the load up; per-file lines and live
// events are left to later changes.
func (w *Watcher) Load() error {
	if err := w.checkDirs(); err != nil {
		return err
	}
	began := time.Now()
	changes, err := w.collect()
	if err != nil {
		return err
	}
	send, at := parsed(changes)
	for j, e := range w.cfg.Actor.LoadFileMocks(send) {
		if e != nil {
			changes[at[j]].err = e.Error()
		}
	}
	mocks, failed := 0, 0
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, c := range changes {
		w.record(c, now, false)
		if c.err != "" {
			failed++
		} else {
			mocks += len(c.mocks.Mocks)
		}
	}
	w.cfg.Logger.Info("mock files loaded", "dirs", len(w.cfg.Dirs), "files", len(changes), "mocks", mocks,
		"failed", failed, "took", time.Since(began).Round(time.Microsecond).String())
	return nil
}

// scan applies what changed since the last scan, in one actor message, and reports each
// changed file (log, live event, Sources).
func (w *Watcher) scan(ctx context.Context) error {
	changes, err := w.collect()
	if err != nil || len(changes) == 0 {
		return err
	}
	if send, at := parsed(changes); len(send) > 0 {
		errs, err := w.cfg.Actor.ReplaceFileMocks(ctx, send)
		if err != nil {
			return err
		}
		for j, e := range errs {
			if e != nil {
				changes[at[j]].err = e.Error()
			}
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, c := range changes {
		w.record(c, now, true)
	}
	return nil
}

// record remembers a change's outcome for Sources and the next scan; announce also logs
// it and publishes it on the live stream. A file that failed to load is always logged and
// published (before the actor runs, the event waits in its queue).
func (w *Watcher) record(c change, now string, announce bool) {
	e := c.file
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.mocks.Removed {
		delete(w.files, c.mocks.Source)
		delete(w.sources, c.mocks.Source)
		w.cfg.Logger.Info("mock file removed", "dir", e.dir, "path", e.rel)
		w.cfg.Actor.Publish(EventSourceLoaded, "", Source{Dir: e.dir, Path: e.rel})
		return
	}
	// Remember the new stat even on failure: the file is retried when it changes again.
	w.files[c.mocks.Source] = e
	s := w.sources[c.mocks.Source]
	s.Dir, s.Path = e.dir, e.rel
	if c.err != "" {
		s.Error = c.err
		w.cfg.Logger.Warn("mock file not loaded; its last good mocks keep serving", "dir", e.dir, "path", e.rel, "error", c.err)
		w.cfg.Actor.Publish(EventSourceError, "", s)
	} else {
		s.Error, s.Mocks, s.LoadedAt, s.Unsupported = "", len(c.mocks.Mocks), now, e.unsupported
		if len(e.unsupported) > 0 {
			w.cfg.Logger.Warn("WireMock mock file loaded without some parts of its stubs", "dir", e.dir, "path", e.rel,
				"unsupported", strings.Join(e.unsupported, "; "))
		}
		if announce {
			w.cfg.Logger.Info("mock file loaded", "dir", e.dir, "path", e.rel, "mocks", s.Mocks)
			w.cfg.Actor.Publish(EventSourceLoaded, "", s)
		}
	}
	w.sources[c.mocks.Source] = s
}

func depsChanged(deps map[string]fileKey) bool {
	for p, k := range deps {
		fi, err := os.Stat(p)
		if err != nil || statKey(fi) != k {
			return true
		}
	}
	return false
}

// parseFile reads and decodes one mock file and resolves its body files, recording them
// in e.deps so that a change to a body file reloads its mock file.
func parseFile(dir, p string, e *entry) ([]state.FileMock, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if importer.IsWireMock(data) {
		return parseWireMock(dir, p, data, e)
	}
	mocks, de := state.DecodeMockFile(data)
	if de != nil {
		return nil, de
	}
	for i := range mocks {
		if mocks[i].BodyFile == "" {
			continue
		}
		bp, err := ResolveBodyFile(dir, p, mocks[i].BodyFile)
		if err != nil {
			return nil, fmt.Errorf("mocks[%d]: body_file: %w", i, err)
		}
		b, err := os.ReadFile(bp)
		if err != nil {
			return nil, fmt.Errorf("mocks[%d]: body_file: %w", i, err)
		}
		if fi, err := os.Stat(bp); err == nil {
			if e.deps == nil {
				e.deps = map[string]fileKey{}
			}
			e.deps[bp] = statKey(fi)
		}
		s := string(b)
		mocks[i].Input.Body = &s
	}
	return mocks, nil
}

// ResolveBodyFile returns the path of body file name, given relative to the mock file
// at mockPath; it must stay inside dir once cleaned and once symbolic links are resolved.
func ResolveBodyFile(dir, mockPath, name string) (string, error) {
	if filepath.IsAbs(name) || strings.HasPrefix(name, "/") {
		return "", errors.New("must be a relative path")
	}
	p := filepath.Join(filepath.Dir(mockPath), filepath.FromSlash(name))
	if !inside(dir, p) {
		return "", errors.New("escapes the mocks directory")
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	realP, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	if !inside(realDir, realP) {
		return "", errors.New("escapes the mocks directory")
	}
	return realP, nil
}

func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
