package mock

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Templates.
//
// A response field (body, header value, status) may be a template in the Handlebars
// dialect WireMock users write: {{request.query.id}}, {{jsonPath request.body '$.name'}},
// {{#each ...}}{{/each}}, {{randomValue type='UUID'}}, {{now offset='3 days'}}. The
// engine is our own: CompileTemplate parses once (when a mock is created) and refuses
// unknown helpers, bad JSON paths, regexes, date formats and time zones given as
// literals; Render walks the compiled tree against one request, appending to a buffer
// the caller owns.
//
// Semantics follow WireMock (Handlebars.java underneath): {{x}} escapes & < > " ' ` =
// as HTML entities, {{{x}}} and {{&x}} do not; {{! }} and {{!-- --}} are comments, \{{
// a literal {{, {{{{raw}}}}…{{{{/raw}}}} literal text; a missing value renders as
// nothing; a name not found in the current context is looked up in the enclosing ones
// (Mustache rules, as Handlebars.java does); standalone block tags keep their line
// breaks (WireMock does not enable Handlebars.java's pretty printing), and {{~ and ~}}
// strip whitespace.
//
// The request model: request.url (the raw target), request.path (the raw path; its
// segments as request.path.[0] or request.pathSegments.[0]; named path parameters as
// request.path.NAME), request.method, request.query.NAME, request.headers.NAME (names
// case-insensitive; [X-Odd-Name] brackets), request.cookies.NAME (each of these three
// one-or-many: the first value, .[n] or .n the nth, .first, .last), request.body,
// request.bodyAsBase64, request.baseUrl, request.scheme, request.host, request.port and
// request.id (a UUID derived from the seed). In blocks: this, ../, @index, @key, @first,
// @last, @odd, @even, @index_1, @root, block parameters (as |item i|).
//
// Helpers: if, unless, each, with, lookup; eq, neq (ne), gt, gte, lt, lte, and, or, not
// (inline, yes= and no=, or as blocks), contains, matches; jsonPath, parseJson, toJson,
// formatJson, escapeJson (ours); randomValue, randomInt, randomDecimal, pickRandom; now,
// date, parseDate, truncateDate, dateFormat; base64, urlEncode, formData, regexExtract,
// size, range, array, arrayAdd, arrayRemove, arrayJoin, math, val, assign, trim;
// capitalize, capitalizeFirst, center, ljust, rjust, cut, defaultIfEmpty, join,
// substring, lower, upper, slugify, stripTags, abbreviate, wordWrap, replace, yesno;
// isEven, isOdd, stripes. Not supported (compile errors): xPath, soapXPath, formatXml,
// jsonMerge, jsonRemove, jsonArrayAdd, jsonSort, numberFormat, stringFormat, hostname,
// systemValue, random (faker), partials and decorators; request.parts, request.clientIp
// and parameters.* are not in the model.
//
// Where we differ from WireMock, on purpose or by necessity:
//   - Decoded JSON objects render with their keys sorted (jsonPath results, toJson, #each
//     over an object); formatJson keeps the order of the text. jsonPath renders objects
//     and arrays as compact JSON (WireMock pretty-prints them); toJson and formatJson
//     pretty-print as Jackson does.
//   - JSON paths are the subset JSONPath documents (no filters, scripts or slices);
//     regexes are RE2 (no look-arounds or back-references). Both fail at compile time.
//   - jsonPath on input that is not JSON gives its default= or nothing, not an
//     "[ERROR: …]" text; a helper given arguments it cannot use fails the render with a
//     RenderError instead of writing "[ERROR: …]" into the output.
//   - eq compares numbers by value across types (eq 1 '1' is true) and a one-or-many
//     field by its first value (WireMock compares Java objects: both false); gt, gte, lt
//     and lte with a missing operand are false (WireMock fails).
//   - String helpers given nothing render nothing (Handlebars.java renders their first
//     argument); size of nothing is 0; math reads nothing as 0.
//   - A time zone region (Australia/Sydney) must be a literal; one computed at render
//     time may only be UTC or a fixed offset. Date patterns are SimpleDateFormat's, in
//     English; w and Y use ISO weeks, z the zone's abbreviation.
//   - An unknown helper, hash option, randomValue type, math operator, date format,
//     offset or truncation given as a literal is a compile error, not a render-time one.
//
// As in WireMock: the output is HTML-escaped in {{ }}; lists render as Java prints them
// ([1, two, true]); @first and @last render "first" and "last"; query values and form
// fields are percent-decoded; request.query.x.[-1] is the second-to-last value, as
// WireMock documents; standalone block tags keep their line breaks.
//
// A render is bounded: at most MaxTemplateSteps evaluation steps (each tag, each loop
// iteration, each JSON element written) and MaxTemplateOutput bytes of output, so no
// template and no request can hold the caller for long or grow a response without
// limit. Randomness comes from a PCG generator seeded with RenderInput.Seed, and the
// clock from RenderInput.Now: the same input renders the same output.

// Limits of templates.
const (
	// MaxTemplateOutput is the most output one Render may append, in bytes; a render that
	// would write more fails with a RenderError. Intermediate values (a helper's result)
	// are bounded the same way.
	MaxTemplateOutput = 1 << 20
	// MaxTemplateSteps bounds the work of one Render: tags evaluated, loop iterations,
	// helper calls, JSON values written and random characters drawn each cost a step.
	MaxTemplateSteps = 1_000_000
	// MaxTemplateSize is the longest template source CompileTemplate accepts, in bytes.
	MaxTemplateSize = 1 << 20
	// MaxTemplateDepth is the deepest nesting of blocks (an {{else if}} counts as one
	// more) and subexpressions CompileTemplate accepts.
	MaxTemplateDepth = 64
)

// TemplateError is a template that does not compile. Line and Column (1-based, columns
// counting characters) point at the tag or the part of it that is wrong.
type TemplateError struct {
	Field        string
	Line, Column int
	Message      string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("%s: line %d, column %d: %s", e.Field, e.Line, e.Column, e.Message)
}

// RenderError is a render that failed: a helper given arguments it cannot use, a budget
// exceeded, or (as a last line of defence) a recovered panic. Line and Column point at
// the tag that failed; they are 0 when no tag is to blame (the output or step budget).
type RenderError struct {
	Field        string
	Line, Column int
	Message      string
}

func (e *RenderError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d, column %d: %s", e.Field, e.Line, e.Column, e.Message)
	}
	return e.Field + ": " + e.Message
}

// Template is a compiled template. It is immutable and safe for concurrent use (it
// keeps a pool of render states, so that a render allocates only what its output and
// its helpers' results need).
type Template struct {
	field string
	src   string
	nodes []node
	pool  sync.Pool // of *renderer
}

// IsTemplate reports whether src holds any "{{", so that plain text need not be compiled
// or rendered.
func IsTemplate(src string) bool { return strings.Contains(src, "{{") }

// CompileTemplate compiles src; field names it in errors ("body", "headers.X-Id",
// "status"). Errors are *TemplateError.
func CompileTemplate(src, field string) (*Template, error) {
	if len(src) > MaxTemplateSize {
		return nil, &TemplateError{Field: field, Line: 1, Column: 1, Message: fmt.Sprintf("template is longer than %d bytes", MaxTemplateSize)}
	}
	nodes, err := parseTemplate(src)
	if err != nil {
		pe, ok := err.(*posError)
		if !ok {
			pe = &posError{msg: err.Error()}
		}
		line, col := lineCol(src, pe.pos)
		return nil, &TemplateError{Field: field, Line: line, Column: col, Message: pe.msg}
	}
	return &Template{field: field, src: src, nodes: nodes}, nil
}

// String returns the source the template was compiled from.
func (t *Template) String() string { return t.src }

// RenderInput is what a render reads: the request and the clock and seed it was handed.
// It is owned by the caller for the duration of the call; Render keeps no reference.
type RenderInput struct {
	Request *Request // query, headers and body (the body's JSON decoded lazily, once); nil for none
	Method  []byte
	Target  []byte // the raw request-target: request.url
	Path    []byte // the raw path, without the query: request.path
	Host    []byte // the Host header's value, for request.baseUrl, request.host and request.port
	TLS     bool   // the request came over TLS: request.scheme is https

	PathParams []PathParam // named path parameters in pattern order: request.path.NAME
	Now        time.Time   // the clock, for now and date
	Seed       uint64      // randomness: the same Seed gives the same random values in the same order
}

// PathParam is one named path parameter's value, as the request's path holds it (raw).
type PathParam struct {
	Name  string
	Value []byte
}

// lineCol converts a byte offset in src to a 1-based line and column (in characters).
func lineCol(src string, off int) (int, int) {
	if off > len(src) {
		off = len(src)
	}
	line, col := 1, 1
	for _, c := range src[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// posError is an error found at a byte offset of the source.
type posError struct {
	pos int
	msg string
}

func (e *posError) Error() string { return e.msg }

func errAt(pos int, format string, args ...any) *posError {
	return &posError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

// frame is one context on the render's scope stack: the root, a #with or #each body.
type frame struct {
	ctx    val
	bnames []string // block parameter names (as |a b|)
	bvals  [2]val
	loop   bool // an #each iteration: @index, @key, @first, @last are its
	index  int
	key    val
	last   bool
}

// variable is a value a template assigned (formData, parseJson, assign, val, regexExtract).
type variable struct {
	name string
	v    val
}

// renderer is one Render's state. Renderers are pooled by their Template; release
// drops every reference a render left.
type renderer struct {
	t     *Template
	in    *RenderInput
	q     *Request
	out   []byte
	start int // where this render's output starts in out
	steps int // left

	frames    []frame
	stack     []val  // evaluated helper arguments
	argv      []args // the helper calls under way
	vars      []variable
	arena     []byte // decoded request values; views into it stay valid (see arenaView)
	scratch   []byte
	rng       rand.PCG
	rngReady  bool
	bodyState int8 // 1: the body is valid JSON, -1: it is not, 0: not checked yet
	empty     Request
}

// Render appends the template's output for in to dst and returns the extended slice.
// Errors are *RenderError; on error the returned slice is dst as it was passed. Render
// never panics.
func (t *Template) Render(dst []byte, in *RenderInput) (out []byte, err error) {
	r, _ := t.pool.Get().(*renderer)
	if r == nil {
		r = &renderer{}
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = dst, &RenderError{Field: t.field, Message: fmt.Sprintf("internal error: %v", p)}
			return // a renderer a panic went through is not reused
		}
		r.release()
		t.pool.Put(r)
	}()
	r.t, r.in, r.out, r.start, r.steps = t, in, dst, len(dst), MaxTemplateSteps
	if in == nil {
		r.in = &RenderInput{}
	}
	r.q = r.in.Request
	if r.q == nil {
		r.q = &r.empty
	}
	r.frames = append(r.frames[:0], frame{ctx: val{k: kRoot}})
	if err := r.run(t.nodes); err != nil {
		return dst, err
	}
	return r.out, nil
}

// release forgets the render: what it referred to (request, output, values) and
// scratch space grown past a modest size.
func (r *renderer) release() {
	clear(r.frames)
	clear(r.stack)
	clear(r.argv)
	clear(r.vars)
	r.frames, r.stack, r.argv, r.vars = r.frames[:0], r.stack[:0], r.argv[:0], r.vars[:0]
	if cap(r.arena) > 64<<10 {
		r.arena = nil
	}
	if cap(r.scratch) > 64<<10 {
		r.scratch = nil
	}
	r.arena, r.scratch = r.arena[:0], r.scratch[:0]
	r.t, r.in, r.q, r.out, r.rngReady, r.bodyState = nil, nil, nil, nil, false, 0
}

// failure is a render error before it is given the field and position.
type failure struct {
	msg    string
	noSite bool // a budget: no tag is to blame
}

func (f *failure) Error() string { return f.msg }

func failf(format string, args ...any) error { return &failure{msg: fmt.Sprintf(format, args...)} }

var (
	errSteps  = &failure{msg: fmt.Sprintf("template exceeded its budget of %d evaluation steps", MaxTemplateSteps), noSite: true}
	errOutput = &failure{msg: fmt.Sprintf("output exceeds %d bytes", MaxTemplateOutput), noSite: true}
)

// fail turns an error met at source offset pos into a RenderError (once: an error that
// already is one passes through).
func (r *renderer) fail(pos int, err error) error {
	switch e := err.(type) {
	case *RenderError:
		return e
	case *failure:
		if e.noSite {
			return &RenderError{Field: r.t.field, Message: e.msg}
		}
	}
	line, col := lineCol(r.t.src, pos)
	return &RenderError{Field: r.t.field, Line: line, Column: col, Message: err.Error()}
}

func (r *renderer) step(n int) error {
	if r.steps -= n; r.steps < 0 {
		return errSteps
	}
	return nil
}

func (r *renderer) checkOutput() error {
	if len(r.out)-r.start > MaxTemplateOutput {
		return errOutput
	}
	return nil
}

// checkSize refuses an intermediate value longer than MaxTemplateOutput.
func checkSize(n int) error {
	if n > MaxTemplateOutput {
		return errOutput
	}
	return nil
}

// run renders nodes.
func (r *renderer) run(nodes []node) error {
	for i := range nodes {
		n := &nodes[i]
		if err := r.step(1); err != nil {
			return r.fail(n.pos, err)
		}
		switch n.kind {
		case nText:
			r.out = append(r.out, n.text...)
		case nOutput:
			v, err := r.eval(&n.expr)
			if err != nil {
				return r.fail(n.pos, err)
			}
			if err := r.emit(v, !n.raw); err != nil {
				return r.fail(n.pos, err)
			}
		case nBlock:
			if err := r.block(n); err != nil {
				return r.fail(n.pos, err)
			}
		}
		if err := r.checkOutput(); err != nil {
			return r.fail(n.pos, err)
		}
	}
	return nil
}

// eval evaluates an expression.
func (r *renderer) eval(e *expr) (val, error) {
	switch e.kind {
	case eLit:
		return e.lit, nil
	case ePath:
		return r.resolve(e.path), nil
	}
	return r.call(e.call)
}

// call evaluates a helper call: its arguments (positional, then hash values) are pushed
// on the stack for the helper to read, and popped after.
func (r *renderer) call(c *call) (val, error) {
	if err := r.step(1); err != nil {
		return val{}, err
	}
	base := len(r.stack)
	for i := range c.params {
		v, err := r.eval(&c.params[i])
		if err != nil {
			return val{}, err
		}
		r.stack = append(r.stack, v)
	}
	for i := range c.hashV {
		v, err := r.eval(&c.hashV[i])
		if err != nil {
			return val{}, err
		}
		r.stack = append(r.stack, v)
	}
	depth := len(r.argv)
	r.argv = append(r.argv, args{r: r, c: c, p: r.stack[base : base+len(c.params)], h: r.stack[base+len(c.params):]})
	v, err := c.h.fn(&r.argv[depth])
	r.argv[depth] = args{}
	r.argv = r.argv[:depth]
	clear(r.stack[base:])
	r.stack = r.stack[:base]
	if err != nil {
		if f, ok := err.(*failure); ok && f.noSite {
			return val{}, err
		}
		if _, ok := err.(*RenderError); ok {
			return val{}, err
		}
		return val{}, &failure{msg: c.name + ": " + err.Error()}
	}
	return v, nil
}

// capture renders nodes and returns their output as a string, leaving out as it was.
func (r *renderer) capture(nodes []node) (string, error) {
	p := len(r.out)
	if err := r.run(nodes); err != nil {
		return "", err
	}
	s := string(r.out[p:])
	r.out = r.out[:p]
	return s, nil
}

// block renders a block node.
func (r *renderer) block(n *node) error {
	c := &n.call
	switch n.mode {
	case bIf, bUnless, bInverted:
		v, err := r.eval(&n.expr)
		if err != nil {
			return err
		}
		if r.truthy(v) == (n.mode == bIf) {
			return r.run(n.body)
		}
		return r.run(n.inverse)
	case bWith, bSection:
		v, err := r.eval(&n.expr)
		if err != nil {
			return err
		}
		if !r.truthy(v) {
			return r.run(n.inverse)
		}
		if n.mode == bSection {
			switch {
			case v.k == kBool:
				return r.run(n.body)
			case r.isList(v):
				return r.each(n, v)
			}
		}
		r.frames = append(r.frames, frame{ctx: v, bnames: c.bparams, bvals: [2]val{v}})
		err = r.run(n.body)
		r.popFrame()
		return err
	case bEach:
		v, err := r.eval(&n.expr)
		if err != nil {
			return err
		}
		return r.each(n, v)
	case bPredicate:
		v, err := r.call(c)
		if err != nil {
			return err
		}
		if r.truthy(v) {
			return r.run(n.body)
		}
		return r.run(n.inverse)
	case bTransform:
		body, err := r.capture(n.body)
		if err != nil {
			return err
		}
		v, err := r.callWithFirst(c, val{k: kString, s: body})
		if err != nil {
			return err
		}
		return r.emit(v, false)
	case bCustom:
		return c.h.blockFn(r, n)
	}
	return nil
}

// callWithFirst calls c's helper with first as its first positional argument, before the
// call's own: a block helper's rendered body.
func (r *renderer) callWithFirst(c *call, first val) (val, error) {
	cc := *c
	cc.params = make([]expr, 0, len(c.params)+1)
	cc.params = append(cc.params, expr{kind: eLit, lit: first})
	cc.params = append(cc.params, c.params...)
	return r.call(&cc)
}

func (r *renderer) popFrame() {
	r.frames[len(r.frames)-1] = frame{}
	r.frames = r.frames[:len(r.frames)-1]
}

// each renders n's body once per element of v (n's inverse when there is none).
func (r *renderer) each(n *node, v val) error {
	count := 0
	err := r.iterate(v, func(key, item val, i int, last bool) error {
		count++
		if err := r.step(1); err != nil {
			return err
		}
		second := key
		r.frames = append(r.frames, frame{ctx: item, bnames: n.call.bparams, bvals: [2]val{item, second}, loop: true, index: i, key: key, last: last})
		err := r.run(n.body)
		r.popFrame()
		return err
	})
	if err != nil {
		return err
	}
	if count == 0 {
		return r.run(n.inverse)
	}
	return nil
}

// resolve finds a path's value: block parameters and contexts from the innermost out
// (a name missing in one context is looked up in the enclosing one), then variables the
// template assigned, then the request. A path starting with this, ./ or ../ is looked up
// in that context only; @index, @key, @first, @last in the innermost loop.
func (r *renderer) resolve(p *pathRef) val {
	segs := p.segs
	if p.data {
		return r.resolveData(p)
	}
	if p.scoped {
		i := len(r.frames) - 1 - p.up
		if i < 0 {
			i = 0
		}
		return r.walk(r.frames[i].ctx, segs)
	}
	first := &segs[0]
	for i := len(r.frames) - 1; i >= 0; i-- {
		f := &r.frames[i]
		for j, name := range f.bnames {
			if j < 2 && name == first.name {
				return r.walk(f.bvals[j], segs[1:])
			}
		}
		if f.ctx.k == kRoot {
			break
		}
		if v := r.member(f.ctx, first); v.k != kMissing {
			return r.walk(v, segs[1:])
		}
	}
	for i := len(r.vars) - 1; i >= 0; i-- {
		if r.vars[i].name == first.name {
			return r.walk(r.vars[i].v, segs[1:])
		}
	}
	if first.name == "request" {
		return r.walk(val{k: kReq, rk: reqRoot}, segs[1:])
	}
	return val{}
}

func (r *renderer) resolveData(p *pathRef) val {
	name := p.segs[0].name
	if name == "root" {
		return r.walk(val{k: kRoot}, p.segs[1:])
	}
	for i := len(r.frames) - 1; i >= 0; i-- {
		f := &r.frames[i]
		if !f.loop {
			continue
		}
		var v val
		switch name {
		case "index":
			v = intVal(int64(f.index))
		case "key":
			v = f.key
		case "first":
			// Handlebars.java renders "first" and "last" (truthy) or nothing.
			if f.index == 0 {
				v = strVal("first")
			} else {
				v = strVal("")
			}
		case "last":
			if f.last {
				v = strVal("last")
			} else {
				v = strVal("")
			}
		case "odd":
			if f.index%2 == 1 {
				v = strVal("odd")
			} else {
				v = strVal("")
			}
		case "even":
			if f.index%2 == 0 {
				v = strVal("even")
			} else {
				v = strVal("")
			}
		case "index_1":
			v = intVal(int64(f.index + 1))
		default:
			return val{}
		}
		return r.walk(v, p.segs[1:])
	}
	return val{}
}

// walk follows segs from v.
func (r *renderer) walk(v val, segs []seg) val {
	for i := range segs {
		if v.k == kRoot {
			s := &segs[i]
			v = val{}
			for j := len(r.vars) - 1; j >= 0; j-- {
				if r.vars[j].name == s.name {
					v = r.vars[j].v
					break
				}
			}
			if v.k == kMissing && s.name == "request" {
				v = val{k: kReq, rk: reqRoot}
			}
		} else {
			v = r.member(v, &segs[i])
		}
		if v.k == kMissing {
			return v
		}
	}
	return v
}

// setVar assigns a template variable.
func (r *renderer) setVar(name string, v val) error {
	for i := range r.vars {
		if r.vars[i].name == name {
			r.vars[i].v = v
			return nil
		}
	}
	if len(r.vars) >= 1024 {
		return failf("more than 1024 variables")
	}
	r.vars = append(r.vars, variable{name: name, v: v})
	return nil
}

// rand returns the render's random generator, seeded from the input's Seed on first use.
func (r *renderer) rand() *rand.PCG {
	if !r.rngReady {
		r.rng.Seed(r.in.Seed, 0x6f776e687474702d) // "ownhttp-"
		r.rngReady = true
	}
	return &r.rng
}

// intn returns a uniform random integer in [0, n), n > 0 (Lemire's method).
func (r *renderer) intn(n uint64) uint64 {
	g := r.rand()
	for {
		x := g.Uint64()
		hi, lo := bits.Mul64(x, n)
		if lo < n {
			thresh := -n % n
			if lo < thresh {
				continue
			}
		}
		return hi
	}
}

// emit writes v's text to the output, HTML-escaped when esc is set.
func (r *renderer) emit(v val, esc bool) error {
	switch v.k {
	case kMissing, kNull:
		return nil
	case kString:
		r.out = appendMaybeEscaped(r.out, v.s, esc)
		return nil
	case kBytes:
		r.out = appendMaybeEscaped(r.out, v.b, esc)
		return nil
	case kMulti:
		b, _ := r.multiNth(v.rk, v.s, 0)
		r.out = appendMaybeEscaped(r.out, b, esc)
		return nil
	}
	p := len(r.out)
	var err error
	r.out, err = r.appendText(r.out, v)
	if err != nil {
		return err
	}
	if esc && needsEscape(r.out[p:]) {
		r.scratch = append(r.scratch[:0], r.out[p:]...)
		r.out = appendEscaped(r.out[:p], r.scratch)
	}
	return nil
}

func appendMaybeEscaped[S ~string | ~[]byte](dst []byte, s S, esc bool) []byte {
	if esc {
		return appendEscaped(dst, s)
	}
	return append(dst, s...)
}

func needsEscape(b []byte) bool {
	for _, c := range b {
		switch c {
		case '&', '<', '>', '"', '\'', '`', '=':
			return true
		}
	}
	return false
}

// appendEscaped appends s with & < > " ' ` = replaced by HTML entities, as Handlebars
// (and Handlebars.java's default escaping) does.
func appendEscaped[S ~string | ~[]byte](dst []byte, s S) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&quot;"
		case '\'':
			rep = "&#x27;"
		case '`':
			rep = "&#x60;"
		case '=':
			rep = "&#x3D;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, rep...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}

// arenaView appends b to the render's arena and returns a view of the copy that stays
// valid for the render (appending to the arena never moves bytes already viewed: a
// grown arena is a new array, the old one stays alive through its views).
func (r *renderer) arenaView(start int) []byte {
	return r.arena[start:len(r.arena):len(r.arena)]
}
