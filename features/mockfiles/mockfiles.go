// Package mockfiles loads mocks from directories of JSON files (--mocks-dir) and keeps
// them current: a scan of the directories every Interval finds files whose size or
// modification time changed, parses them off the actor's goroutine, and sends the actor
// one message per scan (state.Actor.ReplaceFileMocks) holding every change. It never
// writes into a directory.
//
// Concurrency: Run is called from one goroutine; Sources may
// be called from any goroutine. Interrupt is idempotent and never blocks.
package mockfiles

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"ownhttp/state"
)

// Event types published on the live stream.
const (
	EventSourceLoaded = "mocks.source_loaded"
	EventSourceError  = "mocks.source_error"
)

// Config configures a Watcher.
type Config struct {
	Dirs     []string
	Interval time.Duration // between scans; 0 means 250ms
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
}

type fileKey struct {
	size  int64
	mtime time.Time
}

type entry struct {
	dir, abs, rel string
	stat          fileKey
	deps          map[string]fileKey // body files and their stat at the last parse
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

// New returns a Watcher; nothing is read until Load.
func New(cfg Config) *Watcher {
	if cfg.Interval <= 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{cfg: cfg, files: map[string]*entry{}, quit: make(chan struct{}), sources: map[string]Source{}}
}

// CheckDirs reports a directory that does not exist or is not a directory.
func (w *Watcher) CheckDirs() error {
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

// Run loads every file (one actor message for the whole first scan), then rescans every
// Interval until Interrupt or the end of ctx. A file that does not parse is reported (log,
// event, Sources), never fatal.
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
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		if err := w.scan(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("mock files scan failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
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

// scan walks the directories, parses new and changed files, and applies the changes.
func (w *Watcher) scan(ctx context.Context) error {
	seen := map[string]bool{}
	var changes []state.FileMocks
	var changed []*entry
	var parseErrs []string // per change: "" or the parse error
	for _, dir := range w.cfg.Dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable entry: skip, keep the rest
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
			msg := ""
			if perr != nil {
				msg = perr.Error()
			}
			changes = append(changes, state.FileMocks{Source: src, Mocks: mocks, Removed: false})
			changed = append(changed, e)
			parseErrs = append(parseErrs, msg)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for src, e := range w.files {
		if !seen[src] {
			changes = append(changes, state.FileMocks{Source: src, Removed: true})
			changed = append(changed, e)
			parseErrs = append(parseErrs, "")
		}
	}
	if len(changes) == 0 {
		return nil
	}
	// Files that failed to parse send nothing to the actor; the rest go in one message.
	var send []state.FileMocks
	var idx []int
	for i, c := range changes {
		if parseErrs[i] == "" {
			send = append(send, c)
			idx = append(idx, i)
		}
	}
	applyErrs := make([]string, len(changes))
	copy(applyErrs, parseErrs)
	if len(send) > 0 {
		errs, err := w.cfg.Actor.ReplaceFileMocks(ctx, send)
		if err != nil {
			return err
		}
		for j, e := range errs {
			if e != nil {
				applyErrs[idx[j]] = e.Error()
			}
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i, c := range changes {
		e := changed[i]
		w.report(c, e, applyErrs[i], now)
	}
	return nil
}

func (w *Watcher) report(c state.FileMocks, e *entry, errMsg, now string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.Removed {
		delete(w.files, c.Source)
		delete(w.sources, c.Source)
		w.cfg.Logger.Info("mock file removed", "dir", e.dir, "path", e.rel)
		w.cfg.Actor.Publish(EventSourceLoaded, "", Source{Dir: e.dir, Path: e.rel})
		return
	}
	// Remember the new stat even on failure: the file is retried when it changes again.
	w.files[c.Source] = e
	s := w.sources[c.Source]
	s.Dir, s.Path = e.dir, e.rel
	if errMsg != "" {
		s.Error = errMsg
		w.cfg.Logger.Warn("mock file not loaded; its last good mocks keep serving", "dir", e.dir, "path", e.rel, "error", errMsg)
		w.cfg.Actor.Publish(EventSourceError, "", s)
	} else {
		s.Error, s.Mocks, s.LoadedAt = "", len(c.Mocks), now
		w.cfg.Logger.Info("mock file loaded", "dir", e.dir, "path", e.rel, "mocks", s.Mocks)
		w.cfg.Actor.Publish(EventSourceLoaded, "", s)
	}
	w.sources[c.Source] = s
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
			return nil, errors.New("mocks[" + itoa(i) + "]: body_file: " + err.Error())
		}
		b, err := os.ReadFile(bp)
		if err != nil {
			return nil, errors.New("mocks[" + itoa(i) + "]: body_file: " + err.Error())
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

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
