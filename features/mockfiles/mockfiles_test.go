package mockfiles

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
	"ownhttp/state"
)

func newActor(t *testing.T) *state.Actor {
	t.Helper()
	a, err := state.New(state.Config{LiveEvents: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func run(t *testing.T, a *state.Actor) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go a.Run(ctx)
	t.Cleanup(func() { cancel(); <-a.Done() })
	return ctx
}

func bodies(a *state.Actor) map[string]string {
	out := map[string]string{}
	for _, m := range a.Snapshot().Mocks() {
		out[m.ID] = m.Body
	}
	return out
}

// Load reads every file before the actor runs, a broken file is reported and the rest
// load; scans then apply changes, keep a broken file's last good mocks, and drop removed
// files' mocks.
func TestLoadThenScan(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "a.json", `{"id":"a","method":"GET","path_pattern":"/a","body":"a1"}`)
	testkit.WriteFile(t, dir, "sub/list.json", `{"mocks":[{"method":"GET","path_pattern":"/b","body_file":"b.txt"},{"method":"GET","path_pattern":"/c"}]}`)
	testkit.WriteFile(t, dir, "sub/b.txt", "from b.txt")
	testkit.WriteFile(t, dir, "broken.json", `{"method":`)
	testkit.WriteFile(t, dir, "notes.txt", `{"method":"GET","path_pattern":"/ignored"}`)
	a := newActor(t)
	w := New(Config{Dirs: []string{dir}, Actor: a})
	is.NoErr(w.Load())

	is.Equal(bodies(a), map[string]string{"a": "a1", "file-sub-list-1": "from b.txt", "file-sub-list-2": ""})
	src := map[string]Source{}
	for _, s := range w.Sources() {
		src[s.Path] = s
	}
	is.Equal(len(src), 3)
	is.Equal(src["sub/list.json"].Mocks, 2)
	is.True(src["broken.json"].Error != "")
	is.Equal(src["broken.json"].LoadedAt, "")

	ctx := run(t, a)
	page, err := a.Events(ctx, 0, 100, nil)
	is.NoErr(err)
	var startErrors []string // the broken file is on the live stream; good loads at start are not
	for _, e := range page.Events {
		is.True(e.Type != EventSourceLoaded)
		if e.Type == EventSourceError {
			startErrors = append(startErrors, string(e.Payload))
		}
	}
	is.Equal(len(startErrors), 1)
	is.True(strings.Contains(startErrors[0], `"path":"broken.json"`))

	testkit.WriteFile(t, dir, "a.json", `{"id":"a","method":"GET","path_pattern":"/a","body":"a2"}`)
	testkit.WriteFile(t, dir, "sub/b.txt", "b changed") // a body file's change reloads its mock file
	is.NoErr(w.scan(ctx))
	is.Equal(bodies(a)["a"], "a2")
	is.Equal(bodies(a)["file-sub-list-1"], "b changed")

	testkit.WriteFile(t, dir, "a.json", `{"id":"a","method":"GET","path_pattern":"/a","status":1}`)
	is.NoErr(w.scan(ctx))
	is.Equal(bodies(a)["a"], "a2") // the last good mock keeps serving
	for _, s := range w.Sources() {
		if s.Path == "a.json" {
			is.True(strings.Contains(s.Error, "status"))
		}
	}

	is.NoErr(os.Remove(filepath.Join(dir, "sub", "list.json")))
	is.NoErr(w.scan(ctx))
	is.Equal(bodies(a), map[string]string{"a": "a2"})
	is.Equal(len(w.Sources()), 2)
}

// The same relative path in two directories: the first directory's file wins.
func TestFirstDirWins(t *testing.T) {
	is := is.New(t)
	one, two := t.TempDir(), t.TempDir()
	testkit.WriteFile(t, one, "m.json", `{"id":"m","method":"GET","path_pattern":"/m","body":"one"}`)
	testkit.WriteFile(t, two, "m.json", `{"id":"m","method":"GET","path_pattern":"/m","body":"two"}`)
	a := newActor(t)
	w := New(Config{Dirs: []string{one, two}, Actor: a})
	is.NoErr(w.Load())
	is.Equal(bodies(a), map[string]string{"m": "one"})
}

func TestLoadMissingDir(t *testing.T) {
	is := is.New(t)
	w := New(Config{Dirs: []string{filepath.Join(t.TempDir(), "nope")}, Actor: newActor(t)})
	is.True(w.Load() != nil)
}

func TestResolveBodyFile(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "x/body.txt", "b")
	p, err := ResolveBodyFile(dir, filepath.Join(dir, "x", "m.json"), "body.txt")
	is.NoErr(err)
	is.Equal(filepath.Base(p), "body.txt")
	for _, name := range []string{"../../etc/passwd", "/etc/passwd"} {
		_, err := ResolveBodyFile(dir, filepath.Join(dir, "x", "m.json"), name)
		is.True(err != nil) // escapes or absolute
	}
}

// BenchmarkLoad measures the start-up load of 10,000 one-mock files (bench/mockfiles.sh
// measures it end to end, from the process start).
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	for i := range 10000 {
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%100), fmt.Sprintf("m%d.json", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, fmt.Appendf(nil, `{"method":"GET","path_pattern":"/bulk/%d/{id}","body":{"n":%d}}`, i, i), 0o644)
	}
	for b.Loop() {
		a, err := state.New(state.Config{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := New(Config{Dirs: []string{dir}, Actor: a}).Load(); err != nil {
			b.Fatal(err)
		}
	}
}

// Run follows changes, by notification and by polling, including files in a directory
// created after the start, and returns on Interrupt.
func TestRunFollows(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(fmt.Sprintf("poll=%v", poll), func(t *testing.T) {
			is := is.New(t)
			dir := t.TempDir()
			testkit.WriteFile(t, dir, "a.json", `{"id":"a","method":"GET","path_pattern":"/a","body":"a1"}`)
			a := newActor(t)
			w := New(Config{Dirs: []string{dir}, Actor: a, Poll: poll, Interval: 20 * time.Millisecond})
			is.NoErr(w.Load())
			ctx := run(t, a)
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()

			testkit.WriteFile(t, dir, "a.json", `{"id":"a","method":"GET","path_pattern":"/a","body":"a2"}`)
			testkit.Eventually(t, "the change applied", func() bool { return bodies(a)["a"] == "a2" })
			testkit.WriteFile(t, dir, "new/deeper/b.json", `{"id":"b","method":"GET","path_pattern":"/b","body":"b1"}`)
			testkit.Eventually(t, "the change applied", func() bool { return bodies(a)["b"] == "b1" })
			testkit.WriteFile(t, dir, "new/deeper/b.json", `{"id":"b","method":"GET","path_pattern":"/b","body":"b2"}`)
			testkit.Eventually(t, "the change applied", func() bool { return bodies(a)["b"] == "b2" })
			is.NoErr(os.RemoveAll(filepath.Join(dir, "new")))
			testkit.Eventually(t, "the change applied", func() bool { _, ok := bodies(a)["b"]; return !ok })

			w.Interrupt(nil)
			is.NoErr(<-done)
		})
	}
}
