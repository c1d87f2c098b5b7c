package mock

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

func newPCG(seed, stream uint64) *rand.PCG { return rand.NewPCG(seed, stream) }

// --- math ---

// decimal is an exact number: u × 10^-scale, as Java's BigDecimal holds it.
type decimal struct {
	u     *big.Int
	scale int
}

// toDecimal reads v as WireMock's math helper does: numbers as they are, text parsed as
// a decimal; anything else (text that is no number, nothing) counts as 0.
func (r *renderer) toDecimal(v val) decimal {
	v = r.scalar(v)
	var s string
	switch v.k {
	case kInt:
		return decimal{u: big.NewInt(v.n)}
	case kFloat:
		s = string(appendJavaDouble(nil, v.f))
	default:
		s = r.str(v)
	}
	if d, ok := parseDecimal(s); ok {
		return d
	}
	return decimal{u: new(big.Int)}
}

// parseDecimal parses [+-]digits[.digits][(e|E)[+-]digits] (Java's BigDecimal(String)).
func parseDecimal(s string) (decimal, bool) {
	if len(s) > 400 {
		return decimal{}, false
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
	}
	neg := false
	if mant != "" && (mant[0] == '+' || mant[0] == '-') {
		neg = mant[0] == '-'
		mant = mant[1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return decimal{}, false
	}
	scale := len(frac)
	if exp != "" {
		e, err := strconv.Atoi(exp)
		if err != nil || e > 1000 || e < -1000 {
			return decimal{}, false
		}
		scale -= e
	}
	u, _ := new(big.Int).SetString(digits, 10)
	if neg {
		u.Neg(u)
	}
	return decimal{u: u, scale: scale}, true
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// rescale returns d's unscaled value at a larger scale s.
func (d decimal) rescale(s int) *big.Int {
	if s == d.scale {
		return d.u
	}
	return new(big.Int).Mul(d.u, pow10(s-d.scale))
}

var mathOps = []string{"+", "-", "*", "x", "/", "%"}

func checkMath(c *call) error {
	if s, ok := literalString(&c.params[1]); ok && !containsString(mathOps, s) {
		return errAt(c.params[1].pos, "math: %q is not an operator (want + - * / %%)", s)
	}
	return nil
}

func containsString(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// helperMath computes "a op b" with + - * (or x) / % exactly, as BigDecimal does in
// WireMock: a division keeps the dividend's scale, rounding half up (7 / 2 is 4, 7.0 / 2
// is 3.5). A whole result is an integer; any other a decimal (written as Java writes a
// double).
func helperMath(a *args) (val, error) {
	l, r := a.r.toDecimal(a.arg(0)), a.r.toDecimal(a.arg(2))
	op := a.r.str(a.arg(1))
	var res decimal
	switch op {
	case "+", "-":
		s := max(l.scale, r.scale)
		if op == "+" {
			res = decimal{u: new(big.Int).Add(l.rescale(s), r.rescale(s)), scale: s}
		} else {
			res = decimal{u: new(big.Int).Sub(l.rescale(s), r.rescale(s)), scale: s}
		}
	case "*", "x":
		res = decimal{u: new(big.Int).Mul(l.u, r.u), scale: l.scale + r.scale}
	case "/":
		if r.u.Sign() == 0 {
			return val{}, errors.New("division by zero")
		}
		// q = l / r at l's scale: qu = lu × 10^rs / ru, rounded half up.
		num, den := new(big.Int).Set(l.u), new(big.Int).Set(r.u)
		if r.scale >= 0 {
			num.Mul(num, pow10(r.scale))
		} else {
			den.Mul(den, pow10(-r.scale))
		}
		if den.Sign() < 0 {
			num.Neg(num)
			den.Neg(den)
		}
		q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
		if new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(den) >= 0 {
			if num.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
		res = decimal{u: q, scale: l.scale}
	case "%":
		if r.u.Sign() == 0 {
			return val{}, errors.New("division by zero")
		}
		s := max(l.scale, r.scale)
		res = decimal{u: new(big.Int).Rem(l.rescale(s), r.rescale(s)), scale: s}
	default:
		return val{}, fmt.Errorf("%q is not an operator (want + - * / %%)", op)
	}
	if res.u.BitLen() > 4096 {
		return val{}, errors.New("result too large")
	}
	if res.scale == 0 {
		if res.u.IsInt64() {
			return intVal(res.u.Int64()), nil
		}
		return val{k: kNum, s: res.u.String()}, nil
	}
	f, _ := strconv.ParseFloat(res.u.String()+"e"+strconv.Itoa(-res.scale), 64) // correctly rounded
	return floatVal(f), nil
}

// --- dates ---

// dateVal is a date as WireMock's RenderableDate is: an instant, the format it renders
// with and its time zone.
type dateVal struct {
	t      time.Time
	format string // "" (ISO-8601), "epoch" (milliseconds), "unix" (seconds) or a pattern
	ops    []dfOp // the pattern, parsed
	loc    *time.Location
}

func (d *dateVal) appendText(dst []byte) []byte {
	t := d.t.UTC()
	if d.loc != nil {
		t = d.t.In(d.loc)
	}
	switch d.format {
	case "epoch":
		return strconv.AppendInt(dst, d.t.UnixMilli(), 10)
	case "unix":
		return strconv.AppendInt(dst, d.t.Unix(), 10)
	case "":
		dst = t.AppendFormat(dst, "2006-01-02T15:04:05")
		if _, off := t.Zone(); off == 0 {
			return append(dst, 'Z')
		}
		return t.AppendFormat(dst, "-07:00")
	}
	return appendDateOps(dst, t, d.ops)
}

// dateArgs is what checkDateArgs prepared from literal format=, offset= and timezone=.
type dateArgs struct {
	ops    []dfOp
	offset *dateOffset
	loc    *time.Location
}

func checkDateArgs(c *call) error {
	var pre dateArgs
	if e := c.hashExpr("format"); e != nil {
		if s, ok := literalString(e); ok && s != "epoch" && s != "unix" {
			ops, err := parseDatePattern(s)
			if err != nil {
				return errAt(e.pos, "%s: format: %v", c.name, err)
			}
			pre.ops = ops
		}
	}
	if e := c.hashExpr("offset"); e != nil {
		if s, ok := literalString(e); ok {
			o, err := parseDateOffset(s)
			if err != nil {
				return errAt(e.pos, "%s: %v", c.name, err)
			}
			pre.offset = &o
		}
	}
	if e := c.hashExpr("timezone"); e != nil {
		if s, ok := literalString(e); ok {
			loc, err := loadZone(s, true)
			if err != nil {
				return errAt(e.pos, "%s: %v", c.name, err)
			}
			pre.loc = loc
		}
	}
	c.pre = &pre
	return nil
}

// loadZone resolves a time zone: UTC, GMT, Z, a fixed offset (+02:00, GMT+2, UTC-05:30)
// or, when named is set, a region of the tz database (Australia/Sydney). A region is
// looked up only at compile time, from a literal: time.LoadLocation reads the system's
// zoneinfo (or the copy a binary importing time/tzdata carries).
func loadZone(s string, named bool) (*time.Location, error) {
	if loc, ok := fixedZone(s); ok {
		return loc, nil
	}
	if named && s != "" && s != "Local" && !strings.ContainsAny(s, " \t\n") {
		if loc, err := time.LoadLocation(s); err == nil {
			return loc, nil
		}
	}
	if named {
		return nil, fmt.Errorf("unknown time zone %q", s)
	}
	return nil, fmt.Errorf("time zone %q: only UTC and fixed offsets (+02:00) can be computed at render time; give a region (Europe/Paris) as a literal", s)
}

// fixedZone reads UTC, GMT, UT, Z and offsets: +h, +hh, +hh:mm, +hhmm, optionally after
// UTC, GMT or UT.
func fixedZone(s string) (*time.Location, bool) {
	rest := s
	for _, p := range []string{"UTC", "GMT", "UT"} {
		if strings.HasPrefix(rest, p) {
			rest = rest[len(p):]
			break
		}
	}
	if rest == "" && s != "" || s == "Z" {
		return time.UTC, true
	}
	if rest == "" || rest[0] != '+' && rest[0] != '-' {
		return nil, false
	}
	sign := 1
	if rest[0] == '-' {
		sign = -1
	}
	rest = rest[1:]
	h, m := rest, ""
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		h, m = rest[:i], rest[i+1:]
	} else if len(rest) == 4 {
		h, m = rest[:2], rest[2:]
	}
	hh, err1 := strconv.Atoi(h)
	mm := 0
	var err2 error
	if m != "" {
		mm, err2 = strconv.Atoi(m)
	}
	if err1 != nil || err2 != nil || len(h) > 2 || hh > 18 || mm > 59 || len(m) > 2 {
		return nil, false
	}
	off := sign * (hh*3600 + mm*60)
	if off == 0 {
		return time.UTC, true
	}
	return time.FixedZone(s, off), true
}

// dateOffset is an offset like "3 days" or "now -24 seconds".
type dateOffset struct {
	n    int
	unit string // seconds, minutes, hours, days, months, years
}

func parseDateOffset(s string) (dateOffset, error) {
	if strings.EqualFold(s, "now") {
		return dateOffset{}, nil
	}
	parts := strings.Split(s, " ")
	if len(parts) == 3 && strings.EqualFold(parts[0], "now") {
		parts = parts[1:]
	}
	if len(parts) != 2 {
		return dateOffset{}, fmt.Errorf("offset %q: want <amount> <unit> (8 seconds) or now +/-<amount> <unit>", s)
	}
	n, err := strconv.ParseInt(parts[0], 10, 32)
	if err != nil {
		return dateOffset{}, fmt.Errorf("offset %q: %q is not an integer", s, parts[0])
	}
	unit := strings.ToLower(parts[1])
	switch unit {
	case "seconds", "minutes", "hours", "days", "months", "years":
	default:
		return dateOffset{}, fmt.Errorf("offset %q: the unit is seconds, minutes, hours, days, months or years", s)
	}
	return dateOffset{n: int(n), unit: unit}, nil
}

// shift moves t by the offset, in UTC; months and years keep the day of the month where
// the target month has it, else take its last day (as Java's plusMonths does).
func (o dateOffset) shift(t time.Time) time.Time {
	switch o.unit {
	case "seconds":
		return t.Add(time.Duration(o.n) * time.Second)
	case "minutes":
		return t.Add(time.Duration(o.n) * time.Minute)
	case "hours":
		return t.Add(time.Duration(o.n) * time.Hour)
	case "days":
		return t.UTC().AddDate(0, 0, o.n)
	case "months":
		return addMonths(t.UTC(), o.n)
	case "years":
		return addMonths(t.UTC(), 12*o.n)
	}
	return t
}

func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// dateFromArgs builds a date from t and the call's format=, offset= and timezone=.
func (a *args) dateFromArgs(t time.Time, loc *time.Location, keepZone bool) (val, error) {
	pre, _ := a.c.pre.(*dateArgs)
	if pre == nil {
		pre = &dateArgs{}
	}
	d := &dateVal{t: t, loc: loc}
	if v, ok := a.hashVal("offset"); ok {
		o := pre.offset
		if o == nil {
			parsed, err := parseDateOffset(a.r.str(v))
			if err != nil {
				return val{}, err
			}
			o = &parsed
		}
		d.t = o.shift(d.t)
	}
	if v, ok := a.hashVal("timezone"); ok && !keepZone {
		d.loc = pre.loc
		if d.loc == nil {
			loc, err := loadZone(a.r.str(v), false)
			if err != nil {
				return val{}, err
			}
			d.loc = loc
		}
	}
	if v, ok := a.hashVal("format"); ok {
		d.format = a.r.str(v)
		if d.format != "epoch" && d.format != "unix" {
			d.ops = pre.ops
			if d.ops == nil {
				ops, err := parseDatePattern(d.format)
				if err != nil {
					return val{}, fmt.Errorf("format: %v", err)
				}
				d.ops = ops
			}
		}
	}
	return val{k: kDate, x: d}, nil
}

func helperNow(a *args) (val, error) {
	return a.dateFromArgs(a.r.in.Now, nil, false)
}

// helperDate renders a date (from parseDate, now, truncateDate) with format=, offset=
// and (for what is no date) timezone=; given no date it is now, as in WireMock.
func helperDate(a *args) (val, error) {
	if v := a.arg(0); v.k == kDate {
		d := v.x.(*dateVal)
		return a.dateFromArgs(d.t, d.loc, true)
	}
	return a.dateFromArgs(a.r.in.Now, nil, false)
}

func checkParseDate(c *call) error {
	if e := c.hashExpr("format"); e != nil {
		if s, ok := literalString(e); ok && !strings.EqualFold(s, "epoch") && !strings.EqualFold(s, "unix") {
			layout, err := goLayout(s)
			if err != nil {
				return errAt(e.pos, "parseDate: format: %v", err)
			}
			c.pre = layout
		}
	}
	return nil
}

// parseDateLayouts are what parseDate tries without format=: ISO-8601 with an offset,
// RFC 1123, RFC 1036 and asctime, in that order (as WireMock does).
var parseDateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	time.RFC1123,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700",
	time.RFC850,
	time.ANSIC,
}

// helperParseDate parses a date: with format= a pattern (yyyy-MM-dd...), epoch
// (milliseconds) or unix (seconds); without, the layouts WireMock tries. What does not
// parse is nothing.
func helperParseDate(a *args) (val, error) {
	s := a.r.str(a.r.scalar(a.arg(0)))
	if f, ok := a.hashVal("format"); ok {
		format := a.r.str(f)
		if strings.EqualFold(format, "epoch") || strings.EqualFold(format, "unix") {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return val{}, nil
			}
			if strings.EqualFold(format, "unix") {
				return val{k: kDate, x: &dateVal{t: time.Unix(n, 0).UTC()}}, nil
			}
			return val{k: kDate, x: &dateVal{t: time.UnixMilli(n).UTC()}}, nil
		}
		layout, _ := a.c.pre.(string)
		if layout == "" {
			var err error
			if layout, err = goLayout(format); err != nil {
				return val{}, fmt.Errorf("format: %v", err)
			}
		}
		t, err := time.ParseInLocation(layout, s, time.UTC)
		if err != nil {
			return val{}, nil
		}
		var loc *time.Location
		if layoutHasZone(layout) {
			loc = t.Location()
		}
		return val{k: kDate, x: &dateVal{t: t, loc: loc}}, nil
	}
	if i := strings.IndexByte(s, '['); i > 0 && strings.HasSuffix(s, "]") {
		s = s[:i] // 2021-06-15T15:16:17+02:00[Europe/Paris]: the offset is enough
	}
	for _, layout := range parseDateLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return val{k: kDate, x: &dateVal{t: t, loc: t.Location()}}, nil
		}
	}
	return val{}, nil
}

func layoutHasZone(layout string) bool {
	return strings.Contains(layout, "MST") || strings.Contains(layout, "07")
}

var truncations = []string{
	"first second of minute", "first minute of hour", "first hour of day",
	"first day of month", "first day of next month", "last day of month",
	"first day of year", "first day of next year", "last day of year",
}

func checkTruncation(c *call) error {
	if s, ok := literalString(&c.params[1]); ok && !containsString(truncations, strings.ToLower(s)) {
		return errAt(c.params[1].pos, "truncateDate: %q is not a truncation (want one of %s)", s, strings.Join(truncations, ", "))
	}
	return nil
}

// helperTruncateDate truncates a date in its time zone (UTC when it has none).
func helperTruncateDate(a *args) (val, error) {
	v := a.arg(0)
	if v.k != kDate {
		return val{}, errors.New("the first argument must be a date (parseDate, now)")
	}
	d := v.x.(*dateVal)
	loc := d.loc
	if loc == nil {
		loc = time.UTC
	}
	t := d.t.In(loc)
	y, m, day := t.Date()
	midnight := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	switch which := strings.ToLower(a.r.str(a.arg(1))); which {
	case "first second of minute":
		t = t.Truncate(time.Minute)
	case "first minute of hour":
		t = time.Date(y, m, day, t.Hour(), 0, 0, 0, loc)
	case "first hour of day":
		t = midnight(y, m, day)
	case "first day of month":
		t = midnight(y, m, 1)
	case "first day of next month":
		t = midnight(y, m+1, 1)
	case "last day of month":
		t = midnight(y, m+1, 0)
	case "first day of year":
		t = midnight(y, 1, 1)
	case "first day of next year":
		t = midnight(y+1, 1, 1)
	case "last day of year":
		t = midnight(y, 12, 31)
	default:
		return val{}, fmt.Errorf("%q is not a truncation", which)
	}
	return val{k: kDate, x: &dateVal{t: t, loc: d.loc}}, nil
}

// helperDateFormat is Handlebars.java's dateFormat: a date in a pattern or one of the
// styles full, long, medium (the default) and short (in US English), in tz= or UTC.
func helperDateFormat(a *args) (val, error) {
	v := a.arg(0)
	if v.k != kDate {
		return val{}, errors.New("the first argument must be a date (parseDate, now)")
	}
	d := v.x.(*dateVal)
	pattern := a.hashStr("format", "medium")
	if len(a.p) > 1 {
		pattern = a.r.str(a.arg(1))
	}
	switch pattern {
	case "full":
		pattern = "EEEE, MMMM d, yyyy"
	case "long":
		pattern = "MMMM d, yyyy"
	case "medium":
		pattern = "MMM d, yyyy"
	case "short":
		pattern = "M/d/yy"
	}
	ops, err := parseDatePattern(pattern)
	if err != nil {
		return val{}, fmt.Errorf("format: %v", err)
	}
	t := d.t.UTC()
	if tz, ok := a.hashVal("tz"); ok {
		loc, err := loadZone(a.r.str(tz), false)
		if err != nil {
			return val{}, err
		}
		t = d.t.In(loc)
	}
	return strVal(string(appendDateOps(nil, t, ops))), nil
}

// dfOp is one piece of a SimpleDateFormat pattern: a letter repeated n times, or text.
type dfOp struct {
	letter byte
	n      int
	text   string
}

const dateLetters = "GyYMLwWDdFEuaHkKhmsSzZX"

// parseDatePattern parses a Java SimpleDateFormat pattern: letters (GyYMLwWDdFEuaHkKhms
// SzZX) repeated for width or form, 'quoted text', ” for a quote, anything else as it is.
func parseDatePattern(p string) ([]dfOp, error) {
	if len(p) > 256 {
		return nil, errors.New("pattern longer than 256 bytes")
	}
	var ops []dfOp
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			if i+1 < len(p) && p[i+1] == '\'' {
				ops = append(ops, dfOp{text: "'"})
				i += 2
				continue
			}
			j := i + 1
			var b strings.Builder
			for {
				if j >= len(p) {
					return nil, fmt.Errorf("unterminated quote in %q", p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(p[j])
				j++
			}
			ops = append(ops, dfOp{text: b.String()})
			i = j + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			if !strings.ContainsRune(dateLetters, rune(c)) {
				return nil, fmt.Errorf("illegal pattern character %q in %q", c, p)
			}
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			ops = append(ops, dfOp{letter: c, n: j - i})
			i = j
		default:
			j := i
			for j < len(p) && p[j] != '\'' && !(p[j] >= 'a' && p[j] <= 'z' || p[j] >= 'A' && p[j] <= 'Z') {
				j++
			}
			ops = append(ops, dfOp{text: p[i:j]})
			i = j
		}
	}
	return ops, nil
}

// appendDateOps formats t as SimpleDateFormat would, in English.
func appendDateOps(dst []byte, t time.Time, ops []dfOp) []byte {
	num := func(dst []byte, v, width int) []byte {
		s := strconv.Itoa(v)
		for k := len(s); k < width; k++ {
			dst = append(dst, '0')
		}
		return append(dst, s...)
	}
	for _, op := range ops {
		if op.letter == 0 {
			dst = append(dst, op.text...)
			continue
		}
		n := op.n
		switch op.letter {
		case 'G':
			if t.Year() > 0 {
				dst = append(dst, "AD"...)
			} else {
				dst = append(dst, "BC"...)
			}
		case 'y', 'Y':
			y := t.Year()
			if op.letter == 'Y' {
				y, _ = t.ISOWeek()
			}
			if n == 2 {
				dst = num(dst, y%100, 2)
			} else {
				dst = num(dst, y, n)
			}
		case 'M', 'L':
			switch {
			case n >= 4:
				dst = append(dst, t.Month().String()...)
			case n == 3:
				dst = append(dst, t.Month().String()[:3]...)
			default:
				dst = num(dst, int(t.Month()), n)
			}
		case 'w':
			_, w := t.ISOWeek()
			dst = num(dst, w, n)
		case 'W':
			first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location()).Weekday()
			dst = num(dst, (t.Day()+int(first)-1)/7+1, n)
		case 'D':
			dst = num(dst, t.YearDay(), n)
		case 'd':
			dst = num(dst, t.Day(), n)
		case 'F':
			dst = num(dst, (t.Day()-1)/7+1, n)
		case 'E':
			if n >= 4 {
				dst = append(dst, t.Weekday().String()...)
			} else {
				dst = append(dst, t.Weekday().String()[:3]...)
			}
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			dst = num(dst, wd, n)
		case 'a':
			if t.Hour() < 12 {
				dst = append(dst, "AM"...)
			} else {
				dst = append(dst, "PM"...)
			}
		case 'H':
			dst = num(dst, t.Hour(), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			dst = num(dst, h, n)
		case 'K':
			dst = num(dst, t.Hour()%12, n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			dst = num(dst, h, n)
		case 'm':
			dst = num(dst, t.Minute(), n)
		case 's':
			dst = num(dst, t.Second(), n)
		case 'S':
			dst = num(dst, t.Nanosecond()/1e6, n)
		case 'z':
			name, _ := t.Zone()
			dst = append(dst, name...)
		case 'Z':
			dst = t.AppendFormat(dst, "-0700")
		case 'X':
			switch {
			case n == 1:
				dst = t.AppendFormat(dst, "Z07")
			case n == 2:
				dst = t.AppendFormat(dst, "Z0700")
			default:
				dst = t.AppendFormat(dst, "Z07:00")
			}
		}
	}
	return dst
}

// goLayout converts a date pattern to a Go layout for parsing. Letters Go cannot
// parse (week numbers, day of year, k and K hours) are refused.
func goLayout(p string) (string, error) {
	ops, err := parseDatePattern(p)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, op := range ops {
		if op.letter == 0 {
			if strings.ContainsAny(op.text, "0123456789") || strings.Contains(op.text, "Jan") || strings.Contains(op.text, "Mon") || strings.Contains(op.text, "MST") || strings.Contains(op.text, "PM") {
				return "", fmt.Errorf("literal text %q cannot be parsed", op.text)
			}
			b.WriteString(op.text)
			continue
		}
		var s string
		n := op.n
		switch op.letter {
		case 'y', 'u':
			if n == 2 {
				s = "06"
			} else {
				s = "2006"
			}
		case 'M', 'L':
			s = map[int]string{1: "1", 2: "01", 3: "Jan"}[min(n, 3)]
			if n >= 4 {
				s = "January"
			}
		case 'd':
			s = map[bool]string{true: "02", false: "2"}[n >= 2]
		case 'E':
			s = map[bool]string{true: "Monday", false: "Mon"}[n >= 4]
		case 'a':
			s = "PM"
		case 'H':
			s = "15"
		case 'h':
			s = map[bool]string{true: "03", false: "3"}[n >= 2]
		case 'm':
			s = map[bool]string{true: "04", false: "4"}[n >= 2]
		case 's':
			s = map[bool]string{true: "05", false: "5"}[n >= 2]
		case 'S':
			if i == 0 || ops[i-1].letter != 0 || !strings.HasSuffix(ops[i-1].text, ".") && !strings.HasSuffix(ops[i-1].text, ",") {
				return "", errors.New("the fraction of a second (S) must follow a '.' or ','")
			}
			s = strings.Repeat("0", n)
		case 'z':
			s = "MST"
		case 'Z':
			s = "-0700"
		case 'X':
			s = map[int]string{1: "Z07", 2: "Z0700", 3: "Z07:00"}[min(n, 3)]
		default:
			return "", fmt.Errorf("pattern letter %q cannot be parsed", op.letter)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}
