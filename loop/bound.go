package loop

import (
	"net/netip"
	"slices"
)

// Roles of a bound listener.
const (
	// RoleHTTP serves the application over plain HTTP (the only listener without TLS).
	RoleHTTP = "http"
	// RoleHTTPS serves the application over TLS.
	RoleHTTPS = "https"
	// RoleRedirect answers plain HTTP with redirects to the HTTPS listener.
	RoleRedirect = "redirect"
)

// Bound describes a server whose listeners are bound and about to serve: what a caller
// that started it (a test, the CLI, a supervisor through --ready-file) needs to reach it,
// instead of reading its log. It is a value; the caller owns it.
type Bound struct {
	// Engine is the configured engine, "epoll" or "threadpool".
	Engine string `json:"engine"`
	// Listeners are the bound listeners, the application's own first.
	Listeners []BoundListener `json:"listeners"`
}

// BoundListener is one bound listen address.
type BoundListener struct {
	// Role is RoleHTTP, RoleHTTPS or RoleRedirect.
	Role string `json:"role"`
	// Scheme is "http" or "https".
	Scheme string `json:"scheme"`
	// Addr is the bound address (the real port when 0 was asked for).
	Addr netip.AddrPort `json:"addr"`
	// URL is Scheme://Addr, without a trailing slash.
	URL string `json:"url"`
}

// NewBoundListener describes a listener bound at addr serving role.
func NewBoundListener(role string, addr netip.AddrPort) BoundListener {
	scheme := "http"
	if role == RoleHTTPS {
		scheme = "https"
	}
	return BoundListener{Role: role, Scheme: scheme, Addr: addr, URL: scheme + "://" + addr.String()}
}

// URL is the base URL of the application's listener ("http://127.0.0.1:8080"), without a
// trailing slash; "" when nothing is bound.
func (b Bound) URL() string {
	if len(b.Listeners) == 0 {
		return ""
	}
	return b.Listeners[0].URL
}

// Listener returns the listener of the given role and whether there is one.
func (b Bound) Listener(role string) (BoundListener, bool) {
	i := slices.IndexFunc(b.Listeners, func(l BoundListener) bool { return l.Role == role })
	if i < 0 {
		return BoundListener{}, false
	}
	return b.Listeners[i], true
}
