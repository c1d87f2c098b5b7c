package features

import (
	"context"
	"errors"
	"net/http"
	"time"

	"ownhttp/conn"
	"ownhttp/state"
)

// proxyResult is an upstream response as the proxy saw it.
type proxyResult struct {
	Status    int
	Header    http.Header
	Body      []byte // at most MaxProxyBodyBytes
	Truncated bool
	TraceID   string // the trace id of this proxied exchange (16 hex)
	LatencyMS float64
}

// proxyDo sends one request to target t: base_url without its trailing "/" plus rawTarget
// (path and query). It blocks (call it off the event loop, inside x.Go or the runner's pool).
// It enforces enabled:false, the SSRF guard on the dialled address, the timeout, no redirects
// and the body cap, and publishes proxy.request.completed. Errors are *state.Error values
// (target_forbidden, target_disabled) or upstream failures (502/504 reports).
func (a *App) proxyDo(ctx context.Context, t *state.Target, method, rawTarget string, header http.Header,
	body []byte, timeout time.Duration) (proxyResult, error) {
	return proxyResult{}, errors.New("proxy not implemented yet")
}

// proxyRequest is POST /api/proxy/request (issue #5).
func (a *App) proxyRequest(x *conn.Exchange, p *params) { stub(x) }
