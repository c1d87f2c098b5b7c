package state

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ownhttp/mock"
)

// Error codes of targets (spec §7.1, §7.2).
const (
	CodeInvalidTarget   = "invalid_target"
	CodeDuplicateTarget = "duplicate_target"
	CodeTargetLimit     = "target_limit"
	CodeTargetNotFound  = "target_not_found"
)

// Target timeouts, in milliseconds.
const (
	DefaultTargetTimeoutMS = 5000
	MaxTargetTimeoutMS     = 60000
)

// Limits on target fields that are ours (the spec has none).
const (
	maxTargetNameLen    = 256
	maxTargetBaseURLLen = 2048
)

const (
	msgTargetNF      = "target not found"
	msgTargetDup     = "target already exists"
	msgTargetLimit   = "max targets reached"
	msgTargetName    = "name is required"
	msgTargetScheme  = "base_url must start with http:// or https://"
	msgTargetURL     = "base_url must be a valid absolute URL"
	msgTargetTimeout = "timeout_ms must be an integer between 1 and 60000"
	msgTargetID      = "id must be " + idRule
)

// Target is a named upstream for the proxy and for scenario steps (spec
// §7.1, fixed). Its JSON form has the fields id, name, base_url, enabled, timeout_ms,
// created_at and updated_at, then latency and faults when it has a wire plan.
//
// Rules: id is 1 to 64 letters, digits, '.', '_' or '-', not . or .. (default 8 random
// hex characters) and not "local" in any case (which names this server in scenario
// steps); name is required, stored trimmed, unique case-insensitively;
// base_url is stored trimmed and is an absolute http or https URL with a
// host, no IPv6 zone, no user info, no query and no fragment (the proxy appends request
// paths to it); enabled defaults to true; timeout_ms is 1..60000 (default
// 5000).
//
// A *Target reachable from a TargetSnapshot is immutable and shared: never
// modify it.
type Target struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	BaseURL   string `json:"base_url"`
	Enabled   bool   `json:"enabled"`
	TimeoutMS int    `json:"timeout_ms"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	// Latency and Faults are Plan's canonical JSON (absent without one): how what the proxy
	// answers from this target behaves on the wire (issue #16).
	Latency json.RawMessage `json:"latency,omitempty"`
	Faults  json.RawMessage `json:"faults,omitempty"`
	// Plan is decided per proxied request by Decide; nil without one.
	Plan *mock.Plan `json:"-"`

	hits *mockHits // proxied requests, shared by every version of the target
}

// Hit counts a request proxied to t at now and returns its number and the milliseconds
// since the first (see Mock.Hit). Safe for concurrent use.
func (t *Target) Hit(now time.Time) (hit uint64, sinceFirstMS int64) {
	return t.hits.hit(now)
}

// Decide is what t's wire plan decided for hit under seed (see Mock.Decide).
func (t *Target) Decide(seed int64, hit uint64, sinceFirstMS int64) mock.Decision {
	return t.Plan.Decide(uint64(seed), t.ID, hit, sinceFirstMS)
}

// Timeout returns TimeoutMS as a duration.
func (t *Target) Timeout() time.Duration { return time.Duration(t.TimeoutMS) * time.Millisecond }

func invalidTarget(msg string) *Error { return newErr(KindInvalid, CodeInvalidTarget, msg) }

func checkTargetID(id string) *Error {
	if !validID(id) {
		return invalidTarget(msgTargetID)
	}
	if strings.EqualFold(id, LocalTarget) { // a step's target_id "LOCAL" means this server
		return invalidTarget("id local is reserved")
	}
	return nil
}

func checkTargetName(s string) (string, *Error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalidTarget(msgTargetName)
	}
	if len(s) > maxTargetNameLen || !validFieldValue(s) {
		return "", invalidTarget("name must be at most 256 bytes, without control characters")
	}
	return s, nil
}

// checkBaseURL trims s and checks that it is an absolute http or https URL
// with a host, and without an IPv6 zone, user info, query or fragment.
func checkBaseURL(s string) (string, *Error) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return "", invalidTarget(msgTargetScheme)
	}
	if len(s) > maxTargetBaseURLLen {
		return "", invalidTarget("base_url must be at most 2048 bytes")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return "", invalidTarget(msgTargetURL)
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return "", invalidTarget(msgTargetURL)
	}
	if u.User != nil {
		return "", invalidTarget("base_url must not contain user info")
	}
	if u.Hostname() == "" {
		return "", invalidTarget("base_url must include a host")
	}
	if strings.Contains(u.Hostname(), "%") {
		// A zone (fe80::1%eth0) names an interface of this machine; the upstream client
		// cannot send to it, and it means nothing to any other host.
		return "", invalidTarget("base_url must not contain an IPv6 zone")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", invalidTarget("base_url must not contain a query")
	}
	if strings.Contains(s, "#") {
		return "", invalidTarget("base_url must not contain a fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", invalidTarget("base_url has an invalid port")
		}
	}
	return s, nil
}

// targetFields is a complete target before validation.
type targetFields struct {
	id, name, baseURL string
	enabled           bool
	timeoutMS         int
	plan              *mock.Plan
}

func (f *targetFields) apply(in TargetInput) {
	if in.Name != nil {
		f.name = *in.Name
	}
	if in.BaseURL != nil {
		f.baseURL = *in.BaseURL
	}
	if in.Enabled != nil {
		f.enabled = *in.Enabled
	}
	if in.TimeoutMS != nil {
		f.timeoutMS = *in.TimeoutMS
	}
	if in.HasPlan {
		f.plan = in.Plan
	}
}

// newTarget builds the target f describes; hits are its counters (nil: new ones).
func (f *targetFields) newTarget(createdAt, updatedAt string, hits *mockHits) *Target {
	if hits == nil {
		hits = &mockHits{}
	}
	return &Target{ID: f.id, Name: f.name, BaseURL: f.baseURL, Enabled: f.enabled, TimeoutMS: f.timeoutMS,
		CreatedAt: createdAt, UpdatedAt: updatedAt, Plan: f.plan,
		Latency: f.plan.LatencyJSON(), Faults: f.plan.FaultsJSON(), hits: hits}
}

// validate checks every field (the id only when set) and normalizes name and
// base_url.
func (f *targetFields) validate() *Error {
	if f.id != "" {
		if e := checkTargetID(f.id); e != nil {
			return e
		}
	}
	var e *Error
	if f.name, e = checkTargetName(f.name); e != nil {
		return e
	}
	if f.baseURL, e = checkBaseURL(f.baseURL); e != nil {
		return e
	}
	if f.timeoutMS < 1 || f.timeoutMS > MaxTargetTimeoutMS {
		return invalidTarget(msgTargetTimeout)
	}
	return nil
}

// TargetSnapshot is an immutable view of the targets, published by the actor
// after every change (Actor.TargetSnapshot). Any number of goroutines may use
// it concurrently for as long as they like; it and its Targets are never
// modified after publication. Methods work on a nil *TargetSnapshot.
type TargetSnapshot struct {
	targets []*Target // insertion order
	byID    map[string]*Target
}

func newTargetSnapshot(targets []*Target) *TargetSnapshot {
	s := &TargetSnapshot{targets: targets, byID: make(map[string]*Target, len(targets))}
	for _, t := range targets {
		s.byID[t.ID] = t
	}
	return s
}

// Target returns the target with the given id.
func (s *TargetSnapshot) Target(id string) (*Target, bool) {
	if s == nil {
		return nil, false
	}
	t, ok := s.byID[id]
	return t, ok
}

// Targets returns the targets in insertion order (shared: do not modify).
func (s *TargetSnapshot) Targets() []*Target {
	if s == nil {
		return nil
	}
	return s.targets
}

// Len returns the number of targets.
func (s *TargetSnapshot) Len() int {
	if s == nil {
		return 0
	}
	return len(s.targets)
}

// ---- Model ----

// Targets returns the targets in insertion order (shared, never modified).
func (m *Model) Targets() []*Target { return m.targets }

// Target returns the target with the given id.
func (m *Model) Target(id string) (*Target, bool) {
	t, ok := m.targetByID[id]
	return t, ok
}

// TargetSnapshot builds an immutable snapshot of the targets.
func (m *Model) TargetSnapshot() *TargetSnapshot { return newTargetSnapshot(m.targets) }

// CreateTarget validates in and adds the target. Errors: invalid_target
// (KindInvalid), duplicate_target (KindConflict) for a used id or name
// (names compared trimmed and case-insensitively), target_limit
// (KindTooLarge) at MaxTargets, KindInternal if the random source fails.
func (m *Model) CreateTarget(in TargetInput, now time.Time) (*Target, *Error) {
	f := targetFields{enabled: true, timeoutMS: DefaultTargetTimeoutMS}
	if in.ID != nil {
		f.id = *in.ID
	}
	f.apply(in)
	ts := FormatTime(now)
	return m.insertTarget(f, ts, ts, true)
}

// insertTarget validates f and appends it. create applies MaxTargets: the
// limit bounds what the API creates, and the loader inserts stored targets
// without it.
func (m *Model) insertTarget(f targetFields, createdAt, updatedAt string, create bool) (*Target, *Error) {
	if e := f.validate(); e != nil {
		return nil, e
	}
	if e := m.targetConflict(f, ""); e != nil {
		return nil, e
	}
	if create && len(m.targets) >= m.cfg.MaxTargets {
		return nil, newErr(KindTooLarge, CodeTargetLimit, msgTargetLimit)
	}
	if f.id == "" {
		id, e := m.randomID(4, func(id string) bool { _, used := m.targetByID[id]; return used || id == LocalTarget }, "target")
		if e != nil {
			return nil, e
		}
		f.id = id
	}
	t := f.newTarget(createdAt, updatedAt, nil)
	targets := make([]*Target, len(m.targets), len(m.targets)+1)
	copy(targets, m.targets)
	m.targets = append(targets, t)
	m.targetByID[t.ID] = t
	return t, nil
}

// targetConflict reports a used id, or a name used by a target other than
// self.
func (m *Model) targetConflict(f targetFields, self string) *Error {
	if f.id != "" && f.id != self {
		if _, dup := m.targetByID[f.id]; dup {
			return newErr(KindConflict, CodeDuplicateTarget, msgTargetDup)
		}
	}
	for _, t := range m.targets {
		if t.ID != self && strings.EqualFold(t.Name, f.name) {
			return newErr(KindConflict, CodeDuplicateTarget, msgTargetDup)
		}
	}
	return nil
}

// UpdateTarget merges in into the target (every field present replaces the
// old value; the id cannot change), validates the result in full and stores
// it with updated_at = now. Errors: not_found "target not found", and those
// of CreateTarget except the limit.
func (m *Model) UpdateTarget(id string, in TargetInput, now time.Time) (*Target, *Error) {
	old, ok := m.targetByID[id]
	if !ok {
		return nil, newErr(KindNotFound, CodeNotFound, msgTargetNF)
	}
	f := targetFields{id: old.ID, name: old.Name, baseURL: old.BaseURL, enabled: old.Enabled, timeoutMS: old.TimeoutMS,
		plan: old.Plan}
	f.apply(in)
	if e := f.validate(); e != nil {
		return nil, e
	}
	if e := m.targetConflict(f, id); e != nil {
		return nil, e
	}
	t := f.newTarget(old.CreatedAt, FormatTime(now), old.hits)
	targets := make([]*Target, len(m.targets))
	for i, x := range m.targets {
		if x == old {
			x = t
		}
		targets[i] = x
	}
	m.targets = targets
	m.targetByID[id] = t
	return t, nil
}

// DeleteTarget removes a target. Error: not_found "target not found".
// Scenario steps naming it keep the id (their runs then get
// target_not_found).
func (m *Model) DeleteTarget(id string) *Error {
	old, ok := m.targetByID[id]
	if !ok {
		return newErr(KindNotFound, CodeNotFound, msgTargetNF)
	}
	targets := make([]*Target, 0, len(m.targets))
	for _, x := range m.targets {
		if x != old {
			targets = append(targets, x)
		}
	}
	m.targets = targets
	delete(m.targetByID, id)
	return nil
}
