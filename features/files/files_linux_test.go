//go:build linux

package files

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/matryer/is"
	"golang.org/x/sys/unix"
)

// Tests that need Linux: a named pipe among the files, and a root test thread without the
// capabilities that let it read any file.

func TestOpenStatic(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "static")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello"), 0o644))
	must(os.WriteFile(filepath.Join(root, "sub", "b.css"), []byte("b{}"), 0o644))
	must(os.WriteFile(filepath.Join(base, "secret.txt"), []byte("SECRET"), 0o644))
	must(os.MkdirAll(filepath.Join(base, "outdir"), 0o755))
	must(os.WriteFile(filepath.Join(base, "outdir", "x.txt"), []byte("SECRET"), 0o644))
	must(os.Symlink("a.txt", filepath.Join(root, "link-in.txt")))
	must(os.Symlink("../sub/b.css", filepath.Join(root, "sub", "..", "sub", "up-and-in.css")))
	must(os.Symlink("../secret.txt", filepath.Join(root, "link-out.txt")))
	must(os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "link-abs.txt")))
	must(os.Symlink("../outdir", filepath.Join(root, "dir-out")))
	must(os.Symlink("missing", filepath.Join(root, "dangling")))
	must(os.Symlink("loop", filepath.Join(root, "loop")))
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	must(os.WriteFile(filepath.Join(root, "locked.txt"), []byte("x"), 0o000))

	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"a.txt", 0, "hello"},
		{"sub/b.css", 0, "b{}"},
		{"link-in.txt", 0, "hello"},
		{"sub/up-and-in.css", 0, "b{}"},
		{"missing.txt", 404, ""},
		{"sub", 404, ""},
		{"sub/", 404, ""},
		{"a.txt/", 404, ""},
		{"a.txt/x", 404, ""},
		{"dangling", 404, ""},
		{"loop", 404, ""},
		{"fifo", 404, ""}, // opened without blocking, then refused as not a regular file
		{strings.Repeat("n", 300), 404, ""},
		{"link-out.txt", 403, ""},
		{"link-abs.txt", 403, ""},
		{"dir-out/x.txt", 403, ""},
		{"dir-out", 403, ""},
		{"locked.txt", 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			f, fi, status := openWithoutDACOverride(t, root, tc.name)
			is.Equal(status, tc.status)
			if status != 0 {
				is.True(f == nil)
				return
			}
			defer f.Close()
			is.Equal(fi.Size(), int64(len(tc.body)))
			b := make([]byte, 64)
			n, _ := f.Read(b)
			is.Equal(string(b[:n]), tc.body)
		})
	}

	// An absent static directory is fine: every file is simply not found.
	is := is.New(t)
	_, _, status := Open(filepath.Join(base, "nope"), "a.txt")
	is.Equal(status, 404)
	_, _, status = Open(filepath.Join(root, "a.txt"), "x")
	is.Equal(status, 404) // the root is a file
}

// openWithoutDACOverride calls Open on an OS thread of its own that has dropped the
// capabilities that let root read any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a
// file without read permission is refused as it is for any other user, CI's root included.
// Capabilities are per thread on Linux; the thread is never handed back (it exits with its
// goroutine).
func openWithoutDACOverride(t *testing.T, root, name string) (*os.File, os.FileInfo, int) {
	t.Helper()
	type result struct {
		f      *os.File
		fi     os.FileInfo
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- result{err: err}
			return
		}
		const dac = 1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_DAC_READ_SEARCH
		data[0].Effective &^= dac
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- result{err: err}
			return
		}
		f, fi, status := Open(root, name)
		done <- result{f, fi, status, nil}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("dropping CAP_DAC_OVERRIDE on the test thread: %v", r.err)
	}
	return r.f, r.fi, r.status
}
