package state

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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
		// With PersistMockState the change is on disk before it is acknowledged.
		return ms, e, e == nil && m.cfg.PersistMockState
	})
}

// mockStatesChanged reports whether, with PersistMockState, the sequence positions and
// machine states differ from the last ones handed to the writer.
func (a *Actor) mockStatesChanged() bool {
	return a.cfg.PersistMockState && a.files&fileMain != 0 && !bytes.Equal(a.model.mockStatesJSON(), a.mockStates)
}

// loadMockStates reads the sequence positions and machine states of mock-states.json in
// store dir for the mocks about to load (PersistMockState; Model.restoreMockStates). A
// missing file is a fresh start; an unreadable one is logged and ignored (positions and
// states start afresh; the file is rewritten at the next change).
func (a *Actor) loadMockStates(dir string) {
	path := filepath.Join(dir, mockStatesFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err == nil {
		err = a.model.restoreMockStates(data)
	}
	if err != nil {
		a.log.Warn("mock states not restored; starting afresh", "file", path, "error", err.Error())
		return
	}
	a.log.Info("mock states read", "file", path)
}
