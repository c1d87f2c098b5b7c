//go:build linux

package loop

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// listenTCP opens a non-blocking listening socket on host:port with SO_REUSEADDR and a
// SOMAXCONN backlog. Port 0 picks a free port; the bound address is returned.
//
// The port is ours alone: without SO_REUSEPORT, bind fails with EADDRINUSE while any other
// socket listens on the port (another ownhttp, whatever its engine, or any other program),
// and no socket can join ours later. The reactor's loops share this one socket (see Listen).
// SO_REUSEADDR only lets a restart bind over connections of a previous run in TIME_WAIT.
func listenTCP(host string, port int) (int, netip.AddrPort, error) {
	ip, err := resolveHost(host)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	family := unix.AF_INET
	if ip.Is6() && !ip.Is4In6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, netip.AddrPort{}, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, netip.AddrPort, error) {
		unix.Close(fd)
		return -1, netip.AddrPort{}, fmt.Errorf("%s %s: %w", what, netip.AddrPortFrom(ip, uint16(port)), err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("SO_REUSEADDR", err)
	}
	// The kernel hands a connection to accept once its first bytes have arrived (clients
	// of HTTP speak first), so accepting and reading the request take one wakeup, not two,
	// and a client that connects and says nothing is not ours for its first second (after
	// it, the kernel hands it over anyway and the header timeout applies).
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1); err != nil {
		return fail("TCP_DEFER_ACCEPT", err)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.Unmap().As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		return fail("listen", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return fd, sockaddrToAddrPort(bound), nil
}

func sockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// listenStream opens the listening socket of a blocking engine (see listenTCP) as a
// *net.TCPListener, whose accepted connections the Go runtime's poller drives.
func listenStream(host string, port int) (*net.TCPListener, netip.AddrPort, error) {
	fd, addr, err := listenTCP(host, port)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	f := os.NewFile(uintptr(fd), "listener")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return l.(*net.TCPListener), addr, nil
}
