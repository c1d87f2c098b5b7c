package features

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"ownhttp/conn"
	"ownhttp/proto"
)

// RedirectConfig configures the plain-HTTP port when TLS is on.
type RedirectConfig struct {
	BindHost   string // the address the server listens on
	PublicHost string // an extra host name that names this server (--public-host)
	HTTPSPort  int
}

// NewRedirect returns the handler of the plain port (issue #3): every request (any method,
// any target) gets 308 Permanent Redirect to https://<host>:<https-port><target>,
// Cache-Control: no-store and a short plain-text body, and the connection closes.
//
// <target> is the request-target as received for origin-form, the path and query of an
// absolute-form target, and "/" for "*" (OPTIONS) and CONNECT's authority-form. The port is
// left out when it is 443.
//
// <host> is the request's host (the Host field, or the absolute-form authority), port
// stripped and an IPv6 literal kept in brackets, only when it names this server, compared
// without regard to case:
//   - the public host (--public-host), when set;
//   - the bind address itself;
//   - for a loopback bind (127.0.0.1 or ::1; "localhost" binds 127.0.0.1): "localhost";
//   - for a wildcard bind (0.0.0.0, or :: which also takes IPv4): "localhost", the loopback
//     addresses and every address of this machine's interfaces (read once, here).
//
// Any other host (a client-chosen name) is replaced by the public host when set, else by the
// bind address, else — for a wildcard bind — by "localhost", so the redirect is never open to
// a host the client picked. A public host that is not a valid host name is ignored.
//
// The handler sets no route; the plain port's exchanges are not observed (no metrics,
// access log or history), as the seed did not count them either.
func NewRedirect(cfg RedirectConfig) conn.Handler {
	r := &redirect{names: make(map[string]string)}
	fallback := ""
	if h, ok := canonicalHost(cfg.PublicHost); ok {
		r.names[h] = h
		fallback = h
	}
	bind := strings.TrimSpace(cfg.BindHost)
	if bind == "" || strings.EqualFold(bind, "localhost") {
		bind = "127.0.0.1"
	}
	if ip, err := netip.ParseAddr(strings.Trim(bind, "[]")); err == nil {
		ip = ip.WithZone("")
		switch {
		case ip.IsUnspecified():
			r.addName("localhost")
			r.addIP(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
			if ip.Is6() {
				r.addIP(netip.IPv6Loopback())
			}
			r.addInterfaces(ip.Is4())
			if fallback == "" {
				fallback = "localhost"
			}
		case ip.IsLoopback():
			r.addName("localhost")
			r.addIP(ip)
		default:
			r.addIP(ip)
		}
		if fallback == "" {
			fallback = hostString(ip)
		}
	} else if h, ok := canonicalHost(bind); ok {
		// Not an address (the engines only bind addresses, but stay safe): a name.
		r.names[h] = h
		if fallback == "" {
			fallback = h
		}
	}
	if fallback == "" {
		fallback = "localhost"
	}
	r.fallback = fallback
	if cfg.HTTPSPort != 443 && cfg.HTTPSPort > 0 {
		r.port = ":" + strconv.Itoa(cfg.HTTPSPort)
	}
	return r
}

// redirect is the plain port's handler. It is immutable after NewRedirect.
type redirect struct {
	// names maps every lower-case host that names this server to the form sent in Location
	// (IP literals canonical, IPv6 in brackets).
	names    map[string]string
	fallback string // the host used when the request's host does not name this server
	port     string // ":<https-port>", empty for 443
}

var useHTTPS = []byte("Use HTTPS")

// Serve implements conn.Handler.
func (r *redirect) Serve(x *conn.Exchange) {
	req := x.Req
	var target []byte
	switch {
	case req.Method == proto.MethodCONNECT, len(req.Target) == 1 && req.Target[0] == '*':
		target = slashTarget
	case len(req.Target) > 0 && req.Target[0] == '/':
		target = req.Target
	default: // absolute-form: its path and query
		target = req.Path
		if req.Query != nil {
			target = append(append(append([]byte(nil), req.Path...), '?'), req.Query...)
		}
	}
	loc := make([]byte, 0, len("https://")+len(r.fallback)+len(r.port)+len(target)+16)
	loc = append(loc, "https://"...)
	loc = append(loc, r.host(req.Host)...)
	loc = append(loc, r.port...)
	loc = append(loc, target...)
	x.Header("Location", string(loc))
	x.Header("Cache-Control", "no-store")
	x.Text(308, textPlain, useHTTPS)
	x.Close = true
}

var slashTarget = []byte("/")

// host returns the host for Location: the request's own when it names this server, else
// the fallback.
func (r *redirect) host(authority []byte) string {
	name := authority
	if len(name) > 0 && name[0] == '[' {
		if end := bytes.IndexByte(name, ']'); end > 0 {
			name = name[:end+1]
		}
	} else if c := bytes.LastIndexByte(name, ':'); c >= 0 {
		name = name[:c]
	}
	if len(name) == 0 || len(name) > 255 {
		return r.fallback
	}
	var lower [255]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if h, ok := r.names[string(lower[:len(name)])]; ok {
		return h
	}
	if ip, err := netip.ParseAddr(strings.Trim(string(lower[:len(name)]), "[]")); err == nil {
		if h, ok := r.names[hostString(ip)]; ok {
			return h
		}
	}
	return r.fallback
}

func (r *redirect) addName(name string) { r.names[name] = name }

func (r *redirect) addIP(ip netip.Addr) {
	h := hostString(ip.Unmap())
	r.names[h] = h
}

// addInterfaces names every address of this machine's interfaces (IPv4 only for a 0.0.0.0
// bind). Errors leave the list as it is.
func (r *redirect) addInterfaces(only4 bool) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return
	}
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := pfx.Addr().Unmap()
		if ip.Zone() != "" || (only4 && !ip.Is4()) {
			continue // link-local addresses with a zone cannot appear in a Host field
		}
		r.addIP(ip)
	}
}

// hostString renders ip as it appears in a URL authority: IPv6 in brackets.
func hostString(ip netip.Addr) string {
	if ip.Is6() {
		return "[" + ip.String() + "]"
	}
	return ip.String()
}

// canonicalHost validates a configured host name or address (a port, if any, dropped) and
// returns its lower-case URL form; false when it is empty or not a valid host.
func canonicalHost(h string) (string, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", false
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil && ip.Zone() == "" {
		return hostString(ip.Unmap()), true
	}
	if len(h) > 253 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return "", false
		}
	}
	return strings.ToLower(h), true
}
