//go:build unix

package files

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/matryer/is"
)

// Tests with a named pipe (FIFO) among the files: Unix systems only.

func TestOpenFlat(t *testing.T) {
	is := is.New(t)
	outside := t.TempDir()
	is.NoErr(os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600))
	dir := t.TempDir()
	is.NoErr(os.WriteFile(filepath.Join(dir, "file"), []byte("content"), 0o600))
	is.NoErr(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
	is.NoErr(os.Mkdir(filepath.Join(dir, "subdir"), 0o700))
	is.NoErr(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	is.NoErr(os.Symlink("file", filepath.Join(dir, "inside-link")))
	is.NoErr(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "absolute-link")))
	is.NoErr(os.Symlink("../"+filepath.Base(outside)+"/secret", filepath.Join(dir, "relative-link")))
	is.NoErr(os.Symlink("missing", filepath.Join(dir, "dangling-link")))

	tests := []struct {
		name string
		ok   bool
		want string
	}{
		{"file", true, "content"},
		{"empty", true, ""},
		{"inside-link", true, "content"},
		{"missing", false, ""},
		{"subdir", false, ""},
		{"fifo", false, ""}, // must not block waiting for a writer
		{"absolute-link", false, ""},
		{"relative-link", false, ""},
		{"dangling-link", false, ""},
	}
	for _, tt := range tests {
		f, fi, status := Open(dir, tt.name)
		if !tt.ok {
			is.True(status != 0) // tt.name must be refused
			continue
		}
		is.Equal(status, 0)
		b, err := io.ReadAll(f)
		f.Close()
		is.NoErr(err)
		is.Equal(string(b), tt.want)
		is.Equal(fi.Size(), int64(len(tt.want)))
	}
	_, _, status := Open(filepath.Join(dir, "no-such-dir"), "file")
	is.True(status != 0)
	_, _, status = Open(filepath.Join(dir, "file"), "x") // the directory is a file
	is.True(status != 0)
}

func TestReplace(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	outside := t.TempDir()
	is.NoErr(os.Mkdir(filepath.Join(dir, "subdir"), 0o700))
	is.NoErr(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	is.NoErr(os.Symlink(filepath.Join(outside, "target"), filepath.Join(dir, "link")))

	is.NoErr(Replace(dir, "new", []byte("first")))
	got, err := os.ReadFile(filepath.Join(dir, "new"))
	is.NoErr(err)
	is.Equal(string(got), "first")

	is.NoErr(Replace(dir, "new", []byte("2nd"))) // overwrites, shorter
	got, err = os.ReadFile(filepath.Join(dir, "new"))
	is.NoErr(err)
	is.Equal(string(got), "2nd")

	is.NoErr(Replace(dir, "empty", nil))
	st, err := os.Stat(filepath.Join(dir, "empty"))
	is.NoErr(err)
	is.Equal(st.Size(), int64(0))

	for _, name := range []string{"subdir", "fifo", "link"} {
		is.Equal(Replace(dir, name, []byte("x")), ErrNotWritable) // name
	}
	is.Equal(Replace(filepath.Join(dir, "no-such-dir"), "f", []byte("x")), ErrNotWritable)

	entries, err := os.ReadDir(outside)
	is.NoErr(err)
	is.Equal(len(entries), 0) // nothing written through the link
	entries, err = os.ReadDir(dir)
	is.NoErr(err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	is.Equal(strings.Join(names, ","), "empty,fifo,link,new,subdir") // no temporary files left
}
