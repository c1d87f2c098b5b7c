package state

import (
	"bytes"
	"context"
	"time"
)

// Secret values in history (issue #18): a scenario run registers the values of its secret
// variables before it sends a request that may hold them (the server's runner itself, the
// command line through POST /api/history/secrets), and from then on every request recorded
// shows each of them as *** in its history entry, its live event and the journal that
// expect.calls counts. They are kept in memory only, never written to a file, the newest
// maxHistorySecrets of them.

// Bounds of the registered secret values.
const (
	maxHistorySecrets   = 256
	maxHistorySecretLen = 4096
)

// historySecrets is the Model's list of values to mask. Owned by the actor goroutine.
type historySecrets struct {
	values [][]byte // oldest first
}

// add registers values (empty ones and those already known are ignored).
func (h *historySecrets) add(values []string) {
	for _, v := range values {
		if v == "" || h.has(v) {
			continue
		}
		if len(h.values) >= maxHistorySecrets {
			h.values = append(h.values[:0:0], h.values[1:]...)
		}
		h.values = append(h.values, []byte(v))
	}
}

func (h *historySecrets) has(v string) bool {
	for _, x := range h.values {
		if string(x) == v {
			return true
		}
	}
	return false
}

// mask returns b with every registered value replaced by SecretMask: b itself (not copied)
// when it holds none, which is the case for every request when nothing is registered.
func (h *historySecrets) mask(b []byte) []byte {
	masked := false
	for _, v := range h.values {
		if bytes.Contains(b, v) {
			if !masked {
				b, masked = bytes.Clone(b), true
			}
			b = bytes.ReplaceAll(b, v, []byte(SecretMask))
		}
	}
	return b
}

// AddHistorySecrets registers values that history shows as *** from now on. Values longer
// than 4096 bytes are refused (invalid_request); at most the newest 256 are kept.
func (m *Model) AddHistorySecrets(values []string) *Error {
	for _, v := range values {
		if len(v) > maxHistorySecretLen {
			return newErr(KindInvalid, CodeInvalidRequest, "secret values must be at most 4096 bytes")
		}
	}
	m.historySecrets.add(values)
	return nil
}

// AddHistorySecrets registers values that history shows as *** from now on (see
// Model.AddHistorySecrets) and returns every value registered, for the logs to mask too.
// Nothing is written to a file.
func (a *Actor) AddHistorySecrets(ctx context.Context, values []string) ([]string, error) {
	return callIn(ctx, a, fileMain, func(m *Model, _ time.Time) ([]string, *Error, bool) {
		if e := m.AddHistorySecrets(values); e != nil {
			return nil, e, false
		}
		all := make([]string, len(m.historySecrets.values))
		for i, v := range m.historySecrets.values {
			all[i] = string(v)
		}
		return all, nil, false
	})
}
