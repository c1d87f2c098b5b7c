package state

import (
	"fmt"
	"testing"

	"github.com/matryer/is"

	"ownhttp/mock"
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

// A run of mocks on one pattern that each ask a query parameter to equal a value is
// dispatched on the request's value: the same answers as trying them in order (the other
// criteria, repeated parameters, absent ones, priorities and the mocks after the run
// included), and no allocation.
func TestSnapshotDispatchesQueryRuns(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	m.cfg.MaxMocks = 100
	create := func(body string) {
		t.Helper()
		if _, e := m.CreateMock(decode(t, body), t0); e != nil {
			t.Fatalf("%s: %v", body, e)
		}
	}
	for i := range 10 {
		create(fmt.Sprintf(`{"id":"v%d","method":"GET","path_pattern":"/b/{id}","match":{"query":{"v":"%d"},"headers":{"X":"on"}}}`, i, i))
	}
	create(`{"id":"v3-any-x","method":"GET","path_pattern":"/b/{id}","match":{"query":{"v":"3"}}}`) // fewer criteria: after the run
	create(`{"id":"plain","method":"GET","path_pattern":"/b/{id}"}`)
	create(`{"id":"exact-v5","method":"GET","path_pattern":"/b/e","match":{"query":{"v":"5"},"headers":{"X":"on"}},"priority":9}`)
	snap := m.Snapshot()
	var heads int
	for _, e := range snap.byFirst[slotGET]["b"] {
		if e.run != nil {
			heads++
			is.Equal(e.run.n, 11) // v3-any-x asks v too: it joins the run, after v0..v9
			is.Equal(e.run.param, "v")
		}
	}
	is.Equal(heads, 1)

	on := []mock.Header{{Name: []byte("x"), Value: []byte("on")}}
	for _, tc := range []struct {
		path, query string
		headers     []mock.Header
		want        string
	}{
		{"/b/1", "v=7", on, "v7"},
		{"/b/1", "v=7", nil, "plain"},    // the header fails: past the run
		{"/b/1", "v=3", nil, "v3-any-x"}, // the run's v3 needs the header
		{"/b/1", "v=%33", on, "v3"},      // decoded
		{"/b/1", "v=42", on, "plain"},    // no mock for 42
		{"/b/1", "", on, "plain"},        // no v at all
		{"/b/1", "v=42&v=2", on, "v2"},   // twice: tried in order
		{"/b/e", "v=5", on, "v5"},        // priority 9 exact loses to priority 5 patterns
	} {
		r := &mock.Request{}
		r.Reset([]byte(tc.query), tc.headers, nil)
		got, ok := snap.MatchMock([]byte("GET"), []byte(tc.path), r)
		is.True(ok)
		if got.ID != tc.want {
			t.Errorf("%s?%s %v: %s, want %s", tc.path, tc.query, tc.headers, got.ID, tc.want)
		}
	}
	r := &mock.Request{}
	query, path, method := []byte("v=8"), []byte("/b/1"), []byte("GET")
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(query, on, nil)
		snap.MatchMock(method, path, r)
	})
	is.Equal(allocs, 0.0)
}
