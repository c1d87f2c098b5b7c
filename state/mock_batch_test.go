package state

import (
	"fmt"
	"testing"

	"github.com/matryer/is"
)

func decodeAll(t *testing.T, bodies ...string) []MockInput {
	t.Helper()
	out := make([]MockInput, len(bodies))
	for i, b := range bodies {
		out[i] = decode(t, b)
	}
	return out
}

func TestCreateMocksAllOrNothing(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	mustCreate(t, m, `{"id":"old","method":"GET","path_pattern":"/old"}`)
	ins := decodeAll(t,
		`{"method":"GET","path_pattern":"/a","body":"a"}`,
		`{"method":"GET","path_pattern":"/old"}`,                           // conflicts with a stored mock
		`{"method":"GET","path_pattern":"/a/{x}"}`,                         // fine
		`{"method":"GET","path_pattern":"/a/{y}"}`,                         // conflicts with item 2
		`{"id":"old","method":"POST","path_pattern":"/b"}`,                 // stored id
		`{"id":"n1","method":"POST","path_pattern":"/c"}`,                  // fine
		`{"id":"n1","method":"POST","path_pattern":"/d"}`,                  // id of item 5
		`{"method":"GET","path_pattern":"/"}`,                              // reserved
		`{"method":"GET","path_pattern":"/e","match":{"nope":1}}`,          // bad criteria
		`{"method":"GET","path_pattern":"/a","match":{"query":{"q":"1"}}}`, // other criteria: fine
	)
	rep := m.CreateMocks(ins, BatchOptions{}, t0)
	is.Equal(rep.Created, 0)
	is.Equal(rep.Failed, 6)
	is.Equal(len(m.mocks), 1) // nothing stored
	wantErr := map[int]string{1: msgDupPath, 3: msgDupPath + " (the route of item 2 of the batch)",
		4: msgDupID, 6: msgDupID + " (the id of item 5 of the batch)", 7: msgReserved}
	for i, it := range rep.Items {
		is.True(!it.Created)
		switch {
		case i == 8:
			is.Equal(it.Err.Code, CodeInvalidMock)
		case wantErr[i] != "":
			is.True(it.Err != nil)
			is.Equal(it.Err.Message, wantErr[i])
		default:
			is.True(it.Err == nil)    // a valid input of a failed batch…
			is.True(it.Mock.ID != "") // …reports the mock it would have been
			is.Equal(it.Mock.CreatedAt, FormatTime(t0))
		}
	}
	is.Equal(rep.Items[5].Mock.ID, "n1")
	is.Equal(string(rep.Items[0].Mock.BodyBytes), "a")
}

func TestCreateMocksPartialAndDryRun(t *testing.T) {
	is := is.New(t)
	ins := decodeAll(t,
		`{"method":"GET","path_pattern":"/a"}`,
		`{"method":"GET","path_pattern":"/a"}`,
		`{"method":"GET","path_pattern":"/b","state":{"name":"s","requires":"x"}}`,
	)

	m := newTestModel()
	rep := m.CreateMocks(ins, BatchOptions{DryRun: true, Partial: true}, t0)
	is.Equal(rep.Created, 0)
	is.Equal(rep.Failed, 1)
	is.Equal(len(m.mocks), 0)
	is.Equal(len(m.machines.byName), 0) // a dry run makes no state machine
	is.True(rep.Items[0].Err == nil && !rep.Items[0].Created && rep.Items[0].Mock.ID != "")
	is.True(rep.Items[2].Mock.State != nil && rep.Items[2].Mock.machine == nil)

	rep = m.CreateMocks(ins, BatchOptions{Partial: true}, t0)
	is.Equal(rep.Created, 2)
	is.Equal(rep.Failed, 1)
	is.Equal(rep.Items[1].Err.Message, msgDupPath+" (the route of item 0 of the batch)")
	is.True(rep.Items[0].Created && rep.Items[2].Created)
	is.Equal(len(m.mocks), 2)
	is.Equal(m.mocks[0].ID, rep.Items[0].Mock.ID)
	is.Equal(m.mocks[1].ID, rep.Items[2].Mock.ID)
	is.True(m.byID[rep.Items[2].Mock.ID].machine != nil) // bound to its machine
	_, ok := m.machines.byName["s"]
	is.True(ok)
	// Stored and matched like any API mock.
	got, ok := m.Snapshot().MatchMock([]byte("GET"), []byte("/a"), nil)
	is.True(ok)
	is.Equal(got.ID, rep.Items[0].Mock.ID)

	// The same batch again: every input conflicts with what is stored now.
	rep = m.CreateMocks(ins, BatchOptions{Partial: true}, t0)
	is.Equal(rep.Created, 0)
	is.Equal(rep.Failed, 3)
}

func TestCreateMocksLimitAndIDs(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{MaxMocks: 3, Rand: &countingReader{}})
	mustCreate(t, m, mockJSON("GET", "/0"))
	var ins []MockInput
	for i := 1; i <= 4; i++ {
		ins = append(ins, decode(t, mockJSON("GET", fmt.Sprintf("/%d", i))))
	}
	rep := m.CreateMocks(ins, BatchOptions{}, t0)
	is.Equal(rep.Failed, 2)
	is.Equal(*rep.Items[2].Err, Error{Kind: KindTooLarge, Code: CodeMockLimit, Message: msgLimit})
	is.Equal(*rep.Items[3].Err, Error{Kind: KindTooLarge, Code: CodeMockLimit, Message: msgLimit})
	is.Equal(len(m.mocks), 1)

	rep = m.CreateMocks(ins, BatchOptions{Partial: true}, t0)
	is.Equal(rep.Created, 2)
	is.Equal(len(m.mocks), 3)
	// Ids drawn for a batch are distinct from each other and from the stored ones.
	seen := map[string]bool{}
	for _, x := range m.mocks {
		is.True(!seen[x.ID])
		seen[x.ID] = true
	}

	// An empty batch changes nothing.
	rep = m.CreateMocks(nil, BatchOptions{}, t0)
	is.Equal(rep, BatchReport{Items: []BatchItem{}})
}

func TestActorCreateMocksOneWrite(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)

	ins := decodeAll(t, mockJSON("GET", "/a"), mockJSON("GET", "/b"), mockJSON("POST", "/a"))
	rep, err := a.CreateMocks(ctx, ins, BatchOptions{DryRun: true})
	is.NoErr(err)
	is.Equal(rep.Created, 0)
	is.Equal(a.Stats().PersistWrites, uint64(0)) // a dry run writes nothing

	bad := append(decodeAll(t, mockJSON("GET", "/a")), ins...)
	rep, err = a.CreateMocks(ctx, bad, BatchOptions{})
	is.NoErr(err)
	is.Equal(rep.Failed, 1)
	is.Equal(rep.Created, 0)
	is.Equal(a.Stats().PersistWrites, uint64(0)) // a refused batch writes nothing
	_, ok := a.Snapshot().MatchMock([]byte("GET"), []byte("/a"), nil)
	is.True(!ok)

	rep, err = a.CreateMocks(ctx, ins, BatchOptions{})
	is.NoErr(err)
	is.Equal(rep.Created, 3)
	is.Equal(a.Stats().PersistWrites, uint64(1)) // one write for the batch
	is.Equal(len(readState(t, cfg.StateFile).Mocks), 3)
	for _, p := range []string{"/a", "/b"} {
		_, ok := a.Snapshot().MatchMock([]byte("GET"), []byte(p), nil)
		is.True(ok) // visible as soon as the call returns
	}
}
