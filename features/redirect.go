package features

import "ownhttp/conn"

// RedirectConfig configures the plain-HTTP port when TLS is on.
type RedirectConfig struct {
	BindHost   string // the address the server listens on
	PublicHost string // an extra host name that names this server (--public-host)
	HTTPSPort  int
}

// NewRedirect returns the handler of the plain port (issue #3): every request gets 308
// Permanent Redirect to https://<host>:<https-port><target>, Cache-Control: no-store, and the
// connection closes. <host> is the Host header's name only when it names this server, so the
// redirect is never open to a client-chosen host.
func NewRedirect(cfg RedirectConfig) conn.Handler {
	return conn.HandlerFunc(func(x *conn.Exchange) { notYet(x) })
}
