package features

import (
	"context"

	"ownhttp/conn"
	"ownhttp/state"
)

// Target API (issue #5; spec §7.1, fixed).
//
// A target is a named upstream for the proxy and for scenario target steps; state validates
// it (see state.Target: timeout_ms 1..60000, base_url an absolute http(s) URL with a host,
// names unique case-insensitively). Every handler runs its actor call inside x.Go
// (withState), as the mock API does. Other methods on the routes get the router's 405 JSON
// with Allow; an empty id (/api/targets/) is the API's 404 not_found.

type targetListBody struct {
	Targets []state.Target `json:"targets"`
}

type targetBody struct {
	Target state.Target `json:"target"`
}

type targetDeletedBody struct {
	Deleted bool   `json:"deleted"`
	ID      string `json:"id"`
}

// targetList is GET /api/targets: 200 {"targets":[…]} in insertion order.
func (a *App) targetList(x *conn.Exchange, _ *params) {
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		ts, err := st.ListTargets(ctx)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, targetListBody{Targets: ts})
	})
}

// targetCreate is POST /api/targets: 201 {"target":{…}} with a Location header once the
// target is durable; 400 invalid_json or invalid_target, 409 duplicate_target (id, or name
// compared trimmed and case-insensitively), 413 target_limit.
func (a *App) targetCreate(x *conn.Exchange, _ *params) {
	body := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		in, e := state.DecodeTarget(body, false)
		if e != nil {
			answerErr(r, e)
			return
		}
		t, err := st.CreateTarget(ctx, in)
		if err != nil {
			answerErr(r, err)
			return
		}
		r.Header("Location", "/api/targets/"+t.ID) // ids are letters, digits, '.', '_', '-'
		answerJSON(r, 201, targetBody{Target: t})
	})
}

// targetGet is GET /api/targets/{id}: 200 {"target":{…}} or 404 not_found.
func (a *App) targetGet(x *conn.Exchange, p *params) {
	id := string(p[0])
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		t, err := st.GetTarget(ctx, id)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, targetBody{Target: t})
	})
}

// targetUpdate is PUT /api/targets/{id}: a merge (absent or null fields keep their values,
// unknown keys and "id" are ignored), validated again in full; 200 {"target":{…}} once
// durable with a fresh updated_at; 404 not_found, 400 and 409 as for create.
func (a *App) targetUpdate(x *conn.Exchange, p *params) {
	id := string(p[0])
	body := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		in, e := state.DecodeTarget(body, true)
		if e != nil {
			answerErr(r, e)
			return
		}
		t, err := st.UpdateTarget(ctx, id, in)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, targetBody{Target: t})
	})
}

// targetDelete is DELETE /api/targets/{id}: 200 {"deleted":true,"id":…} once durable, or 404
// not_found.
func (a *App) targetDelete(x *conn.Exchange, p *params) {
	id := string(p[0])
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		if err := st.DeleteTarget(ctx, id); err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, targetDeletedBody{Deleted: true, ID: id})
	})
}
