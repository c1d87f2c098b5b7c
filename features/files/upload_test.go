package files

import (
	"os"
	"strings"
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
