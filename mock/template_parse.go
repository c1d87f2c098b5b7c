package mock

import (
	"strconv"
	"strings"
	"unicode"
)

type nodeKind uint8

const (
	nText   nodeKind = iota
	nOutput          // {{expr}}, {{{expr}}}
	nBlock           // {{#...}}body{{else}}inverse{{/...}}
)

// blockMode is how a block node renders.
type blockMode uint8

const (
	bIf        blockMode = iota + 1 // {{#if x}}
	bUnless                         // {{#unless x}}
	bInverted                       // {{^x}}: like unless
	bWith                           // {{#with x as |y|}}
	bSection                        // {{#x}} with x no helper: Mustache section (list, object, true)
	bEach                           // {{#each x as |item i|}}
	bPredicate                      // {{#eq a b}}: a helper whose result picks body or inverse
	bTransform                      // {{#base64}}: the rendered body is the helper's first argument
	bCustom                         // the helper renders the block itself (helperDef.block)
)

// node is one piece of a compiled template.
type node struct {
	kind    nodeKind
	raw     bool // nOutput: not HTML-escaped
	mode    blockMode
	pos     int // byte offset of the tag in the source
	text    string
	expr    expr // nOutput's value; the tested value of if, unless, with, each, sections
	call    call // a block's helper call (block parameters included)
	body    []node
	inverse []node
}

type exprKind uint8

const (
	eLit exprKind = iota
	ePath
	eCall
)

// expr is a value in a tag: a literal, a path, or a helper call (a subexpression).
type expr struct {
	kind exprKind
	lit  val
	path *pathRef
	call *call
	pos  int
}

// pathRef is a path expression: foo.bar, ../foo, this.[0], @index.
type pathRef struct {
	data   bool // @name
	scoped bool // starts with this, ./ or ../: looked up in that context only
	up     int  // ../ count
	segs   []seg
	text   string
}

// call is a helper call: the helper, its positional and hash arguments.
type call struct {
	name    string
	h       *helperDef
	params  []expr
	hashK   []string
	hashV   []expr
	bparams []string // as |a b|
	pos     int
	pre     any // what the helper's check prepared from literal arguments
}

// hashIndex returns the index of hash argument k, or -1.
func (c *call) hashIndex(k string) int {
	for i, key := range c.hashK {
		if key == k {
			return i
		}
	}
	return -1
}

// tokKind is a lexical piece of a template source.
type tokKind uint8

const (
	tkText tokKind = iota
	tkComment
	tkOutput  // {{ }}
	tkRaw     // {{{ }}} or {{& }}
	tkOpen    // {{# }}
	tkInverse // {{^name}}
	tkElse    // {{else}}, {{^}}, {{else if ...}}
	tkClose   // {{/ }}
	tkEOF
)

type tok struct {
	kind           tokKind
	pos            int    // offset of "{{", or of the text
	text           string // text; for tags, the interior
	inner          int    // offset of the interior
	stripL, stripR bool   // {{~ and ~}}
}

// lex splits src into text and tags.
func lex(src string) ([]tok, error) {
	var toks []tok
	var text strings.Builder
	textStart := 0
	flush := func() {
		if text.Len() > 0 {
			toks = append(toks, tok{kind: tkText, pos: textStart, text: text.String()})
			text.Reset()
		}
	}
	i := 0
	for i < len(src) {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			if text.Len() == 0 {
				textStart = i
			}
			text.WriteString(src[i:])
			break
		}
		j += i
		if text.Len() == 0 {
			textStart = i
		}
		// \{{ is a literal {{ (the text up to the next {{ stays text); \\{{ is a backslash
		// followed by a tag.
		if j > i && src[j-1] == '\\' && (j-1 == i || src[j-2] != '\\') {
			text.WriteString(src[i : j-1])
			text.WriteString("{{")
			i = j + 2
			continue
		}
		if j > i+1 && src[j-1] == '\\' && src[j-2] == '\\' {
			text.WriteString(src[i : j-1])
		} else {
			text.WriteString(src[i:j])
		}
		flush()
		if strings.HasPrefix(src[j:], "{{{{") {
			end, raw, err := lexRawBlock(src, j)
			if err != nil {
				return nil, err
			}
			textStart = j
			text.WriteString(raw)
			i = end
			continue
		}
		t, end, err := lexTag(src, j)
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		i = end
		textStart = i
	}
	flush()
	// Whitespace control: {{~ strips the whitespace before a tag, ~}} the whitespace after.
	for k := range toks {
		if toks[k].kind == tkText {
			continue
		}
		if toks[k].stripL && k > 0 && toks[k-1].kind == tkText {
			toks[k-1].text = strings.TrimRightFunc(toks[k-1].text, unicode.IsSpace)
		}
		if toks[k].stripR && k+1 < len(toks) && toks[k+1].kind == tkText {
			toks[k+1].text = strings.TrimLeftFunc(toks[k+1].text, unicode.IsSpace)
		}
	}
	return toks, nil
}

// lexRawBlock reads {{{{name}}}}content{{{{/name}}}} at j: the content is text.
func lexRawBlock(src string, j int) (end int, content string, err error) {
	k := strings.Index(src[j:], "}}}}")
	if k < 0 {
		return 0, "", errAt(j, "unclosed {{{{ (want }}}})")
	}
	name := strings.TrimSpace(src[j+4 : j+k])
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return 0, "", errAt(j, "a raw block {{{{name}}}} takes a name alone")
	}
	start := j + k + 4
	closer := "{{{{/" + name + "}}}}"
	e := strings.Index(src[start:], closer)
	if e < 0 {
		return 0, "", errAt(j, "unclosed raw block {{{{%s}}}} (want %s)", name, closer)
	}
	return start + e + len(closer), src[start : start+e], nil
}

// lexTag reads the tag starting with "{{" at j.
func lexTag(src string, j int) (tok, int, error) {
	t := tok{pos: j}
	i := j + 2
	if i < len(src) && src[i] == '~' {
		t.stripL = true
		i++
	}
	triple := false
	if i < len(src) {
		switch src[i] {
		case '!':
			return lexComment(src, j, i, t)
		case '{':
			triple = true
			t.kind = tkRaw
			i++
		case '&':
			t.kind = tkRaw
			i++
		case '#':
			if i+1 < len(src) && (src[i+1] == '>' || src[i+1] == '*') {
				return t, 0, errAt(j, "partial blocks and decorators are not supported")
			}
			t.kind = tkOpen
			i++
		case '/':
			t.kind = tkClose
			i++
		case '^':
			t.kind = tkInverse
			i++
		case '>':
			return t, 0, errAt(j, "partials ({{> name}}) are not supported")
		case '*':
			return t, 0, errAt(j, "decorators ({{* name}}) are not supported")
		default:
			t.kind = tkOutput
		}
	}
	// Find the end: }} (}}} for a triple), outside quotes and [literal segments]; a ~
	// before the braces strips the whitespace after the tag.
	k := i
	var quote byte
	quoteAt := 0
	end, close := 0, 0
	for {
		if k >= len(src) {
			if quote != 0 {
				return t, 0, errAt(quoteAt, "unterminated string")
			}
			want := "}}"
			if triple {
				want = "}}}"
			}
			return t, 0, errAt(j, "unclosed {{ (want %s)", want)
		}
		c := src[k]
		if quote != 0 {
			if c == '\\' && k+1 < len(src) && src[k+1] == quote {
				k++
			} else if c == quote {
				quote = 0
			}
			k++
			continue
		}
		switch {
		case c == '"' || c == '\'':
			quote, quoteAt = c, k
		case c == '[':
			e := strings.IndexByte(src[k:], ']')
			if e < 0 {
				return t, 0, errAt(k, "unclosed [ in a path")
			}
			k += e
		case triple && strings.HasPrefix(src[k:], "}}}"):
			end, close = k, k+3
		case triple && strings.HasPrefix(src[k:], "}~}}"):
			end, close, t.stripR = k, k+4, true
		case triple && strings.HasPrefix(src[k:], "}}"):
			return t, 0, errAt(j, "{{{ closed by }} (want }}})")
		case !triple && strings.HasPrefix(src[k:], "~}}"):
			end, close, t.stripR = k, k+3, true
		case !triple && strings.HasPrefix(src[k:], "}}"):
			end, close = k, k+2
		}
		if close > 0 {
			break
		}
		k++
	}
	k = close
	t.inner, t.text = i, src[i:end]
	if t.kind == tkInverse && strings.TrimSpace(t.text) == "" {
		t.kind = tkElse
		t.text = ""
	}
	if t.kind == tkOutput {
		s := strings.TrimLeft(t.text, " \t\r\n")
		if s == "else" || strings.HasPrefix(s, "else") && len(s) > 4 && isSpace(s[4]) {
			t.kind = tkElse
			off := len(t.text) - len(s) + 4
			t.inner += off
			t.text = t.text[off:]
		}
	}
	return t, k, nil
}

// lexComment reads {{! ... }} or {{!-- ... --}}; i is at the '!'.
func lexComment(src string, j, i int, t tok) (tok, int, error) {
	t.kind = tkComment
	if strings.HasPrefix(src[i:], "!--") {
		rest := src[i+3:]
		a, b := strings.Index(rest, "--}}"), strings.Index(rest, "--~}}")
		switch {
		case a >= 0 && (b < 0 || a < b):
			return t, i + 3 + a + 4, nil
		case b >= 0:
			t.stripR = true
			return t, i + 3 + b + 5, nil
		}
		return t, 0, errAt(j, "unclosed comment {{!-- (want --}})")
	}
	e := strings.Index(src[i:], "}}")
	if e < 0 {
		return t, 0, errAt(j, "unclosed comment {{! (want }})")
	}
	if e > 0 && src[i+e-1] == '~' {
		t.stripR = true
	}
	return t, i + e + 2, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// parser builds the node tree from tokens.
type parser struct {
	src  string
	toks []tok
	i    int
}

func parseTemplate(src string) ([]node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := parser{src: src, toks: toks}
	nodes, end, err := p.body(0)
	if err != nil {
		return nil, err
	}
	switch end.kind {
	case tkClose:
		return nil, errAt(end.pos, "{{/%s}} closes no open block", strings.TrimSpace(end.text))
	case tkElse:
		return nil, errAt(end.pos, "{{else}} outside a block")
	}
	return nodes, nil
}

// body parses nodes up to an {{else}}, a {{/close}} or the end, which it returns.
func (p *parser) body(depth int) ([]node, tok, error) {
	var nodes []node
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		switch t.kind {
		case tkText:
			if t.text != "" {
				nodes = append(nodes, node{kind: nText, pos: t.pos, text: t.text})
			}
		case tkComment:
		case tkOutput, tkRaw:
			e, err := p.outputExpr(t, depth)
			if err != nil {
				return nil, t, err
			}
			nodes = append(nodes, node{kind: nOutput, raw: t.kind == tkRaw, pos: t.pos, expr: e})
		case tkOpen, tkInverse:
			if depth+1 > MaxTemplateDepth {
				return nil, t, errAt(t.pos, "blocks nest deeper than %d levels", MaxTemplateDepth)
			}
			n, err := p.block(t, depth+1)
			if err != nil {
				return nil, t, err
			}
			nodes = append(nodes, n)
		case tkElse, tkClose:
			return nodes, t, nil
		}
	}
	return nodes, tok{kind: tkEOF, pos: len(p.src)}, nil
}

// block parses a block from its open tag to its close tag.
func (p *parser) block(open tok, depth int) (node, error) {
	n, name, err := p.openBlock(open, depth)
	if err != nil {
		return n, err
	}
	closer, err := p.blockRest(&n, depth)
	if err != nil {
		return n, err
	}
	sigil := "#"
	if open.kind == tkInverse {
		sigil = "^"
	}
	if closer.kind == tkEOF {
		return n, errAt(open.pos, "unclosed {{%s%s}}", sigil, name)
	}
	got := strings.TrimSpace(closer.text)
	if got != name {
		return n, errAt(closer.pos, "{{%s%s}} closed by {{/%s}}", sigil, name, got)
	}
	return n, nil
}

// blockRest parses a block's body and else parts, returning its close tag (tkEOF when
// the source ends first).
func (p *parser) blockRest(n *node, depth int) (tok, error) {
	body, end, err := p.body(depth)
	if err != nil {
		return end, err
	}
	n.body = body
	if end.kind != tkElse {
		return end, nil
	}
	if strings.TrimSpace(end.text) != "" { // {{else if ...}}: a chained block
		if depth+1 > MaxTemplateDepth {
			return end, errAt(end.pos, "blocks nest deeper than %d levels", MaxTemplateDepth)
		}
		chained, _, err := p.openBlock(tok{kind: tkOpen, pos: end.pos, text: end.text, inner: end.inner}, depth+1)
		if err != nil {
			return end, err
		}
		closer, err := p.blockRest(&chained, depth+1)
		n.inverse = []node{chained}
		return closer, err
	}
	inv, end2, err := p.body(depth)
	if err != nil {
		return end2, err
	}
	if end2.kind == tkElse {
		return end2, errAt(end2.pos, "a second {{else}} in one block")
	}
	n.inverse = inv
	return end2, nil
}

// openBlock compiles a block's open tag and returns the node (without its body) and the
// name its close tag must repeat.
func (p *parser) openBlock(open tok, depth int) (node, string, error) {
	ep := exprParser{src: p.src, i: open.inner, end: open.inner + len(open.text), depth: depth}
	n := node{kind: nBlock, pos: open.pos}
	head, c, err := ep.tag(true)
	if err != nil {
		return n, "", err
	}
	name := ""
	if head.kind == ePath {
		name = head.path.text
	}
	if open.kind == tkInverse {
		if head.kind != ePath || len(c.params) > 0 || len(c.hashK) > 0 || c.h != nil && c.h.block == blkNone {
			return n, "", errAt(open.inner, "{{^...}} takes a value alone")
		}
		n.mode = bInverted
		n.expr = head
		if c.h != nil {
			n.expr = expr{kind: eCall, call: c, pos: head.pos}
		}
		return n, name, nil
	}
	if c.h == nil {
		if head.kind != ePath {
			return n, "", errAt(head.pos, "a block opens with a helper or a path")
		}
		if len(c.params) > 0 || len(c.hashK) > 0 {
			return n, "", errAt(head.pos, "unknown helper %s", name)
		}
		n.mode = bSection
		n.expr = head
		n.call = *c
		return n, name, nil
	}
	h := c.h
	switch h.block {
	case blkNone:
		return n, "", errAt(head.pos, "%s is not a block helper (write {{%s ...}})", c.name, c.name)
	case blkIf, blkUnless, blkWith, blkEach:
		if len(c.params) != 1 {
			return n, "", errAt(head.pos, "{{#%s}} takes one argument", c.name)
		}
		n.expr = c.params[0]
		n.mode = map[blockKind]blockMode{blkIf: bIf, blkUnless: bUnless, blkWith: bWith, blkEach: bEach}[h.block]
	case blkPredicate:
		n.mode = bPredicate
	case blkTransform:
		n.mode = bTransform
	case blkCustom:
		n.mode = bCustom
	}
	if len(c.bparams) > 0 && h.block != blkWith && h.block != blkEach && h.block != blkCustom {
		return n, "", errAt(head.pos, "{{#%s}} takes no block parameters", c.name)
	}
	n.call = *c
	return n, name, nil
}

// outputExpr compiles the interior of {{...}} or {{{...}}}.
func (p *parser) outputExpr(t tok, depth int) (expr, error) {
	ep := exprParser{src: p.src, i: t.inner, end: t.inner + len(t.text), depth: depth}
	head, c, err := ep.tag(false)
	if err != nil {
		return expr{}, err
	}
	if c.h == nil {
		if len(c.params) > 0 || len(c.hashK) > 0 {
			if head.kind == ePath {
				return expr{}, errAt(head.pos, "unknown helper %s", head.path.text)
			}
			return expr{}, errAt(head.pos, "a literal takes no arguments")
		}
		return head, nil
	}
	if c.h.blockOnly {
		return expr{}, errAt(head.pos, "%s is a block helper (write {{#%s ...}}...{{/%s}})", c.name, c.name, c.name)
	}
	return expr{kind: eCall, call: c, pos: head.pos}, nil
}

// exprParser reads the interior of a tag, src[i:end].
type exprParser struct {
	src    string
	i, end int
	depth  int
}

func (ep *exprParser) skipSpace() {
	for ep.i < ep.end && isSpace(ep.src[ep.i]) {
		ep.i++
	}
}

// tag reads "head params hash as |a b|" up to the end of the interior. The call's
// helper is nil when head names no helper.
func (ep *exprParser) tag(block bool) (expr, *call, error) {
	ep.skipSpace()
	if ep.i >= ep.end {
		return expr{}, nil, errAt(ep.i, "empty tag")
	}
	head, err := ep.param()
	if err != nil {
		return expr{}, nil, err
	}
	c := &call{pos: head.pos}
	if head.kind == eCall {
		return expr{}, nil, errAt(head.pos, "a tag cannot start with a subexpression")
	}
	if head.kind == ePath && !head.path.data && !head.path.scoped && len(head.path.segs) == 1 {
		if h := lookupHelper(head.path.text); h != nil {
			c.name, c.h = head.path.text, h
		}
	}
	if err := ep.args(c, true); err != nil {
		return expr{}, nil, err
	}
	if c.h != nil {
		if err := checkCall(c, block); err != nil {
			return expr{}, nil, err
		}
	}
	return head, c, nil
}

// args reads a call's arguments up to the end of the tag, or to ')' in a subexpression.
func (ep *exprParser) args(c *call, top bool) error {
	for {
		ep.skipSpace()
		if ep.i >= ep.end {
			if !top {
				return errAt(c.pos-1, "unclosed (")
			}
			return nil
		}
		ch := ep.src[ep.i]
		if ch == ')' {
			if top {
				return errAt(ep.i, "unexpected )")
			}
			ep.i++
			return nil
		}
		if top && strings.HasPrefix(ep.src[ep.i:ep.end], "as") && ep.i+2 < ep.end && isSpace(ep.src[ep.i+2]) {
			save := ep.i
			ep.i += 2
			ep.skipSpace()
			if ep.i < ep.end && ep.src[ep.i] == '|' {
				return ep.blockParams(c)
			}
			ep.i = save
		}
		if key, ok := ep.hashKey(); ok {
			at := ep.i
			v, err := ep.param()
			if err != nil {
				return err
			}
			if c.hashIndex(key) >= 0 {
				return errAt(at, "hash argument %s given twice", key)
			}
			c.hashK = append(c.hashK, key)
			c.hashV = append(c.hashV, v)
			continue
		}
		at := ep.i
		v, err := ep.param()
		if err != nil {
			return err
		}
		if len(c.hashK) > 0 {
			return errAt(at, "positional argument after a hash argument")
		}
		c.params = append(c.params, v)
	}
}

// blockParams reads "|a b|" (ep.i at the first |) and expects the end of the tag.
func (ep *exprParser) blockParams(c *call) error {
	open := ep.i
	ep.i++
	for {
		ep.skipSpace()
		if ep.i >= ep.end {
			return errAt(open, "unclosed block parameters (want |)")
		}
		if ep.src[ep.i] == '|' {
			ep.i++
			break
		}
		start := ep.i
		for ep.i < ep.end && isIDChar(ep.src[ep.i]) {
			ep.i++
		}
		if ep.i == start {
			return errAt(ep.i, "block parameters are names")
		}
		c.bparams = append(c.bparams, ep.src[start:ep.i])
	}
	if len(c.bparams) == 0 || len(c.bparams) > 2 {
		return errAt(open, "as |...| takes one or two names")
	}
	ep.skipSpace()
	if ep.i < ep.end {
		return errAt(ep.i, "unexpected text after block parameters")
	}
	return nil
}

// hashKey reads "name=" when that is what follows.
func (ep *exprParser) hashKey() (string, bool) {
	j := ep.i
	for j < ep.end && isIDChar(ep.src[j]) {
		j++
	}
	if j == ep.i {
		return "", false
	}
	k := j
	for k < ep.end && isSpace(ep.src[k]) {
		k++
	}
	if k < ep.end && ep.src[k] == '=' {
		key := ep.src[ep.i:j]
		ep.i = k + 1
		ep.skipSpace()
		return key, true
	}
	return "", false
}

// isIDChar reports whether c may be part of a Handlebars ID: anything but whitespace
// and !"#%&'()*+,./;<=>@[\]^`{|}~.
func isIDChar(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune("!\"#%&'()*+,./;<=>@[\\]^`{|}~", rune(c))
}

// atLiteralEnd reports whether a literal ending at j is followed by what may follow one.
func (ep *exprParser) atLiteralEnd(j int) bool {
	if j >= ep.end {
		return true
	}
	c := ep.src[j]
	return isSpace(c) || c == ')' || c == '=' || c == '|' || c == '~' || c == '}'
}

// param reads one argument: a literal, a path or a subexpression.
func (ep *exprParser) param() (expr, error) {
	ep.skipSpace()
	at := ep.i
	if ep.i >= ep.end {
		return expr{}, errAt(at, "missing argument")
	}
	c := ep.src[ep.i]
	switch {
	case c == '(':
		if ep.depth+1 > MaxTemplateDepth {
			return expr{}, errAt(at, "subexpressions nest deeper than %d levels", MaxTemplateDepth)
		}
		ep.i++
		ep.depth++
		defer func() { ep.depth-- }()
		ep.skipSpace()
		nameAt := ep.i
		head, err := ep.param()
		if err != nil {
			return expr{}, err
		}
		if head.kind != ePath || head.path.data || head.path.scoped || len(head.path.segs) != 1 {
			return expr{}, errAt(nameAt, "a subexpression starts with a helper name")
		}
		h := lookupHelper(head.path.text)
		if h == nil {
			return expr{}, errAt(nameAt, "unknown helper %s", head.path.text)
		}
		if h.blockOnly {
			return expr{}, errAt(nameAt, "%s is a block helper", head.path.text)
		}
		sub := &call{name: head.path.text, h: h, pos: nameAt}
		if err := ep.args(sub, false); err != nil {
			return expr{}, err
		}
		if err := checkCall(sub, false); err != nil {
			return expr{}, err
		}
		return expr{kind: eCall, call: sub, pos: at}, nil
	case c == '"' || c == '\'':
		var b strings.Builder
		j := ep.i + 1
		for {
			if j >= ep.end {
				return expr{}, errAt(at, "unterminated string")
			}
			if ep.src[j] == '\\' && j+1 < ep.end && ep.src[j+1] == c {
				b.WriteByte(c)
				j += 2
				continue
			}
			if ep.src[j] == c {
				break
			}
			b.WriteByte(ep.src[j])
			j++
		}
		ep.i = j + 1
		return expr{kind: eLit, lit: strVal(b.String()), pos: at}, nil
	case c == '-' || c >= '0' && c <= '9':
		j := ep.i
		if c == '-' {
			j++
		}
		d := j
		for j < ep.end && ep.src[j] >= '0' && ep.src[j] <= '9' {
			j++
		}
		if j > d {
			isFrac := false
			if j+1 < ep.end && ep.src[j] == '.' && ep.src[j+1] >= '0' && ep.src[j+1] <= '9' {
				isFrac = true
				j++
				for j < ep.end && ep.src[j] >= '0' && ep.src[j] <= '9' {
					j++
				}
			}
			if ep.atLiteralEnd(j) {
				text := ep.src[ep.i:j]
				ep.i = j
				if !isFrac {
					if n, err := strconv.ParseInt(text, 10, 64); err == nil {
						return expr{kind: eLit, lit: intVal(n), pos: at}, nil
					}
				}
				return expr{kind: eLit, lit: val{k: kNum, s: text}, pos: at}, nil
			}
		}
	}
	for _, kw := range [...]string{"true", "false", "null", "undefined"} {
		if strings.HasPrefix(ep.src[ep.i:ep.end], kw) && ep.atLiteralEnd(ep.i+len(kw)) {
			ep.i += len(kw)
			var v val
			switch kw {
			case "true":
				v = boolVal(true)
			case "false":
				v = boolVal(false)
			case "null":
				v = val{k: kNull}
			}
			return expr{kind: eLit, lit: v, pos: at}, nil
		}
	}
	p, err := ep.path()
	if err != nil {
		return expr{}, err
	}
	return expr{kind: ePath, path: p, pos: at}, nil
}

// path reads a path: [@](../)*segment((.|/)segment)*, a segment being an ID, [literal],
// this or '.'.
func (ep *exprParser) path() (*pathRef, error) {
	start := ep.i
	p := &pathRef{}
	if ep.src[ep.i] == '@' {
		p.data = true
		ep.i++
	}
	for strings.HasPrefix(ep.src[ep.i:ep.end], "../") {
		p.up++
		p.scoped = true
		ep.i += 3
	}
	first := true
	for {
		if ep.i >= ep.end {
			return nil, errAt(ep.i, "a path ends with a separator")
		}
		c := ep.src[ep.i]
		switch {
		case c == '[':
			e := strings.IndexByte(ep.src[ep.i:ep.end], ']')
			if e < 0 {
				return nil, errAt(ep.i, "unclosed [ in a path")
			}
			p.segs = append(p.segs, makeSeg(ep.src[ep.i+1:ep.i+e]))
			ep.i += e + 1
		case first && !p.data && c == '.' && (ep.i+1 >= ep.end || ep.src[ep.i+1] == '/' || !isIDChar(ep.src[ep.i+1]) && ep.src[ep.i+1] != '.' && ep.src[ep.i+1] != '['):
			p.scoped = true // "." alone or "./"
			ep.i++
		case c == '.' && ep.i+1 < ep.end && ep.src[ep.i+1] == '.':
			return nil, errAt(ep.i, "../ only at the start of a path")
		case isIDChar(c):
			j := ep.i
			for j < ep.end && isIDChar(ep.src[j]) {
				j++
			}
			name := ep.src[ep.i:j]
			if first && !p.data && name == "this" {
				p.scoped = true
			} else {
				p.segs = append(p.segs, makeSeg(name))
			}
			ep.i = j
		default:
			if first && p.up > 0 && len(p.segs) == 0 {
				return nil, errAt(ep.i, "a name after ../")
			}
			return nil, errAt(ep.i, "unexpected %s", strconv.QuoteRune(rune(c)))
		}
		first = false
		if ep.i < ep.end && (ep.src[ep.i] == '.' || ep.src[ep.i] == '/') {
			switch {
			case ep.i+1 < ep.end && (isIDChar(ep.src[ep.i+1]) || ep.src[ep.i+1] == '['):
				ep.i++
				continue
			case ep.i+1 < ep.end && ep.src[ep.i+1] == '.':
				return nil, errAt(ep.i+1, "../ only at the start of a path")
			case ep.i+1 >= ep.end || isSpace(ep.src[ep.i+1]) || ep.src[ep.i+1] == ')':
				return nil, errAt(ep.i, "a path ends with a separator")
			}
		}
		break
	}
	p.text = ep.src[start:ep.i]
	if p.data && len(p.segs) == 0 {
		return nil, errAt(start, "a name after @")
	}
	if len(p.segs) == 0 && p.up > 0 {
		return p, nil // ../ alone: the parent context
	}
	return p, nil
}

// makeSeg makes a path segment; a decimal integer also serves as an index.
func makeSeg(name string) seg {
	s := seg{name: name}
	if n, err := strconv.Atoi(name); err == nil && name != "" {
		s.idx, s.isIdx = n, true
	}
	return s
}
