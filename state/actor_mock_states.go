package state

import (
	"context"
	"time"
)

// EventMockStateChanged is published when the API sets or resets a state machine, with
// the machine as its payload. (A hit that moves a machine publishes nothing: hits do not
// go through the actor.)
const EventMockStateChanged = "mock_state.changed"

// MachineStates returns every state machine, by name.
func (a *Actor) MachineStates(ctx context.Context) ([]MachineState, error) {
	return call(ctx, a, func(m *Model, _ time.Time) ([]MachineState, *Error, bool) {
		return m.MachineStates(), nil, false
	})
}

// MachineState returns one state machine (not_found when no mock uses it).
func (a *Actor) MachineState(ctx context.Context, name string) (MachineState, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (MachineState, *Error, bool) {
		ms, e := m.MachineStateOf(name)
		return ms, e, false
	})
}

// SetMachineState sets one machine's state (StateStarted resets it); see
// Model.SetMachineState for errors.
func (a *Actor) SetMachineState(ctx context.Context, name, state string) (MachineState, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (MachineState, *Error, bool) {
		ms, e := m.SetMachineState(name, state)
		return ms, e, false
	})
}
