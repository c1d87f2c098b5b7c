package mock

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Paths.
//
// A mock names the paths it answers with a path_pattern or a path_regex; both are matched
// against the raw request path (not percent-decoded, without the query).
//
// A path_pattern starts with "/" and is split into segments at "/". Each segment is one of:
//
//	users          a literal, compared byte for byte
//	{id}           a parameter: any one non-empty segment (letters, digits and '_' name it)
//	{id:[0-9]+}    a parameter whose segment must match the RE2 regex in full
//	*              any one non-empty segment (an unnamed parameter)
//	*.png, v*      a glob: '*' stands for any run of characters within the segment
//
// and the last segment may be "*" alone, a wildcard: "/p/*" matches "/p" itself, "/p/" and
// everything below "/p/"; "/*" matches every path. So "*" never crosses a "/" except as the
// final segment. A query string ('?'), a fragment ('#'), whitespace or control characters
// are refused, as are "**", a brace outside a parameter and a parameter within a segment.
//
// A path_regex is an RE2 regex that must match the whole path ("^(?:…)$" is implied).
//
// Both are linear in the path: regexes are RE2, and a pattern is one pass over the
// segments.

// MaxPathLen bounds a path_pattern or path_regex, in bytes.
const MaxPathLen = 2048

// Path is a compiled path_pattern or path_regex. It is immutable and safe for concurrent
// use.
type Path struct {
	text      string
	canonical string         // equal canonicals match equal paths
	re        *regexp.Regexp // a path_regex's (anchored)
	segs      []pathSeg      // of a pattern, before any final "*"
	wildcard  bool           // the pattern ends in "/*"
	literals  int            // literal segments
	params    int            // segments matched by anything non-empty
	regexSegs int            // segments matched by a regex or a glob
}

type pathSeg struct {
	lit  string
	name string         // a parameter's name; "" for anything else
	re   *regexp.Regexp // nil for a literal and an unconstrained parameter
	any  bool           // an unconstrained parameter
}

// PathError is a path_pattern's or path_regex's error. Its text is the whole sentence
// ("path_pattern must start with /"), naming the field and, for a bad parameter regex, the
// byte offset of the parameter.
type PathError struct{ msg string }

func (e *PathError) Error() string { return e.msg }

func pathErr(field, format string, args ...any) *PathError {
	return &PathError{msg: field + " " + fmt.Sprintf(format, args...)}
}

// CompilePathPattern compiles a path_pattern; errors are *PathError.
func CompilePathPattern(text string) (*Path, error) {
	const field = "path_pattern"
	if !strings.HasPrefix(text, "/") {
		return nil, pathErr(field, "must start with /")
	}
	if len(text) > MaxPathLen {
		return nil, pathErr(field, "must be at most 2048 bytes")
	}
	if !utf8.ValidString(text) {
		return nil, pathErr(field, "must be valid UTF-8")
	}
	depth := 0 // within a parameter's braces, where a regex may hold '?' and '#'
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c <= ' ' || c == 0x7f:
			return nil, pathErr(field, "must not contain whitespace or control characters")
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case c == '\\' && depth > 0 && i+1 < len(text) && text[i+1] > ' ' && text[i+1] != 0x7f:
			i++ // an escaped brace, '?' or '#' in a regex
		case c == '?' && depth == 0:
			return nil, pathErr(field, "must not contain a query string")
		case c == '#' && depth == 0:
			return nil, pathErr(field, "must not contain a fragment")
		}
	}
	p := &Path{text: text}
	var canon strings.Builder
	start := 1
	for start <= len(text) {
		end, err := segmentEnd(text, start)
		if err != nil {
			return nil, err
		}
		part := text[start:end]
		last := end == len(text)
		switch {
		case part == "*" && last:
			p.wildcard = true
			canon.WriteString("/*")
		case part == "*":
			p.segs = append(p.segs, pathSeg{any: true})
			p.params++
			canon.WriteString("/{}")
		case strings.HasPrefix(part, "{"):
			s, err := compileParam(part, start)
			if err != nil {
				return nil, err
			}
			p.segs = append(p.segs, s)
			canon.WriteString("/{")
			if s.any {
				p.params++
			} else {
				p.regexSegs++
				canon.WriteString(":" + s.re.String())
			}
			canon.WriteString("}")
		case strings.Contains(part, "**"):
			return nil, pathErr(field, "must not use ** (at byte %d): * matches within one segment; end the pattern in /* for everything below a prefix, or use path_regex", start)
		case strings.Contains(part, "*"):
			p.segs = append(p.segs, pathSeg{lit: part, re: regexp.MustCompile(globRegex(part))})
			p.regexSegs++
			canon.WriteString("/" + part)
		case strings.ContainsAny(part, "{}"):
			return nil, pathErr(field, "segments must be literal, a whole {name} or {name:regex} parameter, a glob, or a final * (a brace at byte %d)", start+strings.IndexAny(part, "{}"))
		default:
			p.segs = append(p.segs, pathSeg{lit: part})
			p.literals++
			canon.WriteString("/" + part)
		}
		start = end + 1
	}
	p.canonical = canon.String()
	return p, nil
}

// segmentEnd returns the end of the segment starting at start: the next '/' outside a
// parameter's braces (a regex may hold balanced braces, or escaped ones), or len(text).
func segmentEnd(text string, start int) (int, error) {
	depth := 0
	for i := start; i < len(text); i++ {
		switch text[i] {
		case '\\':
			if depth > 0 {
				i++
			}
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return 0, pathErr("path_pattern", "has a } without its { at byte %d", i)
			}
			depth--
		case '/':
			if depth == 0 {
				return i, nil
			}
		}
	}
	if depth > 0 {
		return 0, pathErr("path_pattern", "has a { without its } (the parameter at byte %d)", start)
	}
	return len(text), nil
}

// compileParam compiles the segment "{name}" or "{name:regex}" found at byte at.
func compileParam(part string, at int) (pathSeg, error) {
	if !strings.HasSuffix(part, "}") {
		return pathSeg{}, pathErr("path_pattern", "parameters must be whole segments (the segment at byte %d)", at)
	}
	inner := part[1 : len(part)-1]
	name, expr, constrained := strings.Cut(inner, ":")
	if !isParamName(name) {
		return pathSeg{}, pathErr("path_pattern", "parameter names are letters, digits and _ (the parameter at byte %d)", at)
	}
	if !constrained {
		return pathSeg{name: name, any: true}, nil
	}
	if expr == "" {
		return pathSeg{}, pathErr("path_pattern", "parameter %s has an empty regex (at byte %d)", name, at)
	}
	re, err := compileWhole(expr)
	if err != nil {
		return pathSeg{}, pathErr("path_pattern", "parameter %s has an invalid regex at byte %d: %s", name, at+len(name)+2, err)
	}
	return pathSeg{name: name, re: re}, nil
}

// CompilePathRegex compiles a path_regex; errors are *PathError.
func CompilePathRegex(text string) (*Path, error) {
	const field = "path_regex"
	if text == "" {
		return nil, pathErr(field, "must be a non-empty RE2 regex")
	}
	if len(text) > MaxPathLen {
		return nil, pathErr(field, "must be at most 2048 bytes")
	}
	re, err := compileWhole(text)
	if err != nil {
		return nil, pathErr(field, "is an invalid regex: %s", err)
	}
	return &Path{text: text, re: re, canonical: "~" + text}, nil
}

// compileWhole compiles expr to a regex that must match a whole text. An error names
// what is wrong and the offending part of expr, without regexp's "error parsing regexp: ".
func compileWhole(expr string) (*regexp.Regexp, error) {
	if _, err := syntax.Parse(expr, syntax.Perl); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return regexp.Compile("^(?:" + expr + ")$")
}

// globRegex is the anchored regex of a glob segment: '*' is any run of bytes.
func globRegex(glob string) string {
	parts := strings.Split(glob, "*")
	for i, s := range parts {
		parts[i] = regexp.QuoteMeta(s)
	}
	return "^" + strings.Join(parts, "(?s:.*)") + "$"
}

func isParamName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// String returns the pattern or regex as given.
func (p *Path) String() string { return p.text }

// IsRegex reports whether p is a path_regex.
func (p *Path) IsRegex() bool { return p.re != nil }

// Canonical is p with parameter names left out: two paths with equal canonicals match
// the same request paths.
func (p *Path) Canonical() string { return p.canonical }

// Exact reports whether p matches one path only (a pattern of literal segments).
func (p *Path) Exact() bool {
	return !p.IsRegex() && !p.wildcard && p.params == 0 && p.regexSegs == 0
}

// FirstLiteral returns the pattern's first segment when it is a literal.
func (p *Path) FirstLiteral() (string, bool) {
	if len(p.segs) == 0 || p.segs[0].re != nil || p.segs[0].any {
		return "", false
	}
	return p.segs[0].lit, true
}

// Match reports whether path (raw, without the query) matches. It does not allocate.
func (p *Path) Match(path []byte) bool {
	if p.IsRegex() {
		return p.re.Match(path)
	}
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	pos := 1 // start of the next segment; len(path)+1 means "no more segments"
	for i := range p.segs {
		s := &p.segs[i]
		if pos > len(path) {
			return false
		}
		end := pos
		for end < len(path) && path[end] != '/' {
			end++
		}
		if !s.matchSegment(path[pos:end]) {
			return false
		}
		pos = end + 1
	}
	return p.wildcard || pos == len(path)+1
}

// Params appends to dst the named parameters of a path p matches (raw views into path), in
// pattern order; a path_regex's named groups ((?P<name>…)) count as parameters too.
func (p *Path) Params(path []byte, dst []PathParam) []PathParam {
	if p.IsRegex() {
		m := p.re.FindSubmatchIndex(path)
		if m == nil {
			return dst
		}
		for i, name := range p.re.SubexpNames() {
			if name != "" && m[2*i] >= 0 {
				dst = append(dst, PathParam{Name: name, Value: path[m[2*i]:m[2*i+1]]})
			}
		}
		return dst
	}
	pos := 1
	for i := range p.segs {
		if pos > len(path) {
			break
		}
		end := pos
		for end < len(path) && path[end] != '/' {
			end++
		}
		if name := p.segs[i].name; name != "" {
			dst = append(dst, PathParam{Name: name, Value: path[pos:end]})
		}
		pos = end + 1
	}
	return dst
}

func (s *pathSeg) matchSegment(sg []byte) bool {
	switch {
	case s.any:
		return len(sg) > 0
	case s.re != nil:
		return len(sg) > 0 && s.re.Match(sg)
	}
	return string(sg) == s.lit
}

// ComparePrecedence orders two non-exact paths by specificity, the more specific first
// (negative when p comes before q): a pattern before a regex; then more literal segments;
// then without a final wildcard before with one; then more regex or glob segments; then
// more parameters (a longer prefix before a wildcard). Regexes are equal to one another.
func (p *Path) ComparePrecedence(q *Path) int {
	switch {
	case p.IsRegex() != q.IsRegex():
		if p.IsRegex() {
			return 1
		}
		return -1
	case p.literals != q.literals:
		return q.literals - p.literals
	case p.wildcard != q.wildcard:
		if p.wildcard {
			return 1
		}
		return -1
	case p.regexSegs != q.regexSegs:
		return q.regexSegs - p.regexSegs
	}
	return q.params - p.params
}

// CanMatchUnder reports whether p may match some path that starts with prefix, a path
// ending in "/" (say "/api/mocks/"). It may answer true for a path that cannot (a regex's
// look-arounds such as $ or \b are taken to hold), never false for one that can.
func (p *Path) CanMatchUnder(prefix string) bool {
	if p.IsRegex() {
		return regexCanStartWith(p.re, prefix)
	}
	pre := strings.Split(strings.TrimSuffix(prefix[1:], "/"), "/")
	// The segments of the pattern that line up with pre must each accept their pre segment.
	// Beyond that the pattern can always be satisfied: without a wildcard it needs more
	// segments than pre has (each filled with its literal or any non-empty text); with a
	// wildcard anything follows.
	if !p.wildcard && len(p.segs) <= len(pre) {
		return false
	}
	for i := 0; i < len(pre) && i < len(p.segs); i++ {
		if !p.segs[i].matchSegment([]byte(pre[i])) {
			return false
		}
	}
	return true
}

// regexCanStartWith runs re's program as an NFA over prefix and reports whether a thread
// is still alive at its end (a thread alive there may go on to a match).
func regexCanStartWith(re *regexp.Regexp, prefix string) bool {
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return true
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return true
	}
	seen := make([]bool, len(prog.Inst))
	cur := addThread(prog, seen, nil, uint32(prog.Start))
	for _, r := range prefix {
		clear(seen)
		var next []uint32
		for _, pc := range cur {
			in := &prog.Inst[pc]
			switch {
			case in.Op == syntax.InstRuneAny,
				in.Op == syntax.InstRuneAnyNotNL && r != '\n',
				(in.Op == syntax.InstRune || in.Op == syntax.InstRune1) && in.MatchRune(r):
				next = addThread(prog, seen, next, in.Out)
			}
		}
		if cur = next; len(cur) == 0 {
			return false
		}
	}
	return true
}

// addThread adds to list the instructions that read a rune or match, reached from pc
// without reading input; seen marks those visited in this step.
func addThread(prog *syntax.Prog, seen []bool, list []uint32, pc uint32) []uint32 {
	if seen[pc] {
		return list
	}
	seen[pc] = true
	switch in := &prog.Inst[pc]; in.Op {
	case syntax.InstAlt, syntax.InstAltMatch:
		list = addThread(prog, seen, list, in.Out)
		return addThread(prog, seen, list, in.Arg)
	case syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
		return addThread(prog, seen, list, in.Out)
	case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL, syntax.InstMatch:
		return append(list, pc)
	}
	return list // InstFail
}
