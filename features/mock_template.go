package features

import (
	"log/slog"

	"ownhttp/conn"
	"ownhttp/mock"
	"ownhttp/state"
)

// codeTemplateError is the error code of the 500 a template that fails to render answers.
const codeTemplateError = "template_error"

// renderTemplate answers x with a templated response of m, its hit-th: the request's
// method, target, path, named path parameters, query, headers, cookies and body, the
// exchange's clock, and random values seeded by (seed, mock id, hit). A render error is a
// 500 whose JSON body names the mock and what failed; its route key ends in
// " (template error)", so metrics count them. mr is the request's pooled mock.Request when
// matching made one.
func (a *App) renderTemplate(x *conn.Exchange, snap *state.Snapshot, m *state.Mock, resp *state.MockResponse, hit uint64, mr *mockRequest) {
	if mr == nil {
		mr = newMockRequest(x)
		defer mr.release()
	}
	in := mock.RenderInput{
		Request: &mr.req, Method: []byte(x.Req.Method.String()), Target: x.Req.Target, Path: x.Req.Path,
		Host: x.Req.Host, TLS: x.TLS, PathParams: m.PathParams(x.Req.Path, nil), Now: x.Now,
		Seed: state.SeedFor(snap.Seed(), m, hit),
	}
	out, err := resp.Render(&in)
	if err != nil {
		x.Route = m.RouteKey + " (template error)"
		a.cfg.Logger.Warn("mock template failed", slog.String("mock", m.ID), slog.String("error", err.Error()))
		writeJSON(x, 500, errorBody{Error: errorDetail{Code: codeTemplateError, Message: "mock " + m.ID + ": " + err.Error()}})
		return
	}
	x.Status = out.Status
	x.HeaderBytes(out.HeaderLines)
	x.Reply.Body = out.Body // the Reply's (x.Body is the request's)
}
