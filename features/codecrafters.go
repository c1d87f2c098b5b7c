package features

import (
	"bytes"
	"compress/gzip"
	"errors"
	"sync"

	"ownhttp/conn"
	"ownhttp/features/files"
	"ownhttp/proto"
)

// CodeCrafters compatibility routes (issue #3; spec §3.3 and §1.15). They exist only with
// --codecrafters-mode (routes.go). Differences from the seed, on purpose:
//   - POST (or PUT…) /echo/x is 405 with Allow: GET, HEAD, as for every registered pattern,
//     where the seed said 404 for POST.
//   - gzip follows Accept-Encoding weights (acceptsGzip): "gzip;q=0" is a refusal.
//   - /files/{name} names are percent-decoded, and the file is opened through an os.Root, so
//     neither the name nor a symbolic link in the directory reaches outside it.
//   - 201 Created has an empty body and no Content-Type.

const (
	ccTextPlain   = "text/plain" // exactly, no charset: CodeCrafters testers compare it
	ccOctetStream = "application/octet-stream"
)

var echoPrefix = []byte("/echo/")

// ccEcho answers GET /echo/{str} with str: the raw remainder of the path after "/echo/", not
// percent-decoded ("/echo/a%20b" gives "a%20b"), without the query. "/echo" alone has no str
// and is 404. The body is gzip-compressed when Accept-Encoding accepts gzip (acceptsGzip);
// every answer carries Vary: Accept-Encoding, since its encoding depends on that field.
// Compression runs inline: the input is bounded by --max-target-length.
func (a *App) ccEcho(x *conn.Exchange, _ *params) {
	path := x.Req.Path
	if !bytes.HasPrefix(path, echoPrefix) {
		x.Text(404, textPlain, notFound)
		return
	}
	msg := path[len(echoPrefix):]
	x.Header("Vary", "Accept-Encoding")
	if !acceptsGzip(x.Req.Headers) {
		x.Text(200, ccTextPlain, msg) // a view of the path: valid until the reply is rendered
		return
	}
	x.Header("Content-Encoding", "gzip")
	x.Text(200, ccTextPlain, gzipBytes(msg))
}

// ccUserAgent answers GET /user-agent with the User-Agent field's value (the first one, with
// surrounding whitespace removed), or an empty body when there is none.
func (a *App) ccUserAgent(x *conn.Exchange, _ *params) {
	x.Text(200, ccTextPlain, x.Req.Header("user-agent"))
}

// ccFileGet answers GET /files/{name} with the bytes of that regular file in --directory as
// application/octet-stream, sent with sendfile. Everything else is a plain 404: no
// --directory, a missing directory, an invalid name (files.FlatName), a missing file, a name
// that is not a regular file (directories, FIFOs, devices), or a symbolic link that leads
// outside the directory (files.Open refuses them all). Opening and stat-ing happen off the
// event loop.
func (a *App) ccFileGet(x *conn.Exchange, p *params) {
	name, ok := files.FlatName(p[0])
	if !ok || a.cfg.Directory == "" {
		x.Text(404, textPlain, notFound)
		return
	}
	dir := a.cfg.Directory
	x.GoOn(a.cfg.Files, func(r *conn.Reply) { // r starts with x's Route
		f, fi, status := files.Open(dir, name)
		if status != 0 {
			r.Text(404, textPlain, notFound)
			return
		}
		r.Header("Content-Type", ccOctetStream)
		r.File(f, 0, fi.Size())
	})
}

// ccFilePost writes the request body to the file {name} in --directory, replacing it
// atomically (a temporary file in the same directory, synced, then renamed over the name),
// and answers 201 Created with an empty body. It answers a plain 404 when there is no
// --directory or the directory is missing, the name is invalid (files.FlatName), or the name
// exists and is not a regular file (a directory, a symbolic link, a FIFO…); a failure to
// write is a 500 and an error log line. The write happens off the event loop, on a copy of
// the body.
func (a *App) ccFilePost(x *conn.Exchange, p *params) {
	name, ok := files.FlatName(p[0])
	if !ok || a.cfg.Directory == "" {
		x.Text(404, textPlain, notFound)
		return
	}
	dir, log := a.cfg.Directory, a.cfg.Logger
	body := bytes.Clone(x.Body) // x.Body dies when this handler returns
	x.Go(func(r *conn.Reply) {  // r starts with x's Route
		switch err := files.Replace(dir, name, body); {
		case err == nil:
			r.Status = 201
		case errors.Is(err, files.ErrNotWritable):
			r.Text(404, textPlain, notFound)
		default:
			log.Error("codecrafters: file not written", "directory", dir, "name", name, "err", err)
			r.Text(500, textPlain, []byte(proto.StatusText(500)))
		}
	})
}

// acceptsGzip reports whether the Accept-Encoding fields (all of them, as one list, RFC 9110
// §5.3) accept the gzip coding (§12.5.3), reading each element as coding[;q=weight]:
//   - codings compare case-insensitively, and "x-gzip" is gzip (§8.4.1.3);
//   - the weight defaults to 1; q=0 means "not acceptable";
//   - an explicit gzip element decides; otherwise "*" does; with neither, gzip is not used
//     (no field at all also means no gzip: clients that want it say so);
//   - an explicitly listed identity with a higher weight than gzip's is preferred;
//   - an element with a malformed weight is ignored, as though it were absent;
//   - when gzip is listed more than once, the highest weight counts.
func acceptsGzip(headers []proto.Header) bool {
	gz, star, identity := -1, -1, -1 // weights in thousandths; -1: not listed
	for i := range headers {
		if !proto.EqualFold(headers[i].Name, "accept-encoding") {
			continue
		}
		for elem := range bytes.SplitSeq(headers[i].Value, []byte{','}) {
			coding, q, ok := parseCodingWeight(elem)
			if !ok {
				continue
			}
			var w *int
			switch {
			case proto.EqualFold(coding, "gzip"), proto.EqualFold(coding, "x-gzip"):
				w = &gz
			case string(coding) == "*":
				w = &star
			case proto.EqualFold(coding, "identity"):
				w = &identity
			default:
				continue
			}
			*w = max(*w, q)
		}
	}
	if gz < 0 {
		gz = star
	}
	return gz > 0 && gz >= identity
}

// parseCodingWeight splits one Accept-Encoding element into its coding and weight (in
// thousandths, 1000 when absent). ok is false for an empty element or a malformed weight.
// Parameters other than q are ignored.
func parseCodingWeight(elem []byte) (coding []byte, q int, ok bool) {
	coding, params, _ := bytes.Cut(elem, []byte{';'})
	coding = bytes.TrimSpace(coding)
	if len(coding) == 0 {
		return nil, 0, false
	}
	q = 1000
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte{';'})
		k, v, _ := bytes.Cut(bytes.TrimSpace(p), []byte{'='})
		if !proto.EqualFold(bytes.TrimSpace(k), "q") {
			continue
		}
		if q, ok = parseQValue(bytes.TrimSpace(v)); !ok {
			return nil, 0, false
		}
	}
	return coding, q, true
}

// parseQValue parses a weight (RFC 9110 §12.4.2: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ])
// into thousandths.
func parseQValue(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	q := int(v[0]-'0') * 1000
	if len(v) == 1 {
		return q, true
	}
	if v[1] != '.' {
		return 0, false
	}
	scale := 100
	for _, c := range v[2:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	return q, q <= 1000
}

// gzipWriters caches gzip writers (a compressor's tables are hundreds of KiB). It is scratch
// space, not state: a writer is Reset before each use and nothing survives from one use to
// the next.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// gzipBytes returns b compressed as one gzip member with no name and mtime 0, so that the
// same input always gives the same bytes.
func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&out)
	zw.Write(b) // a bytes.Buffer never fails
	zw.Close()
	zw.Reset(nil)
	gzipWriters.Put(zw)
	return out.Bytes()
}
