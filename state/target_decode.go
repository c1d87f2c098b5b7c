package state

import (
	"encoding/json"

	"ownhttp/mock"
)

// TargetInput is a decoded, checked target payload. A nil field means the key
// was absent or null: on create the default applies, on update the old value
// is kept.
type TargetInput struct {
	ID        *string
	Name      *string
	BaseURL   *string
	Enabled   *bool
	TimeoutMS *int
	// Plan is the target's wire plan (latency and faults, decoded and checked); HasPlan
	// with a nil Plan removes it. Latency and faults are replaced together, as one plan.
	Plan    *mock.Plan
	HasPlan bool
}

// targetKeys are the keys a target payload may hold: the target's fields, and the timestamps
// the API returns (ignored), so that a target read from the API can be sent back as it is.
var targetKeys = []string{"id", "name", "base_url", "enabled", "timeout_ms", "latency", "faults", "created_at", "updated_at"}

// DecodeTarget decodes a POST (partial false) or PUT (partial true)
// /api/targets body. An unknown key is an invalid_target error naming it (targets loaded
// from a state file skip that check: unknown keys there are dropped). It never
// panics. Every field present is checked on its own (types and values, see
// Target); for a POST, name and base_url are also required. For a PUT, id is
// ignored (the id comes from the URL) and the merged target is validated
// again by the Model.
//
// Errors: invalid_json for a body that is not a UTF-8 JSON object;
// invalid_target (KindInvalid) otherwise. Messages: "name is required",
// "name must be a string", "base_url must start with http:// or https://",
// "base_url must be a valid absolute URL", "base_url must include a host",
// "base_url must not contain an IPv6 zone", "base_url must not contain user info",
// "base_url must not contain a query", "base_url must not contain a fragment",
// "base_url has an invalid port", "enabled must be a boolean", "timeout_ms must be an
// integer between 1 and 60000", "id must be a string", "id must be 1 to 64 letters,
// digits, '.', '_' or '-', and not . or ..", "id local is reserved" (any case),
// `unknown field "…"`.
func DecodeTarget(body []byte, partial bool) (TargetInput, *Error) {
	obj, e := DecodeJSONObject(body)
	if e != nil {
		return TargetInput{}, e
	}
	if msg := UnknownField(obj, targetKeys...); msg != "" {
		return TargetInput{}, invalidTarget(msg)
	}
	return targetFromObject(obj, partial)
}

func targetFromObject(obj map[string]json.RawMessage, partial bool) (TargetInput, *Error) {
	var in TargetInput
	if !partial {
		if raw, ok := present(obj, "id"); ok {
			s, ok := decodeString(raw)
			if !ok {
				return in, invalidTarget("id must be a string")
			}
			if s != "" {
				if e := checkTargetID(s); e != nil {
					return in, e
				}
				in.ID = &s
			}
		}
	}
	if raw, ok := present(obj, "name"); ok {
		s, ok := decodeString(raw)
		if !ok {
			return in, invalidTarget("name must be a string")
		}
		s, e := checkTargetName(s)
		if e != nil {
			return in, e
		}
		in.Name = &s
	} else if !partial {
		return in, invalidTarget(msgTargetName)
	}
	if raw, ok := present(obj, "base_url"); ok {
		s, ok := decodeString(raw)
		if !ok {
			return in, invalidTarget(msgTargetScheme)
		}
		s, e := checkBaseURL(s)
		if e != nil {
			return in, e
		}
		in.BaseURL = &s
	} else if !partial {
		return in, invalidTarget(msgTargetScheme)
	}
	if raw, ok := present(obj, "enabled"); ok {
		b, ok := decodeBool(raw)
		if !ok {
			return in, invalidTarget("enabled must be a boolean")
		}
		in.Enabled = &b
	}
	if raw, ok := present(obj, "timeout_ms"); ok {
		v, ok := decodeInt(raw)
		if !ok || v < 1 || v > MaxTargetTimeoutMS {
			return in, invalidTarget(msgTargetTimeout)
		}
		n := int(v)
		in.TimeoutMS = &n
	}
	_, hasLatency := obj["latency"]
	_, hasFaults := obj["faults"]
	if hasLatency || hasFaults {
		plan, err := mock.DecodePlanParts(obj["latency"], obj["faults"])
		if err != nil {
			return in, invalidTarget(err.Error())
		}
		in.HasPlan = true
		if !plan.IsZero() {
			in.Plan = plan
		}
	}
	return in, nil
}
