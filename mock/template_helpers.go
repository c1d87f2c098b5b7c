package mock

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// blockKind is how a helper may open a block.
type blockKind uint8

const (
	blkNone      blockKind = iota // not as a block
	blkIf                         // the built-in block helpers
	blkUnless                     //
	blkWith                       //
	blkEach                       //
	blkPredicate                  // the result (truthy or not) picks the body or the {{else}}
	blkTransform                  // the rendered body is the first argument; the result is written raw
	blkCustom                     // blockFn renders the block
)

// helperDef is a helper: its function, how it may be used, and what it accepts.
type helperDef struct {
	fn        func(a *args) (val, error)
	block     blockKind
	blockOnly bool
	blockFn   func(r *renderer, n *node) error
	min, max  int      // positional arguments; max -1 for any number
	hash      []string // hash arguments it reads
	check     func(c *call) error
}

// args is a helper call's evaluated arguments.
type args struct {
	r *renderer
	c *call
	p []val
	h []val
}

func (a *args) arg(i int) val {
	if i < len(a.p) {
		return a.p[i]
	}
	return val{}
}

func (a *args) hashVal(k string) (val, bool) {
	if i := a.c.hashIndex(k); i >= 0 && a.h[i].k != kMissing && a.h[i].k != kNull {
		return a.h[i], true
	}
	return val{}, false
}

func (a *args) hashStr(k, def string) string {
	if v, ok := a.hashVal(k); ok {
		return a.r.str(v)
	}
	return def
}

func (a *args) hashBool(k string) bool {
	v, ok := a.hashVal(k)
	if !ok {
		return false
	}
	if v.k == kBool {
		return v.n != 0
	}
	return strings.EqualFold(a.r.str(v), "true")
}

// hashInt reads an integer hash argument (a number or a numeric string).
func (a *args) hashInt(k string, def int64) (int64, error) {
	v, ok := a.hashVal(k)
	if !ok {
		return def, nil
	}
	n, ok := a.r.toInt(v)
	if !ok {
		return 0, fmt.Errorf("%s must be an integer, not %q", k, a.r.str(v))
	}
	return n, nil
}

// toInt reads v as an integer (a decimal truncated, as Java's intValue does).
func (r *renderer) toInt(v val) (int64, bool) {
	switch v.k {
	case kInt:
		return v.n, true
	case kFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return 0, false
		}
		return int64(v.f), true
	}
	s := strings.TrimSpace(r.str(v))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if v.k == kNum {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
			return int64(f), true
		}
	}
	return 0, false
}

// toFloat reads v as a number; strings that hold a number count.
func (r *renderer) toFloat(v val) (float64, bool) {
	switch v.k {
	case kInt:
		return float64(v.n), true
	case kFloat:
		return v.f, true
	case kMissing, kNull, kBool, kJSON, kList, kMap, kDate:
		return 0, false
	}
	s := r.str(v)
	if _, ok := jsonParseDecimal(strings.TrimPrefix(s, "+")); !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func isNumber(v val) bool { return v.k == kInt || v.k == kFloat || v.k == kNum }

// scalar reduces a one-or-many field to its first value and request text nodes to text.
func (r *renderer) scalar(v val) val {
	switch v.k {
	case kMulti:
		if b, ok := r.multiNth(v.rk, v.s, 0); ok {
			return bytesVal(b)
		}
		return val{}
	case kList:
		if l := v.x.([]val); v.n == 1 && len(l) > 0 {
			return l[0]
		}
	case kReq:
		switch v.rk {
		case reqBody:
			return bytesVal(r.q.body)
		case reqPath:
			return bytesVal(r.in.Path)
		}
	}
	return v
}

func isText(v val) bool { return v.k == kString || v.k == kBytes }

// equal compares two values: numbers by value (a string holding a number compares as
// one), text by bytes, JSON structurally; a one-or-many field compares as its first
// value. Nothing equals nothing.
func (r *renderer) equal(a, b val) bool {
	a, b = r.scalar(a), r.scalar(b)
	am, bm := a.k == kMissing || a.k == kNull, b.k == kMissing || b.k == kNull
	if am || bm {
		return am && bm
	}
	if isNumber(a) || isNumber(b) {
		x, ok1 := r.toFloat(a)
		y, ok2 := r.toFloat(b)
		if ok1 && ok2 && (isNumber(a) || isText(a)) && (isNumber(b) || isText(b)) {
			if a.k == kInt && b.k == kInt {
				return a.n == b.n
			}
			return x == y
		}
		return false
	}
	switch {
	case isText(a) && isText(b):
		return r.str(a) == r.str(b)
	case a.k == kBool && b.k == kBool:
		return a.n == b.n
	case a.k == kJSON && b.k == kJSON:
		return EqualJSON(a.x, b.x, false, false)
	case a.k == kDate && b.k == kDate:
		return a.x.(*dateVal).t.Equal(b.x.(*dateVal).t)
	}
	return r.str(a) == r.str(b) && a.k == b.k
}

// compare orders two values: numerically when both are numbers (or numeric text), else
// as text. ok is false when they cannot be ordered (one is missing, or no text).
func (r *renderer) compare(a, b val) (int, bool) {
	a, b = r.scalar(a), r.scalar(b)
	if x, ok := r.toFloat(a); ok {
		if y, ok := r.toFloat(b); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	if (isText(a) || isNumber(a)) && (isText(b) || isNumber(b)) {
		return strings.Compare(r.str(a), r.str(b)), true
	}
	if a.k == kDate && b.k == kDate {
		return a.x.(*dateVal).t.Compare(b.x.(*dateVal).t), true
	}
	return 0, false
}

// yesNo is a conditional helper's inline result: true or false, or its yes= and no=.
func (a *args) yesNo(b bool) val {
	if b {
		if v, ok := a.hashVal("yes"); ok {
			return v
		}
		return boolVal(true)
	}
	if v, ok := a.hashVal("no"); ok {
		return v
	}
	return boolVal(false)
}

var yesNoHash = []string{"yes", "no"}

func cmpHelper(test func(int) bool) *helperDef {
	return &helperDef{block: blkPredicate, min: 2, max: 2, hash: yesNoHash, fn: func(a *args) (val, error) {
		c, ok := a.r.compare(a.arg(0), a.arg(1))
		return a.yesNo(ok && test(c)), nil
	}}
}

// helpers is the table of helpers. It is never modified.
var helpers = map[string]*helperDef{
	"if":     {block: blkIf, blockOnly: true, min: 1, max: 1},
	"unless": {block: blkUnless, blockOnly: true, min: 1, max: 1},
	"with":   {block: blkWith, blockOnly: true, min: 1, max: 1},
	"each":   {block: blkEach, blockOnly: true, min: 1, max: 1},
	"lookup": {min: 1, max: 2, fn: helperLookup},

	"eq": {block: blkPredicate, min: 2, max: 2, hash: yesNoHash, fn: func(a *args) (val, error) {
		return a.yesNo(a.r.equal(a.arg(0), a.arg(1))), nil
	}},
	"neq": {block: blkPredicate, min: 2, max: 2, hash: yesNoHash, fn: func(a *args) (val, error) {
		return a.yesNo(!a.r.equal(a.arg(0), a.arg(1))), nil
	}},
	"ne": {block: blkPredicate, min: 2, max: 2, hash: yesNoHash, fn: func(a *args) (val, error) {
		return a.yesNo(!a.r.equal(a.arg(0), a.arg(1))), nil
	}},
	"gt":  cmpHelper(func(c int) bool { return c > 0 }),
	"gte": cmpHelper(func(c int) bool { return c >= 0 }),
	"lt":  cmpHelper(func(c int) bool { return c < 0 }),
	"lte": cmpHelper(func(c int) bool { return c <= 0 }),
	"and": {block: blkPredicate, min: 1, max: -1, hash: yesNoHash, fn: func(a *args) (val, error) {
		for _, v := range a.p {
			if !a.r.truthy(v) {
				return a.yesNo(false), nil
			}
		}
		return a.yesNo(true), nil
	}},
	"or": {block: blkPredicate, min: 1, max: -1, hash: yesNoHash, fn: func(a *args) (val, error) {
		for _, v := range a.p {
			if a.r.truthy(v) {
				return a.yesNo(true), nil
			}
		}
		return a.yesNo(false), nil
	}},
	"not": {block: blkPredicate, min: 1, max: 1, hash: yesNoHash, fn: func(a *args) (val, error) {
		return a.yesNo(!a.r.truthy(a.arg(0))), nil
	}},
	"contains": {block: blkPredicate, min: 2, max: 2, fn: helperContains},
	"matches":  {block: blkPredicate, min: 2, max: 2, fn: helperMatches, check: checkRegexArg(1, true)},

	"jsonPath":      {min: 2, max: 2, hash: []string{"default"}, fn: helperJSONPath, check: checkJSONPath},
	"parseJson":     {block: blkCustom, min: 1, max: 2, fn: helperParseJSON, blockFn: blockParseJSON},
	"toJson":        {min: 1, max: 1, fn: helperToJSON},
	"formatJson":    {block: blkTransform, min: 1, max: 1, hash: []string{"format"}, fn: helperFormatJSON, check: checkFormatJSON},
	"escapeJson":    {block: blkTransform, min: 1, max: 1, fn: helperEscapeJSON},
	"randomValue":   {max: 0, hash: []string{"length", "type", "uppercase"}, fn: helperRandomValue, check: checkRandomValue},
	"randomInt":     {max: 0, hash: []string{"lower", "upper"}, fn: helperRandomInt},
	"randomDecimal": {max: 0, hash: []string{"lower", "upper"}, fn: helperRandomDecimal},
	"pickRandom":    {min: 1, max: -1, hash: []string{"count"}, fn: helperPickRandom},
	"now":           {max: 0, hash: []string{"format", "offset", "timezone"}, fn: helperNow, check: checkDateArgs},
	"date":          {min: 0, max: 1, hash: []string{"format", "offset", "timezone"}, fn: helperDate, check: checkDateArgs},
	"parseDate":     {min: 1, max: 1, hash: []string{"format"}, fn: helperParseDate, check: checkParseDate},
	"truncateDate":  {min: 2, max: 2, fn: helperTruncateDate, check: checkTruncation},
	"dateFormat":    {min: 1, max: 2, hash: []string{"format", "tz"}, fn: helperDateFormat},
	"base64":        {block: blkTransform, min: 1, max: 1, hash: []string{"decode", "padding"}, fn: helperBase64},
	"urlEncode":     {block: blkTransform, min: 1, max: 1, hash: []string{"decode", "encoding"}, fn: helperURLEncode},
	"formData":      {min: 1, max: 2, hash: []string{"urlDecode", "encoding"}, fn: helperFormData},
	"regexExtract":  {min: 2, max: 3, hash: []string{"default"}, fn: helperRegexExtract, check: checkRegexArg(1, false)},
	"size":          {min: 1, max: 1, fn: func(a *args) (val, error) { return intVal(int64(a.r.size(a.arg(0)))), nil }},
	"range":         {min: 2, max: 2, fn: helperRange},
	"array":         {min: 0, max: -1, fn: func(a *args) (val, error) { return listVal(slices.Clone(a.p)), nil }},
	"arrayAdd":      {min: 2, max: 2, hash: []string{"position"}, fn: helperArrayAdd},
	"arrayRemove":   {min: 1, max: 1, hash: []string{"position"}, fn: helperArrayRemove},
	"arrayJoin":     {block: blkCustom, min: 1, max: -1, hash: []string{"prefix", "suffix"}, fn: helperArrayJoin, blockFn: blockArrayJoin},
	"math":          {min: 3, max: 3, fn: helperMath, check: checkMath},
	"val":           {min: 1, max: 1, hash: []string{"or", "default", "assign"}, fn: helperVal},
	"assign":        {block: blkCustom, blockOnly: true, min: 1, max: 1, blockFn: blockAssign},
	"trim":          {block: blkTransform, min: 1, max: 1, fn: strHelper(strings.TrimSpace)},

	"capitalizeFirst": {min: 1, max: 1, fn: strHelper(capitalizeFirst)},
	"capitalize":      {min: 1, max: 1, hash: []string{"fully"}, fn: helperCapitalize},
	"center":          {min: 1, max: 2, hash: []string{"size", "pad"}, fn: padHelper(0)},
	"ljust":           {min: 1, max: 2, hash: []string{"size", "pad"}, fn: padHelper(-1)},
	"rjust":           {min: 1, max: 2, hash: []string{"size", "pad"}, fn: padHelper(1)},
	"cut":             {min: 1, max: 2, fn: helperCut},
	"defaultIfEmpty":  {min: 1, max: 2, fn: helperDefaultIfEmpty},
	"join":            {min: 2, max: -1, hash: []string{"prefix", "suffix"}, fn: helperJoin},
	"substring":       {min: 2, max: 3, fn: helperSubstring},
	"lower":           {min: 1, max: 1, fn: strHelper(strings.ToLower)},
	"upper":           {min: 1, max: 1, fn: strHelper(strings.ToUpper)},
	"slugify":         {min: 1, max: 1, fn: strHelper(slugify)},
	"stripTags":       {min: 1, max: 1, fn: strHelper(func(s string) string { return stripTagsRe.ReplaceAllString(s, "") })},
	"abbreviate":      {min: 2, max: 2, fn: helperAbbreviate},
	"wordWrap":        {min: 2, max: 2, fn: helperWordWrap},
	"replace":         {min: 3, max: 3, fn: helperReplace},
	"yesno":           {min: 1, max: 1, hash: []string{"yes", "no", "maybe"}, fn: helperYesNo},
	"isEven":          {min: 1, max: 2, fn: parityHelper(0)},
	"isOdd":           {min: 1, max: 2, fn: parityHelper(1)},
	"stripes":         {min: 1, max: 3, fn: parityHelper(2)},
}

func lookupHelper(name string) *helperDef { return helpers[name] }

// checkCall checks a helper call's arguments at compile time and prepares what its
// literal arguments allow (a compiled JSON path, regex, date format).
func checkCall(c *call, block bool) error {
	h := c.h
	n := len(c.params)
	if block && h.block == blkTransform {
		n++ // the body is the first argument
	}
	if block && c.name == "parseJson" || block && c.name == "arrayJoin" {
		n = max(n, 1)
	}
	switch {
	case n < h.min && h.max == h.min:
		return errAt(c.pos, "%s takes %d argument%s, not %d", c.name, h.min, plural(h.min), n)
	case n < h.min:
		return errAt(c.pos, "%s takes at least %d argument%s, not %d", c.name, h.min, plural(h.min), n)
	case h.max >= 0 && n > h.max:
		if h.max == h.min {
			return errAt(c.pos, "%s takes %d argument%s, not %d", c.name, h.max, plural(h.max), n)
		}
		return errAt(c.pos, "%s takes at most %d argument%s, not %d", c.name, h.max, plural(h.max), n)
	}
	for i, k := range c.hashK {
		if !slices.Contains(h.hash, k) {
			if len(h.hash) == 0 {
				return errAt(c.hashV[i].pos, "%s takes no hash arguments (%s=)", c.name, k)
			}
			return errAt(c.hashV[i].pos, "%s has no option %s (it takes %s)", c.name, k, strings.Join(h.hash, ", "))
		}
	}
	if h.check != nil {
		return h.check(c)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// literalString returns the string literal e holds.
func literalString(e *expr) (string, bool) {
	if e.kind == eLit && e.lit.k == kString {
		return e.lit.s, true
	}
	return "", false
}

func (c *call) hashExpr(k string) *expr {
	if i := c.hashIndex(k); i >= 0 {
		return &c.hashV[i]
	}
	return nil
}

func helperLookup(a *args) (val, error) {
	v := a.arg(0)
	if len(a.p) < 2 {
		return v, nil
	}
	key := a.arg(1)
	if key.k == kInt {
		return a.r.member(v, &seg{name: strconv.FormatInt(key.n, 10), idx: int(key.n), isIdx: true}), nil
	}
	for _, part := range splitLookupKey(a.r.str(key)) {
		s := makeSeg(part)
		if v = a.r.member(v, &s); v.k == kMissing {
			break
		}
	}
	return v, nil
}

// splitLookupKey splits a lookup key at dots outside brackets; [x] stands for x.
func splitLookupKey(k string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case '.':
			if depth == 0 {
				parts = append(parts, k[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, k[start:])
	for i, p := range parts {
		if len(p) >= 2 && p[0] == '[' && p[len(p)-1] == ']' {
			parts[i] = p[1 : len(p)-1]
		}
	}
	return parts
}

func helperContains(a *args) (val, error) {
	hay, needle := a.arg(0), a.r.scalar(a.arg(1))
	if hay.k == kMissing || hay.k == kNull || needle.k == kMissing || needle.k == kNull {
		return boolVal(false), nil
	}
	if l, ok := a.r.list(hay); ok {
		for _, e := range l {
			if a.r.equal(e, needle) {
				return boolVal(true), nil
			}
		}
		return boolVal(false), nil
	}
	return boolVal(strings.Contains(a.r.str(a.r.scalar(hay)), a.r.str(needle))), nil
}

// checkRegexArg compiles argument i when it is a literal; whole anchors it.
func checkRegexArg(i int, whole bool) func(c *call) error {
	return func(c *call) error {
		if i >= len(c.params) {
			return nil
		}
		s, ok := literalString(&c.params[i])
		if !ok {
			return nil
		}
		re, err := compileTemplateRegex(s, whole)
		if err != nil {
			return errAt(c.params[i].pos, "%s: %v", c.name, err)
		}
		c.pre = re
		return nil
	}
}

func compileTemplateRegex(s string, whole bool) (*regexp.Regexp, error) {
	if len(s) > MaxPathLen {
		return nil, fmt.Errorf("regex longer than %d bytes", MaxPathLen)
	}
	if whole {
		return compileWhole(s)
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

func (a *args) regex(i int, whole bool) (*regexp.Regexp, error) {
	if re, ok := a.c.pre.(*regexp.Regexp); ok {
		return re, nil
	}
	return compileTemplateRegex(a.r.str(a.arg(i)), whole)
}

func helperMatches(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	if v.k == kMissing || v.k == kNull {
		return boolVal(false), nil
	}
	re, err := a.regex(1, true)
	if err != nil {
		return val{}, err
	}
	return boolVal(re.MatchString(a.r.str(v))), nil
}

// --- JSON ---

func checkJSONPath(c *call) error {
	s, ok := literalString(&c.params[1])
	if !ok {
		return nil
	}
	p, err := CompileJSONPath(s)
	if err != nil {
		return errAt(c.params[1].pos, "jsonPath: %v", err)
	}
	c.pre = p
	return nil
}

// jsonDoc returns the decoded JSON document v holds: the request body (decoded once per
// request), JSON text, or a decoded value. ok is false when v holds no JSON.
func (r *renderer) jsonDoc(v val) (any, bool) {
	switch v.k {
	case kReq:
		if v.rk == reqBody {
			doc, err := r.q.json()
			return doc, err == nil
		}
	case kJSON:
		return v.x, true
	case kList, kMap:
		b, err := r.appendJSON(nil, v, false, 0)
		if err != nil {
			return nil, false
		}
		doc, err := DecodeJSON(b)
		return doc, err == nil
	case kMissing, kNull:
		return nil, false
	}
	v = r.scalar(v)
	var doc any
	var err error
	if v.k == kBytes {
		doc, err = DecodeJSON(v.b)
	} else {
		doc, err = DecodeJSON([]byte(r.str(v)))
	}
	return doc, err == nil
}

// helperJSONPath selects with a JSON path: one value for a definite path (no wildcard,
// recursive descent or list of items), all selected values as a JSON array otherwise.
// Nothing selected, or input that is not JSON, gives default= or nothing (WireMock
// renders "" there too; for input that is not JSON it renders an [ERROR: …] text).
func helperJSONPath(a *args) (val, error) {
	p, _ := a.c.pre.(*JSONPath)
	if p == nil {
		var err error
		if p, err = CompileJSONPath(a.r.str(a.arg(1))); err != nil {
			return val{}, err
		}
	}
	def, _ := a.hashVal("default")
	if in := a.arg(0); in.k == kReq && in.rk == reqBody && !a.r.q.jsonDone && definitePath(p) {
		b, valid, found, fallback := a.r.bodySelect(p)
		if !valid {
			return def, nil
		}
		if !fallback {
			if !found {
				return def, nil
			}
			if v, ok := rawValue(b); ok {
				if v.k == kNull {
					return def, nil
				}
				return v, nil
			}
		}
	}
	doc, ok := a.r.jsonDoc(a.arg(0))
	if !ok {
		return def, nil
	}
	if x, found, definite := selectDefinite(p, doc); definite {
		if !found || x == nil {
			return def, nil
		}
		return jsonVal(x), nil
	}
	if err := a.r.step(1); err != nil {
		return val{}, err
	}
	sel := p.Select(doc)
	if sel == nil {
		return def, nil
	}
	if err := a.r.step(len(sel)); err != nil {
		return val{}, err
	}
	return val{k: kJSON, x: sel}, nil
}

// definitePath reports whether each step of p selects one name or index.
func definitePath(p *JSONPath) bool {
	for i := range p.steps {
		if s := &p.steps[i]; s.descend || s.wildcard || len(s.items) != 1 {
			return false
		}
	}
	return true
}

// selectDefinite walks a definite path (each step one name or index) without
// allocating. definite is false for other paths; found is false when nothing is
// selected.
func selectDefinite(p *JSONPath, doc any) (v any, found, definite bool) {
	for i := range p.steps {
		s := &p.steps[i]
		if s.descend || s.wildcard || len(s.items) != 1 {
			return nil, false, false
		}
	}
	cur := doc
	for i := range p.steps {
		it := &p.steps[i].items[0]
		switch x := cur.(type) {
		case map[string]any:
			m, ok := x[it.name]
			if it.isIndex || !ok {
				return nil, false, true
			}
			cur = m
		case []any:
			if !it.isIndex {
				return nil, false, true
			}
			j := it.index
			if j < 0 {
				j += len(x)
			}
			if j < 0 || j >= len(x) {
				return nil, false, true
			}
			cur = x[j]
		default:
			return nil, false, true
		}
	}
	return cur, true, true
}

// parseJSONValue parses text the way WireMock's parseJson does: empty or {} is an
// empty object, [..] an array, anything else must be an object.
func parseJSONValue(s string) (val, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.Join(strings.Fields(s), "") == "{}" {
		return val{k: kJSON, x: map[string]any{}}, nil
	}
	doc, err := DecodeJSON([]byte(s))
	if err != nil {
		return val{}, errors.New(strings.Replace(err.Error(), "body ", "input ", 1))
	}
	switch doc.(type) {
	case map[string]any, []any:
		return val{k: kJSON, x: doc}, nil
	}
	return val{}, errors.New("input is not a JSON object or array")
}

func helperParseJSON(a *args) (val, error) {
	if len(a.p) == 0 {
		return val{}, errors.New("missing the JSON to parse")
	}
	in := a.arg(0)
	if in.k == kMissing || in.k == kNull {
		return val{k: kJSON, x: map[string]any{}}, nil
	}
	var v val
	if in.k == kJSON {
		v = in
	} else {
		var err error
		if v, err = parseJSONValue(a.r.str(a.r.scalar(in))); err != nil {
			return val{}, err
		}
	}
	if len(a.p) > 1 {
		return val{}, a.r.setVar(a.r.str(a.arg(1)), v)
	}
	return v, nil
}

// blockParseJSON: {{#parseJson 'name'}}JSON{{/parseJson}} assigns the parsed body to
// name (or renders it when no name is given).
func blockParseJSON(r *renderer, n *node) error {
	body, err := r.capture(n.body)
	if err != nil {
		return err
	}
	v, err := parseJSONValue(body)
	if err != nil {
		return &failure{msg: "parseJson: " + err.Error()}
	}
	if len(n.call.params) == 0 {
		return r.emit(v, false)
	}
	name, err := r.eval(&n.call.params[0])
	if err != nil {
		return err
	}
	return r.setVar(r.str(name), v)
}

func helperToJSON(a *args) (val, error) {
	v := a.arg(0)
	if v.k == kMissing || v.k == kNull {
		return strVal(""), nil
	}
	b, err := a.r.appendJSON(nil, v, true, 0)
	if err != nil {
		return val{}, err
	}
	return strVal(string(b)), nil
}

func checkFormatJSON(c *call) error {
	if e := c.hashExpr("format"); e != nil {
		if s, ok := literalString(e); ok && s != "pretty" && s != "compact" {
			return errAt(e.pos, "formatJson: format is pretty or compact, not %q", s)
		}
	}
	return nil
}

// helperFormatJSON rewrites JSON text pretty (Jackson's layout) or compact, keeping
// the members in the order the text has them.
func helperFormatJSON(a *args) (val, error) {
	s := strings.TrimSpace(a.r.str(a.r.scalar(a.arg(0))))
	if s == "" {
		return val{}, errors.New("takes a block of JSON to format or a single parameter of type String")
	}
	format := a.hashStr("format", "pretty")
	if format != "pretty" && format != "compact" {
		return val{}, fmt.Errorf("format is pretty or compact, not %q", format)
	}
	if err := jsonCheckDepth([]byte(s)); err != nil {
		return val{}, errors.New(strings.Replace(err.Error(), "body ", "input ", 1))
	}
	out, err := reformatJSON(a.r, s, format == "pretty")
	if err != nil {
		return val{}, fmt.Errorf("input is not JSON: %v", err)
	}
	return strVal(string(out)), nil
}

// reformatJSON rewrites JSON text token by token, keeping the order of members.
func reformatJSON(r *renderer, s string, pretty bool) ([]byte, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out []byte
	type level struct {
		obj   bool
		count int
		key   bool // the next token in an object is a key
	}
	var stack []level
	level0 := 0
	for {
		t, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" && len(stack) == 0 && len(out) > 0 {
				break
			}
			return nil, err
		}
		if err := r.step(1); err != nil {
			return nil, err
		}
		if err := checkSize(len(out)); err != nil {
			return nil, err
		}
		if d, ok := t.(json.Delim); ok && (d == '}' || d == ']') {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.obj {
				level0--
			}
			switch {
			case top.count == 0 && pretty:
				out = append(out, ' ')
			case top.obj && pretty:
				out = appendIndent(out, level0)
			case pretty:
				out = append(out, ' ')
			}
			out = append(out, byte(d))
			if len(stack) == 0 {
				if dec.More() {
					return nil, errors.New("data after the value")
				}
				continue
			}
			if stack[len(stack)-1].obj {
				stack[len(stack)-1].key = true
			}
			continue
		}
		// A value or a key: its separator first.
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			isKey := top.obj && top.key
			if !top.obj || isKey {
				if top.count > 0 {
					out = append(out, ',')
					if pretty && !top.obj {
						out = append(out, ' ')
					}
				}
				switch {
				case pretty && top.obj:
					out = appendIndent(out, level0)
				case pretty && top.count == 0:
					out = append(out, ' ')
				}
				top.count++
			}
			if isKey {
				out = appendJSONString(out, t.(string))
				if pretty {
					out = append(out, " : "...)
				} else {
					out = append(out, ':')
				}
				top.key = false
				continue
			}
			if top.obj {
				top.key = true
			}
		} else if len(out) > 0 {
			return nil, errors.New("data after the value")
		}
		switch x := t.(type) {
		case json.Delim:
			out = append(out, byte(x))
			stack = append(stack, level{obj: x == '{', key: x == '{'})
			if x == '{' {
				level0++
			}
		case string:
			out = appendJSONString(out, x)
		case json.Number:
			out = append(out, x...)
		case bool:
			out = strconv.AppendBool(out, x)
		case nil:
			out = append(out, "null"...)
		}
		if len(stack) == 0 && dec.More() {
			return nil, errors.New("data after the value")
		}
	}
	return out, nil
}

func helperEscapeJSON(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	if v.k == kMissing || v.k == kNull {
		return val{}, nil
	}
	return strVal(string(appendJSONEscaped(nil, a.r.str(v)))), nil
}

// --- random ---

var randomTypes = []string{"ALPHANUMERIC", "ALPHABETIC", "NUMERIC", "ALPHANUMERIC_AND_SYMBOLS", "HEXADECIMAL", "UUID"}

func checkRandomValue(c *call) error {
	if e := c.hashExpr("type"); e != nil {
		if s, ok := literalString(e); ok && !slices.Contains(randomTypes, s) {
			return errAt(e.pos, "randomValue: type is one of %s, not %q", strings.Join(randomTypes, ", "), s)
		}
	}
	return nil
}

// helperRandomValue draws a random string as WireMock does: ALPHANUMERIC (the default),
// ALPHABETIC, NUMERIC, ALPHANUMERIC_AND_SYMBOLS (ASCII 33-126), HEXADECIMAL or UUID, of
// length= characters (36 by default), lower-cased unless uppercase=true.
func helperRandomValue(a *args) (val, error) {
	n, err := a.hashInt("length", 36)
	if err != nil {
		return val{}, err
	}
	if n < 0 || n > MaxTemplateOutput {
		return val{}, fmt.Errorf("length must be between 0 and %d, not %d", MaxTemplateOutput, n)
	}
	upper := a.hashBool("uppercase")
	typ := a.hashStr("type", "ALPHANUMERIC")
	var chars string
	switch typ {
	case "ALPHANUMERIC":
		chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	case "ALPHABETIC":
		chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	case "NUMERIC":
		chars = "0123456789"
	case "ALPHANUMERIC_AND_SYMBOLS":
		chars = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
	case "HEXADECIMAL":
		chars = "ABCDEF0123456789"
	case "UUID":
		g := a.r.rand()
		return strVal(string(appendUUID(nil, g.Uint64(), g.Uint64(), upper))), nil
	default:
		return val{}, fmt.Errorf("type is one of %s, not %q", strings.Join(randomTypes, ", "), typ)
	}
	if err := a.r.step(int(n/16) + 1); err != nil {
		return val{}, err
	}
	b := make([]byte, n)
	for i := range b {
		c := chars[a.r.intn(uint64(len(chars)))]
		if upper {
			c = upperASCII(c)
		} else {
			c = lowerASCII(c)
		}
		b[i] = c
	}
	return strVal(string(b)), nil
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// appendUUID appends a version 4 UUID made of hi and lo.
func appendUUID(dst []byte, hi, lo uint64, upper bool) []byte {
	var u [16]byte
	for i := range 8 {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	hex := "0123456789abcdef"
	if upper {
		hex = "0123456789ABCDEF"
	}
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b>>4], hex[b&0xf])
	}
	return dst
}

// helperRandomInt draws an integer in [lower, upper) (upper excluded, as WireMock's
// does); the bounds default to Java's int range.
func helperRandomInt(a *args) (val, error) {
	lo, err := a.hashInt("lower", math.MinInt32)
	if err != nil {
		return val{}, err
	}
	hi, err := a.hashInt("upper", math.MaxInt32)
	if err != nil {
		return val{}, err
	}
	if lo >= hi {
		return val{}, fmt.Errorf("lower (%d) must be below upper (%d)", lo, hi)
	}
	span := uint64(hi) - uint64(lo)
	return intVal(lo + int64(a.r.intn(span))), nil
}

// helperRandomDecimal draws a number in [lower, upper), as Java's nextDouble(origin,
// bound) does; the bounds default to Java's smallest positive and largest double.
func helperRandomDecimal(a *args) (val, error) {
	lo, hi := 4.9e-324, math.MaxFloat64
	for _, k := range []string{"lower", "upper"} {
		v, ok := a.hashVal(k)
		if !ok {
			continue
		}
		f, ok := a.r.toFloat(v)
		if !ok {
			return val{}, fmt.Errorf("%s must be a number, not %q", k, a.r.str(v))
		}
		if k == "lower" {
			lo = f
		} else {
			hi = f
		}
	}
	if !(lo < hi) {
		return val{}, fmt.Errorf("lower (%v) must be below upper (%v)", lo, hi)
	}
	f := float64(a.r.rand().Uint64()>>11) / (1 << 53)
	f = f*(hi-lo) + lo
	if f >= hi {
		f = math.Nextafter(hi, math.Inf(-1))
	}
	return floatVal(f), nil
}

// helperPickRandom picks one of its arguments, or one element of a list given alone;
// count=n picks n distinct ones as a list.
func helperPickRandom(a *args) (val, error) {
	var items []val
	if l, ok := a.r.list(a.arg(0)); ok && len(a.p) == 1 {
		items = l
	} else {
		items = slices.Clone(a.p)
	}
	if len(items) == 0 {
		return val{}, nil
	}
	count, err := a.hashInt("count", 0)
	if err != nil {
		return val{}, err
	}
	if count > 0 {
		n := min(int(count), len(items))
		for i := range n {
			j := i + int(a.r.intn(uint64(len(items)-i)))
			items[i], items[j] = items[j], items[i]
		}
		return listVal(items[:n:n]), nil
	}
	return items[a.r.intn(uint64(len(items)))], nil
}

// --- encoding ---

func helperBase64(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	s := a.r.str(v)
	if a.hashBool("decode") {
		clean := strings.Map(func(c rune) rune {
			if unicode.IsSpace(c) {
				return -1
			}
			return c
		}, s)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(clean); err != nil {
				return val{}, errors.New("input is not base64")
			}
		}
		return strVal(string(b)), nil
	}
	if p, ok := a.hashVal("padding"); ok && !a.r.truthy(p) {
		return strVal(base64.RawStdEncoding.EncodeToString([]byte(s))), nil
	}
	return strVal(base64.StdEncoding.EncodeToString([]byte(s))), nil
}

// helperURLEncode encodes as Java's URLEncoder does (form encoding: a space is '+',
// letters, digits and .-*_ stay) or, with decode=true, decodes.
func helperURLEncode(a *args) (val, error) {
	s := a.r.str(a.r.scalar(a.arg(0)))
	if enc := strings.ToLower(a.hashStr("encoding", "utf-8")); enc != "utf-8" && enc != "utf8" {
		return val{}, fmt.Errorf("encoding %q is not supported (only utf-8)", enc)
	}
	if a.hashBool("decode") {
		b, err := urlDecode(s)
		if err != nil {
			return val{}, err
		}
		return strVal(b), nil
	}
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '*' || c == '_':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return strVal(string(b)), nil
}

// urlDecode decodes as Java's URLDecoder does: '+' is a space, %XX a byte; a malformed
// escape is an error.
func urlDecode(s string) (string, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", fmt.Errorf("malformed escape at byte %d", i)
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

// helperFormData parses form text (name=value&...) into an object whose fields are
// one-or-many values, as WireMock's formData does: a field without a value is left out,
// values are trimmed and, with urlDecode=true, decoded. With a variable name it assigns
// the object and renders nothing.
func helperFormData(a *args) (val, error) {
	s := a.r.str(a.r.scalar(a.arg(0)))
	decode := a.hashBool("urlDecode")
	m := &vmap{}
	for _, field := range strings.Split(s, "&") {
		parts := strings.Split(field, "=")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1] // Java's split drops trailing empty strings
		}
		if len(parts) < 2 {
			continue
		}
		v := strings.TrimSpace(parts[1])
		if decode {
			d, err := urlDecode(v)
			if err != nil {
				return val{}, err
			}
			v = d
		}
		if old, ok := m.get(parts[0]); ok {
			m.set(parts[0], multiList(append(old.x.([]val), strVal(v))))
		} else {
			m.set(parts[0], multiList([]val{strVal(v)}))
		}
		if err := a.r.step(1); err != nil {
			return val{}, err
		}
	}
	v := val{k: kMap, x: m}
	if len(a.p) > 1 {
		return val{}, a.r.setVar(a.r.str(a.arg(1)), v)
	}
	return v, nil
}

// helperRegexExtract returns the first match of a regex in its input or, given a
// variable name, assigns the groups of every match to it as a list. No match gives
// default= or an error, as WireMock documents.
func helperRegexExtract(a *args) (val, error) {
	re, err := a.regex(1, false)
	if err != nil {
		return val{}, err
	}
	s := a.r.str(a.r.scalar(a.arg(0)))
	if len(a.p) == 2 {
		if loc := re.FindStringIndex(s); loc != nil {
			return strVal(s[loc[0]:loc[1]]), nil
		}
	} else {
		var groups []val
		for _, m := range re.FindAllStringSubmatch(s, 10000) {
			for _, g := range m[1:] {
				groups = append(groups, strVal(g))
			}
		}
		if err := a.r.step(len(groups)); err != nil {
			return val{}, err
		}
		if len(groups) > 0 {
			return val{}, a.r.setVar(a.r.str(a.arg(2)), multiList(groups))
		}
	}
	if def, ok := a.hashVal("default"); ok {
		return def, nil
	}
	return val{}, fmt.Errorf("nothing matched %s", re.String())
}

// --- lists ---

const maxTemplateList = 100_000

func helperRange(a *args) (val, error) {
	lo, ok1 := a.r.toInt(a.arg(0))
	hi, ok2 := a.r.toInt(a.arg(1))
	if !ok1 || !ok2 {
		return val{}, errors.New("takes a lower and an upper bound, both integers")
	}
	n := hi - lo + 1
	if n < 0 {
		return val{}, fmt.Errorf("upper bound %d is below lower bound %d", hi, lo)
	}
	if n > maxTemplateList {
		return val{}, fmt.Errorf("range of %d numbers is longer than %d", n, maxTemplateList)
	}
	if err := a.r.step(int(n)); err != nil {
		return val{}, err
	}
	l := make([]val, n)
	for i := range l {
		l[i] = intVal(lo + int64(i))
	}
	return listVal(l), nil
}

// position reads position= for arrayAdd and arrayRemove: start, end (the default: -1)
// or an index.
func (a *args) position() (int, error) {
	v, ok := a.hashVal("position")
	if !ok {
		return -1, nil
	}
	s := a.r.str(v)
	switch {
	case strings.EqualFold(s, "start"):
		return 0, nil
	case strings.EqualFold(s, "end"):
		return -1, nil
	}
	n, ok := a.r.toInt(v)
	if !ok || n < 0 || n > math.MaxInt32 {
		return 0, errors.New("position must be 'start', 'end' or an index")
	}
	return int(n), nil
}

func helperArrayAdd(a *args) (val, error) {
	in := a.arg(0)
	if in.k == kMissing || in.k == kNull {
		return listVal(nil), nil
	}
	l, ok := a.r.list(in)
	if !ok {
		return val{}, errors.New("the first argument must be a list")
	}
	pos, err := a.position()
	if err != nil {
		return val{}, err
	}
	if pos < 0 {
		pos = len(l)
	}
	if pos > len(l) {
		return val{}, fmt.Errorf("position %d is beyond the list's %d elements", pos, len(l))
	}
	return listVal(slices.Insert(slices.Clone(l), pos, a.arg(1))), nil
}

func helperArrayRemove(a *args) (val, error) {
	l, ok := a.r.list(a.arg(0))
	if !ok {
		return val{}, errors.New("the first argument must be a list")
	}
	pos, err := a.position()
	if err != nil {
		return val{}, err
	}
	if pos < 0 {
		pos = len(l) - 1
	}
	if pos < 0 || pos >= len(l) {
		return val{}, fmt.Errorf("position %d is beyond the list's %d elements", pos, len(l))
	}
	return listVal(slices.Delete(slices.Clone(l), pos, pos+1)), nil
}

// joinItems returns arrayJoin's items: a list given as the only item, or the items.
func (a *args) joinItems(from int) []val {
	if len(a.p) == from+1 {
		if l, ok := a.r.list(a.arg(from)); ok {
			return l
		}
	}
	if from >= len(a.p) {
		return nil
	}
	return a.p[from:]
}

func helperArrayJoin(a *args) (val, error) {
	sep := a.arg(0)
	if !isText(sep) {
		return val{}, errors.New("the separator must be a string")
	}
	items := a.joinItems(1)
	if len(items) == 0 {
		return strVal(""), nil
	}
	b := []byte(a.hashStr("prefix", ""))
	for i, it := range items {
		if i > 0 {
			b = append(b, sep.s...)
			b = append(b, sep.b...)
		}
		var err error
		if b, err = a.r.appendText(b, it); err != nil {
			return val{}, err
		}
		if err := checkSize(len(b)); err != nil {
			return val{}, err
		}
	}
	b = append(b, a.hashStr("suffix", "")...)
	return strVal(string(b)), nil
}

// blockArrayJoin: {{#arrayJoin ',' list as |item|}}body{{/arrayJoin}} renders the body
// for each item, joined by the separator.
func blockArrayJoin(r *renderer, n *node) error {
	c := &n.call
	var items []val
	var sep val
	_, err := r.call(&call{name: c.name, h: &helperDef{fn: func(a *args) (val, error) {
		sep = a.arg(0)
		items = slices.Clone(a.joinItems(1))
		return val{}, nil
	}}, params: c.params, hashK: c.hashK, hashV: c.hashV, pos: c.pos})
	if err != nil {
		return err
	}
	if !isText(sep) {
		return &failure{msg: "arrayJoin: the separator must be a string"}
	}
	if len(items) == 0 {
		return nil
	}
	prefix, suffix := "", ""
	for i, k := range c.hashK {
		v, err := r.eval(&c.hashV[i])
		if err != nil {
			return err
		}
		if k == "prefix" {
			prefix = r.str(v)
		} else {
			suffix = r.str(v)
		}
	}
	r.out = append(r.out, prefix...)
	for i, it := range items {
		if i > 0 {
			r.out = append(r.out, sep.s...)
			r.out = append(r.out, sep.b...)
		}
		if err := r.step(1); err != nil {
			return err
		}
		r.frames = append(r.frames, frame{ctx: it, bnames: c.bparams, bvals: [2]val{it, intVal(int64(i))}, loop: true, index: i, key: intVal(int64(i)), last: i == len(items)-1})
		err := r.run(n.body)
		r.popFrame()
		if err != nil {
			return err
		}
	}
	r.out = append(r.out, suffix...)
	return nil
}

// --- variables ---

func helperVal(a *args) (val, error) {
	v := a.arg(0)
	if v.k == kMissing || v.k == kNull {
		if d, ok := a.hashVal("or"); ok {
			v = d
		} else if d, ok := a.hashVal("default"); ok {
			v = d
		}
	}
	if name, ok := a.hashVal("assign"); ok {
		return val{}, a.r.setVar(a.r.str(name), v)
	}
	return v, nil
}

// blockAssign: {{#assign 'name'}}body{{/assign}} assigns the rendered body, trimmed.
func blockAssign(r *renderer, n *node) error {
	name, err := r.eval(&n.call.params[0])
	if err != nil {
		return err
	}
	body, err := r.capture(n.body)
	if err != nil {
		return err
	}
	return r.setVar(r.str(name), strVal(strings.TrimSpace(body)))
}

// --- strings ---

// strHelper makes a helper applying f to its argument's text; nothing stays nothing.
func strHelper(f func(string) string) func(a *args) (val, error) {
	return func(a *args) (val, error) {
		v := a.r.scalar(a.arg(0))
		if !a.r.truthy(v) {
			return val{}, nil
		}
		return strVal(f(a.r.str(v))), nil
	}
}

func capitalizeFirst(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToTitle(c)) + s[n:]
}

// helperCapitalize capitalizes each whitespace-separated word (fully=true lower-cases
// the rest of each word first), as Apache Commons' WordUtils does.
func helperCapitalize(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	if !a.r.truthy(v) {
		return val{}, nil
	}
	s := a.r.str(v)
	if a.hashBool("fully") {
		s = strings.ToLower(s)
	}
	var b strings.Builder
	start := true
	for _, c := range s {
		if unicode.IsSpace(c) {
			start = true
		} else if start {
			c = unicode.ToTitle(c)
			start = false
		}
		b.WriteRune(c)
	}
	return strVal(b.String()), nil
}

// padHelper makes center (0), ljust (-1) and rjust (1): pad to size= (or the second
// argument) with pad= (a space by default).
func padHelper(side int) func(a *args) (val, error) {
	return func(a *args) (val, error) {
		v := a.r.scalar(a.arg(0))
		if !a.r.truthy(v) {
			return val{}, nil
		}
		size, err := a.hashInt("size", -1)
		if err != nil {
			return val{}, err
		}
		if size < 0 && len(a.p) > 1 {
			size, _ = a.r.toInt(a.arg(1))
		}
		if size < 0 {
			return val{}, errors.New("takes size=")
		}
		if err := checkSize(int(min(size, math.MaxInt32))); err != nil {
			return val{}, err
		}
		pad := a.hashStr("pad", " ")
		if pad == "" {
			pad = " "
		}
		s := a.r.str(v)
		missing := int(size) - utf8.RuneCountInString(s)
		if missing <= 0 {
			return strVal(s), nil
		}
		fill := func(n int) string {
			p := []rune(pad)
			var b strings.Builder
			for i := range n {
				b.WriteRune(p[i%len(p)])
			}
			return b.String()
		}
		switch side {
		case -1:
			return strVal(s + fill(missing)), nil
		case 1:
			return strVal(fill(missing) + s), nil
		}
		left := missing / 2
		return strVal(fill(left) + s + fill(missing-left)), nil
	}
}

func helperCut(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	if !a.r.truthy(v) {
		return val{}, nil
	}
	strip := " "
	if len(a.p) > 1 {
		strip = a.r.str(a.arg(1))
	}
	if strip == "" {
		return strVal(a.r.str(v)), nil
	}
	return strVal(strings.ReplaceAll(a.r.str(v), strip, "")), nil
}

func helperDefaultIfEmpty(a *args) (val, error) {
	v := a.arg(0)
	if !a.r.truthy(v) {
		if len(a.p) > 1 {
			return strVal(a.r.str(a.arg(1))), nil
		}
		return strVal(""), nil
	}
	return strVal(a.r.str(a.r.scalar(v))), nil
}

// helperJoin is Handlebars.java's join: the last argument is the separator; a list
// given first is joined, otherwise the other arguments are.
func helperJoin(a *args) (val, error) {
	if !a.r.truthy(a.arg(0)) {
		return strVal(""), nil
	}
	sep := a.p[len(a.p)-1]
	if !isText(sep) {
		return val{}, errors.New("the last argument must be the separator, a string")
	}
	var items []val
	if l, ok := a.r.list(a.arg(0)); ok {
		items = l
	} else {
		items = a.p[:len(a.p)-1]
	}
	b := []byte(a.hashStr("prefix", ""))
	for i, it := range items {
		if i > 0 {
			b = append(b, a.r.str(sep)...)
		}
		var err error
		if b, err = a.r.appendText(b, it); err != nil {
			return val{}, err
		}
		if err := checkSize(len(b)); err != nil {
			return val{}, err
		}
	}
	b = append(b, a.hashStr("suffix", "")...)
	return strVal(string(b)), nil
}

// helperSubstring takes characters [start, end) of its input (end defaults to its
// length); bounds outside the text are an error, as in Java.
func helperSubstring(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	if !a.r.truthy(v) {
		return val{}, nil
	}
	rs := []rune(a.r.str(v))
	start, ok := a.r.toInt(a.arg(1))
	if !ok {
		return val{}, errors.New("the start must be an integer")
	}
	end := int64(len(rs))
	if len(a.p) > 2 {
		if end, ok = a.r.toInt(a.arg(2)); !ok {
			return val{}, errors.New("the end must be an integer")
		}
	}
	if start < 0 || end > int64(len(rs)) || start > end {
		return val{}, fmt.Errorf("range [%d, %d) is outside the text's %d characters", start, end, len(rs))
	}
	return strVal(string(rs[start:end])), nil
}

func slugify(s string) string {
	var b strings.Builder
	for _, c := range strings.TrimSpace(s) {
		switch {
		case unicode.IsLetter(c):
			b.WriteRune(unicode.ToLower(c))
		case unicode.IsSpace(c):
			b.WriteByte('-')
		}
	}
	return b.String()
}

var stripTagsRe = regexp.MustCompile(`(?s)<[^>]*>`)

// helperAbbreviate shortens text longer than width to width characters ending in
// "...", as Apache Commons' abbreviate does (width at least 4).
func helperAbbreviate(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	if !a.r.truthy(v) {
		return val{}, nil
	}
	w, ok := a.r.toInt(a.arg(1))
	if !ok {
		return val{}, errors.New("the width must be an integer")
	}
	rs := []rune(a.r.str(v))
	if int64(len(rs)) <= w {
		return strVal(string(rs)), nil
	}
	if w < 4 {
		return val{}, errors.New("the width must be at least 4")
	}
	return strVal(string(rs[:w-3]) + "..."), nil
}

// helperWordWrap wraps text at spaces so lines are at most the given length where
// words allow, as Apache Commons' WordUtils.wrap does (long words are not broken).
func helperWordWrap(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	if !a.r.truthy(v) {
		return val{}, nil
	}
	n, ok := a.r.toInt(a.arg(1))
	if !ok {
		return val{}, errors.New("the length must be an integer")
	}
	if n < 1 {
		n = 1
	}
	rs := []rune(a.r.str(v))
	var b strings.Builder
	off := 0
	for len(rs)-off > int(n) {
		if rs[off] == ' ' {
			off++
			continue
		}
		cut := -1
		for i := off + int(n); i >= off; i-- {
			if rs[i] == ' ' {
				cut = i
				break
			}
		}
		if cut < 0 {
			for i := off + int(n); i < len(rs); i++ {
				if rs[i] == ' ' {
					cut = i
					break
				}
			}
			if cut < 0 {
				break
			}
		}
		b.WriteString(string(rs[off:cut]))
		b.WriteByte('\n')
		off = cut + 1
	}
	b.WriteString(string(rs[off:]))
	return strVal(b.String()), nil
}

func helperReplace(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	if !a.r.truthy(v) {
		return val{}, nil
	}
	s, old, repl := a.r.str(v), a.r.str(a.arg(1)), a.r.str(a.arg(2))
	if old == "" {
		return strVal(s), nil
	}
	if n := strings.Count(s, old); n > 0 && len(repl) > len(old) {
		if err := checkSize(len(s) + n*(len(repl)-len(old))); err != nil {
			return val{}, err
		}
	}
	return strVal(strings.ReplaceAll(s, old, repl)), nil
}

func helperYesNo(a *args) (val, error) {
	v := a.r.scalar(a.arg(0))
	switch {
	case v.k == kMissing || v.k == kNull:
		return strVal(a.hashStr("maybe", "maybe")), nil
	case v.k != kBool:
		return val{}, fmt.Errorf("takes a boolean, not %q", a.r.str(v))
	case v.n != 0:
		return strVal(a.hashStr("yes", "yes")), nil
	}
	return strVal(a.hashStr("no", "no")), nil
}

// parityHelper makes isEven (0), isOdd (1) and stripes (2), which read numbers only.
func parityHelper(kind int) func(a *args) (val, error) {
	return func(a *args) (val, error) {
		v := a.arg(0)
		if !isNumber(v) {
			return val{}, nil
		}
		n, _ := a.r.toInt(v)
		even := n%2 == 0
		arg := func(i int, def string) val {
			if i < len(a.p) {
				return a.p[i]
			}
			return strVal(def)
		}
		switch {
		case kind == 0 && even:
			return arg(1, "even"), nil
		case kind == 1 && !even:
			return arg(1, "odd"), nil
		case kind == 2 && even:
			return arg(1, "even"), nil
		case kind == 2:
			return arg(2, "odd"), nil
		}
		return val{}, nil
	}
}
