package features

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
)

// hostNames is a set of hosts that name this server, each mapped to the form a URL authority
// takes (lower case; IP literals canonical, IPv6 in brackets). The redirect of the plain port
// (redirect.go) and the Host rule of the lab's own surface (origin.go) build one each. It is
// immutable once built, so any goroutine may read it.
type hostNames struct {
	names map[string]string
	// loopback: every loopback address, "localhost" and every name under ".localhost" name
	// this server too (RFC 6761 §6.3: those names resolve to loopback only).
	loopback bool
}

func newHostNames(loopback bool) *hostNames {
	h := &hostNames{names: make(map[string]string), loopback: loopback}
	if loopback { // the common spellings, found by the map without parsing
		h.addName("localhost")
		h.addIP(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
		h.addIP(netip.IPv6Loopback())
	}
	return h
}

// addBind names the address the server listens on (--host, "" and "localhost" meaning
// 127.0.0.1) and returns its URL form:
//   - the bind address itself;
//   - for a loopback bind (127.0.0.1 or ::1): also "localhost";
//   - for a wildcard bind (0.0.0.0, or :: which also takes IPv4): also "localhost", the
//     loopback addresses and every address of this machine's interfaces, read now; its URL
//     form is then "localhost".
func (h *hostNames) addBind(bind string) string {
	bind = strings.TrimSpace(bind)
	if bind == "" || strings.EqualFold(bind, "localhost") {
		bind = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(strings.Trim(bind, "[]"))
	if err != nil {
		// Not an address (the engines only bind addresses, but stay safe): a name.
		if name, ok := CanonicalHost(bind); ok {
			h.addName(name)
			return name
		}
		return "localhost"
	}
	ip = ip.WithZone("").Unmap()
	h.addIP(ip)
	switch {
	case ip.IsUnspecified():
		h.addName("localhost")
		h.addIP(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
		if ip.Is6() {
			h.addIP(netip.IPv6Loopback())
		}
		h.addInterfaces(ip.Is4())
		return "localhost"
	case ip.IsLoopback():
		h.addName("localhost")
	}
	return hostString(ip)
}

// addHost names a configured host (CanonicalHost's forms); an invalid one is left out.
func (h *hostNames) addHost(host string) {
	if name, ok := CanonicalHost(host); ok {
		h.addName(name)
	}
}

func (h *hostNames) addName(name string) { h.names[name] = name }

func (h *hostNames) addIP(ip netip.Addr) {
	s := hostString(ip.Unmap())
	h.names[s] = s
}

// addInterfaces names every address of this machine's interfaces (IPv4 only for a 0.0.0.0
// bind). Errors leave the set as it is.
func (h *hostNames) addInterfaces(only4 bool) {
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
		h.addIP(ip)
	}
}

// lookup reports whether authority (a Host value: a host, an optional ":port" of digits,
// IPv6 in brackets) names this server, and the URL form of its host. Case is ignored, and so is one
// trailing dot of a name. A name in the set, or "localhost", is found without allocating.
func (h *hostNames) lookup(authority []byte) (string, bool) {
	name, port := authority, []byte(nil)
	if len(name) > 0 && name[0] == '[' {
		end := bytes.IndexByte(name, ']')
		if end < 0 || end+1 < len(name) && name[end+1] != ':' {
			return "", false
		}
		name, port = name[:end+1], name[end+1:]
	} else {
		if c := bytes.LastIndexByte(name, ':'); c >= 0 {
			name, port = name[:c], name[c:]
		}
		name = bytes.TrimSuffix(name, []byte{'.'})
	}
	for i := 1; i < len(port); i++ { // port[0] is the colon
		if port[i] < '0' || port[i] > '9' {
			return "", false
		}
	}
	if len(name) == 0 || len(name) > 255 {
		return "", false
	}
	var buf [255]byte
	lower := buf[:len(name)]
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if form, ok := h.names[string(lower)]; ok {
		return form, true
	}
	if h.loopback && bytes.HasSuffix(lower, []byte(".localhost")) {
		return string(lower), true
	}
	ip, err := netip.ParseAddr(strings.Trim(string(lower), "[]"))
	if err != nil || ip.Zone() != "" {
		return "", false
	}
	ip = ip.Unmap()
	form := hostString(ip)
	if f, ok := h.names[form]; ok {
		return f, true
	}
	if h.loopback && ip.IsLoopback() {
		return form, true
	}
	return "", false
}

// hostString renders ip as it appears in a URL authority: IPv6 in brackets.
func hostString(ip netip.Addr) string {
	if ip.Is6() {
		return "[" + ip.String() + "]"
	}
	return ip.String()
}

// CanonicalHost validates a configured host name or address (a port, if any, dropped) and
// returns its lower-case URL form (IP literals canonical, IPv6 in brackets); false when it is
// empty or not a valid host.
func CanonicalHost(h string) (string, bool) {
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
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
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
