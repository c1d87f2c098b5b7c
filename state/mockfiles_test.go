package state

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

func fileMocks(t *testing.T, source, data string) FileMocks {
	t.Helper()
	ms, e := DecodeMockFile([]byte(data))
	if e != nil {
		t.Fatalf("decode %s: %v", data, e)
	}
	return FileMocks{Source: source, Mocks: ms}
}

func TestDecodeMockFile(t *testing.T) {
	is := is.New(t)
	ms, e := DecodeMockFile([]byte(`{"method":"GET","path_pattern":"/a","body_file":"b.txt","source":"x"}`))
	is.True(e == nil)
	is.Equal(len(ms), 1)
	is.Equal(ms[0].BodyFile, "b.txt")
	ms, e = DecodeMockFile([]byte(`{"mocks":[{"method":"GET","path_pattern":"/a"},{"method":"GET","path_pattern":"/b"}]}`))
	is.True(e == nil)
	is.Equal(len(ms), 2)

	for _, bad := range []struct{ in, want string }{
		{`[1]`, ""},
		{`{"mocks":{}}`, "mocks must be an array"},
		{`{"mocks":[],"x":1}`, `unknown field "x"`},
		{`{"mocks":[{"method":"GET","path_pattern":"/a"},{"staus":1}]}`, `mocks[1]: unknown field "staus"`},
		{`{"mocks":[1]}`, "mocks[0]"},
		{`{"body":"x","body_file":"y"}`, "exclusive"},
		{`{"body_file":""}`, "body_file"},
		{`{"status":true}`, "status"},
	} {
		_, e := DecodeMockFile([]byte(bad.in))
		is.True(e != nil) // hostile input refused
		is.True(strings.Contains(e.Message, bad.want))
	}
}

func TestFileMockID(t *testing.T) {
	is := is.New(t)
	is.Equal(FileMockID("users.json", 0), "file-users-1")
	is.Equal(FileMockID("api/v1/Users Big.json", 2), "file-api-v1-users-big-3")
	long := FileMockID(strings.Repeat("x", 200)+".json", 11)
	is.Equal(len(long), maxIDLen)
	is.True(strings.HasSuffix(long, "-12"))
	is.True(validID(long))
}

// A file's mocks are replaced as a whole; a failing file keeps its last good mocks; file
// mocks are read-only; removal takes them out; they do not count against MaxMocks.
func TestReplaceFileMocks(t *testing.T) {
	is := is.New(t)
	cfg := testConfig()
	cfg.MaxMocks = 1
	m := NewModel(cfg)
	api := mustCreate(t, m, `{"method":"GET","path_pattern":"/api"}`)

	errs, changed := m.ReplaceFileMocks([]FileMocks{
		fileMocks(t, "file:a.json", `{"mocks":[{"method":"GET","path_pattern":"/a"},{"id":"named","method":"GET","path_pattern":"/b"}]}`),
		fileMocks(t, "file:b.json", `{"method":"GET","path_pattern":"/api"}`), // conflicts with the API mock
	}, t0)
	is.True(changed)
	is.True(errs[0] == nil)
	is.True(errs[1] != nil)
	is.Equal(errs[1].Code, CodeDuplicateMock)
	is.True(strings.Contains(errs[1].Message, "mocks[0]"))
	is.Equal(len(m.Mocks()), 3)
	x, ok := m.Mock("file-a-1")
	is.True(ok)
	is.Equal(x.Source, "file:a.json")
	snap := m.Mocks()

	// A failing replacement (second mock invalid) keeps the file's mocks as they were.
	errs, changed = m.ReplaceFileMocks([]FileMocks{
		fileMocks(t, "file:a.json", `{"mocks":[{"method":"GET","path_pattern":"/new"},{"method":"GET","path_pattern":"/x","status":99}]}`),
	}, t0)
	is.True(!changed)
	is.True(strings.Contains(errs[0].Message, "mocks[1]"))
	is.Equal(m.Mocks(), snap)
	_, ok = m.Mock("file-a-1")
	is.True(ok)

	// Read-only through the API paths.
	_, e := m.UpdateMock("named", MockInput{}, t0)
	is.Equal(e.Code, CodeReadOnlyMock)
	is.Equal(m.DeleteMock("named").Code, CodeReadOnlyMock)
	is.True(ReadOnlyError(api) == nil)

	// MaxMocks (1) counts API mocks only: the API mock fills it though 3 mocks exist.
	_, e = m.CreateMock(MockInput{Method: ptr("GET"), PathPattern: ptr("/more")}, t0)
	is.Equal(e.Code, CodeMockLimit)
	is.True(m.DeleteMock(api.ID) == nil)
	_, e = m.CreateMock(MockInput{Method: ptr("GET"), PathPattern: ptr("/more")}, t0)
	is.True(e == nil)

	// Removal.
	_, changed = m.ReplaceFileMocks([]FileMocks{{Source: "file:a.json", Removed: true}}, t0)
	is.True(changed)
	is.Equal(len(m.Mocks()), 1)
	_, ok = m.Mock("named")
	is.True(!ok)
}
