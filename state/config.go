package state

import (
	"crypto/rand"
	"io"
	"time"
)

// Defaults, from the spec's config table (§0.2) unless noted.
const (
	DefaultStateFile            = "data/server_state.json"
	DefaultHistoryLimit         = 500
	DefaultEventBufferSize      = 5000
	MinEventBufferSize          = 100
	DefaultMaxMocks             = 200
	DefaultMaxMockBodyBytes     = 262144
	DefaultMaxHistoryBodyBytes  = 65536 // ours: bounds history memory (500 × 64 KiB)
	DefaultRefreshMs            = 100
	DefaultHistoryFlushInterval = time.Second
	DefaultScenarioFile         = "data/scenarios_state.json"
	DefaultTargetFile           = "data/targets_state.json"
	DefaultMaxScenarios         = 100
	DefaultMaxSteps             = 50
	DefaultMaxAssertions        = 20
	DefaultMaxStepDelay         = 30 * time.Second // ours: the spec has no bound
	DefaultMaxRunsPerScenario   = 50               // ours: the spec keeps runs forever
	DefaultMaxTargets           = 50
)

// Config configures a Model and an Actor. The zero value is usable: every
// zero numeric field takes its default, and an empty StateFile, ScenarioFile
// or TargetFile means "keep that state in memory only" (DefaultConfig sets
// the spec's default files).
type Config struct {
	// StateFile names the store of mocks and history: the directory
	// StoreDir(StateFile) (mocks/<id>.json, history.jsonl); a file at
	// StateFile itself is a single-file state of an older build, migrated
	// once. Empty keeps mocks and history in memory only (useful for tests and
	// benchmarks of other packages).
	StateFile string
	// HistoryLimit is the capacity of the history ring (default 500).
	HistoryLimit int
	// EventBufferSize is the capacity of the event ring; values below 100 are
	// raised to 100 (default 5000).
	EventBufferSize int
	// MaxMocks is the maximum number of mocks (default 200).
	MaxMocks int
	// MaxMockBodyBytes caps a mock's body (default 262144).
	MaxMockBodyBytes int
	// MockTemplates makes every mock templated unless it says "template": false.
	MockTemplates bool
	// MockSeed seeds the random values of templates (a mock's own seed replaces it).
	MockSeed int64
	// PersistMockState keeps sequence positions and state machines across restarts: the
	// main store holds them in mock-states.json, written when they changed, at most once
	// per HistoryFlushInterval (and before a state-machine change through the API is
	// acknowledged). Without it every start is a fresh one.
	PersistMockState bool
	// MaxHistoryBodyBytes caps a request body kept in history for replay. A
	// request whose body is larger is still recorded, with an empty
	// replay_input (it cannot be replayed). Default 65536.
	MaxHistoryBodyBytes int
	// RefreshMs is reported as refresh_ms in event pages (default 100).
	RefreshMs int
	// HistoryFlushInterval is how often changed history is written to disk
	// (default 1s). Admin changes are written at once, whatever this says.
	HistoryFlushInterval time.Duration
	// ScenarioFile names the store of scenarios and their runs, the directory
	// StoreDir(ScenarioFile) (scenarios/<id>.json, runs/<run_id>.json); a file
	// at ScenarioFile ({"version":1,"scenarios":[…],"runs":[…]}) is migrated
	// once. Empty keeps them in memory only.
	ScenarioFile string
	// TargetFile names the store of proxy targets, the directory
	// StoreDir(TargetFile) (targets/<id>.json); a file at TargetFile
	// ({"version":1,"targets":[…]}) is migrated once. Empty keeps them in
	// memory only.
	TargetFile string
	// MaxScenarios is the maximum number of scenarios (default 100).
	MaxScenarios int
	// MaxSteps is the maximum number of steps in a scenario (default 50).
	MaxSteps int
	// MaxAssertions is the maximum number of assertions in a step (default 20).
	MaxAssertions int
	// MaxStepDelay bounds a step's delay_ms (default 30s). It is applied with
	// millisecond precision.
	MaxStepDelay time.Duration
	// MaxRunsPerScenario is how many runs are kept per scenario, newest
	// first; older ones are dropped (default 50).
	MaxRunsPerScenario int
	// MaxTargets is the maximum number of proxy targets (default 50).
	MaxTargets int
	// Engine names the HTTP engine, for event payloads ("reactor", "pool", …).
	Engine string
	// LiveEvents is reported in the system.health payload.
	LiveEvents bool
	// Now is the clock (default time.Now). Only the Actor calls it; the Model
	// is always handed the time.
	Now func() time.Time
	// Rand is the source of random ids (default crypto/rand.Reader). Only the
	// owning goroutine reads it.
	Rand io.Reader
}

// DefaultConfig returns the spec's defaults, including the default StateFile.
func DefaultConfig() Config {
	return Config{
		StateFile:            DefaultStateFile,
		ScenarioFile:         DefaultScenarioFile,
		TargetFile:           DefaultTargetFile,
		MaxScenarios:         DefaultMaxScenarios,
		MaxSteps:             DefaultMaxSteps,
		MaxAssertions:        DefaultMaxAssertions,
		MaxStepDelay:         DefaultMaxStepDelay,
		MaxRunsPerScenario:   DefaultMaxRunsPerScenario,
		MaxTargets:           DefaultMaxTargets,
		HistoryLimit:         DefaultHistoryLimit,
		EventBufferSize:      DefaultEventBufferSize,
		MaxMocks:             DefaultMaxMocks,
		MaxMockBodyBytes:     DefaultMaxMockBodyBytes,
		MaxHistoryBodyBytes:  DefaultMaxHistoryBodyBytes,
		RefreshMs:            DefaultRefreshMs,
		HistoryFlushInterval: DefaultHistoryFlushInterval,
		LiveEvents:           true,
		Now:                  time.Now,
		Rand:                 rand.Reader,
	}
}

// withDefaults fills zero (or negative) fields with their defaults.
func (c Config) withDefaults() Config {
	if c.HistoryLimit <= 0 {
		c.HistoryLimit = DefaultHistoryLimit
	}
	if c.EventBufferSize <= 0 {
		c.EventBufferSize = DefaultEventBufferSize
	}
	if c.EventBufferSize < MinEventBufferSize {
		c.EventBufferSize = MinEventBufferSize
	}
	if c.MaxMocks <= 0 {
		c.MaxMocks = DefaultMaxMocks
	}
	if c.MaxMockBodyBytes <= 0 {
		c.MaxMockBodyBytes = DefaultMaxMockBodyBytes
	}
	if c.MaxHistoryBodyBytes <= 0 {
		c.MaxHistoryBodyBytes = DefaultMaxHistoryBodyBytes
	}
	if c.RefreshMs <= 0 {
		c.RefreshMs = DefaultRefreshMs
	}
	if c.HistoryFlushInterval <= 0 {
		c.HistoryFlushInterval = DefaultHistoryFlushInterval
	}
	if c.MaxScenarios <= 0 {
		c.MaxScenarios = DefaultMaxScenarios
	}
	if c.MaxRunsPerScenario <= 0 {
		c.MaxRunsPerScenario = DefaultMaxRunsPerScenario
	}
	if c.MaxTargets <= 0 {
		c.MaxTargets = DefaultMaxTargets
	}
	lim := c.ScenarioLimits()
	c.MaxSteps, c.MaxAssertions, c.MaxStepDelay = lim.MaxSteps, lim.MaxAssertions, lim.MaxStepDelay
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// ScenarioLimits returns the limits DecodeScenario applies, with defaults
// for zero fields.
func (c Config) ScenarioLimits() ScenarioLimits {
	return ScenarioLimits{MaxSteps: c.MaxSteps, MaxAssertions: c.MaxAssertions, MaxStepDelay: c.MaxStepDelay}.withDefaults()
}

// FormatTime renders t as the spec's timestamp form, YYYY-MM-DDTHH:MM:SSZ (UTC,
// second precision).
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

const timeLayout = "2006-01-02T15:04:05Z"
