package files

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"strings"
)

// The CodeCrafters /files/{name} routes (spec §3.3): one flat directory, names that are a
// single path segment, reads through Open and atomic uploads through Replace.

const (
	// maxFlatName is the longest flat name accepted (NAME_MAX on Linux).
	maxFlatName = 255
	// uploadPrefix starts the names of uploads in progress; a finished upload is renamed
	// over its target, so readers see the old file or the new one, never part of one.
	uploadPrefix = ".ownhttp-upload-"
)

// FlatName decodes the raw {name} path segment (percent-encoding, RFC 3986 §2.1; "+" stays
// "+") and reports whether the result names a file directly inside the directory: not
// empty, not "." or "..", at most 255 bytes, with no "/", "\", NUL or other control
// character, and not one of Replace's temporary names. A malformed %-escape is invalid.
func FlatName(raw []byte) (string, bool) {
	name, ok := percentDecode(raw)
	if !ok || name == "" || name == "." || name == ".." || len(name) > maxFlatName ||
		strings.HasPrefix(name, uploadPrefix) {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '/' || c == '\\' || c < ' ' || c == 0x7f {
			return "", false
		}
	}
	return name, true
}

// ErrNotWritable reports a target Replace cannot write for a reason of the request: the
// directory is missing or the name is taken by something other than a regular file.
var ErrNotWritable = errors.New("files: file cannot be written")

// Replace replaces the file name inside dir with data: written to a temporary file in dir,
// synced, then renamed over name, so that no reader ever sees a partial file. It blocks
// (disk). It returns ErrNotWritable when dir cannot be opened or name exists and is not a
// regular file; other errors are I/O failures. The temporary file is removed on failure.
func Replace(dir, name string, data []byte) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return ErrNotWritable
	}
	defer root.Close()
	if st, err := root.Lstat(name); err == nil && !st.Mode().IsRegular() {
		return ErrNotWritable
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp := uploadPrefix + rand.Text()
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		root.Remove(tmp)
		return err
	}
	return nil
}
