package features

import (
	"context"
	"encoding/json"

	"ownhttp/conn"
	"ownhttp/state"
)

// The state machines of stateful mocks (issue #15): GET /api/mock-states lists them,
// GET/PUT/DELETE /api/mock-states/{name} reads, sets and resets one.

type mockStatesBody struct {
	MockStates []state.MachineState `json:"mock_states"`
}

type mockStateBody struct {
	MockState state.MachineState `json:"mock_state"`
}

// mockStateList is GET /api/mock-states: 200 {"mock_states":[{"name","state","mocks"}]}.
func (a *App) mockStateList(x *conn.Exchange, _ *params) {
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		list, err := st.MachineStates(ctx)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, mockStatesBody{MockStates: list})
	})
}

// mockStateGet is GET /api/mock-states/{name}: 200 {"mock_state":{…}}, 404 when no mock
// uses the machine.
func (a *App) mockStateGet(x *conn.Exchange, p *params) {
	name := string(p[0])
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		ms, err := st.MachineState(ctx, name)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, mockStateBody{MockState: ms})
	})
}

// mockStatePut is PUT /api/mock-states/{name} with {"state":"full"}: sets the machine,
// 200 {"mock_state":{…}}; 400 invalid_mock_state naming the field, 404 for an unknown
// machine.
func (a *App) mockStatePut(x *conn.Exchange, p *params) {
	name := string(p[0])
	obj, e := state.DecodeJSONObject(x.Body)
	if e == nil {
		if msg := state.UnknownField(obj, "state"); msg != "" {
			e = &state.Error{Kind: state.KindInvalid, Code: state.CodeInvalidMockState, Message: msg}
		}
	}
	var want string
	if e == nil && (obj["state"] == nil || json.Unmarshal(obj["state"], &want) != nil) {
		e = &state.Error{Kind: state.KindInvalid, Code: state.CodeInvalidMockState, Message: "state must be a string"}
	}
	if e != nil {
		writeErr(x, e)
		return
	}
	a.setMockState(x, name, want)
}

// mockStateDelete is DELETE /api/mock-states/{name}: the machine goes back to started;
// 200 {"mock_state":{…}}.
func (a *App) mockStateDelete(x *conn.Exchange, p *params) {
	a.setMockState(x, string(p[0]), state.StateStarted)
}

func (a *App) setMockState(x *conn.Exchange, name, want string) {
	trace := x.TraceHex()
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		ms, err := st.SetMachineState(ctx, name, want)
		if err != nil {
			answerErr(r, err)
			return
		}
		st.Publish(state.EventMockStateChanged, trace, ms)
		answerJSON(r, 200, mockStateBody{MockState: ms})
	})
}
