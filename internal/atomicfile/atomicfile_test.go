package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/matryer/is"
)

func TestWriteReplacesAndLeavesNoTemporary(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "sub", "state.json")
	is.NoErr(Write(name, []byte("one"), 0o600)) // the missing parent is created
	is.NoErr(Write(name, []byte("two"), 0o600)) // and the file replaced
	b, err := os.ReadFile(name)
	is.NoErr(err)
	is.Equal(string(b), "two")
	fi, err := os.Stat(name)
	is.NoErr(err)
	is.Equal(fi.Mode().Perm(), os.FileMode(0o600))
	entries, err := os.ReadDir(filepath.Dir(name))
	is.NoErr(err)
	is.Equal(len(entries), 1) // no temporary file left beside it
}

func TestWriteFailureKeepsOldContent(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "state.json")
	is.NoErr(Write(name, []byte("old"), 0o644))
	// A directory where the file should be: the rename fails and the temporary goes.
	target := filepath.Join(dir, "taken")
	is.NoErr(os.Mkdir(target, 0o755))
	is.NoErr(os.WriteFile(filepath.Join(target, "x"), nil, 0o644))
	is.True(Write(target, []byte("new"), 0o644) != nil)
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 2) // state.json and taken/, no temporary
	b, err := os.ReadFile(name)
	is.NoErr(err)
	is.Equal(string(b), "old")
}
