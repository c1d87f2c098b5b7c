// Package assets holds the control tower (/playground) and the dashboard (/dashboard): plain
// HTML, CSS and JavaScript modules written for this project, embedded in the binary. There is
// no build step and nothing is fetched from another origin.
//
// Load turns the embedded files into a Set once: for every file its media type, a strong
// entity tag (a SHA-256 prefix of its bytes) and, when compression helps, a gzip copy with a
// tag of its own. A Set is immutable and safe for concurrent use; serving from it needs no
// hashing, no compression and no allocation.
package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// web is the embedded tree: the pages at its root, their CSS, JS and images below.
//
//go:embed web
var web embed.FS

// Page names, relative to the tree's root.
const (
	Playground = "playground.html"
	Dashboard  = "dashboard.html"
)

// File is one embedded file, ready to serve. Its byte slices are shared and must not be
// modified.
type File struct {
	// Name is the slash-separated path below the tree's root ("js/tower.js").
	Name string
	// ContentType is the media type, with charset=utf-8 for text.
	ContentType string
	// Body is the file as written.
	Body []byte
	// ETag is the strong entity tag of Body: the first 16 bytes of its SHA-256 in hex,
	// quoted ("\"3f…\"").
	ETag string
	// Gzip is Body compressed with gzip (deterministic: no name, no mtime), or nil when that
	// would not be smaller.
	Gzip []byte
	// GzipETag is the strong entity tag of the gzip representation: ETag with "-gzip" before
	// the closing quote. Empty when Gzip is nil.
	GzipETag string
}

// Set is every embedded file by name. It is immutable after Load.
type Set struct {
	byName map[string]*File
	names  []string
}

// Load reads the embedded tree and prepares every file. It fails only on a file whose
// extension has no media type here (a programming error the tests catch).
func Load() (*Set, error) {
	s := &Set{byName: map[string]*File{}}
	err := fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := web.ReadFile(p)
		if err != nil {
			return err
		}
		name := p[len("web/"):]
		f, err := prepare(name, body)
		if err != nil {
			return err
		}
		s.byName[name] = f
		s.names = append(s.names, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	sort.Strings(s.names)
	return s, nil
}

// prepare computes a file's type, tags and gzip copy.
func prepare(name string, body []byte) (*File, error) {
	ct, ok := mediaTypes[path.Ext(name)]
	if !ok {
		return nil, fmt.Errorf("%s: no media type for %q", name, path.Ext(name))
	}
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	f := &File{Name: name, ContentType: ct, Body: body, ETag: `"` + tag + `"`}
	if gz := compress(body); len(gz) < len(body) {
		f.Gzip, f.GzipETag = gz, `"`+tag+`-gzip"`
	}
	return f, nil
}

// compress returns b as one gzip member at the best compression, with no name and mtime 0,
// so the same input always gives the same bytes.
func compress(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression) // the level is valid
	zw.Write(b)                                              // a bytes.Buffer never fails
	zw.Close()
	return out.Bytes()
}

// mediaTypes maps the extensions the tree uses to their media types. Read-only.
var mediaTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Get returns the file named name, or nil.
func (s *Set) Get(name string) *File { return s.byName[name] }

// Lookup is Get for a name held in bytes; it does not allocate.
func (s *Set) Lookup(name []byte) *File { return s.byName[string(name)] }

// Names lists every file name, sorted. The slice is shared: do not modify it.
func (s *Set) Names() []string { return s.names }
