package upstream

import (
	"net/netip"
	"syscall"
)

// addrClass says whether the client may connect to an address.
type addrClass uint8

const (
	addrPublic    addrClass = iota // always allowed
	addrPrivate                    // loopback and private ranges: only with Config.AllowPrivate
	addrForbidden                  // never: link-local, metadata, unspecified, multicast, reserved
)

var (
	prefixThisNetwork = netip.MustParsePrefix("0.0.0.0/8")      // "this network"; 0.0.0.0 reaches the local host
	prefixReserved4   = netip.MustParsePrefix("240.0.0.0/4")    // reserved, and the limited broadcast address
	prefixCGNAT       = netip.MustParsePrefix("100.64.0.0/10")  // shared address space (RFC 6598)
	prefixSiteLocal   = netip.MustParsePrefix("fec0::/10")      // deprecated site-local
	prefixV4Compat    = netip.MustParsePrefix("::/96")          // deprecated IPv4-compatible IPv6
	prefixNAT64       = netip.MustParsePrefix("64:ff9b::/96")   // NAT64 well-known prefix (RFC 6052)
	prefixNAT64Local  = netip.MustParsePrefix("64:ff9b:1::/48") // NAT64 local-use prefix (RFC 8215)
	// Cloud metadata services outside the link-local range.
	addrMetadataAWS6    = netip.MustParseAddr("fd00:ec2::254")   // AWS IMDS over IPv6
	addrMetadataAlibaba = netip.MustParseAddr("100.100.100.200") // Alibaba Cloud
)

// classifyAddr classifies ip for the client and says why, for the refusal message. An
// IPv4-mapped IPv6 address is classified as its IPv4 address, and a NAT64 address as the
// IPv4 address it embeds (that is where it leads). Zones are ignored.
func classifyAddr(ip netip.Addr) (addrClass, string) {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() && (prefixNAT64.Contains(ip) || prefixNAT64Local.Contains(ip)) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:16]))
	}
	switch {
	case !ip.IsValid():
		return addrForbidden, "not an IP address"
	case ip == addrMetadataAWS6 || ip == addrMetadataAlibaba:
		return addrForbidden, "a cloud metadata address"
	case ip.Is4() && ip.As4() == [4]byte{169, 254, 169, 254}:
		return addrForbidden, "a cloud metadata address"
	case ip.IsUnspecified() || prefixThisNetwork.Contains(ip):
		return addrForbidden, "an unspecified address"
	case ip.IsLinkLocalUnicast():
		return addrForbidden, "a link-local address"
	case ip.IsMulticast():
		return addrForbidden, "a multicast address"
	case prefixReserved4.Contains(ip):
		return addrForbidden, "a reserved or broadcast address"
	case ip.IsLoopback():
		return addrPrivate, "a loopback address"
	case prefixV4Compat.Contains(ip):
		return addrForbidden, "an IPv4-compatible IPv6 address"
	case ip.IsPrivate() || prefixCGNAT.Contains(ip) || prefixSiteLocal.Contains(ip):
		return addrPrivate, "a private address"
	}
	return addrPublic, ""
}

// ForbiddenError is the SSRF guard's refusal of a dialled address. Client.Do returns it
// (wrapped) when the guard refused every address of the host; its message says why, and how
// to allow a private address.
type ForbiddenError struct {
	addr   string
	class  addrClass
	reason string
}

func (e *ForbiddenError) Error() string {
	if e.class == addrPrivate {
		return "the proxy may not connect to " + e.addr + ": " + e.reason +
			" (allowed only with --proxy-allow-private)"
	}
	return "the proxy may not connect to " + e.addr + ": " + e.reason + " (always refused)"
}

// checkDialAddr returns a *ForbiddenError when the client must not connect to address
// ("ip:port", as a net.Dialer's Control hook receives it after name resolution), else nil.
// Anything that does not parse as an IP address and port is refused.
func checkDialAddr(address string, allowPrivate bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &ForbiddenError{addr: address, class: addrForbidden, reason: "not an IP address"}
	}
	class, reason := classifyAddr(ap.Addr())
	if class == addrForbidden || class == addrPrivate && !allowPrivate {
		return &ForbiddenError{addr: ap.Addr().WithZone("").String(), class: class, reason: reason}
	}
	return nil
}

// dialGuard is the net.Dialer Control hook of the guarded client: it runs on every socket after name
// resolution and before connect, and refuses the addresses checkDialAddr refuses.
func dialGuard(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		return checkDialAddr(address, allowPrivate)
	}
}
