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

// The /files/{name} routes' names, reads and uploads.

func TestFlatName(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"foo", "foo"},
		{"foo_bar_123.txt", "foo_bar_123.txt"},
		{".hidden", ".hidden"},
		{"...", "..."},
		{"a%20b", "a b"},
		{"a+b", "a+b"},
		{"%C3%A9t%C3%A9", "été"},
		{"a%25b", "a%b"},
		{strings.Repeat("n", 255), strings.Repeat("n", 255)},
	}
	for _, tt := range tests {
		is := is.New(t)
		got, ok := FlatName([]byte(tt.raw))
		is.True(ok) // tt.raw
		is.Equal(got, tt.want)
	}
}

// Names that must never reach the file system.
func TestFlatNameHostile(t *testing.T) {
	for _, raw := range []string{
		"", ".", "..", "%2e", "%2e%2e", ".%2E", "..%2fsecret", "%2fetc%2fpasswd", "a/b",
		`a\b`, "a%5cb", "..%5c..%5csecret", "a%00b", "%00", "a%0ab", "a%0d%0ab", "a%7fb", "a\x01b",
		"%", "%2", "%zz", "a%g0", strings.Repeat("n", 256), strings.Repeat("%41", 256),
		uploadPrefix + "ABC",
	} {
		is := is.New(t)
		_, ok := FlatName([]byte(raw))
		is.True(!ok) // raw must be refused
	}
}

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

// A failed write is an I/O error (500, not 404) and leaves no temporary file behind. The
// rename fails here because the target's parent does not exist (FlatName never lets a "/"
// through; this reaches the cleanup path deterministically, even as root).
func TestReplaceFailureCleansUp(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	err := Replace(dir, "no-such-subdir/f", []byte("x"))
	is.True(err != nil)
	is.True(err != ErrNotWritable)
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 0)
}
