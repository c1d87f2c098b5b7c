package loop

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// resolveHost reads a --host value: an IP address, or "localhost" (or nothing) for
// 127.0.0.1.
func resolveHost(host string) (netip.Addr, error) {
	switch host {
	case "", "localhost":
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("host %q is not an IP address", host)
	}
	return ip, nil
}

// listenNet opens a listening socket on host:port through the net package (SO_REUSEADDR
// where Go sets it for listeners, never SO_REUSEPORT, so a port another socket listens on
// fails with "address already in use").
// Port 0 picks a free port; the bound address is returned. It is how blocking engines
// listen off Linux (see listenStream), where Linux's TCP_DEFER_ACCEPT has no equivalent: a
// connection is accepted when it is established.
func listenNet(host string, port int) (*net.TCPListener, netip.AddrPort, error) {
	ip, err := resolveHost(host)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	network := "tcp4"
	if ip.Is6() && !ip.Is4In6() {
		network = "tcp6"
	}
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), network, net.JoinHostPort(ip.Unmap().String(), strconv.Itoa(port)))
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	tl := l.(*net.TCPListener)
	bound := tl.Addr().(*net.TCPAddr).AddrPort()
	return tl, netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port()), nil
}
