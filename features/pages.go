package features

// The control tower (GET /playground), the dashboard (GET /dashboard) and their files
// (GET /assets/…), issue #6.
//
// The files are embedded (package assets) and prepared once (embeddedPages): for each file
// and each representation (identity, and gzip when it is smaller) the header block of a 200
// and of a 304 is rendered in advance, next to the body and its strong entity tag (a SHA-256
// prefix computed by assets.Load). Serving is then inline on the event loop and allocates
// nothing: pick the representation from Accept-Encoding, evaluate If-Match and
// If-None-Match against its tag with a byte scan, and hand conn the prepared header bytes and
// the shared body. Every answer carries Cache-Control: no-cache (the URLs carry no version,
// so a browser revalidates and gets a 304 while nothing changed) and Vary: Accept-Encoding
// when a gzip representation exists.
//
// Security headers, on every page and file: a Content-Security-Policy that allows scripts,
// styles, images (and data: images), connections and nothing else only from this origin,
// and no inline script, style or plugin; X-Content-Type-Options: nosniff; Referrer-Policy:
// no-referrer. The pages' own JavaScript builds the DOM with createElement and textContent
// only (assets' tests refuse innerHTML and its kin), so server data is never markup.
//
// /assets/<name> serves every embedded file except the HTML pages, by exact name: there is
// no decoding and no path walking, so "..", "%2e" and friends simply name nothing (404).

import (
	"sync"

	"ownhttp/assets"
	"ownhttp/conn"
	"ownhttp/proto"
)

// Security headers of the pages and their files.
const (
	pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	pageCacheControl = "no-cache"
)

// pageSet is every embedded file ready to serve. Immutable once built.
type pageSet struct {
	playground, dashboard *pageFile
	// byAsset holds the files served under /assets/, by their name below it.
	byAsset map[string]*pageFile
}

// pageFile is one file in its representations.
type pageFile struct {
	identity pageRep
	gzip     *pageRep // nil when compression does not make it smaller
}

// pageRep is one representation: its entity tag, body, and the pre-rendered header lines
// of a 200 and of a 304 answer.
type pageRep struct {
	etag        []byte // quoted, strong
	body        []byte // shared with package assets; never modified
	okHead      []byte
	notModified []byte
}

// embeddedPages builds the page set on first use; the result never changes afterwards. It is
// package-level because it depends only on the files embedded in the binary, so every App
// shares it. Building takes a few milliseconds (hashing and compressing ~85 KB), paid once by
// the first request for a page; calling it from New would move that to startup.
var embeddedPages = sync.OnceValues(loadPages)

// loadPages prepares the embedded files for serving.
func loadPages() (*pageSet, error) {
	set, err := assets.Load()
	if err != nil {
		return nil, err
	}
	ps := &pageSet{byAsset: map[string]*pageFile{}}
	for _, name := range set.Names() {
		pf := newPageFile(set.Get(name))
		switch name {
		case assets.Playground:
			ps.playground = pf
		case assets.Dashboard:
			ps.dashboard = pf
		default:
			if !isHTML(name) {
				ps.byAsset[name] = pf
			}
		}
	}
	return ps, nil
}

func isHTML(name string) bool {
	return len(name) >= 5 && name[len(name)-5:] == ".html"
}

// newPageFile renders the header blocks of f's representations.
func newPageFile(f *assets.File) *pageFile {
	vary := f.Gzip != nil
	pf := &pageFile{identity: newPageRep(f.ContentType, "", f.ETag, f.Body, vary)}
	if f.Gzip != nil {
		rep := newPageRep(f.ContentType, "gzip", f.GzipETag, f.Gzip, vary)
		pf.gzip = &rep
	}
	return pf
}

func newPageRep(contentType, encoding, etag string, body []byte, vary bool) pageRep {
	var common []byte
	common = proto.AppendHeader(common, "ETag", etag)
	common = proto.AppendHeader(common, "Cache-Control", pageCacheControl)
	if vary {
		common = proto.AppendHeader(common, "Vary", "Accept-Encoding")
	}
	common = appendSecurityHeaders(common)
	var ok []byte
	ok = proto.AppendHeader(ok, "Content-Type", contentType)
	if encoding != "" {
		ok = proto.AppendHeader(ok, "Content-Encoding", encoding)
	}
	ok = append(ok, common...)
	return pageRep{etag: []byte(etag), body: body, okHead: ok, notModified: common}
}

// appendSecurityHeaders appends the security headers every page and file carries.
func appendSecurityHeaders(b []byte) []byte {
	b = proto.AppendHeader(b, "Content-Security-Policy", pageCSP)
	b = proto.AppendHeader(b, "X-Content-Type-Options", "nosniff")
	return proto.AppendHeader(b, "Referrer-Policy", "no-referrer")
}

// pagePlayground is GET /playground: the control tower.
func (a *App) pagePlayground(x *conn.Exchange, _ *params) {
	if ps := a.pages(x); ps != nil {
		serveEmbedded(x, ps.playground)
	}
}

// pageDashboard is GET /dashboard: live metrics.
func (a *App) pageDashboard(x *conn.Exchange, _ *params) {
	if ps := a.pages(x); ps != nil {
		serveEmbedded(x, ps.dashboard)
	}
}

// pageAsset is GET /assets/<name>: the pages' CSS, JavaScript and images, by exact name.
func (a *App) pageAsset(x *conn.Exchange, p *params) {
	ps := a.pages(x)
	if ps == nil {
		return
	}
	f := ps.byAsset[string(p[0])] // the conversion in a map index does not allocate
	if f == nil {
		x.Text(404, textPlain, notFound)
		return
	}
	serveEmbedded(x, f)
}

// pages returns the page set, or answers 500 and returns nil when it could not be built
// (an embedded file of an unknown type: a build mistake the assets tests catch).
func (a *App) pages(x *conn.Exchange) *pageSet {
	ps, err := embeddedPages()
	if err != nil {
		a.cfg.Logger.Error("embedded pages unavailable", "err", err)
		x.Text(500, textPlain, []byte("Internal Server Error"))
		return nil
	}
	return ps
}

// serveEmbedded answers with f: gzip when the client accepts it and it exists, 412 when
// If-Match names another tag, 304 when If-None-Match names this one (RFC 9110 §13.2.2:
// If-Match first, then If-None-Match; these routes are GET and HEAD only).
func serveEmbedded(x *conn.Exchange, f *pageFile) {
	rep := &f.identity
	if f.gzip != nil && acceptsGzip(x.Req.Headers) {
		rep = f.gzip
	}
	if present, match := etagListMatch(x.Req.Headers, "if-match", rep.etag, false); present && !match {
		x.HeaderBytes(rep.notModified)
		x.Text(412, textPlain, []byte("Precondition Failed"))
		return
	}
	if _, match := etagListMatch(x.Req.Headers, "if-none-match", rep.etag, true); match {
		x.HeaderBytes(rep.notModified)
		x.Status = 304
		x.Reply.Body = nil
		return
	}
	x.HeaderBytes(rep.okHead)
	x.Status = 200
	x.Reply.Body = rep.body // x.Body is the request body
}

// etagListMatch reads every field named name (lower case) as one list of entity tags
// (RFC 9110 §8.8.3, §13.1.1-2) and reports whether such a field is present and whether the
// list matches tag: "*" matches any; weak selects the weak comparison (W/ prefixes are
// ignored, for If-None-Match), otherwise a weak tag never matches (If-Match). Scanning a
// field stops at its first malformed member; the members before it still count. It does not
// allocate.
func etagListMatch(headers []proto.Header, name string, tag []byte, weak bool) (present, match bool) {
	for i := range headers {
		h := &headers[i]
		if !proto.EqualFold(h.Name, name) {
			continue
		}
		present = true
		if etagFieldMatch(h.Value, tag, weak) {
			return true, true
		}
	}
	return present, false
}

// etagFieldMatch scans one field value: "*" (alone) or #( [ "W/" ] DQUOTE *etagc DQUOTE ).
func etagFieldMatch(v, tag []byte, weak bool) bool {
	if t := trimOWSBytes(v); len(t) == 1 && t[0] == '*' {
		return true
	}
	for {
		for len(v) > 0 && (v[0] == ',' || v[0] == ' ' || v[0] == '\t') {
			v = v[1:]
		}
		if len(v) == 0 {
			return false
		}
		isWeak := len(v) >= 2 && v[0] == 'W' && v[1] == '/'
		if isWeak {
			v = v[2:]
		}
		if len(v) == 0 || v[0] != '"' {
			return false
		}
		end := 1
		for end < len(v) && v[end] != '"' {
			c := v[end]
			if c != 0x21 && (c < 0x23 || c == 0x7f) {
				return false // not an etagc
			}
			end++
		}
		if end == len(v) {
			return false // no closing quote
		}
		if (weak || !isWeak) && string(v[:end+1]) == string(tag) {
			return true
		}
		v = v[end+1:]
		for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
			v = v[1:]
		}
		if len(v) > 0 && v[0] != ',' {
			return false
		}
	}
}

func trimOWSBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
