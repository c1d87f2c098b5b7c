package testkit

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WriteFile writes content to the slash-separated path rel below dir, creating its
// folders; rewriting a file moves its modification time a second forward, so that a
// watcher comparing size and time sees every write as a change, even within one clock tick.
func WriteFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if old != nil {
		mt := old.ModTime().Add(time.Second)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

// Eventually polls cond until it holds, failing the test after a generous minute (a
// condition that takes its time, never a timed assertion).
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
