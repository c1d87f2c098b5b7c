package mock

import (
	"strconv"
	"strings"
	"testing"

	"github.com/matryer/is"
)

const jpTestDoc = `{
	"store": {
		"book": [
			{"category": "reference", "author": "Rees", "title": "Sayings", "price": 8.95},
			{"category": "fiction", "author": "Waugh", "title": "Sword", "price": 12.99, "isbn": "0-553"}
		],
		"bicycle": {"color": "red", "price": 19.95}
	},
	"expensive": 10,
	"a-b": 1, "x_y": 2, "é": 3, "0": "zero",
	"odd key": {"it's": 4, "q\"": 5, "back\\": 6, "": 7},
	"n": null
}`

// jpRender renders a selection as one JSON array ("[]" when empty).
func jpRender(vs []any) string { return RenderJSON(append([]any{}, vs...)) }

func TestJSONPathSelect(t *testing.T) {
	tests := []struct {
		expr string
		doc  string // jpTestDoc when empty
		want string
	}{
		// $ alone
		{expr: `$`, doc: `{"b":1,"a":2}`, want: `[{"a":2,"b":1}]`},
		{expr: `$`, doc: `"x"`, want: `["x"]`},
		{expr: `$`, doc: `null`, want: `[null]`},
		// .name
		{expr: `$.expensive`, want: `[10]`},
		{expr: `$.store.bicycle.color`, want: `["red"]`},
		{expr: `$.a-b`, want: `[1]`},
		{expr: `$.x_y`, want: `[2]`},
		{expr: `$.é`, want: `[3]`},
		{expr: `$.0`, want: `["zero"]`},
		{expr: `$.n`, want: `[null]`},
		{expr: `$.missing`, want: `[]`},
		// ['name'] and ["name"]
		{expr: `$['store']["bicycle"]['color']`, want: `["red"]`},
		{expr: `$['odd key']['it\'s']`, want: `[4]`},
		{expr: `$["odd key"]["it's"]`, want: `[4]`},
		{expr: `$["odd key"]["q\""]`, want: `[5]`},
		{expr: `$['odd key']['q"']`, want: `[5]`},
		{expr: `$['odd key']['back\\']`, want: `[6]`},
		{expr: `$['odd key']['']`, want: `[7]`},
		{expr: `$['n']`, want: `[null]`},
		// [n], negative indexes
		{expr: `$.store.book[0].author`, want: `["Rees"]`},
		{expr: `$.store.book[1].author`, want: `["Waugh"]`},
		{expr: `$.store.book[-1].author`, want: `["Waugh"]`},
		{expr: `$.store.book[-2].author`, want: `["Rees"]`},
		{expr: `$.store.book[2]`, want: `[]`},
		{expr: `$.store.book[-3]`, want: `[]`},
		{expr: `$[0][1]`, doc: `[[1,2],[3]]`, want: `[2]`},
		{expr: `$[-1][-1]`, doc: `[[1,2],[3]]`, want: `[3]`},
		// [*] and .*
		{expr: `$.store.book[*].author`, want: `["Rees","Waugh"]`},
		{expr: `$.store.book.*.price`, want: `[8.95,12.99]`},
		{expr: `$.store.*`, want: `[{"color":"red","price":19.95},[{"author":"Rees","category":"reference","price":8.95,"title":"Sayings"},{"author":"Waugh","category":"fiction","isbn":"0-553","price":12.99,"title":"Sword"}]]`},
		{expr: `$.store.bicycle[*]`, want: `["red",19.95]`},
		{expr: `$[*][*]`, doc: `[[1,2],{"b":4,"a":3},5]`, want: `[1,2,3,4]`},
		{expr: `$.*`, doc: `[]`, want: `[]`},
		{expr: `$[ * ]`, doc: `[1]`, want: `[1]`},
		// lists
		{expr: `$.store.book[0,1].price`, want: `[8.95,12.99]`},
		{expr: `$.store.book[-1,0].price`, want: `[12.99,8.95]`},
		{expr: `$['expensive','n',"x_y"]`, want: `[10,null,2]`},
		{expr: `$[ 'a' , 0 ]`, doc: `{"a":1}`, want: `[1]`},
		{expr: `$[ 'a' , 0 ]`, doc: `["x"]`, want: `["x"]`},
		{expr: `$[0,0,5]`, doc: `["x"]`, want: `["x","x"]`},
		// recursive descent
		{expr: `$..price`, want: `[19.95,8.95,12.99]`},
		{expr: `$..author`, want: `["Rees","Waugh"]`},
		{expr: `$..c`, doc: `{"a":{"b":{"c":1}},"c":2}`, want: `[2,1]`},
		{expr: `$..c`, doc: `{"c":{"c":{"c":1}}}`, want: `[{"c":{"c":1}},{"c":1},1]`},
		{expr: `$..*`, doc: `{"a":{"b":1},"c":[2,{"d":3}]}`, want: `[{"b":1},[2,{"d":3}],1,2,{"d":3},3]`},
		{expr: `$..*`, doc: `5`, want: `[]`},
		{expr: `$..[0]`, doc: `{"a":[[1,2],[3]]}`, want: `[[1,2],1,3]`},
		{expr: `$..['b']`, doc: `[{"b":1},{"a":{"b":2}}]`, want: `[1,2]`},
		{expr: `$..[*]`, doc: `[[1]]`, want: `[[1],1]`},
		{expr: `$.store..price`, want: `[19.95,8.95,12.99]`},
		{expr: `$..book[-1].title`, want: `["Sword"]`},
		{expr: `$..book..price`, want: `[8.95,12.99]`},
		// wrong types select nothing
		{expr: `$.expensive.x`, want: `[]`},
		{expr: `$.expensive[0]`, want: `[]`},
		{expr: `$.expensive[*]`, want: `[]`},
		{expr: `$.expensive.*`, want: `[]`},
		{expr: `$.n.x`, want: `[]`},
		{expr: `$.n[0]`, want: `[]`},
		{expr: `$.store.book.author`, want: `[]`},
		{expr: `$.store[0]`, want: `[]`},
		{expr: `$.store.bicycle.color[0]`, want: `[]`},
		{expr: `$[0]`, doc: `"abc"`, want: `[]`},
		{expr: `$.a`, doc: `null`, want: `[]`},
		{expr: `$..a`, doc: `true`, want: `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" in "+tt.doc, func(t *testing.T) {
			is := is.New(t)
			doc := tt.doc
			if doc == "" {
				doc = jpTestDoc
			}
			p, err := CompileJSONPath(tt.expr)
			is.NoErr(err)
			is.Equal(p.String(), tt.expr)
			is.Equal(jpRender(p.Select(decodeForTest(t, doc))), tt.want)
		})
	}
}

func TestCompileJSONPathErrors(t *testing.T) {
	tooLong := "$." + strings.Repeat("a", 1023)
	tests := []struct {
		expr string
		at   int
		want string // substring of the message after "at N: "
	}{
		{``, 0, "empty expression"},
		{`a.b`, 0, "must start with $"},
		{`.a`, 0, "must start with $"},
		{`$a`, 1, `unexpected 'a' (want . or [)`},
		{`$ `, 1, "unexpected ' '"},
		{`$.`, 2, "want a name or * after ."},
		{`$.a.`, 4, "want a name or * after ."},
		{`$..`, 3, "want a name or * after .."},
		{`$...a`, 3, "want a name or * after .., not '.'"},
		{`$.[0]`, 2, "not '['"},
		{`$.a$b`, 3, "bad character '$' in name"},
		{`$.a b`, 3, "bad character ' ' in name"},
		{`$.a'`, 3, "bad character"},
		{`$.*a`, 3, "unexpected 'a'"},
		{`$.a[`, 4, "unterminated [ (want an index, * or a quoted name)"},
		{`$[ `, 3, "unterminated ["},
		{`$.a[0`, 5, "unterminated [ (want , or ])"},
		{`$['a'`, 5, "unterminated [ (want , or ])"},
		{`$[0,`, 4, "unterminated ["},
		{`$['a`, 2, "unterminated quoted name"},
		{`$["a\`, 2, "unterminated quoted name"},
		{`$['a\n']`, 4, `unknown escape \n`},
		{`$[*`, 3, "want ] after [*"},
		{`$[*,0]`, 3, "want ] after [*"},
		{`$[]`, 2, "empty []"},
		{`$[a]`, 2, "unexpected 'a' in ["},
		{`$[0 1]`, 4, "unexpected '1' in [ (want , or ])"},
		{`$[0,]`, 4, "unexpected ']' in ["},
		{`$[-]`, 3, "want digits after -"},
		{`$[99999999999999999999]`, 2, "out of range"},
		{`$[?(@.a==1)]`, 2, "filters"},
		{`$..book[?(@.price<10)]`, 8, "filters"},
		{`$[(@.length-1)]`, 2, "scripts"},
		{`$[1:2]`, 3, "slices"},
		{`$[:2]`, 2, "slices"},
		{`$[0,1:]`, 5, "slices"},
		{tooLong, 1024, "longer than 1024 bytes"},
		{"$" + strings.Repeat(".a", 65), 129, "more than 64 steps"},
		{"$" + strings.Repeat("[0]", 65), 193, "more than 64 steps"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			is := is.New(t)
			p, err := CompileJSONPath(tt.expr)
			is.True(err != nil) // want an error
			is.Equal(p, nil)
			msg := err.Error()
			is.True(strings.HasPrefix(msg, "json_path "))
			if len(tt.expr) <= 64 {
				is.True(strings.Contains(msg, strconv.Quote(tt.expr))) // names the expression
			}
			is.True(strings.Contains(msg, ": at "+strconv.Itoa(tt.at)+": ")) // names the offset
			is.True(strings.Contains(msg, tt.want))
		})
	}
}

func TestCompileJSONPathLimits(t *testing.T) {
	is := is.New(t)
	p, err := CompileJSONPath("$." + strings.Repeat("a", 1022)) // 1024 bytes
	is.NoErr(err)
	is.Equal(len(p.String()), 1024)
	p, err = CompileJSONPath("$" + strings.Repeat(".a", 64))
	is.NoErr(err)
	doc := decodeForTest(t, strings.Repeat(`{"a":`, 64)+"1"+strings.Repeat("}", 64))
	is.Equal(jpRender(p.Select(doc)), "[1]")
	_, err = CompileJSONPath("$." + strings.Repeat("é", 600))
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "…")) // long expressions are shortened in errors
}

func TestJSONPathSelectBounded(t *testing.T) {
	is := is.New(t)
	// Each ..* multiplies the selection; the per-step cap keeps it finite.
	p, err := CompileJSONPath("$" + strings.Repeat("..*", 20))
	is.NoErr(err)
	doc := decodeForTest(t, strings.Repeat("[", 64)+strings.Repeat("]", 64))
	is.True(len(p.Select(doc)) <= jpMaxResults)
	// A cyclic hand-built value is walked no deeper than MaxJSONDepth.
	loop := map[string]any{}
	loop["a"] = loop
	p, err = CompileJSONPath("$..a")
	is.NoErr(err)
	is.Equal(len(p.Select(loop)), MaxJSONDepth+1)
}

func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{
		`$`, `$.a`, `$..*`, `$['a\'b',"c",0,-1]`, `$[*].b`, `$..[0]`, `$.store.book[-1]`,
		`$[?(@.a)]`, `$[1:2]`, `$.a[`, `$['`, `$..a..b..*`,
	} {
		f.Add(s)
	}
	doc, err := DecodeJSON([]byte(jpTestDoc))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := CompileJSONPath(expr)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "json_path ") || !strings.Contains(err.Error(), ": at ") {
				t.Fatalf("error without offset: %v", err)
			}
			return
		}
		if p.String() != expr {
			t.Fatalf("String() = %q, want %q", p.String(), expr)
		}
		_ = p.Select(doc)
		_ = p.Select(nil)
		_ = p.Select([]any{doc, "x", nil})
	})
}
