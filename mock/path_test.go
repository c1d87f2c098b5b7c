package mock

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

func mustPattern(t *testing.T, text string) *Path {
	t.Helper()
	p, err := CompilePathPattern(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return p
}

func mustRegex(t *testing.T, text string) *Path {
	t.Helper()
	p, err := CompilePathRegex(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return p
}

func TestPathPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		match         bool
	}{
		{"/users", "/users", true},
		{"/users", "/users/", false},
		{"/users", "/user", false},
		{"/users/", "/users/", true},
		{"/users/{id}", "/users/7", true},
		{"/users/{id}", "/users/", false}, // a parameter needs a non-empty segment
		{"/users/{id}", "/users", false},
		{"/users/{id}", "/users/7/x", false},
		{"/users/{id}/posts", "/users/7/posts", true},
		{"/users/*", "/users", true}, // the bare prefix matches
		{"/users/*", "/users/", true},
		{"/users/*", "/users/7/x/y", true},
		{"/users/*", "/usersx", false},
		{"/*", "/anything/at/all", true},
		{"/*", "", false},
		{"/*", "*", false},
		{"/a//b", "/a//b", true},
		{"/a//b", "/a/b", false},
		{"/{a}/{b}/*", "/x/y", true},
		{"/{a}/{b}/*", "/x", false},
		// {name:regex}: the regex must match the whole segment
		{"/users/{id:[0-9]+}", "/users/42", true},
		{"/users/{id:[0-9]+}", "/users/42a", false},
		{"/users/{id:[0-9]+}", "/users/a42", false},
		{"/users/{id:[0-9]+}", "/users/", false},
		{"/users/{id:[0-9]+}", "/users/4/2", false},
		{"/users/{id:[0-9]*}", "/users/", false}, // a parameter is never empty
		{"/v/{v:a|b}/x", "/v/a/x", true},         // alternation is anchored as a whole
		{"/v/{v:a|b}/x", "/v/ab/x", false},
		{"/u/{id:[a-f0-9]{8}}", "/u/deadbeef", true}, // braces inside the regex
		{"/u/{id:[a-f0-9]{8}}", "/u/deadbee", false},
		{"/u/{id:[a-f0-9]{8}}/*", "/u/deadbeef/x/y", true},
		{"/u/{id:(?i)abc}", "/u/ABC", true},
		{"/u/{id:[^x]+}", "/u/a%2Fb", true}, // raw: an encoded slash is text
		{"/u/{id:a/b}", "/u/a/b", false},    // a segment never holds "/"
		// * as a middle segment: one non-empty segment
		{"/files/*/raw", "/files/abc/raw", true},
		{"/files/*/raw", "/files//raw", false},
		{"/files/*/raw", "/files/a/b/raw", false},
		{"/*/x", "/a/x", true},
		// globs within a segment
		{"/img/*.png", "/img/cat.png", true},
		{"/img/*.png", "/img/.png", true},
		{"/img/*.png", "/img/cat.jpg", false},
		{"/img/*.png", "/img/a/b.png", false}, // * stays within its segment
		{"/v*/users", "/v2/users", true},
		{"/v*/users", "/x2/users", false},
		{"/a*b*c", "/aXbYc", true},
		{"/a*b*c", "/abc", true},
		{"/a*b*c", "/acb", false},
		{"/a.*", "/a.json", true}, // the dot is literal
		{"/a.*", "/ab", false},
		{"/a+b*", "/a+bc", true}, // so is every regex character
		{"/a+b*", "/aab", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			is := is.New(t)
			is.Equal(mustPattern(t, tt.pattern).Match([]byte(tt.path)), tt.match)
		})
	}
}

func TestPathRegexMatch(t *testing.T) {
	tests := []struct {
		regex, path string
		match       bool
	}{
		{"/users/[0-9]+", "/users/42", true},
		{"/users/[0-9]+", "/users/42/x", false}, // the whole path must match
		{"/users/[0-9]+", "/x/users/42", false},
		{"/api/v[12]/.*", "/api/v2/a/b", true},
		{"/api/v[12]/.*", "/api/v3/a", false},
		{"/a|/b", "/b", true}, // alternatives are anchored together
		{"/a|/b", "/ab", false},
		{"(?i)/ORDERS", "/orders", true},
		{"/orders", "/ORDERS", false},
	}
	for _, tt := range tests {
		t.Run(tt.regex+" "+tt.path, func(t *testing.T) {
			is := is.New(t)
			is.Equal(mustRegex(t, tt.regex).Match([]byte(tt.path)), tt.match)
		})
	}
}

func TestPathErrors(t *testing.T) {
	tests := []struct {
		text  string
		regex bool
		want  string
	}{
		{"x", false, "path_pattern must start with /"},
		{"/x?y", false, "path_pattern must not contain a query string"},
		{"/" + strings.Repeat("a", MaxPathLen), false, "path_pattern must be at most 2048 bytes"},
		{"/a/**", false, "path_pattern must not use ** (at byte 3)"},
		{"/a/x**y", false, "path_pattern must not use ** (at byte 3)"},
		{"/a/{id", false, "path_pattern has a { without its } (the parameter at byte 3)"},
		{"/a/{id:[0-9]{2}", false, "path_pattern has a { without its } (the parameter at byte 3)"},
		{"/a/id}", false, "path_pattern has a } without its { at byte 5"},
		{"/a/{id}x", false, "path_pattern parameters must be whole segments (the segment at byte 3)"},
		{"/a/{i d}", false, "path_pattern must not contain whitespace or control characters"},
		{"/a/{:x}", false, "path_pattern parameter names are letters, digits and _ (the parameter at byte 3)"},
		{"/a/{id:(}", false, "path_pattern parameter id has an invalid regex at byte 7: missing closing ): `(`"},
		{"/a/{id:x{2000}}", false, "path_pattern parameter id has an invalid regex at byte 7: invalid repeat count: `{2000}`"},
		{"/a/{id:\\pX}", false, "path_pattern parameter id has an invalid regex at byte 7: invalid character class range: `\\pX`"},
		{"", true, "path_regex must be a non-empty RE2 regex"},
		{"/a/(?P<x", true, "path_regex is an invalid regex: invalid named capture: `(?P<x`"},
		{"/a/(b", true, "path_regex is an invalid regex: missing closing ): `/a/(b`"},
		{"/(a)\\1", true, "path_regex is an invalid regex: invalid escape sequence: `\\1`"}, // no backreferences in RE2
		{strings.Repeat("a", MaxPathLen+1), true, "path_regex must be at most 2048 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			is := is.New(t)
			var err error
			if tt.regex {
				_, err = CompilePathRegex(tt.text)
			} else {
				_, err = CompilePathPattern(tt.text)
			}
			is.True(err != nil)
			is.True(strings.HasPrefix(err.Error(), tt.want)) // the message names the field and where
		})
	}
}

func TestPathCanonical(t *testing.T) {
	is := is.New(t)
	canon := func(text string) string { return mustPattern(t, text).Canonical() }
	is.Equal(canon("/users/{id}"), canon("/users/{name}"))      // names do not count
	is.Equal(canon("/users/*/x"), canon("/users/{id}/x"))       // * is an unnamed parameter
	is.Equal(canon("/u/{id:[0-9]+}"), canon("/u/{n:[0-9]+}"))   // nor with a regex
	is.True(canon("/u/{id:[0-9]+}") != canon("/u/{id}"))        // a regex narrows
	is.True(canon("/u/{id:[0-9]+}") != canon("/u/{id:[0-9]*}")) // different regexes differ
	is.True(canon("/u/*.png") != canon("/u/{id}"))              // a glob narrows too
	is.True(canon("/u/*") != canon("/u/{id}"))                  // a final * is a wildcard
	is.True(mustRegex(t, "/u/.*").Canonical() != canon("/u/*")) // a regex is never a pattern
	is.True(mustRegex(t, "/u").Canonical() != mustRegex(t, "/v").Canonical())
}

func TestPathExactAndFirstLiteral(t *testing.T) {
	is := is.New(t)
	is.True(mustPattern(t, "/a/b").Exact())
	for _, text := range []string{"/a/{b}", "/a/*", "/a/*/c", "/a/*.png", "/a/{b:x}"} {
		is.True(!mustPattern(t, text).Exact())
	}
	is.True(!mustRegex(t, "/a/b").Exact()) // a regex is never indexed by its text
	first, ok := mustPattern(t, "/a/{b}").FirstLiteral()
	is.True(ok)
	is.Equal(first, "a")
	for _, text := range []string{"/{a}/b", "/*/b", "/a*/b", "/{a:x}/b"} {
		_, ok := mustPattern(t, text).FirstLiteral()
		is.True(!ok)
	}
	_, ok = mustRegex(t, "/a/b").FirstLiteral()
	is.True(!ok)
}

// TestPathPrecedence: each path comes before the next (more specific first).
func TestPathPrecedence(t *testing.T) {
	order := []*Path{
		mustPattern(t, "/a/b/{c}"),        // two literals
		mustPattern(t, "/a/{b:[0-9]+}"),   // one literal, a regex segment
		mustPattern(t, "/a/*.png"),        // ...a glob is a regex segment too (equal rank)
		mustPattern(t, "/a/{b}"),          // one literal, a parameter
		mustPattern(t, "/a/{b:[0-9]+}/*"), // one literal and a wildcard
		mustPattern(t, "/a/*"),            //
		mustPattern(t, "/{a}/{b}"),        // no literal
		mustRegex(t, "/a/b/c/d/e"),        // a regex comes last
	}
	is := is.New(t)
	for i := 0; i+1 < len(order); i++ {
		c := order[i].ComparePrecedence(order[i+1])
		if i == 1 {
			is.Equal(c, 0) // regex and glob segments rank alike
			continue
		}
		if c >= 0 {
			t.Errorf("%s should come before %s", order[i], order[i+1])
		}
		is.True(order[i+1].ComparePrecedence(order[i]) > 0)
	}
}

func TestPathCanMatchUnder(t *testing.T) {
	tests := []struct {
		text   string
		regex  bool
		prefix string
		want   bool
	}{
		{"/api/{x}", false, "/api/mocks/", false}, // needs a third segment
		{"/api/{x}/{y}", false, "/api/mocks/", true},
		{"/api/{x:[0-9]+}/{y}", false, "/api/mocks/", false},
		{"/api/m*/{y}", false, "/api/mocks/", true},
		{"/api/*", false, "/api/mocks/", true},
		{"/api/.*", true, "/api/mocks/", true},
		{"/api/mocks", true, "/api/mocks/", false},
		{"/api/mocks/?", true, "/api/mocks/", true},
		{"/api/(users|mocks)/[0-9]+", true, "/api/mocks/", true},
		{"/api/(users|orders)/[0-9]+", true, "/api/mocks/", false},
		{"/api/[^m].*", true, "/api/mocks/", false},
		{"/.*x$", true, "/api/mocks/", true}, // $ is taken to hold: a sound over-estimate
		{"/\\w+/\\w+/.*", true, "/api/mocks/", true},
		{"(?i)/API/MOCKS/.*", true, "/api/mocks/", true},
		{"/ä/.*", true, "/api/mocks/", false}, // multi-byte runes
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			is := is.New(t)
			p := mustPattern
			if tt.regex {
				p = mustRegex
			}
			is.Equal(p(t, tt.text).CanMatchUnder(tt.prefix), tt.want)
		})
	}
}

func TestPathMatchAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("regexp matches through a sync.Pool, which the race detector makes drop entries; .ci/run runs this without -race")
	}
	paths := []*Path{
		mustPattern(t, "/users/{id}/posts/*"),
		mustPattern(t, "/users/{id:[0-9]+}/posts/*"),
		mustPattern(t, "/img/*.png"),
		mustRegex(t, "/users/[0-9]+/posts/.*"),
	}
	for _, p := range paths {
		path := []byte("/users/42/posts/7")
		if p.String() == "/img/*.png" {
			path = []byte("/img/cat.png")
		}
		if !p.Match(path) {
			t.Fatalf("%s does not match %s", p, path)
		}
		if n := testing.AllocsPerRun(100, func() { p.Match(path) }); n != 0 {
			t.Errorf("%s: %v allocations per match", p, n)
		}
	}
}

// TestPathHostile: regex shapes that backtracking engines take exponential time on, over
// long paths, are answered (RE2 is linear; a backtracking engine would not finish before
// the test binary's timeout).
func TestPathHostile(t *testing.T) {
	long := []byte("/" + strings.Repeat("a", 100_000) + "!")
	segLong := []byte("/x/" + strings.Repeat("a", 100_000) + "!")
	paths := []struct {
		p    *Path
		path []byte
	}{
		{mustRegex(t, "/(a+)+$"), long},
		{mustRegex(t, "/(a|a)*b"), long},
		{mustRegex(t, "/(a|aa)+b"), long},
		{mustRegex(t, "/(.*a){20}"), long},
		{mustPattern(t, "/x/{s:(a+)+b}"), segLong},
		{mustPattern(t, "/x/*a*a*a*a*a*a*a*a*b"), segLong},
	}
	for _, tt := range paths {
		if tt.p.Match(tt.path) {
			t.Errorf("%s matched", tt.p)
		}
	}
}

func FuzzPathPattern(f *testing.F) {
	for _, s := range []string{"/a/{b}/*", "/u/{id:[0-9]{2}}/x", "/img/*.png", "/a/{b", "/a/}", "/{x:\\}}"} {
		f.Add(s, "/a/b/c")
	}
	f.Fuzz(func(t *testing.T, text, path string) {
		p, err := CompilePathPattern(text)
		if err != nil {
			if _, ok := err.(*PathError); !ok {
				t.Fatalf("%T: %v", err, err)
			}
			return
		}
		p.Match([]byte(path))
		p.CanMatchUnder("/api/mocks/")
		if p.Exact() && !p.Match([]byte(text)) {
			t.Fatalf("exact %q does not match itself", text)
		}
	})
}

func TestPathParams(t *testing.T) {
	is := is.New(t)
	got := func(p *Path, path string) map[string]string {
		out := map[string]string{}
		for _, pp := range p.Params([]byte(path), nil) {
			out[pp.Name] = string(pp.Value)
		}
		return out
	}
	is.Equal(got(mustPattern(t, "/users/{id}/posts/{post:[0-9]+}/*"), "/users/ada/posts/7/x/y"), map[string]string{"id": "ada", "post": "7"})
	is.Equal(got(mustPattern(t, "/files/*/raw"), "/files/a/raw"), map[string]string{}) // * has no name
	is.Equal(got(mustRegex(t, "/v(?P<version>[0-9]+)/(?P<kind>users|orders)/.*"), "/v2/orders/9"), map[string]string{"version": "2", "kind": "orders"})
	is.Equal(got(mustRegex(t, "/x"), "/y"), map[string]string{})
}
