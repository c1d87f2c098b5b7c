package assets

import (
	"bytes"
	"compress/gzip"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func mustLoad(t *testing.T) *Set {
	t.Helper()
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var etagRE = regexp.MustCompile(`^"[0-9a-f]{32}"$`)

// Every embedded file has a media type, a strong SHA-256 tag, and a gzip copy that decodes to
// the file (when it has one, with its own tag).
func TestLoad(t *testing.T) {
	is := is.New(t)
	s := mustLoad(t)
	is.True(slices.IsSorted(s.Names()))
	for _, want := range []string{Playground, Dashboard, "css/tower.css", "js/tower.js", "js/dashboard.js", "img/favicon.svg"} {
		is.True(s.Get(want) != nil) // a file the pages need is embedded
	}
	for _, name := range s.Names() {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			f := s.Get(name)
			is.Equal(f.Name, name)
			is.Equal(s.Lookup([]byte(name)), f)
			is.True(len(f.Body) > 0)
			is.True(f.ContentType != "")
			is.True(etagRE.MatchString(f.ETag)) // strong, quoted, 32 hex digits
			if f.Gzip == nil {
				is.Equal(f.GzipETag, "")
				return
			}
			is.True(len(f.Gzip) < len(f.Body))
			is.Equal(f.GzipETag, strings.TrimSuffix(f.ETag, `"`)+`-gzip"`)
			zr, err := gzip.NewReader(bytes.NewReader(f.Gzip))
			is.NoErr(err)
			plain, err := io.ReadAll(zr)
			is.NoErr(err)
			is.Equal(plain, f.Body) // the gzip copy decodes to the file
		})
	}
	is.True(s.Get("nope.js") == nil)
	is.True(s.Lookup([]byte("../assets.go")) == nil)
}

// The text files the pages are made of compress well: the pages and their code have gzip copies.
func TestLoadCompressesText(t *testing.T) {
	is := is.New(t)
	s := mustLoad(t)
	for _, name := range s.Names() {
		if ext := path.Ext(name); ext == ".html" || ext == ".js" || ext == ".css" {
			f := s.Get(name)
			if len(f.Body) > 512 {
				is.True(f.Gzip != nil) // a text file of some size has a gzip copy
			}
		}
	}
}

// Two loads give the same tags and the same gzip bytes: tags do not change between runs of
// the same binary.
func TestLoadDeterministic(t *testing.T) {
	is := is.New(t)
	a, b := mustLoad(t), mustLoad(t)
	is.Equal(a.Names(), b.Names())
	for _, name := range a.Names() {
		is.Equal(a.Get(name).ETag, b.Get(name).ETag)
		is.Equal(a.Get(name).Gzip, b.Get(name).Gzip)
	}
}

func TestPrepare(t *testing.T) {
	for _, tc := range []struct{ name, ct string }{
		{"a.html", "text/html; charset=utf-8"},
		{"x/y.css", "text/css; charset=utf-8"},
		{"m.js", "text/javascript; charset=utf-8"},
		{"i.svg", "image/svg+xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			f, err := prepare(tc.name, []byte("body"))
			is.NoErr(err)
			is.Equal(f.ContentType, tc.ct)
			is.Equal(f.ETag, `"230d8358dc8e8890b4c58deeb62912ee"`) // sha256("body")[:16]
			is.True(f.Gzip == nil)                                 // four bytes do not compress
		})
	}
}

// A file of a type the table does not know is refused: Load never serves untyped bytes.
func TestPrepareHostile(t *testing.T) {
	for _, name := range []string{"x.exe", "noext", "a.JS", "a.html.bak", ".js.", "dir.js/x"} {
		t.Run(name, func(t *testing.T) {
			_, err := prepare(name, []byte("x"))
			is.New(t).True(err != nil)
		})
	}
}

// htmlSinks are the ways JavaScript can turn a string into markup or code. Our pages use none:
// they build the DOM with createElement and textContent only (dom.js).
var htmlSinks = []*regexp.Regexp{
	regexp.MustCompile(`\binnerHTML\b`),
	regexp.MustCompile(`\bouterHTML\b`),
	regexp.MustCompile(`\binsertAdjacentHTML\b`),
	regexp.MustCompile(`\bdocument\s*\.\s*write(ln)?\b`),
	regexp.MustCompile(`\bcreateContextualFragment\b`),
	regexp.MustCompile(`\bDOMParser\b`),
	regexp.MustCompile(`\bsrcdoc\b`),
	regexp.MustCompile(`\beval\s*\(`),
	regexp.MustCompile(`\bnew\s+Function\b`),
	regexp.MustCompile(`\bset(Timeout|Interval)\s*\(\s*['"` + "`" + `]`),
	regexp.MustCompile(`(?i)javascript:`),
}

// sinksIn returns the sink patterns src contains.
func sinksIn(src string) []string {
	var found []string
	for _, re := range htmlSinks {
		if m := re.FindString(src); m != "" {
			found = append(found, m)
		}
	}
	return found
}

// No embedded script uses innerHTML, outerHTML, insertAdjacentHTML, document.write or any
// other way of turning text into markup or code.
func TestNoHTMLSinks(t *testing.T) {
	s := mustLoad(t)
	n := 0
	for _, name := range s.Names() {
		if path.Ext(name) != ".js" {
			continue
		}
		n++
		if found := sinksIn(string(s.Get(name).Body)); len(found) > 0 {
			t.Errorf("%s uses %q: build DOM with createElement and textContent (dom.js)", name, found)
		}
	}
	is.New(t).True(n >= 5) // the check saw the scripts
}

// The sink check catches every spelling it is meant to catch.
func TestNoHTMLSinksHostile(t *testing.T) {
	for _, src := range []string{
		`row.innerHTML = data.path;`,
		`node.outerHTML=x`,
		`el.insertAdjacentHTML('beforeend', s)`,
		`document.write(s)`,
		`document . writeln(s)`,
		`range.createContextualFragment(s)`,
		`new DOMParser().parseFromString(s, 'text/html')`,
		`frame.srcdoc = s`,
		`eval(code)`,
		`const f = new Function('return 1')`,
		`setTimeout("alert(1)", 10)`,
		"setInterval(`x`, 1)",
		`a.href = 'JavaScript:alert(1)'`,
		`x["innerHTML"] = s`,
	} {
		t.Run(src, func(t *testing.T) {
			is.New(t).True(len(sinksIn(src)) > 0)
		})
	}
	for _, src := range []string{`node.textContent = s`, `el.append(document.createTextNode(s))`, `setTimeout(() => f(), 1)`, `evaluate(x)`} {
		t.Run("clean "+src, func(t *testing.T) {
			is.New(t).Equal(sinksIn(src), []string(nil))
		})
	}
}

var (
	attrURLRE     = regexp.MustCompile(`\s(?:src|href|action|formaction|poster|data)\s*=\s*"([^"]*)"`)
	inlineEventRE = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	styleAttrRE   = regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)
	scriptTagRE   = regexp.MustCompile(`(?i)<script\b([^>]*)>`)
	importRE      = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*\bfrom\s*'([^']+)'|^\s*import\s*'([^']+)'`)
	outsideURLRE  = regexp.MustCompile(`['"` + "`" + `(]\s*(?:https?:)?//`)
)

// The pages are self-contained and CSP-clean: every script is an external module from this
// origin, no inline script, handler or style attribute, every URL an attribute names is a
// path on this origin (and the embedded ones exist), every module import resolves to an
// embedded file, and no script or style names another origin.
func TestPagesSelfContained(t *testing.T) {
	s := mustLoad(t)
	for _, page := range []string{Playground, Dashboard} {
		t.Run(page, func(t *testing.T) {
			is := is.New(t)
			html := string(s.Get(page).Body)
			is.True(!strings.Contains(strings.ToLower(html), "<style")) // no inline style element
			is.True(!inlineEventRE.MatchString(html))                   // no inline event handler
			is.True(!styleAttrRE.MatchString(html))                     // no style attribute
			scripts := scriptTagRE.FindAllStringSubmatch(html, -1)
			is.True(len(scripts) > 0)
			for _, m := range scripts {
				is.True(strings.Contains(m[1], `type="module"`)) // scripts are modules
				is.True(strings.Contains(m[1], `src="/assets/`)) // and external, from this origin
			}
			for _, m := range attrURLRE.FindAllStringSubmatch(html, -1) {
				u := m[1]
				is.True(strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//")) // a path on this origin
				if name, ok := strings.CutPrefix(u, "/assets/"); ok {
					is.True(s.Get(name) != nil) // the page names an embedded file
				}
			}
		})
	}
	imports := 0
	for _, name := range s.Names() {
		ext := path.Ext(name)
		if ext != ".js" && ext != ".css" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			src := string(s.Get(name).Body)
			is.Equal(outsideURLRE.FindString(src), "") // no URL of another origin
			is.True(!strings.Contains(src, "@import"))
			if ext != ".js" {
				return
			}
			for _, m := range importRE.FindAllStringSubmatch(src, -1) {
				imports++
				spec := m[1] + m[2]
				is.True(strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../")) // relative imports only
				is.True(s.Get(path.Join(path.Dir(name), spec)) != nil)                   // that resolve to embedded files
			}
		})
	}
	is.New(t).True(imports > 10) // the import check saw the modules' imports
}
