package mock

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a JSON path expression and of its selection.
const (
	jpMaxLen     = 1024    // bytes in an expression
	jpMaxSteps   = 64      // steps after the $
	jpMaxResults = 1 << 16 // values one step may select; the rest are dropped
)

// JSONPath is a compiled JSON path: a subset of Goessner's JSONPath as WireMock and Jayway
// users write it. It is immutable and safe for concurrent use.
//
// An expression starts with $ (the document) followed by up to 64 steps:
//
//	.name          member name of an object; name is letters, digits, _ and -
//	['name']       member name, quoted with ' or "; \', \" and \\ are the only escapes
//	[n]            element n of an array; negative n counts from the end (-1 is the last)
//	[a,b,...]      several indexes and/or quoted names, selected in the listed order
//	.* or [*]      every element of an array, or every member value of an object
//	..name         recursive descent: the member name of the current value and of every
//	..* ..[...]    value below it (likewise for * and brackets)
//
// Spaces are allowed inside brackets only. Filters ([?(...)]), scripts ([(...)]) and slices
// ([a:b]) are refused, as are expressions longer than 1024 bytes.
type JSONPath struct {
	expr  string
	steps []jpStep
}

// jpStep is one step: a selector applied to each current value, or, when descend is set, to
// each current value and every value below it.
type jpStep struct {
	descend  bool
	wildcard bool
	items    []jpItem // when not wildcard
}

// jpItem selects one member name of an object or one index of an array.
type jpItem struct {
	name    string
	index   int
	isIndex bool
}

// CompileJSONPath compiles a JSON path expression (see JSONPath for the syntax). Errors read
// `json_path "EXPR": at N: what is wrong`, N being the 0-based byte offset in the expression
// where the problem was found (the end of the expression when it stops too early).
func CompileJSONPath(expr string) (*JSONPath, error) {
	p := jpParser{expr: expr}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return &JSONPath{expr: expr, steps: p.steps}, nil
}

// String returns the expression the path was compiled from.
func (p *JSONPath) String() string { return p.expr }

// Select returns the values the path selects in doc, a decoded JSON value (see DecodeJSON),
// in document order: the order of the array or of the listed items for [a,b], object members
// in sorted key order, and for recursive descent a value's own selection before the
// selections below it. A step that meets the wrong type (a name on an array, an index on a
// string, an index out of range, a missing member) selects nothing there; Select never panics.
// The result is nil when nothing is selected.
//
// Recursive descent recurses along the nesting of doc, which DecodeJSON bounds to
// MaxJSONDepth; it goes no deeper than that on hand-built (even cyclic) values. Each step
// keeps at most 65,536 values, so no expression makes a selection run away.
func (p *JSONPath) Select(doc any) []any {
	cur := []any{doc}
	for _, s := range p.steps {
		var next []any
		for _, v := range cur {
			if s.descend {
				next = s.descendApply(v, next, 0)
			} else {
				next = s.apply(v, next)
			}
			if len(next) >= jpMaxResults {
				next = next[:jpMaxResults]
				break
			}
		}
		if len(next) == 0 {
			return nil
		}
		cur = next
	}
	return cur
}

// apply appends what the step's selector selects directly in v.
func (s *jpStep) apply(v any, out []any) []any {
	switch x := v.(type) {
	case map[string]any:
		if s.wildcard {
			for _, k := range slices.Sorted(maps.Keys(x)) {
				out = append(out, x[k])
			}
			return out
		}
		for _, it := range s.items {
			if it.isIndex {
				continue
			}
			if m, ok := x[it.name]; ok {
				out = append(out, m)
			}
		}
	case []any:
		if s.wildcard {
			return append(out, x...)
		}
		for _, it := range s.items {
			if !it.isIndex {
				continue
			}
			i := it.index
			if i < 0 {
				i += len(x)
			}
			if i >= 0 && i < len(x) {
				out = append(out, x[i])
			}
		}
	}
	return out
}

// descendApply appends the selection in v, then in each value below v in document order.
// It recurses once per level of nesting and stops at MaxJSONDepth levels below the start.
func (s *jpStep) descendApply(v any, out []any, depth int) []any {
	out = s.apply(v, out)
	if depth >= MaxJSONDepth || len(out) >= jpMaxResults {
		return out
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out = s.descendApply(x[k], out, depth+1)
			if len(out) >= jpMaxResults {
				return out
			}
		}
	case []any:
		for _, e := range x {
			out = s.descendApply(e, out, depth+1)
			if len(out) >= jpMaxResults {
				return out
			}
		}
	}
	return out
}

// jpParser compiles an expression left to right; i is the offset being read.
type jpParser struct {
	expr  string
	i     int
	steps []jpStep
}

func (p *jpParser) errorf(at int, format string, args ...any) error {
	shown := p.expr
	if len(shown) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(shown[cut]) {
			cut--
		}
		shown = shown[:cut] + "…"
	}
	return fmt.Errorf("json_path %s: at %d: %s", strconv.Quote(shown), at, fmt.Sprintf(format, args...))
}

func (p *jpParser) parse() error {
	e := p.expr
	switch {
	case e == "":
		return p.errorf(0, "empty expression (want $)")
	case len(e) > jpMaxLen:
		return p.errorf(jpMaxLen, "expression longer than %d bytes", jpMaxLen)
	case e[0] != '$':
		return p.errorf(0, "must start with $")
	}
	p.i = 1
	for p.i < len(e) {
		if len(p.steps) == jpMaxSteps {
			return p.errorf(p.i, "more than %d steps", jpMaxSteps)
		}
		var step jpStep
		var err error
		switch e[p.i] {
		case '.':
			p.i++
			if p.i < len(e) && e[p.i] == '.' {
				p.i++
				step.descend = true
				if p.i < len(e) && e[p.i] == '[' {
					step, err = p.bracket()
					step.descend = true
					break
				}
			}
			err = p.dotted(&step)
		case '[':
			step, err = p.bracket()
		default:
			return p.errorf(p.i, "unexpected %s (want . or [)", jpQuoteChar(e, p.i))
		}
		if err != nil {
			return err
		}
		p.steps = append(p.steps, step)
	}
	return nil
}

// dotted reads what follows . or ..: * or a name.
func (p *jpParser) dotted(step *jpStep) error {
	e := p.expr
	after := "."
	if step.descend {
		after = ".."
	}
	if p.i == len(e) {
		return p.errorf(p.i, "want a name or * after %s", after)
	}
	if e[p.i] == '*' {
		p.i++
		step.wildcard = true
		return nil
	}
	start := p.i
	for p.i < len(e) {
		r, size := utf8.DecodeRuneInString(e[p.i:])
		if !jpNameRune(r) {
			break
		}
		p.i += size
	}
	if p.i == start {
		return p.errorf(p.i, "want a name or * after %s, not %s", after, jpQuoteChar(e, p.i))
	}
	if p.i < len(e) && e[p.i] != '.' && e[p.i] != '[' {
		return p.errorf(p.i, "bad character %s in name (want letters, digits, _ or -)", jpQuoteChar(e, p.i))
	}
	step.items = []jpItem{{name: e[start:p.i]}}
	return nil
}

func jpNameRune(r rune) bool {
	return r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// bracket reads [*], [n], ['name'] or a comma-separated list of indexes and quoted names;
// p.i is at the [.
func (p *jpParser) bracket() (jpStep, error) {
	const want = "want an index, * or a quoted name"
	e := p.expr
	p.i++
	p.spaces()
	if p.i == len(e) {
		return jpStep{}, p.errorf(p.i, "unterminated [ (%s)", want)
	}
	switch e[p.i] {
	case '*':
		p.i++
		p.spaces()
		if p.i == len(e) || e[p.i] != ']' {
			return jpStep{}, p.errorf(p.i, "want ] after [*")
		}
		p.i++
		return jpStep{wildcard: true}, nil
	case '?':
		return jpStep{}, p.errorf(p.i, "filters ([?(...)]) are not supported")
	case '(':
		return jpStep{}, p.errorf(p.i, "scripts ([(...)]) are not supported")
	case ']':
		return jpStep{}, p.errorf(p.i, "empty [] (%s)", want)
	}
	var step jpStep
	for {
		var it jpItem
		var err error
		switch c := e[p.i]; {
		case c == '\'' || c == '"':
			it.name, err = p.quoted()
		case c == '-' || c >= '0' && c <= '9':
			it.index, err = p.index()
			it.isIndex = true
		case c == ':':
			return jpStep{}, p.errorf(p.i, "slices ([a:b]) are not supported")
		default:
			return jpStep{}, p.errorf(p.i, "unexpected %s in [ (%s)", jpQuoteChar(e, p.i), want)
		}
		if err != nil {
			return jpStep{}, err
		}
		step.items = append(step.items, it)
		p.spaces()
		if p.i == len(e) {
			return jpStep{}, p.errorf(p.i, "unterminated [ (want , or ])")
		}
		switch e[p.i] {
		case ']':
			p.i++
			return step, nil
		case ',':
			p.i++
			p.spaces()
			if p.i == len(e) {
				return jpStep{}, p.errorf(p.i, "unterminated [ (%s)", want)
			}
		case ':':
			return jpStep{}, p.errorf(p.i, "slices ([a:b]) are not supported")
		default:
			return jpStep{}, p.errorf(p.i, "unexpected %s in [ (want , or ])", jpQuoteChar(e, p.i))
		}
	}
}

func (p *jpParser) spaces() {
	for p.i < len(p.expr) && p.expr[p.i] == ' ' {
		p.i++
	}
}

// index reads an optionally negative decimal integer.
func (p *jpParser) index() (int, error) {
	e := p.expr
	start := p.i
	if e[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(e) && e[p.i] >= '0' && e[p.i] <= '9' {
		p.i++
	}
	if p.i == digits {
		return 0, p.errorf(p.i, "want digits after -")
	}
	n, err := strconv.Atoi(e[start:p.i])
	if err != nil {
		return 0, p.errorf(start, "index %s out of range", e[start:p.i])
	}
	return n, nil
}

// quoted reads a name quoted with ' or " (p.i at the quote) and its \', \" and \\ escapes.
func (p *jpParser) quoted() (string, error) {
	e := p.expr
	open := p.i
	q := e[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(e) {
		c := e[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 == len(e) {
				return "", p.errorf(open, "unterminated quoted name")
			}
			switch n := e[p.i+1]; n {
			case '\'', '"', '\\':
				b.WriteByte(n)
				p.i += 2
			default:
				return "", p.errorf(p.i, `unknown escape \%c (want \', \" or \\)`, n)
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", p.errorf(open, "unterminated quoted name")
}

// jpQuoteChar quotes the character of e at byte offset i for an error message.
func jpQuoteChar(e string, i int) string {
	r, _ := utf8.DecodeRuneInString(e[i:])
	return strconv.QuoteRune(r)
}
