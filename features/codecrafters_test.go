package features

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/matryer/is"

	"ownhttp/proto"
)

func acceptEncoding(values ...string) []proto.Header {
	hs := []proto.Header{{Name: []byte("Host"), Value: []byte("x")}}
	for _, v := range values {
		hs = append(hs, proto.Header{Name: []byte("Accept-Encoding"), Value: []byte(v)})
	}
	return hs
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		name   string
		values []string // one Accept-Encoding field per value; none: no field
		want   bool
	}{
		{"absent", nil, false},
		{"empty", []string{""}, false},
		{"gzip", []string{"gzip"}, true},
		{"upper case", []string{"GZIP"}, true},
		{"x-gzip", []string{"x-gzip"}, true},
		{"among others", []string{"deflate, gzip, br"}, true},
		{"weighted", []string{"deflate, gzip;q=0.5"}, true},
		{"spaces around weight", []string{"gzip ; Q = 0.5"}, true},
		{"q=0 refuses", []string{"gzip;q=0"}, false},
		{"q=0.000 refuses", []string{"gzip;q=0.000"}, false},
		{"q=0.001 accepts", []string{"gzip;q=0.001"}, true},
		{"q=1.000", []string{"gzip;q=1.000"}, true},
		{"star", []string{"*"}, true},
		{"star q=0", []string{"*;q=0"}, false},
		{"explicit gzip beats star", []string{"gzip;q=0, *"}, false},
		{"explicit gzip beats star q=0", []string{"*;q=0, gzip"}, true},
		{"identity only", []string{"identity"}, false},
		{"other codings only", []string{"deflate, br"}, false},
		{"identity preferred", []string{"gzip;q=0.5, identity"}, false},
		{"gzip preferred", []string{"gzip, identity;q=0.5"}, true},
		{"equal weights favour gzip", []string{"gzip;q=0.5, identity;q=0.5"}, true},
		{"identity refused", []string{"gzip, identity;q=0"}, true},
		{"second field", []string{"deflate", "gzip"}, true},
		{"highest weight of repeats", []string{"gzip;q=0, gzip;q=0.3"}, true},
		{"other params ignored", []string{"gzip;level=9"}, true},
		{"empty elements", []string{" , ,gzip,,"}, true},
		{"gzip prefix is not gzip", []string{"gzipx, xgzip"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(acceptsGzip(acceptEncoding(tt.values...)), tt.want)
		})
	}
}

// Malformed weights make their element count as absent; none of these may panic.
func TestAcceptsGzipHostile(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"gzip;q=", false},
		{"gzip;q=2", false},
		{"gzip;q=1.5", false},
		{"gzip;q=1.001", false},
		{"gzip;q=0.5555", false},
		{"gzip;q=-1", false},
		{"gzip;q=abc", false},
		{"gzip;q=0.5x", false},
		{"gzip;q=.5", false},
		{"gzip;q=0,5", false}, // the comma ends the element: gzip;q=0, then a coding "5"
		{"gzip;q=abc, *", true},
		{";q=1", false},
		{";;;", false},
		{"gzip;", true},
		{"gzip;=", true},
		{strings.Repeat("gzip;q=0.5;", 1000), true},
		{"\x00gzip", false},
		{"gzip\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			is := is.New(t)
			is.Equal(acceptsGzip(acceptEncoding(tt.value)), tt.want)
		})
	}
}

func TestParseQValue(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"1", 1000, true}, {"0.", 0, true}, {"1.", 1000, true},
		{"0.5", 500, true}, {"0.25", 250, true}, {"0.125", 125, true}, {"1.000", 1000, true},
		{"", 0, false}, {"2", 0, false}, {"1.5", 0, false}, {"0.1234", 0, false},
		{"00", 0, false}, {"0.a", 0, false}, {"+1", 0, false}, {"1e0", 0, false},
	}
	for _, tt := range tests {
		is := is.New(t)
		q, ok := parseQValue([]byte(tt.in))
		is.Equal(ok, tt.ok) // tt.in
		if ok {
			is.Equal(q, tt.want) // tt.in
		}
	}
}

func TestCCFileName(t *testing.T) {
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
		got, ok := ccFileName([]byte(tt.raw))
		is.True(ok) // tt.raw
		is.Equal(got, tt.want)
	}
}

// Names that must never reach the file system.
func TestCCFileNameHostile(t *testing.T) {
	for _, raw := range []string{
		"", ".", "..", "%2e", "%2e%2e", ".%2E", "..%2fsecret", "%2fetc%2fpasswd", "a/b",
		`a\b`, "a%5cb", "..%5c..%5csecret", "a%00b", "%00", "a%0ab", "a%0d%0ab", "a%7fb", "a\x01b",
		"%", "%2", "%zz", "a%g0", strings.Repeat("n", 256), strings.Repeat("%41", 256),
		ccTempPrefix + "ABC",
	} {
		is := is.New(t)
		_, ok := ccFileName([]byte(raw))
		is.True(!ok) // raw must be refused
	}
}

func TestCCOpenFile(t *testing.T) {
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
		f, size, err := ccOpenFile(dir, tt.name)
		if !tt.ok {
			is.True(err != nil) // tt.name must be refused
			continue
		}
		is.NoErr(err)
		b, err := io.ReadAll(f)
		f.Close()
		is.NoErr(err)
		is.Equal(string(b), tt.want)
		is.Equal(size, int64(len(tt.want)))
	}
	_, _, err := ccOpenFile(filepath.Join(dir, "no-such-dir"), "file")
	is.True(err != nil)
	_, _, err = ccOpenFile(filepath.Join(dir, "file"), "x") // the directory is a file
	is.True(err != nil)
}

func TestCCWriteFile(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	outside := t.TempDir()
	is.NoErr(os.Mkdir(filepath.Join(dir, "subdir"), 0o700))
	is.NoErr(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	is.NoErr(os.Symlink(filepath.Join(outside, "target"), filepath.Join(dir, "link")))

	is.NoErr(ccWriteFile(dir, "new", []byte("first")))
	got, err := os.ReadFile(filepath.Join(dir, "new"))
	is.NoErr(err)
	is.Equal(string(got), "first")

	is.NoErr(ccWriteFile(dir, "new", []byte("2nd"))) // overwrites, shorter
	got, err = os.ReadFile(filepath.Join(dir, "new"))
	is.NoErr(err)
	is.Equal(string(got), "2nd")

	is.NoErr(ccWriteFile(dir, "empty", nil))
	st, err := os.Stat(filepath.Join(dir, "empty"))
	is.NoErr(err)
	is.Equal(st.Size(), int64(0))

	for _, name := range []string{"subdir", "fifo", "link"} {
		is.Equal(ccWriteFile(dir, name, []byte("x")), errCCNotWritable) // name
	}
	is.Equal(ccWriteFile(filepath.Join(dir, "no-such-dir"), "f", []byte("x")), errCCNotWritable)

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
// rename fails here because the target's parent does not exist (ccFileName never lets a "/"
// through; this reaches the cleanup path deterministically, even as root).
func TestCCWriteFileFailureCleansUp(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	err := ccWriteFile(dir, "no-such-subdir/f", []byte("x"))
	is.True(err != nil)
	is.True(err != errCCNotWritable)
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 0)
}

func TestGzipBytes(t *testing.T) {
	is := is.New(t)
	inputs := []string{"", "abc", strings.Repeat("banana", 1000), "\x00\xff binary"}
	var wg sync.WaitGroup
	for range 8 { // the writer pool is shared by every loop
		wg.Go(func() {
			for _, in := range inputs {
				z := gzipBytes([]byte(in))
				zr, err := gzip.NewReader(bytes.NewReader(z))
				if err != nil {
					t.Error(err)
					return
				}
				out, err := io.ReadAll(zr)
				if err != nil || string(out) != in {
					t.Errorf("round trip of %d bytes: %v, got %d bytes", len(in), err, len(out))
				}
				if !zr.ModTime.IsZero() || zr.Name != "" {
					t.Errorf("header carries mtime %v or name %q", zr.ModTime, zr.Name)
				}
			}
		})
	}
	wg.Wait()
	is.Equal(gzipBytes([]byte("abc")), gzipBytes([]byte("abc"))) // deterministic
}
