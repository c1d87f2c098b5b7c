package state

import (
	"fmt"
	"testing"

	"github.com/matryer/is"
)

func TestMatchPrecedence(t *testing.T) {
	tests := []struct {
		name   string
		mocks  []string // "METHOD pattern", created in this order; ids are m0, m1, …
		method string
		path   string
		want   string // id, or "" for no match
	}{
		{"exact beats param", []string{"GET /u/{id}", "GET /u/me"}, "GET", "/u/me", "m1"},
		{"exact beats wildcard", []string{"GET /u/*", "GET /u/me"}, "GET", "/u/me", "m1"},
		{"param beats wildcard", []string{"GET /u/*", "GET /u/{id}"}, "GET", "/u/7", "m1"},
		{"more literals beat params", []string{"GET /t/{a}/{b}/c", "GET /t/u/{b}/c"}, "GET", "/t/u/x/c", "m1"},
		{"more literals beat non-wildcard", []string{"GET /t/{a}/x/{c}", "GET /t/a/x/*"}, "GET", "/t/a/x/y", "m1"},
		{"longer prefix wildcard first", []string{"GET /a/*", "GET /a/b/*"}, "GET", "/a/b/c", "m1"},
		{"param prefix before shorter wildcard", []string{"GET /a/*", "GET /a/{x}/*"}, "GET", "/a/b/c", "m1"},
		{"tie by creation order", []string{"GET /t/{a}/b", "GET /t/a/{b}"}, "GET", "/t/a/b", "m0"},
		{"tie by creation order reversed", []string{"GET /t/a/{b}", "GET /t/{a}/b"}, "GET", "/t/a/b", "m0"},
		{"wildcard falls back", []string{"GET /u/{id}", "GET /u/*"}, "GET", "/u/7/x", "m1"},
		{"wildcard bare prefix", []string{"GET /u/*"}, "GET", "/u", "m0"},
		{"HEAD matches GET", []string{"GET /h"}, "HEAD", "/h", "m0"},
		{"HEAD matches GET pattern", []string{"GET /h/{x}"}, "HEAD", "/h/1", "m0"},
		{"query ignored", []string{"GET /q"}, "GET", "/q?x=1&y", "m0"},
		{"query ignored for patterns", []string{"GET /q/{x}"}, "GET", "/q/1?x=/y", "m0"},
		{"method must match", []string{"GET /m"}, "POST", "/m", ""},
		{"methods are case-sensitive on the wire", []string{"GET /m"}, "get", "/m", ""},
		{"unknown method", []string{"GET /m"}, "OPTIONS", "/m", ""},
		{"no percent-decoding", []string{"GET /a%20b"}, "GET", "/a b", ""},
		{"raw percent path", []string{"GET /a%20b"}, "GET", "/a%20b", "m0"},
		{"trailing slash differs", []string{"GET /t"}, "GET", "/t/", ""},
		{"each method its own", []string{"GET /x", "POST /x", "PUT /x", "DELETE /x", "PATCH /x"}, "PATCH", "/x", "m4"},
		{"no mocks", nil, "GET", "/", ""},
		{"empty path", []string{"GET /e/*"}, "GET", "", ""},
		{"absolute-form target never matches", []string{"GET /e/*"}, "GET", "http://h/e/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m := newTestModel()
			for i, spec := range tt.mocks {
				var method, pattern string
				_, err := fmt.Sscanf(spec, "%s %s", &method, &pattern)
				is.NoErr(err)
				mustCreate(t, m, fmt.Sprintf(`{"id":"m%d","method":%q,"path_pattern":%q}`, i, method, pattern))
			}
			got, ok := m.Snapshot().MatchMock([]byte(tt.method), []byte(tt.path), nil)
			if tt.want == "" {
				is.True(!ok)
				is.True(got == nil)
				return
			}
			is.True(ok)
			is.Equal(got.ID, tt.want)
		})
	}
}

func TestSnapshotIsImmutable(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	mustCreate(t, m, `{"id":"a","method":"GET","path_pattern":"/a"}`)
	old := m.Snapshot()
	mustCreate(t, m, `{"id":"b","method":"GET","path_pattern":"/b"}`)
	is.True(m.DeleteMock("a") == nil)
	is.Equal(old.Len(), 1)
	x, ok := old.MatchMock([]byte("GET"), []byte("/a"), nil)
	is.True(ok)
	is.Equal(x.ID, "a")
	_, ok = old.MockByID("b")
	is.True(!ok)

	var nilSnap *Snapshot
	_, ok = nilSnap.MatchMock([]byte("GET"), []byte("/a"), nil)
	is.True(!ok)
	is.Equal(nilSnap.Len(), 0)
}

// model200 returns a model holding 200 mocks: exact paths, parameters and
// wildcards, spread over every method.
func model200(tb testing.TB) *Model {
	m := NewModel(Config{Rand: &countingReader{}})
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	for i := range 200 {
		var pattern string
		switch i % 4 {
		case 0, 1:
			pattern = fmt.Sprintf("/svc%d/items/%d", i%7, i)
		case 2:
			pattern = fmt.Sprintf("/svc%d/items/{id}/sub%d", i%7, i)
		case 3:
			pattern = fmt.Sprintf("/svc%d/wild%d/*", i%7, i)
		}
		in, e := DecodeMockInput(fmt.Appendf(nil, `{"method":%q,"path_pattern":%q,"body":"x"}`, methods[i%len(methods)], pattern))
		if e == nil {
			_, e = m.CreateMock(in, t0)
		}
		if e != nil {
			tb.Fatalf("mock %d: %v", i, e)
		}
	}
	return m
}

func TestMatchMockAllocatesNothing(t *testing.T) {
	is := is.New(t)
	s := model200(t).Snapshot()
	is.Equal(s.Len(), 200)
	cases := []struct{ method, path string }{
		{"GET", "/svc0/items/0"},               // exact
		{"HEAD", "/svc0/items/0"},              // exact via HEAD
		{"PUT", "/svc2/items/42/sub2?x=1"},     // param, query ignored
		{"GET", "/svc3/wild3/a/b/c"},           // wildcard
		{"GET", "/nothing/matches/this/path"},  // full scan, miss
		{"BREW", "/svc0/items/0"},              // unknown method
		{"PATCH", "/svc4/items/999/sub4/deep"}, // miss after scanning params
	}
	for _, c := range cases {
		method, path := []byte(c.method), []byte(c.path)
		allocs := testing.AllocsPerRun(100, func() {
			s.MatchMock(method, path, nil)
		})
		is.Equal(allocs, 0.0)
	}
}

func BenchmarkMatchMock200(b *testing.B) {
	s := model200(b).Snapshot()
	paths := [][]byte{
		[]byte("/svc0/items/0"),
		[]byte("/svc2/items/42/sub2"),
		[]byte("/svc3/wild3/a/b/c"),
		[]byte("/nothing/matches"),
	}
	methods := [][]byte{[]byte("GET"), []byte("PUT"), []byte("GET"), []byte("GET")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.MatchMock(methods[i%4], paths[i%4], nil)
	}
}
