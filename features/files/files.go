// Package files serves files from a directory for the /static/ route and the CodeCrafters
// /files/{name} routes (issue #3; spec §1.12, §3.3, RFC 9110 §8.8, §13 and §14): names,
// containment, open and fstat, content types, validators, conditional requests and ranges,
// and the CodeCrafters upload. The handlers are in package features.
//
// Where the work runs. Name and QueryOf do no I/O and run on the event loop: percent-decoding,
// NUL bytes, backslashes and ".." segments are refused there (400 or 403) without a trip to
// the offload pool, and /static/ itself is a 404 at once. Open, Serve and Replace block on the
// disk (opening the root, opening the file, fstat, and the conditional and range evaluation
// that needs the file's size and mtime): call them in Exchange.Go. Serve hands the open file
// to conn (Reply.File), which sends it from the owner goroutine with the engine's SendFile
// (sendfile(2) on the reactor, resumed when the socket becomes writable).
//
// Containment. The root is opened per request with os.OpenRoot (so a --static-dir created,
// replaced or removed while the server runs is seen as it is now; the cost is one extra
// openat and close on the offload pool) and the file with Root.OpenFile, which walks the path
// one component at a time with O_NOFOLLOW and refuses any path or symlink that leads outside
// the root, however it is spelled. Our own lexical checks come first and are stricter: any
// ".." segment is refused even when it would stay inside the root (clients normalise dot
// segments before sending, RFC 3986 §5.2.4, so a ".." that reaches us is an attack or a bug),
// and so is any backslash (a separator on some systems; no static asset needs one). Encoded
// slashes (%2f) decode to separators; empty and "." segments are dropped, so
// /static//etc/passwd and /static/%2fetc%2fpasswd name etc/passwd inside the root.
//
// Errors from the open map to statuses (rootStatus, openStatus): a missing file or directory,
// a root that is not a directory, a path through a non-directory, an over-long name or a
// symlink loop is 404; a permission error is 403; a Root.OpenFile error that is not an errno
// is Root's "path escapes from parent" (the only such error it returns for the non-empty
// relative names we pass) and is 403; running out of file descriptors or memory is 503 with
// Retry-After; any other errno is 500. Directories and other non-regular files (FIFOs,
// devices, sockets) are 404; the file is opened with O_NONBLOCK so that opening a FIFO never
// blocks an offload worker.
package files

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ownhttp/conn"
	"ownhttp/proto"
)

// PlainStatus answers with status and its reason phrase as a text/plain body; a 503 says
// when to retry.
func PlainStatus(r *conn.Reply, status int) {
	if status == 503 {
		r.Header("Retry-After", "1")
	}
	r.Text(status, textPlain, []byte(proto.StatusText(status)))
}

const textPlain = "text/plain; charset=utf-8"

// Name turns the raw (percent-encoded) path after "/static/" into a slash-separated name
// relative to the static root, or returns the status that refuses it: 400 for invalid
// percent-encoding or a NUL byte, 403 for a ".." segment or a backslash, 404 for an empty name
// (the root itself). Empty and "." segments are dropped; a trailing slash is kept, so a file
// named with one is not found (Root reports ENOTDIR).
func Name(raw []byte) (name string, status int) {
	dec, ok := percentDecode(raw)
	if !ok {
		return "", 400
	}
	if strings.IndexByte(dec, 0) >= 0 {
		return "", 400
	}
	if strings.IndexByte(dec, '\\') >= 0 {
		return "", 403
	}
	var b strings.Builder
	for seg := range strings.SplitSeq(dec, "/") {
		switch seg {
		case "", ".":
			continue
		case "..":
			return "", 403
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(seg)
	}
	if b.Len() == 0 {
		return "", 404
	}
	if strings.HasSuffix(dec, "/") {
		b.WriteByte('/')
	}
	return b.String(), 0
}

// percentDecode decodes %XX escapes (RFC 3986 §2.1; '+' is not a space in a path). It reports
// false for a '%' not followed by two hex digits.
func percentDecode(s []byte) (string, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", false
			}
			n++
			i += 2
		}
	}
	if n == 0 {
		return string(s), true
	}
	out := make([]byte, 0, len(s)-2*n)
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return string(out), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// Query is what serving one file needs from the request, copied out of it before the
// offload (the request's views die when the handler returns).
type Query struct {
	name string    // relative to the static root, as Name returns it
	get  bool      // GET rather than HEAD: only GET has range handling (RFC 9110 §14.2)
	now  time.Time // the server's clock when the request was read
	// List fields (If-Match, If-None-Match) hold every field line's value joined by ", ";
	// singleton fields hold their value, or "" when absent or sent more than once (a
	// repeated If-Modified-Since or If-Unmodified-Since is ignored, RFC 9110 §13.1.3-4; a
	// repeated Range is invalid and ignored; a repeated If-Range cannot match, so it drops
	// the Range).
	ifMatch, ifNoneMatch               string
	ifModifiedSince, ifUnmodifiedSince string
	ifRange, rangeSpec                 string
}

// QueryOf copies the request's conditional and range fields.
func QueryOf(req *proto.Request, name string, now time.Time) Query {
	q := Query{name: name, get: req.Method == proto.MethodGET, now: now}
	q.ifMatch = listField(req, "If-Match")
	q.ifNoneMatch = listField(req, "If-None-Match")
	q.ifModifiedSince, _ = singletonField(req, "If-Modified-Since")
	q.ifUnmodifiedSince, _ = singletonField(req, "If-Unmodified-Since")
	q.rangeSpec, _ = singletonField(req, "Range")
	var n int
	q.ifRange, n = singletonField(req, "If-Range")
	if n > 1 {
		q.rangeSpec = ""
	}
	return q
}

// listField joins the values of every field line named name with ", " (RFC 9110 §5.3).
func listField(req *proto.Request, name string) string {
	var out string
	for i := range req.Headers {
		h := &req.Headers[i]
		if !strings.EqualFold(string(h.Name), name) || len(h.Value) == 0 {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += string(h.Value)
	}
	return out
}

// singletonField returns the value of the field named name when it appears exactly once
// (and "" otherwise) and how many times it appears.
func singletonField(req *proto.Request, name string) (string, int) {
	var v []byte
	n := 0
	for i := range req.Headers {
		if strings.EqualFold(string(req.Headers[i].Name), name) {
			v = req.Headers[i].Value
			n++
		}
	}
	if n != 1 {
		return "", n
	}
	return string(v), n
}

// Serve opens q.name under dir and fills r: the file (200 or 206), 304, 412, 416, or the
// status that refuses the path. It blocks on the disk and runs on the offload pool.
func Serve(r *conn.Reply, dir string, q *Query) {
	f, fi, status := Open(dir, q.name)
	if status != 0 {
		PlainStatus(r, status)
		return
	}
	size := fi.Size()
	v := validatorsOf(fi.ModTime(), size, q.now)
	d := evaluate(q, &v, size)
	switch d.status {
	case 304:
		// RFC 9110 §15.4.5: the validators, no body, no Content-Type.
		f.Close()
		r.Status = 304
		v.header(r)
	case 412:
		f.Close()
		PlainStatus(r, 412)
	case 416:
		// RFC 9110 §15.5.17: Content-Range names the current length.
		f.Close()
		r.Header("Accept-Ranges", "bytes")
		r.Header("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		PlainStatus(r, 416)
	default:
		r.Status = d.status
		r.Header("Content-Type", contentType(q.name))
		r.Header("Accept-Ranges", "bytes")
		v.header(r)
		if d.status == 206 {
			r.Header("Content-Range", "bytes "+strconv.FormatInt(d.off, 10)+"-"+
				strconv.FormatInt(d.off+d.n-1, 10)+"/"+strconv.FormatInt(size, 10))
		}
		if d.n == 0 {
			f.Close() // an empty file: Content-Length: 0 and nothing to send
			return
		}
		r.File(f, d.off, d.n)
	}
}

// Open opens the regular file name inside the directory dir, refusing anything that
// resolves outside it. On failure it returns the status to answer (see the package comment).
func Open(dir, name string) (*os.File, fs.FileInfo, int) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, rootStatus(err)
	}
	defer root.Close()
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, openStatus(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, 500
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, 404
	}
	return f, fi, 0
}

// rootStatus maps an error of os.OpenRoot to the status that answers it: as openStatus, but
// an error that is not an errno is OpenRoot's "not a directory" (the root is a file), 404.
func rootStatus(err error) int {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return 404
	}
	return errnoStatus(errno)
}

// openStatus maps an error of Root.OpenFile to the status that answers it.
func openStatus(err error) int {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return 403 // Root's "path escapes from parent": a symlink out of the root
	}
	return errnoStatus(errno)
}

func errnoStatus(errno syscall.Errno) int {
	// Windows reports its own error numbers (ERROR_FILE_NOT_FOUND, …), which match the
	// portable errors rather than the Unix numbers below.
	switch {
	case errors.Is(errno, fs.ErrNotExist):
		return 404
	case errors.Is(errno, fs.ErrPermission):
		return 403
	}
	switch errno {
	case syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG, syscall.ELOOP:
		return 404
	case syscall.EACCES, syscall.EPERM:
		return 403
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM:
		return 503
	}
	return 500
}

// validators are a file's ETag and Last-Modified (RFC 9110 §8.8).
type validators struct {
	etag       string    // W/"<mtime ns hex>-<size hex>"
	lastMod    time.Time // whole seconds, UTC; zero when hasLastMod is false
	hasLastMod bool
	lastModStr string // lastMod as an IMF-fixdate
}

// validatorsOf computes the validators of a file. Per RFC 9110 §8.8.2.1 a modification time
// later than now is replaced by now; one whose year an IMF-fixdate cannot hold is left out
// (the file then has no modification date for §13's purposes).
func validatorsOf(mtime time.Time, size int64, now time.Time) validators {
	v := validators{etag: weakETag(mtime, size)}
	lm := mtime
	if lm.After(now) {
		lm = now
	}
	lm = lm.UTC().Truncate(time.Second)
	if y := lm.Year(); y >= 1 && y <= 9999 {
		v.lastMod, v.hasLastMod = lm, true
		v.lastModStr = lm.Format(proto.TimeFormat)
	}
	return v
}

// weakETag is W/"<mtime in nanoseconds, lower hex>-<size, lower hex>" (spec §1.12).
func weakETag(mtime time.Time, size int64) string {
	b := make([]byte, 0, 40)
	b = append(b, `W/"`...)
	b = strconv.AppendUint(b, uint64(mtime.UnixNano()), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(size), 16)
	b = append(b, '"')
	return string(b)
}

// header appends ETag and Last-Modified.
func (v *validators) header(r *conn.Reply) {
	r.Header("ETag", v.etag)
	if v.hasLastMod {
		r.Header("Last-Modified", v.lastModStr)
	}
}

// decision is the outcome of evaluate: a status, and for 200 and 206 the bytes to send.
type decision struct {
	status int
	off, n int64
}

// evaluate applies the preconditions in the order of RFC 9110 §13.2.2, then the Range (§14.2).
func evaluate(q *Query, v *validators, size int64) decision {
	// Step 1: If-Match (§13.1.1, strong comparison); step 2: without it, If-Unmodified-Since
	// (§13.1.4, ignored when invalid or when the file has no modification date).
	if q.ifMatch != "" {
		if !matchETags(q.ifMatch, v.etag, false) {
			return decision{status: 412}
		}
	} else if q.ifUnmodifiedSince != "" && v.hasLastMod {
		if t, ok := parseHTTPDate(q.ifUnmodifiedSince, q.now); ok && v.lastMod.After(t) {
			return decision{status: 412}
		}
	}
	// Step 3: If-None-Match (§13.1.2, weak comparison); step 4: without it, If-Modified-Since
	// (§13.1.3: GET and HEAD only — the only methods here — and ignored when invalid, later
	// than the server's clock, or when the file has no modification date).
	if q.ifNoneMatch != "" {
		if matchETags(q.ifNoneMatch, v.etag, true) {
			return decision{status: 304}
		}
	} else if q.ifModifiedSince != "" && v.hasLastMod {
		if t, ok := parseHTTPDate(q.ifModifiedSince, q.now); ok && !t.After(q.now) && !v.lastMod.After(t) {
			return decision{status: 304}
		}
	}
	full := decision{status: 200, n: size}
	// Step 5: Range, for GET only (§14.2), and only when If-Range, if any, holds (§13.1.5).
	// A Range on an empty file is ignored rather than refused (no range of it exists).
	if !q.get || q.rangeSpec == "" || size == 0 {
		return full
	}
	if q.ifRange != "" && !ifRangeHolds(q.ifRange, v, q.now) {
		return full
	}
	off, n, res := parseRange(q.rangeSpec, size)
	switch res {
	case rangeSatisfiable:
		return decision{status: 206, off: off, n: n}
	case rangeUnsatisfiable:
		return decision{status: 416}
	}
	return full
}

// matchETags reports whether a comma-separated If-Match or If-None-Match value names the
// entity tag current: "*" (alone) names any, weak selects the weak comparison (If-None-Match)
// and otherwise the strong one (If-Match), RFC 9110 §8.8.3.2. Parsing stops at the first
// malformed member; the members before it still count.
func matchETags(list, current string, weak bool) bool {
	s := trimOWS(list)
	if s == "*" {
		return true
	}
	for {
		for s != "" && (s[0] == ',' || s[0] == ' ' || s[0] == '\t') {
			s = s[1:]
		}
		if s == "" {
			return false
		}
		tag, rest, ok := scanETag(s)
		if !ok {
			return false
		}
		if etagsMatch(tag, current, weak) {
			return true
		}
		s = trimOWS(rest)
		if s != "" && s[0] != ',' {
			return false
		}
	}
}

// scanETag reads one entity-tag (RFC 9110 §8.8.3: [ "W/" ] DQUOTE *etagc DQUOTE) at the start
// of s and returns it and what follows.
func scanETag(s string) (tag, rest string, ok bool) {
	i := 0
	if strings.HasPrefix(s, "W/") {
		i = 2
	}
	if i >= len(s) || s[i] != '"' {
		return "", "", false
	}
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '"':
			return s[:j+1], s[j+1:], true
		case c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80:
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// etagsMatch compares two entity tags (RFC 9110 §8.8.3.2): the weak comparison matches equal
// opaque tags whatever their W/ prefix; the strong one also needs both to be strong.
func etagsMatch(a, b string, weak bool) bool {
	aw, bw := strings.HasPrefix(a, "W/"), strings.HasPrefix(b, "W/")
	if !weak && (aw || bw) {
		return false
	}
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// ifRangeHolds evaluates If-Range (RFC 9110 §13.1.5): an entity tag must match strongly (our
// tags are weak, so it never does); a date must equal the Last-Modified value exactly.
func ifRangeHolds(value string, v *validators, now time.Time) bool {
	if strings.HasPrefix(value, `"`) || strings.HasPrefix(value, "W/") {
		tag, rest, ok := scanETag(value)
		return ok && rest == "" && etagsMatch(tag, v.etag, false)
	}
	t, ok := parseHTTPDate(value, now)
	return ok && v.hasLastMod && t.Equal(v.lastMod)
}

func trimOWS(s string) string { return strings.Trim(s, " \t") }

// HTTP-date layouts (RFC 9110 §5.6.7): recipients accept all three.
const (
	rfc850Date  = "Monday, 02-Jan-06 15:04:05 GMT"
	asctimeDate = "Mon Jan _2 15:04:05 2006"
)

// parseHTTPDate parses an HTTP-date in any of its three formats. A two-digit RFC 850 year
// that would be more than 50 years after now is taken as the latest past year with the same
// last two digits (RFC 9110 §5.6.7).
func parseHTTPDate(s string, now time.Time) (time.Time, bool) {
	if t, err := time.Parse(proto.TimeFormat, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(rfc850Date, s); err == nil {
		ny := now.UTC().Year()
		y := ny - ny%100 + t.Year()%100
		if y > ny+50 {
			y -= 100
		} else if y+100 <= ny+50 {
			y += 100
		}
		return t.AddDate(y-t.Year(), 0, 0), true
	}
	if t, err := time.Parse(asctimeDate, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// rangeResult classifies a Range field value.
type rangeResult int

const (
	// rangeIgnored: no usable single byte range (another unit, invalid syntax, or several
	// ranges, which RFC 9110 §14.2 allows a server to ignore); the full file is sent.
	rangeIgnored rangeResult = iota
	rangeSatisfiable
	rangeUnsatisfiable
)

// parseRange reads a Range value (RFC 9110 §14.1.2) for a representation of size bytes
// (size > 0) and returns the one range it asks for as offset and length: "bytes=a-b"
// (b clipped to the last byte), "bytes=a-" and the suffix "bytes=-n" (the whole file when n
// is larger). A first-pos at or past the end, or a zero suffix length, is unsatisfiable.
func parseRange(spec string, size int64) (off, n int64, res rangeResult) {
	unit, set, ok := strings.Cut(spec, "=")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return 0, 0, rangeIgnored
	}
	var one string
	count := 0
	for part := range strings.SplitSeq(set, ",") {
		if part = trimOWS(part); part != "" {
			one = part
			count++
		}
	}
	if count != 1 {
		return 0, 0, rangeIgnored
	}
	first, last, ok := strings.Cut(one, "-")
	if !ok {
		return 0, 0, rangeIgnored
	}
	if first == "" { // suffix-range
		suffix, ok := decimal(last)
		switch {
		case !ok:
			return 0, 0, rangeIgnored
		case suffix == 0:
			return 0, 0, rangeUnsatisfiable
		}
		suffix = min(suffix, size)
		return size - suffix, suffix, rangeSatisfiable
	}
	start, ok := decimal(first)
	if !ok {
		return 0, 0, rangeIgnored
	}
	end := size - 1
	if last != "" {
		e, ok := decimal(last)
		if !ok || decimalLess(last, first) {
			return 0, 0, rangeIgnored // last-pos below first-pos makes the range invalid
		}
		end = min(e, size-1)
	}
	if start >= size {
		return 0, 0, rangeUnsatisfiable
	}
	return start, end - start + 1, rangeSatisfiable
}

// decimal parses 1*DIGIT, saturating at the largest int64 (such a position is past the end
// of any file, which is what it means).
func decimal(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-int64(c-'0'))/10 {
			n = 1<<63 - 1
			for _, c := range s[i+1:] {
				if c < '0' || c > '9' {
					return 0, false
				}
			}
			return n, true
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// decimalLess compares two digit strings as the (arbitrarily large) numbers they spell.
func decimalLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// contentType is the Content-Type of a file name, by its extension (case-insensitive) and
// without a charset as the spec asks (§1.12); unknown or no extension is
// application/octet-stream. The table is our own so the answer does not depend on the
// machine's mime.types.
func contentType(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || strings.IndexByte(name[i:], '/') >= 0 {
		return "application/octet-stream"
	}
	if t, ok := contentTypes[strings.ToLower(name[i+1:])]; ok {
		return t
	}
	return "application/octet-stream"
}

// contentTypes maps lower-case extensions to media types. Read-only after package init.
var contentTypes = map[string]string{
	"html":        "text/html",
	"htm":         "text/html",
	"css":         "text/css",
	"js":          "text/javascript",
	"mjs":         "text/javascript",
	"json":        "application/json",
	"map":         "application/json",
	"webmanifest": "application/manifest+json",
	"txt":         "text/plain",
	"md":          "text/markdown",
	"csv":         "text/csv",
	"xml":         "text/xml",
	"svg":         "image/svg+xml",
	"png":         "image/png",
	"jpg":         "image/jpeg",
	"jpeg":        "image/jpeg",
	"gif":         "image/gif",
	"webp":        "image/webp",
	"avif":        "image/avif",
	"ico":         "image/vnd.microsoft.icon",
	"woff":        "font/woff",
	"woff2":       "font/woff2",
	"ttf":         "font/ttf",
	"otf":         "font/otf",
	"wasm":        "application/wasm",
	"pdf":         "application/pdf",
	"zip":         "application/zip",
	"gz":          "application/gzip",
	"mp3":         "audio/mpeg",
	"wav":         "audio/wav",
	"mp4":         "video/mp4",
	"webm":        "video/webm",
}
